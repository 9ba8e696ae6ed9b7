//! `provguard buildinfo`: `go version -m` parity output, one block per executable image.

use std::io::Write;

use anyhow::{Context, Result};

use super::BuildinfoArgs;
use crate::artifact::{Artifact, zip::Limits};
use crate::inventory::gobin;

pub fn run(args: &BuildinfoArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    for f in &args.files {
        let art = Artifact::open(f, Limits::default())?;
        let exe = gobin::read(art.source.as_ref(), gobin::ReadOptions { hash: false })
            .with_context(|| art.label())?;
        for img in &exe.images {
            writeln!(out, "{}: {}", f.display(), img.buildinfo.go_version)?;
            out.write_all(img.buildinfo.go_version_m().as_bytes())?;
        }
    }
    Ok(0)
}
