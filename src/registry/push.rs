//! Writing to a registry, in the order registries require (blobs, then the manifests that name
//! them, then the index, then referrers and their fallback index): existence checks before every
//! upload (`HEAD`), cross-repository mounts, streamed uploads from files (one PUT; chunks only
//! where a registry refuses that), manifests put byte-for-byte (so digests are exactly what the
//! caller computed), and the OCI 1.1 referrers tag schema (`sha256-<hex>`) maintained when the
//! registry has no referrers API — read first and extended, never rebuilt: only a real 404
//! starts it empty, any other failure stops the write.
//!
//! Concurrent writers (two `publish` runs of one version, a `publish` beside a `mirror`) are
//! expected. Two things go wrong without care, both seen with distribution 2.8:
//! - rewriting a manifest or blob it already holds, the registry truncates and refills its link
//!   file, and a put naming that digest in the meantime is refused with `MANIFEST_BLOB_UNKNOWN`
//!   although the content is there: [`Registry::put_manifest`] waits and tries again a few times
//!   (our callers push every referenced digest before the manifest that names it);
//! - the fallback index is read, extended and written back with no conditional put in the
//!   protocol, so the last writer wins: [`Registry::add_fallback_referrer`] reads it again after
//!   writing, and merges and writes again when its descriptor was lost.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use oci_client::{Reference, RegistryOperation};
use serde_json::{Value, json};

use super::client::{Registry, Result};
use super::error::{Kind, RegistryError, names_unknown_content};
use super::wire::{repo_ref, sha256_digest};
use super::{INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};

/// Tries of a manifest put refused for naming content the registry holds but could not read
/// at that moment (a concurrent writer rewriting its link file); waits of about 0.1, 0.2, 0.4
/// and 0.8 s in between.
const SETTLE_TRIES: u32 = 4;

/// Writes of one fallback referrers index before giving up on a registry where other writers
/// keep replacing it.
const FALLBACK_WRITES: u32 = 6;

/// About `base` (between half and one and a half times it), so that writers that collided do
/// not collide again in step.
fn jitter(base: Duration) -> Duration {
    let r = RandomState::new().hash_one(std::time::Instant::now()) % 1000;
    base / 2 + base * (r as u32) / 1000
}

/// How a blob got into the destination repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Already there (`HEAD` said so): nothing sent.
    Present,
    /// Mounted from another repository of the same registry.
    Mounted,
    Uploaded,
}

/// Where the bytes of a blob are.
pub enum BlobData<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
    /// Fetched (into a file) only when an upload is needed: copies between registries.
    Fetch(&'a dyn Fn() -> Result<std::path::PathBuf>),
}

/// A file as a stream of `piece`-byte pieces, read as the upload consumes them.
fn file_stream(
    f: std::fs::File,
    piece: usize,
) -> impl futures_util::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::unfold(f, move |mut f| async move {
        let mut buf = vec![0u8; piece];
        match std::io::Read::read(&mut f, &mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e.into()), f)),
        }
    })
}

/// A manifest written: its digest, and `OCI-Subject` when the registry sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub digest: String,
    pub oci_subject: Option<String>,
}

/// Upload counters for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStats {
    pub present: usize,
    pub mounted: usize,
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    pub manifests: usize,
}

impl PushStats {
    /// Add the counts of `other` (another thread's pushes).
    pub fn add(&mut self, other: &PushStats) {
        self.present += other.present;
        self.mounted += other.mounted;
        self.uploaded += other.uploaded;
        self.uploaded_bytes += other.uploaded_bytes;
        self.manifests += other.manifests;
    }

    pub fn count(&mut self, o: BlobOutcome, size: u64) {
        match o {
            BlobOutcome::Present => self.present += 1,
            BlobOutcome::Mounted => self.mounted += 1,
            BlobOutcome::Uploaded => {
                self.uploaded += 1;
                self.uploaded_bytes += size;
            }
        }
    }
}

impl Registry {
    pub fn blob_exists(&self, r: &Reference, digest: &str) -> Result<bool> {
        self.retry(|| {
            self.rt
                .block_on(self.client.blob_exists(r, digest))
                .map_err(|e| {
                    RegistryError::from_oci(format!("{}: HEAD blob {digest}", r.whole()), &e)
                })
        })
    }

    /// Put `digest` into `r`'s repository unless it is there: mount it from one of
    /// `mount_from` (same registry), else upload it (streamed from a file).
    pub fn ensure_blob(
        &self,
        r: &Reference,
        digest: &str,
        data: BlobData,
        mount_from: &[String],
    ) -> Result<BlobOutcome> {
        if self.blob_exists(r, digest)? {
            return Ok(BlobOutcome::Present);
        }
        for from in mount_from.iter().filter(|f| f.as_str() != r.repository()) {
            let source = repo_ref(r.registry(), from, digest);
            let mounted = self
                .rt
                .block_on(self.client.mount_blob(r, &source, digest))
                .is_ok();
            // A registry that cannot mount opens an upload session instead; only a blob that
            // is now really there counts.
            if mounted && self.blob_exists(r, digest)? {
                return Ok(BlobOutcome::Mounted);
            }
        }
        self.retry(|| self.upload(r, digest, &data))?;
        Ok(BlobOutcome::Uploaded)
    }

    /// One upload of a blob: POST, then the whole body in one streamed PUT (a file is read in
    /// 1 MiB pieces as it goes, so several uploads at once stay small). A registry that refuses a monolithic PUT (an answer that is
    /// neither transient nor about credentials) gets the blob again as chunked PATCHes. The
    /// registry checks the digest either way.
    fn upload(&self, r: &Reference, digest: &str, data: &BlobData) -> Result<()> {
        let what = format!("{}: uploading blob {digest}", r.whole());
        let err = |e: oci_client::errors::OciDistributionError| RegistryError::from_oci(&what, &e);
        let local = |p: &Path, e: std::io::Error| {
            RegistryError::new(
                Kind::Local,
                &what,
                format!("cannot read {}: {e}", p.display()),
            )
        };
        let (stream, size) = match data {
            BlobData::Bytes(b) => {
                if sha256_digest(b) != digest {
                    return Err(RegistryError::new(
                        Kind::Integrity,
                        &what,
                        "the bytes to upload hash differently",
                    ));
                }
                let body = bytes::Bytes::copy_from_slice(b);
                let size = body.len() as u64;
                (
                    futures_util::stream::once(async move { Ok(body) }).boxed(),
                    size,
                )
            }
            BlobData::Fetch(get) => {
                let p = get()?;
                return self.upload(r, digest, &BlobData::File(&p));
            }
            BlobData::File(p) => {
                let f = std::fs::File::open(p).map_err(|e| local(p, e))?;
                let size = f.metadata().map_err(|e| local(p, e))?.len();
                (file_stream(f, 1 << 20).boxed(), size)
            }
        };
        let monolithic = self
            .rt
            .block_on(self.client.push_blob_stream(r, stream, digest, Some(size)))
            .map_err(err);
        match monolithic {
            Err(e) if matches!(e.kind(), Kind::Protocol | Kind::TooLarge) => {
                tracing::info!("{e}; uploading it in chunks instead");
            }
            other => return other.map(drop),
        }
        let stream = match data {
            BlobData::File(p) => {
                file_stream(std::fs::File::open(p).map_err(|e| local(p, e))?, 4 << 20).boxed()
            }
            BlobData::Bytes(b) => {
                let body = bytes::Bytes::copy_from_slice(b);
                futures_util::stream::once(async move { Ok(body) }).boxed()
            }
            BlobData::Fetch(_) => unreachable!("fetched into a file above"),
        };
        let sent = self
            .rt
            .block_on(self.client.push_blob_stream_chunked(r, stream))
            .map_err(err)?;
        if sent.blob_digest != digest {
            return Err(RegistryError::new(
                Kind::Integrity,
                &what,
                format!("the bytes sent hash to {}", sent.blob_digest),
            ));
        }
        Ok(())
    }

    /// Put a manifest exactly as given, under `reference` (a tag, or its own digest); returns
    /// its digest and the registry's `OCI-Subject` answer (present when it indexed the manifest's
    /// `subject` through its referrers API). Transient failures are retried; a refusal for
    /// naming an unknown blob or manifest is tried again [`SETTLE_TRIES`] times after short
    /// jittered waits, because the callers push every digest a manifest names before it (blobs,
    /// then platform manifests, then the index; the referrer, then the fallback index) and a
    /// concurrent writer of the same content makes the registry miss it for a moment. Content
    /// that is really missing fails after those waits (about 1.5 s), with the registry's answer.
    pub fn put_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Put> {
        let digest = sha256_digest(bytes);
        let r = repo_ref(host, repo, reference.unwrap_or(&digest));
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.origin(&r),
            r.repository(),
            reference.unwrap_or(&digest)
        );
        let what = format!("{}: putting manifest {digest}", r.whole());
        let unknown = Cell::new(false);
        let put = || {
            unknown.set(false);
            self.retry(|| {
                let resp = self.send(&r, RegistryOperation::Push, &what, |c| {
                    c.put(&url)
                        .header("Content-Type", media_type)
                        .body(bytes.to_vec())
                })?;
                let status = resp.status();
                let subject = resp
                    .headers()
                    .get("oci-subject")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                if !status.is_success() {
                    let body = resp.bytes().unwrap_or_default();
                    unknown.set(names_unknown_content(status.as_u16(), &body));
                    return Err(RegistryError::from_status(&what, status.as_u16(), &body));
                }
                Ok(Put {
                    digest: digest.clone(),
                    oci_subject: subject,
                })
            })
        };
        let mut settle = 0;
        loop {
            match put() {
                Err(e) if unknown.get() && settle < SETTLE_TRIES => {
                    settle += 1;
                    tracing::debug!("settle {settle}/{SETTLE_TRIES} after: {e}");
                    std::thread::sleep(jitter(Duration::from_millis(50 << settle)));
                }
                r => return r,
            }
        }
    }

    /// Add `descriptor` to the `sha256-<hex>` referrers index of `subject` and see it there:
    /// read the index (404 → empty), keep every entry already there, write it back with ours,
    /// wait a moment and read it again; when a concurrent writer replaced it meanwhile (its
    /// read came before our write), merge again and rewrite, up to [`FALLBACK_WRITES`] times.
    /// Returns whether we wrote it (false: our descriptor was there already).
    ///
    /// The protocol has no conditional put (distribution 2.8 ignores `If-Match`), so one window
    /// stays: a writer that read the index before our write and puts its own after our
    /// confirming read — stalled longer than our wait between its read and its write — drops
    /// our entry, and neither of us sees it. Each writer confirms its own entry, so of two
    /// `publish` runs of one version (same referrers) nothing can be lost; of two runs with
    /// different referrers, only that stall can.
    pub fn add_fallback_referrer(
        &self,
        host: &str,
        repo: &str,
        subject: &str,
        descriptor: Value,
    ) -> Result<bool> {
        let tag = format!("sha256-{}", subject.trim_start_matches("sha256:"));
        let r = repo_ref(host, repo, &tag);
        for round in 0..=FALLBACK_WRITES {
            let mut index = self.fallback_index(&r)?;
            let list = manifests_of(&mut index, &r)?;
            if list.iter().any(|d| d["digest"] == descriptor["digest"]) {
                return Ok(round > 0);
            }
            if round == FALLBACK_WRITES {
                break;
            }
            if round > 0 {
                tracing::debug!(
                    "{}: a concurrent writer replaced the referrers index; merging again",
                    r.whole()
                );
            }
            list.push(descriptor.clone());
            let bytes = serde_json::to_vec(&index)
                .map_err(|e| RegistryError::new(Kind::Local, r.whole(), e.to_string()))?;
            self.put_manifest(host, repo, Some(&tag), &bytes, INDEX_MEDIA_TYPE)?;
            // Long enough for a writer that read before our put to have written after it.
            std::thread::sleep(jitter(Duration::from_millis(100 << round.min(4))));
        }
        Err(RegistryError::new(
            Kind::Transient,
            r.whole(),
            format!(
                "other writers replaced the referrers index {FALLBACK_WRITES} times; {} is not listed",
                descriptor["digest"].as_str().unwrap_or_default()
            ),
        ))
    }

    /// The fallback referrers index at `r`: only a real 404 means "no referrers yet" (an empty
    /// index); a 401, a 5xx after the retries or a timeout stops the write, and so does
    /// anything that is not an image index.
    fn fallback_index(&self, r: &Reference) -> Result<Value> {
        let Some((bytes, _)) = self.try_manifest(r)? else {
            return Ok(json!({
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [],
            }));
        };
        let refuse = |why: &str| {
            RegistryError::new(
                Kind::Protocol,
                r.whole(),
                format!("the referrers tag {why}; refusing to overwrite it"),
            )
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| refuse("is not JSON"))?;
        if v.get("mediaType").and_then(Value::as_str) != Some(INDEX_MEDIA_TYPE)
            || !v.get("manifests").is_some_and(Value::is_array)
        {
            return Err(refuse("holds something other than an image index"));
        }
        Ok(v)
    }
}

/// The descriptor list of a fallback index that [`Registry::fallback_index`] accepted.
fn manifests_of<'a>(index: &'a mut Value, r: &Reference) -> Result<&'a mut Vec<Value>> {
    index
        .get_mut("manifests")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            RegistryError::new(
                Kind::Protocol,
                r.whole(),
                "the referrers tag has no manifests list; refusing to overwrite it",
            )
        })
}

/// The descriptor a referrers index lists for a referrer manifest (artifactType and
/// annotations copied from it, as the spec asks).
pub fn referrer_descriptor(manifest: &[u8]) -> anyhow::Result<Value> {
    let m: Value = serde_json::from_slice(manifest)?;
    let artifact_type = m
        .get("artifactType")
        .and_then(Value::as_str)
        .or_else(|| m.pointer("/config/mediaType").and_then(Value::as_str))
        .unwrap_or_default();
    let mut d = json!({
        "mediaType": m.get("mediaType").and_then(Value::as_str).unwrap_or(MANIFEST_MEDIA_TYPE),
        "digest": sha256_digest(manifest),
        "size": manifest.len(),
        "artifactType": artifact_type,
    });
    if let Some(a) = m.get("annotations").filter(|a| a.is_object()) {
        d["annotations"] = a.clone();
    }
    Ok(d)
}
