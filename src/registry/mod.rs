//! The registry client layer, below both [`crate::source`] (fetching) and [`crate::release`]
//! (publishing): one connection type ([`Registry`]) and one error type ([`RegistryError`],
//! classified once from typed errors and status codes), split by job —
//!
//! - [`client`]: transport, credentials ([`auth`]), the verified blob cache ([`cache`]),
//!   retries, manifests and blobs;
//! - [`referrers`]: the one referrer-discovery routine (referrers API, tag schema, cosign tag)
//!   for SBOMs and for the carried origin signature;
//! - [`index`]: the one walk of an OpenTofu provider index and its platform manifests;
//! - [`tags`]: version tags resolved against a tofu constraint;
//! - [`catalog`]: the repositories of a registry under a prefix, every page;
//! - [`push`]: writes (blobs, byte-exact manifests, the referrers fallback index);
//! - [`staged`]: blob uploads sent early and committed (or cancelled) later;
//! - [`wire`]: the JSON shapes and references; [`reference`]: image references parsed
//!   without a regex.
//!
//! The provider registry protocol and network mirrors (HTTP sources that are not OCI) sit
//! beside this layer in `source/`, using the same error classification.

pub mod auth;
pub mod cache;
pub mod catalog;
pub mod client;
pub mod error;
pub mod index;
pub mod push;
pub mod reference;
pub mod referrers;
pub mod staged;
pub mod tags;
pub mod wire;

pub use cache::BlobCache;
pub use client::{ClientOptions, Registry};
pub use error::{Kind, RegistryError};
pub use wire::{OciTarget, repo_ref, sha256_digest};

pub const INDEX_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider";
pub const TARGET_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider-target";
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
/// tofu's `ociImageManifestSizeLimitMiB`.
pub const MANIFEST_LIMIT: usize = 4 << 20;

/// Media types that mark an SBOM referrer (artifactType) or an SBOM layer.
pub const SBOM_ARTIFACT_TYPES: [&str; 4] = [
    "application/vnd.cyclonedx+json",
    "application/spdx+json",
    "text/spdx+json",
    "application/vnd.dev.cosign.artifact.sbom.v1+json",
];
pub const SBOM_LAYER_TYPES: [&str; 3] = [
    "application/vnd.cyclonedx+json",
    "application/spdx+json",
    "text/spdx+json",
];
/// SBOM documents larger than this are not downloaded.
pub const SBOM_LIMIT: u64 = 64 << 20;

/// The referrer `provguard mirror` attaches to a provider index: the origin registry's
/// `SHA256SUMS`, its detached OpenPGP signature and the signing key(s), one layer each, so the
/// origin's signature can be checked again from the OCI registry alone (README, "Carried
/// signatures").
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.provguard.provider-signature.v1";
/// Its layers: the `SHA256SUMS` file byte for byte, the binary detached signature, and one
/// ASCII-armored public key per layer, in the registry's order.
pub const SUMS_LAYER_TYPE: &str = "application/vnd.provguard.sha256sums.v1";
pub const SIG_LAYER_TYPE: &str = "application/pgp-signature";
pub const KEY_LAYER_TYPE: &str = "application/pgp-keys";
/// Its annotations: the origin address, version, registry host and the signing key's ID.
pub const ANNOTATION_ADDRESS: &str = "dev.provguard.provenance.address";
pub const ANNOTATION_VERSION: &str = "dev.provguard.provenance.version";
pub const ANNOTATION_HOST: &str = "dev.provguard.provenance.host";
pub const ANNOTATION_KEY_ID: &str = "dev.provguard.provenance.signing-key";
/// Each of its layers is at most this large (tofu caps `SHA256SUMS` and its signature at 1 MiB).
pub const SIGNATURE_LIMIT: u64 = 1 << 20;
/// The title annotation of a layer (the ZIP's file name in a platform manifest).
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
