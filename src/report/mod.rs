//! Reports: how an inventory is written. Each format is an edge reading the one
//! [`Inventory`](crate::inventory::Inventory) model: CycloneDX 1.5/1.6, SPDX 2.3 and a table.
//! Writing to disk is atomic ([`output`]).

/// Kept at its old path for library users: time lives in the foundation now.
pub use crate::foundation::time;
pub mod audit;
pub mod cyclonedx;
pub mod findings;
pub mod gate;
pub mod output;
pub mod spdx;
pub mod table;

use crate::foundation::named::Named;
use crate::inventory::Inventory;

/// The SBOM formats `provguard sbom --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    CycloneDx,
    CycloneDx16,
    Spdx,
    Table,
}

impl Named for SbomFormat {
    const ALL: &'static [Self] = &[
        SbomFormat::CycloneDx,
        SbomFormat::CycloneDx16,
        SbomFormat::Spdx,
        SbomFormat::Table,
    ];

    fn name(&self) -> &'static str {
        match self {
            SbomFormat::CycloneDx => "cyclonedx",
            SbomFormat::CycloneDx16 => "cyclonedx-1.6",
            SbomFormat::Spdx => "spdx",
            SbomFormat::Table => "table",
        }
    }

    fn help(&self) -> &'static str {
        match self {
            SbomFormat::CycloneDx => "CycloneDX 1.5 JSON (readable by every Trivy since 0.44)",
            SbomFormat::CycloneDx16 => "CycloneDX 1.6 JSON (Trivy ≥ 0.53)",
            SbomFormat::Spdx => "SPDX 2.3 JSON",
            SbomFormat::Table => "A human-readable table",
        }
    }
}

impl SbomFormat {
    /// File extension used under `--output-dir`.
    pub fn extension(&self) -> &'static str {
        match self {
            SbomFormat::CycloneDx | SbomFormat::CycloneDx16 => "cdx.json",
            SbomFormat::Spdx => "spdx.json",
            SbomFormat::Table => "txt",
        }
    }
}

/// Settings shared by every document writer.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Fixed serial numbers and timestamps: identical input gives identical bytes.
    pub deterministic: bool,
    /// Document time, seconds since the Unix epoch.
    pub timestamp: i64,
    pub tool_version: &'static str,
}

impl RenderOptions {
    /// `SOURCE_DATE_EPOCH` turns determinism on, as reproducible-builds tools expect.
    pub fn from_env(deterministic: bool) -> RenderOptions {
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok());
        let deterministic = deterministic || epoch.is_some();
        let timestamp = match (epoch, deterministic) {
            (Some(e), _) => e,
            (None, true) => 0,
            (None, false) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        };
        RenderOptions {
            deterministic,
            timestamp,
            tool_version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// A serial for a document about `inv`: derived from its content when deterministic.
    pub fn serial(&self, inv: &Inventory, kind: &str) -> uuid::Uuid {
        if self.deterministic {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for part in [
                kind,
                inv.subject.exe_sha256.as_deref().unwrap_or(""),
                inv.subject.zip_sha256.as_deref().unwrap_or(""),
                &inv.subject.slice_offset.unwrap_or(0).to_string(),
                self.tool_version,
            ] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            let d = h.finalize();
            let mut b = [0u8; 16];
            b.copy_from_slice(&d[..16]);
            uuid::Builder::from_random_bytes(b).into_uuid()
        } else {
            uuid::Uuid::new_v4()
        }
    }
}

/// Render one inventory in `format`.
pub fn render(inv: &Inventory, format: SbomFormat, opts: &RenderOptions) -> Vec<u8> {
    match format {
        SbomFormat::CycloneDx => cyclonedx::render(inv, cyclonedx::Spec::V1_5, opts),
        SbomFormat::CycloneDx16 => cyclonedx::render(inv, cyclonedx::Spec::V1_6, opts),
        SbomFormat::Spdx => spdx::render(inv, opts),
        SbomFormat::Table => table::render(inv).into_bytes(),
    }
}

/// Properties describing the provider artifact as a whole (the SBOM's root).
pub fn root_properties(inv: &Inventory) -> Vec<(String, String)> {
    let s = &inv.subject;
    let mut p = Vec::new();
    if let Some(pl) = inv.platform() {
        p.push(("provguard:platform".to_string(), pl));
    }
    if let Some(a) = &s.naming.address {
        p.push(("provguard:provider.address".into(), a.clone()));
    }
    if let Some(z) = &s.zip_name {
        p.push(("provguard:zip.name".into(), z.clone()));
    }
    if let Some(h) = &s.zip_sha256 {
        p.push(("provguard:lock.zh".into(), format!("zh:{h}")));
    }
    p.push(("provguard:executable.name".into(), s.exe_name.clone()));
    if let Some(r) = &s.registry {
        p.extend([
            ("provguard:oci.reference".to_string(), r.reference.clone()),
            ("provguard:oci.index.digest".into(), r.index_digest.clone()),
            (
                "provguard:oci.manifest.digest".into(),
                r.manifest_digest.clone(),
            ),
            ("provguard:oci.layer.digest".into(), r.layer_digest.clone()),
        ]);
    }
    if let Some(pv) = &s.provenance {
        p.extend(pv.properties());
    }
    p
}

/// Properties describing the executable and how its inventory was obtained.
pub fn binary_properties(inv: &Inventory) -> Vec<(String, String)> {
    let mut p = vec![
        (
            "provguard:inventory.source".to_string(),
            inv.origin.as_str().to_string(),
        ),
        (
            "provguard:inventory.detail".to_string(),
            inv.origin.detail(),
        ),
        ("provguard:go.version".into(), inv.go_version.clone()),
    ];
    if let Some(v) = &inv.goos {
        p.push(("provguard:goos".into(), v.clone()));
    }
    if let Some(v) = &inv.goarch {
        p.push(("provguard:goarch".into(), v.clone()));
    }
    p.push((
        "provguard:executable.format".into(),
        inv.subject.format.clone(),
    ));
    if let Some(o) = inv.subject.slice_offset {
        p.push(("provguard:executable.slice.offset".into(), o.to_string()));
    }
    p.push(("provguard:main.path".into(), inv.main_path.clone()));
    p.push((
        "provguard:main.version.source".into(),
        inv.main_version_source.as_str().into(),
    ));
    for (k, v) in &inv.settings {
        p.push((format!("provguard:build:{k}"), v.clone()));
    }
    p
}

/// Properties of one module: its go.sum hash and any replacement.
pub fn module_properties(m: &crate::inventory::Module) -> Vec<(String, String)> {
    let mut p = Vec::new();
    if let Some(h) = &m.sum {
        p.push(("provguard:h1".to_string(), h.clone()));
    }
    if let Some(r) = &m.replacement {
        let orig = match &r.original_version {
            Some(v) => format!("{}@{v}", r.original_path),
            None => r.original_path.clone(),
        };
        p.push(("provguard:replaces".into(), orig));
        p.push(("provguard:replacement.path".into(), r.path.clone()));
        p.push(("provguard:replacement.local".into(), r.local.to_string()));
    }
    p
}
