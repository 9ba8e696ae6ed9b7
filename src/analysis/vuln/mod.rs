//! Known vulnerabilities: OSV advisories ([`advisory`]) from an offline database ([`db`]) matched
//! against an inventory's modules with Go semver ranges ([`version`]); severities from CVSS
//! ([`cvss`]).
//!
//! Matching follows govulncheck's binary mode at module level: `(devel)`/empty versions never
//! match; the standard library matches by the Go version (`go1.21rc2` → `v1.21.0-rc.2`); a
//! replaced module matches under its replacement; an advisory whose every import is restricted to
//! other GOOS/GOARCH values is recorded as `not_affected`, with that as the justification.

pub mod advisory;
pub mod cvss;
pub mod db;
pub mod reach;
pub mod version;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::inventory::{Inventory, Module};
use advisory::Advisory;
pub use cvss::Severity;
pub use db::Database;
use version::Version;

/// Whether a matched advisory applies to this binary (the VEX vocabulary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Affected,
    /// Provably not affected: `justification` uses OpenVEX's terms.
    NotAffected {
        justification: String,
        detail: String,
    },
}

/// One advisory matched against one module.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The ID reports lead with: a CVE when there is one (as Trivy shows it).
    pub id: String,
    /// Every other ID of the advisory (GO-, GHSA-, other CVEs).
    pub aliases: Vec<String>,
    pub advisory: Arc<Advisory>,
    pub module: String,
    pub installed: String,
    /// Fixed versions above the installed one, lowest first, without `v`.
    pub fixed: Vec<String>,
    pub status: Status,
    /// Whether the vulnerable functions are in the binary (symbol level), and which.
    pub reachability: reach::Reachability,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        self.advisory.severity
    }

    pub fn purl(&self) -> String {
        Module {
            path: self.module.clone(),
            version: Some(self.installed.clone()),
            sum: None,
            replacement: None,
        }
        .purl()
    }

    /// The version to upgrade to, Go-style (`v0.17.0`, or `go1.19.11` for the standard library).
    pub fn upgrade_to(&self) -> Option<String> {
        let f = self.fixed.first()?;
        Some(if self.module == "stdlib" || self.module == "toolchain" {
            format!("go{f}")
        } else {
            format!("v{f}")
        })
    }

    pub fn is_affected(&self) -> bool {
        self.status == Status::Affected
    }
}

/// The modules of `inv` an advisory can name (for loading only what matters).
pub fn packages_of(inv: &Inventory) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = inv.modules.iter().map(|m| m.path.clone()).collect();
    s.insert(inv.main.path.clone());
    s.insert("toolchain".into());
    s
}

fn platform_excluded(
    imports: &[advisory::Import],
    goos: Option<&str>,
    goarch: Option<&str>,
) -> Option<String> {
    if imports.is_empty() {
        return None;
    }
    let excludes = |list: &[String], v: Option<&str>| {
        !list.is_empty() && v.is_some_and(|v| !list.iter().any(|x| x == v))
    };
    let all_excluded = imports
        .iter()
        .all(|i| excludes(&i.goos, goos) || excludes(&i.goarch, goarch));
    if !all_excluded {
        return None;
    }
    let mut oses: BTreeSet<&str> = BTreeSet::new();
    let mut arches: BTreeSet<&str> = BTreeSet::new();
    for i in imports {
        oses.extend(i.goos.iter().map(String::as_str));
        arches.extend(i.goarch.iter().map(String::as_str));
    }
    let mut only = Vec::new();
    if !oses.is_empty() {
        only.push(format!(
            "GOOS={}",
            oses.into_iter().collect::<Vec<_>>().join(",")
        ));
    }
    if !arches.is_empty() {
        only.push(format!(
            "GOARCH={}",
            arches.into_iter().collect::<Vec<_>>().join(",")
        ));
    }
    Some(format!(
        "the vulnerable code is built only for {}; this binary is {}/{}",
        only.join(" "),
        goos.unwrap_or("?"),
        goarch.unwrap_or("?")
    ))
}

/// Match every module of `inv` (the main module and stdlib included) against `db`, deciding
/// each finding's reachability from the binary's function table when the inventory has one.
pub fn match_inventory(inv: &Inventory, db: &Database) -> Vec<Finding> {
    let symbols = reach::symbols_of(inv);
    let mut out = Vec::new();
    let stdlib = inv.modules.iter().find(|m| m.path == "stdlib").cloned();
    let toolchain = stdlib.as_ref().map(|s| Module {
        path: "toolchain".into(),
        ..s.clone()
    });
    let modules = std::iter::once(&inv.main)
        .chain(inv.modules.iter())
        .chain(toolchain.as_ref());
    for m in modules {
        let Some(v) = m.version.as_deref().and_then(Version::parse) else {
            continue;
        };
        for adv in db.for_package(&m.path) {
            if adv.withdrawn {
                continue;
            }
            let hits: Vec<_> = adv
                .affected
                .iter()
                .filter(|a| a.package == m.path && a.contains(&v))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let mut fixed: Vec<&Version> = adv
                .affected
                .iter()
                .filter(|a| a.package == m.path)
                .flat_map(|a| a.ranges.iter().flat_map(|r| r.fixes_above(&v)))
                .collect();
            fixed.sort();
            fixed.dedup();
            let imports: Vec<_> = hits
                .iter()
                .flat_map(|a| a.imports.iter().cloned())
                .collect();
            let mut reachability = reach::Reachability::not_checked("already not affected");
            let status = if m.path == "toolchain" {
                Status::NotAffected {
                    justification: "vulnerable_code_not_present".into(),
                    detail: "the advisory concerns the go command, which is not part of the built binary".into(),
                }
            } else {
                match platform_excluded(&imports, inv.goos.as_deref(), inv.goarch.as_deref()) {
                    Some(detail) => Status::NotAffected {
                        justification: "vulnerable_code_not_present".into(),
                        detail,
                    },
                    None => {
                        reachability = reach::decide(
                            &hits,
                            inv.goos.as_deref(),
                            inv.goarch.as_deref(),
                            &symbols,
                        );
                        match &reachability {
                            reach::Reachability::Absent { looked_for } => Status::NotAffected {
                                justification: "vulnerable_code_not_present".into(),
                                detail: format!(
                                    "none of the vulnerable functions is in the binary (its function table was checked for {})",
                                    looked_for.join(", ")
                                ),
                            },
                            _ => Status::Affected,
                        }
                    }
                }
            };
            for id in adv.headline_ids() {
                let mut aliases: Vec<String> = std::iter::once(&adv.id)
                    .chain(&adv.aliases)
                    .filter(|a| **a != id)
                    .cloned()
                    .collect();
                aliases.sort();
                aliases.dedup();
                out.push(Finding {
                    id,
                    aliases,
                    advisory: adv.clone(),
                    module: m.path.clone(),
                    installed: v.as_str().to_string(),
                    fixed: fixed
                        .iter()
                        .map(|f| f.as_str().trim_start_matches('v').to_string())
                        .collect(),
                    status: status.clone(),
                    reachability: reachability.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.module.cmp(&b.module))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

#[cfg(test)]
mod tests;
