//! Symbol-level reachability against the reference: govulncheck v1.9.0's binary mode
//! (`govulncheck -mode binary -db file://… -format json`) on every unstripped build of the
//! provider-like fixture (`tests/fixtures/gosym`: three toolchains — the machine's go, Debian's
//! go1.19, go1.22.12 by GOTOOLCHAIN — five platforms), with the same local database: the OSV IDs
//! govulncheck reports at symbol level must equal provguard's `present` set. On each stripped
//! twin (`-trimpath -ldflags "-s -w"`, where govulncheck only gives module-level answers)
//! provguard must give the same answer as on the unstripped build.
//!
//! The same comparison on a real provider from the Go module proxy (terraform-provider-openstack
//! v3.4.0, built by the machine's go as releases are and unstripped), with a database aimed at
//! functions its function table holds and does not hold.
//!
//! The database is synthetic (ids GO-2099-…, written by this test) and aimed at the fixture: a
//! listed function the program calls, one that is only inlined, functions of imported packages
//! it never calls, an import with no symbol list, a GOOS-restricted import, stdlib entries.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};
use support::gosym::{Build, PLATFORMS, Toolchain, govulncheck_binary};
use support::*;

fn entry(id: &str, module: &str, fixed: Option<&str>, imports: Value) -> Value {
    let mut events = vec![json!({"introduced": "0"})];
    if let Some(f) = fixed {
        events.push(json!({"fixed": f}));
    }
    json!({
        "schema_version": "1.3.1",
        "id": id,
        "modified": "2026-11-01T00:00:00Z",
        "published": "2026-11-01T00:00:00Z",
        "summary": format!("synthetic advisory {id}"),
        "affected": [{
            "package": {"name": module, "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": events}],
            "ecosystem_specific": {"imports": imports}
        }],
        "database_specific": {"url": format!("https://pkg.go.dev/vuln/{id}")}
    })
}

/// Write the database in the Go vulndb layout; returns its directory.
fn write_db(dir: &Path) -> std::path::PathBuf {
    let net = "golang.org/x/net";
    let entries = vec![
        // Called directly.
        entry(
            "GO-2099-0001",
            net,
            Some("0.33.0"),
            json!([{"path": "golang.org/x/net/html", "symbols": ["Parse", "ParseFragment"]}]),
        ),
        // Small functions, inlined into main.
        entry(
            "GO-2099-0002",
            net,
            Some("0.36.0"),
            json!([{"path": "golang.org/x/net/http/httpproxy", "symbols": ["FromEnvironment"]}]),
        ),
        // Unexported functions reached through Config.ProxyFunc.
        entry(
            "GO-2099-0003",
            net,
            Some("0.36.0"),
            json!([{"path": "golang.org/x/net/http/httpproxy", "symbols": ["config.useProxy", "domainMatch.match"]}]),
        ),
        // Imported, never called.
        entry(
            "GO-2099-0004",
            net,
            Some("0.23.0"),
            json!([{"path": "golang.org/x/net/http2", "symbols": ["Framer.ReadFrame", "Server.ServeConn"]}]),
        ),
        entry(
            "GO-2099-0005",
            "golang.org/x/crypto",
            Some("0.17.0"),
            json!([{"path": "golang.org/x/crypto/ssh", "symbols": ["Dial", "NewClientConn", "NewServerConn"]}]),
        ),
        // No symbol list: any function of the package.
        entry(
            "GO-2099-0006",
            net,
            Some("0.23.0"),
            json!([{"path": "golang.org/x/net/html"}]),
        ),
        entry(
            "GO-2099-0007",
            net,
            Some("0.23.0"),
            json!([{"path": "golang.org/x/net/websocket"}]),
        ),
        // Windows only.
        entry(
            "GO-2099-0008",
            net,
            Some("0.33.0"),
            json!([{"path": "golang.org/x/net/html", "goos": ["windows"], "symbols": ["Parse"]}]),
        ),
        // The standard library: called, and not.
        entry(
            "GO-2099-0009",
            "stdlib",
            None,
            json!([{"path": "net/url", "symbols": ["Parse", "URL.String"]}]),
        ),
        entry(
            "GO-2099-0010",
            "stdlib",
            None,
            json!([{"path": "net/http", "symbols": ["Client.Do", "ListenAndServe"]}]),
        ),
        // A fixed version below the fixture's: not affected at all.
        entry(
            "GO-2099-0011",
            net,
            Some("0.6.0"),
            json!([{"path": "golang.org/x/net/html", "symbols": ["Parse"]}]),
        ),
    ];
    write_layout(&dir.join("vulndb"), &entries)
}

/// `entries` in the Go vulndb layout (index/db.json, index/modules.json, ID/<id>.json) at `db`.
fn write_layout(db: &Path, entries: &[Value]) -> std::path::PathBuf {
    std::fs::create_dir_all(db.join("ID")).unwrap();
    std::fs::create_dir_all(db.join("index")).unwrap();
    let mut modules: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for e in entries {
        let id = e["id"].as_str().unwrap();
        std::fs::write(db.join(format!("ID/{id}.json")), e.to_string()).unwrap();
        let m = e["affected"][0]["package"]["name"].as_str().unwrap();
        modules
            .entry(m.to_string())
            .or_default()
            .push(json!({"id": id, "modified": "2026-11-01T00:00:00Z"}));
    }
    let index: Vec<Value> = modules
        .into_iter()
        .map(|(path, vulns)| json!({"path": path, "vulns": vulns}))
        .collect();
    std::fs::write(
        db.join("index/modules.json"),
        Value::Array(index).to_string(),
    )
    .unwrap();
    std::fs::write(
        db.join("index/db.json"),
        json!({"modified": "2026-11-01T00:00:00Z"}).to_string(),
    )
    .unwrap();
    db.to_path_buf()
}

/// govulncheck's symbol-level findings: OSV IDs whose trace names a function.
fn govulncheck_present(bin: &Path, db: &Path) -> Option<BTreeSet<String>> {
    let stream = govulncheck_binary(bin, db)?;
    Some(
        stream
            .iter()
            .filter_map(|m| m.get("finding"))
            .filter(|f| {
                f["trace"][0]["function"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())
            })
            .map(|f| f["osv"].as_str().unwrap().to_string())
            .collect(),
    )
}

/// provguard's findings by reachability: (present, absent, unknown) OSV IDs.
fn provguard_reach(bin: &Path, db: &Path) -> (BTreeSet<String>, BTreeSet<String>, Value) {
    let o = provguard()
        .args(["scan", "-f", "json", "--db"])
        .arg(db)
        .arg(bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = doc["artifacts"][0]["findings"].as_array().unwrap().clone();
    let by = |r: &str| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f["reachability"] == r)
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    (by("present"), by("absent"), Value::Array(findings))
}

#[test]
fn present_set_equals_govulncheck_on_every_toolchain_and_platform_and_stripped_twins_agree() {
    let d = tempfile::tempdir().unwrap();
    let db = write_db(d.path());
    let mut compared = 0;
    for tc in Toolchain::ALL {
        for (goos, goarch) in PLATFORMS {
            let unstripped = Build {
                tc,
                goos,
                goarch,
                stripped: false,
                pie: false,
            };
            let stripped = Build {
                stripped: true,
                ..unstripped
            };
            let (Some(u), Some(s)) = (unstripped.path(), stripped.path()) else {
                continue;
            };
            let what = format!("{tc:?} {goos}/{goarch}");
            let Some(reference) = govulncheck_present(&u, &db) else {
                return;
            };
            let (present, absent, findings) = provguard_reach(&u, &db);
            assert_eq!(
                present, reference,
                "{what}: present set vs govulncheck\n{findings:#}"
            );
            let (sp, sa, _) = provguard_reach(&s, &db);
            assert_eq!((&sp, &sa), (&present, &absent), "{what}: stripped twin");
            // The fixture is aimed at these answers; govulncheck agreeing makes them facts.
            for id in ["GO-2099-0001", "GO-2099-0006", "GO-2099-0009"] {
                assert!(present.contains(id), "{what}: {id} present\n{findings:#}");
            }
            for id in [
                "GO-2099-0004",
                "GO-2099-0005",
                "GO-2099-0007",
                "GO-2099-0010",
            ] {
                assert!(absent.contains(id), "{what}: {id} absent\n{findings:#}");
            }
            assert_eq!(
                present.contains("GO-2099-0008"),
                goos == "windows",
                "{what}: GOOS-restricted import"
            );
            assert!(!present.contains("GO-2099-0011") && !absent.contains("GO-2099-0011"));
            compared += 1;
        }
    }
    if std::env::var_os("CI").is_some() {
        assert_eq!(compared, 15, "every toolchain and platform compared in CI");
    }
}

#[test]
fn no_symbols_is_module_level_and_absent_findings_are_not_affected_in_every_report() {
    let Some(bin) = (Build {
        tc: Toolchain::Local,
        goos: "linux",
        goarch: "amd64",
        stripped: true,
        pie: false,
    })
    .path() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let db = write_db(d.path());
    let scan = |extra: &[&str], format: &str| -> Value {
        let o = provguard()
            .args(["scan", "-f", format, "--db"])
            .arg(&db)
            .arg(&bin)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let module_level = scan(&["--no-symbols"], "json");
    let findings = module_level["artifacts"][0]["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["reachability"] == "unknown"));
    assert!(
        findings
            .iter()
            .all(|f| f["status"] == "affected" || f["id"] == "GO-2099-0008")
    );
    // OpenVEX: absent → not_affected, vulnerable_code_not_present, naming the functions.
    let vex = scan(&[], "openvex");
    let st = vex["statements"].as_array().unwrap();
    let s4 = st
        .iter()
        .find(|s| s["vulnerability"]["name"] == "GO-2099-0004")
        .unwrap();
    assert_eq!(s4["status"], "not_affected");
    assert_eq!(s4["justification"], "vulnerable_code_not_present");
    assert!(
        s4["impact_statement"]
            .as_str()
            .unwrap()
            .contains("golang.org/x/net/http2.Framer.ReadFrame"),
        "{s4}"
    );
    let s1 = st
        .iter()
        .find(|s| s["vulnerability"]["name"] == "GO-2099-0001")
        .unwrap();
    assert_eq!(s1["status"], "affected");
    // CycloneDX VEX: code_not_present.
    let cdx = scan(&[], "cyclonedx-vex");
    let v4 = cdx["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "GO-2099-0004")
        .unwrap();
    assert_eq!(v4["analysis"]["state"], "not_affected");
    assert_eq!(v4["analysis"]["justification"], "code_not_present");
    // SARIF: only present/unknown findings are results, each with its reachability.
    let sarif = scan(&[], "sarif");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["ruleId"] != "GO-2099-0004"));
    let r1 = results
        .iter()
        .find(|r| r["ruleId"] == "GO-2099-0001")
        .unwrap();
    assert_eq!(r1["properties"]["reachability"], "present");
    assert_eq!(
        r1["properties"]["symbols"],
        json!(["golang.org/x/net/html.Parse"])
    );
}

/// A real provider from the Go module proxy (terraform-provider-openstack v3.4.0), built by the
/// machine's go as releases are (`-trimpath -ldflags "-s -w"`) and unstripped, cached under
/// target/tools. `None` when it cannot be built here.
fn real_provider(stripped: bool) -> Option<std::path::PathBuf> {
    const MODULE: &str =
        "github.com/terraform-provider-openstack/terraform-provider-openstack/v3@v3.4.0";
    let dir = repo().join(if stripped {
        "target/tools/tfp-stripped"
    } else {
        "target/tools/tfp-unstripped"
    });
    let bin = dir.join("terraform-provider-openstack");
    if bin.exists() {
        return Some(bin);
    }
    let target = repo().join("target");
    let mut cmd = std::process::Command::new("go");
    cmd.env("GOBIN", &dir)
        .env("GOPATH", target.join("go-path"))
        .env("GOCACHE", target.join("go-cache"))
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0")
        .arg("install");
    if stripped {
        cmd.args(["-trimpath", "-ldflags", "-s -w"]);
    }
    let o = cmd.arg(MODULE).output();
    match o {
        Ok(o) if o.status.success() && bin.exists() => Some(bin),
        Ok(o) => {
            missing(&format!(
                "{MODULE} (go install failed: {})",
                String::from_utf8_lossy(&o.stderr)
            ));
            None
        }
        Err(e) => {
            missing(&format!("{MODULE} (no go: {e})"));
            None
        }
    }
}

#[test]
fn a_real_provider_from_the_module_proxy_agrees_with_govulncheck() {
    let (Some(stripped), Some(unstripped)) = (real_provider(true), real_provider(false)) else {
        return;
    };
    // The provider's own functions, as provguard reads them from the stripped release build.
    let o = provguard()
        .args(["symbols", "--format", "json"])
        .arg(&stripped)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let packages = doc["targets"][0]["images"][0]["packages"]
        .as_object()
        .unwrap()
        .clone();
    assert!(packages.len() > 500, "a real provider has many packages");
    // A database aimed at it: for gophercloud (a dependency module) two functions that exist
    // and one that does not; a gophercloud package that is not linked; stdlib likewise.
    let gc = "github.com/gophercloud/gophercloud/v2";
    let (pkg, funcs) = packages
        .iter()
        .filter(|(p, _)| p.starts_with(&format!("{gc}/openstack/")))
        .find_map(|(p, f)| {
            let names: Vec<String> = f
                .as_object()?
                .iter()
                .filter(|(n, k)| *k == "function" && !n.contains("func"))
                .map(|(n, _)| n.clone())
                .take(2)
                .collect();
            (names.len() == 2).then(|| (p.clone(), names))
        })
        .expect("a gophercloud package with two functions");
    let d = tempfile::tempdir().unwrap();
    let entries = [
        entry(
            "GO-2099-0101",
            gc,
            None,
            json!([{"path": pkg, "symbols": [funcs[0], "NoSuchFunction"]}]),
        ),
        entry(
            "GO-2099-0102",
            gc,
            None,
            json!([{"path": pkg, "symbols": ["NoSuchFunction", "AlsoMissing"]}]),
        ),
        entry(
            "GO-2099-0103",
            gc,
            None,
            json!([{"path": format!("{gc}/openstack/no/such/package")}]),
        ),
        entry(
            "GO-2099-0104",
            gc,
            None,
            json!([{"path": pkg, "symbols": [funcs[1]]}]),
        ),
        entry(
            "GO-2099-0105",
            "stdlib",
            None,
            json!([{"path": "net/http", "symbols": ["Client.Do"]}]),
        ),
        entry(
            "GO-2099-0106",
            "stdlib",
            None,
            json!([{"path": "net/smtp", "symbols": ["SendMail"]}]),
        ),
    ];
    let db = write_layout(&d.path().join("vulndb"), &entries);
    let Some(reference) = govulncheck_present(&unstripped, &db) else {
        return;
    };
    let (present, absent, findings) = provguard_reach(&unstripped, &db);
    assert_eq!(
        present, reference,
        "present set vs govulncheck\n{findings:#}"
    );
    let (sp, sa, _) = provguard_reach(&stripped, &db);
    assert_eq!((&sp, &sa), (&present, &absent), "stripped release build");
    for id in ["GO-2099-0101", "GO-2099-0104", "GO-2099-0105"] {
        assert!(present.contains(id), "{id} present\n{findings:#}");
    }
    for id in ["GO-2099-0102", "GO-2099-0103", "GO-2099-0106"] {
        assert!(absent.contains(id), "{id} absent\n{findings:#}");
    }
}
