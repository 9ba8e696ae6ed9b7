//! The release edge of the pipeline: providers going *into* OCI registries in exactly the layout
//! OpenTofu installs from, with an SBOM attached to every platform manifest.
//!
//! [`local`] reads a release (a GoReleaser `dist/`, ZIPs, a filesystem mirror), checks every ZIP
//! against its `SHA256SUMS`, inventories each binary and prepares its SBOMs; [`layout`] writes
//! the manifests and index byte-for-byte; [`publish`] pushes a local release; [`mirror`] copies a
//! provider version between registries (or from local files) with its attached SBOMs.

pub mod layout;
pub mod local;
pub mod mirror;
pub mod publish;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;
use serde_json::{Value, json};

use crate::artifact::hashes;
use crate::registry::push::{BlobData, PushStats, referrer_descriptor};
use crate::registry::{MANIFEST_MEDIA_TYPE, Registry};

/// An SBOM document to attach.
#[derive(Debug, Clone)]
pub struct SbomDoc {
    /// `application/vnd.cyclonedx+json` or `application/spdx+json`.
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// The layer's title annotation.
    pub title: String,
    /// `generated from the binary`, `FILE`, or `copied from SOURCE`.
    pub origin: String,
}

/// The origin registry's signed checksum list of a release, carried into OCI as one referrer
/// of the index so the signature can be checked again later from the mirror alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedSignature {
    /// `terraform-provider-TYPE_VERSION_SHA256SUMS`: the layer's title.
    pub sums_name: String,
    pub sums: Vec<u8>,
    /// Binary detached OpenPGP signature of `sums`.
    pub signature: Vec<u8>,
    /// ASCII-armored public keys, in the registry's order.
    pub keys: Vec<String>,
    /// `HOST/NAMESPACE/TYPE`, the version, the origin host, the key that verified it.
    pub address: String,
    pub version: String,
    pub host: String,
    pub key_id: Option<String>,
}

/// What was (or would be) published for one platform.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformResult {
    pub platform: String,
    pub manifest: String,
    pub zh: String,
    pub h1: Option<String>,
    /// Digests of the attached SBOM referrer manifests (new or carried over).
    pub sboms: Vec<String>,
}

/// The outcome of a publish or mirror run.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub destination: String,
    pub tag: String,
    pub index: String,
    pub platforms: Vec<PlatformResult>,
    pub dry_run: bool,
    #[serde(skip)]
    pub stats: PushStats,
    /// Whether referrers went into `sha256-<hex>` fallback indexes (no referrers API).
    pub fallback_tags: bool,
    /// The carried-signature referrer of the index (`mirror` from a provider registry).
    pub signature: Option<String>,
}

impl Outcome {
    /// The `h1:` and `zh:` hashes of every platform, as `.terraform.lock.hcl` lists them.
    pub fn lock_hashes(&self) -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        for p in &self.platforms {
            all.insert(format!("zh:{}", p.zh));
            all.extend(p.h1.clone());
        }
        all
    }

    pub fn render_text(&self) -> String {
        let mut t = comfy_table::Table::new();
        t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header(["Platform", "Manifest", "zh:", "SBOM referrers"]);
        for p in &self.platforms {
            t.add_row([
                p.platform.clone(),
                p.manifest.clone(),
                p.zh.clone(),
                if p.sboms.is_empty() {
                    "none".into()
                } else {
                    p.sboms.join("\n")
                },
            ]);
        }
        let mut s = String::new();
        let _ = writeln!(s, "{t}");
        let verb = if self.dry_run { "would be" } else { "is" };
        if let Some(d) = &self.signature {
            let _ = writeln!(
                s,
                "origin signature (SHA256SUMS, signature, keys) {} attached to the index: {d}",
                if self.dry_run { "would be" } else { "is" }
            );
        }
        let _ = writeln!(
            s,
            "index {} {verb} tagged {} in {}",
            self.index, self.tag, self.destination
        );
        if self.dry_run {
            let _ = writeln!(s, "dry run: nothing was pushed");
        } else {
            let st = &self.stats;
            let _ = writeln!(
                s,
                "blobs: {} uploaded ({} bytes), {} mounted, {} already present; {} manifests written{}",
                st.uploaded,
                st.uploaded_bytes,
                st.mounted,
                st.present,
                st.manifests,
                if self.fallback_tags {
                    "; referrers recorded in sha256-<hex> fallback tags (no referrers API)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            s,
            "\nfor .terraform.lock.hcl:\n{}",
            hashes::lock_block(&self.lock_hashes())
        );
        s
    }

    pub fn render_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        v["stats"] = json!({
            "uploaded": self.stats.uploaded,
            "uploadedBytes": self.stats.uploaded_bytes,
            "mounted": self.stats.mounted,
            "present": self.stats.present,
            "manifests": self.stats.manifests,
        });
        v["lockHashes"] = json!(self.lock_hashes());
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Where SBOM referrers are recorded at a destination.
pub struct Dest<'a> {
    pub reg: &'a Registry,
    pub host: &'a str,
    pub repo: &'a str,
    /// Repositories of the same registry to mount missing blobs from.
    pub mount_from: &'a [String],
    /// The empty config is there (pushed or found once): referrers need not ask again.
    pub config_there: std::cell::Cell<bool>,
}

impl Dest<'_> {
    fn blob_ref(&self, digest: &str) -> oci_client::Reference {
        crate::registry::repo_ref(self.host, self.repo, digest)
    }

    /// Ensure a blob, counting it.
    pub fn blob(
        &self,
        digest: &str,
        size: u64,
        data: BlobData,
        stats: &mut PushStats,
    ) -> Result<()> {
        let o = self
            .reg
            .ensure_blob(&self.blob_ref(digest), digest, data, self.mount_from)?;
        stats.count(o, size);
        Ok(())
    }

    /// Ensure the empty config every manifest names (once per destination).
    pub fn config(&self, stats: &mut PushStats) -> Result<()> {
        if !self.config_there.get() {
            self.blob(
                &layout::empty_digest(),
                2,
                BlobData::Bytes(layout::EMPTY_CONFIG),
                stats,
            )?;
            self.config_there.set(true);
        }
        Ok(())
    }

    /// Put a manifest by digest or tag, counting it.
    pub fn manifest(
        &self,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
        stats: &mut PushStats,
    ) -> Result<String> {
        stats.manifests += 1;
        Ok(self
            .reg
            .put_manifest(self.host, self.repo, tag, bytes, media_type)?
            .digest)
    }

    /// Put a referrer manifest (by digest). A registry that indexed its `subject` says so with
    /// `OCI-Subject`; without that answer the referrer goes into the `sha256-<hex>` fallback
    /// index (distribution-spec, "Pushing Manifests with Subject"). Returns the digest and
    /// whether the fallback index was used.
    pub fn referrer(
        &self,
        subject: &str,
        bytes: &[u8],
        stats: &mut PushStats,
    ) -> Result<(String, bool)> {
        stats.manifests += 1;
        let put = self
            .reg
            .put_manifest(self.host, self.repo, None, bytes, MANIFEST_MEDIA_TYPE)?;
        if put.oci_subject.as_deref() == Some(subject) {
            return Ok((put.digest, false));
        }
        let desc = referrer_descriptor(bytes)?;
        if self
            .reg
            .add_fallback_referrer(self.host, self.repo, subject, desc)?
        {
            stats.manifests += 1;
        }
        Ok((put.digest, true))
    }

    /// Attach `sbom` to the manifest `subject` (digest, size): its blob, the empty config, the
    /// referrer manifest. Returns the referrer's digest and whether the fallback index was used.
    pub fn attach(
        &self,
        subject: (&str, usize),
        sbom: &SbomDoc,
        stats: &mut PushStats,
    ) -> Result<(String, bool)> {
        let (_, bytes) = layout::sbom_referrer(sbom, subject);
        self.attach_layers(subject.0, &[&sbom.bytes], &bytes, stats)
    }

    /// Attach the carried signature to the index `subject` (digest, size).
    pub fn attach_signature(
        &self,
        subject: (&str, usize),
        sig: &CarriedSignature,
        stats: &mut PushStats,
    ) -> Result<(String, bool)> {
        let bytes = layout::signature_referrer(sig, subject);
        let mut blobs: Vec<&[u8]> = vec![&sig.sums, &sig.signature];
        blobs.extend(sig.keys.iter().map(|k| k.as_bytes()));
        self.attach_layers(subject.0, &blobs, &bytes, stats)
    }

    /// The empty config, every layer blob, then the referrer manifest `bytes` of `subject`.
    fn attach_layers(
        &self,
        subject: &str,
        layers: &[&[u8]],
        bytes: &[u8],
        stats: &mut PushStats,
    ) -> Result<(String, bool)> {
        self.config(stats)?;
        for l in layers {
            self.blob(
                &layout::digest(l),
                l.len() as u64,
                BlobData::Bytes(l),
                stats,
            )?;
        }
        self.referrer(subject, bytes, stats)
    }
}
