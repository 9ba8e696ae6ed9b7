//! A Go-vulndb-layout database directory: `index/db.json`, `index/modules.json` and one advisory,
//! the input split at the first two NUL bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use provguard::analysis::vuln::db::Database;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let (db, modules, entry) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    std::fs::create_dir_all(dir.path().join("ID")).unwrap();
    std::fs::write(dir.path().join("index/db.json"), db).unwrap();
    std::fs::write(dir.path().join("index/modules.json"), modules).unwrap();
    std::fs::write(dir.path().join("ID/GO-2024-0001.json"), entry).unwrap();
    if let Ok(d) = Database::open(dir.path(), None) {
        let _ = d.for_package("stdlib");
    }
});
