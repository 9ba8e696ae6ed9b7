//! `provguard sbom` output: official-schema validity of every format, Trivy-readable shapes,
//! determinism (`--deterministic`, `SOURCE_DATE_EPOCH`), committed snapshots, directory targets.

mod support;

use serde_json::Value;
use support::*;

fn sbom(args: &[&str], target: &std::path::Path) -> Vec<u8> {
    let o = provguard()
        .arg("sbom")
        .args(args)
        .arg(target)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

#[test]
fn every_format_validates_against_its_official_schema() {
    for plat in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
        let z = sample_zip(plat);
        for (fmt, schema) in [
            ("cyclonedx", "bom-1.5.schema.json"),
            ("cyclonedx-1.6", "bom-1.6.schema.json"),
            ("spdx", "spdx_2_3.json"),
        ] {
            let doc = json(&sbom(&["--format", fmt], &z));
            let errs = schema_errors(schema, &doc);
            assert!(errs.is_empty(), "{plat} {fmt}: {errs:#?}");
        }
    }
}

#[test]
fn schema_validation_catches_a_broken_document() {
    let mut doc = json(&sbom(&[], &sample_zip("linux_amd64")));
    doc["components"][1]["type"] = "not-a-type".into();
    assert!(!schema_errors("bom-1.5.schema.json", &doc).is_empty());
}

#[test]
fn cyclonedx_has_the_shape_trivy_reads() {
    let z = sample_zip("linux_amd64");
    let doc = json(&sbom(&[], &z));
    assert_eq!(doc["specVersion"], "1.5");
    assert!(
        doc["metadata"]["tools"].is_array(),
        "legacy tools array for Trivy 0.44"
    );
    let root = &doc["metadata"]["component"];
    assert_eq!(root["name"], "terraform-provider-demo");
    assert_eq!(root["version"], "1.2.3");
    let zh = artifact_sha256(&z);
    assert_eq!(root["hashes"][0]["content"], zh.as_str());
    let lock = std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl")).unwrap();
    assert!(
        lock.contains(&format!("zh:{zh}")),
        "the ZIP hash is the lock file's zh:"
    );
    let comps = doc["components"].as_array().unwrap();
    for c in comps.iter().skip(1) {
        assert!(c.get("group").is_none());
        assert!(c.get("components").is_none(), "flat components only");
        let purl = c["purl"].as_str().unwrap();
        assert_eq!(
            purl,
            format!(
                "pkg:golang/{}@{}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        );
        assert_eq!(c["bom-ref"], c["purl"]);
    }
    let names: Vec<&str> = comps.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "terraform-provider-demo_v1.2.3",
            "github.com/example/terraform-provider-demo",
            "github.com/BurntSushi/toml",
            "github.com/hashicorp/go-version",
            "golang.org/x/crypto",
            "golang.org/x/net",
            "golang.org/x/text",
            "stdlib"
        ]
    );
    assert_eq!(comps[7]["purl"], "pkg:golang/stdlib@v1.19.8");
    assert_eq!(
        comps[1]["version"], "v1.2.3",
        "main version from the ZIP name"
    );
    let deps = doc["dependencies"].as_array().unwrap();
    assert_eq!(deps[0]["dependsOn"][0], "executable");
    assert_eq!(
        deps[1]["dependsOn"][0],
        "pkg:golang/github.com/example/terraform-provider-demo@v1.2.3"
    );
    assert_eq!(deps[2]["dependsOn"].as_array().unwrap().len(), 6);
    let props = comps[0]["properties"].as_array().unwrap();
    let prop = |k: &str| {
        props
            .iter()
            .find(|p| p["name"] == k)
            .map(|p| p["value"].clone())
    };
    assert_eq!(prop("aquasecurity:trivy:Type").unwrap(), "gobinary");
    assert_eq!(prop("provguard:main.version.source").unwrap(), "file-name");
    assert_eq!(prop("provguard:build:-trimpath").unwrap(), "true");
    assert_eq!(prop("provguard:go.version").unwrap(), "go1.19.8");
    let crypto = &comps[4]["properties"][0];
    assert_eq!(crypto["name"], "provguard:h1");
    assert_eq!(
        crypto["value"],
        "h1:StUBw2BmD3BiqUfzRHDog/6fTnek48R7BCmUoaSZKr8="
    );
}

fn artifact_sha256(p: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

#[test]
fn spdx_relationships_are_the_ones_both_trivy_generations_walk() {
    let doc = json(&sbom(&["--format", "spdx"], &sample_zip("darwin_arm64")));
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let rels = doc["relationships"].as_array().unwrap();
    for r in rels {
        let from = r["spdxElementId"].as_str().unwrap();
        assert!(
            from == "SPDXRef-DOCUMENT" || from.starts_with("SPDXRef-Application-"),
            "no package-to-package edge between plain packages: {r}"
        );
    }
    let pkgs = doc["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 8);
    for p in &pkgs[1..] {
        assert_eq!(p["externalRefs"][0]["referenceCategory"], "PACKAGE-MANAGER");
    }
    assert!(
        pkgs.iter()
            .any(|p| p["name"] == "github.com/BurntSushi/toml")
    );
}

#[test]
fn deterministic_output_is_byte_identical_and_matches_snapshots() {
    let z = sample_zip("linux_amd64");
    for (fmt, snap) in [
        ("cyclonedx", "demo_linux_amd64.cdx.json"),
        ("spdx", "demo_linux_amd64.spdx.json"),
    ] {
        let a = sbom(&["--deterministic", "--format", fmt], &z);
        let b = sbom(&["--deterministic", "--format", fmt], &z);
        assert_eq!(a, b, "{fmt}: two runs differ");
        let path = repo().join("tests/snapshots").join(snap);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &a).unwrap();
        }
        let want = std::fs::read(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 to write)");
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&want),
            "{fmt} snapshot"
        );
    }
    // Not deterministic: fresh serials.
    let a = json(&sbom(&[], &z));
    let b = json(&sbom(&[], &z));
    assert_ne!(a["serialNumber"], b["serialNumber"]);
}

#[test]
fn source_date_epoch_sets_the_timestamp_and_determinism() {
    let z = sample_zip("linux_amd64");
    let run = || {
        let o = provguard()
            .arg("sbom")
            .arg(&z)
            .env("SOURCE_DATE_EPOCH", "1717200000")
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    let a = run();
    assert_eq!(a, run());
    assert_eq!(json(&a)["metadata"]["timestamp"], "2024-06-01T00:00:00Z");
}

#[test]
fn directory_targets_write_one_sbom_per_artifact() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("sboms");
    let o = provguard()
        .args(["sbom", "--format", "cyclonedx-1.6", "--output-dir"])
        .arg(&out)
        .arg(repo().join("samples/dist"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for plat in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
        let doc = json(
            &std::fs::read(out.join(format!("terraform-provider-demo_1.2.3_{plat}.cdx.json")))
                .unwrap(),
        );
        assert_eq!(doc["specVersion"], "1.6");
        let props = doc["metadata"]["component"]["properties"]
            .as_array()
            .unwrap();
        assert!(
            props
                .iter()
                .any(|p| p["name"] == "provguard:platform" && p["value"] == plat)
        );
    }
    // A filesystem mirror (packed layout) records the provider address.
    let mirror = d.path().join("mirror/registry.opentofu.org/example/demo");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(
        sample_zip("windows_amd64"),
        mirror.join("terraform-provider-demo_1.2.3_windows_amd64.zip"),
    )
    .unwrap();
    let doc = json(&sbom(&[], &d.path().join("mirror")));
    let props = doc["metadata"]["component"]["properties"]
        .as_array()
        .unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "provguard:provider.address"
                && p["value"] == "registry.opentofu.org/example/demo")
    );
}

#[test]
fn table_and_output_file() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("t.txt");
    let o = provguard()
        .args(["sbom", "--format", "table", "--output"])
        .arg(&out)
        .arg(sample_zip("windows_amd64"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let t = std::fs::read_to_string(&out).unwrap();
    assert!(
        t.contains("windows_amd64") && t.contains("golang.org/x/crypto") && t.contains("v0.4.0"),
        "{t}"
    );
}

#[test]
fn help_everywhere() {
    for args in [
        &["--help"][..],
        &["sbom", "--help"],
        &["buildinfo", "--help"],
    ] {
        let o = provguard().args(args).output().unwrap();
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage"));
    }
    let o = provguard()
        .args(["sbom", "--format", "xml", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_executable_hash_reads_a_bare_binary_like_go_version_m() {
    let d = tempfile::tempdir().unwrap();
    let mut a =
        zip::ZipArchive::new(std::fs::File::open(sample_zip("linux_amd64")).unwrap()).unwrap();
    let bin = d.path().join("terraform-provider-demo_v1.2.3");
    std::io::copy(
        &mut a.by_index(0).unwrap(),
        &mut std::fs::File::create(&bin).unwrap(),
    )
    .unwrap();
    let with = json(&sbom(&["--deterministic"], &bin));
    let without = json(&sbom(&["--deterministic", "--no-executable-hash"], &bin));
    let exe_with = &with["components"][0];
    assert_eq!(
        exe_with["hashes"][0]["content"].as_str().unwrap(),
        artifact_sha256(&bin)
    );
    assert!(without["components"][0].get("hashes").is_none());
    assert_eq!(
        with["components"].as_array().unwrap()[1..],
        without["components"].as_array().unwrap()[1..],
        "same inventory either way"
    );
}
