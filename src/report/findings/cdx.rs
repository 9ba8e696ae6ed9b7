//! CycloneDX 1.5 vulnerability documents:
//! - `cyclonedx-vex`: a separate VEX BOM whose `affects[].ref` are BOM-Links
//!   (`urn:cdx:<serial>/<version>#<bom-ref>`) into the SBOMs provguard emits for the same run —
//!   what every Trivy since 0.44 reads; one entry per vulnerability ID.
//! - `cyclonedx`: the SBOM itself with embedded `vulnerabilities` (a VDR).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ArtifactScan, ScanReport};
use crate::analysis::vuln::{Finding, Severity, Status};
use crate::foundation::time;
use crate::report::cyclonedx::{self, Spec, to_json_bytes, tools_v15};

/// Percent-encode a bom-ref for a URN fragment (`+` → `%2B`, `%` → `%25`).
fn fragment(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn in_sbom(a: &ArtifactScan, f: &Finding) -> bool {
    a.inventory.main.path == f.module || a.inventory.modules.iter().any(|m| m.path == f.module)
}

fn bom_link(a: &ArtifactScan, bom_ref: &str) -> String {
    format!("urn:cdx:{}/1#{}", a.sbom_serial, fragment(bom_ref))
}

fn ratings(f: &Finding) -> Value {
    let sev = match f.severity() {
        Severity::Unknown => "unknown",
        s => match s {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            _ => "low",
        },
    };
    let mut r = json!({"severity": sev});
    if let Some(score) = f.advisory.score {
        r["score"] = json!(score);
    }
    if let Some(v) = &f.advisory.vector {
        r["method"] = json!(if v.starts_with("CVSS:3.1") {
            "CVSSv31"
        } else if v.starts_with("CVSS:3") {
            "CVSSv3"
        } else if v.starts_with("CVSS:4") {
            "CVSSv4"
        } else {
            "other"
        });
        r["vector"] = json!(v);
    }
    json!([r])
}

fn analysis(status: &Status) -> Value {
    match status {
        Status::Affected => json!({"state": "exploitable"}),
        Status::NotAffected { detail, .. } => json!({
            "state": "not_affected",
            "justification": "code_not_present",
            "detail": detail,
        }),
    }
}

fn vulnerability(f: &Finding, status: &Status, affects: Vec<Value>) -> Value {
    let mut v = json!({
        "bom-ref": format!("vuln:{}", f.id),
        "id": f.id,
        "source": {"name": "provguard", "url": f.advisory.url.clone().unwrap_or_default()},
        "references": f.aliases.iter().map(|a| json!({"id": a, "source": {"name": "OSV"}})).collect::<Vec<_>>(),
        "ratings": ratings(f),
        "description": f.advisory.summary,
        "advisories": f.advisory.url.iter().map(|u| json!({"url": u})).collect::<Vec<_>>(),
        "analysis": analysis(status),
        "affects": affects,
    });
    if !f.advisory.details.is_empty() {
        v["detail"] = json!(f.advisory.details);
    }
    if let Some(u) = f.upgrade_to() {
        v["recommendation"] = json!(format!("Upgrade {} to {u}.", f.module));
    }
    v
}

/// One vulnerability entry per ID, listing every `affects` item `affect` makes for it;
/// `exploitable` when any finding of that ID is affected. `toolchain` findings are left out:
/// they name no component of the SBOM.
fn by_id<'a>(
    findings: impl Iterator<Item = (&'a ArtifactScan, &'a Finding)>,
    affect: impl Fn(&ArtifactScan, &Finding) -> Value,
) -> Vec<Value> {
    let mut by_id: BTreeMap<String, (Finding, Status, Vec<Value>)> = BTreeMap::new();
    for (a, f) in findings.filter(|(a, f)| in_sbom(a, f)) {
        let e = by_id
            .entry(f.id.clone())
            .or_insert_with(|| (f.clone(), f.status.clone(), Vec::new()));
        if f.is_affected() {
            e.1 = Status::Affected;
        }
        let item = affect(a, f);
        if !e.2.contains(&item) {
            e.2.push(item);
        }
    }
    by_id
        .into_values()
        .map(|(f, status, affects)| vulnerability(&f, &status, affects))
        .collect()
}

/// The VEX BOM.
pub fn render_vex(r: &ScanReport) -> Vec<u8> {
    let all = r
        .artifacts
        .iter()
        .flat_map(|a| a.findings.iter().map(move |f| (a, f)));
    let vulns = by_id(all, |a, f| json!({"ref": bom_link(a, &f.purl())}));
    let serial = r
        .artifacts
        .first()
        .map(|a| r.opts.serial(&a.inventory, "cyclonedx-vex"))
        .unwrap_or_default();
    to_json_bytes(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": {"timestamp": time::rfc3339(r.opts.timestamp), "tools": tools_v15(&r.opts)},
        "vulnerabilities": vulns,
    }))
}

/// The SBOM of the (single) artifact with its vulnerabilities embedded.
pub fn render_vdr(r: &ScanReport) -> Vec<u8> {
    let Some(a) = r.artifacts.first() else {
        return Vec::new();
    };
    let mut doc = cyclonedx::bom(&a.inventory, Spec::V1_5, &r.opts, a.sbom_serial);
    let vulns = by_id(a.findings.iter().map(|f| (a, f)), |_, f| {
        let status = if f.is_affected() {
            "affected"
        } else {
            "unaffected"
        };
        json!({"ref": f.purl(), "versions": [{"version": f.installed, "status": status}]})
    });
    doc["vulnerabilities"] = json!(vulns);
    to_json_bytes(&doc)
}
