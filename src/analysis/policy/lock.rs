//! Lock-file integrity: every located package of a locked provider must match one of the lock's
//! hashes, as `tofu init` requires. `zh:` is compared with the ZIP's SHA-256 and `h1:` with the
//! dirhash of its files (an unpacked mirror directory only has `h1:`).
//!
//! Lock hashes are not labelled by platform, so the verdict when nothing matches is inferred:
//! the `zh:` list covers every platform of the release (tofu copies the SHA256SUMS), so a ZIP
//! whose `zh:` is missing while the lock has `zh:` entries is a changed package (`lock-hash`).
//! With only `h1:` to go on, a miss is a changed package when the lock has at least as many `h1:`
//! as `zh:` hashes (every platform locked), and otherwise a platform the lock never recorded
//! (`lock-platform`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{About, Location, Raw, RuleId, Sink, checks};
use crate::artifact::{HashingFile, hashes};
use crate::source::lockfile::{LockFile, Package};

/// One package's verdict, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub provider: String,
    pub version: String,
    pub platform: String,
    pub source: String,
    pub zh: Option<String>,
    pub h1: String,
    pub matched_by: LockMatch,
}

/// Which of the lock file's hashes a package matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum LockMatch {
    /// Its ZIP's SHA-256 is a locked `zh:`.
    #[serde(rename = "zh:")]
    Zh,
    /// Its `h1:` dirhash is locked.
    #[serde(rename = "h1:")]
    H1,
    /// Neither: the lock-hash rule fires.
    #[serde(rename = "none")]
    None,
}

impl LockMatch {
    pub fn as_str(&self) -> &'static str {
        match self {
            LockMatch::Zh => "zh:",
            LockMatch::H1 => "h1:",
            LockMatch::None => "none",
        }
    }
}

/// What reading a package for its inventory already computed: the ZIP's SHA-256 and the
/// executable entry's name and SHA-256 (so `h1:` need not inflate it again).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub zh: Option<String>,
    pub exe: Option<(String, [u8; 32])>,
}

/// Hash each package (reusing `known` hashes by path), compare with the lock, and report
/// violations into `sink`.
pub fn check(
    sink: &mut Sink,
    lock: &LockFile,
    packages: &[Package],
    known: &BTreeMap<PathBuf, Known>,
) -> Result<Vec<Checked>> {
    let lock_path = lock.path.display().to_string();
    for p in &lock.providers {
        let about = provider_about(&lock_path, p);
        checks::registry_host(sink, &about, p.host(), "the provider's source address");
    }
    let mut out = Vec::new();
    for pkg in packages {
        let p = &lock.providers[pkg.provider];
        let path = &pkg.target.path;
        let shown = pkg
            .target
            .display
            .clone()
            .unwrap_or_else(|| path.display().to_string());
        let (zh, h1) = match &pkg.unpacked {
            Some(dir) => (
                None,
                hashes::dir_h1(dir).with_context(|| format!("cannot hash {}", dir.display()))?,
            ),
            None => {
                let k = known.get(path).cloned().unwrap_or_default();
                let zh = match k.zh {
                    Some(z) => z,
                    None => HashingFile::open(path)
                        .and_then(|h| h.finish())
                        .with_context(|| format!("cannot hash {}", path.display()))?,
                };
                let exe = k.exe.as_ref().map(|(n, sum)| (n.as_str(), *sum));
                (Some(zh), hashes::zip_h1_known(path, exe)?)
            }
        };
        let lock_zh: Vec<&str> = p.zh().collect();
        let lock_h1: Vec<&str> = p.h1().collect();
        let zh_ok = zh.as_deref().is_some_and(|z| lock_zh.contains(&z));
        let h1_ok = lock_h1.contains(&h1.as_str());
        let matched_by = if zh_ok {
            LockMatch::Zh
        } else if h1_ok {
            LockMatch::H1
        } else {
            LockMatch::None
        };
        out.push(Checked {
            provider: p.address.clone(),
            version: p.version.clone(),
            platform: pkg.platform.clone(),
            source: shown.clone(),
            zh: zh.clone(),
            h1: h1.clone(),
            matched_by,
        });
        if zh_ok || h1_ok {
            continue;
        }
        let about = About {
            artifact: shown,
            provider: Some(p.address.clone()),
            provider_type: Some(p.provider_type().to_string()),
            version: Some(p.version.clone()),
            platform: Some(pkg.platform.clone()),
            location: Some(Location {
                path: lock_path.clone(),
                line: p.line,
            }),
        };
        let mut evidence = Vec::new();
        if let Some(z) = &zh {
            evidence.push(format!(
                "zh:{z} is not among the lock's {} zh: hashes",
                lock_zh.len()
            ));
        }
        evidence.push(format!(
            "{h1} is not among the lock's {} h1: hashes",
            lock_h1.len()
        ));
        let changed = if zh.is_some() {
            !lock_zh.is_empty()
        } else {
            !lock_h1.is_empty() && lock_h1.len() >= lock_zh.len()
        };
        let mut raw = if changed {
            Raw::new(
                RuleId::LockHash,
                format!(
                    "{} {} ({}) does not match any hash in {lock_path}",
                    p.address, p.version, pkg.platform
                ),
            )
        } else {
            Raw::new(
                RuleId::LockPlatform,
                format!(
                    "{lock_path} records no hash that matches {} {} for {}",
                    p.address, p.version, pkg.platform
                ),
            )
        };
        raw.evidence = evidence;
        sink.push(&about, raw);
    }
    incomplete(sink, lock, packages);
    Ok(out)
}

/// The lock file's provider block as the subject of a violation.
fn provider_about(lock_path: &str, p: &crate::source::lockfile::LockedProvider) -> About {
    About {
        artifact: format!("{lock_path}: provider \"{}\"", p.address),
        provider: Some(p.address.clone()),
        provider_type: Some(p.provider_type().to_string()),
        version: Some(p.version.clone()),
        platform: None,
        location: Some(Location {
            path: lock_path.to_string(),
            line: p.line,
        }),
    }
}

/// `lock-incomplete`: platforms the release's signed `SHA256SUMS` lists whose `zh:` the lock
/// file lacks.
fn incomplete(sink: &mut Sink, lock: &LockFile, packages: &[Package]) {
    let lock_path = lock.path.display().to_string();
    for (i, p) in lock.providers.iter().enumerate() {
        let published: std::collections::BTreeMap<String, String> = packages
            .iter()
            .filter(|k| k.provider == i)
            .filter_map(|k| k.target.provenance.as_ref())
            .flat_map(|pv| pv.platform_zh())
            .collect();
        let locked: Vec<&str> = p.zh().collect();
        let missing: Vec<&String> = published
            .iter()
            .filter(|(_, zh)| !locked.contains(&zh.trim_start_matches("zh:")))
            .map(|(plat, _)| plat)
            .collect();
        if missing.is_empty() {
            continue;
        }
        let about = provider_about(&lock_path, p);
        sink.push(
            &about,
            Raw::new(
                RuleId::LockIncomplete,
                format!(
                    "{lock_path} lacks zh: hashes of {} {} for {}",
                    p.address,
                    p.version,
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .evidence(format!(
                "the release's SHA256SUMS publishes {} platform(s); the lock has {} zh: hash(es)",
                published.len(),
                locked.len()
            )),
        );
    }
}
