//! The `markdown` gate report (a pull-request comment).

use std::fmt::Write as _;

use super::{GateReport, level_word, note_text};

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub(super) fn render(r: &GateReport) -> String {
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
    for (label, p) in &r.provenance {
        let _ = writeln!(
            s,
            "Provenance of {}: {}\n",
            md_escape(label),
            md_escape(&p.summary())
        );
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
                c.provider,
                c.version,
                c.platform,
                c.matched_by.as_str()
            );
        }
        s.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(s, "- **{}**: {}", n.code, md_escape(&note_text(n)));
    }
    s
}
