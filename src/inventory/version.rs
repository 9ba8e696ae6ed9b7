//! Versions the binary does not state plainly: the main module's version when buildinfo says
//! `(devel)` or nothing, and the standard library's version as semver.

use super::gobin::BuildInfo;
use crate::artifact::Naming;

/// Where the main module's version came from — recorded in every SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The `mod` line of buildinfo.
    Buildinfo,
    /// `-ldflags -X main.version=…` (as Syft reads it).
    Ldflags,
    /// The release ZIP's or the executable's file name.
    FileName,
    /// A pseudo-version built from `vcs.revision` and `vcs.time`.
    VcsPseudoVersion,
    /// Nothing said; the main module stays version-less.
    Unknown,
}

impl VersionSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            VersionSource::Buildinfo => "buildinfo",
            VersionSource::Ldflags => "ldflags",
            VersionSource::FileName => "file-name",
            VersionSource::VcsPseudoVersion => "vcs-pseudo-version",
            VersionSource::Unknown => "unknown",
        }
    }
}

fn with_v(v: &str) -> String {
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// The main-module version and where it came from.
pub fn resolve_main(
    bi: &BuildInfo,
    recorded: Option<&str>,
    naming: &Naming,
) -> (Option<String>, VersionSource) {
    if let Some(v) = recorded {
        return (Some(v.to_string()), VersionSource::Buildinfo);
    }
    if let Some(v) = bi
        .setting("-ldflags")
        .and_then(|f| version_from_ldflags(f, &bi.main.path))
    {
        return (Some(with_v(&v)), VersionSource::Ldflags);
    }
    if let Some(v) = &naming.version {
        return (Some(with_v(v)), VersionSource::FileName);
    }
    if let (Some(rev), Some(time)) = (bi.setting("vcs.revision"), bi.setting("vcs.time")) {
        let stamp: String = time.chars().take(19).filter(char::is_ascii_digit).collect();
        if rev.len() >= 12 && stamp.len() == 14 {
            return (
                Some(format!("v0.0.0-{stamp}-{}", &rev[..12])),
                VersionSource::VcsPseudoVersion,
            );
        }
    }
    (None, VersionSource::Unknown)
}

/// Syft's `-X` rule: `main.<…>version|ver|tag=VALUE` or `<main module>/….<…>=VALUE`.
pub fn version_from_ldflags(ldflags: &str, main_module: &str) -> Option<String> {
    let mut tokens = ldflags.split_whitespace().peekable();
    while let Some(t) = tokens.next() {
        let assignment = if t == "-X" || t == "--X" {
            tokens.next()?
        } else if let Some(rest) = t.strip_prefix("-X=").or_else(|| t.strip_prefix("--X=")) {
            rest
        } else {
            continue;
        };
        let assignment = assignment.trim_matches(|c| c == '\'' || c == '"');
        let Some((sym, value)) = assignment.split_once('=') else {
            continue;
        };
        let Some((pkg, name)) = sym.rsplit_once('.') else {
            continue;
        };
        let pkg_ok = pkg == "main"
            || (!main_module.is_empty() && pkg.starts_with(main_module) && pkg != main_module);
        let lname = name.to_ascii_lowercase();
        let name_ok =
            lname.ends_with("version") || lname.ends_with("ver") || lname.ends_with("tag");
        if pkg_ok && name_ok && !value.is_empty() {
            return Some(value.to_string());
        }
    }
    None
}

/// Go's toolchain version as semver: `go1.21.3` → `v1.21.3`, `go1.21rc2` → `v1.21.0-rc.2`,
/// `go1.21` → `v1.21.0`; suffixes (` X:…`, `-X:…`, vendor notes) are dropped.
pub fn stdlib_semver(go_version: &str) -> Option<String> {
    let v = go_version.split([' ', '\t']).next()?;
    let v = v.split("-X:").next()?;
    let v = v.strip_prefix("go")?;
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (nums, pre) = v.split_at(split);
    let mut parts: Vec<&str> = nums.split('.').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        || parts.len() > 3
    {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    let mut out = format!("v{}", parts.join("."));
    if !pre.is_empty() {
        let (tag, n) = pre.split_at(pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len()));
        out.push('-');
        out.push_str(tag);
        if !n.is_empty() {
            out.push('.');
            out.push_str(n);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_versions() {
        assert_eq!(stdlib_semver("go1.21.3").as_deref(), Some("v1.21.3"));
        assert_eq!(stdlib_semver("go1.21rc2").as_deref(), Some("v1.21.0-rc.2"));
        assert_eq!(stdlib_semver("go1.21").as_deref(), Some("v1.21.0"));
        assert_eq!(
            stdlib_semver("go1.20beta1").as_deref(),
            Some("v1.20.0-beta.1")
        );
        assert_eq!(
            stdlib_semver("go1.22.5 X:boringcrypto").as_deref(),
            Some("v1.22.5")
        );
        assert_eq!(
            stdlib_semver("go1.26.1-X:nodwarf5").as_deref(),
            Some("v1.26.1")
        );
        assert_eq!(
            stdlib_semver("go1.26.5 (Red Hat 1.26.5-1.el9)").as_deref(),
            Some("v1.26.5")
        );
        assert_eq!(stdlib_semver("devel +abc"), None);
    }

    #[test]
    fn ldflags_versions() {
        let f = "-s -w -X main.version=1.2.3 -X main.commit=abc";
        assert_eq!(version_from_ldflags(f, "").as_deref(), Some("1.2.3"));
        let f = "-X 'github.com/acme/p/internal/build.Version=v2.0.0'";
        assert_eq!(
            version_from_ldflags(f, "github.com/acme/p").as_deref(),
            Some("v2.0.0")
        );
        assert_eq!(version_from_ldflags("-X main.commit=abc", ""), None);
        assert_eq!(
            version_from_ldflags("-X=main.gitTag=v9", "").as_deref(),
            Some("v9")
        );
    }

    #[test]
    fn resolution_order() {
        let mut bi = BuildInfo::default();
        bi.settings.push((
            "vcs.revision".into(),
            "e48b7d3b9cab4d29d8f591d3200dee7d0382774d".into(),
        ));
        bi.settings
            .push(("vcs.time".into(), "2026-11-25T18:11:36Z".into()));
        let mut naming = Naming::default();
        assert_eq!(
            resolve_main(&bi, None, &naming),
            (
                Some("v0.0.0-20261125181136-e48b7d3b9cab".into()),
                VersionSource::VcsPseudoVersion
            )
        );
        naming.version = Some("1.2.3".into());
        assert_eq!(resolve_main(&bi, None, &naming).1, VersionSource::FileName);
        bi.settings
            .push(("-ldflags".into(), "-X main.version=1.2.4".into()));
        assert_eq!(
            resolve_main(&bi, None, &naming),
            (Some("v1.2.4".into()), VersionSource::Ldflags)
        );
        assert_eq!(
            resolve_main(&bi, Some("v1.0.0"), &naming).1,
            VersionSource::Buildinfo
        );
    }
}
