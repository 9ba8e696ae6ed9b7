//! The audit as a terminal table: one row per artifact, then the summary line.

use comfy_table::Table;

use super::{AuditReport, SEVERITIES};

pub fn render(r: &AuditReport) -> String {
    let mut t = Table::new();
    let mut header = vec!["Provider", "Version", "Platform", "Go", "Inventory"];
    header.extend(SEVERITIES);
    header.push("Policy");
    t.set_header(header);
    for a in &r.artifacts {
        let res = &a.result;
        let mut row = vec![
            a.at.provider.clone(),
            a.at.version.clone().unwrap_or_default(),
            a.at.platform.clone().unwrap_or_default(),
            res.go_version.clone(),
            res.inventory.source.clone(),
        ];
        row.extend(
            SEVERITIES
                .iter()
                .map(|s| res.counts.get(*s).copied().unwrap_or(0).to_string()),
        );
        row.push(match &res.policy {
            None => String::new(),
            Some(p) if p.passed => "passed".into(),
            Some(_) => "FAILED".into(),
        });
        t.add_row(row);
    }
    let s = &r.summary;
    format!(
        "{t}\n{} artifact(s): {} provider(s), {} version(s), {} platform(s); cache {} hit(s), {} miss(es)\n",
        s.artifacts, s.providers, s.versions, s.platforms, r.cache.hits, r.cache.misses
    )
}
