//! Shared by the benchmarks that work on a real Go binary: argument handling and packing the
//! binary into a provider ZIP (streamed, so the bench process stays small).

use std::path::{Path, PathBuf};

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
