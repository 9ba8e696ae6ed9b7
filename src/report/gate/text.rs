//! The `table` gate report: cargo-deny-style diagnostics, one block per violation (the rule's
//! rationale once per rule), then the summary.

use std::fmt::Write as _;

use super::{GateReport, level_word, note_text};

/// cargo-deny-style diagnostics, one block per violation, then the summary.
pub(super) fn diagnostics(r: &GateReport) -> String {
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
