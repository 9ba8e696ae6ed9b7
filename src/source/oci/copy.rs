//! What copying a provider version needs to read from its source registry, with every digest
//! verified: the provider index and its platform entries as raw bytes, any manifest by digest,
//! the blobs a manifest names, and the SBOM referrers of a manifest (referrers API or tag schema)
//! plus cosign's `sha256-<hex>.sbom` tag — as manifests, so they can be re-written unchanged.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use oci_client::Reference;
use serde_json::Value;

use super::{
    Descriptor, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, ManifestDoc, OciTarget, Registry,
    TARGET_ARTIFACT_TYPE, describe_wrong_kind, is_sbom_referrer,
};

/// One platform entry of a provider index, with its raw JSON for rebuilding an index.
#[derive(Debug, Clone)]
pub struct PlatformEntry {
    pub os: String,
    pub arch: String,
    pub digest: String,
    pub size: u64,
    pub raw: Value,
}

/// A blob a manifest names.
#[derive(Debug, Clone)]
pub struct BlobRef {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
}

/// A referrer manifest as stored: its digest, bytes, and the cosign tag naming it (if any).
pub struct ReferrerManifest {
    pub digest: String,
    pub bytes: Vec<u8>,
    pub cosign_tag: Option<String>,
}

/// A provider index as stored.
#[derive(Debug, Clone)]
pub struct ProviderIndex {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub platforms: Vec<PlatformEntry>,
}

/// The config and layers of a manifest.
pub fn blobs_of(manifest: &[u8]) -> Result<Vec<BlobRef>> {
    let m: ManifestDoc =
        serde_json::from_slice(manifest).context("a manifest is not valid JSON")?;
    let to = |d: &Descriptor| BlobRef {
        digest: d.digest.clone(),
        size: d.size,
        media_type: d.media_type.clone(),
    };
    Ok(m.config.iter().chain(m.layers.iter()).map(to).collect())
}

/// The media type a manifest says it has (image manifest when absent).
pub fn media_type_of(manifest: &[u8]) -> String {
    serde_json::from_slice::<Value>(manifest)
        .ok()
        .and_then(|v| {
            v.get("mediaType")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| MANIFEST_MEDIA_TYPE.to_string())
}

impl Registry {
    /// The provider index `target` names, checked to be one, with its platform entries.
    pub fn provider_index(&self, target: &OciTarget) -> Result<ProviderIndex> {
        let (bytes, digest) = self.manifest(&target.reference, None)?;
        let doc: ManifestDoc = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: the index is not valid JSON", target.text))?;
        if let Some(msg) = describe_wrong_kind(&target.text, &doc) {
            bail!(msg);
        }
        let raw: Value = serde_json::from_slice(&bytes)?;
        let mut platforms = Vec::new();
        for (d, r) in doc
            .manifests
            .iter()
            .zip(raw["manifests"].as_array().into_iter().flatten())
        {
            if d.artifact_type.as_deref() != Some(TARGET_ARTIFACT_TYPE) {
                continue;
            }
            let p = d
                .platform
                .as_ref()
                .ok_or_else(|| anyhow!("{}: entry {} has no platform", target.text, d.digest))?;
            platforms.push(PlatformEntry {
                os: p.os.clone(),
                arch: p.architecture.clone(),
                digest: d.digest.clone(),
                size: d.size,
                raw: r.clone(),
            });
        }
        Ok(ProviderIndex {
            bytes,
            digest,
            platforms,
        })
    }

    /// The cached copy of a blob, if one is there (nothing is downloaded).
    pub fn cached_blob(&self, digest: &str) -> Option<PathBuf> {
        self.cache.get(digest)
    }

    /// A blob into the cache (verified); returns its path.
    pub fn blob_to_cache(&self, r: &Reference, b: &BlobRef) -> Result<PathBuf> {
        if let Some(p) = self.cache.get(&b.digest) {
            return Ok(p);
        }
        let d = Descriptor {
            media_type: b.media_type.clone(),
            artifact_type: None,
            digest: b.digest.clone(),
            size: b.size,
            platform: None,
        };
        self.blob(r, &d)
    }

    /// The SBOM referrer manifests of `subject` (referrers API, else the tag schema), and
    /// cosign's `.sbom` tag manifest: `(digest, bytes, cosign tag)`.
    pub fn sbom_referrer_manifests(
        &self,
        r: &Reference,
        subject: &str,
    ) -> Result<Vec<ReferrerManifest>> {
        let hex = subject.trim_start_matches("sha256:");
        let tag = |t: &str| {
            Reference::with_tag(
                r.registry().to_string(),
                r.repository().to_string(),
                t.to_string(),
            )
        };
        let descs: Vec<Descriptor> = match self.referrers_api(r, subject)? {
            Some(d) => d,
            None => match self.try_manifest(&tag(&format!("sha256-{hex}")))? {
                Some((bytes, _)) => serde_json::from_slice::<ManifestDoc>(&bytes)
                    .map(|i| i.manifests.into_iter().filter(is_sbom_referrer).collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            },
        };
        let mut out = Vec::new();
        for d in descs {
            let mr = Reference::with_digest(
                r.registry().to_string(),
                r.repository().to_string(),
                d.digest.clone(),
            );
            let (bytes, digest) = self.manifest(&mr, Some(&d.digest))?;
            out.push(ReferrerManifest {
                digest,
                bytes,
                cosign_tag: None,
            });
        }
        let cosign = format!("sha256-{hex}.sbom");
        if let Some((bytes, digest)) = self.try_manifest(&tag(&cosign))? {
            if media_type_of(&bytes) == INDEX_MEDIA_TYPE {
                bail!("{}: {cosign} is an index, not an SBOM manifest", r.whole());
            }
            out.push(ReferrerManifest {
                digest,
                bytes,
                cosign_tag: Some(cosign),
            });
        }
        Ok(out)
    }
}
