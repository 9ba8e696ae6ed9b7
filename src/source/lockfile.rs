//! `.terraform.lock.hcl`: the provider versions and package hashes a configuration is pinned to
//! (parsed with hcl-rs), and locating each locked provider's packages — ZIPs or filesystem
//! mirrors given on the command line (packed or unpacked layout), else `--oci-mirror`, else
//! through the tofu CLI configuration's installation methods (the provider registry protocol,
//! network and OCI mirrors; no configuration: `direct`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::{SourceOptions, Target, address, install, oci};
use crate::artifact::naming;
use crate::registry::OciTarget;

/// A lock file nests at most a block and a list (`provider "…" { hashes = [ … ] }`). hcl-rs
/// takes time exponential in the depth of unclosed nesting (found by fuzzing: 626 bytes, about a
/// second), so braces and brackets are checked — outside strings and comments — before parsing.
const MAX_NESTING: usize = 8;

/// What a lock file is made of, checked before hcl-rs sees it: blocks, `name = "string"`
/// attributes and lists of strings, with comments — outside strings and comments only
/// identifiers, `=`, `,`, braces, brackets and white space; every string closed on its line. hcl-rs's expression parser backtracks badly on
/// operator chains and unclosed objects (found by fuzzing: 2.6 KB of `-77+777…--2/{` took over a
/// second with depth 3), and templates in strings are expressions too; none of that is in a lock
/// file (tofu writes none, and reads versions and hashes as plain strings), so it is refused
/// with the line, before parsing. Braces and brackets nest at most [`MAX_NESTING`] deep.
fn precheck(text: &str) -> std::result::Result<(), String> {
    let b = text.as_bytes();
    let line = |i: usize| text[..i.min(text.len())].matches('\n').count() + 1;
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' => {
                let open = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\n' || (b[i] == b'\\' && b.get(i + 1) == Some(&b'\n')) {
                        break;
                    }
                    if (b[i] == b'$' || b[i] == b'%') && b.get(i + 1) == Some(&b'{') {
                        return Err(format!(
                            "a template ({}{{…}}) in a string (line {}): lock files hold plain strings",
                            b[i] as char,
                            line(i)
                        ));
                    }
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if b.get(i) != Some(&b'"') {
                    return Err(format!(
                        "a string not closed on its line (line {})",
                        line(open)
                    ));
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "braces nested more than {MAX_NESTING} deep (line {})",
                        line(i)
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            c if c.is_ascii_alphanumeric()
                || matches!(c, b'_' | b'=' | b',' | b' ' | b'\t' | b'\r' | b'\n') => {}
            c => {
                let shown = if c.is_ascii_graphic() {
                    format!("`{}`", c as char)
                } else {
                    format!("byte {c:#04x}")
                };
                return Err(format!(
                    "unexpected {shown} (line {}): a lock file holds only blocks, `name = \"string\"` \
                     attributes and lists of strings",
                    line(i)
                ));
            }
        }
        i += 1;
    }
    if depth != 0 {
        return Err("unbalanced braces".into());
    }
    Ok(())
}

/// One `provider "ADDRESS" { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedProvider {
    /// `registry.opentofu.org/hashicorp/aws`, as written.
    pub address: String,
    pub version: String,
    pub constraints: Option<String>,
    /// `h1:…` and `zh:…` strings, as written.
    pub hashes: Vec<String>,
    /// 1-based line of the block, for diagnostics.
    pub line: usize,
}

impl LockedProvider {
    /// The `TYPE` part of the address.
    pub fn provider_type(&self) -> &str {
        self.address.rsplit('/').next().unwrap_or(&self.address)
    }

    /// The registry host part of the address.
    pub fn host(&self) -> &str {
        self.address.split('/').next().unwrap_or("")
    }

    pub fn zh(&self) -> impl Iterator<Item = &str> {
        self.hashes.iter().filter_map(|h| h.strip_prefix("zh:"))
    }

    pub fn h1(&self) -> impl Iterator<Item = &str> {
        self.hashes
            .iter()
            .filter(|h| h.starts_with("h1:"))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct LockFile {
    pub path: PathBuf,
    pub providers: Vec<LockedProvider>,
}

fn string_attr(body: &hcl::Body, name: &str) -> Option<String> {
    body.attributes()
        .find(|a| a.key.as_str() == name)
        .and_then(|a| match &a.expr {
            hcl::Expression::String(s) => Some(s.clone()),
            _ => None,
        })
}

impl LockFile {
    pub fn load(path: &Path) -> Result<LockFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read lock file {}", path.display()))?;
        LockFile::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<LockFile> {
        let shown = path.display();
        precheck(text).map_err(|why| anyhow!("{shown}: not a valid lock file: {why}"))?;
        let body: hcl::Body =
            hcl::from_str(text).map_err(|e| anyhow!("{shown}: not a valid lock file: {e}"))?;
        let mut providers = Vec::new();
        for block in body.blocks() {
            if block.identifier.as_str() != "provider" {
                continue;
            }
            let address = match block.labels.as_slice() {
                [l] => l.as_str().to_string(),
                _ => bail!("{shown}: a provider block needs exactly one label (its address)"),
            };
            if address.split('/').count() != 3 {
                bail!("{shown}: provider {address:?} is not HOSTNAME/NAMESPACE/TYPE");
            }
            let version = string_attr(&block.body, "version")
                .ok_or_else(|| anyhow!("{shown}: provider {address:?} has no version"))?;
            let hashes = match block
                .body
                .attributes()
                .find(|a| a.key.as_str() == "hashes")
                .map(|a| &a.expr)
            {
                None => Vec::new(),
                Some(hcl::Expression::Array(items)) => items
                    .iter()
                    .map(|i| match i {
                        hcl::Expression::String(s) => Ok(s.clone()),
                        other => Err(anyhow!(
                            "{shown}: provider {address:?}: hashes must be strings, found {other}"
                        )),
                    })
                    .collect::<Result<_>>()?,
                Some(_) => bail!("{shown}: provider {address:?}: hashes must be a list"),
            };
            for h in &hashes {
                let ok = h
                    .strip_prefix("zh:")
                    .is_some_and(|x| x.len() == 64 && x.bytes().all(|b| b.is_ascii_hexdigit()))
                    || h.starts_with("h1:");
                if !ok {
                    tracing::warn!(
                        "{shown}: provider {address}: hash {h:?} uses a scheme provguard does not check"
                    );
                }
            }
            let needle = format!("provider \"{address}\"");
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(&needle))
                .map_or(1, |i| i + 1);
            providers.push(LockedProvider {
                address,
                version,
                constraints: string_attr(&block.body, "constraints"),
                hashes,
                line,
            });
        }
        Ok(LockFile {
            path: path.to_path_buf(),
            providers,
        })
    }
}

/// A package of a locked provider, found somewhere.
#[derive(Debug, Clone)]
pub struct Package {
    /// Index into [`LockFile::providers`].
    pub provider: usize,
    /// `OS_ARCH`.
    pub platform: String,
    pub target: Target,
    /// For an unpacked mirror: the package directory (only `h1:` can be checked).
    pub unpacked: Option<PathBuf>,
}

/// What a local target says it is: type, version, platform, address when the layout tells.
fn describe(t: &Target) -> Option<(String, String, String, Option<String>)> {
    let name = t.path.file_name()?.to_str()?;
    if let Some(z) = naming::parse_zip_name(name) {
        return Some((
            z.provider_type,
            z.version,
            format!("{}_{}", z.os, z.arch),
            t.naming.address.clone(),
        ));
    }
    let n = &t.naming;
    Some((
        n.provider_type.clone()?,
        n.version.clone()?,
        format!("{}_{}", n.os.as_ref()?, n.arch.as_ref()?),
        n.address.clone(),
    ))
}

fn same_version(a: &str, b: &str) -> bool {
    a.trim_start_matches('v') == b.trim_start_matches('v')
}

/// Every platform of a locked provider from an OCI repository.
fn from_oci(
    i: usize,
    p: &LockedProvider,
    repo: &str,
    opts: &SourceOptions,
) -> Result<Vec<Package>> {
    let tag = p.version.replace('+', "_");
    let target = OciTarget::parse(&format!("oci://{repo}:{tag}"))?;
    Ok(oci::targets(&target, opts)
        .with_context(|| format!("{} {} from its OCI mirror", p.address, p.version))?
        .into_iter()
        .map(|t| Package {
            provider: i,
            platform: format!(
                "{}_{}",
                t.naming.os.clone().unwrap_or_default(),
                t.naming.arch.clone().unwrap_or_default()
            ),
            target: t,
            unpacked: None,
        })
        .collect())
}

/// The platforms of a locked provider to fetch: `--platform`s, else those whose `zh:` the lock
/// records (read from the release's signed `SHA256SUMS` or the mirror's hashes), else the host's.
fn locked_platforms(
    p: &LockedProvider,
    addr: &address::ProviderAddress,
    inst: &install::Installer,
) -> Result<Vec<String>> {
    if !inst.opts.platforms.is_empty() {
        return Ok(inst.opts.platforms.clone());
    }
    let locked: Vec<&str> = p.zh().collect();
    for m in inst.methods(addr) {
        match &m.method {
            address::Method::Direct => {
                let Some(v) = inst.fetcher.registry_versions(addr)? else {
                    continue;
                };
                let published = super::protocol::published_platforms(&v, &p.version);
                let probe = if published.contains(&super::protocol::host_platform()) {
                    super::protocol::host_platform()
                } else if let Some(first) = published.first() {
                    first.clone()
                } else {
                    continue;
                };
                if let Some(meta) = inst.fetcher.registry_meta(addr, &p.version, &probe)? {
                    let mut plats: Vec<String> = meta
                        .sums
                        .iter()
                        .filter(|(_, hex)| locked.contains(&hex.as_str()))
                        .filter_map(|(name, _)| super::protocol::zip_platform(name))
                        .collect();
                    plats.sort();
                    plats.dedup();
                    return Ok(if plats.is_empty() { vec![probe] } else { plats });
                }
            }
            address::Method::NetworkMirror { url, .. } => {
                if !inst.fetcher.mirror_has(url, addr, &p.version)? {
                    continue;
                }
                let archives = inst.fetcher.mirror_archives(url, addr, &p.version)?;
                let plats: Vec<String> = archives
                    .iter()
                    .filter(|(_, a)| a.hashes.iter().any(|h| p.hashes.contains(h)))
                    .map(|(k, _)| k.clone())
                    .collect();
                return Ok(if plats.is_empty() {
                    vec![super::protocol::host_platform()]
                } else {
                    plats
                });
            }
            _ => {}
        }
    }
    Ok(vec![super::protocol::host_platform()])
}

/// A locked provider through the tofu CLI configuration's installation methods (no block:
/// `direct`), verified as tofu verifies.
fn from_installation(
    i: usize,
    p: &LockedProvider,
    inst: &install::Installer,
    lock: &LockFile,
) -> Result<Vec<Package>> {
    let addr = address::ProviderAddress::parse(&p.address)?;
    let methods = inst.methods(&addr);
    if methods.is_empty() {
        bail!(
            "{}: no package of {} {} found: give its ZIPs or a filesystem mirror directory as targets, or --oci-mirror (no provider_installation method handles it)",
            lock.path.display(),
            p.address,
            p.version
        );
    }
    if methods
        .iter()
        .all(|m| matches!(m.method, address::Method::OciMirror { .. }))
    {
        let mirrors = inst.config.oci_mirrors();
        let repo = address::repository_for(&addr, None, &mirrors)?;
        return from_oci(i, p, &repo, &inst.opts);
    }
    let mut out = Vec::new();
    for plat in locked_platforms(p, &addr, inst)? {
        let f = inst
            .fetch(&addr, &p.version, &plat)
            .with_context(|| format!("{}: {} {}", lock.path.display(), p.address, p.version))?;
        out.push(Package {
            provider: i,
            platform: plat,
            target: f.target,
            unpacked: None,
        });
    }
    Ok(out)
}

/// Find the packages of every locked provider among `local` targets, else where the tofu CLI
/// configuration installs it from (`--oci-mirror` first).
/// `platforms` (empty: whatever is found) restricts and, when given, requires platforms.
pub fn locate(lock: &LockFile, local: &[Target], oci_opts: &SourceOptions) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut installer: Option<install::Installer> = None;
    for (i, p) in lock.providers.iter().enumerate() {
        let mut found: Vec<Package> = Vec::new();
        for t in local {
            let Some((ptype, version, platform, addr)) = describe(t) else {
                continue;
            };
            let matches_addr = match &addr {
                Some(a) => a.eq_ignore_ascii_case(&p.address),
                None => ptype == p.provider_type(),
            };
            if !matches_addr || !same_version(&version, &p.version) {
                continue;
            }
            if !oci_opts.platforms.is_empty() && !oci_opts.platforms.contains(&platform) {
                continue;
            }
            if found.iter().any(|f| f.platform == platform) {
                continue;
            }
            let is_zip = t
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(naming::parse_zip_name)
                .is_some();
            let unpacked = if is_zip {
                None
            } else {
                t.path.parent().map(Path::to_path_buf)
            };
            found.push(Package {
                provider: i,
                platform,
                target: t.clone(),
                unpacked,
            });
        }
        if found.is_empty() && oci_opts.oci_mirror.is_some() {
            let addr = address::ProviderAddress::parse(&p.address)?;
            let repo = address::repository_for(&addr, oci_opts.oci_mirror.as_deref(), &[])?;
            found.extend(from_oci(i, p, &repo, oci_opts)?);
        } else if found.is_empty() {
            if installer.is_none() {
                installer = Some(install::Installer::new(oci_opts)?);
            }
            let inst = installer.as_ref().expect("just set");
            found.extend(from_installation(i, p, inst, lock)?);
        }
        for want in &oci_opts.platforms {
            if !found.iter().any(|f| &f.platform == want) {
                bail!(
                    "{} {}: no {want} package found (found: {})",
                    p.address,
                    p.version,
                    found
                        .iter()
                        .map(|f| f.platform.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        out.extend(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tofu_lock_files() {
        let text = r#"# This file is maintained automatically by "tofu init".
provider "registry.opentofu.org/hashicorp/aws" {
  version     = "5.31.0"
  constraints = "~> 5.0"
  hashes = [
    "h1:abc=",
    "zh:0000000000000000000000000000000000000000000000000000000000000000",
  ]
}

provider "registry.opentofu.org/example/demo" {
  version = "1.2.3"
}
"#;
        let l = LockFile::parse(text, Path::new("x.hcl")).unwrap();
        assert_eq!(l.providers.len(), 2);
        let aws = &l.providers[0];
        assert_eq!(aws.provider_type(), "aws");
        assert_eq!(aws.host(), "registry.opentofu.org");
        assert_eq!(aws.constraints.as_deref(), Some("~> 5.0"));
        assert_eq!(aws.h1().collect::<Vec<_>>(), ["h1:abc="]);
        assert_eq!(aws.zh().count(), 1);
        assert_eq!(aws.line, 2);
        assert_eq!(l.providers[1].line, 11);
        assert!(l.providers[1].hashes.is_empty());
        for bad in [
            "provider {\n version = \"1\"\n}\n",
            "provider \"a/b\" {\n version = \"1\"\n}\n",
            "provider \"h/a/b\" {\n}\n",
            "provider \"h/a/b\" {\n version = \"1\"\n hashes = \"h1:x\"\n}\n",
            "provider \"h/a/b\" {",
        ] {
            assert!(LockFile::parse(bad, Path::new("x")).is_err(), "{bad}");
        }
    }

    #[test]
    fn deeply_nested_input_is_refused_quickly() {
        // The fuzzing findings (tests/fixtures/hostile-lockfile-timeout*.hcl): ~1 s in hcl-rs.
        let text = include_str!("../../tests/fixtures/hostile-lockfile-timeout.hcl");
        let e = LockFile::parse(text, Path::new("l.hcl"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nested more than") || e.contains("unbalanced") || e.contains("unexpected"),
            "{e}"
        );
        let text = include_bytes!("../../tests/fixtures/hostile-lockfile-timeout2.hcl");
        let e = LockFile::parse(&String::from_utf8_lossy(text), Path::new("l.hcl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpected `-` (line 2)"), "{e}");
        let text = include_bytes!("../../tests/fixtures/hostile-lockfile-timeout3.hcl");
        let e = LockFile::parse(&String::from_utf8_lossy(text), Path::new("l.hcl"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a string not closed on its line (line 1)"),
            "{e}"
        );
        for (bad, why) in [
            ("x = 1 + 2\n", "unexpected `+` (line 1)"),
            ("x = a ? b : c\n", "unexpected `?`"),
            ("x = (\"a\")\n", "unexpected `(`"),
            ("x = <<EOF\nhi\nEOF\n", "unexpected `<`"),
            ("x = \"${a}\"\n", "a template (${…}) in a string (line 1)"),
            ("x = \"%{if a}b%{endif}\"\n", "a template (%{…})"),
            ("x = -1\n", "unexpected `-`"),
            ("x = a.b\n", "unexpected `.`"),
            ("x = \"a\nb\"\n", "a string not closed on its line (line 1)"),
            ("x = \"a\\\nb\"\n", "a string not closed on its line"),
            ("x = é\n", "unexpected byte 0xc3"),
        ] {
            let e = LockFile::parse(bad, Path::new("l.hcl"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let deep = format!("{}{}", "x = [".repeat(20), "]".repeat(20));
        assert!(LockFile::parse(&deep, Path::new("l.hcl")).is_err());
        let ok = "provider \"registry.opentofu.org/a/b\" {\n  version = \"1.0.0\" # {{{\n  hashes = [\"h1:x{\", // [[\n  ]\n}\n";
        assert_eq!(
            LockFile::parse(ok, Path::new("l.hcl"))
                .unwrap()
                .providers
                .len(),
            1
        );
    }
}
