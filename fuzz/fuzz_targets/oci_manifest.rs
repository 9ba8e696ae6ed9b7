//! OCI manifests and image indexes as the copy path reads them (blob references, media type).
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::source::oci::copy;

fuzz_target!(|data: &[u8]| {
    let _ = copy::blobs_of(data);
    let _ = copy::media_type_of(data);
});
