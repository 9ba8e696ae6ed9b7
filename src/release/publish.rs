//! `provguard publish`: a checked local release into `oci://HOST/REPO`, tagged with its version,
//! one SBOM (or two) attached to every platform manifest. Push order: ZIP blobs and the empty
//! config, platform manifests, the SBOM blobs and referrers (each recorded in the `sha256-<hex>`
//! fallback index when the registry has no referrers API), the carried origin signature on the
//! index (`mirror` of a provider address), and last the index under its tag, so
//! a run that fails part-way publishes no version.
//! Existing blobs are not sent again; `--dry-run` computes every digest and contacts nothing.
//! The writes themselves are [`Pusher`]'s, which `mirror` also drives, overlapping them with
//! its inventories.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use super::local::{Package, Release};
use super::{CarriedSignature, Dest, Outcome, PlatformResult, SbomDoc, layout};
use crate::registry::push::{BlobData, PushStats};
use crate::registry::{ClientOptions, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Registry, repo_ref};

/// `oci://HOST[:PORT]/REPO` (no tag: the tag is the version).
pub fn parse_destination(s: &str) -> Result<(String, String)> {
    let rest = s
        .strip_prefix("oci://")
        .ok_or_else(|| anyhow!("{s}: the destination is oci://HOST/REPOSITORY"))?;
    let (host, repo) = rest
        .split_once('/')
        .ok_or_else(|| anyhow!("{s}: expected oci://HOST/REPOSITORY"))?;
    let last = repo.rsplit('/').next().unwrap_or(repo);
    if repo.contains('@') || last.contains(':') {
        bail!("{s}: name the repository only; the tag is the provider version");
    }
    if host.is_empty()
        || repo.is_empty()
        || repo
            .bytes()
            .any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b)))
    {
        bail!("{s}: not a valid repository (lowercase letters, digits, '.', '_', '-', '/')");
    }
    Ok((host.to_string(), repo.to_string()))
}

/// What to push for each platform.
pub struct Plan<'a> {
    pub release: &'a Release,
    /// SBOMs per platform (`OS_ARCH`).
    pub sboms: BTreeMap<String, Vec<SbomDoc>>,
    /// The origin's signed `SHA256SUMS`, attached to the index (`mirror` of an address).
    pub signature: Option<CarriedSignature>,
}

/// One platform's ZIP as pushed: what its manifest and the index are made of.
pub struct Zip<'a> {
    pub os: &'a str,
    pub arch: &'a str,
    pub file_name: &'a str,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    pub path: &'a Path,
}

impl Zip<'_> {
    pub fn platform(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }

    /// Its platform manifest.
    pub fn manifest(&self) -> Vec<u8> {
        layout::platform_manifest(&self.digest, self.size, self.file_name)
    }
}

impl Package {
    pub fn zip(&self) -> Zip<'_> {
        Zip {
            os: &self.os,
            arch: &self.arch,
            file_name: &self.file_name,
            digest: self.digest(),
            size: self.size,
            path: &self.path,
        }
    }
}

/// The index over `zips` and their platform manifests (`manifests[i]` is `zips[i]`'s), in the
/// order given.
pub fn index(zips: &[Zip], manifests: &[Vec<u8>]) -> Vec<u8> {
    let entries: Vec<(String, String, String, usize)> = zips
        .iter()
        .zip(manifests)
        .map(|(z, m)| {
            (
                z.os.to_string(),
                z.arch.to_string(),
                layout::digest(m),
                m.len(),
            )
        })
        .collect();
    layout::index(&entries)
}

/// What `plan` publishes at `host/repo`: every digest, computed without contacting anything.
pub fn outcome(plan: &Plan, host: &str, repo: &str, dry_run: bool) -> Outcome {
    let release = plan.release;
    let zips: Vec<Zip> = release.packages.iter().map(Package::zip).collect();
    let manifests: Vec<Vec<u8>> = zips.iter().map(Zip::manifest).collect();
    let index = index(&zips, &manifests);
    let index_subject = (layout::digest(&index), index.len());
    let mut outcome = Outcome {
        destination: format!("oci://{host}/{repo}"),
        tag: layout::tag_of(&release.version),
        index: index_subject.0.clone(),
        dry_run,
        signature: plan.signature.as_ref().map(|s| {
            layout::digest(&layout::signature_referrer(
                s,
                (&index_subject.0, index_subject.1),
            ))
        }),
        ..Outcome::default()
    };
    for (p, m) in release.packages.iter().zip(&manifests) {
        let subject = layout::digest(m);
        let sboms = plan
            .sboms
            .get(&p.platform())
            .map(|v| {
                v.iter()
                    .map(|s| layout::digest(&layout::sbom_referrer(s, (&subject, m.len())).1))
                    .collect()
            })
            .unwrap_or_default();
        outcome.platforms.push(PlatformResult {
            platform: p.platform(),
            manifest: subject,
            zh: p.zh.clone(),
            h1: Some(p.h1.clone()),
            sboms,
        });
    }
    outcome
}

/// The writes of one run, each counted, in an order the caller keeps: a ZIP blob before its
/// platform manifest, a manifest before its referrers, the tag last.
pub struct Pusher<'a> {
    dest: Dest<'a>,
    pub stats: PushStats,
    /// Some referrer went into a fallback index.
    pub fallback: bool,
}

impl<'a> Pusher<'a> {
    /// Writes to `dest`, its registry prepared for pushing.
    pub fn new(dest: Dest<'a>, tag: &str) -> Pusher<'a> {
        dest.reg.prepare_push(&repo_ref(dest.host, dest.repo, tag));
        Pusher {
            dest,
            stats: PushStats::default(),
            fallback: false,
        }
    }

    pub fn zip(&mut self, z: &Zip) -> Result<()> {
        tracing::info!("{}: pushing {}", z.platform(), z.file_name);
        self.dest
            .blob(&z.digest, z.size, BlobData::File(z.path), &mut self.stats)
    }

    /// The empty config every manifest names.
    pub fn config(&mut self) -> Result<()> {
        self.dest.config(&mut self.stats)
    }

    pub fn manifest(&mut self, m: &[u8]) -> Result<()> {
        self.dest
            .manifest(None, m, MANIFEST_MEDIA_TYPE, &mut self.stats)?;
        Ok(())
    }

    /// `sboms` as referrers of the platform manifest `m`.
    pub fn sboms(&mut self, m: &[u8], sboms: &[SbomDoc]) -> Result<()> {
        let subject = layout::digest(m);
        for s in sboms {
            let (_, fallback) = self.dest.attach((&subject, m.len()), s, &mut self.stats)?;
            self.fallback |= fallback;
        }
        Ok(())
    }

    /// The carried origin signature as a referrer of `index`.
    pub fn signature(&mut self, index: &[u8], sig: &CarriedSignature) -> Result<()> {
        let (_, fallback) = self.dest.attach_signature(
            (&layout::digest(index), index.len()),
            sig,
            &mut self.stats,
        )?;
        self.fallback |= fallback;
        Ok(())
    }

    /// The index under `tag`: the version becomes visible.
    pub fn tag(&mut self, tag: &str, index: &[u8]) -> Result<()> {
        self.dest
            .manifest(Some(tag), index, INDEX_MEDIA_TYPE, &mut self.stats)?;
        Ok(())
    }
}

/// Push `plan` to `host/repo` (or, with `dry_run`, only compute what would be pushed).
pub fn publish(
    plan: &Plan,
    host: &str,
    repo: &str,
    opts: &ClientOptions,
    mount_from: &[String],
    dry_run: bool,
) -> Result<Outcome> {
    let mut outcome = outcome(plan, host, repo, dry_run);
    if dry_run {
        return Ok(outcome);
    }
    let zips: Vec<Zip> = plan.release.packages.iter().map(Package::zip).collect();
    let manifests: Vec<Vec<u8>> = zips.iter().map(Zip::manifest).collect();
    let index = index(&zips, &manifests);
    let reg = Registry::new(opts, host)?;
    let mut push = Pusher::new(
        Dest {
            reg: &reg,
            host,
            repo,
            mount_from,
            config_there: Default::default(),
        },
        &outcome.tag,
    );
    for z in &zips {
        push.zip(z)?;
    }
    push.config()?;
    for m in &manifests {
        push.manifest(m)?;
    }
    for (z, m) in zips.iter().zip(&manifests) {
        let sboms = plan.sboms.get(&z.platform());
        push.sboms(m, sboms.map(Vec::as_slice).unwrap_or_default())?;
    }
    if let Some(sig) = &plan.signature {
        push.signature(&index, sig)?;
    }
    // The tag last: a run that fails part-way leaves no half-published version visible.
    push.tag(&outcome.tag, &index)?;
    outcome.stats = push.stats;
    outcome.fallback_tags = push.fallback;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #[test]
    fn destinations() {
        let (h, r) = super::parse_destination("oci://127.0.0.1:5000/acme/demo").unwrap();
        assert_eq!((h.as_str(), r.as_str()), ("127.0.0.1:5000", "acme/demo"));
        for bad in [
            "ghcr.io/acme/demo",
            "oci://ghcr.io",
            "oci://ghcr.io/acme/demo:1.0.0",
            "oci://ghcr.io/acme/demo@sha256:00",
            "oci://ghcr.io/Acme/demo",
        ] {
            assert!(super::parse_destination(bad).is_err(), "{bad}");
        }
    }
}
