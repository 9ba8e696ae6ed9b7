//! `provguard scan`: inventory every target, match it against the offline vulnerability
//! database, and write one or several reports (`--format`, `--output FORMAT=PATH`).

use anyhow::{Result, bail};

use std::path::PathBuf;

use super::{ScanArgs, outputs};
use crate::analysis::vuln::{self, Database, db};
use crate::artifact::zip::Limits;
use crate::inventory::{Inventory, gobin};
use crate::report::findings::{ArtifactScan, DbInfo, ScanFormat, ScanReport};
use crate::report::{RenderOptions, time};
use crate::{pipeline, source};

pub fn run(args: &ScanArgs) -> Result<u8> {
    let outs = outputs(
        args.format,
        &args.output,
        ScanFormat::parse,
        ScanFormat::Table,
        ScanFormat::Json,
    )?;
    let oci = super::oci_options(&args.registry, &args.cache_dir)?;
    let targets = source::resolve(&args.targets, &oci)?;
    let limits = Limits {
        max_entry: args.max_entry_size,
        ..Limits::default()
    };
    let inventories = pipeline::collect(
        &targets,
        limits,
        gobin::ReadOptions { hash: true },
        args.registry.sbom_source,
    )?;
    if inventories.len() > 1 && outs.iter().any(|(f, _)| *f == ScanFormat::CycloneDx) {
        bail!(
            "the cyclonedx report embeds one SBOM, but {} artifacts were found; scan them one at a time",
            inventories.len()
        );
    }
    let (database, age_days) = open_database(&args.db, &args.cache_dir, &inventories)?;
    let opts = RenderOptions::from_env(args.deterministic);
    match age_days {
        Some(d) if d > args.db_max_age => tracing::warn!(
            "the vulnerability database is {d} days old (more than --db-max-age {}); run `provguard db update`",
            args.db_max_age
        ),
        None => tracing::warn!("the vulnerability database does not say when it was last modified"),
        _ => {}
    }
    let artifacts: Vec<ArtifactScan> = inventories
        .into_iter()
        .map(|inv| {
            let findings = vuln::match_inventory(&inv, &database);
            let sbom_serial = opts.serial(&inv, "cyclonedx");
            ArtifactScan {
                inventory: inv,
                findings,
                sbom_serial,
            }
        })
        .collect();
    let report = ScanReport {
        db: DbInfo {
            source: database.source.clone(),
            modified: database.modified.clone(),
            age_days,
        },
        artifacts,
        opts,
    };
    for (format, dest) in &outs {
        dest.write(&report.render(*format), format.name())?;
    }
    let affected = report.affected_total();
    Ok(match args.exit_code {
        Some(code) if affected > 0 => code,
        _ => 0,
    })
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Open `--db` (default: the one `db update` keeps in the cache) with what `inventories` need,
/// and say how many days old it is.
pub fn open_database(
    db: &Option<PathBuf>,
    cache_dir: &Option<PathBuf>,
    inventories: &[Inventory],
) -> Result<(Database, Option<i64>)> {
    let db_path = db.clone().unwrap_or_else(|| {
        source::vulndb::current_path(&cache_dir.clone().unwrap_or_else(db::default_cache_dir))
    });
    let wanted = inventories.iter().flat_map(vuln::packages_of).collect();
    let database = Database::open(&db_path, Some(&wanted))?;
    let age_days = database
        .modified
        .as_deref()
        .and_then(time::parse_rfc3339)
        .map(|m| (now() - m).div_euclid(86_400));
    Ok((database, age_days))
}
