//! Attached SBOMs: CycloneDX 1.2–1.7 and SPDX 2.2/2.3 JSON ingest, and drift against itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::inventory::sbom_in;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sbom_in::parse(data) {
        assert!(sbom_in::drift(&s.modules, &s.modules).is_empty());
        for m in &s.modules {
            let _ = sbom_in::parse_golang_purl(&m.purl());
        }
    }
});
