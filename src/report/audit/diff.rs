//! `report diff`: what changed between two audits — findings new, fixed and changed (severity,
//! status, reachability or upgrade target), and provider packages (provider, version,
//! platform) new and removed — as a table, Markdown or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::model::{AuditFinding, AuditReport};
use crate::foundation::named::Named;
use crate::report::cyclonedx::to_json_bytes;

/// `provguard report diff --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiffFormat {
    Table,
    Json,
    Markdown,
}

impl Named for DiffFormat {
    const ALL: &'static [Self] = &[DiffFormat::Table, DiffFormat::Json, DiffFormat::Markdown];

    fn name(&self) -> &'static str {
        match self {
            DiffFormat::Table => "table",
            DiffFormat::Json => "json",
            DiffFormat::Markdown => "markdown",
        }
    }
}

/// A provider package: provider, version, platform.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    pub provider: String,
    pub version: Option<String>,
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffFinding {
    #[serde(flatten)]
    pub package: Package,
    pub id: String,
    pub module: String,
    pub severity: String,
    pub reachability: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    #[serde(flatten)]
    pub package: Package,
    pub id: String,
    pub module: String,
    /// `field: old → new`, one per changed field.
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditDiff {
    pub new_findings: Vec<DiffFinding>,
    pub fixed_findings: Vec<DiffFinding>,
    pub changed_findings: Vec<Changed>,
    pub new_packages: Vec<Package>,
    pub removed_packages: Vec<Package>,
}

type FindingKey = (Package, String, String);

fn index(r: &AuditReport) -> (BTreeMap<Package, ()>, BTreeMap<FindingKey, &AuditFinding>) {
    let mut packages = BTreeMap::new();
    let mut findings = BTreeMap::new();
    for a in &r.artifacts {
        let p = Package {
            provider: a.at.provider.clone(),
            version: a.at.version.clone(),
            platform: a.at.platform.clone(),
        };
        for f in &a.result.findings {
            findings.insert((p.clone(), f.id.clone(), f.module.clone()), f);
        }
        packages.insert(p, ());
    }
    (packages, findings)
}

fn entry((p, _, _): &FindingKey, f: &AuditFinding) -> DiffFinding {
    DiffFinding {
        package: p.clone(),
        id: f.id.clone(),
        module: f.module.clone(),
        severity: f.severity.clone(),
        reachability: f.reachability.clone(),
        status: f.status.clone(),
    }
}

impl AuditDiff {
    pub fn of(old: &AuditReport, new: &AuditReport) -> AuditDiff {
        let (old_p, old_f) = index(old);
        let (new_p, new_f) = index(new);
        let mut d = AuditDiff {
            new_packages: new_p
                .keys()
                .filter(|p| !old_p.contains_key(*p))
                .cloned()
                .collect(),
            removed_packages: old_p
                .keys()
                .filter(|p| !new_p.contains_key(*p))
                .cloned()
                .collect(),
            ..Default::default()
        };
        for (k, f) in &new_f {
            match old_f.get(k) {
                None => d.new_findings.push(entry(k, f)),
                Some(o) => {
                    let mut changes = Vec::new();
                    let mut cmp = |name: &str, a: &str, b: &str| {
                        if a != b {
                            changes.push(format!("{name}: {a} → {b}"));
                        }
                    };
                    cmp("severity", &o.severity, &f.severity);
                    cmp("status", &o.status, &f.status);
                    cmp("reachability", &o.reachability, &f.reachability);
                    cmp(
                        "upgradeTo",
                        o.upgrade_to.as_deref().unwrap_or("none"),
                        f.upgrade_to.as_deref().unwrap_or("none"),
                    );
                    if !changes.is_empty() {
                        d.changed_findings.push(Changed {
                            package: k.0.clone(),
                            id: k.1.clone(),
                            module: k.2.clone(),
                            changes,
                        });
                    }
                }
            }
        }
        d.fixed_findings = old_f
            .iter()
            .filter(|(k, _)| !new_f.contains_key(*k))
            .map(|(k, f)| entry(k, f))
            .collect();
        d
    }

    pub fn is_empty(&self) -> bool {
        self.new_findings.is_empty()
            && self.fixed_findings.is_empty()
            && self.changed_findings.is_empty()
            && self.new_packages.is_empty()
            && self.removed_packages.is_empty()
    }

    pub fn render(&self, format: DiffFormat) -> Vec<u8> {
        match format {
            DiffFormat::Json => to_json_bytes(&serde_json::to_value(self).unwrap_or_default()),
            DiffFormat::Markdown => self.text(true).into_bytes(),
            DiffFormat::Table => self.text(false).into_bytes(),
        }
    }

    fn text(&self, markdown: bool) -> String {
        let mut o = String::new();
        let pkg = |p: &Package| {
            format!(
                "{} {} {}",
                p.provider,
                p.version.as_deref().unwrap_or("-"),
                p.platform.as_deref().unwrap_or("-")
            )
        };
        let (h, item) = if markdown { ("## ", "- ") } else { ("", "  ") };
        if markdown {
            o.push_str("# Audit diff\n\n");
        }
        let mut section = |title: &str, lines: Vec<String>| {
            let _ = writeln!(o, "{h}{title} ({})", lines.len());
            if markdown {
                o.push('\n');
            }
            for l in lines {
                let l = if markdown {
                    l.replace('|', "\\|").replace('<', "&lt;")
                } else {
                    l
                };
                let _ = writeln!(o, "{item}{l}");
            }
            o.push('\n');
        };
        let finding = |f: &DiffFinding| {
            format!(
                "{}: {} in {} ({}, {}, {})",
                pkg(&f.package),
                f.id,
                f.module,
                f.severity,
                f.reachability,
                f.status
            )
        };
        section(
            "New findings",
            self.new_findings.iter().map(finding).collect(),
        );
        section(
            "Fixed findings",
            self.fixed_findings.iter().map(finding).collect(),
        );
        section(
            "Changed findings",
            self.changed_findings
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} in {}: {}",
                        pkg(&c.package),
                        c.id,
                        c.module,
                        c.changes.join("; ")
                    )
                })
                .collect(),
        );
        section("New packages", self.new_packages.iter().map(pkg).collect());
        section(
            "Removed packages",
            self.removed_packages.iter().map(pkg).collect(),
        );
        o
    }
}
