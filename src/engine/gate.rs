//! The pre-merge security gate as a library component: locate every package the lock file pins
//! (and every target given), check lock hashes, inventory each artifact, run the policy's rules,
//! apply waivers, and return the report. It fails closed: anything it cannot read, reach or trust
//! is an error (the CLI's exit 2), never a pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::scan::DbChoice;
use crate::analysis::policy::cfg::{GoMinor, Policy};
use crate::analysis::policy::lock::Known;
use crate::analysis::policy::waivers::Waivers;
use crate::analysis::policy::{self, About, RuleId, Sink, checks};
use crate::analysis::vuln;
use crate::artifact::naming::parse_zip_name;
use crate::artifact::zip::Limits;
use crate::inventory::{Inventory, SbomSource, collect, gobin};
use crate::report::RenderOptions;
use crate::report::findings::DbInfo;
use crate::report::gate::GateReport;
use crate::source::lockfile::{self, LockFile, Package};
use crate::source::{self, SourceOptions, Target};

/// Name of the waiver file looked for in the working directory.
pub const WAIVER_FILE: &str = ".provguard-ignore.toml";
/// Name of the lock file looked for in the working directory.
pub const LOCK_FILE: &str = ".terraform.lock.hcl";

/// What the gate checks, and with what.
#[derive(Debug, Clone)]
pub struct GateOptions {
    pub targets: Vec<PathBuf>,
    /// The lock file; `None` with no targets means `./.terraform.lock.hcl`.
    pub lock: Option<PathBuf>,
    /// Policy file; `None` is the built-in default.
    pub policy: Option<PathBuf>,
    /// Waiver file; `None` is `./.provguard-ignore.toml` when it exists.
    pub ignore_file: Option<PathBuf>,
    /// An earlier audit or gate JSON report: violations it holds do not fail the gate.
    pub baseline: Option<PathBuf>,
    pub source: SourceOptions,
    pub sbom_source: SbomSource,
    pub limits: Limits,
    pub db: DbChoice,
    pub render: RenderOptions,
    /// Read each binary's function table for symbol-level reachability (`--no-symbols`: off).
    pub symbols: bool,
    /// Seconds since the epoch: waiver expiry and database age are judged against it.
    pub now: i64,
}

fn is_upx(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<gobin::GoBinError>(),
            Some(gobin::GoBinError::UpxPacked)
        )
    })
}

pub(crate) fn load_policy(path: Option<&Path>) -> Result<Policy> {
    match path {
        Some(p) => Policy::load(p).map_err(|e| anyhow!("bad policy: {e}")),
        None => Ok(Policy::builtin()),
    }
}

pub(crate) fn load_waivers(path: Option<&Path>) -> Result<Waivers> {
    let path = match path {
        Some(p) => p,
        None if Path::new(WAIVER_FILE).is_file() => Path::new(WAIVER_FILE),
        None => return Ok(Waivers::default()),
    };
    Waivers::load(path).map_err(|e| anyhow!("bad waiver file: {e}"))
}

fn lock_path(opts: &GateOptions) -> Result<Option<PathBuf>> {
    Ok(match &opts.lock {
        Some(p) => Some(p.clone()),
        None if opts.targets.is_empty() && Path::new(LOCK_FILE).is_file() => {
            Some(PathBuf::from(LOCK_FILE))
        }
        None if opts.targets.is_empty() => {
            bail!("nothing to check: give provider targets, or --lock FILE (no {LOCK_FILE} here)")
        }
        None => None,
    })
}

/// Locate every locked package (among the local targets, else in its mirror) and add it to
/// `targets`, each carrying the lock file's provider address.
fn add_locked(
    lock: &LockFile,
    targets: &mut Vec<Target>,
    opts: &SourceOptions,
) -> Result<Vec<Package>> {
    let local: Vec<_> = targets
        .iter()
        .filter(|t| !t.from_registry())
        .cloned()
        .collect();
    let packages = lockfile::locate(lock, &local, opts)?;
    let mut by_path: BTreeMap<PathBuf, (&Target, &str)> = packages
        .iter()
        .map(|p| {
            let address = lock.providers[p.provider].address.as_str();
            (p.target.path.clone(), (&p.target, address))
        })
        .collect();
    for t in targets.iter_mut() {
        if let Some((_, a)) = by_path.remove(&t.path) {
            t.naming.address = Some(a.to_string());
        }
    }
    for (_, (t, a)) in by_path {
        let mut t = t.clone();
        t.naming.address = Some(a.to_string());
        targets.push(t);
    }
    Ok(packages)
}

/// What the gate knows about a target whose executable could not be read.
fn about_target(t: &Target, label: String) -> About {
    let mut about = About {
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
        .and_then(parse_zip_name)
    {
        about.provider_type = Some(z.provider_type);
        about.version = Some(z.version);
        about.platform = Some(format!("{}_{}", z.os, z.arch));
    }
    about
}

/// Inventories of every target, what the lock check needs of each, and the labels; a
/// UPX-packed executable is a finding, anything else unreadable an error.
struct Inventoried {
    inventories: Vec<Inventory>,
    known: BTreeMap<PathBuf, Known>,
    labels: Vec<String>,
}

fn inventory_all(targets: &[Target], opts: &GateOptions, sink: &mut Sink) -> Result<Inventoried> {
    let mut out = Inventoried {
        inventories: Vec::new(),
        known: BTreeMap::new(),
        labels: Vec::new(),
    };
    let mut failures = Vec::new();
    for t in targets {
        let label = t
            .display
            .clone()
            .unwrap_or_else(|| t.path.display().to_string());
        match collect::inventories_of(
            t,
            opts.limits,
            gobin::ReadOptions { hash: true },
            opts.sbom_source,
            opts.symbols,
        ) {
            Ok(invs) => {
                if let Some(s) = invs.first().map(|i| &i.subject) {
                    out.known.insert(
                        t.path.clone(),
                        Known {
                            zh: s.zip_sha256.clone(),
                            exe: s.exe_digest(),
                        },
                    );
                }
                out.labels
                    .extend(invs.iter().map(|i| i.subject.label.clone()));
                out.inventories.extend(invs);
            }
            Err(e) if is_upx(&e) && sink.enabled(RuleId::Upx) => {
                out.labels.push(label.clone());
                checks::upx(sink, &about_target(t, label));
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
    Ok(out)
}

/// The database's findings per inventory, the newest supported Go release it knows, and what
/// it is — when the policy needs it. A database the vulnerability rule needs but cannot have
/// (missing, unreadable, too old, undated) is an error.
struct DbResults {
    findings: Vec<Vec<vuln::Finding>>,
    latest: Option<GoMinor>,
    info: Option<DbInfo>,
}

fn database_results(
    policy: &Policy,
    sink: &Sink,
    inventories: &[Inventory],
    opts: &GateOptions,
) -> Result<DbResults> {
    let mut out = DbResults {
        findings: vec![Vec::new(); inventories.len()],
        latest: None,
        info: None,
    };
    let vuln_enabled = sink.enabled(RuleId::Vulnerability);
    let needs_db = vuln_enabled
        || policy
            .rules
            .go_version
            .as_ref()
            .is_some_and(|g| g.require_supported == Some(true) && g.latest.is_none());
    if !needs_db {
        return Ok(out);
    }
    let (database, age) = match opts.db.open(inventories, opts.now) {
        Ok(x) => x,
        Err(e) if vuln_enabled => {
            return Err(e.context(
                "cannot decide without the vulnerability database (run `provguard db update`, or pass --db)",
            ));
        }
        Err(e) => {
            tracing::warn!(
                "go-version: cannot tell which Go releases are supported ({e:#}); set `latest` in the rule"
            );
            return Ok(out);
        }
    };
    if vuln_enabled {
        let max = policy
            .rules
            .vulnerability
            .as_ref()
            .map_or(policy::cfg::Vulnerability::DEFAULT_MAX_DB_AGE_DAYS, |v| {
                v.max_db_age_days()
            });
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
            out.findings[i] = vuln::match_inventory(inv, &database);
        }
    }
    out.latest = checks::latest_go(&database);
    out.info = Some(DbInfo {
        source: database.source.clone(),
        modified: database.modified.clone(),
        age_days: age,
    });
    Ok(out)
}

/// Run the gate.
pub fn run(opts: &GateOptions) -> Result<GateReport> {
    let policy = load_policy(opts.policy.as_deref())?;
    let waivers = load_waivers(opts.ignore_file.as_deref())?;
    let lock = lock_path(opts)?
        .as_deref()
        .map(LockFile::load)
        .transpose()?;
    let mut targets = source::resolve(&opts.targets, &opts.source)?;
    let mut sink = Sink::new(&policy);
    // The lock check uses the hashes the inventory pass computes: each ZIP is read once.
    let packages = match &lock {
        Some(lock) => add_locked(lock, &mut targets, &opts.source)?,
        None => Vec::new(),
    };
    let inv = inventory_all(&targets, opts, &mut sink)?;
    let checked = match &lock {
        Some(lock) => policy::lock::check(&mut sink, lock, &packages, &inv.known)?,
        None => Vec::new(),
    };
    let db = database_results(&policy, &sink, &inv.inventories, opts)?;
    for (i, findings) in inv.inventories.iter().zip(&db.findings) {
        checks::inventory(&mut sink, i, findings, db.latest);
    }
    let mut violations = sink.violations;
    let notes = policy::apply_waivers(&mut violations, &waivers, opts.now);
    if let Some(b) = &opts.baseline {
        let n = super::baseline::Baseline::load(b)?.apply(&mut violations);
        tracing::info!(
            "{n} violation(s) accepted as present in the baseline {}",
            b.display()
        );
    }
    // Failing first, then by severity, rule, artifact and id.
    violations.sort_by(|a, b| {
        b.fails()
            .cmp(&a.fails())
            .then(b.severity.cmp(&a.severity))
            .then(a.rule.cmp(&b.rule))
            .then(a.about.artifact.cmp(&b.about.artifact))
            .then(a.id.cmp(&b.id))
    });
    Ok(GateReport {
        policy_name: policy.name.clone(),
        policy_source: policy.source.clone(),
        waivers_source: waivers.source.clone(),
        db: db.info,
        provenance: inv
            .inventories
            .iter()
            .filter_map(|i| Some((i.subject.label.clone(), i.subject.provenance.clone()?)))
            .collect(),
        artifacts: inv.labels,
        lock_path: lock.as_ref().map(|l| l.path.display().to_string()),
        lock: checked,
        violations,
        notes,
        opts: opts.render.clone(),
    })
}
