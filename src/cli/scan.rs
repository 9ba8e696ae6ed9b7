//! `provguard scan`: flags → [`crate::engine::scan`] → one or several reports (`--format`,
//! `--output FORMAT=PATH`) → the exit code (`--exit-code` when anything is affected).

use anyhow::{Result, bail};

use super::{ScanArgs, outputs};
use crate::engine::{self, scan};
use crate::foundation::named::Named;
use crate::report::findings::{ArtifactScan, ScanFormat, ScanReport};

pub fn run(args: &ScanArgs) -> Result<u8> {
    let outs = outputs(
        args.format,
        &args.output,
        ScanFormat::parse,
        ScanFormat::Table,
        ScanFormat::Json,
    )?;
    let opts = scan::ScanOptions {
        source: super::source_options(&args.registry, &args.cache_dir)?,
        sbom_source: args.registry.sbom_source,
        limits: args.analysis.limits(),
        db: super::AnalysisArgs::db(&args.db, &args.cache_dir),
        db_max_age: args.db_max_age,
        symbols: !args.analysis.no_symbols,
        executable_hash: !args.no_executable_hash,
    };
    let inventories = scan::inventories(&args.targets, &opts)?;
    if inventories.len() > 1 && outs.iter().any(|(f, _)| *f == ScanFormat::CycloneDx) {
        bail!(
            "the cyclonedx report embeds one SBOM, but {} artifacts were found; scan them one at a time",
            inventories.len()
        );
    }
    let result = scan::scan(inventories, &opts, engine::now())?;
    let render = args.analysis.render();
    let report = ScanReport {
        db: result.db,
        artifacts: result
            .artifacts
            .into_iter()
            .map(|a| ArtifactScan {
                sbom_serial: render.serial(&a.inventory, "cyclonedx"),
                inventory: a.inventory,
                findings: a.findings,
            })
            .collect(),
        opts: render,
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
