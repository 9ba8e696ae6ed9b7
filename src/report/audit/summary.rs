//! The audit's summary, always computed from its artifacts (so a merged report's summary is
//! the one an unsharded run writes): counts of providers, versions, platforms, findings by
//! severity and by reachability, Go releases in use, inventory sources, the policy's verdict.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::model::AuditArtifact;
use crate::analysis::vuln::Severity;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub artifacts: u64,
    pub providers: u64,
    /// Distinct provider versions.
    pub versions: u64,
    pub platforms: u64,
    /// Affected findings by severity (every severity present, most severe first).
    pub by_severity: BTreeMap<String, u64>,
    /// Affected findings by reachability (`present`, `absent`, `unknown`).
    pub by_reachability: BTreeMap<String, u64>,
    pub not_affected: u64,
    /// Artifacts by Go release line (`go1.21`).
    pub go_versions: BTreeMap<String, u64>,
    pub inventory_sources: InventorySources,
    pub policy: Option<PolicySummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySources {
    pub attached_sbom: u64,
    pub buildinfo: u64,
    /// Artifacts whose attached SBOM disagrees with the binary.
    pub drift: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    pub passed: bool,
    pub failing: u64,
    pub warnings: u64,
    pub waived: u64,
}

/// `go1.21.3 X:boringcrypto` → `go1.21`.
pub fn go_line(v: &str) -> String {
    let v = v.split_whitespace().next().unwrap_or("");
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!(
            "{a}.{}",
            b.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        ),
        _ if v.is_empty() => "unknown".into(),
        _ => v.to_string(),
    }
}

impl Summary {
    pub fn of(artifacts: &[AuditArtifact], with_policy: bool) -> Summary {
        let distinct = |f: &dyn Fn(&AuditArtifact) -> Option<String>| {
            artifacts
                .iter()
                .filter_map(f)
                .collect::<BTreeSet<_>>()
                .len() as u64
        };
        let mut by_severity: BTreeMap<String, u64> = Severity::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), 0))
            .collect();
        let mut by_reachability: BTreeMap<String, u64> = ["present", "absent", "unknown"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
        let mut not_affected = 0;
        let mut go_versions = BTreeMap::new();
        let mut sources = InventorySources::default();
        let mut policy = PolicySummary {
            passed: true,
            ..Default::default()
        };
        for a in artifacts {
            let r = &a.result;
            for f in &r.findings {
                // Every finding by reachability (absent ones are the not-affected ones); only
                // affected ones by severity.
                *by_reachability.entry(f.reachability.clone()).or_default() += 1;
                if f.is_affected() {
                    *by_severity.entry(f.severity.clone()).or_default() += 1;
                } else {
                    not_affected += 1;
                }
            }
            *go_versions.entry(go_line(&r.go_version)).or_default() += 1;
            match r.inventory.source.as_str() {
                "attached-sbom" => sources.attached_sbom += 1,
                _ => sources.buildinfo += 1,
            }
            sources.drift += u64::from(!r.inventory.drift.is_empty());
            for v in r.policy.iter().flat_map(|p| &p.violations) {
                match (v.fails, &v.waived) {
                    (_, Some(_)) => policy.waived += 1,
                    (true, None) => policy.failing += 1,
                    (false, None) => policy.warnings += 1,
                }
            }
        }
        policy.passed = policy.failing == 0;
        Summary {
            artifacts: artifacts.len() as u64,
            providers: distinct(&|a| Some(a.at.provider.clone())),
            versions: distinct(&|a| {
                Some(format!("{}@{}", a.at.provider, a.at.version.as_deref()?))
            }),
            platforms: distinct(&|a| a.at.platform.clone()),
            by_severity,
            by_reachability,
            not_affected,
            go_versions,
            inventory_sources: sources,
            policy: with_policy.then_some(policy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_lines() {
        assert_eq!(go_line("go1.21.3 X:boringcrypto"), "go1.21");
        assert_eq!(go_line("go1.22rc1"), "go1.22");
        assert_eq!(go_line(""), "unknown");
    }
}
