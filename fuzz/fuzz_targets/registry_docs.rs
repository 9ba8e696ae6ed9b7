//! Provider registry protocol and network mirror documents (`source::protocol::docs`): service
//! discovery, versions, download metadata, mirror index and version documents, SHA256SUMS.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::source::protocol::docs;

fuzz_target!(|data: &[u8]| {
    let _ = docs::parse_discovery(data);
    let _ = docs::parse_versions(data);
    let _ = docs::parse_download(data);
    let _ = docs::parse_mirror_index(data);
    let _ = docs::parse_mirror_version(data);
    let _ = docs::parse_sha256sums(data);
});
