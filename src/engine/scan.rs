//! The scan: inventory every target (all or nothing), open the vulnerability database with
//! what those inventories need, and match each inventory against it.

use std::path::PathBuf;

use anyhow::Result;

use crate::analysis::vuln::{self, Database, Finding};
use crate::artifact::zip::Limits;
use crate::foundation::{dirs, time};
use crate::inventory::{Inventory, SbomSource, collect, gobin};
use crate::report::findings::DbInfo;
use crate::source::{self, SourceOptions};

/// Which vulnerability database: `--db`, else the one `db update` keeps in the cache directory.
#[derive(Debug, Clone, Default)]
pub struct DbChoice {
    pub path: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
}

impl DbChoice {
    pub fn path(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| {
            source::vulndb::current_path(
                &self
                    .cache_dir
                    .clone()
                    .unwrap_or_else(dirs::default_cache_dir),
            )
        })
    }

    /// Open the database with what `inventories` need, and say how many days old it is.
    pub fn open(&self, inventories: &[Inventory], now: i64) -> Result<(Database, Option<i64>)> {
        let wanted = inventories.iter().flat_map(vuln::packages_of).collect();
        let database = Database::open(&self.path(), Some(&wanted))?;
        let age_days = database
            .modified
            .as_deref()
            .and_then(time::parse_rfc3339)
            .map(|m| (now - m).div_euclid(86_400));
        Ok((database, age_days))
    }
}

/// What a scan reads.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub source: SourceOptions,
    pub sbom_source: SbomSource,
    pub limits: Limits,
    pub db: DbChoice,
    /// Warn when the database is older than this many days.
    pub db_max_age: i64,
    /// Read each binary's function table for symbol-level reachability (`--no-symbols`: off).
    pub symbols: bool,
    /// Hash each executable (the report's `executableSha256`); ZIP entries are hashed anyway.
    pub executable_hash: bool,
}

/// One artifact's inventory and its findings.
pub struct Scanned {
    pub inventory: Inventory,
    pub findings: Vec<Finding>,
}

/// What a scan found, and with which database.
pub struct Scan {
    pub artifacts: Vec<Scanned>,
    pub db: DbInfo,
}

/// Inventory `targets` (all or nothing: one unreadable target fails the scan).
pub fn inventories(targets: &[PathBuf], opts: &ScanOptions) -> Result<Vec<Inventory>> {
    let targets = source::resolve(targets, &opts.source)?;
    collect::collect(
        &targets,
        opts.limits,
        gobin::ReadOptions {
            hash: opts.executable_hash,
        },
        opts.sbom_source,
        opts.symbols,
    )
}

/// Match `inventories` against the database.
pub fn scan(inventories: Vec<Inventory>, opts: &ScanOptions, now: i64) -> Result<Scan> {
    let (database, age_days) = opts.db.open(&inventories, now)?;
    match age_days {
        Some(d) if d > opts.db_max_age => tracing::warn!(
            "the vulnerability database is {d} days old (more than --db-max-age {}); run `provguard db update`",
            opts.db_max_age
        ),
        None => tracing::warn!("the vulnerability database does not say when it was last modified"),
        _ => {}
    }
    let artifacts = inventories
        .into_iter()
        .map(|inventory| Scanned {
            findings: vuln::match_inventory(&inventory, &database),
            inventory,
        })
        .collect();
    Ok(Scan {
        artifacts,
        db: DbInfo {
            source: database.source.clone(),
            modified: database.modified.clone(),
            age_days,
        },
    })
}
