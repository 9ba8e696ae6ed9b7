//! From a source's target to its inventories: open the artifact, stream the executable once
//! while the ZIP's own SHA-256 (the lock file's `zh:`) is computed on another thread (a
//! registry ZIP's is its verified layer digest) — reading
//! its buildinfo and, unless switched off, its function table in the same pass — build the
//! model, and choose between the attached SBOM and the buildinfo (recording drift; the binary's
//! function table stays with the inventory either way).

use std::sync::Arc;

use anyhow::{Context, Result};

use super::symbols::{self, ImageSymbols, SymbolsError};
use super::{FunctionTable, Inventory, Origin, SbomSource, gobin, sbom_in};
use crate::artifact::{self, Artifact, zip::Limits};
use crate::source::Target;

/// Inventory every Go image of one target.
pub fn inventories_of(
    target: &Target,
    limits: Limits,
    opts: gobin::ReadOptions,
    source: SbomSource,
    with_symbols: bool,
) -> Result<Vec<Inventory>> {
    inventories_with_zip_hash(target, limits, opts, source, with_symbols, None)
}

/// [`inventories_of`], taking the ZIP's SHA-256 (lowercase hex) as `zip_sha256` when the
/// caller hashed those bytes already (a download verified as it streamed into the cache)
/// instead of reading the ZIP a second time.
pub fn inventories_with_zip_hash(
    target: &Target,
    limits: Limits,
    opts: gobin::ReadOptions,
    source: SbomSource,
    with_symbols: bool,
    zip_sha256: Option<String>,
) -> Result<Vec<Inventory>> {
    let mut art = Artifact::open(&target.path, limits)?;
    merge_naming(&mut art.naming, &target.naming);
    art.display = target.display.clone();
    art.registry = target.registry.clone();
    art.provenance = target.provenance.clone();
    if let (Some(z), Some(name)) = (art.zip.as_mut(), &target.file_name) {
        z.file_name = name.clone();
    }
    let label = art.label();
    let zip_path = art.zip.as_ref().map(|z| z.path.clone());
    // The ZIP's own hash (the lock file's `zh:`): the caller's (a download hashed as it
    // streamed), or a registry layer's digest, verified against these very bytes when they
    // entered the blob cache (or when a cached copy was taken); otherwise the scanning thread
    // computes it while it waits for inflated bytes.
    let verified = zip_sha256.filter(|_| zip_path.is_some()).or_else(|| {
        target
            .registry
            .as_ref()
            .and_then(|r| r.layer_digest.strip_prefix("sha256:"))
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| zip_path.as_deref() == Some(target.path.as_path()))
            .map(str::to_ascii_lowercase)
    });
    let mut zip_hash = match zip_path.as_ref().filter(|_| verified.is_none()) {
        Some(p) => Some(
            artifact::HashingFile::open(p)
                .with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let mut step = zip_hash.as_mut().map(|h| move || h.step());
    let idle = step
        .as_mut()
        .map(|s| s as &mut (dyn FnMut() -> std::io::Result<bool> + Send));
    let (exe, syms) = match (with_symbols, idle) {
        (true, idle) => {
            let (exe, syms) = symbols::read_with_buildinfo(art.source.as_ref(), opts, idle);
            (exe, Some(syms))
        }
        (false, Some(idle)) => (
            gobin::read_with_idle(art.source.as_ref(), opts, Some(idle)),
            None,
        ),
        (false, None) => (gobin::read(art.source.as_ref(), opts), None),
    };
    let exe = exe.with_context(|| label.clone())?;
    let zip_sha = match verified {
        Some(v) => Some(v),
        None => zip_hash
            .map(|h| h.finish())
            .transpose()
            .with_context(|| format!("cannot hash {}", target.path.display()))?,
    };
    let mut invs = Inventory::from_executable(&art, &exe, zip_sha);
    attach_functions(&mut invs, syms);
    if target.from_registry() {
        for inv in &mut invs {
            apply_attached(inv, target, source)?;
        }
    }
    Ok(invs)
}

/// Give each image's inventory its function table, or the reason it has none.
fn attach_functions(invs: &mut [Inventory], syms: Option<Result<Vec<ImageSymbols>, SymbolsError>>) {
    let tables = match syms {
        None => {
            for inv in invs.iter_mut() {
                inv.functions = FunctionTable::NotRead("--no-symbols".into());
            }
            return;
        }
        Some(Err(e)) => {
            for inv in invs.iter_mut() {
                inv.functions = FunctionTable::Unreadable(e.to_string());
            }
            return;
        }
        Some(Ok(t)) => t,
    };
    let mut tables: Vec<Option<ImageSymbols>> = tables.into_iter().map(Some).collect();
    for inv in invs.iter_mut() {
        let offset = inv.subject.slice_offset.unwrap_or(0);
        inv.functions = match tables
            .iter_mut()
            .find(|t| t.as_ref().is_some_and(|t| t.offset == offset))
            .and_then(Option::take)
        {
            Some(t) => FunctionTable::Read(Arc::new(t)),
            None => FunctionTable::Unreadable(format!(
                "no Go function table found for the image at offset {offset}"
            )),
        };
    }
}

/// Choose the inventory of a registry artifact: its attached SBOM (`auto`, `attached`) or its
/// buildinfo (`binary`, or `auto` without a usable SBOM), and record why and any drift.
fn apply_attached(inv: &mut Inventory, target: &Target, source: SbomSource) -> Result<()> {
    let label = inv.subject.label.clone();
    if source == SbomSource::Binary {
        inv.origin = Origin::Buildinfo {
            note: Some("--sbom-source binary".into()),
        };
        return Ok(());
    }
    if target.attached.is_empty() {
        if source == SbomSource::Attached {
            anyhow::bail!(
                "{label}: no SBOM attached (looked for the referrers tag and cosign's .sbom tag on the platform manifest and the index); --sbom-source attached requires one"
            );
        }
        inv.origin = Origin::Buildinfo {
            note: Some("no SBOM attached".into()),
        };
        return Ok(());
    }
    let mut problems = Vec::new();
    for a in &target.attached {
        match sbom_in::parse(&a.bytes) {
            Ok(sbom) => {
                let binary: Vec<_> = std::iter::once(inv.main.clone())
                    .chain(inv.modules.iter().cloned())
                    .collect();
                inv.drift = sbom_in::drift(&binary, &sbom.modules);
                inv.licenses = sbom.licenses;
                let main = inv.main.path.clone();
                inv.modules = sbom
                    .modules
                    .into_iter()
                    .filter(|m| m.path != main)
                    .collect();
                inv.origin = Origin::AttachedSbom {
                    format: format!("{} {}", sbom.kind.as_str(), sbom.spec),
                    manifest: a.manifest_digest.clone(),
                    subject: a.subject.clone(),
                    level: a.level,
                    via: a.via,
                };
                return Ok(());
            }
            Err(why) => problems.push(format!(
                "attached SBOM {} ({}) is unusable: {why}",
                a.manifest_digest, a.media_type
            )),
        }
    }
    if source == SbomSource::Attached {
        anyhow::bail!("{label}: {}", problems.join("; "));
    }
    inv.origin = Origin::Buildinfo {
        note: Some(problems.join("; ")),
    };
    Ok(())
}

fn merge_naming(into: &mut artifact::Naming, from: &artifact::Naming) {
    let fill = |a: &mut Option<String>, b: &Option<String>| {
        if b.is_some() {
            *a = b.clone();
        }
    };
    fill(&mut into.provider_type, &from.provider_type);
    fill(&mut into.version, &from.version);
    fill(&mut into.os, &from.os);
    fill(&mut into.arch, &from.arch);
    fill(&mut into.address, &from.address);
}

/// Inventory every target; all or nothing — one failure names every failing target and no
/// inventory is returned, so nothing gets written.
pub fn collect(
    targets: &[Target],
    limits: Limits,
    opts: gobin::ReadOptions,
    source: SbomSource,
    with_symbols: bool,
) -> Result<Vec<Inventory>> {
    let mut inventories = Vec::new();
    let mut failures = Vec::new();
    for t in targets {
        match inventories_of(t, limits, opts, source, with_symbols) {
            Ok(inv) => inventories.extend(inv),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    match failures.len() {
        0 => Ok(inventories),
        1 => anyhow::bail!("{}", failures[0]),
        n => anyhow::bail!(
            "{n} targets failed, nothing written:\n  {}",
            failures.join("\n  ")
        ),
    }
}
