//! Provider ZIPs: entry-name checks, picking the executable as tofu does, `h1:`, and reading the
//! picked entry through the bomb guard into the Go-image reader.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use provguard::artifact::hashes::zip_h1;
use provguard::artifact::zip::{Limits, ZipEntrySource, pick_executable};
use provguard::inventory::gobin::{self, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
    f.write_all(data).unwrap();
    let path = f.path().to_path_buf();
    let _ = zip_h1(&path);
    if let Ok(entry) = pick_executable(&path, None) {
        let limits = Limits { max_entry: 1 << 20, max_ratio: 100, ratio_floor: 64 << 10 };
        if let Ok(src) = ZipEntrySource::new(path, entry, limits) {
            let _ = gobin::read(&src, ReadOptions { hash: true });
        }
    }
});
