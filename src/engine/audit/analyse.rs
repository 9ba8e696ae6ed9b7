//! One artifact analysed: fetched (the blob cache first), inventoried, matched against the
//! database, judged by the policy with its waivers — the result the cache keeps.

use anyhow::{Result, anyhow};

use super::AuditOptions;
use crate::analysis::policy::cfg::{GoMinor, Policy};
use crate::analysis::policy::waivers::Waivers;
use crate::analysis::policy::{self, Sink, Violation, checks};
use crate::analysis::vuln::{self, Database, Finding};
use crate::inventory::{Inventory, collect, gobin};
use crate::report::audit::model::ArtifactResult;
use crate::source::survey::{Connections, Planned};

/// What the policy needs: the rules, the waivers, the newest Go release the database knows.
pub struct Judge<'a> {
    pub policy: &'a Policy,
    pub waivers: &'a Waivers,
    pub latest: Option<GoMinor>,
    pub now: i64,
}

impl Judge<'_> {
    /// The rules' violations of one inventory, waivers applied.
    pub fn violations(&self, inv: &Inventory, findings: &[Finding]) -> Vec<Violation> {
        let mut sink = Sink::new(self.policy);
        checks::inventory(&mut sink, inv, findings, self.latest);
        let mut vs = sink.violations;
        policy::apply_waivers(&mut vs, self.waivers, self.now);
        vs.sort_by(|a, b| {
            b.fails()
                .cmp(&a.fails())
                .then(b.severity.cmp(&a.severity))
                .then(a.rule.cmp(&b.rule))
                .then(a.id.cmp(&b.id))
        });
        vs
    }
}

/// The inventory and findings of `p` (the first image of a universal binary carries the
/// findings of all).
pub struct Analysed {
    pub inventory: Inventory,
    pub findings: Vec<Finding>,
    pub result: ArtifactResult,
}

pub fn analyse(
    p: &Planned,
    opts: &AuditOptions,
    conns: &Connections,
    db: &Database,
    judge: Option<&Judge>,
) -> Result<Analysed> {
    let target = p.target(&opts.source, conns)?;
    let mut inventories = collect::inventories_of(
        &target,
        opts.limits,
        gobin::ReadOptions { hash: true },
        opts.sbom_source,
        opts.symbols,
    )
    .map_err(|e| e.context(p.at.location.clone()))?;
    if inventories.is_empty() {
        return Err(anyhow!("{}: no executable found", p.at.location));
    }
    let mut findings = Vec::new();
    let mut violations = Vec::new();
    for inv in &inventories {
        let f = vuln::match_inventory(inv, db);
        if let Some(j) = judge {
            violations.extend(j.violations(inv, &f));
        }
        findings.extend(f);
    }
    let inventory = inventories.swap_remove(0);
    let result = ArtifactResult::of(&inventory, &findings, judge.map(|_| violations.as_slice()));
    Ok(Analysed {
        inventory,
        findings,
        result,
    })
}
