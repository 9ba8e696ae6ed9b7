//! OCI manifests and image indexes as the registry layer reads them: the lenient manifest view,
//! the one provider-index walk with its platform selection, and a platform manifest's ZIP layer;
//! and the input as an image reference (repository names and tags come from registries too).
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::registry::index::{ProviderIndex, zip_layer};
use provguard::registry::reference;
use provguard::registry::wire::{ManifestDoc, media_type_of};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = reference::parse(s);
    }
    let _ = media_type_of(data);
    let _ = ManifestDoc::parse(data, "fuzz").map(|m| m.blobs().count());
    if let Ok(index) = ProviderIndex::parse("fuzz", data.to_vec(), "sha256:00".into()) {
        let _ = index.select("fuzz", &[]);
        let _ = index.select("fuzz", &["linux_amd64".to_string()]);
        for p in &index.platforms {
            let _ = zip_layer("fuzz", p, data);
        }
    }
});
