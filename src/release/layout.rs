//! The bytes of OpenTofu's provider layout (see `opentofu-oci.md`): the empty config, one image
//! manifest per platform (`artifactType application/vnd.opentofu.provider-target`, one
//! `archive/zip` layer titled with the ZIP's file name), the image index
//! (`application/vnd.opentofu.provider`, one entry per platform with `platform.os` and
//! `.architecture`), SBOM referrers in the shape Trivy's `--sbom-sources oci` accepts (one
//! layer whose media type equals the `artifactType`, the empty config, `subject`), and the
//! carried-signature referrer on the index (`SHA256SUMS`, its signature, the keys).
//!
//! Nothing here depends on time or the machine, so publishing the same release twice gives the
//! same digests.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{CarriedSignature, SbomDoc};
use crate::registry::{
    ANNOTATION_ADDRESS, ANNOTATION_HOST, ANNOTATION_KEY_ID, ANNOTATION_VERSION,
    INDEX_ARTIFACT_TYPE, INDEX_MEDIA_TYPE, KEY_LAYER_TYPE, MANIFEST_MEDIA_TYPE, SIG_LAYER_TYPE,
    SIGNATURE_ARTIFACT_TYPE, SUMS_LAYER_TYPE, TARGET_ARTIFACT_TYPE, ZIP_MEDIA_TYPE,
};

/// The 2-byte empty JSON config (`application/vnd.oci.empty.v1+json`).
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
use crate::registry::TITLE_ANNOTATION as TITLE;

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub fn empty_digest() -> String {
    digest(EMPTY_CONFIG)
}

fn empty_config() -> serde_json::Value {
    json!({"mediaType": EMPTY_MEDIA_TYPE, "digest": empty_digest(), "size": 2, "data": "e30="})
}

/// One platform's manifest for the ZIP with `zip_digest`/`size` named `file_name`.
pub fn platform_manifest(zip_digest: &str, size: u64, file_name: &str) -> Vec<u8> {
    let m = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": TARGET_ARTIFACT_TYPE,
        "config": empty_config(),
        "layers": [{
            "mediaType": ZIP_MEDIA_TYPE,
            "digest": zip_digest,
            "size": size,
            "annotations": {TITLE: file_name},
        }],
    });
    serde_json::to_vec(&m).expect("JSON")
}

/// The provider index over `(os, arch, manifest digest, manifest size)`.
pub fn index(entries: &[(String, String, String, usize)]) -> Vec<u8> {
    let manifests: Vec<_> = entries
        .iter()
        .map(|(os, arch, d, size)| {
            json!({
                "mediaType": MANIFEST_MEDIA_TYPE,
                "artifactType": TARGET_ARTIFACT_TYPE,
                "digest": d,
                "size": size,
                "platform": {"architecture": arch, "os": os},
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "artifactType": INDEX_ARTIFACT_TYPE,
        "manifests": manifests,
    }))
    .expect("JSON")
}

/// One layer of a referrer: media type, bytes, title.
pub type Layer<'a> = (&'a str, &'a [u8], &'a str);

/// A referrer manifest of `artifact_type` over `layers` (the empty config), attached to
/// `subject` (media type, digest, size), with `annotations`.
pub fn referrer(
    artifact_type: &str,
    layers: &[Layer],
    subject: (&str, &str, usize),
    annotations: &serde_json::Value,
) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|(media_type, bytes, title)| {
            json!({
                "mediaType": media_type,
                "digest": digest(bytes),
                "size": bytes.len(),
                "annotations": {TITLE: title},
            })
        })
        .collect();
    let m = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": artifact_type,
        "config": empty_config(),
        "layers": layers,
        "subject": {"mediaType": subject.0, "digest": subject.1, "size": subject.2},
        "annotations": annotations,
    });
    serde_json::to_vec(&m).expect("JSON")
}

/// The referrer manifest attaching `sbom` to the platform manifest `subject` (digest, size):
/// returns the SBOM layer's digest and the manifest bytes.
pub fn sbom_referrer(sbom: &SbomDoc, subject: (&str, usize)) -> (String, Vec<u8>) {
    let m = referrer(
        sbom.media_type,
        &[(sbom.media_type, &sbom.bytes, &sbom.title)],
        (MANIFEST_MEDIA_TYPE, subject.0, subject.1),
        &json!({"dev.provguard.sbom.origin": sbom.origin}),
    );
    (digest(&sbom.bytes), m)
}

/// The referrer manifest carrying the origin's signed `SHA256SUMS` on the index `subject`
/// (digest, size): the sums, the signature, each key (README, "Carried signatures").
pub fn signature_referrer(sig: &CarriedSignature, subject: (&str, usize)) -> Vec<u8> {
    let sig_title = format!("{}.sig", sig.sums_name);
    let key_titles: Vec<String> = (1..=sig.keys.len())
        .map(|i| format!("signing-key-{i}.asc"))
        .collect();
    let mut layers: Vec<Layer> = vec![
        (SUMS_LAYER_TYPE, &sig.sums, &sig.sums_name),
        (SIG_LAYER_TYPE, &sig.signature, &sig_title),
    ];
    for (k, t) in sig.keys.iter().zip(&key_titles) {
        layers.push((KEY_LAYER_TYPE, k.as_bytes(), t));
    }
    let mut annotations = json!({
        ANNOTATION_ADDRESS: sig.address,
        ANNOTATION_VERSION: sig.version,
        ANNOTATION_HOST: sig.host,
    });
    if let Some(k) = &sig.key_id {
        annotations[ANNOTATION_KEY_ID] = json!(k);
    }
    referrer(
        SIGNATURE_ARTIFACT_TYPE,
        &layers,
        (INDEX_MEDIA_TYPE, subject.0, subject.1),
        &annotations,
    )
}

/// A version as a tag: SemVer build metadata's `+` becomes `_`.
pub fn tag_of(version: &str) -> String {
    version.replace('+', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_opentofu_fixture_shape() {
        assert_eq!(
            empty_digest(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let m: serde_json::Value =
            serde_json::from_slice(&platform_manifest("sha256:ab", 268, "x.zip")).unwrap();
        assert_eq!(m["artifactType"], TARGET_ARTIFACT_TYPE);
        assert_eq!(m["layers"][0]["mediaType"], "archive/zip");
        assert_eq!(m["config"]["data"], "e30=");
        let i: serde_json::Value = serde_json::from_slice(&index(&[(
            "linux".into(),
            "amd64".into(),
            "sha256:cd".into(),
            10,
        )]))
        .unwrap();
        assert_eq!(i["manifests"][0]["platform"]["os"], "linux");
        assert_eq!(tag_of("1.0.0+build.1"), "1.0.0_build.1");
    }
}
