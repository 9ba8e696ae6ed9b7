//! The audit report's data, exactly as its JSON says it (schema in `docs/audit-json.md`): one
//! [`AuditReport`] of [`AuditArtifact`]s, each carrying the [`ArtifactResult`] the results
//! cache stores. Built from the pipeline's own types here; read back for `report merge`,
//! `report diff` and `gate --baseline`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::policy::Violation;
use crate::analysis::vuln::{Finding, Status};
use crate::inventory::Inventory;
use crate::source::survey::Located;

pub const SCHEMA_VERSION: u32 = 1;
/// The `kind` every audit report carries (merge and diff refuse other documents).
pub const KIND: &str = "provguard-audit";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    pub schema_version: u32,
    pub kind: String,
    pub tool: Tool,
    pub generated_at: String,
    pub database: AuditDb,
    pub policy: Option<PolicyInfo>,
    pub sources: Vec<String>,
    pub shard: Option<Shard>,
    pub cache: CacheStats,
    pub summary: super::summary::Summary,
    pub artifacts: Vec<AuditArtifact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDb {
    pub source: String,
    pub modified: Option<String>,
    /// The newest Go release line the database names as a fix (`1.23`): it and the one before
    /// are the supported releases.
    pub latest_go: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub name: String,
    pub source: String,
    /// SHA-256 of the policy and waiver files: part of the results-cache key.
    pub hash: String,
}

/// `--shard K/N`: this report holds shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// One provider package (a ZIP or an executable) of one platform: where it was found, and
/// what analysing it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditArtifact {
    #[serde(flatten)]
    pub at: Located,
    #[serde(flatten)]
    pub result: ArtifactResult,
}

/// What analysing one artifact gave: the part the results cache keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactResult {
    pub executable_sha256: Option<String>,
    pub go_version: String,
    pub main_module: String,
    pub main_version: Option<String>,
    pub inventory: InventoryInfo,
    pub provenance: Option<serde_json::Value>,
    /// Affected findings by severity.
    pub counts: BTreeMap<String, u64>,
    pub findings: Vec<AuditFinding>,
    pub policy: Option<PolicyResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryInfo {
    /// `buildinfo` or `attached-sbom`.
    pub source: String,
    pub detail: String,
    pub drift: Vec<DriftInfo>,
    pub modules: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftInfo {
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFinding {
    pub id: String,
    pub aliases: Vec<String>,
    pub module: String,
    pub installed: String,
    pub fixed: Vec<String>,
    pub upgrade_to: Option<String>,
    pub severity: String,
    pub score: Option<f64>,
    pub title: String,
    pub url: Option<String>,
    /// `affected` or `not_affected`.
    pub status: String,
    /// `present`, `absent` or `unknown`.
    pub reachability: String,
    pub symbols: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    pub passed: bool,
    pub violations: Vec<AuditViolation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditViolation {
    pub rule: String,
    pub id: String,
    pub severity: String,
    pub level: String,
    pub message: String,
    pub fix: Option<String>,
    /// The waiver's reason, when one accepts it.
    pub waived: Option<String>,
    /// Counts against the policy (denied, not waived).
    pub fails: bool,
}

impl AuditFinding {
    pub fn of(f: &Finding) -> AuditFinding {
        AuditFinding {
            id: f.id.clone(),
            aliases: f.aliases.clone(),
            module: f.module.clone(),
            installed: f.installed.clone(),
            fixed: f.fixed.clone(),
            upgrade_to: f.upgrade_to(),
            severity: f.severity().to_string(),
            score: f.advisory.score,
            title: f.advisory.summary.clone(),
            url: f.advisory.url.clone(),
            status: match f.status {
                Status::Affected => "affected",
                Status::NotAffected { .. } => "not_affected",
            }
            .into(),
            reachability: f.reachability.as_str().into(),
            symbols: f.reachability.symbols().to_vec(),
        }
    }

    pub fn is_affected(&self) -> bool {
        self.status == "affected"
    }
}

impl AuditViolation {
    pub fn of(v: &Violation) -> AuditViolation {
        AuditViolation {
            rule: v.rule.as_str().into(),
            id: v.id.clone(),
            severity: v.severity.as_str().into(),
            level: v.level.to_string(),
            message: v.message.clone(),
            fix: v.fix.clone(),
            waived: v.waived.clone(),
            fails: v.fails(),
        }
    }
}

impl ArtifactResult {
    /// The result of one inventory, its findings and (with a policy) its violations.
    pub fn of(inv: &Inventory, findings: &[Finding], violations: Option<&[Violation]>) -> Self {
        let findings: Vec<AuditFinding> = findings.iter().map(AuditFinding::of).collect();
        let mut counts = BTreeMap::new();
        for f in findings.iter().filter(|f| f.is_affected()) {
            *counts.entry(f.severity.clone()).or_insert(0) += 1;
        }
        ArtifactResult {
            executable_sha256: inv.subject.exe_sha256.clone(),
            go_version: inv.go_version.clone(),
            main_module: inv.main.path.clone(),
            main_version: inv.main.version.clone(),
            inventory: InventoryInfo {
                source: inv.origin.as_str().into(),
                detail: inv.origin.detail(),
                drift: inv
                    .drift
                    .iter()
                    .map(|d| DriftInfo {
                        kind: d.kind().into(),
                        detail: d.describe(),
                    })
                    .collect(),
                modules: inv.modules.len() as u64,
            },
            provenance: inv.subject.provenance.as_ref().map(|p| p.json()),
            counts,
            findings,
            policy: violations.map(|vs| PolicyResult {
                passed: !vs.iter().any(Violation::fails),
                violations: vs.iter().map(AuditViolation::of).collect(),
            }),
        }
    }
}
