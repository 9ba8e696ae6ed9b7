//! `provguard db update` against a real HTTP server on loopback: the Go vulndb layout (gzip
//! encoded), incremental updates, an interrupted update leaving the previous database in use,
//! and an OSV export ZIP.

mod support;

use std::path::Path;
use std::process::Output;

use support::*;

fn update(cache: &Path, url: &str) -> Output {
    provguard()
        .args([
            "db",
            "update",
            "--retries",
            "1",
            "--timeout",
            "10",
            "--db-url",
            url,
            "--cache-dir",
        ])
        .arg(cache)
        .output()
        .unwrap()
}

/// Affected findings at module level (`--no-symbols`: these tests are about the database).
fn scan_affected(cache: &Path) -> usize {
    let o = provguard()
        .args(["scan", "--no-symbols", "--format", "json", "--cache-dir"])
        .arg(cache)
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["artifacts"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "affected")
        .count()
}

#[test]
fn update_incremental_and_interrupted() {
    let served = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("samples/vulndb"), served.path());
    let cache = tempfile::tempdir().unwrap();

    let server = FileServer::start(served.path().to_path_buf(), vec![], true);
    let o = update(cache.path(), &server.url);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("7 advisories (7 downloaded, 0 unchanged)")
    );
    assert_eq!(server.hits_under("/ID/"), 7);
    assert_eq!(scan_affected(cache.path()), 8);

    // Nothing changed upstream: only the index is fetched again.
    let o = update(cache.path(), &server.url);
    assert!(o.status.success());
    assert_eq!(server.hits_under("/ID/"), 7, "no advisory downloaded twice");
    assert!(String::from_utf8_lossy(&o.stderr).contains("(0 downloaded, 7 unchanged)"));

    // One advisory changes: exactly that one is fetched.
    let idx = served.path().join("index/modules.json");
    let text = std::fs::read_to_string(&idx).unwrap();
    let changed = text.replacen(
        "\"id\": \"GO-2023-2402\",\n    \"modified\": \"2026-11-01T00:00:00Z\"",
        "\"id\": \"GO-2023-2402\",\n    \"modified\": \"2026-11-20T00:00:00Z\"",
        1,
    );
    assert_ne!(text, changed);
    std::fs::write(&idx, changed).unwrap();
    let o = update(cache.path(), &server.url);
    assert!(o.status.success());
    assert_eq!(server.hits_under("/ID/GO-2023-2402"), 2);
    assert_eq!(server.hits_under("/ID/"), 8);
    drop(server);

    // An update that fails midway leaves the previous database in place and usable.
    let before = std::fs::read_link(cache.path().join("vulndb")).unwrap();
    let broken = FileServer::start(
        served.path().to_path_buf(),
        vec!["/ID/GO-2024-3321.json".into()],
        false,
    );
    std::fs::write(
        &idx,
        std::fs::read_to_string(&idx)
            .unwrap()
            .replace("2026-11-01", "2026-11-21"),
    )
    .unwrap();
    let o = update(cache.path(), &broken.url);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("HTTP 500") && err.contains("previous database stays"),
        "{err}"
    );
    assert!(
        broken.hits_under("/ID/GO-2024-3321.json") >= 2,
        "retried before giving up"
    );
    assert_eq!(
        std::fs::read_link(cache.path().join("vulndb")).unwrap(),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(scan_affected(cache.path()), 8);
    let o = provguard()
        .args(["db", "info", "--cache-dir"])
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("advisories: 7"));
}

#[test]
fn update_from_an_osv_export_zip() {
    let served = tempfile::tempdir().unwrap();
    let zpath = served.path().join("all.zip");
    let entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo().join("samples/vulndb/ID"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    write_zip(&zpath, &refs);
    let server = FileServer::start(served.path().to_path_buf(), vec![], false);
    let cache = tempfile::tempdir().unwrap();
    let o = update(cache.path(), &format!("{}/all.zip", server.url));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(scan_affected(cache.path()), 8);
    // A non-database ZIP is refused and nothing changes.
    write_zip(&served.path().join("junk.zip"), &[("README", b"x")]);
    let o = update(cache.path(), &format!("{}/junk.zip", server.url));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a usable database"));
    assert_eq!(scan_affected(cache.path()), 8);
}

/// Faults between `db update` and its server (tests/support/faults.rs in front of the real
/// HTTP server): transient ones are retried, a body cut short or a 404 is an error that leaves the
/// previous database current and no partial download behind.
#[test]
fn update_through_registry_faults() {
    let served = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("samples/vulndb"), served.path());
    let server = FileServer::start(served.path().to_path_buf(), vec![], false);
    let proxy = faults::FaultProxy::start(server.url.trim_start_matches("http://"));
    let url = format!("http://{}", proxy.host);
    let cache = tempfile::tempdir().unwrap();
    // A 503 on one advisory: retried (--retries 1).
    proxy.inject(
        "GET",
        "/ID/GO-2023-2402.json",
        1,
        faults::Fault::Status(503),
    );
    let o = update(cache.path(), &url);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(proxy.fired("/ID/GO-2023-2402.json"), 1);
    let current = std::fs::read_link(cache.path().join("vulndb")).unwrap();
    // The update fails (exit 2) and the previous database stays current.
    let fails_keeping = |current: &std::path::PathBuf| {
        let o = update(cache.path(), &url);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            &std::fs::read_link(cache.path().join("vulndb")).unwrap(),
            current
        );
    };
    // The index cut short, every time: an error naming it; the previous database stays current.
    proxy.clear();
    proxy.inject(
        "GET",
        "/index/modules.json",
        usize::MAX,
        faults::Fault::CutBody(10),
    );
    fails_keeping(&current);
    // A 404 on an advisory the index lists: final, nothing partial left.
    proxy.clear();
    proxy.inject(
        "GET",
        "/ID/GO-2024-3321.json",
        usize::MAX,
        faults::Fault::Status(404),
    );
    std::fs::write(
        served.path().join("index/db.json"),
        r#"{"modified":"2026-11-30T00:00:00Z"}"#,
    )
    .unwrap();
    let modules = std::fs::read_to_string(served.path().join("index/modules.json")).unwrap();
    std::fs::write(
        served.path().join("index/modules.json"),
        modules.replace("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z"),
    )
    .unwrap();
    fails_keeping(&current);
    let partial: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
    assert_eq!(
        scan_affected(cache.path()),
        8,
        "the previous database still works"
    );
}
