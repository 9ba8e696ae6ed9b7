//! Glue from a target to its inventories: open the artifact, stream the executable once while the
//! ZIP's own SHA-256 (the lock file's `zh:`) is computed on another thread, and build the model.

use anyhow::{Context, Result};

use crate::artifact::{self, Artifact, zip::Limits};
use crate::inventory::{Inventory, gobin};
use crate::source::Target;

/// Inventory every Go image of one target.
pub fn inventories(
    target: &Target,
    limits: Limits,
    opts: gobin::ReadOptions,
) -> Result<Vec<Inventory>> {
    let mut art = Artifact::open(&target.path, limits)?;
    merge_naming(&mut art.naming, &target.naming);
    let label = art.label();
    let zip_path = art.zip.as_ref().map(|z| z.path.clone());
    let (exe, zip_sha) = std::thread::scope(|s| {
        let zip_hash = zip_path
            .as_ref()
            .map(|p| s.spawn(move || artifact::sha256_file(p)));
        let exe = gobin::read(art.source.as_ref(), opts);
        let zip_sha = zip_hash.map(|h| h.join().expect("hash thread does not panic"));
        (exe, zip_sha)
    });
    let exe = exe.with_context(|| label.clone())?;
    let zip_sha = zip_sha
        .transpose()
        .with_context(|| format!("cannot hash {}", target.path.display()))?;
    Ok(Inventory::from_executable(&art, &exe, zip_sha))
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
