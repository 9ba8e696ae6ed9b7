//! Benchmark (not a test): fetch + SBOM of a large provider from a local docker-registry —
//! wall time and the peak RSS of `provguard sbom oci://…` (target ≤ 64 MiB while a blob many
//! times that size streams through verification into the cache and the ZIP is inflated) — and
//! `provguard publish` of it (checksum, inventory, h1:, streamed upload, SBOM referrer) against
//! the baseline of uploading the ZIP blob alone (POST + PUT from memory, in this process).
//!
//! `cargo bench --bench oci [-- /path/to/go-binary]` (default: /usr/local/bin/terraform).

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use std::time::Instant;

use common::peak_rss_kib;

fn main() {
    let Some(bin) = common::go_binary("oci") else {
        return;
    };
    let Some(reg) = support::registry::TestRegistry::start() else {
        println!("SKIPPED: docker-registry not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let zip = dir
        .path()
        .join("terraform-provider-big_1.0.0_linux_amd64.zip");
    common::zip_binary(&bin, &zip, "terraform-provider-big_v1.0.0");
    reg.push_provider(
        "bench/terraform-provider-big",
        "1.0.0",
        &[("linux", "amd64", &zip)],
    );
    let zip_mb = std::fs::metadata(&zip).unwrap().len() as f64 / 1e6;
    let bin_mb = std::fs::metadata(&bin).unwrap().len() as f64 / 1e6;
    let target = format!("oci://{}/bench/terraform-provider-big:1.0.0", reg.host());
    let cache = dir.path().join("cache");
    let cmd = |extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            env!("CARGO_BIN_EXE_provguard").to_string(),
            "sbom".into(),
            "--plain-http".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(target.clone());
        v
    };
    let (cold_rss, cold) = peak_rss_kib(&[], &cmd(&["--cache-dir", cache.to_str().unwrap()]));
    let (warm_rss, warm) = peak_rss_kib(&[], &cmd(&["--cache-dir", cache.to_str().unwrap()]));
    println!("provider ZIP {zip_mb:.1} MB (binary {bin_mb:.1} MB) in a local docker-registry");
    println!(
        "fetch + verify + cache + SBOM (cold) : {:>7.0} ms, peak RSS {:>5.1} MiB (target <= 64)",
        cold * 1e3,
        cold_rss as f64 / 1024.0
    );
    println!(
        "SBOM from the cache (warm)           : {:>7.0} ms, peak RSS {:>5.1} MiB",
        warm * 1e3,
        warm_rss as f64 / 1024.0
    );

    // publish: the same ZIP as a release with its SHA256SUMS
    let bytes = std::fs::read(&zip).unwrap();
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    std::fs::write(
        dir.path().join("terraform-provider-big_1.0.0_SHA256SUMS"),
        format!("{sum}  terraform-provider-big_1.0.0_linux_amd64.zip\n"),
    )
    .unwrap();
    let t = Instant::now();
    reg.push_blob("bench/baseline", &bytes);
    let baseline = t.elapsed().as_secs_f64();
    drop(bytes);
    let to = format!("oci://{}/bench/published", reg.host());
    let publish = vec![
        env!("CARGO_BIN_EXE_provguard").to_string(),
        "publish".into(),
        dir.path().to_str().unwrap().to_string(),
        "--to".into(),
        to,
        "--plain-http".into(),
    ];
    let (pub_rss, first) = peak_rss_kib(&[], &publish);
    let (_, again) = peak_rss_kib(&[], &publish);
    println!(
        "upload the ZIP blob alone (baseline) : {:>7.0} ms",
        baseline * 1e3
    );
    println!(
        "provguard publish (first)            : {:>7.0} ms ({:.2}x), peak RSS {:>5.1} MiB",
        first * 1e3,
        first / baseline,
        pub_rss as f64 / 1024.0
    );
    println!(
        "provguard publish again (no uploads) : {:>7.0} ms",
        again * 1e3
    );
}
