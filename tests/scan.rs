//! `provguard scan`: every report format, several at once, exit codes, database errors — and,
//! with the real Trivy (0.44.1 and 0.76.0): `trivy convert` of our `trivy-json`, our VEX making
//! Trivy suppress exactly provguard's `not_affected` findings, and agreement on IDs and packages.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::*;

/// Module level (`--no-symbols`): these tests are about the report formats; reachability is
/// tested in tests/reachability.rs and by the Trivy VEX runs below.
fn scan(args: &[&str]) -> Output {
    provguard()
        .arg("scan")
        .arg("--no-symbols")
        .arg(sample_zip("linux_amd64"))
        .arg("--db")
        .arg(repo().join("samples/vulndb"))
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn json_report_lists_findings_with_sources_and_db_date() {
    let doc = ok_json(&scan(&["--format", "json"]));
    assert_eq!(doc["schemaVersion"], 1);
    assert_eq!(doc["database"]["modified"], "2026-11-01T00:00:00Z");
    let a = &doc["artifacts"][0];
    assert_eq!(a["inventory"]["source"], "buildinfo");
    assert_eq!(a["platform"], "linux_amd64");
    let f = a["findings"].as_array().unwrap();
    let affected: BTreeSet<(String, String)> = f
        .iter()
        .filter(|f| f["status"] == "affected")
        .map(|f| {
            (
                f["id"].as_str().unwrap().into(),
                f["module"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("CVE-2023-48795", "golang.org/x/crypto"),
        ("CVE-2024-45337", "golang.org/x/crypto"),
        ("CVE-2023-39325", "golang.org/x/net"),
        ("CVE-2023-44487", "golang.org/x/net"),
        ("CVE-2023-39325", "stdlib"),
        ("CVE-2023-44487", "stdlib"),
        ("CVE-2024-24790", "stdlib"),
        ("CVE-2023-29406", "stdlib"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(affected, want);
    let na: Vec<&Value> = f.iter().filter(|f| f["status"] == "not_affected").collect();
    assert_eq!(na.len(), 1);
    assert_eq!(na[0]["id"], "CVE-2023-45283");
    assert_eq!(na[0]["justification"], "vulnerable_code_not_present");
    assert_eq!(a["summary"]["CRITICAL"], 2);
    let terrapin = f.iter().find(|f| f["id"] == "CVE-2023-48795").unwrap();
    assert_eq!(terrapin["upgradeTo"], "v0.17.0");
    assert_eq!(terrapin["score"], 5.9);
    assert!(
        terrapin["aliases"]
            .as_array()
            .unwrap()
            .contains(&"GO-2023-2402".into())
    );
}

#[test]
fn windows_build_is_affected_by_the_windows_only_advisory() {
    // The platform rule at module level (the windows binary does not contain the vulnerable
    // functions, so with symbols the finding is `absent` — see tests/reachability.rs).
    let o = provguard()
        .args(["scan", "--no-symbols", "--format", "json", "--db"])
        .arg(repo().join("samples/vulndb"))
        .arg(sample_zip("windows_amd64"))
        .output()
        .unwrap();
    let doc = ok_json(&o);
    let f = doc["artifacts"][0]["findings"].as_array().unwrap();
    let x = f.iter().find(|f| f["id"] == "CVE-2023-45283").unwrap();
    assert_eq!(x["status"], "affected");
}

#[test]
fn several_reports_in_one_run_and_schema_validity() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n);
    let arg = |f: &str, n: &str| format!("{f}={}", p(n).display());
    let o = scan(&[
        "--deterministic",
        "--format",
        "table",
        "--output",
        &arg("sarif", "r.sarif"),
        "--output",
        &arg("cyclonedx-vex", "vex.cdx.json"),
        "--output",
        &arg("cyclonedx", "vdr.cdx.json"),
        "--output",
        &arg("openvex", "vex.openvex.json"),
        "--output",
        &arg("markdown", "audit.md"),
        "--output",
        &arg("trivy-json", "r.trivy.json"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(
        table.contains("CVE-2024-45337") && table.contains("v0.31.0"),
        "{table}"
    );
    assert!(table.contains("not affected: CVE-2023-45283"));
    let read =
        |n: &str| -> Value { serde_json::from_slice(&std::fs::read(p(n)).unwrap()).unwrap() };
    let sarif = read("r.sarif");
    let errs = sarif_errors(&sarif);
    assert!(errs.is_empty(), "{errs:#?}");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 8);
    for n in ["vex.cdx.json", "vdr.cdx.json"] {
        let errs = schema_errors("bom-1.5.schema.json", &read(n));
        assert!(errs.is_empty(), "{n}: {errs:#?}");
    }
    // The VEX links into the SBOM `provguard sbom --deterministic` writes for the same artifact.
    let sbom: Value = serde_json::from_slice(
        &provguard()
            .args(["sbom", "--deterministic"])
            .arg(sample_zip("linux_amd64"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let serial = sbom["serialNumber"]
        .as_str()
        .unwrap()
        .trim_start_matches("urn:uuid:")
        .to_string();
    let vex = read("vex.cdx.json");
    let na = vex["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2023-45283")
        .unwrap();
    assert_eq!(na["analysis"]["state"], "not_affected");
    assert_eq!(
        na["affects"][0]["ref"],
        format!("urn:cdx:{serial}/1#pkg:golang/stdlib@v1.19.8")
    );
    let vdr = read("vdr.cdx.json");
    assert_eq!(
        vdr["serialNumber"], sbom["serialNumber"],
        "the VDR is that same SBOM"
    );
    assert_eq!(
        vdr["vulnerabilities"].as_array().unwrap().len(),
        7,
        "one entry per ID"
    );
    let openvex = read("vex.openvex.json");
    assert_eq!(openvex["@context"], "https://openvex.dev/ns/v0.2.0");
    let st = openvex["statements"].as_array().unwrap();
    assert_eq!(st.len(), 9);
    assert!(
        st.iter()
            .all(|s| s["status"] == "affected" || s["status"] == "not_affected")
    );
    let md = std::fs::read_to_string(p("audit.md")).unwrap();
    assert!(
        md.contains("## What to upgrade") && md.contains("| golang.org/x/crypto | v0.31.0 |"),
        "{md}"
    );
    assert!(md.contains("stdlib (rebuild with Go 1.21.11)"), "{md}");
    let trivy = read("r.trivy.json");
    assert_eq!(trivy["SchemaVersion"], 2);
    assert_eq!(
        trivy["Results"][0]["Vulnerabilities"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
}

#[test]
fn no_executable_hash_leaves_only_the_hash_out() {
    let d = tempfile::tempdir().unwrap();
    let exe = d.path().join("terraform-provider-demo_v1.2.3");
    std::fs::write(&exe, sample_exe("linux_amd64")).unwrap();
    let run = |extra: &[&str]| {
        let o = provguard()
            .args(["scan", "--deterministic", "--format", "json", "--db"])
            .arg(repo().join("samples/vulndb"))
            .args(extra)
            .arg(&exe)
            .output()
            .unwrap();
        ok_json(&o)
    };
    let mut with = run(&[]);
    let mut without = run(&["--no-executable-hash"]);
    let digest = support::https::sha256_hex(&std::fs::read(&exe).unwrap());
    let field = |d: &mut Value| d["artifacts"][0]["executableSha256"].take();
    assert_eq!(field(&mut with), Value::String(digest));
    assert_eq!(field(&mut without), Value::Null);
    assert!(
        !with["artifacts"][0]["findings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(with, without, "everything but the hash is the same");
}

#[test]
fn exit_codes() {
    assert_eq!(
        scan(&["--format", "json", "--exit-code", "3"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(scan(&["--format", "json"]).status.code(), Some(0));
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("index")).unwrap();
    std::fs::write(
        empty.path().join("index/db.json"),
        r#"{"modified":"2026-11-20T00:00:00Z"}"#,
    )
    .unwrap();
    std::fs::write(empty.path().join("index/modules.json"), "[]").unwrap();
    let o = provguard()
        .args(["scan", "--format", "json", "--exit-code", "3", "--db"])
        .arg(empty.path())
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "no findings, no failure");
    let missing = provguard()
        .args(["scan", "--db", "/nonexistent/db"])
        .arg(sample_zip("linux_amd64"))
        .env("XDG_CACHE_HOME", empty.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("provguard db update"));
    let two_stdout = scan(&["--output", "json=-", "--output", "sarif=-"]);
    assert_eq!(two_stdout.status.code(), Some(2));
}

#[test]
fn stale_database_warns_with_its_age() {
    let o = scan(&["--format", "json", "--db-max-age", "1"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("days old (more than --db-max-age 1)"));
}

// ---- with the real Trivy -------------------------------------------------------------------

fn trivy_cmd(trivy: &Path, cache: &Path) -> Command {
    let mut c = Command::new("timeout");
    c.arg("120")
        .arg(trivy)
        .arg("--cache-dir")
        .arg(cache)
        .env("TRIVY_SKIP_VERSION_CHECK", "true")
        .env("TRIVY_DISABLE_TELEMETRY", "true");
    c
}

fn found(report: &Value) -> BTreeSet<(String, String)> {
    let mut s = BTreeSet::new();
    for r in report["Results"].as_array().into_iter().flatten() {
        for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
            s.insert((
                v["VulnerabilityID"].as_str().unwrap().into(),
                v["PkgName"].as_str().unwrap().into(),
            ));
        }
    }
    s
}

fn trivy_sbom(trivy: &Path, sbom: &Path, vex: Option<&Path>) -> BTreeSet<(String, String)> {
    let cache = tempfile::tempdir().unwrap();
    let db = trivy_cache_dir();
    std::fs::create_dir(cache.path().join("db")).unwrap();
    for f in ["trivy.db", "metadata.json"] {
        std::fs::copy(
            db.path().join("db").join(f),
            cache.path().join("db").join(f),
        )
        .unwrap();
    }
    let mut c = trivy_cmd(trivy, cache.path());
    c.args(["sbom", "--skip-db-update", "--offline-scan", "-f", "json"]);
    if let Some(v) = vex {
        c.arg("--vex").arg(v);
    }
    let o = c.arg(sbom).output().unwrap();
    assert!(
        o.status.success(),
        "trivy {}: {:?} {}",
        trivy.display(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    found(&serde_json::from_slice(&o.stdout).unwrap())
}

struct Run {
    _dir: tempfile::TempDir,
    sbom: PathBuf,
    cdx_vex: PathBuf,
    openvex: PathBuf,
    trivy_json: PathBuf,
    all: BTreeSet<(String, String)>,
    affected: BTreeSet<(String, String)>,
}

/// provguard on the demo (linux_amd64) with an OSV DB mirroring the Trivy test DB, at module
/// level (`symbols` false) or with symbol-level reachability.
fn provguard_run(symbols: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("osv");
    std::fs::create_dir(&db).unwrap();
    osv_mirror_of_trivy_db(&db);
    let p = |n: &str| dir.path().join(n);
    let o = provguard()
        .args(["sbom", "--deterministic", "-o"])
        .arg(p("sbom.cdx.json"))
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let out = |f: &str, n: &str| format!("{f}={}", p(n).display());
    let o = provguard()
        .args(["scan", "--deterministic", "--format", "json", "--db"])
        .arg(&db)
        .args(if symbols {
            &[][..]
        } else {
            &["--no-symbols"][..]
        })
        .args(["--output", &out("cyclonedx-vex", "vex.cdx.json")])
        .args(["--output", &out("openvex", "vex.openvex.json")])
        .args(["--output", &out("trivy-json", "report.trivy.json")])
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    let doc = ok_json(&o);
    let mut all = BTreeSet::new();
    let mut affected = BTreeSet::new();
    for f in doc["artifacts"][0]["findings"].as_array().unwrap() {
        let k = (
            f["id"].as_str().unwrap().to_string(),
            f["module"].as_str().unwrap().to_string(),
        );
        if f["status"] == "affected" {
            affected.insert(k.clone());
        }
        all.insert(k);
    }
    Run {
        sbom: p("sbom.cdx.json"),
        cdx_vex: p("vex.cdx.json"),
        openvex: p("vex.openvex.json"),
        trivy_json: p("report.trivy.json"),
        _dir: dir,
        all,
        affected,
    }
}

/// `trivy convert --format sarif` of a trivy-json report: the rule ids of its results.
fn convert_sarif_ids(trivy: &Path, report: &Path) -> BTreeSet<String> {
    let cache = tempfile::tempdir().unwrap();
    let sarif_out = cache.path().join("out.sarif");
    let o = trivy_cmd(trivy, cache.path())
        .args(["convert", "--format", "sarif", "-o"])
        .arg(&sarif_out)
        .arg(report)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "convert sarif: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let sarif: Value = serde_json::from_slice(&std::fs::read(&sarif_out).unwrap()).unwrap();
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect()
}

fn trivy_interop(version: &str) {
    if !have_go() && missing("go (to build the Trivy test DB)") {
        return;
    }
    let Some(trivy) = trivy(version) else { return };
    // With symbols: the findings whose vulnerable code is absent are not_affected in our VEX,
    // and Trivy drops exactly those — it shows provguard's present + unknown findings.
    let sym = provguard_run(true);
    assert_eq!(sym.all.len(), 8);
    assert!(
        sym.affected.len() < 8,
        "some vulnerable code is absent from the demo"
    );
    assert_eq!(
        trivy_sbom(&trivy, &sym.sbom, Some(&sym.cdx_vex)),
        sym.affected,
        "Trivy {version} + CycloneDX VEX with reachability"
    );
    if version != "0.44.1" {
        assert_eq!(
            trivy_sbom(&trivy, &sym.sbom, Some(&sym.openvex)),
            sym.affected,
            "Trivy {version} + OpenVEX with reachability"
        );
    }
    // Our trivy-json with reachability: the affected findings as vulnerabilities, the absent ones
    // where Trivy 0.76 lists VEX-suppressed findings, each with `Status: not_affected`; and
    // `trivy convert` (both versions) reads it and shows only the affected ones.
    let doc: Value = serde_json::from_slice(&std::fs::read(&sym.trivy_json).unwrap()).unwrap();
    let pairs = |key: &str, inner: Option<&str>| -> BTreeSet<(String, String)> {
        doc["Results"][0][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let f = inner.map_or(v, |k| &v[k]);
                if inner.is_some() {
                    assert_eq!(v["Status"], "not_affected", "{v}");
                    assert_eq!(f["Status"], "not_affected", "{v}");
                    assert_eq!(v["Statement"], "vulnerable_code_not_present", "{v}");
                }
                (
                    f["VulnerabilityID"].as_str().unwrap().to_string(),
                    f["PkgName"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(pairs("Vulnerabilities", None), sym.affected);
    assert_eq!(
        pairs("ExperimentalModifiedFindings", Some("Finding")),
        sym.all.difference(&sym.affected).cloned().collect()
    );
    assert_eq!(
        convert_sarif_ids(&trivy, &sym.trivy_json),
        sym.affected.iter().map(|(id, _)| id.clone()).collect(),
        "trivy {version} convert of trivy-json with reachability"
    );
    // Module level: the rest of this test.
    let run = provguard_run(false);
    assert_eq!(run.all.len(), 8);
    assert_eq!(
        run.all
            .difference(&run.affected)
            .cloned()
            .collect::<Vec<_>>(),
        [("CVE-2023-45283".to_string(), "stdlib".to_string())]
    );
    // Same advisories, same answers: Trivy on our SBOM = everything provguard matched.
    assert_eq!(
        trivy_sbom(&trivy, &run.sbom, None),
        run.all,
        "Trivy {version} vs provguard"
    );
    // Our CycloneDX VEX suppresses exactly provguard's not_affected findings.
    assert_eq!(
        trivy_sbom(&trivy, &run.sbom, Some(&run.cdx_vex)),
        run.affected,
        "Trivy {version} + CycloneDX VEX"
    );
    if version != "0.44.1" {
        // OpenVEX v0.2.0 is what current Trivy reads (0.44 knew only the 0.0.1 shape).
        assert_eq!(
            trivy_sbom(&trivy, &run.sbom, Some(&run.openvex)),
            run.affected,
            "Trivy {version} + OpenVEX"
        );
    }
    // `trivy convert` turns our trivy-json into SARIF and a table.
    let ids = convert_sarif_ids(&trivy, &run.trivy_json);
    let cache = tempfile::tempdir().unwrap();
    let want: BTreeSet<String> = run.affected.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, want, "trivy convert --format sarif");
    let o = trivy_cmd(&trivy, cache.path())
        .args(["convert", "--format", "table"])
        .arg(&run.trivy_json)
        .output()
        .unwrap();
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    for (id, module) in &run.affected {
        assert!(
            table.contains(id.as_str()) && table.contains(module.as_str()),
            "{id} {module} in:\n{table}"
        );
    }
    let cdx_out = cache.path().join("out.cdx.json");
    let o = trivy_cmd(&trivy, cache.path())
        .args(["convert", "--format", "cyclonedx", "-o"])
        .arg(&cdx_out)
        .arg(&run.trivy_json)
        .output()
        .unwrap();
    assert!(o.status.success());
    let cdx: Value = serde_json::from_slice(&std::fs::read(&cdx_out).unwrap()).unwrap();
    let vulns = cdx["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), want.len());
    let refs: BTreeSet<String> = vulns
        .iter()
        .flat_map(|v| {
            v["affects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["ref"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(
        refs.len() >= 4,
        "vulnerabilities attached to their own modules, not one: {refs:?}"
    );
}

#[test]
fn trivy_0_44_1_agrees_converts_and_honours_our_vex() {
    trivy_interop("0.44.1");
}

#[test]
fn trivy_0_76_0_agrees_converts_and_honours_our_vex() {
    trivy_interop("0.76.0");
}
