//! `provguard audit`: flags → [`crate::engine::audit`] → reports (`--format`,
//! `--output FORMAT=PATH`) → exit 0, or 1 when `--policy` is given and fails.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{AnalysisArgs, RegistryArgs, outputs};
use crate::engine;
use crate::engine::audit::{self, AuditOptions, shard};
use crate::foundation::named::Named;
use crate::report::audit::AuditFormat;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// oci://HOST/PREFIX (every repository under PREFIX in the registry's catalog, every
    /// version tag, every platform), oci://HOST/REPO:TAG, a directory tree holding
    /// .terraform.lock.hcl files (every locked provider, located as `gate` locates them), a
    /// filesystem mirror or dist/ directory, or any target `scan` takes.
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Vulnerability database (default: the one `provguard db update` keeps in the cache).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Policy file: its rules (and waivers) judge every artifact; a failure exits 1.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Waiver file for --policy (default: ./.provguard-ignore.toml when it exists).
    #[arg(long, value_name = "FILE", requires = "policy")]
    pub ignore_file: Option<PathBuf>,
    /// Artifacts fetched and analysed at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Audit the stable K-th of N shares of the artifacts (by identity); join the shards'
    /// JSON reports with `provguard report merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Report format for stdout (default: table on a terminal, json otherwise).
    #[arg(short, long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Write a report to a file: FORMAT=PATH (repeatable; PATH `-` is stdout), or PATH for --format.
    #[arg(short, long, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
    /// Write per artifact its CycloneDX SBOM, OpenVEX, CycloneDX VEX and scan JSON, and an
    /// index.json, into DIR (every artifact is analysed: the results cache is not read).
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Catalog page size (the `n` of /v2/_catalog).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub catalog_page_size: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Cache directory: the vulnerability database, OCI blobs and audit results.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `talk`: not `--quiet` (the progress bar on a terminal, the summary line on stderr).
pub fn run(args: &AuditArgs, talk: bool) -> Result<u8> {
    let outs = outputs(
        args.format,
        &args.output,
        AuditFormat::parse,
        AuditFormat::Table,
        AuditFormat::Json,
    )?;
    let shard = args.shard.as_deref().map(shard::parse).transpose()?;
    let jobs = match args.jobs {
        Some(0) => anyhow::bail!("--jobs must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(crate::foundation::dirs::default_cache_dir);
    let report = audit::run(&AuditOptions {
        sources: args.sources.clone(),
        source: super::source_options(&args.registry, &args.cache_dir)?,
        sbom_source: args.registry.sbom_source,
        limits: args.analysis.limits(),
        db: AnalysisArgs::db(&args.db, &args.cache_dir),
        policy: args.policy.clone(),
        ignore_file: args.ignore_file.clone(),
        jobs,
        shard,
        symbols: !args.analysis.no_symbols,
        results_cache: (!args.registry.connect.no_cache).then_some(cache_dir),
        page_size: args.catalog_page_size,
        evidence_dir: args.evidence_dir.clone(),
        render: args.analysis.render(),
        now: engine::now(),
        progress: talk && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    })?;
    for (format, dest) in &outs {
        dest.write(&report.render(*format), format.name())?;
    }
    if talk {
        eprintln!(
            "audit: {} artifact(s), {} provider(s), {} version(s); results cache {} hit(s), {} miss(es){}",
            report.summary.artifacts,
            report.summary.providers,
            report.summary.versions,
            report.cache.hits,
            report.cache.misses,
            match &report.summary.policy {
                Some(p) if p.passed => "; policy passed".to_string(),
                Some(p) => format!("; policy FAILED ({} violation(s))", p.failing),
                None => String::new(),
            }
        );
    }
    Ok(if report.policy_failed() { 1 } else { 0 })
}
