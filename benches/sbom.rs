//! Benchmark (not a test): `provguard sbom` on a zipped ~90 MB Go binary against merely inflating
//! that entry to /dev/null in the same run; its peak RSS; and the bare binary against
//! `go version -m`. Prints the figures and ratios.
//!
//! `cargo bench --bench sbom [-- /path/to/go-binary]` (default: /usr/local/bin/terraform).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn best<F: FnMut()>(mut f: F) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn run_ok(cmd: &mut Command) {
    let o = cmd.output().expect("spawn");
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn main() {
    let Some(bin) = common::go_binary("sbom") else {
        return;
    };
    let provguard = Path::new(env!("CARGO_BIN_EXE_provguard"));
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir
        .path()
        .join("terraform-provider-bench_1.0.0_linux_amd64.zip");
    common::zip_binary(&bin, &zip_path, "terraform-provider-bench_v1.0.0");
    let raw = std::fs::metadata(&bin).unwrap().len();
    let zipped = std::fs::metadata(&zip_path).unwrap().len();
    println!(
        "binary {} : {:.1} MB, zipped {:.1} MB",
        bin.display(),
        raw as f64 / 1e6,
        zipped as f64 / 1e6
    );

    // Interleaved rounds, so that both sides see the same machine state: best and median of each.
    let mut inflates = Vec::new();
    let mut sboms = Vec::new();
    for _ in 0..15 {
        inflates.push(common::inflate_entry(&zip_path));
        let t = Instant::now();
        run_ok(
            Command::new(provguard)
                .arg("sbom")
                .arg(&zip_path)
                .arg("-o")
                .arg(dir.path().join("o.json")),
        );
        sboms.push(t.elapsed());
    }
    inflates.sort();
    sboms.sort();
    let (inflate, sbom) = (inflates[0], sboms[0]);
    let median_ratio = sboms[7].as_secs_f64() / inflates[7].as_secs_f64();
    let rss_kib = common::children_max_rss_kib();
    println!(
        "inflate entry to /dev/null : {:>8.1} ms",
        inflate.as_secs_f64() * 1e3
    );
    println!(
        "provguard sbom (zip)       : {:>8.1} ms",
        sbom.as_secs_f64() * 1e3
    );
    println!(
        "ratio sbom/inflate         : {:>8.2}  best of 15 (target <= 1.10); median {median_ratio:.2}",
        sbom.as_secs_f64() / inflate.as_secs_f64()
    );
    println!(
        "peak RSS provguard sbom    : {:>8.1} MiB (target <= 64)",
        rss_kib as f64 / 1024.0
    );

    let bare = best(|| {
        run_ok(
            Command::new(provguard)
                .arg("sbom")
                .arg(&bin)
                .arg("-o")
                .arg(dir.path().join("b.json")),
        );
    });
    let bare_nohash = best(|| {
        run_ok(
            Command::new(provguard)
                .args(["sbom", "--no-executable-hash"])
                .arg(&bin)
                .arg("-o")
                .arg(dir.path().join("c.json")),
        );
    });
    let buildinfo = best(|| run_ok(Command::new(provguard).arg("buildinfo").arg(&bin)));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "provguard sbom (bare)      : {:>8.1} ms (SHA-256 of the whole binary included)",
        ms(bare)
    );
    println!("  --no-executable-hash     : {:>8.1} ms", ms(bare_nohash));
    println!("provguard buildinfo (bare) : {:>8.1} ms", ms(buildinfo));
    let have_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_go {
        let go = best(|| run_ok(Command::new("go").args(["version", "-m"]).arg(&bin)));
        let r = |d: Duration| d.as_secs_f64() / go.as_secs_f64();
        println!("go version -m (bare)       : {:>8.1} ms", ms(go));
        println!(
            "ratio sbom/go-version-m    : {:>8.2}  (with the executable hash)",
            r(bare)
        );
        println!(
            "ratio sbom --no-executable-hash/go-version-m : {:.2}  (target <= 2.00)",
            r(bare_nohash)
        );
        println!(
            "ratio buildinfo/go-version-m                 : {:.2}",
            r(buildinfo)
        );
    } else {
        println!("go version -m              : skipped (no go on PATH)");
    }
}
