//! What travels on the wire: OCI descriptors, manifests and indexes as provguard reads them
//! (lenient serde views: unknown fields ignored, every field defaulted), references to them
//! (`oci://HOST/REPO:TAG`), and the sha256 digest of bytes.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use oci_client::Reference;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An OCI content descriptor.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    #[serde(default)]
    pub artifact_type: Option<String>,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default, deserialize_with = "string_annotations")]
    pub annotations: BTreeMap<String, String>,
}

/// Annotations, leniently: entries whose value is not a string are dropped, anything other
/// than an object reads as none.
fn string_annotations<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// The `platform` of an index entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
}

/// An image manifest or an image index: whichever fields the document has.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestDoc {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, deserialize_with = "string_annotations")]
    pub annotations: BTreeMap<String, String>,
}

impl ManifestDoc {
    /// Parse a manifest or index; `what` names it in the error.
    pub fn parse(bytes: &[u8], what: &str) -> Result<ManifestDoc> {
        serde_json::from_slice(bytes).map_err(|e| anyhow!("{what} is not valid JSON: {e}"))
    }

    /// The config and layers (what must exist before the manifest can be put).
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(self.layers.iter())
    }
}

/// The media type a manifest says it has (image manifest when absent or unreadable).
pub fn media_type_of(manifest: &[u8]) -> String {
    serde_json::from_slice::<ManifestDoc>(manifest)
        .ok()
        .and_then(|m| m.media_type)
        .unwrap_or_else(|| super::MANIFEST_MEDIA_TYPE.to_string())
}

/// `oci://HOST[:PORT]/REPO:TAG` or `oci://HOST[:PORT]/REPO@sha256:…`.
#[derive(Debug, Clone)]
pub struct OciTarget {
    pub text: String,
    pub reference: Reference,
}

impl OciTarget {
    pub fn parse(s: &str) -> Result<OciTarget> {
        let rest = s
            .strip_prefix("oci://")
            .ok_or_else(|| anyhow!("{s}: OCI targets start with oci://"))?;
        let (_, path) = rest
            .split_once('/')
            .ok_or_else(|| anyhow!("{s}: expected oci://HOST/REPOSITORY:VERSION"))?;
        if !path.contains(':') && !path.contains('@') {
            bail!("{s}: name a version tag (…:1.2.3) or a digest (…@sha256:…)");
        }
        let reference = super::reference::parse(rest).map_err(|e| anyhow!("{s}: {e}"))?;
        Ok(OciTarget {
            text: s.to_string(),
            reference,
        })
    }

    /// The registry host (`127.0.0.1:5000`, `ghcr.io`).
    pub fn host(&self) -> &str {
        self.reference.registry()
    }

    /// Another manifest or blob of the same repository, by digest or tag.
    pub fn at(&self, reference: &str) -> Reference {
        repo_ref(
            self.reference.registry(),
            self.reference.repository(),
            reference,
        )
    }
}

/// `HOST/REPO` at `reference` (a digest when it starts with `sha256:`, else a tag).
pub fn repo_ref(host: &str, repo: &str, reference: &str) -> Reference {
    if reference.starts_with("sha256:") {
        Reference::with_digest(host.to_string(), repo.to_string(), reference.to_string())
    } else {
        Reference::with_tag(host.to_string(), repo.to_string(), reference.to_string())
    }
}

/// The same repository at another digest or tag.
pub fn sibling(r: &Reference, reference: &str) -> Reference {
    repo_ref(r.registry(), r.repository(), reference)
}
