//! Where artifacts and data come from, one function per kind of source: local files and
//! directories ([`local`]: a GoReleaser `dist/`, or a filesystem mirror `HOST/NAMESPACE/TYPE/…`
//! in packed or unpacked layout), OCI registries ([`oci`], through the [`crate::registry`]
//! client), the provider registry protocol and network mirrors ([`protocol`], verified as tofu
//! verifies), provider addresses resolved through `--oci-mirror` or the tofu CLI
//! configuration's installation methods ([`address`], [`install`]), lock files pinning
//! providers ([`lockfile`]), and the offline vulnerability database fetched over HTTP
//! ([`vulndb`]); what audit sources hold, from manifests alone ([`survey`]). Network access
//! lives here and in the registry layer
//! only. [`resolve`] maps each command-line target to its source.

pub mod address;
pub mod install;
pub mod local;
pub mod lockfile;
pub mod oci;
pub mod protocol;
pub mod survey;
pub mod vulndb;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::artifact::provenance::Provenance;
use crate::artifact::{Naming, RegistryOrigin};
use crate::registry::{ClientOptions, OciTarget};

/// How to fetch: the registry connection, which platforms, whether to look for attached SBOMs,
/// and for provider addresses the version (exact or constraint) and the mirror template.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub registry: ClientOptions,
    /// `OS_ARCH` platforms to fetch; empty = every platform.
    pub platforms: Vec<String>,
    /// Look for attached SBOMs (off for `--sbom-source binary`).
    pub attached: bool,
    pub version: Option<String>,
    pub oci_mirror: Option<String>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            registry: ClientOptions::default(),
            platforms: Vec::new(),
            attached: true,
            version: None,
            oci_mirror: None,
        }
    }
}

/// One artifact to inventory, with what its location says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    /// Naming learnt from the directory layout (filesystem mirrors) or the OCI reference.
    pub naming: Naming,
    /// For a cached copy: what to call it, and the file name the release gave it.
    pub display: Option<String>,
    pub file_name: Option<String>,
    /// SBOMs attached in the registry, best first.
    pub attached: Vec<oci::AttachedSbom>,
    /// Where in a registry it was fetched from (so attached SBOMs were looked for).
    pub registry: Option<RegistryOrigin>,
    /// Where it came from and which checks it passed (fetched targets only).
    pub provenance: Option<Provenance>,
}

impl Target {
    pub fn local(path: PathBuf, naming: Naming) -> Target {
        Target {
            path,
            naming,
            display: None,
            file_name: None,
            attached: Vec::new(),
            registry: None,
            provenance: None,
        }
    }

    /// Fetched from a registry.
    pub fn from_registry(&self) -> bool {
        self.registry.is_some()
    }
}

/// What kind of source a command-line target names.
enum Kind<'a> {
    Oci(&'a str),
    Address(&'a str),
    Path(&'a Path),
}

fn kind<'a>(t: &'a Path, opts: &SourceOptions) -> Kind<'a> {
    match t.to_str() {
        Some(s) if s.starts_with("oci://") => Kind::Oci(s),
        Some(s)
            if !t.exists()
                && s.contains('/')
                && s.split('/').count() <= 3
                && (opts.version.is_some() || opts.oci_mirror.is_some()) =>
        {
            Kind::Address(s)
        }
        _ => Kind::Path(t),
    }
}

/// Expand command-line targets into artifacts, in a stable order.
pub fn resolve(targets: &[PathBuf], opts: &SourceOptions) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    for t in targets {
        out.extend(match kind(t, opts) {
            Kind::Oci(s) => oci::targets(&OciTarget::parse(s)?, opts)?,
            Kind::Address(s) => install::address_targets(s, opts)?,
            Kind::Path(p) => local::targets(p)?,
        });
    }
    Ok(out)
}
