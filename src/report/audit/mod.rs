//! Audit reports: the outcome of `provguard audit` — every provider package of an
//! organisation's sources, its findings, policy verdict, provenance and SBOM drift — as JSON
//! (the input of `report merge`, `report diff` and `gate --baseline`; schema in
//! `docs/audit-json.md`), Markdown, one self-contained HTML page with inline SVG charts, and a
//! terminal table. [`diff`] compares two audits.

pub mod diff;
mod html;
mod markdown;
pub mod model;
pub mod summary;
mod svg;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::analysis::vuln::version::Version;
use crate::foundation::named::Named;
use crate::report::cyclonedx::to_json_bytes;

pub use model::{AuditArtifact, AuditReport};

/// `provguard audit --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditFormat {
    Table,
    Json,
    Markdown,
    Html,
}

impl Named for AuditFormat {
    const ALL: &'static [Self] = &[
        AuditFormat::Table,
        AuditFormat::Json,
        AuditFormat::Markdown,
        AuditFormat::Html,
    ];

    fn name(&self) -> &'static str {
        match self {
            AuditFormat::Table => "table",
            AuditFormat::Json => "json",
            AuditFormat::Markdown => "markdown",
            AuditFormat::Html => "html",
        }
    }
}

impl AuditReport {
    pub fn render(&self, format: AuditFormat) -> Vec<u8> {
        match format {
            AuditFormat::Table => table::render(self).into_bytes(),
            AuditFormat::Json => to_json_bytes(&serde_json::to_value(self).unwrap_or_default()),
            AuditFormat::Markdown => markdown::render(self).into_bytes(),
            AuditFormat::Html => html::render(self).into_bytes(),
        }
    }

    /// Read an audit JSON report (`what` names it in errors).
    pub fn parse(bytes: &[u8], what: &str) -> anyhow::Result<AuditReport> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| anyhow::anyhow!("{what}: not JSON: {e}"))?;
        if v["kind"] != model::KIND {
            anyhow::bail!(
                "{what}: not a provguard audit report (kind is not {:?})",
                model::KIND
            );
        }
        if v["schemaVersion"] != model::SCHEMA_VERSION {
            anyhow::bail!(
                "{what}: audit schema version {} (this provguard reads {})",
                v["schemaVersion"],
                model::SCHEMA_VERSION
            );
        }
        serde_json::from_value(v).map_err(|e| anyhow::anyhow!("{what}: {e}"))
    }

    /// Whether the policy failed (only with a policy).
    pub fn policy_failed(&self) -> bool {
        self.summary.policy.as_ref().is_some_and(|p| !p.passed)
    }
}

/// What to upgrade: per module, the highest first-fixed version any affected finding needs,
/// and the advisories it fixes.
pub fn upgrades(artifacts: &[AuditArtifact]) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let newer = |x: &str| Version::parse(x.trim_start_matches("go").trim_start_matches('v'));
    for f in artifacts
        .iter()
        .flat_map(|a| &a.result.findings)
        .filter(|f| f.is_affected())
    {
        let Some(to) = &f.upgrade_to else { continue };
        let e = out
            .entry(f.module.clone())
            .or_insert_with(|| (to.clone(), Vec::new()));
        if newer(to) > newer(&e.0) {
            e.0 = to.clone();
        }
        if !e.1.contains(&f.id) {
            e.1.push(f.id.clone());
        }
    }
    out
}

/// Severities most severe first, as reports list them.
pub const SEVERITIES: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];
