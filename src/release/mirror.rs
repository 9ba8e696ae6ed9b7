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
//! as tofu verifies it, all before anything is pushed (each inventoried meanwhile); then
//! published in the layout `publish` writes (SBOMs generated per platform, pushed by
//! `publish`'s [`Pusher`](super::publish::Pusher) on a few threads), with the origin's signed
//! `SHA256SUMS` carried on the index as one referrer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::{Context, Result, anyhow, bail};

use super::local::{self, Release, SbomChoice, generated_for};
use super::publish::{self, Plan};
use super::{CarriedSignature, Dest, Outcome, PlatformResult, SbomDoc, layout};
use crate::artifact::{Naming, hashes, zip::Limits};
use crate::foundation::pool;
use crate::inventory::{SbomSource, gobin};
use crate::registry::push::{BlobData, BlobOutcome, PushStats};
use crate::registry::staged::Staged;
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
            config_there: Default::default(),
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
///
/// The work overlaps. Platforms download [`download_jobs`] at a time, each ZIP hashed as it
/// streams into the cache (its `shasum` check); once verified it is sent ahead into an upload
/// session at the destination and inventoried (inflate, SHA-256, buildinfo; the `h1:` from
/// that pass, the ZIP's `zh:` from the download) and its SBOM rendered, on a worker, while
/// other platforms download. When every platform is verified, the inventories still queued
/// run [`tail_inventory_jobs`] at a time and the pushes start on a few threads: the ZIP blobs
/// with their platform manifests, the carried signature, each platform's SBOM referrers as
/// soon as its inventory is done, and — only when all of that succeeded — the index under its
/// tag. With two cores that keeps both busy from the second 100 ms to the last inventory
/// (`PROVGUARD_BENCH_TIMELINE=1 cargo bench --bench mirror` prints the machine's use).
pub fn mirror_address(
    text: &str,
    constraint: &str,
    src: &SourceOptions,
    to: &MirrorTo,
) -> Result<Outcome> {
    let clock = &Clock::start();
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
    clock.mark("version and platforms resolved");
    let choice = to.generate.unwrap_or(SbomChoice::Cyclonedx);
    let mailbox = &Mailbox::default();
    // Each verified ZIP is sent to the destination at once, into an upload session that only
    // the push commits: nothing becomes visible there before every platform is verified.
    let dest = match to.dry_run {
        true => None,
        false => {
            let reg = Registry::new(to.opts, to.host)?;
            reg.prepare_push(&repo_ref(to.host, to.repo, &layout::tag_of(&version)));
            Some(reg)
        }
    };
    let staging = &Staging::default();
    let scoped = std::thread::scope(|s| -> Result<_> {
        let close = CloseOnDrop(mailbox);
        let mut inventory = pool::Feed::start(s, inventory_jobs(), move |f: Verified| {
            let pkg = local::package(&f.target, &f.file_name, &f.os, &f.arch, Some(&f.zh))?;
            let sboms = local::generated(&pkg, choice);
            clock.mark(&format!("{} inventoried", pkg.platform()));
            mailbox.sboms(pkg.platform(), sboms.clone());
            Ok::<_, anyhow::Error>((pkg, sboms))
        });
        let dest = dest.as_ref();
        let mut stage =
            pool::Feed::start(s, PUSH_JOBS, move |(digest, path): (String, PathBuf)| {
                if let Some(reg) = dest {
                    staging.stage(reg, to, &digest, &path);
                    clock.mark(&format!("{digest} staged"));
                }
                Ok::<_, std::convert::Infallible>(())
            });
        let verified = (|| -> Result<_> {
            let mut sums = Sums::default();
            let mut fetched = Vec::new();
            let mut inventory_failed = false;
            let fetch = |p: &String| {
                inst.fetch(&addr, &version, p)
                    .with_context(|| format!("{label}: nothing was pushed"))
            };
            let downloaded = pool::each_done(&platforms, download_jobs(), fetch, |i, f| {
                let p = &platforms[i];
                clock.mark(&format!("{p} downloaded and verified"));
                let (os, arch) = p
                    .split_once('_')
                    .ok_or_else(|| anyhow!("{p}: a platform is OS_ARCH"))?;
                let file_name = f.target.file_name.clone().unwrap_or_else(|| {
                    format!(
                        "terraform-provider-{}_{version}_{p}.zip",
                        addr.provider_type
                    )
                });
                sums.add(p, &f);
                let digest = zip_digest(&f.target, &file_name)?;
                let verified = Verified {
                    size: std::fs::metadata(&f.target.path)?.len(),
                    zh: digest.trim_start_matches("sha256:").to_string(),
                    target: f.target,
                    file_name,
                    os: os.to_string(),
                    arch: arch.to_string(),
                };
                stage.push((digest, verified.target.path.clone()));
                fetched.push(verified.clone());
                if !inventory.push(verified) {
                    inventory_failed = true;
                    bail!("{label}: an inventory failed");
                }
                Ok(())
            });
            if inventory_failed {
                return Ok(None);
            }
            downloaded?;
            let signature = sums.carried(&addr, &version, &label)?;
            Ok(Some((fetched, signature)))
        })();
        let _ = stage.finish();
        let (mut fetched, signature) = match verified {
            Ok(Some(v)) => v,
            Ok(None) => {
                // An inventory failed: its error, before anything is pushed.
                inventory.finish()?;
                bail!("{label}: an inventory failed (nothing was pushed)");
            }
            Err(e) => return Err(e),
        };
        // Every platform fetched and verified: the cores the downloads used take the
        // inventories still queued, and the pushes start.
        inventory.grow(s, tail_inventory_jobs().saturating_sub(inventory_jobs()));
        fetched.sort_by_key(Verified::platform);
        let pusher = dest.map(|reg| {
            let (signature, version) = (signature.clone(), version.as_str());
            s.spawn(move || {
                let r = push_verified(
                    reg,
                    to,
                    &fetched,
                    signature.as_ref(),
                    mailbox,
                    staging,
                    version,
                );
                clock.mark("pushed");
                r
            })
        });
        let packages = inventory.finish();
        drop(close);
        let pushed = match pusher {
            Some(h) => Some(
                h.join()
                    .map_err(|_| anyhow!("{label}: the push thread panicked"))??,
            ),
            None => None,
        };
        Ok(((packages?, signature), pushed))
    });
    // Whatever was staged and not committed (a failure after verification) is dropped.
    staging.cancel_all(dest.as_ref());
    let (packages, pushed) = scoped?;
    let ((done, signature), pushed) = (packages, pushed);
    let (mut packages, mut sboms) = (Vec::new(), BTreeMap::new());
    for (p, docs) in done {
        sboms.insert(p.platform(), docs);
        packages.push(p);
    }
    packages.sort_by_key(local::Package::platform);
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
    let mut outcome = publish::outcome(&plan, to.host, to.repo, to.dry_run);
    if let Some(p) = pushed {
        if p.index != outcome.index {
            bail!(
                "{label}: pushed index {} differs from the computed {} (a bug)",
                p.index,
                outcome.index
            );
        }
        outcome.stats = p.stats;
        outcome.fallback_tags = p.fallback;
    }
    Ok(outcome)
}

/// What the push thread wrote.
struct Pushed {
    index: String,
    stats: PushStats,
    fallback: bool,
}

/// Pushes at once: they wait on the registry far more than they compute.
const PUSH_JOBS: usize = 3;

/// What the pushes wait for: each platform's SBOMs (from its inventory) and its manifest
/// (pushed). Closed for SBOMs when the inventories are over; failed when a push failed.
#[derive(Default)]
struct Mailbox {
    state: Mutex<MailState>,
    ready: Condvar,
}

#[derive(Default)]
struct MailState {
    sboms: BTreeMap<String, Vec<SbomDoc>>,
    manifests: BTreeSet<String>,
    inventories_over: bool,
    push_failed: bool,
}

impl Mailbox {
    fn update(&self, f: impl FnOnce(&mut MailState)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.ready.notify_all();
    }

    fn sboms(&self, platform: String, docs: Vec<SbomDoc>) {
        self.update(|st| {
            st.sboms.insert(platform, docs);
        });
    }

    fn manifest_pushed(&self, platform: String) {
        self.update(|st| {
            st.manifests.insert(platform);
        });
    }

    /// The SBOMs of `platform` once they are there and its manifest is pushed; `None` when
    /// that will not happen (its inventory failed or never ran, a push failed).
    fn take(&self, platform: &str) -> Option<Vec<SbomDoc>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.push_failed {
                return None;
            }
            if st.manifests.contains(platform)
                && let Some(docs) = st.sboms.remove(platform)
            {
                return Some(docs);
            }
            if st.inventories_over && !st.sboms.contains_key(platform) {
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Ends the wait for SBOMs when the run leaves the scope in any way (an error, a panic), so
/// that no push waits for SBOMs that will not come.
struct CloseOnDrop<'a>(&'a Mailbox);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.update(|st| st.inventories_over = true);
    }
}

/// One unit of the pushes.
enum PushJob {
    /// A platform's ZIP blob, then its manifest.
    Zip(usize),
    /// The carried origin signature on the index.
    Signature,
    /// A platform's SBOM referrers, once it is inventoried and its manifest is there.
    Sboms(usize),
}

/// Push the verified ZIPs (sorted by platform) on [`PUSH_JOBS`] threads: each platform's blob
/// and manifest, the carried signature, each platform's SBOMs as they arrive in `mailbox`
/// (after its manifest); and last — only if every platform's SBOMs were attached (an
/// inventory that failed ends the wait short of that: no tag) — the index under its tag.
fn push_verified(
    reg: &Registry,
    to: &MirrorTo,
    fetched: &[Verified],
    signature: Option<&CarriedSignature>,
    mailbox: &Mailbox,
    staging: &Staging,
    version: &str,
) -> Result<Pushed> {
    let zips: Vec<publish::Zip> = fetched.iter().map(Verified::zip).collect();
    let manifests: Vec<Vec<u8>> = zips.iter().map(publish::Zip::manifest).collect();
    let index = publish::index(&zips, &manifests);
    let tag = layout::tag_of(version);
    let mut push = pusher_to(reg, to, &tag, false);
    push.config()?;
    let jobs: Vec<PushJob> = (0..zips.len())
        .map(PushJob::Zip)
        .chain(signature.map(|_| PushJob::Signature))
        .chain((0..zips.len()).map(PushJob::Sboms))
        .collect();
    let done = pool::map(&jobs, PUSH_JOBS, |job| -> Result<_> {
        let mut push = pusher_to(reg, to, &tag, true);
        let r = (|| match job {
            PushJob::Zip(i) => {
                let z = &zips[*i];
                match staging.take(&z.digest) {
                    Some(st) => match reg.commit_blob(&st) {
                        Ok(()) => push.stats.count(BlobOutcome::Uploaded, z.size),
                        Err(e) => {
                            tracing::debug!("{e}; uploading it again");
                            reg.cancel_blob(&st);
                            push.zip(z)?;
                        }
                    },
                    None => push.zip(z)?,
                }
                push.manifest(&manifests[*i])?;
                mailbox.manifest_pushed(z.platform());
                Ok(true)
            }
            PushJob::Signature => {
                if let Some(sig) = signature {
                    push.signature(&index, sig)?;
                }
                Ok(true)
            }
            PushJob::Sboms(i) => match mailbox.take(&zips[*i].platform()) {
                Some(docs) => push.sboms(&manifests[*i], &docs).map(|()| true),
                None => Ok(false),
            },
        })();
        if r.is_err() {
            mailbox.update(|st| st.push_failed = true);
        }
        Ok((push.stats, push.fallback, r?))
    })?;
    for (stats, fallback, _) in &done {
        push.stats.add(stats);
        push.fallback |= fallback;
    }
    if done.iter().all(|(_, _, complete)| *complete) {
        // The tag last: a run that fails part-way leaves no version visible.
        push.tag(&tag, &index)?;
    }
    Ok(Pushed {
        index: layout::digest(&index),
        stats: push.stats,
        fallback: push.fallback,
    })
}

/// Writes into `to` through `reg` (`config_there`: the empty config was pushed already).
fn pusher_to<'a>(
    reg: &'a Registry,
    to: &MirrorTo<'a>,
    tag: &str,
    config_there: bool,
) -> publish::Pusher<'a> {
    let dest = Dest {
        reg,
        host: to.host,
        repo: to.repo,
        mount_from: &[],
        config_there: config_there.into(),
    };
    publish::Pusher::new(dest, tag)
}

/// The ZIP uploads sent ahead of the push, by digest, until committed or cancelled.
#[derive(Default)]
struct Staging(Mutex<BTreeMap<String, Staged>>);

impl Staging {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Staged>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Send the verified ZIP at `path` into an upload session at the destination; a failure
    /// only leaves it to the push's ordinary upload.
    fn stage(&self, reg: &Registry, to: &MirrorTo, digest: &str, path: &Path) {
        match reg.stage_blob(&repo_ref(to.host, to.repo, digest), digest, path) {
            Ok(Some(st)) => {
                if let Some(twin) = self.lock().insert(digest.to_string(), st) {
                    reg.cancel_blob(&twin);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("{e}; the push uploads it instead"),
        }
    }

    /// The staged upload of `digest`, taken: it is committed (or cancelled) once.
    fn take(&self, digest: &str) -> Option<Staged> {
        self.lock().remove(digest)
    }

    /// Drop every upload still staged.
    fn cancel_all(&self, reg: Option<&Registry>) {
        let left = std::mem::take(&mut *self.lock());
        if let Some(reg) = reg {
            for st in left.values() {
                reg.cancel_blob(st);
            }
        }
    }
}

/// One platform's ZIP, downloaded and verified, waiting for its inventory and its push.
#[derive(Clone)]
struct Verified {
    target: Target,
    file_name: String,
    os: String,
    arch: String,
    /// Lowercase hex SHA-256, as verified.
    zh: String,
    size: u64,
}

impl Verified {
    fn platform(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }

    fn zip(&self) -> publish::Zip<'_> {
        publish::Zip {
            os: &self.os,
            arch: &self.arch,
            file_name: &self.file_name,
            digest: format!("sha256:{}", self.zh),
            size: self.size,
            path: &self.target.path,
        }
    }
}

/// Inventories at once: each already keeps two threads busy (one inflating, one scanning and
/// hashing), and the downloads and uploads need a core too.
fn inventory_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 3).clamp(1, 4))
}

/// Platforms downloaded (and verified) at once: two keep a second core busy while the first
/// ZIP arrives, when nothing else has work yet.
fn download_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 2))
}

/// Inventories at once when the downloads are over.
fn tail_inventory_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4))
}

/// The signed `SHA256SUMS` each platform came with: one for the whole release, or none at all.
#[derive(Default)]
struct Sums {
    signed: BTreeMap<Vec<u8>, (crate::source::protocol::SignedSums, Option<String>)>,
    unsigned: Vec<String>,
}

impl Sums {
    fn add(&mut self, platform: &str, f: &crate::source::install::Fetched) {
        match f.package.as_ref().and_then(|k| k.signed.clone()) {
            Some(s) => {
                let key = f
                    .target
                    .provenance
                    .as_ref()
                    .and_then(|v| v.signature.key_id().map(str::to_string));
                self.signed.entry(s.sums.clone()).or_insert((s, key));
            }
            None => self.unsigned.push(platform.to_string()),
        }
    }

    /// The origin signature to carry on the index, or why the release cannot be mirrored.
    fn carried(
        self,
        addr: &ProviderAddress,
        version: &str,
        label: &str,
    ) -> Result<Option<CarriedSignature>> {
        match (self.signed.len(), self.unsigned.is_empty()) {
            (0, _) => {
                tracing::warn!(
                    "{label}: no signed SHA256SUMS came with it (not from a provider registry); the mirror carries no origin signature"
                );
                Ok(None)
            }
            (1, true) => {
                let (s, key_id) = self.signed.into_values().next().expect("one");
                Ok(Some(CarriedSignature {
                    sums_name: format!(
                        "terraform-provider-{}_{version}_SHA256SUMS",
                        addr.provider_type
                    ),
                    sums: s.sums,
                    signature: s.signature,
                    keys: s.keys,
                    address: addr.full(),
                    version: version.to_string(),
                    host: addr.hostname.clone(),
                    key_id,
                }))
            }
            (1, false) => bail!(
                "{label}: {} came without the release's signed SHA256SUMS while other platforms had it; refusing to mirror a mixed release (nothing was pushed)",
                self.unsigned.join(", ")
            ),
            _ => bail!(
                "{label}: the platforms came with different SHA256SUMS files; refusing to mirror (nothing was pushed)"
            ),
        }
    }
}

/// Where a run's time goes, at debug level (`-vv`): each step with the seconds since the start.
struct Clock(std::time::Instant);

impl Clock {
    fn start() -> Clock {
        Clock(std::time::Instant::now())
    }

    fn mark(&self, step: &str) {
        tracing::debug!(
            "mirror timing: {:>7.3} s {step}",
            self.0.elapsed().as_secs_f64()
        );
    }
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
