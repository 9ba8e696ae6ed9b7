//! `provguard mirror`: one provider version from a registry into another (or from a local
//! release into a registry), every digest preserved — the platform manifests and the index are
//! written byte for byte, so the destination's layer digests are the lock file's `zh:` — and
//! every attached SBOM carried along: referrers (found by the referrers API or the tag schema)
//! and cosign `.sbom` tags, re-attached at the destination (fallback index maintained there when
//! it has no referrers API), and so is a carried origin signature on the index. With
//! `--platform`, the index is rebuilt over the chosen platforms (a new index digest) and
//! referrers of the old index are left behind. With
//! `--generate-sboms`, a platform without any SBOM gets one from its binary.
//!
//! From a provider address ([`mirror_address`]): the version resolved and every platform
//! fetched through the same installation methods `scan` and `lock-hashes` use, each verified
//! as tofu verifies it, all before anything is pushed; then published exactly as `publish`
//! pushes a local release (SBOMs generated per platform), with the origin's signed
//! `SHA256SUMS` carried on the index as one referrer.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};

use super::local::{self, Release, SbomChoice, generated_for};
use super::publish::{Plan, publish};
use super::{CarriedSignature, Dest, Outcome, PlatformResult, layout};
use crate::artifact::{Naming, hashes, zip::Limits};
use crate::inventory::{SbomSource, gobin};
use crate::registry::push::{BlobData, PushStats};
use crate::registry::wire::{Descriptor, ManifestDoc, media_type_of};
use crate::registry::{ClientOptions, OciTarget, Registry, repo_ref};
use crate::source::address::ProviderAddress;
use crate::source::install::Installer;
use crate::source::{SourceOptions, Target};

/// Where the copy goes and how.
pub struct MirrorTo<'a> {
    pub host: &'a str,
    pub repo: &'a str,
    pub opts: &'a ClientOptions,
    pub platforms: &'a [String],
    pub generate: Option<SbomChoice>,
    pub dry_run: bool,
}

struct Copier<'a> {
    src: &'a Registry,
    src_target: &'a OciTarget,
    dest: Dest<'a>,
    stats: PushStats,
    /// Some referrer went into a fallback index.
    fallback: bool,
}

impl Copier<'_> {
    fn src_ref(&self, digest: &str) -> oci_client::Reference {
        self.src_target.at(digest)
    }

    fn blob(&mut self, b: &Descriptor) -> Result<()> {
        let src_ref = self.src_ref(&b.digest);
        let src = self.src;
        let fetch = || src.blob_to_cache(&src_ref, b);
        self.dest
            .blob(&b.digest, b.size, BlobData::Fetch(&fetch), &mut self.stats)
    }

    /// Copy a manifest's blobs, then the manifest itself (by digest, or under `tag`).
    fn manifest(&mut self, bytes: &[u8], tag: Option<&str>) -> Result<String> {
        for b in ManifestDoc::parse(bytes, "a manifest")?.blobs() {
            self.blob(b)?;
        }
        self.dest
            .manifest(tag, bytes, &media_type_of(bytes), &mut self.stats)
    }

    /// Carry every SBOM referrer (and cosign `.sbom` tag) of `subject`; returns their digests.
    fn referrers(&mut self, subject: &str) -> Result<Vec<String>> {
        let list = self.src.sbom_referrers(&self.src_ref(subject), subject)?;
        self.carry(subject, list)
    }

    /// Carry the origin-signature referrers of the index `subject`; returns their digests.
    fn signatures(&mut self, subject: &str) -> Result<Vec<String>> {
        let list = self
            .src
            .signature_referrers(&self.src_ref(subject), subject)?;
        self.carry(subject, list)
    }

    fn carry(
        &mut self,
        subject: &str,
        list: Vec<crate::registry::referrers::Referrer>,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for rm in list {
            let (digest, bytes) = (rm.digest, rm.bytes);
            match rm.cosign_tag {
                Some(tag) => {
                    self.manifest(&bytes, Some(&tag))?;
                }
                None => {
                    for b in rm.doc.blobs() {
                        self.blob(b)?;
                    }
                    let (_, fallback) = self.dest.referrer(subject, &bytes, &mut self.stats)?;
                    self.fallback |= fallback;
                }
            }
            out.push(digest);
        }
        Ok(out)
    }
}

/// Copy the provider version at `src` (all platforms or `to.platforms`) to `to`.
pub fn mirror_oci(src: &OciTarget, src_opts: &ClientOptions, to: &MirrorTo) -> Result<Outcome> {
    let r = &src.reference;
    let src_reg = Registry::new(src_opts, r.registry())?;
    // The same walk and checks as `scan`: what one refuses, the other refuses.
    let index = src_reg.provider_index(src)?;
    let chosen: Vec<_> = index
        .select(&src.text, to.platforms)?
        .into_iter()
        .cloned()
        .collect();
    let tag = r
        .tag()
        .map(str::to_string)
        .unwrap_or_else(|| index.digest.replace(':', "-"));
    let index_bytes = if to.platforms.is_empty() {
        index.bytes.clone()
    } else {
        let mut v: serde_json::Value = serde_json::from_slice(&index.bytes)?;
        v["manifests"] = serde_json::Value::Array(chosen.iter().map(|p| p.raw.clone()).collect());
        serde_json::to_vec(&v)?
    };
    let mut outcome = Outcome {
        destination: format!("oci://{}/{}", to.host, to.repo),
        tag: tag.clone(),
        index: layout::digest(&index_bytes),
        dry_run: to.dry_run,
        ..Outcome::default()
    };
    // Platform manifests and their ZIP layer digests (the zh: hashes).
    let mut manifests = Vec::new();
    for p in &chosen {
        let (bytes, zip) = src_reg.platform_manifest(src, p)?;
        outcome.platforms.push(PlatformResult {
            platform: format!("{}_{}", p.os, p.arch),
            manifest: p.digest.clone(),
            zh: zip.digest.trim_start_matches("sha256:").to_string(),
            h1: None,
            sboms: Vec::new(),
        });
        manifests.push((p.clone(), bytes, zip));
    }
    if to.dry_run {
        return Ok(outcome);
    }

    let dest_reg = Registry::new(to.opts, to.host)?;
    let r0 = repo_ref(to.host, to.repo, &tag);
    dest_reg.prepare_push(&r0);
    // Mount from the source repository when both live on one registry.
    let mount_from = if r.registry() == to.host {
        vec![r.repository().to_string()]
    } else {
        Vec::new()
    };
    let mut c = Copier {
        src: &src_reg,
        src_target: src,
        dest: Dest {
            reg: &dest_reg,
            host: to.host,
            repo: to.repo,
            mount_from: &mount_from,
        },
        stats: PushStats::default(),
        fallback: false,
    };
    for (_, bytes, _) in &manifests {
        c.manifest(bytes, None)?;
    }
    let index_sboms = if to.platforms.is_empty() {
        outcome.signature = c.signatures(&index.digest)?.into_iter().next();
        c.referrers(&index.digest)?
    } else {
        tracing::warn!(
            "--platform rebuilds the index ({} → {}); SBOMs attached to the source index stay behind",
            index.digest,
            outcome.index
        );
        Vec::new()
    };
    for ((p, bytes, zip), result) in manifests.iter().zip(outcome.platforms.iter_mut()) {
        result.sboms = c.referrers(&p.digest)?;
        // The ZIP is at hand when it was downloaded (or cached): record its h1: too. A mounted
        // blob is not downloaded for this.
        let cached = src_reg.cached_blob(&zip.digest);
        if let Some(path) = &cached {
            result.h1 = hashes::zip_h1(path).ok();
        }
        if let Some(choice) = to.generate
            && result.sboms.is_empty()
            && index_sboms.is_empty()
        {
            let path = match cached {
                Some(p) => p,
                None => src_reg.blob_to_cache(&c.src_ref(&zip.digest), zip)?,
            };
            let file_name = format!(
                "terraform-provider-{}_{}_{}_{}.zip",
                src.reference
                    .repository()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("terraform-provider-"),
                tag.replace('_', "+"),
                p.os,
                p.arch
            );
            let mut t = Target::local(path.clone(), Naming::default());
            t.file_name = Some(file_name.clone());
            let inv = crate::inventory::collect::inventories_of(
                &t,
                Limits::default(),
                gobin::ReadOptions { hash: true },
                SbomSource::Binary,
                false,
            )?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("{file_name}: no executable"))?;
            for s in generated_for(&inv, &path, &file_name, choice) {
                let (d, fallback) = c.dest.attach((&p.digest, bytes.len()), &s, &mut c.stats)?;
                c.fallback |= fallback;
                result.sboms.push(d);
            }
        }
    }
    // The tag last: a copy that fails part-way makes no version visible at the destination.
    c.manifest(&index_bytes, Some(&tag))?;
    outcome.fallback_tags = c.fallback;
    outcome.stats = c.stats;
    Ok(outcome)
}

/// Mirror `[HOST/]NAMESPACE/TYPE` at `constraint` (exact or a tofu constraint) from where the
/// CLI configuration installs it into `to`: every published platform (or `to.platforms`),
/// each downloaded and verified first — any failure stops the run before anything is pushed.
pub fn mirror_address(
    text: &str,
    constraint: &str,
    src: &SourceOptions,
    to: &MirrorTo,
) -> Result<Outcome> {
    let addr = ProviderAddress::parse(text)?;
    let inst = Installer::new(src)?;
    let version = inst.resolve_version(&addr, constraint)?;
    tracing::info!("{}: {constraint} resolved to {version}", addr.full());
    let platforms = if to.platforms.is_empty() {
        inst.published_platforms(&addr, &version)?
    } else {
        to.platforms.to_vec()
    };
    let label = format!("{} {version}", addr.full());
    let mut fetched = Vec::new();
    let mut signed: BTreeMap<Vec<u8>, (crate::source::protocol::SignedSums, Option<String>)> =
        BTreeMap::new();
    let mut unsigned = Vec::new();
    for p in &platforms {
        let f = inst
            .fetch(&addr, &version, p)
            .with_context(|| format!("{label}: nothing was pushed"))?;
        let (os, arch) = p
            .split_once('_')
            .ok_or_else(|| anyhow!("{p}: a platform is OS_ARCH"))?;
        let file_name = f.target.file_name.clone().unwrap_or_else(|| {
            format!(
                "terraform-provider-{}_{version}_{p}.zip",
                addr.provider_type
            )
        });
        match f.package.as_ref().and_then(|k| k.signed.clone()) {
            Some(s) => {
                let key = f
                    .target
                    .provenance
                    .as_ref()
                    .and_then(|v| v.signature.key_id().map(str::to_string));
                signed.entry(s.sums.clone()).or_insert((s, key));
            }
            None => unsigned.push(p.clone()),
        }
        let digest = zip_digest(&f.target, &file_name)?;
        fetched.push((
            f.target,
            file_name,
            os.to_string(),
            arch.to_string(),
            digest,
        ));
    }
    let signature = match (signed.len(), unsigned.is_empty()) {
        (0, _) => {
            tracing::warn!(
                "{label}: no signed SHA256SUMS came with it (not from a provider registry); the mirror carries no origin signature"
            );
            None
        }
        (1, true) => {
            let (s, key_id) = signed.into_values().next().expect("one");
            Some(CarriedSignature {
                sums_name: format!(
                    "terraform-provider-{}_{version}_SHA256SUMS",
                    addr.provider_type
                ),
                sums: s.sums,
                signature: s.signature,
                keys: s.keys,
                address: addr.full(),
                version: version.clone(),
                host: addr.hostname.clone(),
                key_id,
            })
        }
        (1, false) => bail!(
            "{label}: {} came without the release's signed SHA256SUMS while other platforms had it; refusing to mirror a mixed release (nothing was pushed)",
            unsigned.join(", ")
        ),
        _ => bail!(
            "{label}: the platforms came with different SHA256SUMS files; refusing to mirror (nothing was pushed)"
        ),
    };
    // Every platform fetched and verified: the ZIP blobs go up while the binaries are
    // inventoried (the manifests, referrers and the tag only once all of it is done).
    let uploads: Vec<(std::path::PathBuf, String, u64)> = fetched
        .iter()
        .map(|(t, _, _, _, d)| Ok((t.path.clone(), d.clone(), std::fs::metadata(&t.path)?.len())))
        .collect::<Result<_>>()?;
    let uploader = (!to.dry_run).then(|| {
        let (opts, host, repo) = (to.opts.clone(), to.host.to_string(), to.repo.to_string());
        std::thread::spawn(move || upload_blobs(&opts, &host, &repo, &uploads))
    });
    let packages = fetched
        .iter()
        .map(|(t, name, os, arch, _)| local::package(t, name, os, arch))
        .collect::<Result<Vec<_>>>();
    let pre = match uploader {
        Some(h) => Some(
            h.join()
                .map_err(|_| anyhow!("{label}: the upload thread panicked"))??,
        ),
        None => None,
    };
    let mut packages = packages?;
    packages.sort_by_key(local::Package::platform);
    let choice = to.generate.unwrap_or(SbomChoice::Cyclonedx);
    let sboms = packages
        .iter()
        .map(|p| (p.platform(), local::generated(p, choice)))
        .collect();
    let release = Release {
        provider_type: addr.provider_type.clone(),
        version,
        packages,
        sums: None,
    };
    let plan = Plan {
        release: &release,
        sboms,
        signature,
    };
    let mut outcome = publish(&plan, to.host, to.repo, to.opts, &[], to.dry_run)?;
    if let Some(pre) = pre {
        // publish found the ZIPs present: count them as the upload thread did.
        let st = &mut outcome.stats;
        st.present = st.present.saturating_sub(release.packages.len()) + pre.present;
        st.uploaded += pre.uploaded;
        st.uploaded_bytes += pre.uploaded_bytes;
        st.mounted += pre.mounted;
    }
    Ok(outcome)
}

/// The `sha256:<hex>` of a fetched ZIP: the signed `SHA256SUMS` line it was verified against,
/// else hashed from the file.
fn zip_digest(t: &Target, file_name: &str) -> Result<String> {
    let listed = t
        .provenance
        .as_ref()
        .filter(|p| {
            p.checks
                .contains(&crate::artifact::provenance::Check::ChecksumList)
        })
        .and_then(|p| p.sums.iter().find(|(n, _)| n == file_name))
        .map(|(_, h)| h.clone());
    let hex = match listed {
        Some(h) => h,
        None => crate::artifact::HashingFile::open(&t.path)
            .and_then(|h| h.finish())
            .with_context(|| format!("cannot hash {}", t.path.display()))?,
    };
    Ok(format!("sha256:{hex}"))
}

/// Upload the ZIP blobs (path, digest, size) to `host/repo` (present ones are not sent again).
fn upload_blobs(
    opts: &ClientOptions,
    host: &str,
    repo: &str,
    blobs: &[(std::path::PathBuf, String, u64)],
) -> Result<PushStats> {
    let reg = Registry::new(opts, host)?;
    let mut stats = PushStats::default();
    let Some((_, first, _)) = blobs.first() else {
        return Ok(stats);
    };
    reg.prepare_push(&repo_ref(host, repo, first));
    for (path, digest, size) in blobs {
        tracing::info!("pushing {digest} ({})", path.display());
        let o = reg.ensure_blob(
            &repo_ref(host, repo, digest),
            digest,
            BlobData::File(path),
            &[],
        )?;
        stats.count(o, *size);
    }
    Ok(stats)
}
