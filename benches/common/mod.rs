//! Shared by the benchmarks that work on a real Go binary: argument handling, packing the
//! binary into a provider ZIP (streamed, so the bench process stays small), the in-process
//! inflate baseline, and the peak RSS of child processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The Go binary to measure, or `None` (with the reason printed) when there is nothing to do:
/// run without `--bench` (as `cargo test --all-targets` does), or no binary present.
pub fn go_binary(bench: &str) -> Option<PathBuf> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark: run with `cargo bench --bench {bench}`");
        return None;
    }
    let bin: PathBuf = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/terraform"));
    if !bin.exists() {
        println!(
            "SKIPPED: no Go binary at {} (pass one as an argument)",
            bin.display()
        );
        return None;
    }
    Some(bin)
}

/// Write `bin` as the single, deflated entry `entry` of the ZIP at `zip`.
pub fn zip_binary(bin: &Path, zip: &Path, entry: &str) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(zip).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    z.start_file(entry, opts).unwrap();
    std::io::copy(&mut std::fs::File::open(bin).unwrap(), &mut z).unwrap();
    z.finish().unwrap();
}

// Each bench compiles this module on its own and uses only some of it.
#[allow(dead_code)]
/// The baseline: inflate the ZIP's first entry to nowhere, in this process, with the same
/// 256 KiB reads provguard makes, so only provguard's extra work shows in a ratio.
pub fn inflate_entry(zip_path: &Path) -> Duration {
    let t = Instant::now();
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut e = a.by_index(0).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    while std::io::Read::read(&mut e, &mut buf).unwrap() > 0 {}
    t.elapsed()
}

#[allow(dead_code)]
/// Peak RSS in KiB of the largest child waited for so far.
pub fn children_max_rss_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}
