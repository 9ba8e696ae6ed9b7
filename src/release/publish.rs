//! `provguard publish`: a checked local release into `oci://HOST/REPO`, tagged with its version,
//! one SBOM (or two) attached to every platform manifest. Push order: ZIP blobs and the empty
//! config, platform manifests, the SBOM blobs and referrers (each recorded in the `sha256-<hex>`
//! fallback index when the registry has no referrers API), the carried origin signature on the
//! index (`mirror` of a provider address), and last the index under its tag, so
//! a run that fails part-way publishes no version.
//! Existing blobs are not sent again; `--dry-run` computes every digest and contacts nothing.

use std::collections::BTreeMap;

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

/// Push `plan` to `host/repo` (or, with `dry_run`, only compute what would be pushed).
pub fn publish(
    plan: &Plan,
    host: &str,
    repo: &str,
    opts: &ClientOptions,
    mount_from: &[String],
    dry_run: bool,
) -> Result<Outcome> {
    let release = plan.release;
    let tag = layout::tag_of(&release.version);
    let manifests: Vec<(&Package, Vec<u8>)> = release
        .packages
        .iter()
        .map(|p| {
            (
                p,
                layout::platform_manifest(&p.digest(), p.size, &p.file_name),
            )
        })
        .collect();
    let entries: Vec<(String, String, String, usize)> = manifests
        .iter()
        .map(|(p, m)| (p.os.clone(), p.arch.clone(), layout::digest(m), m.len()))
        .collect();
    let index = layout::index(&entries);
    let index_subject = (layout::digest(&index), index.len());
    let mut outcome = Outcome {
        destination: format!("oci://{host}/{repo}"),
        tag: tag.clone(),
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
    for (p, m) in &manifests {
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
    if dry_run {
        return Ok(outcome);
    }

    let reg = Registry::new(opts, host)?;
    let r0 = repo_ref(host, repo, &tag);
    reg.prepare_push(&r0);
    let dest = Dest {
        reg: &reg,
        host,
        repo,
        mount_from,
    };
    let mut stats = PushStats::default();
    for (p, _) in &manifests {
        tracing::info!("{}: pushing {}", p.platform(), p.file_name);
        dest.blob(&p.digest(), p.size, BlobData::File(&p.path), &mut stats)?;
    }
    dest.blob(
        &layout::empty_digest(),
        2,
        BlobData::Bytes(layout::EMPTY_CONFIG),
        &mut stats,
    )?;
    for (_, m) in &manifests {
        dest.manifest(None, m, MANIFEST_MEDIA_TYPE, &mut stats)?;
    }
    for (p, m) in &manifests {
        let subject = layout::digest(m);
        for s in plan.sboms.get(&p.platform()).into_iter().flatten() {
            let (_, fallback) = dest.attach((&subject, m.len()), s, &mut stats)?;
            outcome.fallback_tags |= fallback;
        }
    }
    if let Some(sig) = &plan.signature {
        let (_, fallback) =
            dest.attach_signature((&index_subject.0, index_subject.1), sig, &mut stats)?;
        outcome.fallback_tags |= fallback;
    }
    // The tag last: a run that fails part-way leaves no half-published version visible.
    dest.manifest(Some(&tag), &index, INDEX_MEDIA_TYPE, &mut stats)?;
    outcome.stats = stats;
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
