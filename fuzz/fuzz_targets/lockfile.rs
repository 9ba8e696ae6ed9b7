//! `.terraform.lock.hcl` files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::source::lockfile::LockFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = LockFile::parse(text, std::path::Path::new(".terraform.lock.hcl"));
    }
});
