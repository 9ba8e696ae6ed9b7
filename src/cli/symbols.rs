//! `provguard symbols`: the Go functions an executable contains, read from its function table
//! (pclntab, which `-s -w` keeps), with how the table and each function were found.

use std::collections::BTreeMap;
use std::io::Write;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;

use crate::artifact::{Artifact, zip::Limits};
use crate::inventory::symbols::{self, ImageSymbols, SymbolKind};
use crate::source::SourceOptions;

#[derive(Debug, Args)]
pub struct SymbolsArgs {
    /// Executables, provider ZIPs, or directories to walk.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// Only this package (repeatable; `PATH/...` for everything below PATH).
    #[arg(long, value_name = "PATH")]
    pub package: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: SymbolsFormat,
}

/// How `symbols` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SymbolsFormat {
    Table,
    Json,
}

pub fn run(args: &SymbolsArgs) -> Result<u8> {
    let targets = crate::source::resolve(&args.targets, &SourceOptions::default())?;
    let mut out = std::io::stdout().lock();
    let mut docs = Vec::new();
    for t in &targets {
        let art = Artifact::open(&t.path, Limits::default())?;
        let images = symbols::read(art.source.as_ref()).with_context(|| art.label())?;
        let label = art.label();
        match args.format {
            SymbolsFormat::Table => {
                for img in &images {
                    write_table(&mut out, &label, img, &args.package)?;
                }
            }
            SymbolsFormat::Json => docs.push(json!({
                "target": label,
                "images": images.iter().map(|i| image_json(i, &args.package)).collect::<Vec<_>>(),
            })),
        }
    }
    if args.format == SymbolsFormat::Json {
        serde_json::to_writer_pretty(&mut out, &json!({ "targets": docs }))?;
        writeln!(out)?;
    }
    Ok(0)
}

/// `--package P` keeps package P; `P/...` keeps P and everything below it.
fn wanted(filter: &[String], pkg: &str) -> bool {
    filter.is_empty()
        || filter.iter().any(|f| match f.strip_suffix("/...") {
            Some(p) => pkg == p || pkg.strip_prefix(p).is_some_and(|r| r.starts_with('/')),
            None => pkg == f,
        })
}

fn packages(
    img: &ImageSymbols,
    filter: &[String],
) -> BTreeMap<String, BTreeMap<String, SymbolKind>> {
    let mut all = img.sorted();
    all.retain(|p, _| wanted(filter, p));
    all
}

fn summary(img: &ImageSymbols) -> String {
    let plat = format!(
        "{}/{}",
        img.goos.as_deref().unwrap_or("?"),
        img.goarch.as_deref().unwrap_or("?")
    );
    let mut s = format!(
        "{} {plat}, pclntab {} format ({}) at {:#x}, found by {}",
        img.format,
        img.table_version,
        img.table_version.go_versions(),
        img.table_offset,
        img.found_by
    );
    if let (Some(md), false) = (
        img.moduledata,
        matches!(img.found_by, symbols::FoundBy::ModuleData(_)),
    ) {
        s.push_str(&format!(", moduledata at {md:#x}"));
    }
    s.push_str(&format!(
        "; {} functions, {} symbols",
        img.functions,
        img.symbol_count()
    ));
    s
}

fn write_table(
    out: &mut dyn Write,
    label: &str,
    img: &ImageSymbols,
    filter: &[String],
) -> std::io::Result<()> {
    writeln!(out, "{label}: {}", summary(img))?;
    for (pkg, syms) in packages(img, filter) {
        writeln!(out, "  {pkg}")?;
        let width = syms.keys().map(|s| s.chars().count()).max().unwrap_or(0);
        for (sym, kind) in syms {
            writeln!(out, "    {sym:<width$}  {kind}")?;
        }
    }
    Ok(())
}

fn image_json(img: &ImageSymbols, filter: &[String]) -> serde_json::Value {
    json!({
        "format": img.format.to_string(),
        "offset": img.offset,
        "goos": img.goos,
        "goarch": img.goarch,
        "table_version": img.table_version,
        "table_offset": img.table_offset,
        "found_by": img.found_by.kind(),
        "found_by_detail": img.found_by.to_string(),
        "moduledata_offset": img.moduledata,
        "functions": img.functions,
        "packages": packages(img, filter),
    })
}
