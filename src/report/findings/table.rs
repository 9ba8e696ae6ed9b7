//! The terminal report: per artifact its inventory source and database, counts by severity, and
//! findings sorted by severity with the version to upgrade to.

use comfy_table::{Table, presets};

use super::{ScanReport, inventory_source};
use crate::analysis::vuln::Status;

pub fn render(r: &ScanReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("database: {}\n\n", r.db.describe()));
    for a in &r.artifacts {
        let inv = &a.inventory;
        out.push_str(&format!(
            "{} ({})\n",
            inv.subject.label,
            inv.platform().unwrap_or_else(|| "unknown platform".into())
        ));
        out.push_str(&format!("inventory: {}\n", inventory_source(inv)));
        if let Some(p) = &inv.subject.provenance {
            out.push_str(&format!("provenance: {}\n", p.summary()));
        }
        for d in &inv.drift {
            out.push_str(&format!("drift: {}\n", d.describe()));
        }
        let counts = a.counts();
        let total: usize = counts.values().sum();
        let parts: Vec<String> = crate::analysis::vuln::Severity::ALL
            .iter()
            .map(|s| format!("{s}: {}", counts.get(s).copied().unwrap_or(0)))
            .collect();
        out.push_str(&format!("Total: {total} ({})", parts.join(", ")));
        let na = a.not_affected().count();
        if na > 0 {
            out.push_str(&format!(", {na} not affected"));
        }
        out.push('\n');
        if total > 0 {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED);
            t.set_header(vec![
                "Severity",
                "ID",
                "Module",
                "Installed",
                "Upgrade to",
                "Title",
            ]);
            for f in a.affected() {
                t.add_row(vec![
                    f.severity().to_string(),
                    f.id.clone(),
                    f.module.clone(),
                    f.installed.clone(),
                    f.upgrade_to().unwrap_or_else(|| "no fix yet".into()),
                    f.advisory.summary.clone(),
                ]);
            }
            out.push_str(&t.to_string());
            out.push('\n');
        }
        for f in a.not_affected() {
            if let Status::NotAffected { detail, .. } = &f.status {
                out.push_str(&format!(
                    "not affected: {} in {} — {detail}\n",
                    f.id, f.module
                ));
            }
        }
        out.push('\n');
    }
    out
}
