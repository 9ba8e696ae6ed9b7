//! The `sarif` gate report (SARIF 2.1.0): one rule per policy rule used, one result per
//! violation, lock violations located at the lock file's provider block; `security-severity`
//! from the one table ([`Severity::sarif_score`]).

use serde_json::{Value, json};

use super::GateReport;
use crate::analysis::policy::cfg::Level;
use crate::analysis::policy::{RuleId, Violation};
use crate::analysis::vuln::Severity;

fn sarif_level(v: &Violation) -> &'static str {
    match (v.waived.is_some(), v.level) {
        (true, _) => "note",
        (false, Level::Deny) => "error",
        (false, _) => "warning",
    }
}

fn security_severity(s: Severity) -> String {
    format!("{:.1}", s.sarif_score())
}

pub(super) fn render(r: &GateReport) -> Vec<u8> {
    let mut used: Vec<RuleId> = r.violations.iter().map(|v| v.rule).collect();
    used.sort();
    used.dedup();
    let rules: Vec<Value> = used
        .iter()
        .map(|id| {
            let v = r.violations.iter().find(|v| v.rule == *id).expect("used");
            let help = format!("{}\n\nRemediation: {}", v.rationale, v.remediation);
            json!({
                "id": id.as_str(),
                "name": id.as_str().split('-').map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                }).collect::<String>(),
                "shortDescription": {"text": v.title},
                "fullDescription": {"text": v.rationale},
                "help": {"text": help, "markdown": help.replace('\n', "  \n")},
                "helpUri": format!("https://github.com/provguard/provguard/blob/main/rules/docs/{}.md", id.as_str()),
                "defaultConfiguration": {"level": if v.level == Level::Deny { "error" } else { "warning" }},
                "properties": {"tags": ["security", "supply-chain"], "precision": "very-high"},
            })
        })
        .collect();
    let results: Vec<Value> = r
        .violations
        .iter()
        .map(|v| {
            let (uri, line) = match &v.about.location {
                Some(l) => (l.path.clone(), l.line),
                None => (v.about.artifact.replace('!', "/"), 1),
            };
            let mut text = v.message.clone();
            if !v.evidence.is_empty() {
                text.push_str(&format!(" ({})", v.evidence.join("; ")));
            }
            if let Some(f) = &v.fix {
                text.push(' ');
                text.push_str(f);
            }
            let mut res = json!({
                "ruleId": v.rule.as_str(),
                "ruleIndex": used.iter().position(|u| *u == v.rule),
                "level": sarif_level(v),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line, "startColumn": 1}
                    },
                    "message": {"text": v.about.artifact}
                }],
                "partialFingerprints": {"provguard/gate/v1": format!(
                    "{}|{}|{}|{}|{}", v.rule, v.id,
                    v.about.provider.clone().or(v.about.provider_type.clone()).unwrap_or_default(),
                    v.about.version.clone().unwrap_or_default(),
                    v.about.platform.clone().unwrap_or_default())},
                "properties": {"security-severity": security_severity(v.severity), "findingId": v.id},
            });
            if let Some(w) = &v.waived {
                res["suppressions"] = json!([{"kind": "external", "justification": w}]);
            }
            res
        })
        .collect();
    crate::report::findings::sarif::log(
        r.opts.tool_version,
        rules,
        results,
        json!({"policy": r.policy_name, "passed": r.passed()}),
    )
}
