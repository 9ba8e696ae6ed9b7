//! Benchmark (not a test): `provguard audit` of an OCI namespace in a local docker-registry
//! holding N provider artifacts (the samples' three real Go binaries re-zipped under each
//! version's name, so every ZIP is a distinct blob), for N = 150 and 600: the cold audit
//! (`--jobs 4`) against the sum of plain blob downloads of the same ZIPs in the same run, the
//! warm re-audit (results cache; the median of three, after `sync` has flushed the cold run's
//! writes) against the cold one, and the peak RSS and CPU time of each audit.
//!
//! `cargo bench --bench audit [-- --sizes 150,600]`

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::rss_wall_cpu;
use support::registry::TestRegistry;

const PLATFORMS: [(&str, &str); 3] = [
    ("linux", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// The sample executable of a platform re-zipped as version `v`'s ZIP.
fn zip_for(dir: &Path, exe: &(String, Vec<u8>), v: &str, os: &str, arch: &str) -> PathBuf {
    let p = dir.join(format!("terraform-provider-demo_{v}_{os}_{arch}.zip"));
    let ext = if exe.0.ends_with(".exe") { ".exe" } else { "" };
    let f = std::fs::File::create(&p).unwrap();
    let mut z = zip::ZipWriter::new(f);
    z.start_file(
        format!("terraform-provider-demo_v{v}{ext}"),
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.write_all(&exe.1).unwrap();
    z.finish().unwrap();
    p
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark: run with `cargo bench --bench audit`");
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![150, 600]);
    let exes: Vec<(String, Vec<u8>)> = PLATFORMS
        .iter()
        .map(|(o, a)| support::sample_entry(&format!("{o}_{a}")))
        .collect();
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for n in sizes {
        let Some(reg) = TestRegistry::start() else {
            println!("SKIPPED: docker-registry not installed");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let versions = n.div_ceil(PLATFORMS.len());
        let repo = "bench/terraform-provider-demo";
        let mut blobs = Vec::new();
        for i in 0..versions {
            let v = format!("1.{}.{}", i / 100, i % 100);
            let vdir = dir.path().join(&v);
            std::fs::create_dir_all(&vdir).unwrap();
            let zips: Vec<(&str, &str, PathBuf)> = PLATFORMS
                .iter()
                .zip(&exes)
                .map(|((os, arch), exe)| (*os, *arch, zip_for(&vdir, exe, &v, os, arch)))
                .collect();
            for (_, _, z) in &zips {
                let bytes = std::fs::read(z).unwrap();
                blobs.push(format!(
                    "sha256:{}",
                    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
                ));
            }
            let refs: Vec<(&str, &str, &Path)> =
                zips.iter().map(|(o, a, p)| (*o, *a, p.as_path())).collect();
            reg.push_provider(repo, &v, &refs);
            std::fs::remove_dir_all(&vdir).unwrap();
        }
        // Baseline: every ZIP blob downloaded once, one after another, in this process.
        let t = Instant::now();
        let mut bytes = 0usize;
        for d in &blobs {
            bytes += reg.blob(repo, d).len();
        }
        let downloads = t.elapsed().as_secs_f64();
        let cache = dir.path().join("cache");
        let out = dir.path().join("audit.json");
        let cmd = vec![
            env!("CARGO_BIN_EXE_provguard").to_string(),
            "audit".into(),
            format!("oci://{}/bench", reg.host()),
            "--plain-http".into(),
            "--jobs".into(),
            "4".into(),
            "-q".into(),
            "--db".into(),
            repo_root.join("samples/vulndb").display().to_string(),
            "--cache-dir".into(),
            cache.display().to_string(),
            "-o".into(),
            format!("json={}", out.display()),
        ];
        let (cold_rss, cold, cold_cpu) = rss_wall_cpu(&[], &cmd);
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        // The cold run leaves ~N × 1.25 MB of blobs in the page cache to be written back; that
        // writeback is the cold run's, so it is flushed before the re-audits are timed. Three
        // re-audits, the median reported.
        let _ = std::process::Command::new("sync").status();
        let mut warms: Vec<(u64, f64, f64)> = (0..3).map(|_| rss_wall_cpu(&[], &cmd)).collect();
        warms.sort_by(|a, b| a.1.total_cmp(&b.1));
        let all_warm: Vec<String> = warms.iter().map(|w| format!("{:.0}", w.1 * 1e3)).collect();
        let (warm_rss, warm, warm_cpu) = warms[1];
        println!(
            "{} artifacts ({} versions x 3 platforms, {:.0} MB of ZIPs); audit saw {}",
            blobs.len(),
            versions,
            bytes as f64 / 1e6,
            doc["summary"]["artifacts"]
        );
        println!(
            "  plain blob downloads (sum)    : {:>8.0} ms",
            downloads * 1e3
        );
        println!(
            "  audit --jobs 4, cold          : {:>8.0} ms  {:.2}x the downloads (goal <= 1.2), peak RSS {:.1} MiB (<= 128), CPU {:.0} ms",
            cold * 1e3,
            cold / downloads,
            cold_rss as f64 / 1024.0,
            cold_cpu * 1e3
        );
        println!(
            "  audit, warm (results cache)   : {:>8.0} ms  {:.1}% of cold (goal <= 10%), peak RSS {:.1} MiB, CPU {:.0} ms (median of {} ms)",
            warm * 1e3,
            100.0 * warm / cold,
            warm_rss as f64 / 1024.0,
            warm_cpu * 1e3,
            all_warm.join(", ")
        );
        // PROVGUARD_BENCH_HOLD=SECONDS: keep the registry up that long, printing the command,
        // to profile a run by hand.
        if let Some(secs) = std::env::var("PROVGUARD_BENCH_HOLD")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            println!("  holding {secs} s: {}", cmd.join(" "));
            std::thread::sleep(std::time::Duration::from_secs(secs));
        }
    }
}
