//! `provguard report merge` (shard reports → the unsharded report) and `provguard report
//! diff` (two audits → new, fixed and changed findings, new and removed packages).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use super::outputs;
use crate::engine::audit::merge;
use crate::foundation::named::Named;
use crate::report::audit::diff::{AuditDiff, DiffFormat};
use crate::report::audit::{AuditFormat, AuditReport};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join `audit --shard K/N` JSON reports into the report an unsharded audit writes.
    Merge(MergeArgs),
    /// Compare two audit JSON reports: new, fixed and changed findings, new and removed packages.
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' JSON reports (every shard of one audit).
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    /// Report format for stdout (default: table on a terminal, json otherwise).
    #[arg(short, long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Write a report to a file: FORMAT=PATH (repeatable; PATH `-` is stdout), or PATH for --format.
    #[arg(short, long, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// Report format for stdout (default: table on a terminal, json otherwise).
    #[arg(short, long, value_enum)]
    pub format: Option<DiffFormat>,
    /// Write a report to a file: FORMAT=PATH (repeatable; PATH `-` is stdout), or PATH for --format.
    #[arg(short, long, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
}

/// Read an audit JSON report.
pub fn load(path: &PathBuf) -> Result<AuditReport> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    AuditReport::parse(&bytes, &path.display().to_string())
}

pub fn run(c: &ReportCommand) -> Result<u8> {
    match c {
        ReportCommand::Merge(a) => {
            let outs = outputs(
                a.format,
                &a.output,
                AuditFormat::parse,
                AuditFormat::Table,
                AuditFormat::Json,
            )?;
            let merged = merge::merge(a.shards.iter().map(load).collect::<Result<_>>()?)?;
            for (format, dest) in &outs {
                dest.write(&merged.render(*format), format.name())?;
            }
            Ok(if merged.policy_failed() { 1 } else { 0 })
        }
        ReportCommand::Diff(a) => {
            let outs = outputs(
                a.format,
                &a.output,
                DiffFormat::parse,
                DiffFormat::Table,
                DiffFormat::Json,
            )?;
            let d = AuditDiff::of(&load(&a.old)?, &load(&a.new)?);
            for (format, dest) in &outs {
                dest.write(&d.render(*format), format.name())?;
            }
            Ok(0)
        }
    }
}
