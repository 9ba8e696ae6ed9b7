//! Buildinfo module info: the modinfo grammar and Go string quoting. Input: Go version, NUL, modinfo.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::inventory::gobin::modinfo;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (go, info) = text.split_once('\0').unwrap_or(("go1.22.0", &text));
    if let Ok(bi) = modinfo::parse(go, info) {
        let _ = bi.go_version_m();
    }
    if let Some(u) = modinfo::unquote(&text) {
        assert_eq!(modinfo::unquote(&modinfo::quote(&u)).as_deref(), Some(u.as_str()));
    }
});
