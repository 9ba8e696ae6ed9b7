//! Trivy's JSON report shape (SchemaVersion 2), so that `trivy convert` turns provguard's results
//! into SARIF, CycloneDX or a table. Every package is listed with an `ID` and an `Identifier.UID`
//! shared by its vulnerabilities — without them Trivy 0.76 `convert` attaches every vulnerability
//! to one package (../shared/trivy/README.md §5.5). `Vulnerabilities` holds the `affected`
//! findings, as Trivy shows them after applying provguard's VEX; the `not_affected` ones (vulnerable
//! code absent from the binary, or another platform's advisory) are listed where Trivy 0.76 lists
//! VEX-suppressed findings: `ExperimentalModifiedFindings`, each with `Status: not_affected`, the
//! justification as `Statement` and the finding itself (`Status` there: `not_affected` as well).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ScanReport, artifact_name};
use crate::analysis::vuln::{Finding, Status};
use crate::foundation::time;
use crate::inventory::Module;
use crate::report::cyclonedx::to_json_bytes;

fn uid(target: &str, purl: &str) -> String {
    let d = Sha256::digest(format!("{target}\0{purl}").as_bytes());
    hex::encode(&d[..8])
}

fn pkg_id(m: &Module) -> String {
    format!("{}@{}", m.path, m.version.as_deref().unwrap_or(""))
}

/// One finding in Trivy's `DetectedVulnerability` shape.
fn vulnerability(target: &str, f: &Finding) -> Value {
    let purl = f.purl();
    let status = match (&f.status, f.fixed.is_empty()) {
        (Status::NotAffected { .. }, _) => "not_affected",
        (Status::Affected, true) => "affected",
        (Status::Affected, false) => "fixed",
    };
    let mut v = json!({
        "VulnerabilityID": f.id,
        "PkgID": format!("{}@{}", f.module, f.installed),
        "PkgName": f.module,
        "PkgIdentifier": {"PURL": purl, "UID": uid(target, &purl)},
        "InstalledVersion": f.installed,
        "FixedVersion": f.fixed.join(", "),
        "Status": status,
        "SeveritySource": "provguard",
        "PrimaryURL": f.advisory.url,
        "Title": f.advisory.summary,
        "Description": f.advisory.details,
        "Severity": f.severity().as_str(),
        "VendorIDs": f.aliases,
        "References": f.advisory.references,
    });
    if let (Some(vector), Some(score)) = (&f.advisory.vector, f.advisory.score) {
        v["CVSS"] = json!({"provguard": {"V3Vector": vector, "V3Score": score}});
    }
    v
}

pub fn render(r: &ScanReport) -> Vec<u8> {
    let mut results = Vec::new();
    for a in &r.artifacts {
        let inv = &a.inventory;
        let target = if r.artifacts.len() == 1 {
            inv.subject.exe_name.clone()
        } else {
            inv.subject.label.clone()
        };
        let packages: Vec<Value> = std::iter::once(&inv.main)
            .chain(&inv.modules)
            .filter(|m| m.version.is_some())
            .map(|m| {
                let purl = m.purl();
                json!({
                    "ID": pkg_id(m),
                    "Name": m.path,
                    "Identifier": {"PURL": purl, "UID": uid(&target, &purl)},
                    "Version": m.version,
                })
            })
            .collect();
        let vulns: Vec<Value> = a.affected().map(|f| vulnerability(&target, f)).collect();
        let modified: Vec<Value> = a
            .findings
            .iter()
            .filter_map(|f| match &f.status {
                Status::Affected => None,
                Status::NotAffected {
                    justification,
                    detail,
                } => Some(json!({
                    "Type": "vulnerability",
                    "Status": "not_affected",
                    "Statement": justification,
                    "Source": format!("provguard: {detail}"),
                    "Finding": vulnerability(&target, f),
                })),
            })
            .collect();
        results.push(json!({
            "Target": target,
            "Class": "lang-pkgs",
            "Type": "gobinary",
            "Packages": packages,
            "Vulnerabilities": vulns,
            "ExperimentalModifiedFindings": modified,
        }));
    }
    let name = match r.artifacts.as_slice() {
        [one] => artifact_name(&one.inventory),
        many => format!("{} provider artifacts", many.len()),
    };
    to_json_bytes(&json!({
        "SchemaVersion": 2,
        "CreatedAt": time::rfc3339(r.opts.timestamp),
        "ArtifactName": name,
        "ArtifactType": "filesystem",
        "Results": results,
    }))
}
