//! `--evidence-dir DIR`: the pack an auditor archives — per artifact its CycloneDX SBOM, its
//! VEX as OpenVEX and as CycloneDX VEX (linked to that SBOM's serial), and its scan JSON, all
//! written by the existing report renderers; then `index.json` naming each artifact's files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use super::analyse::Analysed;
use crate::analysis::vuln::Database;
use crate::report::RenderOptions;
use crate::report::audit::AuditArtifact;
use crate::report::cyclonedx::{self, Spec, to_json_bytes};
use crate::report::findings::{ArtifactScan, DbInfo, ScanFormat, ScanReport};
use crate::report::output::write_atomic;
use crate::source::survey::{Located, Planned};

/// The kinds of document per artifact: index key, file suffix.
const FILES: [(&str, &str); 4] = [
    ("sbom", "cdx.json"),
    ("openvex", "openvex.json"),
    ("cyclonedxVex", "vex.cdx.json"),
    ("scan", "scan.json"),
];

pub struct Writer {
    dir: PathBuf,
    render: RenderOptions,
}

/// A file name for the artifact `id`: readable, unique (a hash of the id), never a path.
pub fn stem(at: &Located) -> String {
    let p = &at.provider;
    let readable: String = format!(
        "{}_{}_{}",
        p.rsplit('/').next().unwrap_or(p),
        at.version.as_deref().unwrap_or("unversioned"),
        at.platform.as_deref().unwrap_or("any")
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || "._-+".contains(c) {
            c
        } else {
            '-'
        }
    })
    .take(80)
    .collect();
    let h = super::cache::key(&[&at.id]);
    format!("{readable}-{}", &h[..12])
}

impl Writer {
    pub fn new(dir: &Path, render: &RenderOptions) -> Writer {
        Writer {
            dir: dir.to_path_buf(),
            render: render.clone(),
        }
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let p = self.dir.join(name);
        write_atomic(&p, bytes).with_context(|| format!("cannot write {}", p.display()))
    }

    /// The documents of one analysed artifact.
    pub fn write(&self, p: &Planned, a: &Analysed, db: &Database) -> Result<()> {
        let stem = stem(&p.at);
        let serial = self.render.serial(&a.inventory, "cyclonedx");
        let sbom = cyclonedx::bom(&a.inventory, Spec::V1_5, &self.render, serial);
        let report = ScanReport {
            db: DbInfo {
                source: db.source.clone(),
                modified: db.modified.clone(),
                age_days: None,
            },
            artifacts: vec![ArtifactScan {
                inventory: a.inventory.clone(),
                findings: a.findings.clone(),
                sbom_serial: serial,
            }],
            opts: self.render.clone(),
        };
        let docs = [
            to_json_bytes(&sbom),
            report.render(ScanFormat::Openvex),
            report.render(ScanFormat::CycloneDxVex),
            report.render(ScanFormat::Json),
        ];
        for ((_, suffix), bytes) in FILES.iter().zip(docs) {
            self.put(&format!("{stem}.{suffix}"), &bytes)?;
        }
        Ok(())
    }

    /// `index.json`: every artifact, its identity and its files.
    pub fn index(&self, artifacts: &[AuditArtifact]) -> Result<()> {
        let entries: Vec<serde_json::Value> = artifacts
            .iter()
            .map(|a| {
                let stem = stem(&a.at);
                let files: serde_json::Map<String, serde_json::Value> = FILES
                    .iter()
                    .map(|(k, suffix)| (k.to_string(), json!(format!("{stem}.{suffix}"))))
                    .collect();
                let mut entry = serde_json::to_value(&a.at).unwrap_or_default();
                entry["files"] = files.into();
                entry
            })
            .collect();
        self.put(
            "index.json",
            &to_json_bytes(&json!({"tool": {"name": "provguard", "version": self.render.tool_version}, "artifacts": entries})),
        )
    }
}
