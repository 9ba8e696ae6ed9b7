//! Writing to a registry, in the order registries require (blobs, then the manifests that name
//! them, then the index, then referrers and their fallback index): existence checks before every
//! upload (`HEAD`), cross-repository mounts, streamed uploads from files, manifests put
//! byte-for-byte (so digests are exactly what the caller computed), and the OCI 1.1 referrers tag
//! schema (`sha256-<hex>`) maintained when the registry has no referrers API.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use oci_client::Reference;
use serde_json::{Value, json};

use super::{INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Registry, sha256_digest};

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

/// `HOST/REPO` as a reference to its blobs and manifests.
pub fn repo_ref(host: &str, repo: &str, reference: &str) -> Reference {
    if reference.starts_with("sha256:") {
        Reference::with_digest(host.to_string(), repo.to_string(), reference.to_string())
    } else {
        Reference::with_tag(host.to_string(), repo.to_string(), reference.to_string())
    }
}

impl Registry {
    /// Make the credentials for this registry available to push calls.
    pub fn prepare_push(&self, r: &Reference) {
        self.rt.block_on(
            self.client
                .store_auth_if_needed(r.resolve_registry(), &self.auth),
        );
    }

    pub fn blob_exists(&self, r: &Reference, digest: &str) -> Result<bool> {
        self.retry(|| {
            self.rt
                .block_on(self.client.blob_exists(r, digest))
                .map_err(|e| anyhow!("{}: HEAD blob {digest}: {e}", r.whole()))
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
        let err = |e: oci_client::errors::OciDistributionError| {
            anyhow!("{}: uploading blob {digest}: {e}", r.whole())
        };
        match data {
            BlobData::Bytes(b) => {
                if sha256_digest(b) != digest {
                    bail!("blob {digest}: the bytes to upload hash differently");
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
                let f = std::fs::File::open(p)
                    .map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?;
                let size = f.metadata()?.len();
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
        let scheme = if self.plain_http { "http" } else { "https" };
        let url = format!(
            "{scheme}://{}/v2/{}/manifests/{}",
            r.resolve_registry(),
            r.repository(),
            reference.unwrap_or(&digest)
        );
        self.retry(|| {
            // Credentials for this registry only; reqwest drops them on a cross-host redirect.
            let token = self
                .rt
                .block_on(
                    self.client
                        .auth(&r, &self.auth, oci_client::RegistryOperation::Push),
                )
                .ok()
                .flatten();
            let mut req = self
                .http
                .put(&url)
                .header("Content-Type", media_type)
                .body(bytes.to_vec());
            req = match (&token, &self.auth) {
                (Some(t), _) => req.bearer_auth(t),
                (None, oci_client::secrets::RegistryAuth::Basic(u, p)) => {
                    req.basic_auth(u, Some(p))
                }
                _ => req,
            };
            let resp = req
                .send()
                .map_err(|e| anyhow!("{}: putting manifest {digest}: {e}", r.whole()))?;
            let status = resp.status();
            let subject = resp
                .headers()
                .get("oci-subject")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if !status.is_success() {
                let body = resp.text().unwrap_or_default();
                bail!(
                    "{}: putting manifest {digest}: HTTP {} {}",
                    r.whole(),
                    status.as_u16(),
                    body.chars().take(300).collect::<String>()
                );
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
        let mut index = match self.try_manifest(&r)? {
            Some((bytes, _)) => {
                let v: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow!("{}: the referrers tag is not JSON: {e}", r.whole()))?;
                if v.get("mediaType").and_then(Value::as_str) != Some(INDEX_MEDIA_TYPE)
                    || !v.get("manifests").is_some_and(Value::is_array)
                {
                    bail!(
                        "{}: the referrers tag holds something other than an image index; refusing to overwrite it",
                        r.whole()
                    );
                }
                v
            }
            None => json!({
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [],
            }),
        };
        let list = index["manifests"].as_array_mut().expect("checked");
        if list.iter().any(|d| d["digest"] == descriptor["digest"]) {
            return Ok(false);
        }
        list.push(descriptor);
        let bytes = serde_json::to_vec(&index)?;
        self.put_manifest(host, repo, Some(&tag), &bytes, INDEX_MEDIA_TYPE)?;
        Ok(true)
    }

    /// A manifest by digest, verified.
    pub fn manifest_by_digest(&self, r: &Reference, digest: &str) -> Result<Vec<u8>> {
        Ok(self.manifest(r, Some(digest))?.0)
    }
}

/// The descriptor a referrers index lists for a referrer manifest (artifactType and
/// annotations copied from it, as the spec asks).
pub fn referrer_descriptor(manifest: &[u8]) -> Result<Value> {
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
