//! Gate reports: the outcome of `provguard gate` as cargo-deny-style diagnostics (`table`), JSON,
//! SARIF 2.1.0 (one rule per policy rule, lock violations located at the lock file's provider
//! block) and Markdown, plus the one-screen summary printed on stderr.
//!
//! JSON (schema 1): `{schemaVersion, tool, generatedAt, passed, policy{name, source}, waivers,
//! database, artifacts[], lock{path, packages[{provider, version, platform, source, zh, h1,
//! matchedBy}]}, violations[{rule, id, aliases, severity, level, title, message, artifact,
//! provider, version, platform, location{path,line}, evidence[], remediation, waived}],
//! waiverNotes[{code, id, reason, expires, matched}], summary{…}}`.

mod json;
mod markdown;
pub mod pages;
mod sarif;
mod text;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::analysis::policy::cfg::Level;
use crate::analysis::policy::lock::{Checked, LockMatch};
use crate::analysis::policy::{Violation, WaiverNote, diags};
use crate::analysis::vuln::Severity;
use crate::foundation::named::Named;
use crate::report::RenderOptions;
use crate::report::findings::DbInfo;

pub use json::SCHEMA_VERSION;
pub use pages::rule_pages;

/// `provguard gate --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateFormat {
    Table,
    Json,
    Sarif,
    Markdown,
}

impl Named for GateFormat {
    const ALL: &'static [Self] = &[
        GateFormat::Table,
        GateFormat::Json,
        GateFormat::Sarif,
        GateFormat::Markdown,
    ];

    fn name(&self) -> &'static str {
        match self {
            GateFormat::Table => "table",
            GateFormat::Json => "json",
            GateFormat::Sarif => "sarif",
            GateFormat::Markdown => "markdown",
        }
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
    /// Provenance of each fetched artifact, by label.
    pub provenance: Vec<(String, crate::artifact::provenance::Provenance)>,
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
            GateFormat::Table => text::diagnostics(self).into_bytes(),
            GateFormat::Json => json::render(self),
            GateFormat::Sarif => sarif::render(self),
            GateFormat::Markdown => markdown::render(self).into_bytes(),
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
        for (label, p) in &self.provenance {
            let _ = writeln!(s, "  provenance:  {label}: {}", p.summary());
        }
        if let Some(p) = &self.lock_path {
            let ok = self
                .lock
                .iter()
                .filter(|c| c.matched_by != LockMatch::None)
                .count();
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

pub(super) fn note_text(n: &WaiverNote) -> String {
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

pub(super) fn level_word(v: &Violation) -> &'static str {
    match (v.waived.is_some(), v.level) {
        (true, _) => "waived",
        (false, Level::Deny) => "error",
        (false, _) => "warning",
    }
}
