//! `provguard lock-hashes`: the `hashes = [...]` lines tofu writes into `.terraform.lock.hcl`
//! for the given provider ZIPs (`h1:` and `zh:`) or unpacked package folders (`h1:` only) —
//! one string per line, sorted and deduplicated, in the lock file's indentation. With a provider
//! address and `--version`, the release is fetched and verified first and the block is what
//! `tofu providers lock` writes: `zh:` for every line of the signed `SHA256SUMS`, `h1:` (and
//! `zh:`) for each platform fetched.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::{Context, Result};

use super::LockHashesArgs;
use crate::artifact::{HashingFile, hashes};

pub fn run(args: &LockHashesArgs) -> Result<u8> {
    if let ([p], Some(version)) = (args.packages.as_slice(), &args.version)
        && !p.exists()
    {
        let opts = crate::source::SourceOptions {
            registry: super::client_options(&args.connect, &args.cache_dir)?,
            platforms: args.connect.platforms.clone(),
            ..Default::default()
        };
        let addr = crate::source::address::ProviderAddress::parse(&p.to_string_lossy())?;
        let all = crate::source::install::Installer::new(&opts)?.lock_hashes(
            &addr,
            version,
            &args.connect.platforms,
            args.all_platforms,
        )?;
        std::io::stdout()
            .lock()
            .write_all(hashes::lock_block(&all).as_bytes())?;
        return Ok(0);
    }
    let mut all = BTreeSet::new();
    for p in &args.packages {
        if p.is_dir() {
            all.insert(hashes::dir_h1(p).with_context(|| format!("cannot hash {}", p.display()))?);
        } else {
            all.insert(hashes::zip_h1(p)?);
            let zh = HashingFile::open(p)
                .and_then(|h| h.finish())
                .with_context(|| format!("cannot hash {}", p.display()))?;
            all.insert(format!("zh:{zh}"));
        }
    }
    std::io::stdout()
        .lock()
        .write_all(hashes::lock_block(&all).as_bytes())?;
    Ok(0)
}
