//! SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability ID (with
//! `security-severity`, which GitHub maps to its severity levels), one result per affected module,
//! located at the provider artifact.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::ScanReport;
use crate::analysis::vuln::{Finding, Severity};
use crate::report::cyclonedx::to_json_bytes;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Unknown => "note",
    }
}

fn security_severity(f: &Finding) -> String {
    let score = f
        .advisory
        .score
        .unwrap_or_else(|| f.severity().sarif_score());
    format!("{score:.1}")
}

pub fn render(r: &ScanReport) -> Vec<u8> {
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for a in &r.artifacts {
        let inv = &a.inventory;
        let uri = inv.subject.label.replace('!', "/");
        for f in a.affected() {
            rules.entry(f.id.clone()).or_insert_with(|| {
                let help = format!(
                    "{}\n\nModule: {}\nFixed in: {}\nAliases: {}\n{}",
                    f.advisory.summary,
                    f.module,
                    if f.fixed.is_empty() { "no fix yet".into() } else { f.fixed.join(", ") },
                    f.aliases.join(", "),
                    f.advisory.url.clone().unwrap_or_default()
                );
                json!({
                    "id": f.id,
                    "name": "GoModuleVulnerability",
                    "shortDescription": {"text": format!("{}: {}", f.id, f.advisory.summary)},
                    "fullDescription": {"text": if f.advisory.details.is_empty() { f.advisory.summary.clone() } else { f.advisory.details.clone() }},
                    "helpUri": f.advisory.url,
                    "help": {"text": help, "markdown": help.replace('\n', "  \n")},
                    "defaultConfiguration": {"level": level(f.severity())},
                    "properties": {
                        "security-severity": security_severity(f),
                        "precision": "very-high",
                        "tags": ["vulnerability", "security", f.severity().as_str()],
                    },
                })
            });
            let upgrade = f
                .upgrade_to()
                .map(|u| format!(" Upgrade to {u}."))
                .unwrap_or_default();
            results.push(json!({
                "ruleId": f.id,
                "level": level(f.severity()),
                "message": {"text": format!(
                    "{} {} in {} ({}): {}.{}",
                    f.module, f.installed, inv.subject.exe_name,
                    inv.platform().unwrap_or_default(), f.advisory.summary, upgrade
                )},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
                    },
                    "message": {"text": f.purl()}
                }],
                "partialFingerprints": {"provguard/v1": format!("{}|{}|{}|{}", f.id, f.module, f.installed, inv.platform().unwrap_or_default())},
                "properties": {"reachability": f.reachability.as_str(), "symbols": f.reachability.symbols()},
            }));
        }
    }
    let index: BTreeMap<String, usize> = rules
        .keys()
        .cloned()
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    for res in &mut results {
        let id = res["ruleId"].as_str().unwrap_or_default().to_string();
        res["ruleIndex"] = json!(index[&id]);
    }
    log(
        r.opts.tool_version,
        rules.into_values().collect(),
        results,
        json!({"database": r.db.describe()}),
    )
}

/// A SARIF 2.1.0 log of one provguard run (shared by `scan` and `gate`).
pub fn log(
    tool_version: &str,
    rules: Vec<Value>,
    results: Vec<Value>,
    properties: Value,
) -> Vec<u8> {
    to_json_bytes(&json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "provguard",
                "version": tool_version,
                "informationUri": "https://github.com/provguard/provguard",
                "rules": rules,
            }},
            "results": results,
            "properties": properties,
        }],
    }))
}
