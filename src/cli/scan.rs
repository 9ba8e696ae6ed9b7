//! `provguard scan`: inventory every target, match it against the offline vulnerability
//! database, and write one or several reports (`--format`, `--output FORMAT=PATH`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::ScanArgs;
use crate::analysis::vuln::{self, Database, db};
use crate::artifact::zip::Limits;
use crate::inventory::gobin;
use crate::report::findings::{ArtifactScan, DbInfo, ScanFormat, ScanReport};
use crate::report::{RenderOptions, output::write_atomic, time};
use crate::{pipeline, source};

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

/// `--format` plus every `--output [FORMAT=]PATH`.
pub fn outputs(args: &ScanArgs) -> Result<Vec<(ScanFormat, Dest)>> {
    let default = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        ScanFormat::Table
    } else {
        ScanFormat::Json
    });
    let mut outs = Vec::new();
    for o in &args.output {
        match o
            .split_once('=')
            .and_then(|(f, p)| ScanFormat::parse(f).map(|f| (f, p)))
        {
            Some((f, p)) => outs.push((
                f,
                if p == "-" {
                    Dest::Stdout
                } else {
                    Dest::File(p.into())
                },
            )),
            None => outs.push((default, Dest::File(o.into()))),
        }
    }
    if outs.is_empty()
        || (args.format.is_some() && !outs.iter().any(|(f, _)| Some(*f) == args.format))
    {
        outs.push((default, Dest::Stdout));
    }
    if outs.iter().filter(|(_, d)| *d == Dest::Stdout).count() > 1 {
        bail!("only one report can go to stdout; give the others a file with --output FORMAT=PATH");
    }
    Ok(outs)
}

pub fn run(args: &ScanArgs) -> Result<u8> {
    let outs = outputs(args)?;
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
    let db_path = args.db.clone().unwrap_or_else(|| {
        source::vulndb::current_path(&args.cache_dir.clone().unwrap_or_else(db::default_cache_dir))
    });
    let wanted = inventories.iter().flat_map(vuln::packages_of).collect();
    let database = Database::open(&db_path, Some(&wanted))?;
    let opts = RenderOptions::from_env(args.deterministic);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let age_days = database
        .modified
        .as_deref()
        .and_then(time::parse_rfc3339)
        .map(|m| (now - m).div_euclid(86_400));
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
        let body = report.render(*format);
        match dest {
            Dest::Stdout => std::io::stdout().lock().write_all(&body)?,
            Dest::File(p) => {
                write_atomic(p, &body).with_context(|| format!("cannot write {}", p.display()))?;
                tracing::info!("wrote {} report to {}", format.name(), p.display());
            }
        }
    }
    let affected = report.affected_total();
    Ok(match args.exit_code {
        Some(code) if affected > 0 => code,
        _ => 0,
    })
}
