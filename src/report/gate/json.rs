//! The `json` gate report (schema 1, described in the folder's doc comment).

use serde_json::{Value, json};

use super::GateReport;
use crate::analysis::policy::Violation;
use crate::analysis::policy::cfg::Level;
use crate::foundation::time;
use crate::report::cyclonedx::to_json_bytes;

fn violation_json(v: &Violation) -> Value {
    json!({
        "rule": v.rule.as_str(),
        "id": v.id,
        "aliases": v.aliases,
        "severity": v.severity.as_str(),
        "level": v.level,
        "title": v.title,
        "message": v.message,
        "artifact": v.about.artifact,
        "provider": v.about.provider,
        "version": v.about.version,
        "platform": v.about.platform,
        "location": v.about.location.as_ref().map(|l| json!({"path": l.path, "line": l.line})),
        "evidence": v.evidence,
        "fix": v.fix,
        "remediation": v.remediation,
        "waived": v.waived,
    })
}

pub const SCHEMA_VERSION: u32 = 1;

pub(super) fn render(r: &GateReport) -> Vec<u8> {
    let notes: Vec<Value> = r
        .notes
        .iter()
        .map(|n| {
            json!({
                "code": n.code,
                "id": n.waiver.id,
                "reason": n.waiver.reason,
                "expires": n.waiver.expires.as_ref().map(|e| e.text.clone()),
                "matched": n.matched,
            })
        })
        .collect();
    to_json_bytes(&json!({
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "provguard", "version": r.opts.tool_version},
        "generatedAt": time::rfc3339(r.opts.timestamp),
        "passed": r.passed(),
        "policy": {"name": r.policy_name, "source": r.policy_source},
        "waivers": r.waivers_source,
        "database": r.db.as_ref().map(|d| json!({"source": d.source, "modified": d.modified, "ageDays": d.age_days})),
        "artifacts": r.artifacts,
        "provenance": r.provenance.iter().map(|(label, p)| {
            let mut v = p.json();
            v["artifact"] = serde_json::Value::String(label.clone());
            v
        }).collect::<Vec<_>>(),
        "lock": r.lock_path.as_ref().map(|p| json!({"path": p, "packages": r.lock})),
        "violations": r.violations.iter().map(violation_json).collect::<Vec<_>>(),
        "waiverNotes": notes,
        "summary": {
            "failing": r.count(Violation::fails),
            "warnings": r.count(|v| v.level == Level::Warn && v.waived.is_none()),
            "waived": r.count(|v| v.waived.is_some()),
        },
    }))
}
