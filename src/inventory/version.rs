//! Versions the binary does not state plainly: the main module's version when buildinfo says
//! `(devel)` or nothing, and the standard library's version as semver.

use super::gobin::BuildInfo;
use crate::artifact::Naming;

/// Where the main module's version came from — recorded in every SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The `mod` line of buildinfo.
    Buildinfo,
    /// `-ldflags -X …version=N.N.N` of package `main` or a package of the main module, by Syft's
    /// patterns.
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

/// Syft's `-X` rule (`syft/pkg/cataloger/golang/parse_go_binary.go`, `knownBuildFlagPatterns`
/// prefixed with `(main|<main module>/[^\s]*)`): the first `-X` assignment to a `…[Vv]er[sion]`
/// (optionally `release`/`git`/`build`-prefixed) or `…[Tt]ag` variable of package `main` or of a
/// package inside the main module, whose value looks like a version (`v?N.N.N…`); anything else
/// (`-X main.version=dev`) is ignored. Where Syft's capture stops at a `.` or `+` of a semver
/// prerelease or build suffix (`1.2.3-rc.1` → `1.2.3-rc`), the whole suffix is kept.
pub fn version_from_ldflags(ldflags: &str, main_module: &str) -> Option<String> {
    use regex::Regex;
    use std::sync::LazyLock;
    const PATTERNS: [&str; 2] = [
        r"\.[a-zA-Z0-9]*([rR]elease)?([gG]it)?([bB]uild)?[vV]er(sion)?=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)",
        r"\.[a-zA-Z0-9]*([tT]ag)=(\S+/)*(?P<version>v?\d+.\d+.\d+[-\w]*)",
    ];
    static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?")
            .expect("semver pattern")
    });
    if ldflags.is_empty() {
        return None;
    }
    let packages = if main_module.is_empty() {
        "main".to_string()
    } else {
        format!(r"main|{}/[^\t\n\f\r ]*", regex::escape(main_module))
    };
    // The patterns depend on the main module; the last module's are kept (one per run, usually).
    static COMPILED: std::sync::Mutex<Option<(String, Vec<Regex>)>> = std::sync::Mutex::new(None);
    let mut cache = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if cache.as_ref().is_none_or(|(m, _)| m != main_module) {
        let compiled = PATTERNS
            .iter()
            .map(|pattern| {
                // Go's `\d`, `\w`, `\s` are ASCII-only; spelled out so Unicode digits never match.
                let pattern = pattern
                    .replace(r"\d", "[0-9]")
                    .replace(r"\w", "[0-9A-Za-z_]")
                    .replace(r"\S", r"[^\t\n\f\r ]");
                Regex::new(&format!("(?m)({packages}){pattern}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        *cache = Some((main_module.to_string(), compiled));
    }
    let (_, compiled) = cache.as_ref()?;
    for re in compiled {
        let Some(m) = re.captures(ldflags).and_then(|c| c.name("version")) else {
            continue;
        };
        let full = SEMVER
            .find(&ldflags[m.start()..])
            .map(|f| f.as_str())
            .filter(|f| f.len() > m.len())
            .unwrap_or(m.as_str());
        return Some(full.to_string());
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
        let v = |f: &str, m: &str| version_from_ldflags(f, m);
        let f = "-s -w -X main.version=1.2.3 -X main.commit=abc";
        assert_eq!(v(f, "").as_deref(), Some("1.2.3"));
        let f = "-X 'github.com/acme/p/internal/build.Version=v2.0.0'";
        assert_eq!(v(f, "github.com/acme/p").as_deref(), Some("v2.0.0"));
        assert_eq!(v("-X main.commit=abc", ""), None);
        assert_eq!(v("-X=main.gitTag=v9.0.1", "").as_deref(), Some("v9.0.1"));
        // Docker's CLI: the variable lives in a package of the main module
        let f = "-w -X \"github.com/docker/cli/cli/version.GitCommit=e6534b4\" -X \"github.com/docker/cli/cli/version.BuildTime=2025-05-30T11:59:53Z\" -X \"github.com/docker/cli/cli/version.Version=28.2.2\"";
        assert_eq!(v(f, "github.com/docker/cli").as_deref(), Some("28.2.2"));
        // not a version: ignored (the file name then applies)
        assert_eq!(v("-s -w -X main.version=dev", "example.com/p"), None);
        assert_eq!(v("-X main.version=1.2", "example.com/p"), None);
        // a package outside the main module is not the main module's version
        assert_eq!(
            v("-X github.com/other/lib.Version=1.2.3", "example.com/p"),
            None
        );
        // prerelease and build suffixes kept whole (Syft stops at the first `.`/`+`)
        assert_eq!(
            v("-X main.version=1.2.3-rc.1+meta.2", "").as_deref(),
            Some("1.2.3-rc.1+meta.2")
        );
        assert_eq!(
            v("-X main.buildVersion=v1.2.3-beta", "").as_deref(),
            Some("v1.2.3-beta")
        );
        assert_eq!(v("-X main.releaseVer=1.2.3.", "").as_deref(), Some("1.2.3"));
        assert_eq!(
            v("-X main.Tag=refs/tags/1.4.0", "").as_deref(),
            Some("1.4.0")
        );
        assert_eq!(v("", ""), None);
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
        // a value that is no version does not beat the file name
        let mut dev = bi.clone();
        dev.settings.pop();
        dev.settings
            .push(("-ldflags".into(), "-s -w -X main.version=dev".into()));
        assert_eq!(
            resolve_main(&dev, None, &naming),
            (Some("v1.2.3".into()), VersionSource::FileName)
        );
        assert_eq!(
            resolve_main(&bi, Some("v1.0.0"), &naming).1,
            VersionSource::Buildinfo
        );
    }
}
