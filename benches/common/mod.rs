//! Shared by the benchmarks that work on a real Go binary: argument handling, packing the
//! binary into a provider ZIP (streamed, so the bench process stays small), the in-process
//! inflate baseline, and the peak RSS of child processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The Go binary to measure, or `None` (with the reason printed) when there is nothing to do:
/// run without `--bench` (as `cargo test --all-targets` does), or no binary present.
#[allow(dead_code)]
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
#[allow(dead_code)]
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
/// CPU seconds (user + system) this process has used so far, all threads.
pub fn self_cpu_seconds() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(ru.ru_utime) + s(ru.ru_stime)
}

#[allow(dead_code)]
/// Peak RSS in KiB of the largest child waited for so far.
pub fn children_max_rss_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

#[allow(dead_code)]
/// Peak RSS (KiB) and wall time (s) of `cmd` run with `env`, measured by a small Python parent
/// so that no large address space of this process is charged to the child (the wall time is
/// the child's alone, without the Python parent's start).
pub fn peak_rss_kib(env: &[(&str, &str)], cmd: &[String]) -> (u64, f64) {
    let (rss, wall, _) = rss_wall_cpu(env, cmd);
    (rss, wall)
}

/// Like [`peak_rss_kib`], plus the CPU seconds (user + system) the command used.
pub fn rss_wall_cpu(env: &[(&str, &str)], cmd: &[String]) -> (u64, f64, f64) {
    let t = Instant::now();
    let o = Command::new("python3")
        .arg("-c")
        // Wall and CPU are taken around the child alone: `python3` may be a pyenv shim whose own
        // start (about 0.15 s, in helper processes) would otherwise count.
        .arg("import resource,subprocess,sys,time; c=lambda u: u.ru_utime+u.ru_stime; b=resource.getrusage(resource.RUSAGE_CHILDREN); t=time.perf_counter(); r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL); w=time.perf_counter()-t; u=resource.getrusage(resource.RUSAGE_CHILDREN); print(r.returncode, u.ru_maxrss, c(u)-c(b), w)")
        .args(cmd)
        .envs(env.iter().copied())
        .output()
        .expect("python3");
    let wall = t.elapsed().as_secs_f64();
    let out = String::from_utf8_lossy(&o.stdout);
    let mut it = out.split_whitespace();
    let rc: i32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
    assert_eq!(
        rc,
        0,
        "provguard failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rss = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let cpu = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let wall = it.next().and_then(|s| s.parse().ok()).unwrap_or(wall);
    (rss, wall, cpu)
}
