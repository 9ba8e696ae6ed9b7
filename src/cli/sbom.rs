//! `provguard sbom`: inventory every target, then write one document per artifact.

use std::io::Write;

use anyhow::{Result, bail};

use super::SbomArgs;
use crate::artifact::zip::Limits;
use crate::inventory::collect;
use crate::inventory::gobin;
use crate::report::{self, RenderOptions, SbomFormat, output::write_atomic};
use crate::source;

pub fn run(args: &SbomArgs) -> Result<u8> {
    let oci = super::source_options(&args.registry, &args.cache_dir)?;
    let targets = source::resolve(&args.targets, &oci)?;
    let limits = Limits {
        max_entry: args.max_entry_size,
        ..Limits::default()
    };
    let read_opts = gobin::ReadOptions {
        hash: !args.no_executable_hash,
    };
    // All or nothing: every target is read before anything is written.
    let inventories = collect::collect(
        &targets,
        limits,
        read_opts,
        args.registry.sbom_source,
        false,
    )?;
    for inv in &inventories {
        tracing::info!(
            "{}: {} modules from {}, main version from {}",
            inv.subject.label,
            inv.modules.len(),
            inv.origin.as_str(),
            inv.main_version_source.as_str()
        );
    }
    if args.compare {
        let mut out = String::new();
        for inv in &inventories {
            out.push_str(&format!(
                "{}\n  inventory: {}\n",
                inv.subject.label,
                inv.origin.detail()
            ));
            if !matches!(inv.origin, crate::inventory::Origin::AttachedSbom { .. }) {
                out.push_str("  drift: nothing to compare (no attached SBOM in use)\n");
            } else if inv.drift.is_empty() {
                out.push_str("  drift: none — the attached SBOM matches the binary\n");
            }
            for d in &inv.drift {
                out.push_str(&format!("  drift: {}\n", d.describe()));
            }
        }
        std::io::stdout().lock().write_all(out.as_bytes())?;
        return Ok(0);
    }
    let opts = RenderOptions::from_env(args.deterministic);
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir)?;
        let mut used = std::collections::BTreeSet::new();
        for inv in &inventories {
            let stem = inv.output_stem();
            let mut name = format!("{stem}.{}", args.format.extension());
            let mut n = 1;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{stem}-{n}.{}", args.format.extension());
            }
            write_atomic(&dir.join(&name), &report::render(inv, args.format, &opts))?;
            eprintln!("wrote {}", dir.join(&name).display());
        }
        return Ok(0);
    }
    let body = if inventories.len() == 1 {
        report::render(&inventories[0], args.format, &opts)
    } else if args.format == SbomFormat::Table {
        inventories
            .iter()
            .flat_map(|i| report::render(i, args.format, &opts))
            .collect()
    } else {
        let names: Vec<String> = inventories.iter().map(|i| i.output_stem()).collect();
        bail!(
            "{} artifacts found ({}): one SBOM each; pass --output-dir DIR to write them all",
            inventories.len(),
            names.join(", ")
        );
    };
    match &args.output {
        Some(path) => write_atomic(path, &body)?,
        None => std::io::stdout().lock().write_all(&body)?,
    }
    Ok(0)
}
