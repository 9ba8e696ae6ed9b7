//! Vulnerability reports: the outcome of `provguard scan` in every format users feed into their
//! tools — a terminal table, provguard's own JSON, Trivy's JSON (for `trivy convert`), SARIF,
//! a Markdown audit report, OpenVEX, CycloneDX VEX and a CycloneDX VDR.

pub mod cdx;
pub mod json;
pub mod markdown;
pub mod openvex;
pub mod sarif;
pub mod table;
pub mod trivy;

use std::collections::BTreeMap;

use crate::analysis::vuln::{Finding, Severity};
use crate::foundation::named::Named;
use crate::inventory::Inventory;
use crate::report::RenderOptions;

/// `provguard scan --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanFormat {
    Table,
    Json,
    TrivyJson,
    Sarif,
    Markdown,
    Openvex,
    CycloneDxVex,
    CycloneDx,
}

impl Named for ScanFormat {
    const ALL: &'static [Self] = &[
        ScanFormat::Table,
        ScanFormat::Json,
        ScanFormat::TrivyJson,
        ScanFormat::Sarif,
        ScanFormat::Markdown,
        ScanFormat::Openvex,
        ScanFormat::CycloneDxVex,
        ScanFormat::CycloneDx,
    ];

    fn name(&self) -> &'static str {
        match self {
            ScanFormat::Table => "table",
            ScanFormat::Json => "json",
            ScanFormat::TrivyJson => "trivy-json",
            ScanFormat::Sarif => "sarif",
            ScanFormat::Markdown => "markdown",
            ScanFormat::Openvex => "openvex",
            ScanFormat::CycloneDxVex => "cyclonedx-vex",
            ScanFormat::CycloneDx => "cyclonedx",
        }
    }
}

/// One scanned artifact: its inventory, its findings, and the serial number of the CycloneDX
/// SBOM that describes it in this run (CycloneDX VEX links to it).
#[derive(Debug, Clone)]
pub struct ArtifactScan {
    pub inventory: Inventory,
    pub findings: Vec<Finding>,
    pub sbom_serial: uuid::Uuid,
}

impl ArtifactScan {
    pub fn affected(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_affected())
    }

    pub fn not_affected(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_affected())
    }

    /// Affected findings by severity.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut m: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
        for f in self.affected() {
            *m.entry(f.severity()).or_default() += 1;
        }
        m
    }
}

/// Which database answered, and how fresh it is.
#[derive(Debug, Clone)]
pub struct DbInfo {
    pub source: String,
    pub modified: Option<String>,
    pub age_days: Option<i64>,
}

impl DbInfo {
    pub fn describe(&self) -> String {
        match (&self.modified, self.age_days) {
            (Some(m), Some(d)) => format!("{} (modified {m}, {d} days old)", self.source),
            (Some(m), None) => format!("{} (modified {m})", self.source),
            _ => format!("{} (modification date unknown)", self.source),
        }
    }
}

/// Everything a scan report is written from.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub db: DbInfo,
    pub artifacts: Vec<ArtifactScan>,
    pub opts: RenderOptions,
}

impl ScanReport {
    pub fn render(&self, format: ScanFormat) -> Vec<u8> {
        match format {
            ScanFormat::Table => table::render(self).into_bytes(),
            ScanFormat::Json => json::render(self),
            ScanFormat::TrivyJson => trivy::render(self),
            ScanFormat::Sarif => sarif::render(self),
            ScanFormat::Markdown => markdown::render(self).into_bytes(),
            ScanFormat::Openvex => openvex::render(self),
            ScanFormat::CycloneDxVex => cdx::render_vex(self),
            ScanFormat::CycloneDx => cdx::render_vdr(self),
        }
    }

    pub fn affected_total(&self) -> usize {
        self.artifacts.iter().map(|a| a.affected().count()).sum()
    }
}

/// How an artifact's inventory was obtained, for every report.
pub fn inventory_source(inv: &Inventory) -> String {
    inv.origin.detail()
}

/// `HOST/…` label of an artifact: ZIP name when there is one, else the executable.
pub fn artifact_name(inv: &Inventory) -> String {
    inv.subject
        .zip_name
        .clone()
        .unwrap_or_else(|| inv.subject.exe_name.clone())
}
