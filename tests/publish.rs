//! `provguard publish` and `provguard mirror` against real registries (Debian's docker-registry
//! on loopback, two instances for mirroring): the samples published in OpenTofu's layout with an
//! SBOM on every platform, found again by `provguard sbom` and by skopeo; idempotent re-runs;
//! nothing pushed for a release that does not match its SHA256SUMS; digests and SBOMs (referrers
//! and cosign tags) preserved by mirror.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::registry::TestRegistry;
use support::*;

fn run(args: &[&str]) -> Output {
    provguard().args(args).output().unwrap()
}

fn ok_json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn publish(reg: &TestRegistry, repo: &str, dist: &Path, extra: &[&str]) -> Output {
    publish_to(&reg.host(), repo, dist, extra)
}

fn publish_to(host: &str, repo: &str, dist: &Path, extra: &[&str]) -> Output {
    let to = format!("oci://{host}/{repo}");
    let mut args = vec![
        "publish",
        dist.to_str().unwrap(),
        "--to",
        &to,
        "--plain-http",
        "--json",
    ];
    args.extend(extra);
    run(&args)
}

fn samples() -> PathBuf {
    repo().join("samples/dist")
}

/// The lock file's zh: hashes of the samples.
fn locked_zh() -> BTreeSet<String> {
    std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl"))
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"zh:"))
        .map(|l| l.trim_end_matches("\",").to_string())
        .collect()
}

/// `provguard sbom --compare` of a registry target: (platform label, origin line) per artifact.
fn origins(target: &str) -> Vec<String> {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "sbom",
        "--compare",
        "--plain-http",
        "--no-cache",
        "--cache-dir",
        d.path().to_str().unwrap(),
        target,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("inventory:") || l.trim_start().starts_with("drift:")
        })
        .map(|l| l.trim().to_string())
        .collect()
}

fn skopeo_raw(reg: &TestRegistry, reference: &str) -> Value {
    let o = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{reference}", reg.host()))
        .output()
        .expect("skopeo");
    assert!(
        o.status.success(),
        "skopeo {reference}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn have_skopeo() -> bool {
    Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || missing("skopeo (Debian skopeo)")
}

#[test]
fn publish_samples_sboms_on_every_platform_lock_digests_and_idempotent_rerun() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let first = ok_json(&publish(&reg, "example/demo", &samples(), &[]));
    assert_eq!(first["tag"], "1.2.3");
    assert_eq!(
        first["stats"]["uploaded"], 7,
        "3 ZIPs, the empty config, 3 SBOMs: {first}"
    );
    let platforms = first["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 3);

    // every platform manifest's layer digest is the samples lock's zh:
    let mut layer_zh = BTreeSet::new();
    for p in platforms {
        let m = manifest_json(&reg, "example/demo", p["manifest"].as_str().unwrap());
        assert_eq!(
            m["artifactType"],
            "application/vnd.opentofu.provider-target"
        );
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        assert_eq!(m["layers"][0]["mediaType"], "archive/zip");
        layer_zh.insert(
            m["layers"][0]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .to_string(),
        );
    }
    assert_eq!(layer_zh, locked_zh());
    // and the printed hashes block is the lock's
    let lock_hashes: BTreeSet<String> = first["lockHashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    let locked: BTreeSet<String> =
        std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl"))
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"'))
            .map(|l| l.trim_end_matches("\",").to_string())
            .collect();
    assert_eq!(lock_hashes, locked);

    // provguard finds an attached SBOM for every platform, with no fallback to buildinfo
    let target = format!("oci://{}/example/demo:1.2.3", reg.host());
    let lines = origins(&target);
    let inv: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("inventory:"))
        .collect();
    assert_eq!(inv.len(), 3, "{lines:?}");
    for l in &inv {
        assert!(
            l.contains("attached cyclonedx 1.5 SBOM") && l.contains("on the platform manifest"),
            "{l}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| l.contains("drift: none")).count(),
        3,
        "{lines:?}"
    );

    // a second publish uploads no blob and gives the same digests
    let uploads = reg.blob_uploads();
    let second = ok_json(&publish(&reg, "example/demo", &samples(), &[]));
    assert_eq!(reg.blob_uploads(), uploads, "no blob upload started");
    assert_eq!(second["stats"]["uploaded"], 0);
    assert_eq!(second["index"], first["index"]);
    assert_eq!(second["platforms"], first["platforms"]);
    // the fallback index still lists exactly one SBOM per platform
    for p in platforms {
        let subject = p["manifest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:");
        let idx = manifest_json(&reg, "example/demo", &format!("sha256-{subject}"));
        assert_eq!(idx["manifests"].as_array().unwrap().len(), 1, "{idx}");
        assert_eq!(
            idx["manifests"][0]["artifactType"],
            "application/vnd.cyclonedx+json"
        );
    }
}

fn manifest_json(reg: &TestRegistry, repo: &str, reference: &str) -> Value {
    reg.manifest_json(repo, reference)
        .unwrap_or_else(|| panic!("{repo}:{reference}: not found"))
}

#[test]
fn an_independent_client_reads_index_manifests_and_referrers() {
    if !have_skopeo() {
        return;
    }
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let out = ok_json(&publish(
        &reg,
        "example/demo",
        &samples(),
        &["--sbom-format", "both"],
    ));
    let index = skopeo_raw(&reg, "example/demo:1.2.3");
    assert_eq!(index["artifactType"], "application/vnd.opentofu.provider");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let plats: BTreeSet<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}_{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(plats.len(), 3);
    for p in out["platforms"].as_array().unwrap() {
        let digest = p["manifest"].as_str().unwrap();
        let m = skopeo_raw(&reg, &format!("example/demo@{digest}"));
        assert_eq!(
            m["layers"][0]["digest"],
            format!("sha256:{}", p["zh"].as_str().unwrap())
        );
        let refs = skopeo_raw(
            &reg,
            &format!(
                "example/demo:sha256-{}",
                digest.trim_start_matches("sha256:")
            ),
        );
        let types: BTreeSet<String> = refs["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["artifactType"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            types,
            ["application/spdx+json", "application/vnd.cyclonedx+json"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        );
        for d in refs["manifests"].as_array().unwrap() {
            let r = skopeo_raw(
                &reg,
                &format!("example/demo@{}", d["digest"].as_str().unwrap()),
            );
            assert_eq!(r["subject"]["digest"], digest);
            assert_eq!(r["layers"][0]["mediaType"], r["artifactType"]);
        }
        assert_eq!(p["sboms"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn a_release_that_does_not_match_its_checksums_pushes_nothing() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    copy_dir(&samples(), d.path());
    let sums = d.path().join("terraform-provider-demo_1.2.3_SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap();
    // one ZIP's line altered
    let altered = text.replacen("fdff85bb", "00ff85bb", 1);
    assert_ne!(altered, text);
    std::fs::write(&sums, &altered).unwrap();
    let o = publish(&reg, "example/demo", d.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("terraform-provider-demo_1.2.3_linux_amd64.zip: sha256 fdff85bb"),
        "{err}"
    );
    assert!(err.contains("nothing pushed"), "{err}");
    // one ZIP missing from the file
    let dropped: String = text
        .lines()
        .filter(|l| !l.contains("darwin_arm64"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sums, dropped).unwrap();
    let o = publish(&reg, "example/demo", d.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("darwin_arm64.zip is not listed in terraform-provider-demo_1.2.3_SHA256SUMS")
    );
    // no SHA256SUMS at all
    std::fs::remove_file(&sums).unwrap();
    let o = publish(&reg, "example/demo", d.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHA256SUMS not found"));
    assert_eq!(reg.blob_uploads(), 0, "no upload was even started");
    assert_eq!(reg.manifest_puts(), 0);
    // --dry-run talks to no registry at all
    let v = ok_json(&publish_to(
        "127.0.0.1:9",
        "x/y",
        &samples(),
        &["--dry-run"],
    ));
    assert_eq!(v["dryRun"], true);
    assert_eq!(v["platforms"].as_array().unwrap().len(), 3);
}

#[test]
fn supplied_sboms_are_checked_against_the_binary() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("linux.spdx.json");
    let o = run(&[
        "sbom",
        "-f",
        "spdx",
        sample_zip("linux_amd64").to_str().unwrap(),
    ]);
    std::fs::write(&good, &o.stdout).unwrap();
    let mut doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    for p in doc["packages"].as_array_mut().unwrap() {
        if p["name"] == "golang.org/x/crypto" {
            p["versionInfo"] = "v0.31.0".into();
            for r in p["externalRefs"].as_array_mut().unwrap() {
                r["referenceLocator"] = "pkg:golang/golang.org/x/crypto@v0.31.0".into();
            }
        }
    }
    let drifted = d.path().join("drifted.spdx.json");
    std::fs::write(&drifted, serde_json::to_vec(&doc).unwrap()).unwrap();

    let arg = |f: &Path| format!("linux_amd64={}", f.display());
    let o = publish(
        &reg,
        "example/demo",
        &samples(),
        &["--sbom", &arg(&drifted)],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("golang.org/x/crypto: the binary has v0.4.0, the SBOM says v0.31.0"),
        "{err}"
    );
    assert!(err.contains("--allow-drift"), "{err}");
    assert_eq!(reg.blob_uploads(), 0);

    let v = ok_json(&publish(
        &reg,
        "example/demo",
        &samples(),
        &["--sbom", &arg(&good)],
    ));
    assert_eq!(v["platforms"].as_array().unwrap().len(), 3);
    let lines = origins(&format!("oci://{}/example/demo:1.2.3", reg.host()));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("attached spdx SPDX-2.3 SBOM")),
        "{lines:?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("attached cyclonedx"))
            .count(),
        2,
        "{lines:?}"
    );

    let v = ok_json(&publish(
        &reg,
        "example/drifted",
        &samples(),
        &["--sbom", &arg(&drifted), "--allow-drift"],
    ));
    assert_eq!(v["platforms"].as_array().unwrap().len(), 3);
    let lines = origins(&format!("oci://{}/example/drifted:1.2.3", reg.host()));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("drift: golang.org/x/crypto")),
        "{lines:?}"
    );
}

#[test]
fn mirror_between_registries_preserves_digests_and_sboms() {
    let (Some(a), Some(b)) = (TestRegistry::start(), TestRegistry::start()) else {
        return;
    };
    let published = ok_json(&publish(&a, "example/demo", &samples(), &[]));
    // a cosign-style SBOM tag on the linux manifest as well
    let linux = published["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "linux_amd64")
        .unwrap()["manifest"]
        .as_str()
        .unwrap()
        .to_string();
    let subject = a.manifest_of("example/demo", &linux);
    let cosign = a.attach_sbom(
        "example/demo",
        (&subject.0, subject.1),
        "application/vnd.cyclonedx+json",
        &run(&[
            "sbom",
            "--deterministic",
            sample_zip("linux_amd64").to_str().unwrap(),
        ])
        .stdout,
        true,
    );
    let cache = tempfile::tempdir().unwrap();
    let src = format!("oci://{}/example/demo:1.2.3", a.host());
    let dest = format!("oci://{}/mirror/demo", b.host());
    let m = ok_json(&run(&[
        "mirror",
        &src,
        &dest,
        "--plain-http",
        "--json",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]));
    assert_eq!(m["index"], published["index"], "index digest preserved");
    for (x, y) in m["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .zip(published["platforms"].as_array().unwrap())
    {
        assert_eq!(x["manifest"], y["manifest"]);
        assert_eq!(x["zh"], y["zh"]);
        assert_eq!(x["h1"], y["h1"], "h1: computed from the copied ZIP");
    }
    let (b_index, _) = b.manifest_of("mirror/demo", "1.2.3");
    assert_eq!(Value::String(b_index), published["index"]);
    // the SBOM referrers came along (same digests), and the cosign tag
    let lines = origins(&format!("{dest}:1.2.3"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("attached cyclonedx 1.5 SBOM"))
            .count(),
        3,
        "{lines:?}"
    );
    let linux_m = m["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "linux_amd64")
        .unwrap();
    let carried: BTreeSet<&str> = linux_m["sboms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        carried.contains(cosign.as_str()),
        "cosign manifest {cosign} in {carried:?}"
    );
    let (tagged, _) = b.manifest_of(
        "mirror/demo",
        &format!("sha256-{}.sbom", linux.trim_start_matches("sha256:")),
    );
    assert_eq!(tagged, cosign);

    // again: nothing to upload
    let uploads = b.blob_uploads();
    let again = ok_json(&run(&[
        "mirror",
        &src,
        &dest,
        "--plain-http",
        "--json",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]));
    assert_eq!(again["stats"]["uploaded"], 0);
    assert_eq!(b.blob_uploads(), uploads);

    // one platform only: a rebuilt index over it
    let one = ok_json(&run(&[
        "mirror",
        &src,
        &format!("oci://{}/mirror/linux-only", b.host()),
        "--plain-http",
        "--json",
        "--platform",
        "linux_amd64",
    ]));
    assert_eq!(one["platforms"].as_array().unwrap().len(), 1);
    assert_ne!(one["index"], published["index"]);
    let idx = manifest_json(&b, "mirror/linux-only", "1.2.3");
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(idx["artifactType"], "application/vnd.opentofu.provider");

    // within one registry, blobs are mounted rather than uploaded
    let same = ok_json(&run(&[
        "mirror",
        &src,
        &format!("oci://{}/other/demo", a.host()),
        "--plain-http",
        "--json",
    ]));
    assert!(same["stats"]["mounted"].as_u64().unwrap() >= 3, "{same}");
    assert_eq!(same["stats"]["uploaded"], 0, "{same}");
}

#[test]
fn mirror_generates_sboms_where_the_source_has_none_and_takes_local_releases() {
    let (Some(a), Some(b)) = (TestRegistry::start(), TestRegistry::start()) else {
        return;
    };
    let zips: Vec<(&str, &str, PathBuf)> = [("linux", "amd64"), ("windows", "amd64")]
        .iter()
        .map(|(o, ar)| (*o, *ar, sample_zip(&format!("{o}_{ar}"))))
        .collect();
    let refs: Vec<(&str, &str, &Path)> = zips
        .iter()
        .map(|(o, ar, p)| (*o, *ar, p.as_path()))
        .collect();
    a.push_provider("example/bare", "1.2.3", &refs);
    let src = format!("oci://{}/example/bare:1.2.3", a.host());
    let plain = format!("oci://{}/mirror/plain", b.host());
    ok_json(&run(&["mirror", &src, &plain, "--plain-http", "--json"]));
    let lines = origins(&format!("{plain}:1.2.3"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("fallback: no SBOM attached"))
            .count(),
        2,
        "{lines:?}"
    );
    let generated = format!("oci://{}/mirror/generated", b.host());
    let v = ok_json(&run(&[
        "mirror",
        &src,
        &generated,
        "--plain-http",
        "--json",
        "--generate-sboms",
    ]));
    assert!(
        v["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["sboms"].as_array().unwrap().len() == 1)
    );
    let lines = origins(&format!("{generated}:1.2.3"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("attached cyclonedx"))
            .count(),
        2,
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("drift: none")).count(),
        2,
        "{lines:?}"
    );

    // from a filesystem mirror directory (no SHA256SUMS there) into a registry
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("registry.opentofu.org/example/demo");
    std::fs::create_dir_all(&dir).unwrap();
    for p in ["linux_amd64", "darwin_arm64"] {
        let z = sample_zip(p);
        std::fs::copy(&z, dir.join(z.file_name().unwrap())).unwrap();
    }
    let local = format!("oci://{}/mirror/from-disk", b.host());
    let v = ok_json(&run(&[
        "mirror",
        d.path().to_str().unwrap(),
        &local,
        "--plain-http",
        "--json",
        "--generate-sboms",
    ]));
    assert_eq!(v["platforms"].as_array().unwrap().len(), 2);
    let lines = origins(&format!("{local}:1.2.3"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("attached cyclonedx"))
            .count(),
        2,
        "{lines:?}"
    );
}

#[test]
fn bad_destinations_and_sources_are_errors() {
    for (args, needle) in [
        (
            vec!["publish", "samples/dist", "--to", "ghcr.io/acme/demo"],
            "oci://HOST/REPOSITORY",
        ),
        (
            vec![
                "publish",
                "samples/dist",
                "--to",
                "oci://ghcr.io/acme/demo:1.2.3",
            ],
            "the tag is the provider version",
        ),
        (
            vec![
                "publish",
                "samples/dist",
                "--to",
                "oci://h/r",
                "--version",
                "9.9.9",
                "--dry-run",
            ],
            "no ZIPs of version 9.9.9",
        ),
        (
            vec![
                "publish",
                "samples/dist",
                "--to",
                "oci://h/r",
                "--sbom",
                "plan9_amd64=x.json",
                "--dry-run",
            ],
            "no plan9_amd64 ZIP",
        ),
        (
            vec!["mirror", "samples/infra", "oci://h/r"],
            "no provider artifacts",
        ),
    ] {
        let o = provguard()
            .current_dir(repo())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn hostile_sources_push_nothing_and_tag_nothing() {
    let (Some(a), Some(b)) = (TestRegistry::start(), TestRegistry::start()) else {
        return;
    };
    // A release whose ZIP tries to escape its directory, with a SHA256SUMS that matches it.
    let d = tempfile::tempdir().unwrap();
    let zip = d
        .path()
        .join("terraform-provider-demo_1.2.3_linux_amd64.zip");
    write_zip(&zip, &[("../terraform-provider-demo_v1.2.3", b"\x7fELF")]);
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(&zip).unwrap(),
    ));
    std::fs::write(
        d.path().join("terraform-provider-demo_1.2.3_SHA256SUMS"),
        format!("{sum}  terraform-provider-demo_1.2.3_linux_amd64.zip\n"),
    )
    .unwrap();
    let o = publish(&b, "example/evil", d.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(b.blob_uploads(), 0);

    // A source registry whose SBOM blob was altered on disk: the copy stops at the digest check,
    // and the destination never gets the version's tag.
    let published = ok_json(&publish(&a, "example/demo", &samples(), &[]));
    let referrer = published["platforms"][0]["sboms"][0]
        .as_str()
        .unwrap()
        .to_string();
    let rm = manifest_json(&a, "example/demo", &referrer);
    let sbom_blob = a.blob_file(rm["layers"][0]["digest"].as_str().unwrap());
    let mut bytes = std::fs::read(&sbom_blob).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&sbom_blob, bytes).unwrap();
    let src = format!("oci://{}/example/demo:1.2.3", a.host());
    let o = run(&[
        "mirror",
        &src,
        &format!("oci://{}/mirror/demo", b.host()),
        "--plain-http",
        "--no-cache",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("digest") || err.contains("hashes to"), "{err}");
    let tag = reqwest::blocking::Client::new()
        .get(format!("{}/v2/mirror/demo/manifests/1.2.3", b.base()))
        .header("Accept", "application/vnd.oci.image.index.v1+json")
        .send()
        .unwrap();
    assert_eq!(tag.status().as_u16(), 404, "no tag at the destination");
}

#[test]
fn publish_mounts_blobs_another_repository_of_the_registry_holds() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    ok_json(&publish(&reg, "example/demo", &samples(), &[]));
    let uploads = reg.blob_uploads();
    let v = ok_json(&publish(
        &reg,
        "acme/demo",
        &samples(),
        &["--mount-from", "example/demo"],
    ));
    // the 3 ZIPs, the empty config and the 3 (deterministic, identical) SBOMs
    assert_eq!(v["stats"]["mounted"], 7, "{v}");
    assert_eq!(v["stats"]["uploaded"], 0, "{v}");
    assert_eq!(
        reg.blob_uploads() - uploads,
        7,
        "one mount request per blob, no uploads"
    );
    let lines = origins(&format!("oci://{}/acme/demo:1.2.3", reg.host()));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("attached cyclonedx"))
            .count(),
        3
    );
}

#[test]
fn publish_with_basic_auth_sends_credentials_to_the_destination() {
    let Some(reg) = TestRegistry::start_basic() else {
        return;
    };
    let to = format!("oci://{}/example/demo", reg.host());
    let dist = samples();
    let args = [
        "publish",
        dist.to_str().unwrap(),
        "--to",
        &to,
        "--plain-http",
        "--json",
    ];
    let anonymous = run(&args);
    assert_eq!(
        anonymous.status.code(),
        Some(2),
        "an anonymous push is refused"
    );
    let mut child = provguard()
        .args(args)
        .args(["--username", "testuser", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"testpass\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let v = ok_json(&o);
    assert_eq!(v["platforms"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["fallbackTags"], true,
        "distribution 2.8 sends no OCI-Subject"
    );
}

/// A registry that indexes referrers itself answers a manifest PUT carrying `subject` with
/// `OCI-Subject`; then no fallback tag may be written. Distribution 2.8 never sends that header,
/// so this one behaviour runs against an in-process fake: it claims every blob is present
/// (blob storage is the real registry's business in the tests above) and records every request.
#[test]
fn no_fallback_tag_when_the_registry_answers_oci_subject() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let host = serve_http("127.0.0.1:0", move |req| {
        s.lock()
            .unwrap()
            .push(format!("{} {}", req.method, req.path));
        let mut headers = Vec::new();
        let status = match req.method.as_str() {
            "GET" if req.path == "/v2/" => 200,
            "HEAD" if req.path.contains("/blobs/") => 200,
            "PUT" if req.path.contains("/manifests/") => {
                let d = format!(
                    "sha256:{}",
                    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&req.body))
                );
                headers.push(("Docker-Content-Digest".to_string(), d));
                headers.push(("Location".to_string(), req.path.clone()));
                let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                if let Some(sd) = v.pointer("/subject/digest").and_then(Value::as_str) {
                    headers.push(("OCI-Subject".to_string(), sd.to_string()));
                }
                201
            }
            _ => 404,
        };
        (status, headers, Vec::new())
    });
    let v = ok_json(&publish_to(
        &host,
        "example/demo",
        &samples(),
        &["--registry-retries", "0"],
    ));
    assert_eq!(v["fallbackTags"], false);
    let puts: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("PUT "))
        .cloned()
        .collect();
    assert_eq!(
        puts.len(),
        3 + 3 + 1,
        "platform manifests, SBOM referrers, the tag: {puts:?}"
    );
    assert!(
        puts.iter().all(|p| !p.contains("/manifests/sha256-")),
        "{puts:?}"
    );
    assert!(
        puts.last().unwrap().ends_with("/manifests/1.2.3"),
        "the tag last: {puts:?}"
    );
}
