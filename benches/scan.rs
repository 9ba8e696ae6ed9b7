//! Benchmark (not a test): load a synthetic vulnerability database the size of the real Go
//! vulndb (4,000 advisories in its published layout) and match a 300-module inventory against
//! it. Prints the figures against the targets (load < 300 ms, matching < 50 ms).
//!
//! `cargo bench --bench scan`

use std::time::{Duration, Instant};

use provguard::analysis::vuln::{self, Database};
use provguard::inventory::{Inventory, Module, Origin, Subject, VersionSource};

const ENTRIES: usize = 4000;
const MODULES: usize = 300;

fn module_path(i: usize) -> String {
    format!("github.com/org{}/module-{i}", i % 40)
}

fn write_db(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("ID")).unwrap();
    std::fs::create_dir_all(dir.join("index")).unwrap();
    let mut index: std::collections::BTreeMap<String, Vec<serde_json::Value>> = Default::default();
    let filler = "A detailed description of the weakness, its impact and the conditions under which it can be triggered. ".repeat(6);
    for n in 0..ENTRIES {
        let id = format!("GO-2099-{n:04}");
        // 1,500 distinct modules, so about a fifth of the inventory's modules have advisories.
        let pkg = if n % 10 == 0 {
            "stdlib".to_string()
        } else {
            module_path(n % 1500)
        };
        let fixed = format!("{}.{}.{}", n % 3, n % 17, n % 5 + 1);
        let entry = serde_json::json!({
            "schema_version": "1.3.1",
            "id": id,
            "modified": "2026-11-01T00:00:00Z",
            "published": "2026-01-01T00:00:00Z",
            "aliases": [format!("CVE-2099-{n:05}"), format!("GHSA-xxxx-{n:04}-yyyy")],
            "summary": format!("Synthetic advisory {n} in {pkg}"),
            "details": filler,
            "affected": [{
                "package": {"name": pkg, "ecosystem": "Go"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}, {"introduced": "3.0.0-0"}, {"fixed": "3.1.4"}]}],
                "ecosystem_specific": {"imports": [{"path": format!("{pkg}/internal/x"), "goos": if n % 7 == 0 { vec!["windows"] } else { vec![] }, "symbols": ["Parse", "Client.Do", "Server.Serve"]}]}
            }],
            "references": [{"type": "FIX", "url": format!("https://example.invalid/fix/{n}")}, {"type": "WEB", "url": "https://example.invalid/advisory"}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
            "database_specific": {"url": format!("https://pkg.go.dev/vuln/{id}")}
        });
        std::fs::write(
            dir.join("ID").join(format!("{id}.json")),
            serde_json::to_vec(&entry).unwrap(),
        )
        .unwrap();
        index.entry(pkg).or_default().push(
            serde_json::json!({"id": id, "modified": "2026-11-01T00:00:00Z", "fixed": fixed}),
        );
    }
    let modules: Vec<_> = index
        .into_iter()
        .map(|(p, v)| serde_json::json!({"path": p, "vulns": v}))
        .collect();
    std::fs::write(
        dir.join("index/modules.json"),
        serde_json::to_vec(&modules).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("index/db.json"),
        br#"{"modified":"2026-11-01T00:00:00Z"}"#,
    )
    .unwrap();
}

fn inventory() -> Inventory {
    let m = |path: String, v: &str| Module {
        path,
        version: Some(v.to_string()),
        sum: None,
        replacement: None,
    };
    let mut modules: Vec<Module> = (0..MODULES)
        .map(|i| m(module_path(i * 5), &format!("v{}.{}.0", i % 3, i % 11)))
        .collect();
    modules.push(m("stdlib".into(), "v1.19.8"));
    Inventory {
        subject: Subject::default(),
        origin: Origin::Buildinfo { note: None },
        go_version: "go1.19.8".into(),
        goos: Some("linux".into()),
        goarch: Some("amd64".into()),
        main_path: "example.com/bench".into(),
        main: m("example.com/bench".into(), "v1.0.0"),
        main_version_source: VersionSource::Buildinfo,
        modules,
        settings: Vec::new(),
        drift: Vec::new(),
        licenses: Default::default(),
        functions: Default::default(),
    }
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("ran at least once"))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benchmark: run with `cargo bench --bench scan`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_db(dir.path());
    let inv = inventory();
    let wanted = vuln::packages_of(&inv);
    let (full, db) = best(5, || Database::open(dir.path(), None).unwrap());
    let (partial, db_partial) = best(5, || Database::open(dir.path(), Some(&wanted)).unwrap());
    let (matching, findings) = best(20, || vuln::match_inventory(&inv, &db));
    assert_eq!(
        findings.len(),
        vuln::match_inventory(&inv, &db_partial).len()
    );
    println!(
        "database: {} advisories ({} loaded for this inventory)",
        db.loaded, db_partial.loaded
    );
    println!(
        "load, whole database        : {:>7.1} ms (target < 300)",
        full.as_secs_f64() * 1e3
    );
    println!(
        "load, what the inventory needs: {:>5.1} ms",
        partial.as_secs_f64() * 1e3
    );
    println!(
        "match {} modules            : {:>7.2} ms (target < 50), {} findings",
        inv.modules.len(),
        matching.as_secs_f64() * 1e3,
        findings.len()
    );
}
