//! A human-readable inventory: a header naming the artifact, then one row per module.

use comfy_table::{Table, presets};

use crate::inventory::Inventory;

pub fn render(inv: &Inventory) -> String {
    let s = &inv.subject;
    let mut out = String::new();
    out.push_str(&format!("{}\n", s.label));
    let mut facts = vec![
        ("provider", s.provider_name()),
        (
            "platform",
            inv.platform().unwrap_or_else(|| "unknown".into()),
        ),
        ("go", inv.go_version.clone()),
        ("inventory", inv.origin.detail()),
        (
            "executable sha256",
            s.exe_sha256
                .clone()
                .unwrap_or_else(|| "(not computed)".into()),
        ),
    ];
    if let Some(h) = &s.zip_sha256 {
        facts.push(("lock hash", format!("zh:{h}")));
    }
    facts.push((
        "main module",
        format!(
            "{} {} (version from {})",
            inv.main.path,
            inv.main.version.as_deref().unwrap_or("(unknown)"),
            inv.main_version_source.as_str()
        ),
    ));
    for (k, v) in facts {
        out.push_str(&format!("  {k:<18} {v}\n"));
    }
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    t.set_header(vec!["Module", "Version", "Replaced by", "go.sum"]);
    for m in &inv.modules {
        t.add_row(vec![
            m.path.clone(),
            m.version.clone().unwrap_or_else(|| "(devel)".into()),
            m.replacement
                .as_ref()
                .map(|r| r.path.clone())
                .unwrap_or_default(),
            m.sum.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    out
}
