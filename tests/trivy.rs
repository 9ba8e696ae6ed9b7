//! The real Trivy, two generations (0.44.1 and 0.76.0), scanning provguard's CycloneDX and SPDX
//! output of the demo provider with an offline test DB: each must report the expected
//! vulnerabilities on the expected packages — stdlib and a mixed-case module path included.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::*;

/// The DB is built once per test run; every Trivy invocation gets its own writable copy.
fn db_template() -> &'static Path {
    static DB: OnceLock<tempfile::TempDir> = OnceLock::new();
    DB.get_or_init(trivy_cache_dir).path()
}

fn copy_db() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("db")).unwrap();
    for f in ["trivy.db", "metadata.json"] {
        std::fs::copy(
            db_template().join("db").join(f),
            d.path().join("db").join(f),
        )
        .unwrap();
    }
    d
}

fn trivy_findings(trivy: &Path, sbom: &Path) -> BTreeSet<(String, String)> {
    let cache = copy_db();
    let o = Command::new("timeout")
        .arg("120")
        .arg(trivy)
        .arg("--cache-dir")
        .arg(cache.path())
        .args([
            "sbom",
            "--skip-db-update",
            "--offline-scan",
            "-f",
            "json",
            "--list-all-pkgs",
        ])
        .arg(sbom)
        .env("TRIVY_SKIP_VERSION_CHECK", "true")
        .env("TRIVY_DISABLE_TELEMETRY", "true")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} on {}: exit {:?} {}",
        trivy.display(),
        sbom.display(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut found = BTreeSet::new();
    for r in report["Results"].as_array().into_iter().flatten() {
        for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
            found.insert((
                v["VulnerabilityID"].as_str().unwrap().to_string(),
                v["PkgName"].as_str().unwrap().to_string(),
            ));
        }
    }
    found
}

fn expected(mixed_case: bool) -> BTreeSet<(String, String)> {
    let mut e: BTreeSet<(String, String)> = [
        ("CVE-2023-48795", "golang.org/x/crypto"),
        ("CVE-2024-45337", "golang.org/x/crypto"),
        ("CVE-2023-44487", "golang.org/x/net"),
        ("CVE-2023-39325", "golang.org/x/net"),
        ("CVE-2023-45283", "stdlib"),
        ("CVE-2024-24790", "stdlib"),
        ("CVE-2023-29406", "stdlib"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    if mixed_case {
        e.insert((
            "PROVGUARD-TEST-0001".into(),
            "github.com/BurntSushi/toml".into(),
        ));
    }
    e
}

fn write_sbom(dir: &Path, format: &str) -> PathBuf {
    let out = dir.join(format!("demo.{format}.json"));
    let o = provguard()
        .args(["sbom", "--format", format, "--output"])
        .arg(&out)
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn check(version: &str) {
    if !have_go() && missing("go (to build the Trivy test DB)") {
        return;
    }
    let Some(trivy) = trivy(version) else { return };
    let d = tempfile::tempdir().unwrap();
    let cdx = write_sbom(d.path(), "cyclonedx");
    assert_eq!(
        trivy_findings(&trivy, &cdx),
        expected(true),
        "Trivy {version}, CycloneDX"
    );
    let spdx = write_sbom(d.path(), "spdx");
    // Trivy 0.44 lowercases module names it reads from SPDX, so it cannot match the case-exact
    // advisory on github.com/BurntSushi/toml (../shared/trivy/README.md §4); CycloneDX keeps case.
    let mixed_case = version != "0.44.1";
    assert_eq!(
        trivy_findings(&trivy, &spdx),
        expected(mixed_case),
        "Trivy {version}, SPDX"
    );
}

#[test]
fn trivy_0_44_1_reads_our_cyclonedx_and_spdx() {
    check("0.44.1");
}

#[test]
fn trivy_0_76_0_reads_our_cyclonedx_and_spdx() {
    check("0.76.0");
}

#[test]
fn trivy_0_76_0_reads_our_cyclonedx_1_6() {
    if !have_go() && missing("go (to build the Trivy test DB)") {
        return;
    }
    let Some(trivy) = trivy("0.76.0") else { return };
    let d = tempfile::tempdir().unwrap();
    let cdx = write_sbom(d.path(), "cyclonedx-1.6");
    assert_eq!(trivy_findings(&trivy, &cdx), expected(true));
}
