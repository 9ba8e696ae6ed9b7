//! `provguard gate`: flags → [`crate::engine::gate`] → reports → exit 0 (passed), 1 (violated)
//! or 2 (cannot decide: any error).

use anyhow::Result;

use super::{GateArgs, outputs};
use crate::engine::{self, gate};
use crate::foundation::named::Named;
use crate::report::gate::GateFormat;

pub fn run(args: &GateArgs) -> Result<u8> {
    let outs = outputs(
        args.format,
        &args.output,
        GateFormat::parse,
        GateFormat::Table,
        GateFormat::Json,
    )?;
    let report = gate::run(&gate::GateOptions {
        targets: args.targets.clone(),
        lock: args.lock.clone(),
        policy: args.policy.clone(),
        ignore_file: args.ignore_file.clone(),
        baseline: args.baseline.clone(),
        source: super::source_options(&args.registry, &args.cache_dir)?,
        sbom_source: args.registry.sbom_source,
        limits: args.analysis.limits(),
        db: super::AnalysisArgs::db(&args.db, &args.cache_dir),
        render: args.analysis.render(),
        symbols: !args.analysis.no_symbols,
        now: engine::now(),
    })?;
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
