//! OpenVEX 0.2.0 (the version current Trivy reads): a statement for every matched vulnerability —
//! `affected`, or `not_affected` with a justification where provguard can prove it. Products are
//! module PURLs exactly as provguard's SBOMs write them, which is how Trivy matches them.
//! A vulnerability affected on one platform and not on another is stated `affected` (a VEX
//! product PURL cannot tell platforms apart).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::ScanReport;
use crate::analysis::vuln::Status;
use crate::foundation::time;
use crate::report::cyclonedx::to_json_bytes;

/// Per `(vulnerability, product purl)`: the merged status, the aliases, the version to upgrade to.
type Statements = BTreeMap<(String, String), (Status, Vec<String>, Option<String>)>;

/// `(vulnerability, product purl)` → the merged status and what it needs to say.
fn merged_statuses(r: &ScanReport) -> Statements {
    let mut m = Statements::new();
    for a in &r.artifacts {
        for f in &a.findings {
            let key = (f.id.clone(), f.purl());
            let entry = m
                .entry(key)
                .or_insert_with(|| (f.status.clone(), f.aliases.clone(), f.upgrade_to()));
            if f.is_affected() {
                entry.0 = Status::Affected;
            }
        }
    }
    m
}

pub fn render(r: &ScanReport) -> Vec<u8> {
    let id = r
        .artifacts
        .first()
        .map(|a| r.opts.serial(&a.inventory, "openvex"));
    let mut statements = Vec::new();
    for ((vuln, purl), (status, aliases, upgrade)) in merged_statuses(r) {
        let mut s = json!({
            "vulnerability": {"name": vuln, "aliases": aliases},
            "products": [{"@id": purl, "identifiers": {"purl": purl}}],
        });
        match status {
            Status::Affected => {
                s["status"] = json!("affected");
                s["action_statement"] = json!(match upgrade {
                    Some(u) => format!("Upgrade to {u} and rebuild the provider."),
                    None => "No fixed version is known yet; track the advisory.".to_string(),
                });
            }
            Status::NotAffected {
                justification,
                detail,
            } => {
                s["status"] = json!("not_affected");
                s["justification"] = json!(justification);
                s["impact_statement"] = json!(detail);
            }
        }
        statements.push(s);
    }
    let doc: Value = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://provguard.dev/vex/{}", id.unwrap_or_default()),
        "author": "provguard",
        "role": "tool",
        "timestamp": time::rfc3339(r.opts.timestamp),
        "version": 1,
        "tooling": format!("provguard {}", r.opts.tool_version),
        "statements": statements,
    });
    to_json_bytes(&doc)
}
