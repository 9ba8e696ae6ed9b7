//! Writing to a registry, in the order registries require (blobs, then the manifests that name
//! them, then the index, then referrers and their fallback index): existence checks before every
//! upload (`HEAD`), cross-repository mounts, streamed uploads from files, manifests put
//! byte-for-byte (so digests are exactly what the caller computed), and the OCI 1.1 referrers tag
//! schema (`sha256-<hex>`) maintained when the registry has no referrers API — read first and
//! extended, never rebuilt: only a real 404 starts it empty, any other failure stops the write.

use std::path::Path;

use oci_client::{Reference, RegistryOperation};
use serde_json::{Value, json};

use super::client::{Registry, Result};
use super::error::{Kind, RegistryError};
use super::wire::{repo_ref, sha256_digest};
use super::{INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};

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

    fn upload(&self, r: &Reference, digest: &str, data: &BlobData) -> Result<()> {
        let what = format!("{}: uploading blob {digest}", r.whole());
        let err = |e: oci_client::errors::OciDistributionError| RegistryError::from_oci(&what, &e);
        match data {
            BlobData::Bytes(b) => {
                if sha256_digest(b) != digest {
                    return Err(RegistryError::new(
                        Kind::Integrity,
                        &what,
                        "the bytes to upload hash differently",
                    ));
                }
                self.rt
                    .block_on(self.client.push_blob(r, b.to_vec(), digest))
                    .map_err(err)?;
            }
            BlobData::Fetch(get) => {
                let p = get()?;
                self.upload(r, digest, &BlobData::File(&p))?;
            }
            BlobData::File(p) => {
                let local = |e: std::io::Error| {
                    RegistryError::new(
                        Kind::Local,
                        &what,
                        format!("cannot read {}: {e}", p.display()),
                    )
                };
                let f = std::fs::File::open(p).map_err(local)?;
                let size = f.metadata().map_err(local)?.len();
                // Read in 4 MiB chunks as the upload goes; the registry checks the digest.
                let stream = futures_util::stream::unfold(f, |mut f| async move {
                    let mut buf = vec![0u8; 4 << 20];
                    match std::io::Read::read(&mut f, &mut buf) {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(bytes::Bytes::from(buf)), f))
                        }
                        Err(e) => Some((Err(e.into()), f)),
                    }
                });
                self.rt
                    .block_on(self.client.push_blob_stream(r, stream, digest, Some(size)))
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    /// Put a manifest exactly as given, under `reference` (a tag, or its own digest); returns
    /// its digest and the registry's `OCI-Subject` answer (present when it indexed the manifest's
    /// `subject` through its referrers API).
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
                return Err(RegistryError::from_status(&what, status.as_u16(), &body));
            }
            Ok(Put {
                digest: digest.clone(),
                oci_subject: subject,
            })
        })
    }

    /// Add `descriptor` to the `sha256-<hex>` referrers index of `subject`: read it (404 →
    /// empty), keep every entry already there, skip the update when the digest is present,
    /// write it back. Returns whether it changed.
    pub fn add_fallback_referrer(
        &self,
        host: &str,
        repo: &str,
        subject: &str,
        descriptor: Value,
    ) -> Result<bool> {
        let tag = format!("sha256-{}", subject.trim_start_matches("sha256:"));
        let r = repo_ref(host, repo, &tag);
        // Only a real 404 means "no referrers yet"; a 401, a 5xx after the retries or a
        // timeout stops here, before anything is written.
        let mut index = match self.try_manifest(&r)? {
            Some((bytes, _)) => {
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
                v
            }
            None => json!({
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [],
            }),
        };
        let Some(list) = index.get_mut("manifests").and_then(Value::as_array_mut) else {
            return Err(RegistryError::new(
                Kind::Protocol,
                r.whole(),
                "the referrers tag has no manifests list; refusing to overwrite it",
            ));
        };
        if list.iter().any(|d| d["digest"] == descriptor["digest"]) {
            return Ok(false);
        }
        list.push(descriptor);
        let bytes = serde_json::to_vec(&index)
            .map_err(|e| RegistryError::new(Kind::Local, r.whole(), e.to_string()))?;
        self.put_manifest(host, repo, Some(&tag), &bytes, INDEX_MEDIA_TYPE)?;
        Ok(true)
    }
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
