//! Provenance: where an artifact came from (the provider registry protocol, a network mirror,
//! an OCI registry), which checks it passed, who signed the release's `SHA256SUMS`, and every
//! platform's `zh:` that file lists. One typed value, carried from the source through the
//! inventory's subject into every report.

use super::RegistryOrigin;

/// Where the bytes were fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The provider registry protocol (`direct`): the registry host and the ZIP's URL.
    Registry { host: String, download_url: String },
    /// A network mirror: its base URL and the ZIP's URL.
    NetworkMirror { mirror: String, url: String },
    /// An OCI registry (an `oci_mirror`, or an `oci://` reference).
    Oci(RegistryOrigin),
}

impl Origin {
    /// `registry`, `network-mirror`, `oci`.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::Registry { .. } => "registry",
            Origin::NetworkMirror { .. } => "network-mirror",
            Origin::Oci(_) => "oci",
        }
    }

    /// The URL or reference the ZIP was read from.
    pub fn location(&self) -> &str {
        match self {
            Origin::Registry { download_url, .. } => download_url,
            Origin::NetworkMirror { url, .. } => url,
            Origin::Oci(r) => &r.reference,
        }
    }
}

/// One check the artifact passed before anything was cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// The ZIP's SHA-256 equals the registry's `shasum`.
    Shasum,
    /// `SHA256SUMS` lists that hash for the ZIP's file name.
    ChecksumList,
    /// The detached OpenPGP signature of `SHA256SUMS` verified against a registry key.
    Signature,
    /// The ZIP matched one of the `h1:`/`zh:` hashes the network mirror lists.
    MirrorHash,
    /// The OCI layer's digest matched the bytes (the `zh:`).
    OciDigest,
    /// The origin's `SHA256SUMS` signature carried in the OCI registry verified offline, and it
    /// lists the layer's digest.
    CarriedSignature,
}

impl Check {
    pub fn as_str(&self) -> &'static str {
        match self {
            Check::Shasum => "shasum",
            Check::ChecksumList => "sha256sums",
            Check::Signature => "signature",
            Check::MirrorHash => "mirror-hash",
            Check::OciDigest => "oci-digest",
            Check::CarriedSignature => "carried-signature",
        }
    }
}

/// What became of the release's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Verified by a valid key; the primary key's ID.
    Verified { key_id: String },
    /// Verified by a key that has expired since; accepted as tofu accepts it by default.
    VerifiedExpiredKey { key_id: String },
    /// The registry published no keys (`registry.opentofu.org`): tofu skips the check.
    Skipped,
    /// Nothing signed reached us (network mirrors, OCI without a carried signature).
    Unsigned,
}

impl SignatureStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            SignatureStatus::Verified { .. } => "verified",
            SignatureStatus::VerifiedExpiredKey { .. } => "verified-expired-key",
            SignatureStatus::Skipped => "skipped-no-keys",
            SignatureStatus::Unsigned => "unsigned",
        }
    }

    pub fn key_id(&self) -> Option<&str> {
        match self {
            SignatureStatus::Verified { key_id }
            | SignatureStatus::VerifiedExpiredKey { key_id } => Some(key_id),
            _ => None,
        }
    }

    pub fn is_verified(&self) -> bool {
        self.key_id().is_some()
    }
}

/// The provenance of one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub origin: Origin,
    /// `HOST/NAMESPACE/TYPE`, version and `OS_ARCH` of the package.
    pub address: String,
    pub version: String,
    pub platform: String,
    pub checks: Vec<Check>,
    pub signature: SignatureStatus,
    /// Would tofu demand a valid signature for this provider from its origin registry?
    pub signature_required: bool,
    /// Every line of the signed `SHA256SUMS`: (file name, lowercase hex) — each a `zh:`.
    pub sums: Vec<(String, String)>,
}

impl Provenance {
    /// The checks, as their names joined by `,`.
    pub fn checks_text(&self) -> String {
        self.checks
            .iter()
            .map(Check::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `zh:<hex>` per file name of `SHA256SUMS` that names a provider ZIP, by `OS_ARCH`.
    pub fn platform_zh(&self) -> Vec<(String, String)> {
        self.sums
            .iter()
            .filter_map(|(name, hex)| {
                let z = super::naming::parse_zip_name(name)?;
                Some((format!("{}_{}", z.os, z.arch), format!("zh:{hex}")))
            })
            .collect()
    }

    /// One line for terminals and Markdown: origin, checks, signer.
    pub fn summary(&self) -> String {
        let signer = match &self.signature {
            SignatureStatus::Verified { key_id } => format!("signed by key {key_id}"),
            SignatureStatus::VerifiedExpiredKey { key_id } => {
                format!("signed by key {key_id} (expired since; accepted as tofu does)")
            }
            SignatureStatus::Skipped => {
                "signature not checked: the registry publishes no keys".into()
            }
            SignatureStatus::Unsigned => "no origin signature".into(),
        };
        format!(
            "{} {}; checks: {}; {signer}",
            self.origin.kind(),
            self.origin.location(),
            if self.checks.is_empty() {
                "none".to_string()
            } else {
                self.checks_text()
            }
        )
    }

    /// The JSON object reports carry.
    pub fn json(&self) -> serde_json::Value {
        let zh: serde_json::Map<String, serde_json::Value> = self
            .platform_zh()
            .into_iter()
            .map(|(p, z)| (p, serde_json::Value::String(z)))
            .collect();
        serde_json::json!({
            "origin": self.origin.kind(),
            "location": self.origin.location(),
            "address": self.address,
            "version": self.version,
            "platform": self.platform,
            "checks": self.checks.iter().map(Check::as_str).collect::<Vec<_>>(),
            "signature": self.signature.as_str(),
            "signingKey": self.signature.key_id(),
            "signatureRequired": self.signature_required,
            "zh": zh,
        })
    }

    /// `key=value` properties for SBOMs and reports, `provguard:provenance.*`.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut p = vec![
            (
                "provguard:provenance.origin".to_string(),
                self.origin.kind().to_string(),
            ),
            (
                "provguard:provenance.location".into(),
                self.origin.location().to_string(),
            ),
            ("provguard:provenance.checks".into(), self.checks_text()),
            (
                "provguard:provenance.signature".into(),
                self.signature.as_str().into(),
            ),
        ];
        if let Some(k) = self.signature.key_id() {
            p.push(("provguard:provenance.signing-key".into(), k.to_string()));
        }
        for (plat, zh) in self.platform_zh() {
            p.push((format!("provguard:provenance.zh:{plat}"), zh));
        }
        p
    }
}
