//! One OSV advisory (Go vulndb or OSV export entry).
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::analysis::vuln::advisory;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = advisory::parse(data) {
        let _ = a.headline_ids();
    }
});
