//! `provguard db update` and `provguard db info`.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use super::{DbCommand, DbInfoArgs, DbUpdateArgs};
use crate::analysis::vuln::Database;
use crate::foundation::dirs::default_cache_dir;
use crate::source::vulndb;

pub fn run(cmd: &DbCommand, quiet: bool) -> Result<u8> {
    match cmd {
        DbCommand::Update(a) => update(a, quiet),
        DbCommand::Info(a) => info(a),
    }
}

fn update(a: &DbUpdateArgs, quiet: bool) -> Result<u8> {
    let opts = vulndb::UpdateOptions {
        url: a.db_url.clone(),
        cache_dir: a.cache_dir.clone().unwrap_or_else(default_cache_dir),
        timeout: Duration::from_secs(a.timeout),
        jobs: a.jobs,
        retries: a.retries,
        progress: !quiet && std::io::stderr().is_terminal(),
    };
    let check = |p: &std::path::Path| -> Result<vulndb::Checked> {
        let db = Database::open(p, None)?;
        Ok(vulndb::Checked {
            entries: db.loaded,
            modified: db.modified,
        })
    };
    let s = vulndb::update(&opts, &check)?;
    if !quiet {
        eprintln!(
            "vulnerability database updated: {} advisories ({} downloaded, {} unchanged), modified {}, at {}",
            s.entries,
            s.downloaded,
            s.reused,
            s.modified.as_deref().unwrap_or("(unknown)"),
            s.path.display()
        );
    }
    Ok(0)
}

fn info(a: &DbInfoArgs) -> Result<u8> {
    let path = a.db.clone().unwrap_or_else(|| {
        vulndb::current_path(&a.cache_dir.clone().unwrap_or_else(default_cache_dir))
    });
    let d = Database::open(&path, None)?;
    println!("source:     {}", d.source);
    println!(
        "modified:   {}",
        d.modified.as_deref().unwrap_or("(unknown)")
    );
    println!("advisories: {}", d.loaded);
    Ok(0)
}
