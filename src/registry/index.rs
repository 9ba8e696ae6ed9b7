//! The one walk of an OpenTofu provider index, shared by fetch, mirror and publish checks, as
//! OpenTofu 1.10 reads one (`internal/getproviders/oci_registry_mirror_source.go`): an image
//! index (`artifactType: application/vnd.opentofu.provider`; a module package, a single platform
//! manifest or a container image is a clear error) → entries with `artifactType …provider-target`,
//! an image-manifest media type and a `platform` (entries with `os.version` skipped, a platform
//! listed twice refused when chosen) → per platform exactly one `archive/zip` layer with a sha256
//! digest (the lock file's `zh:`).

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use super::client::Registry;
use super::wire::{Descriptor, ManifestDoc, OciTarget};
use super::{
    INDEX_ARTIFACT_TYPE, INDEX_MEDIA_TYPE, MANIFEST_LIMIT, MANIFEST_MEDIA_TYPE,
    MODULE_ARTIFACT_TYPE, TARGET_ARTIFACT_TYPE, ZIP_MEDIA_TYPE,
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

impl PlatformEntry {
    /// `OS_ARCH`.
    pub fn platform(&self) -> String {
        format!("{}_{}", self.os, self.arch)
    }
}

/// A provider index as stored, checked.
#[derive(Debug, Clone)]
pub struct ProviderIndex {
    pub bytes: Vec<u8>,
    pub digest: String,
    /// Every provider-target entry without `os.version`, in index order.
    pub platforms: Vec<PlatformEntry>,
}

/// Why a document is not a provider index, in words a user acts on.
fn wrong_kind(target: &str, doc: &ManifestDoc) -> Option<String> {
    let mt = doc.media_type.as_deref().unwrap_or("");
    let at = doc.artifact_type.as_deref().unwrap_or("");
    if at == MODULE_ARTIFACT_TYPE {
        return Some(format!(
            "{target} is an OpenTofu module package, not a provider"
        ));
    }
    if at == TARGET_ARTIFACT_TYPE {
        return Some(format!(
            "{target} refers directly to a single-platform provider manifest; tag the provider's image index instead"
        ));
    }
    if mt == MANIFEST_MEDIA_TYPE || mt.contains("docker.distribution.manifest.v2") {
        let cfg = doc
            .config
            .as_ref()
            .map(|c| c.media_type.as_str())
            .unwrap_or("");
        return Some(format!(
            "{target} is an image manifest (config {cfg}), not an OpenTofu provider index — is this a container image?"
        ));
    }
    if mt != INDEX_MEDIA_TYPE && !mt.is_empty() {
        return Some(format!(
            "{target} has media type {mt}, not an OCI image index"
        ));
    }
    if at != INDEX_ARTIFACT_TYPE {
        return Some(format!(
            "{target} is an image index with artifactType {at:?}, not {INDEX_ARTIFACT_TYPE} — is this a multi-platform container image?"
        ));
    }
    None
}

impl ProviderIndex {
    /// Check `bytes` (fetched as `target`, digest `digest`) and walk its platform entries.
    pub fn parse(target: &str, bytes: Vec<u8>, digest: String) -> Result<ProviderIndex> {
        let doc = ManifestDoc::parse(&bytes, &format!("{target}: the index"))?;
        if let Some(msg) = wrong_kind(target, &doc) {
            bail!(msg);
        }
        let raw: Value = serde_json::from_slice(&bytes)?;
        let raws = raw["manifests"].as_array().cloned().unwrap_or_default();
        let mut platforms = Vec::new();
        for (d, r) in doc.manifests.iter().zip(raws) {
            if d.artifact_type.as_deref() != Some(TARGET_ARTIFACT_TYPE) {
                continue;
            }
            if d.media_type != MANIFEST_MEDIA_TYPE {
                bail!(
                    "{target}: platform entry {} has media type {:?}, not an image manifest",
                    d.digest,
                    d.media_type
                );
            }
            let p = d
                .platform
                .as_ref()
                .ok_or_else(|| anyhow!("{target}: platform entry {} has no platform", d.digest))?;
            if p.os_version.as_deref().is_some_and(|v| !v.is_empty()) {
                continue;
            }
            platforms.push(PlatformEntry {
                os: p.os.clone(),
                arch: p.architecture.clone(),
                digest: d.digest.clone(),
                size: d.size,
                raw: r,
            });
        }
        Ok(ProviderIndex {
            bytes,
            digest,
            platforms,
        })
    }

    /// The entries for `wanted` (`OS_ARCH`; empty = all), each platform at most once.
    pub fn select(&self, target: &str, wanted: &[String]) -> Result<Vec<&PlatformEntry>> {
        let available: Vec<String> = self.platforms.iter().map(|p| p.platform()).collect();
        let mut selected: Vec<&PlatformEntry> = Vec::new();
        for p in &self.platforms {
            let plat = p.platform();
            if !wanted.is_empty() && !wanted.contains(&plat) {
                continue;
            }
            if selected.iter().any(|s| s.platform() == plat) {
                bail!("{target}: ambiguous index: more than one manifest for {plat}");
            }
            selected.push(p);
        }
        for want in wanted {
            if !available.contains(want) {
                bail!(
                    "{target}: no {want} build; the index offers {}",
                    if available.is_empty() {
                        "no platforms".to_string()
                    } else {
                        available.join(", ")
                    }
                );
            }
        }
        if selected.is_empty() {
            bail!("{target}: the provider index lists no platform manifests");
        }
        Ok(selected)
    }
}

/// The provider ZIP layer of a platform manifest: `artifactType …provider-target`, exactly one
/// `archive/zip` layer, a sha256 digest.
pub fn zip_layer(target: &str, entry: &PlatformEntry, manifest: &[u8]) -> Result<Descriptor> {
    let (digest, plat) = (&entry.digest, entry.platform());
    let m = ManifestDoc::parse(manifest, &format!("{target}: manifest {digest}"))?;
    if m.artifact_type.as_deref() != Some(TARGET_ARTIFACT_TYPE) {
        bail!(
            "{target}: manifest {digest} has artifactType {:?}, not {TARGET_ARTIFACT_TYPE}",
            m.artifact_type
        );
    }
    let zips: Vec<&Descriptor> = m
        .layers
        .iter()
        .filter(|l| l.media_type == ZIP_MEDIA_TYPE)
        .collect();
    let layer = match zips.as_slice() {
        [one] => (*one).clone(),
        [] => bail!("{target}: manifest {digest} ({plat}) has no archive/zip layer"),
        _ => bail!(
            "{target}: manifest {digest} ({plat}) has {} archive/zip layers; exactly one is allowed",
            zips.len()
        ),
    };
    if !layer.digest.starts_with("sha256:") {
        bail!(
            "{target}: layer digest {} is not sha256 (a lock file can only record zh: sha256 hashes)",
            layer.digest
        );
    }
    Ok(layer)
}

impl Registry {
    /// The provider index `target` names, checked to be one, with its platform entries.
    pub fn provider_index(&self, target: &OciTarget) -> Result<ProviderIndex> {
        let (bytes, digest) = self.manifest(&target.reference, None)?;
        ProviderIndex::parse(&target.text, bytes, digest)
    }

    /// A platform entry's manifest (size-limited, verified) and its ZIP layer.
    pub fn platform_manifest(
        &self,
        target: &OciTarget,
        entry: &PlatformEntry,
    ) -> Result<(Vec<u8>, Descriptor)> {
        if entry.size as usize > MANIFEST_LIMIT {
            bail!(
                "{}: manifest {} is {} bytes, over OpenTofu's 4 MiB limit; refused",
                target.text,
                entry.digest,
                entry.size
            );
        }
        let (bytes, _) = self.manifest(&target.at(&entry.digest), Some(&entry.digest))?;
        let layer = zip_layer(&target.text, entry, &bytes)?;
        Ok((bytes, layer))
    }
}
