//! provguard's own JSON report, schema version 1 (documented in the README):
//! `{schemaVersion, tool, generatedAt, database{source, modified, ageDays},
//!   artifacts[{label, provider, version, platform, zipSha256, executableSha256, inventory{…},
//!   summary{SEVERITY: n}, findings[{id, aliases, module, installed, fixed[], upgradeTo, severity,
//!   score, vector, title, url, purl, status, justification, detail, reachability
//!   (present|absent|unknown), symbols[] (found, or looked for), reachabilityDetail}]}]}`.

use serde_json::{Value, json};

use super::{ScanReport, inventory_source};
use crate::analysis::vuln::Status;
use crate::foundation::time;
use crate::report::cyclonedx::to_json_bytes;

pub const SCHEMA_VERSION: u32 = 1;

pub fn render(r: &ScanReport) -> Vec<u8> {
    let artifacts: Vec<Value> = r
        .artifacts
        .iter()
        .map(|a| {
            let inv = &a.inventory;
            let findings: Vec<Value> = a
                .findings
                .iter()
                .map(|f| {
                    let (status, justification, detail) = match &f.status {
                        Status::Affected => ("affected", None, None),
                        Status::NotAffected {
                            justification,
                            detail,
                        } => (
                            "not_affected",
                            Some(justification.clone()),
                            Some(detail.clone()),
                        ),
                    };
                    json!({
                        "id": f.id,
                        "aliases": f.aliases,
                        "module": f.module,
                        "installed": f.installed,
                        "fixed": f.fixed,
                        "upgradeTo": f.upgrade_to(),
                        "severity": f.severity(),
                        "score": f.advisory.score,
                        "vector": f.advisory.vector,
                        "title": f.advisory.summary,
                        "url": f.advisory.url,
                        "purl": f.purl(),
                        "status": status,
                        "justification": justification,
                        "detail": detail,
                        "reachability": f.reachability.as_str(),
                        "symbols": f.reachability.symbols(),
                        "reachabilityDetail": f.reachability.reason(),
                    })
                })
                .collect();
            let summary: serde_json::Map<String, Value> = a
                .counts()
                .into_iter()
                .rev()
                .map(|(s, n)| (s.to_string(), json!(n)))
                .collect();
            json!({
                "label": inv.subject.label,
                "provider": inv.subject.provider_name(),
                "version": inv.subject.naming.version,
                "platform": inv.platform(),
                "zipSha256": inv.subject.zip_sha256,
                "executableSha256": inv.subject.exe_sha256,
                "provenance": inv.subject.provenance.as_ref().map(|p| p.json()),
                "inventory": {
                    "source": inv.origin.as_str(),
                    "detail": inventory_source(inv),
                    "drift": inv.drift.iter().map(|d| json!({"kind": d.kind(), "detail": d.describe()})).collect::<Vec<_>>(),
                    "goVersion": inv.go_version,
                    "mainModule": inv.main.path,
                    "mainVersion": inv.main.version,
                    "modules": inv.modules.len(),
                },
                "summary": summary,
                "findings": findings,
            })
        })
        .collect();
    to_json_bytes(&json!({
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "provguard", "version": r.opts.tool_version},
        "generatedAt": time::rfc3339(r.opts.timestamp),
        "database": {"source": r.db.source, "modified": r.db.modified, "ageDays": r.db.age_days},
        "artifacts": artifacts,
    }))
}
