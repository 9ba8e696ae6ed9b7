//! Gate policy files and waiver files (TOML).
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::analysis::policy::cfg::Policy;
use provguard::analysis::policy::waivers::Waivers;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Policy::parse(text, "fuzz.toml");
        let _ = Waivers::parse(text, "fuzz.toml");
    }
});
