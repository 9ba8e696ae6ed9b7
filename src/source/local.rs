//! Local targets: a provider ZIP, a bare executable, or a directory walked for providers.
//!
//! In a directory, provider ZIPs (`terraform-provider-NAME_VERSION_OS_ARCH.zip`) and unpacked
//! mirror executables (`…/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE…`) are collected; when
//! there are neither, loose `terraform-provider-*` executables are (a `dist/` without archives).
//! GoReleaser's per-build folders beside the ZIPs are skipped: the ZIPs already hold those
//! binaries. Symlinked directories are not followed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::Target;
use crate::artifact::{Naming, naming};

/// A local path: a file is one target; a directory is walked for providers.
pub fn targets(t: &Path) -> Result<Vec<Target>> {
    let meta = fs::metadata(t).with_context(|| format!("cannot read target {}", t.display()))?;
    if !meta.is_dir() {
        return Ok(vec![Target::local(t.to_path_buf(), Naming::default())]);
    }
    let found = walk_dir(t)?;
    if found.is_empty() {
        bail!(
            "no provider artifacts under {}: expected terraform-provider-NAME_VERSION_OS_ARCH.zip files, a filesystem mirror (HOST/NAMESPACE/TYPE/…), or terraform-provider-* executables",
            t.display()
        );
    }
    Ok(found)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let ft = e.file_type()?;
        if ft.is_dir() {
            files_under(&e.path(), out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

fn name_of(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// `HOST/NAMESPACE/TYPE` from the three directories above `type_dir` (inclusive).
fn address(root: &Path, type_dir: &Path) -> Option<String> {
    let rel = type_dir.strip_prefix(root).ok()?;
    let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    (parts.len() >= 3).then(|| parts[parts.len() - 3..].join("/"))
}

fn is_platform_dir(s: &str) -> Option<(&str, &str)> {
    let (os, arch) = s.split_once('_')?;
    (!os.is_empty() && !arch.is_empty() && !arch.contains('_')).then_some((os, arch))
}

fn walk_dir(root: &Path) -> Result<Vec<Target>> {
    let mut files = Vec::new();
    files_under(root, &mut files)?;
    let mut zips = Vec::new();
    let mut unpacked = Vec::new();
    let mut loose = Vec::new();
    for f in files {
        let name = name_of(&f);
        if let Some(z) = naming::parse_zip_name(name) {
            let dir = f.parent().unwrap_or(root);
            let address = (name_of(dir) == z.provider_type)
                .then(|| address(root, dir))
                .flatten();
            zips.push(Target::local(
                f,
                Naming {
                    address,
                    ..Naming::default()
                },
            ));
        } else if let Some(ptype) = naming::exe_provider_type(name) {
            // unpacked mirror: TYPE/VERSION/OS_ARCH/terraform-provider-TYPE…
            let plat_dir = f.parent();
            let ver_dir = plat_dir.and_then(Path::parent);
            let type_dir = ver_dir.and_then(Path::parent);
            let layout = match (plat_dir, ver_dir, type_dir) {
                (Some(p), Some(v), Some(t))
                    if name_of(t) == ptype
                        && is_platform_dir(name_of(p)).is_some()
                        && name_of(v).starts_with(|c: char| c.is_ascii_digit()) =>
                {
                    let (os, arch) = is_platform_dir(name_of(p)).expect("checked");
                    Some(Naming {
                        provider_type: Some(ptype.to_string()),
                        version: Some(name_of(v).to_string()),
                        os: Some(os.to_string()),
                        arch: Some(arch.to_string()),
                        address: address(root, t),
                    })
                }
                _ => None,
            };
            match layout {
                Some(naming) => unpacked.push(Target::local(f, naming)),
                None if !name.ends_with(".zip")
                    && !name.contains("SHA256SUMS")
                    && !name.ends_with(".json")
                    && !name.ends_with(".sig") =>
                {
                    loose.push(Target::local(f, Naming::default()))
                }
                None => {}
            }
        }
    }
    let mut out = zips;
    out.extend(unpacked);
    if out.is_empty() {
        out = loose;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::resolve;

    #[test]
    fn walks_mirror_layouts() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let packed = r.join("registry.opentofu.org/acme/demo");
        fs::create_dir_all(&packed).unwrap();
        fs::write(
            packed.join("terraform-provider-demo_1.0.0_linux_amd64.zip"),
            b"",
        )
        .unwrap();
        let unp = r.join("example.com/acme/other/2.0.0/darwin_arm64");
        fs::create_dir_all(&unp).unwrap();
        fs::write(unp.join("terraform-provider-other_v2.0.0"), b"").unwrap();
        let t = resolve(&[r.to_path_buf()], &Default::default()).unwrap();
        assert_eq!(t.len(), 2);
        let addr = |i: usize| t[i].naming.address.as_deref();
        assert_eq!(addr(0), Some("registry.opentofu.org/acme/demo"));
        assert_eq!(addr(1), Some("example.com/acme/other"));
        assert_eq!(t[1].naming.os.as_deref(), Some("darwin"));
        assert_eq!(t[1].naming.version.as_deref(), Some("2.0.0"));
    }

    #[test]
    fn dist_prefers_zips_and_empty_dir_errors() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("terraform-provider-demo_linux_amd64_v1")).unwrap();
        fs::write(
            r.join("terraform-provider-demo_linux_amd64_v1/terraform-provider-demo_v1.0.0"),
            b"",
        )
        .unwrap();
        let t = resolve(&[r.to_path_buf()], &Default::default()).unwrap();
        assert_eq!(t.len(), 1, "loose executables when there are no ZIPs");
        fs::write(r.join("terraform-provider-demo_1.0.0_linux_amd64.zip"), b"").unwrap();
        fs::write(r.join("terraform-provider-demo_1.0.0_SHA256SUMS"), b"").unwrap();
        let t = resolve(&[r.to_path_buf()], &Default::default()).unwrap();
        assert_eq!(t.len(), 1);
        assert!(
            t[0].path
                .ends_with("terraform-provider-demo_1.0.0_linux_amd64.zip")
        );
        let e = tempfile::tempdir().unwrap();
        let err = resolve(&[e.path().to_path_buf()], &Default::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no provider artifacts"), "{err}");
    }
}
