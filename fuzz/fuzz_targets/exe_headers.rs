//! Executable headers: ELF/PE/Mach-O (thin and universal) detection and parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::inventory::gobin::exe;

fuzz_target!(|data: &[u8]| {
    let _ = exe::detect(data);
    let _ = exe::parse_thin(data, 0);
});
