//! One Markdown page per rule (`rules/docs/ID.md`), generated from the built-in policy.

use std::fmt::Write as _;

use crate::analysis::policy::RuleId;
use crate::analysis::policy::cfg::Level;
use crate::analysis::vuln::Severity;

const TRIPLE: &str = "\"\"\"";

/// One Markdown page per rule (`rules/docs/ID.md`): what it checks, why, what to do, and its
/// table in the built-in policy.
pub fn rule_pages(policy: &crate::analysis::policy::cfg::Policy) -> Vec<(String, String)> {
    use crate::analysis::policy::cfg::DEFAULT_POLICY;
    let mut pages = Vec::new();
    for &id in RuleId::ALL {
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
