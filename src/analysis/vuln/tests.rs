//! Matching, on real OSV entries (samples/vulndb) and a few crafted ones for the corner cases.

use std::path::Path;

use super::*;
use crate::inventory::{Origin, Subject, VersionSource};

fn module(path: &str, version: Option<&str>) -> Module {
    Module {
        path: path.into(),
        version: version.map(str::to_string),
        sum: None,
        replacement: None,
    }
}

fn inventory(goos: &str, go: &str, modules: &[(&str, Option<&str>)]) -> Inventory {
    let mut mods: Vec<Module> = modules.iter().map(|(p, v)| module(p, *v)).collect();
    if let Some(v) = crate::inventory::version::stdlib_semver(go) {
        mods.push(module("stdlib", Some(&v)));
    }
    Inventory {
        subject: Subject::default(),
        origin: Origin::Buildinfo { note: None },
        go_version: go.into(),
        goos: Some(goos.into()),
        goarch: Some("amd64".into()),
        main_path: "example.com/main".into(),
        main: module("example.com/main", None),
        main_version_source: VersionSource::Unknown,
        modules: mods,
        settings: Vec::new(),
        drift: Vec::new(),
        licenses: Default::default(),
        functions: Default::default(),
    }
}

fn sample_db() -> Database {
    Database::open(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/vulndb"),
        None,
    )
    .unwrap()
}

fn ids(f: &[Finding]) -> Vec<(String, String, bool)> {
    let mut v: Vec<_> = f
        .iter()
        .map(|f| (f.id.clone(), f.module.clone(), f.is_affected()))
        .collect();
    v.sort();
    v
}

#[test]
fn module_ranges_and_fixed_versions() {
    let db = sample_db();
    let f = match_inventory(
        &inventory(
            "linux",
            "go1.22.4",
            &[("golang.org/x/crypto", Some("v0.4.0"))],
        ),
        &db,
    );
    assert_eq!(
        ids(&f),
        [
            ("CVE-2023-48795".into(), "golang.org/x/crypto".into(), true),
            ("CVE-2024-45337".into(), "golang.org/x/crypto".into(), true)
        ]
    );
    let terrapin = f.iter().find(|f| f.id == "CVE-2023-48795").unwrap();
    assert_eq!(terrapin.fixed, ["0.17.0"]);
    assert_eq!(terrapin.upgrade_to().as_deref(), Some("v0.17.0"));
    assert_eq!(terrapin.aliases, ["GHSA-45x7-px36-x8w8", "GO-2023-2402"]);
    assert_eq!(terrapin.severity(), Severity::Medium);
    assert_eq!(f[0].id, "CVE-2024-45337", "sorted by severity first");
    let f = match_inventory(
        &inventory(
            "linux",
            "go1.22.4",
            &[("golang.org/x/crypto", Some("v0.17.0"))],
        ),
        &db,
    );
    assert_eq!(
        ids(&f),
        [("CVE-2024-45337".into(), "golang.org/x/crypto".into(), true)]
    );
    let f = match_inventory(
        &inventory(
            "linux",
            "go1.22.4",
            &[("golang.org/x/crypto", Some("v0.31.0"))],
        ),
        &db,
    );
    assert!(f.is_empty());
}

#[test]
fn pseudo_versions_devel_and_one_finding_per_cve() {
    let db = sample_db();
    let inv = inventory(
        "linux",
        "go1.22.4",
        &[
            (
                "golang.org/x/net",
                Some("v0.0.0-20220906165146-f3363e06e74c"),
            ),
            ("golang.org/x/crypto", None),
        ],
    );
    let f = match_inventory(&inv, &db);
    assert_eq!(
        ids(&f),
        [
            ("CVE-2023-39325".into(), "golang.org/x/net".into(), true),
            ("CVE-2023-44487".into(), "golang.org/x/net".into(), true)
        ],
        "(devel) x/crypto never matches; GO-2023-2102 yields one finding per CVE alias"
    );
    assert!(f[0].aliases.contains(&"GO-2023-2102".to_string()));
}

#[test]
fn stdlib_by_go_version_rc_and_goos_filter() {
    let db = sample_db();
    // go1.21rc2 → v1.21.0-rc.2: inside GO-2023-2102's "introduced 1.21.0-0, fixed 1.21.3".
    let f = match_inventory(&inventory("linux", "go1.21rc2", &[]), &db);
    let got = ids(&f);
    assert!(
        got.contains(&("CVE-2023-39325".into(), "stdlib".into(), true)),
        "{got:?}"
    );
    let f = match_inventory(&inventory("linux", "go1.21.3", &[]), &db);
    assert!(!ids(&f).iter().any(|(id, ..)| id == "CVE-2023-39325"));
    // GO-2023-2185 only builds on windows.
    let lin = match_inventory(&inventory("linux", "go1.19.8", &[]), &db);
    let win = match_inventory(&inventory("windows", "go1.19.8", &[]), &db);
    let status = |f: &[Finding]| {
        f.iter()
            .find(|f| f.id == "CVE-2023-45283")
            .unwrap()
            .status
            .clone()
    };
    assert!(
        matches!(status(&lin), Status::NotAffected { ref detail, .. } if detail.contains("GOOS=windows"))
    );
    assert_eq!(status(&win), Status::Affected);
    let fixed = &lin.iter().find(|f| f.id == "CVE-2023-29406").unwrap().fixed;
    assert_eq!(fixed, &["1.19.11", "1.20.6"]);
    assert_eq!(
        lin.iter()
            .find(|f| f.id == "CVE-2023-29406")
            .unwrap()
            .upgrade_to()
            .as_deref(),
        Some("go1.19.11")
    );
}

fn crafted_db(entries: &[&str]) -> (tempfile::TempDir, Database) {
    let d = tempfile::tempdir().unwrap();
    for (i, e) in entries.iter().enumerate() {
        std::fs::write(d.path().join(format!("E-{i}.json")), e).unwrap();
    }
    let db = Database::open(d.path(), None).unwrap();
    (d, db)
}

#[test]
fn withdrawn_incompatible_replacement_and_toolchain() {
    let (_d, db) = crafted_db(&[
        r#"{"id":"GO-W","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"name":"golang.org/x/crypto","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
        r#"{"id":"GO-D","aliases":["GHSA-dddd"],"affected":[{"package":{"name":"github.com/docker/docker","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"20.10.11+incompatible"}]}]}]}"#,
        r#"{"id":"GO-T","aliases":["CVE-2099-1"],"affected":[{"package":{"name":"toolchain","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.0"}]}]}]}"#,
        r#"{"id":"GO-C","affected":[{"package":{"name":"golang.org/x/crypto","ecosystem":"Go"},"versions":["0.4.0"]}]}"#,
    ]);
    let mut inv = inventory(
        "linux",
        "go1.19.8",
        &[("github.com/docker/docker", Some("v20.10.7+incompatible"))],
    );
    // example.com/crypto-fork => golang.org/x/crypto v0.4.0: matched under the replacement.
    inv.modules
        .push(Module::from_go(&crate::inventory::gobin::GoModule {
            path: "example.com/crypto-fork".into(),
            version: "v1.0.0".into(),
            sum: String::new(),
            replace: Some(Box::new(crate::inventory::gobin::GoModule {
                path: "golang.org/x/crypto".into(),
                version: "v0.4.0".into(),
                sum: String::new(),
                replace: None,
            })),
        }));
    let f = match_inventory(&inv, &db);
    assert_eq!(
        ids(&f),
        [
            ("CVE-2099-1".into(), "toolchain".into(), false),
            ("GHSA-dddd".into(), "github.com/docker/docker".into(), true),
            ("GO-C".into(), "golang.org/x/crypto".into(), true),
        ],
        "withdrawn GO-W is skipped"
    );
    let docker = f.iter().find(|f| f.id == "GHSA-dddd").unwrap();
    assert_eq!(docker.fixed, ["20.10.11+incompatible"]);
}
