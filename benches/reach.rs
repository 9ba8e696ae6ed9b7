//! Benchmark (not a test): symbol-level reachability. On a zipped ~90 MB Go binary (default
//! /usr/local/bin/terraform): `provguard scan` with symbols (buildinfo + function table in one
//! inflate) and with `--no-symbols`, each against merely inflating the entry to /dev/null in the
//! same run (15 interleaved rounds), and the peak RSS of the scan. Then govulncheck v1.9.0's binary
//! mode against `provguard scan` on the same unstripped binary and database (the gosym fixture
//! built by the tests, or `-- --unstripped PATH`), when both are at hand.
//!
//! `cargo bench --bench reach [-- /path/to/go-binary] [--unstripped PATH]`

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn timed(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let o = cmd.output().expect("spawn");
    assert!(
        o.status.success() || o.status.code() == Some(3),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    t.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The newest unstripped gosym fixture the tests built with the machine's go, if any.
fn gosym_fixture(repo: &Path) -> Option<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for d in std::fs::read_dir(repo.join("target/go-fixtures")).ok()? {
        let p = d.ok()?.path().join("gosym-linux-amd64");
        if let Ok(m) = std::fs::metadata(&p) {
            // Unstripped builds are the larger twin.
            found.push((m.modified().ok()?, p));
        }
    }
    found
        .into_iter()
        .max_by_key(|(_, p)| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .map(|(_, p)| p)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let unstripped_arg = args
        .iter()
        .position(|a| a == "--unstripped")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let Some(bin) = common::go_binary("reach") else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let provguard = Path::new(env!("CARGO_BIN_EXE_provguard"));
    let db = repo.join("samples/vulndb");
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir
        .path()
        .join("terraform-provider-bench_1.0.0_linux_amd64.zip");
    common::zip_binary(&bin, &zip_path, "terraform-provider-bench_v1.0.0");
    println!(
        "binary {}: {:.1} MB, zipped {:.1} MB",
        bin.display(),
        std::fs::metadata(&bin).unwrap().len() as f64 / 1e6,
        std::fs::metadata(&zip_path).unwrap().len() as f64 / 1e6
    );
    let scan = |extra: &[&str]| {
        let mut c = Command::new(provguard);
        c.args(["scan", "-f", "json", "-o"])
            .arg(dir.path().join("r.json"))
            .arg("--db")
            .arg(&db)
            .args(extra)
            .arg(&zip_path);
        c
    };
    let (mut inflates, mut with, mut without) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        inflates.push(common::inflate_entry(&zip_path));
        with.push(timed(&mut scan(&[])));
        without.push(timed(&mut scan(&["--no-symbols"])));
    }
    let rss = common::children_max_rss_kib();
    for v in [&mut inflates, &mut with, &mut without] {
        v.sort();
    }
    let ratio = |a: &[Duration], i: usize| a[i].as_secs_f64() / inflates[i].as_secs_f64();
    println!(
        "inflate entry to /dev/null      : {:>8.1} ms",
        ms(inflates[0])
    );
    println!(
        "provguard scan (symbols)        : {:>8.1} ms  ratio {:.2} best of 15, {:.2} median (target <= 1.30)",
        ms(with[0]),
        ratio(&with, 0),
        ratio(&with, 7)
    );
    println!(
        "provguard scan --no-symbols     : {:>8.1} ms  ratio {:.2} best of 15, {:.2} median",
        ms(without[0]),
        ratio(&without, 0),
        ratio(&without, 7)
    );
    println!(
        "peak RSS of the scans           : {:>8.1} MiB (target <= 64)",
        rss as f64 / 1024.0
    );

    let gv = repo.join("target/tools/govulncheck-v1.9.0/govulncheck");
    // The real provider the reachability tests build (terraform-provider-openstack, unstripped),
    // else the largest gosym fixture.
    let provider = repo.join("target/tools/tfp-unstripped/terraform-provider-openstack");
    let unstripped = unstripped_arg
        .or_else(|| provider.exists().then_some(provider))
        .or_else(|| gosym_fixture(repo));
    match (gv.exists(), unstripped) {
        (true, Some(u)) => {
            let runs = |mut f: Box<dyn FnMut() -> Duration>| (0..5).map(|_| f()).min().unwrap();
            let (gv2, u2, db2) = (gv.clone(), u.clone(), db.clone());
            let g = runs(Box::new(move || {
                timed(
                    Command::new(&gv2)
                        .args(["-mode", "binary", "-format", "json", "-db"])
                        .arg(format!("file://{}", db2.display()))
                        .arg(&u2),
                )
            }));
            let pg = |extra: &'static [&'static str]| {
                let (u3, db3) = (u.clone(), db.clone());
                runs(Box::new(move || {
                    timed(
                        Command::new(provguard)
                            .args(["scan", "-f", "json", "--db"])
                            .arg(&db3)
                            .args(extra)
                            .arg(&u3),
                    )
                }))
            };
            let p = pg(&[]);
            let p_nohash = pg(&["--no-executable-hash"]);
            println!(
                "unstripped {} ({:.1} MB):",
                u.display(),
                std::fs::metadata(&u).unwrap().len() as f64 / 1e6
            );
            println!("  govulncheck -mode binary      : {:>8.1} ms", ms(g));
            println!(
                "  provguard scan                : {:>8.1} ms  govulncheck/provguard {:.1}x (goal >= 5)",
                ms(p),
                g.as_secs_f64() / p.as_secs_f64()
            );
            println!(
                "  provguard scan --no-exe…-hash : {:>8.1} ms  govulncheck/provguard {:.1}x (the same work as govulncheck: no SHA-256 of the file)",
                ms(p_nohash),
                g.as_secs_f64() / p_nohash.as_secs_f64()
            );
        }
        _ => println!(
            "govulncheck comparison skipped: run the tests first (govulncheck and the gosym fixture are built under target/)"
        ),
    }
}
