//! The registry client layer, below both [`crate::source`] (fetching) and [`crate::release`]
//! (publishing): one connection type ([`Registry`]) and one error type ([`RegistryError`],
//! classified once from typed errors and status codes), split by job —
//!
//! - [`client`]: transport, credentials ([`auth`]), the verified blob cache ([`cache`]),
//!   retries, manifests and blobs;
//! - [`referrers`]: the one SBOM-discovery routine (referrers API, tag schema, cosign tag);
//! - [`index`]: the one walk of an OpenTofu provider index and its platform manifests;
//! - [`tags`]: version tags resolved against a tofu constraint;
//! - [`catalog`]: the repositories of a registry under a prefix, every page;
//! - [`push`]: writes (blobs, byte-exact manifests, the referrers fallback index);
//! - [`wire`]: the JSON shapes and references.
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
pub mod referrers;
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
