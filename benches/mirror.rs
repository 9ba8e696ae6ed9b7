//! Benchmark (not a test): `provguard mirror ADDRESS --version V oci://…` of a 7-platform release
//! from the HTTPS loopback provider registry (tests/support/https.rs, `SHA256SUMS` signed by a
//! real GnuPG key) into a local docker-registry — download, tofu's verification, inventory, `h1:`,
//! upload, an SBOM per platform, the carried signature — against, in the same run, the sum of
//! the bare work: an HTTPS GET of each ZIP (read to nowhere, in this process) plus an upload of
//! the same blobs (POST + PUT from memory, in this process). Goal ≤ 1.3×; peak RSS ≤ 64 MiB.
//! `PROVGUARD_BENCH_ROUNDS` (default 5) rounds of baseline then mirror; ratios of the best of
//! each and of the medians. Each round also measures, alone in this process, the work `mirror`
//! adds to the transfers (each ZIP's SHA-256, inventory with `h1:`, SBOM) and prints the "work
//! floor": the baseline's CPU plus that work, over every core with nothing lost — the least
//! wall time any implementation doing that work could take on this machine.
//!
//! `cargo bench --bench mirror [-- /path/to/go-binary]` (default: /usr/local/bin/terraform). The
//! 7 ZIPs hold the same deflated binary under 7 entry names (so 7 distinct blobs, compressed
//! once).

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::io::Read;
use std::time::Instant;

use support::https::{Gpg, HttpsServer, Release, TestCa, cli_config};

const PLATFORMS: [&str; 7] = [
    "darwin_amd64",
    "darwin_arm64",
    "freebsd_amd64",
    "linux_386",
    "linux_amd64",
    "linux_arm64",
    "windows_amd64",
];

/// The ZIP at `src` with its one entry renamed to `name` (the deflated bytes copied raw).
fn renamed(src: &std::path::Path, name: &str) -> Vec<u8> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.raw_copy_file_rename(a.by_index_raw(0).unwrap(), name)
        .unwrap();
    out.finish().unwrap().into_inner()
}

fn main() {
    let Some(bin) = common::go_binary("mirror") else {
        return;
    };
    let Some(reg) = support::registry::TestRegistry::start() else {
        println!("SKIPPED: docker-registry not installed");
        return;
    };
    let Some(gpg) = Gpg::new() else {
        println!("SKIPPED: gpg not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.zip");
    common::zip_binary(&bin, &one, "terraform-provider-big_v1.0.0");
    let mut release = Release {
        namespace: "bench".into(),
        name: "big".into(),
        version: "1.0.0".into(),
        zips: Default::default(),
    };
    for p in PLATFORMS {
        release.zips.insert(
            p.to_string(),
            renamed(&one, &format!("terraform-provider-big_v1.0.0_{p}")),
        );
    }
    let total: usize = release.zips.values().map(Vec::len).sum();
    let ca = TestCa::new();
    let srv = HttpsServer::start(&ca);
    let fpr = gpg.key("Bench <bench@example.test>", "rsa2048", "1y", None);
    release.serve(
        &srv,
        &[gpg.armor(&fpr)],
        &gpg.sign(&fpr, &release.sums(), None),
    );

    let ca_pem = std::fs::read(ca.ca_file()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca_pem).unwrap())
        .build()
        .unwrap();
    let cfg = cli_config(dir.path(), "provider_installation {\n  direct {}\n}\n");
    let env = [
        ("SSL_CERT_FILE", ca.ca_file().to_str().unwrap().to_string()),
        ("TF_CLI_CONFIG_FILE", cfg.to_str().unwrap().to_string()),
        ("HOME", dir.path().to_str().unwrap().to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cmd = |cache: &str, repo: &str| -> Vec<String> {
        let mut v: Vec<String> = [
            env!("CARGO_BIN_EXE_provguard"),
            "mirror",
            "--plain-http",
            "--cache-dir",
            cache,
            "--version",
            "1.0.0",
            &format!("{}/bench/big", srv.host()),
            &format!("oci://{}/bench/{repo}", reg.host()),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if repo == "dry-run" {
            v.push("--dry-run".into());
        }
        v
    };
    // CPU beside provguard's: the registry receiving, and this process (client, HTTPS server).
    let others = || (reg.cpu_seconds(), common::self_cpu_seconds());
    println!(
        "7-platform release, {:.1} MB of ZIPs ({} binary {:.1} MB), HTTPS loopback registry → local docker-registry",
        total as f64 / 1e6,
        bin.display(),
        std::fs::metadata(&bin).unwrap().len() as f64 / 1e6
    );
    // Rounds of (baseline, mirror), interleaved so that both meet the same machine; the ratio
    // is taken of the best of each and of the medians.
    let rounds: usize = std::env::var("PROVGUARD_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // PROVGUARD_BENCH_HOLD=SECONDS: print the mirror command, its environment and the
    // registry's PID, and keep both servers up that long (to run it by hand under `perf`).
    if let Some(secs) = std::env::var("PROVGUARD_BENCH_HOLD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        let cache = dir.path().join("cache-hold");
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "hold: registry pid {}; env {} {}",
            reg.pid(),
            env.join(" "),
            cmd(cache.to_str().unwrap(), "hold").join(" ")
        );
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
    // The work `mirror` must add to the bare transfers, measured alone in this process: each
    // ZIP's SHA-256 (its `zh:`, checked against `SHA256SUMS`), its inventory (inflate, SHA-256
    // of the binary, buildinfo; its `h1:`) and its SBOM. With the baseline's own CPU, spread
    // over every core without a moment lost, that is the least wall time any implementation
    // could take on this machine: the "work floor" each round prints beside its ratio.
    // Written once, outside any timing.
    let work_zips: Vec<(String, std::path::PathBuf)> = release
        .zips
        .iter()
        .map(|(p, z)| {
            let path = dir.path().join(format!("work-{p}.zip"));
            std::fs::write(&path, z).unwrap();
            (p.clone(), path)
        })
        .collect();
    let work_cpu = || {
        let c0 = common::self_cpu_seconds();
        for (p, path) in &work_zips {
            // As `mirror` hashes a ZIP it has no `SHA256SUMS` line for.
            let zh = provguard::artifact::HashingFile::open(path)
                .and_then(|h| h.finish())
                .unwrap();
            let (os, arch) = p.split_once('_').unwrap();
            let t = provguard::source::Target::local(path.clone(), Default::default());
            let pkg =
                provguard::release::local::package(&t, &release.file_name(p), os, arch, Some(&zh))
                    .unwrap();
            let sboms = provguard::release::local::generated(
                &pkg,
                provguard::release::local::SbomChoice::Cyclonedx,
            );
            assert!(!sboms.is_empty());
        }
        common::self_cpu_seconds() - c0
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (mut bases, mut mirrors, mut peak) = (Vec::new(), Vec::new(), 0u64);
    let mut floors = Vec::new();
    for round in 0..rounds {
        // Baseline: every ZIP downloaded (HTTPS GET, read to nowhere), then uploaded as a blob.
        let o0 = others();
        let t = Instant::now();
        let mut buf = vec![0u8; 64 << 10];
        for p in PLATFORMS {
            let url = format!(
                "https://{}/files/bench/big/1.0.0/{}",
                srv.host(),
                release.file_name(p)
            );
            let mut r = client.get(url).send().unwrap();
            assert!(r.status().is_success());
            while r.read(&mut buf).unwrap() > 0 {}
        }
        let download = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for z in release.zips.values() {
            reg.push_blob(&format!("bench/baseline{round}"), z);
        }
        let upload = t.elapsed().as_secs_f64();
        let o1 = others();
        let cache = dir.path().join(format!("cache{round}"));
        let repo = format!("mirror{round}");
        let (rss, wall, cpu) = common::rss_wall_cpu(&env, &cmd(cache.to_str().unwrap(), &repo));
        let o2 = others();
        let (reg_cpu, srv_cpu) = (o2.0 - o1.0, o2.1 - o1.1);
        let work = work_cpu();
        let base_cpu = (o1.0 - o0.0) + (o1.1 - o0.1);
        let floor = (base_cpu + work) / cores;
        println!(
            "round {round}: bare downloads {:>5.0} ms + bare uploads {:>5.0} ms = {:>5.0} ms (CPU: registry {:>4.0}, client + server {:>4.0}); work {:>4.0} ms of CPU, floor {:>5.0} ms = {:.2}x; mirror {:>5.0} ms = {:.2}x (CPU: provguard {:>4.0}, registry {:>4.0}, HTTPS server {:>3.0}; {:.2} of two cores), peak RSS {:>4.1} MiB",
            download * 1e3,
            upload * 1e3,
            (download + upload) * 1e3,
            (o1.0 - o0.0) * 1e3,
            (o1.1 - o0.1) * 1e3,
            work * 1e3,
            floor * 1e3,
            floor / (download + upload),
            wall * 1e3,
            wall / (download + upload),
            cpu * 1e3,
            reg_cpu * 1e3,
            srv_cpu * 1e3,
            (cpu + reg_cpu + srv_cpu) / (2.0 * wall),
            rss as f64 / 1024.0
        );
        floors.push(floor / (download + upload));
        bases.push(download + upload);
        mirrors.push(wall);
        peak = peak.max(rss);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "baseline (bare downloads + uploads): best {:>5.0} ms, median {:>5.0} ms",
        best(&bases) * 1e3,
        median(&bases) * 1e3
    );
    println!(
        "provguard mirror (cold cache, new repository): best {:>5.0} ms ({:.2}x the best baseline, goal <= 1.3x), median {:>5.0} ms ({:.2}x the median), peak RSS {:>4.1} MiB (goal <= 64)",
        best(&mirrors) * 1e3,
        best(&mirrors) / best(&bases),
        median(&mirrors) * 1e3,
        median(&mirrors) / median(&bases),
        peak as f64 / 1024.0
    );
    println!(
        "work floor ((baseline CPU + the work mirror adds) / {cores} cores, nothing lost): median {:.2}x the baseline; mirror's median ratio is {:.2}x that floor",
        median(&floors),
        (median(&mirrors) / median(&bases)) / median(&floors)
    );
    let cache = dir.path().join("cache-dry");
    let (rss3, wall3) = common::peak_rss_kib(&env, &cmd(cache.to_str().unwrap(), "dry-run"));
    println!(
        "of which fetch + verify + inventory + h1: + SBOMs (--dry-run, cold cache): {:>6.0} ms, peak RSS {:>5.1} MiB",
        wall3 * 1e3,
        rss3 as f64 / 1024.0
    );
    // PROVGUARD_BENCH_TIMELINE=1: one more mirror with `-vv`, its timing lines printed, and the
    // machine's CPU use in 100 ms steps beside them (from /proc/stat).
    if std::env::var_os("PROVGUARD_BENCH_TIMELINE").is_some() {
        let cache4 = dir.path().join("cache4");
        let mut c = cmd(cache4.to_str().unwrap(), "timeline");
        c.insert(2, "-vv".into());
        let stop = std::sync::atomic::AtomicBool::new(false);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (o, busy) = std::thread::scope(|s| {
            let sampler = s.spawn(|| {
                let mut out = Vec::new();
                let mut last = cpu_ticks();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    let now = cpu_ticks();
                    let (busy, all) = (now.0 - last.0, now.1 - last.1);
                    out.push(busy as f64 / all.max(1) as f64 * cores as f64);
                    last = now;
                }
                out
            });
            let o = std::process::Command::new(&c[0])
                .args(&c[1..])
                .envs(env.iter().copied())
                .output()
                .unwrap();
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            (o, sampler.join().unwrap())
        });
        for l in String::from_utf8_lossy(&o.stderr).lines() {
            if let Some(i) = l.find("mirror timing:") {
                println!("  {}", &l[i..]);
            }
        }
        let steps: Vec<String> = busy.iter().map(|b| format!("{b:.2}")).collect();
        println!("  cores busy per 100 ms (of {cores}): {}", steps.join(" "));
    }
}

/// (busy, all) jiffies of the whole machine, from the first line of /proc/stat.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let all: u64 = v.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (all - idle, all)
}
