//! The audit as one self-contained HTML page: inline CSS, inline SVG charts, every value
//! escaped, nothing loaded from anywhere; readable without JavaScript (a small inline script
//! only makes the tables sortable). Sections: summary, charts (findings by severity per
//! provider, Go releases in use against the supported ones, inventory sources), what to
//! upgrade, then a table per provider: version, platform, findings, provenance, drift, and the
//! lock files that use it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::svg::{Bar, bars, esc};
use super::{AuditArtifact, AuditReport, SEVERITIES, upgrades};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#1b1f24;line-height:1.4}
h1{font-size:1.6rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa;cursor:pointer;overflow-wrap:normal}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;min-width:7rem}
.card b{display:block;font-size:1.4rem}.pass{color:#1a7f37}.fail{color:#cf222e}
.sev-CRITICAL{color:#fff;background:#8b0000}.sev-HIGH{color:#fff;background:#cf222e}.sev-MEDIUM{background:#f0b400}.sev-LOW{background:#9ec5fe}.sev-UNKNOWN{background:#d0d7de}
.tag{border-radius:4px;padding:0 .3rem;font-size:.8rem;white-space:nowrap}
figure{margin:0;overflow-x:auto}.chart{max-width:780px;min-width:560px;font-size:12px;display:block}.charts{display:grid;grid-template-columns:1fr;gap:1rem}
.wrap{overflow-x:auto}.wrap table{min-width:720px}small{color:#57606a}
@media (max-width:600px){body{padding:.4rem}th,td{padding:.2rem;font-size:.8rem}}";

/// Sorts a table by the clicked column; the page reads the same without it.
const SORT: &str = "document.querySelectorAll('th').forEach(function(th){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),d=th.dataset.d=th.dataset.d==='a'?'d':'a';Array.from(b.rows).sort(function(x,y){var p=x.cells[i].textContent,q=y.cells[i].textContent,n=parseFloat(p)-parseFloat(q);var c=isNaN(n)?p.localeCompare(q):n;return d==='a'?c:-c}).forEach(function(r){b.appendChild(r)})})});";

fn colour(sev: &str) -> &'static str {
    match sev {
        "CRITICAL" => "#8b0000",
        "HIGH" => "#cf222e",
        "MEDIUM" => "#f0b400",
        "LOW" => "#9ec5fe",
        _ => "#afb8c1",
    }
}

fn card(o: &mut String, label: &str, value: impl std::fmt::Display, class: &str) {
    let _ = write!(
        o,
        "<div class=\"card\"><b class=\"{class}\">{}</b>{}</div>",
        esc(&value.to_string()),
        esc(label)
    );
}

fn summary(o: &mut String, r: &AuditReport) {
    let s = &r.summary;
    o.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    card(o, "providers", s.providers, "");
    card(o, "versions", s.versions, "");
    card(o, "platforms", s.platforms, "");
    card(o, "artifacts", s.artifacts, "");
    for sev in SEVERITIES {
        card(
            o,
            &sev.to_lowercase(),
            s.by_severity.get(sev).copied().unwrap_or(0),
            "",
        );
    }
    for (k, label) in [
        ("present", "reachable"),
        ("absent", "vulnerable code absent"),
        ("unknown", "reachability unknown"),
    ] {
        card(o, label, s.by_reachability.get(k).copied().unwrap_or(0), "");
    }
    if let Some(p) = &s.policy {
        let (word, class) = if p.passed {
            ("passed", "pass")
        } else {
            ("FAILED", "fail")
        };
        card(o, "policy", word, class);
        card(o, "failing violations", p.failing, "");
        card(o, "waived", p.waived, "");
    }
    o.push_str("</div><table><tbody>");
    let mut row = |k: &str, v: String| {
        let _ = write!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(k),
            esc(&v)
        );
    };
    row("Sources", r.sources.join(", "));
    row(
        "Vulnerability database",
        format!(
            "{} (modified {})",
            r.database.source,
            r.database.modified.as_deref().unwrap_or("unknown")
        ),
    );
    if let Some(p) = &r.policy {
        row("Policy", format!("{} ({})", p.name, p.source));
    }
    row("Tool", format!("{} {}", r.tool.name, r.tool.version));
    row("Generated", r.generated_at.clone());
    row(
        "Results cache",
        format!("{} hit(s), {} miss(es)", r.cache.hits, r.cache.misses),
    );
    o.push_str("</tbody></table></section>");
}

/// Supported Go lines: the newest the database knows and the one before.
fn supported(latest: Option<&str>) -> Vec<String> {
    let Some((major, minor)) = latest.and_then(|l| l.split_once('.')) else {
        return Vec::new();
    };
    let Ok(minor) = minor.parse::<u64>() else {
        return Vec::new();
    };
    let mut out = vec![format!("go{major}.{minor}")];
    if minor > 0 {
        out.push(format!("go{major}.{}", minor - 1));
    }
    out
}

fn charts(o: &mut String, r: &AuditReport) {
    o.push_str("<section id=\"charts\"><h2>Charts</h2><div class=\"charts\"><figure><figcaption>Findings by severity per provider</figcaption>");
    let mut per: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for a in &r.artifacts {
        let e = per.entry(&a.at.provider).or_default();
        for f in a.result.findings.iter().filter(|f| f.is_affected()) {
            *e.entry(f.severity.as_str()).or_default() += 1;
        }
    }
    let rows: Vec<Bar> = per
        .iter()
        .map(|(p, c)| Bar {
            label: p.to_string(),
            segments: SEVERITIES
                .iter()
                .map(|s| (c.get(s).copied().unwrap_or(0), colour(s), s.to_string()))
                .collect(),
        })
        .collect();
    let legend: Vec<(&str, &'static str)> = SEVERITIES.iter().map(|s| (*s, colour(s))).collect();
    o.push_str(&bars("Findings by severity per provider", &rows, &legend));
    o.push_str("</figure><figure><figcaption>Go releases in use (artifacts) against the supported releases");
    let sup = supported(r.database.latest_go.as_deref());
    if !sup.is_empty() {
        let _ = write!(o, " ({})", esc(&sup.join(", ")));
    }
    o.push_str("</figcaption>");
    let rows: Vec<Bar> = r
        .summary
        .go_versions
        .iter()
        .map(|(v, n)| {
            let ok = sup.contains(v);
            Bar {
                label: v.clone(),
                segments: vec![(
                    *n,
                    if ok { "#1a7f37" } else { "#cf222e" },
                    if ok {
                        "supported"
                    } else {
                        "unsupported or unknown"
                    }
                    .to_string(),
                )],
            }
        })
        .collect();
    o.push_str(&bars(
        "Go releases in use",
        &rows,
        &[("supported", "#1a7f37"), ("unsupported", "#cf222e")],
    ));
    o.push_str("</figure><figure><figcaption>Inventory sources</figcaption>");
    let inv = &r.summary.inventory_sources;
    let rows = [
        ("attached SBOM", inv.attached_sbom, "#0969da"),
        ("Go buildinfo", inv.buildinfo, "#8250df"),
        ("SBOM drift", inv.drift, "#cf222e"),
    ]
    .into_iter()
    .map(|(l, n, c)| Bar {
        label: l.into(),
        segments: vec![(n, c, l.to_string())],
    })
    .collect::<Vec<_>>();
    o.push_str(&bars("Inventory sources", &rows, &[]));
    o.push_str("</figure></div></section>");
}

fn upgrade_section(o: &mut String, r: &AuditReport) {
    o.push_str("<section id=\"upgrades\"><h2>What to upgrade</h2>");
    let up = upgrades(&r.artifacts);
    if up.is_empty() {
        o.push_str("<p>Nothing: no affected module has a fixed version.</p></section>");
        return;
    }
    o.push_str("<div class=\"wrap\"><table><thead><tr><th>Module</th><th>Upgrade to</th><th>Fixes</th></tr></thead><tbody>");
    for (m, (to, ids)) in &up {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(m),
            esc(to),
            esc(&ids.join(", "))
        );
    }
    o.push_str("</tbody></table></div></section>");
}

fn findings_cell(a: &AuditArtifact) -> String {
    let mut o = String::new();
    for f in &a.result.findings {
        let _ = write!(
            o,
            "<div><span class=\"tag sev-{s}\">{s}</span> {} <small>{} {} → {}; {}{}</small></div>",
            esc(&f.id),
            esc(&f.module),
            esc(&f.installed),
            esc(f.upgrade_to.as_deref().unwrap_or("no fix")),
            esc(&f.reachability),
            if f.is_affected() {
                ""
            } else {
                ", not affected"
            },
            s = esc(&f.severity),
        );
    }
    if let Some(p) = &a.result.policy {
        for v in &p.violations {
            let _ = write!(
                o,
                "<div><small>policy {} {}: {}{}</small></div>",
                esc(&v.level),
                esc(&v.rule),
                esc(&v.message),
                v.waived
                    .as_ref()
                    .map(|w| format!(" (waived: {})", esc(w)))
                    .unwrap_or_default()
            );
        }
    }
    o
}

fn provenance_cell(a: &AuditArtifact) -> String {
    let mut parts = vec![a.at.location.clone(), a.at.digest.clone()];
    if let Some(p) = &a.result.provenance {
        if let Some(k) = p.get("origin").and_then(|k| k.as_str()) {
            parts.push(format!("origin: {k}"));
        }
        if let Some(k) = p.get("signature").and_then(|k| k.as_str()) {
            parts.push(format!("signature: {k}"));
        }
        if let Some(c) = p.get("checks").and_then(|c| c.as_array()) {
            let checks: Vec<&str> = c.iter().filter_map(|x| x.as_str()).collect();
            parts.push(format!("checks: {}", checks.join(", ")));
        }
    }
    parts
        .iter()
        .map(|p| esc(p))
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn providers(o: &mut String, r: &AuditReport) {
    o.push_str("<section id=\"artifacts\"><h2>Providers</h2>");
    let mut by: BTreeMap<&str, Vec<&AuditArtifact>> = BTreeMap::new();
    for a in &r.artifacts {
        by.entry(&a.at.provider).or_default().push(a);
    }
    for (p, list) in by {
        let _ = write!(
            o,
            "<h3>{}</h3><div class=\"wrap\"><table><thead><tr><th>Version</th><th>Platform</th><th>Go</th><th>Findings</th><th>Inventory</th><th>Provenance</th><th>Used by</th></tr></thead><tbody>",
            esc(p)
        );
        for a in list {
            let inv = &a.result.inventory;
            let drift: Vec<String> = inv.drift.iter().map(|d| esc(&d.detail)).collect();
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<br/><small>{}</small>{}</td><td><small>{}</small></td><td>{}</td></tr>",
                esc(a.at.version.as_deref().unwrap_or("")),
                esc(a.at.platform.as_deref().unwrap_or("")),
                esc(&a.result.go_version),
                findings_cell(a),
                esc(&inv.source),
                esc(&inv.detail),
                if drift.is_empty() {
                    String::new()
                } else {
                    format!("<br/><b class=\"fail\">drift:</b> {}", drift.join("; "))
                },
                provenance_cell(a),
                a.at.used_by
                    .iter()
                    .map(|u| esc(u))
                    .collect::<Vec<_>>()
                    .join("<br/>"),
            );
        }
        o.push_str("</tbody></table></div>");
    }
    o.push_str("</section>");
}

pub fn render(r: &AuditReport) -> String {
    let mut o = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>",
    );
    let _ = write!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"/><title>Provider audit {}</title><style>{STYLE}</style></head><body><h1>Provider supply-chain audit</h1><p>{} artifact(s) from {} — generated {}</p>",
        esc(&r.generated_at),
        r.summary.artifacts,
        esc(&r.sources.join(", ")),
        esc(&r.generated_at)
    );
    summary(&mut o, r);
    charts(&mut o, r);
    upgrade_section(&mut o, r);
    providers(&mut o, r);
    let _ = writeln!(o, "<script>{SORT}</script></body></html>");
    o
}
