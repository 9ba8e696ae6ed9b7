//! A provider release on disk — a GoReleaser `dist/`, ZIPs named on the command line, or a
//! filesystem mirror in the packed layout — checked before anything leaves the machine: one
//! provider version, one ZIP per platform, every ZIP listed in and matching
//! `terraform-provider-NAME_VERSION_SHA256SUMS`. Each binary is inventoried once, which also
//! gives the ZIP's SHA-256 (`zh:`); its `h1:` comes from the ZIP's entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::SbomDoc;
use crate::artifact::{hashes, naming, zip::Limits};
use crate::inventory::{Inventory, SbomSource, gobin, sbom_in};
use crate::report::{RenderOptions, SbomFormat};
use crate::source::Target;

/// One platform's ZIP, verified and inventoried.
#[derive(Debug, Clone)]
pub struct Package {
    pub os: String,
    pub arch: String,
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the ZIP.
    pub zh: String,
    pub h1: String,
    pub inventory: Inventory,
}

impl Package {
    pub fn platform(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }

    pub fn digest(&self) -> String {
        format!("sha256:{}", self.zh)
    }
}

#[derive(Debug, Clone)]
pub struct Release {
    pub provider_type: String,
    pub version: String,
    pub packages: Vec<Package>,
    /// The SHA256SUMS file the ZIPs were checked against.
    pub sums: Option<PathBuf>,
}

/// `<hex>  <file name>` lines (split on whitespace, as tofu reads them).
pub fn parse_sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let sum = it.next()?.to_ascii_lowercase();
            let name = it.next()?.trim_start_matches('*').to_string();
            Some((name, sum))
        })
        .collect()
}

/// Read and check the release under `paths`. `version` picks one when several are present;
/// `require_sums` refuses a release without its SHA256SUMS (a filesystem mirror has none).
pub fn read(
    paths: &[PathBuf],
    version: Option<&str>,
    require_sums: bool,
    platforms: &[String],
) -> Result<Release> {
    let targets = crate::source::resolve(paths, &crate::source::SourceOptions::default())?;
    let mut zips: Vec<(Target, naming::ZipName)> = Vec::new();
    for t in targets {
        let name = t
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match naming::parse_zip_name(name) {
            Some(z) => zips.push((t, z)),
            None => bail!(
                "{}: not a provider ZIP (terraform-provider-NAME_VERSION_OS_ARCH.zip); registries get the release ZIPs byte for byte, so unpacked packages cannot be published",
                t.path.display()
            ),
        }
    }
    let mut versions: Vec<(String, String)> = zips
        .iter()
        .map(|(_, z)| (z.provider_type.clone(), z.version.clone()))
        .collect();
    versions.sort();
    versions.dedup();
    let wanted = match version {
        Some(v) => versions
            .iter()
            .find(|(_, x)| x.trim_start_matches('v') == v.trim_start_matches('v'))
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "no ZIPs of version {v} (found: {})",
                    versions
                        .iter()
                        .map(|(t, v)| format!("{t} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        None => match versions.as_slice() {
            [one] => one.clone(),
            [] => bail!("no provider ZIPs found"),
            many => bail!(
                "several provider versions found ({}); choose one with --version",
                many.iter()
                    .map(|(t, v)| format!("{t} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let (ptype, ver) = wanted;
    zips.retain(|(_, z)| z.provider_type == ptype && z.version == ver);
    if version.is_some() && zips.iter().any(|(_, z)| z.provider_type != ptype) {
        bail!("several providers found; publish one at a time");
    }
    zips.retain(|(_, z)| {
        platforms.is_empty() || platforms.contains(&format!("{}_{}", z.os, z.arch))
    });
    for p in platforms {
        if !zips
            .iter()
            .any(|(_, z)| &format!("{}_{}", z.os, z.arch) == p)
        {
            bail!("no {p} ZIP of {ptype} {ver}");
        }
    }

    // SHA256SUMS beside the ZIPs.
    let sums_name = format!("terraform-provider-{ptype}_{ver}_SHA256SUMS");
    let dirs: Vec<PathBuf> = zips
        .iter()
        .filter_map(|(t, _)| t.path.parent().map(Path::to_path_buf))
        .collect();
    let sums_path = dirs
        .iter()
        .map(|d| d.join(&sums_name))
        .find(|p| p.is_file());
    let sums = match &sums_path {
        Some(p) => Some(parse_sums(
            &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        None if require_sums => bail!(
            "{sums_name} not found beside the ZIPs: every ZIP is checked against it before anything is pushed"
        ),
        None => None,
    };

    let mut packages: Vec<Package> = Vec::new();
    let mut problems = Vec::new();
    for (t, z) in zips {
        let file_name = t
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let pkg = package(&t, &file_name, &z.os, &z.arch, None)?;
        if let Some(sums) = &sums {
            match sums.get(&file_name) {
                None => problems.push(format!("{file_name} is not listed in {sums_name}")),
                Some(s) if *s != pkg.zh => problems.push(format!(
                    "{file_name}: sha256 {} does not match {sums_name} ({s})",
                    pkg.zh
                )),
                Some(_) => {}
            }
        }
        if packages.iter().any(|p| p.platform() == pkg.platform()) {
            bail!("two ZIPs for {}", pkg.platform());
        }
        packages.push(pkg);
    }
    if !problems.is_empty() {
        bail!(
            "the release does not match its checksums; nothing pushed:\n  {}",
            problems.join("\n  ")
        );
    }
    packages.sort_by_key(Package::platform);
    Ok(Release {
        provider_type: ptype,
        version: ver,
        packages,
        sums: sums_path,
    })
}

/// The ZIP at `t` (released as `file_name`, for `os`/`arch`), inventoried once: its `zh:`
/// from the scan (or `zh`, the hex SHA-256 its download was verified with), its `h1:` from the
/// entries.
pub fn package(
    t: &Target,
    file_name: &str,
    os: &str,
    arch: &str,
    zh: Option<&str>,
) -> Result<Package> {
    let invs = crate::inventory::collect::inventories_with_zip_hash(
        t,
        Limits::default(),
        gobin::ReadOptions { hash: true },
        SbomSource::Binary,
        false,
        zh.map(str::to_string),
    )?;
    let inventory = invs
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{}: no executable image", t.path.display()))?;
    let zh = inventory
        .subject
        .zip_sha256
        .clone()
        .ok_or_else(|| anyhow!("{}: ZIP hash missing", t.path.display()))?;
    // The executable's SHA-256 is known from the scan; only other entries are read.
    let exe = inventory.subject.exe_digest();
    let h1 = hashes::zip_h1_known(&t.path, exe.as_ref().map(|(n, s)| (n.as_str(), *s)))?;
    Ok(Package {
        os: os.to_string(),
        arch: arch.to_string(),
        size: std::fs::metadata(&t.path)?.len(),
        h1,
        path: t.path.clone(),
        file_name: file_name.to_string(),
        zh,
        inventory,
    })
}

/// Seconds since the epoch of the newest entry in the ZIP (GoReleaser sets them to the commit
/// time), so a re-published SBOM is byte-identical.
fn zip_time(path: &Path) -> Option<i64> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).ok()?).ok()?;
    let mut newest = None;
    for i in 0..z.len() {
        let e = z.by_index_raw(i).ok()?;
        if let Some(t) = e.last_modified() {
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            newest = newest.max(crate::foundation::time::parse_rfc3339(&text));
        }
    }
    newest
}

/// Which SBOMs to generate from each binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomChoice {
    Cyclonedx,
    Spdx,
    Both,
}

impl crate::foundation::named::Named for SbomChoice {
    const ALL: &'static [Self] = &[SbomChoice::Cyclonedx, SbomChoice::Spdx, SbomChoice::Both];

    fn name(&self) -> &'static str {
        match self {
            SbomChoice::Cyclonedx => "cyclonedx",
            SbomChoice::Spdx => "spdx",
            SbomChoice::Both => "both",
        }
    }

    fn help(&self) -> &'static str {
        match self {
            SbomChoice::Cyclonedx => "CycloneDX 1.5 JSON",
            SbomChoice::Spdx => "SPDX 2.3 JSON",
            SbomChoice::Both => "Both, as two referrers",
        }
    }
}

/// The SBOMs generated from `pkg`'s binary, deterministic (same release, same bytes).
pub fn generated(pkg: &Package, choice: SbomChoice) -> Vec<SbomDoc> {
    generated_for(&pkg.inventory, &pkg.path, &pkg.file_name, choice)
}

/// The SBOMs generated from the inventory of the ZIP at `zip` named `file_name`.
pub fn generated_for(
    inventory: &Inventory,
    zip: &Path,
    file_name: &str,
    choice: SbomChoice,
) -> Vec<SbomDoc> {
    let timestamp = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| zip_time(zip))
        .unwrap_or(0);
    let opts = RenderOptions {
        deterministic: true,
        timestamp,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    let stem = file_name.trim_end_matches(".zip");
    let mut out = Vec::new();
    if choice != SbomChoice::Spdx {
        out.push(SbomDoc {
            media_type: "application/vnd.cyclonedx+json",
            bytes: crate::report::render(inventory, SbomFormat::CycloneDx, &opts),
            title: format!("{stem}.cdx.json"),
            origin: "generated by provguard from the binary".into(),
        });
    }
    if choice != SbomChoice::Cyclonedx {
        out.push(SbomDoc {
            media_type: "application/spdx+json",
            bytes: crate::report::render(inventory, SbomFormat::Spdx, &opts),
            title: format!("{stem}.spdx.json"),
            origin: "generated by provguard from the binary".into(),
        });
    }
    out
}

/// An SBOM the release already produced (Syft's, say), checked against the binary: drift is
/// refused unless `allow_drift`.
pub fn from_file(pkg: &Package, path: &Path, allow_drift: bool) -> Result<SbomDoc> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let sbom = sbom_in::parse(&bytes)
        .map_err(|e| anyhow!("{}: not a usable SBOM: {e}", path.display()))?;
    let binary: Vec<_> = std::iter::once(pkg.inventory.main.clone())
        .chain(pkg.inventory.modules.iter().cloned())
        .collect();
    let drift = sbom_in::drift(&binary, &sbom.modules);
    if !drift.is_empty() {
        let list: Vec<String> = drift.iter().take(20).map(|d| d.describe()).collect();
        let msg = format!(
            "{} disagrees with the {} binary in {} place(s):\n  {}",
            path.display(),
            pkg.platform(),
            drift.len(),
            list.join("\n  ")
        );
        if !allow_drift {
            bail!("{msg}\nregenerate it from the released binary, or pass --allow-drift");
        }
        tracing::warn!("{msg} (attached anyway: --allow-drift)");
    }
    let (media_type, ext) = match sbom.kind {
        sbom_in::SbomKind::CycloneDx => ("application/vnd.cyclonedx+json", "cdx.json"),
        sbom_in::SbomKind::Spdx => ("application/spdx+json", "spdx.json"),
    };
    Ok(SbomDoc {
        media_type,
        bytes,
        title: path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.{ext}", pkg.file_name.trim_end_matches(".zip"))),
        origin: format!("supplied with the release ({})", path.display()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_lines_split_on_whitespace() {
        let s = super::parse_sums("ABC  a.zip\ndef *b.zip\n\nbad\n");
        assert_eq!(s.get("a.zip").map(String::as_str), Some("abc"));
        assert_eq!(s.get("b.zip").map(String::as_str), Some("def"));
        assert_eq!(s.len(), 2);
    }
}
