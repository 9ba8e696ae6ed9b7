//! Gate reports: the outcome of `provguard gate` as cargo-deny-style diagnostics (`table`), JSON,
//! SARIF 2.1.0 (one rule per policy rule, lock violations located at the lock file's provider
//! block) and Markdown, plus the one-screen summary printed on stderr.
//!
//! JSON (schema 1): `{schemaVersion, tool, generatedAt, passed, policy{name, source}, waivers,
//! database, artifacts[], lock{path, packages[{provider, version, platform, source, zh, h1,
//! matchedBy}]}, violations[{rule, id, aliases, severity, level, title, message, artifact,
//! provider, version, platform, location{path,line}, evidence[], remediation, waived}],
//! waiverNotes[{code, id, reason, expires, matched}], summary{…}}`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::analysis::policy::cfg::Level;
use crate::analysis::policy::lock::Checked;
use crate::analysis::policy::{RuleId, Violation, WaiverNote, diags};
use crate::analysis::vuln::Severity;
use crate::foundation::time;
use crate::report::findings::DbInfo;
use crate::report::{RenderOptions, cyclonedx::to_json_bytes};

/// `provguard gate --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum GateFormat {
    Table,
    Json,
    Sarif,
    Markdown,
}

impl GateFormat {
    pub fn name(&self) -> &'static str {
        match self {
            GateFormat::Table => "table",
            GateFormat::Json => "json",
            GateFormat::Sarif => "sarif",
            GateFormat::Markdown => "markdown",
        }
    }

    pub fn parse(s: &str) -> Option<GateFormat> {
        <GateFormat as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|f| f.name() == s)
    }
}

/// Everything a gate report is written from.
#[derive(Debug, Clone)]
pub struct GateReport {
    pub policy_name: String,
    pub policy_source: String,
    pub waivers_source: Option<String>,
    pub db: Option<DbInfo>,
    /// Labels of every artifact inventoried.
    pub artifacts: Vec<String>,
    pub lock_path: Option<String>,
    pub lock: Vec<Checked>,
    pub violations: Vec<Violation>,
    pub notes: Vec<WaiverNote>,
    pub opts: RenderOptions,
}

impl GateReport {
    pub fn passed(&self) -> bool {
        !self.violations.iter().any(Violation::fails)
    }

    pub fn render(&self, format: GateFormat) -> Vec<u8> {
        match format {
            GateFormat::Table => diagnostics(self).into_bytes(),
            GateFormat::Json => render_json(self),
            GateFormat::Sarif => render_sarif(self),
            GateFormat::Markdown => markdown(self).into_bytes(),
        }
    }

    fn count(&self, pred: impl Fn(&Violation) -> bool) -> usize {
        self.violations.iter().filter(|v| pred(v)).count()
    }

    /// The stderr summary: verdict, counts by severity, lock verification, waivers.
    pub fn summary(&self) -> String {
        let failing = self.count(Violation::fails);
        let mut s = String::new();
        let verdict = if self.passed() { "PASSED" } else { "FAILED" };
        let _ = writeln!(
            s,
            "gate {verdict}: {failing} failing violation(s), {} warning(s), {} waived — policy {:?}",
            self.count(|v| v.level == Level::Warn && v.waived.is_none()),
            self.count(|v| v.waived.is_some()),
            self.policy_name
        );
        let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
        let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
        for v in self.violations.iter().filter(|v| v.fails()) {
            *by_sev.entry(v.severity).or_default() += 1;
            *by_rule.entry(v.rule.as_str()).or_default() += 1;
        }
        if failing > 0 {
            let sev: Vec<String> = Severity::ALL
                .iter()
                .filter_map(|x| by_sev.get(x).map(|n| format!("{x}: {n}")))
                .collect();
            let rules: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
            let _ = writeln!(s, "  by severity: {}", sev.join(", "));
            let _ = writeln!(s, "  by rule:     {}", rules.join(", "));
        }
        let _ = writeln!(s, "  artifacts:   {} inventoried", self.artifacts.len());
        if let Some(p) = &self.lock_path {
            let ok = self.lock.iter().filter(|c| c.matched_by != "none").count();
            let _ = writeln!(
                s,
                "  lock file:   {p}: {ok}/{} package(s) match a locked hash",
                self.lock.len()
            );
        }
        if let Some(db) = &self.db {
            let _ = writeln!(s, "  database:    {}", db.describe());
        }
        for n in &self.notes {
            let _ = writeln!(s, "  {}: {}", n.code, note_text(n));
        }
        s
    }
}

fn note_text(n: &WaiverNote) -> String {
    let w = &n.waiver;
    match n.code {
        diags::WAIVER_EXPIRED => format!(
            "the waiver for {} expired on {} and no longer applies ({} finding(s) it named now count): {}",
            w.id,
            w.expires.as_ref().map_or("?", |e| e.text.as_str()),
            n.matched,
            w.reason
        ),
        _ => format!(
            "the waiver for {} matched no finding; remove it ({})",
            w.id, w.reason
        ),
    }
}

fn level_word(v: &Violation) -> &'static str {
    match (v.waived.is_some(), v.level) {
        (true, _) => "waived",
        (false, Level::Deny) => "error",
        (false, _) => "warning",
    }
}

/// cargo-deny-style diagnostics, one block per violation, then the summary.
fn diagnostics(r: &GateReport) -> String {
    let mut s = String::new();
    let mut explained = std::collections::BTreeSet::new();
    for v in &r.violations {
        let id = if v.id == v.rule.as_str() {
            v.rule.as_str().to_string()
        } else {
            format!("{}/{}", v.rule, v.id)
        };
        let _ = writeln!(s, "{}[{id}]: {}", level_word(v), v.message);
        let mut at = v.about.artifact.clone();
        if let Some(p) = &v.about.platform
            && !at.contains(p.as_str())
        {
            at.push_str(&format!(" ({p})"));
        }
        let _ = writeln!(s, "  ┌─ {at}");
        if let Some(l) = &v.about.location {
            let _ = writeln!(s, "  │  {}:{}", l.path, l.line);
        }
        let _ = writeln!(s, "  │");
        let _ = writeln!(s, "  = rule: {} ({}, {})", v.title, v.severity, v.level);
        for e in &v.evidence {
            let _ = writeln!(s, "  = evidence: {e}");
        }
        if let Some(w) = &v.waived {
            let _ = writeln!(s, "  = waived: {w}");
        }
        if let Some(f) = &v.fix {
            let _ = writeln!(s, "  = fix: {f}");
        }
        // The rule's general advice once per report, not once per violation.
        if explained.insert(v.rule) {
            for (i, line) in v.remediation.lines().enumerate() {
                let head = if i == 0 { "  = remediation: " } else { "    " };
                let _ = writeln!(s, "{head}{line}");
            }
        } else {
            let _ = writeln!(s, "  = remediation: as for the first {} above", v.rule);
        }
        s.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(s, "warning[{}]: {}\n", n.code, note_text(n));
    }
    s.push_str(&r.summary());
    s
}

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

fn render_json(r: &GateReport) -> Vec<u8> {
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

fn sarif_level(v: &Violation) -> &'static str {
    match (v.waived.is_some(), v.level) {
        (true, _) => "note",
        (false, Level::Deny) => "error",
        (false, _) => "warning",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
        Severity::Unknown => "0.0",
    }
}

fn render_sarif(r: &GateReport) -> Vec<u8> {
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

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(r: &GateReport) -> String {
    let mut s = String::new();
    let verdict = if r.passed() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(s, "# provguard gate: {verdict}\n");
    let _ = writeln!(
        s,
        "Policy **{}** ({}); {} artifact(s) inventoried.\n",
        r.policy_name,
        r.policy_source,
        r.artifacts.len()
    );
    if let Some(db) = &r.db {
        let _ = writeln!(s, "Vulnerability database: {}\n", db.describe());
    }
    if r.violations.is_empty() {
        s.push_str("No violations.\n\n");
    } else {
        s.push_str("| Level | Rule | Finding | Severity | Artifact | Message |\n|---|---|---|---|---|---|\n");
        for v in &r.violations {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} | {} |",
                level_word(v),
                v.rule,
                md_escape(&v.id),
                v.severity,
                md_escape(&v.about.artifact),
                md_escape(&v.message)
            );
        }
        s.push('\n');
    }
    if let Some(p) = &r.lock_path {
        let _ = writeln!(
            s,
            "## Lock file `{p}`\n\n| Provider | Version | Platform | Matched by |\n|---|---|---|---|"
        );
        for c in &r.lock {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                c.provider, c.version, c.platform, c.matched_by
            );
        }
        s.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(s, "- **{}**: {}", n.code, md_escape(&note_text(n)));
    }
    s
}

const TRIPLE: &str = "\"\"\"";

/// One Markdown page per rule (`rules/docs/ID.md`): what it checks, why, what to do, and its
/// table in the built-in policy.
pub fn rule_pages(policy: &crate::analysis::policy::cfg::Policy) -> Vec<(String, String)> {
    use crate::analysis::policy::cfg::DEFAULT_POLICY;
    let mut pages = Vec::new();
    for id in RuleId::ALL {
        let Some(c) = id.common(&policy.rules) else {
            continue;
        };
        let header = format!("[rule.{}]", id.as_str());
        let table: String = DEFAULT_POLICY
            .split("\n[")
            .map(|t| {
                if t.starts_with('[') {
                    t.to_string()
                } else {
                    format!("[{t}")
                }
            })
            .find(|t| t.starts_with(&header))
            .unwrap_or_default();
        // The parameters only: the texts are the page itself.
        let mut params = String::new();
        let mut in_text = false;
        for line in table.lines() {
            let text_key = ["title =", "rationale =", "remediation ="]
                .iter()
                .any(|k| line.starts_with(k));
            if text_key {
                // a triple quote opened and not closed on the same line continues below
                in_text = line.matches(TRIPLE).count() == 1;
            } else if in_text {
                in_text = !line.ends_with(TRIPLE);
            } else {
                params.push_str(line);
                params.push('\n');
            }
        }
        let table = params;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<!-- generated from rules/default.toml by `cargo test`; do not edit -->"
        );
        let _ = writeln!(s, "# `{}` — {}\n", id.as_str(), c.title.unwrap_or_default());
        let _ = writeln!(
            s,
            "Default severity **{}**, level **{}**.\n",
            c.severity.map_or(Severity::Unknown, |s| s.0),
            c.level.unwrap_or(Level::Deny)
        );
        let _ = writeln!(s, "## Why\n\n{}\n", c.rationale.unwrap_or_default().trim());
        let _ = writeln!(
            s,
            "## What to do\n\n{}\n",
            c.remediation.unwrap_or_default().trim()
        );
        let _ = writeln!(
            s,
            "## Waiving\n\nIn `.provguard-ignore.toml`, `id = \"{}\"`{} with a `reason`, and optionally `expires`, `provider`, `version`.\n",
            id.as_str(),
            if id == RuleId::Vulnerability {
                " (or the advisory id or any alias)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "## Default configuration\n\n```toml\n{}\n```",
            table.trim_end()
        );
        pages.push((format!("{}.md", id.as_str()), s));
    }
    pages
}
