//! `provguard gate`: the pre-merge security gate. Locate every package the lock file pins (and
//! every target given), check lock hashes, inventory each artifact, run the policy's rules,
//! apply waivers, write reports, and exit 0 (passed), 1 (violated) or 2 (cannot decide). It fails
//! closed: anything it cannot read, reach or trust is an error, never a pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::scan::{now, open_database};
use super::{GateArgs, outputs};
use crate::analysis::policy::cfg::{GoMinor, Policy};
use crate::analysis::policy::lock::Known;
use crate::analysis::policy::waivers::Waivers;
use crate::analysis::policy::{self, RuleId, Sink, checks};
use crate::analysis::vuln;
use crate::artifact::zip::Limits;
use crate::inventory::{Inventory, gobin};
use crate::report::RenderOptions;
use crate::report::findings::DbInfo;
use crate::report::gate::{GateFormat, GateReport};
use crate::source::Target;
use crate::source::lockfile::{self, LockFile};
use crate::{pipeline, source};

/// Name of the waiver file looked for in the working directory.
pub const WAIVER_FILE: &str = ".provguard-ignore.toml";
const LOCK_FILE: &str = ".terraform.lock.hcl";

fn is_upx(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<gobin::GoBinError>(),
            Some(gobin::GoBinError::UpxPacked)
        )
    })
}

pub fn run(args: &GateArgs) -> Result<u8> {
    let outs = outputs(
        args.format,
        &args.output,
        GateFormat::parse,
        GateFormat::Table,
        GateFormat::Json,
    )?;
    let policy = match &args.policy {
        Some(p) => Policy::load(p).map_err(|e| anyhow!("bad policy: {e}"))?,
        None => Policy::builtin(),
    };
    let waivers = match &args.ignore_file {
        Some(p) => Waivers::load(p).map_err(|e| anyhow!("bad waiver file: {e}"))?,
        None if Path::new(WAIVER_FILE).is_file() => {
            Waivers::load(Path::new(WAIVER_FILE)).map_err(|e| anyhow!("bad waiver file: {e}"))?
        }
        None => Waivers::default(),
    };
    let lock_path: Option<PathBuf> = match &args.lock {
        Some(p) => Some(p.clone()),
        None if args.targets.is_empty() && Path::new(LOCK_FILE).is_file() => {
            Some(PathBuf::from(LOCK_FILE))
        }
        None if args.targets.is_empty() => {
            bail!("nothing to check: give provider targets, or --lock FILE (no {LOCK_FILE} here)")
        }
        None => None,
    };
    let lock = lock_path.as_deref().map(LockFile::load).transpose()?;

    let oci = super::oci_options(&args.registry, &args.cache_dir)?;
    let mut targets = source::resolve(&args.targets, &oci)?;
    let mut sink = Sink::new(&policy);

    // Lock file: locate every locked package; it is inventoried with the targets, and its hashes
    // are checked below with what that read already computed.
    let mut packages = Vec::new();
    if let Some(lock) = &lock {
        let local: Vec<_> = targets.iter().filter(|t| !t.oci).cloned().collect();
        packages = lockfile::locate(lock, &local, &oci)?;
        let mut by_path: BTreeMap<PathBuf, (&Target, &str)> = packages
            .iter()
            .map(|p| {
                let address = lock.providers[p.provider].address.as_str();
                (p.target.path.clone(), (&p.target, address))
            })
            .collect();
        for t in &mut targets {
            if let Some((_, a)) = by_path.remove(&t.path) {
                t.naming.address = Some(a.to_string());
            }
        }
        for (_, (t, a)) in by_path {
            let mut t = t.clone();
            t.naming.address = Some(a.to_string());
            targets.push(t);
        }
    }

    // Inventories; a UPX-packed executable is a finding, anything else unreadable an error.
    let limits = Limits {
        max_entry: args.max_entry_size,
        ..Limits::default()
    };
    let mut inventories: Vec<Inventory> = Vec::new();
    let mut known: BTreeMap<PathBuf, Known> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut labels = Vec::new();
    for t in &targets {
        let label = t
            .display
            .clone()
            .unwrap_or_else(|| t.path.display().to_string());
        match pipeline::inventories_of(
            t,
            limits,
            gobin::ReadOptions { hash: true },
            args.registry.sbom_source,
        ) {
            Ok(invs) => {
                if let Some(s) = invs.first().map(|i| &i.subject) {
                    known.insert(
                        t.path.clone(),
                        Known {
                            zh: s.zip_sha256.clone(),
                            exe: s.exe_digest(),
                        },
                    );
                }
                labels.extend(invs.iter().map(|i| i.subject.label.clone()));
                inventories.extend(invs);
            }
            Err(e) if is_upx(&e) && sink.enabled(RuleId::Upx) => {
                labels.push(label.clone());
                let mut about = policy::About {
                    artifact: label,
                    provider: t.naming.address.clone(),
                    provider_type: t.naming.provider_type.clone(),
                    version: t.naming.version.clone(),
                    platform: None,
                    location: None,
                };
                if let Some(z) = t
                    .file_name
                    .as_deref()
                    .or(t.path.file_name().and_then(|n| n.to_str()))
                    .and_then(crate::artifact::naming::parse_zip_name)
                {
                    about.provider_type = Some(z.provider_type);
                    about.version = Some(z.version);
                    about.platform = Some(format!("{}_{}", z.os, z.arch));
                }
                checks::upx(&mut sink, &about);
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    if !failures.is_empty() {
        bail!(
            "cannot decide: {} artifact(s) could not be read:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    let checked = match &lock {
        Some(lock) => policy::lock::check(&mut sink, lock, &packages, &known)?,
        None => Vec::new(),
    };

    // The vulnerability database: required by the vulnerability rule, and fresh enough.
    let vuln_rule = policy.rules.vulnerability.clone();
    let needs_db = sink.enabled(RuleId::Vulnerability)
        || policy
            .rules
            .go_version
            .as_ref()
            .is_some_and(|g| g.require_supported == Some(true) && g.latest.is_none());
    let mut db_info = None;
    let mut latest: Option<GoMinor> = None;
    let mut findings: Vec<Vec<vuln::Finding>> = vec![Vec::new(); inventories.len()];
    if needs_db {
        let opened = open_database(&args.db, &args.cache_dir, &inventories);
        match opened {
            Ok((database, age)) => {
                if sink.enabled(RuleId::Vulnerability) {
                    let max = vuln_rule
                        .as_ref()
                        .and_then(|v| v.max_db_age_days)
                        .unwrap_or(7);
                    match age {
                        Some(d) if d > max => bail!(
                            "cannot decide: the vulnerability database {} is {d} days old, more than the policy's max-db-age-days {max}; run `provguard db update`",
                            database.source
                        ),
                        None => bail!(
                            "cannot decide: the vulnerability database {} does not say when it was last modified",
                            database.source
                        ),
                        _ => {}
                    }
                    for (i, inv) in inventories.iter().enumerate() {
                        findings[i] = vuln::match_inventory(inv, &database);
                    }
                }
                latest = checks::latest_go(&database);
                db_info = Some(DbInfo {
                    source: database.source.clone(),
                    modified: database.modified.clone(),
                    age_days: age,
                });
            }
            Err(e) if sink.enabled(RuleId::Vulnerability) => {
                return Err(e.context(
                    "cannot decide without the vulnerability database (run `provguard db update`, or pass --db)",
                ));
            }
            Err(e) => tracing::warn!(
                "go-version: cannot tell which Go releases are supported ({e:#}); set `latest` in the rule"
            ),
        }
    }
    for (inv, f) in inventories.iter().zip(&findings) {
        checks::inventory(&mut sink, inv, f, latest);
    }

    let mut violations = sink.violations;
    let notes = policy::apply_waivers(&mut violations, &waivers, now());
    // Failing first, then by severity, rule, artifact and id.
    violations.sort_by(|a, b| {
        b.fails()
            .cmp(&a.fails())
            .then(b.severity.cmp(&a.severity))
            .then(a.rule.cmp(&b.rule))
            .then(a.about.artifact.cmp(&b.about.artifact))
            .then(a.id.cmp(&b.id))
    });
    let report = GateReport {
        policy_name: policy.name.clone(),
        policy_source: policy.source.clone(),
        waivers_source: waivers.source.clone(),
        db: db_info,
        artifacts: labels,
        lock_path: lock.as_ref().map(|l| l.path.display().to_string()),
        lock: checked,
        violations,
        notes,
        opts: RenderOptions::from_env(args.deterministic),
    };
    for (format, dest) in &outs {
        dest.write(&report.render(*format), format.name())?;
    }
    let stdout_is_table = outs
        .iter()
        .any(|(f, d)| *f == GateFormat::Table && *d == super::Dest::Stdout);
    if !stdout_is_table {
        eprint!("{}", report.summary());
    }
    Ok(if report.passed() { 0 } else { 1 })
}
