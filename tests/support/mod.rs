//! One harness for the integration tests: the provguard binary, real Go builds (cached by their
//! inputs under `target/go-fixtures`), official-schema validation with local `$ref`s, the real
//! Trivy builds fetched by `.ci/fetch-trivy.sh`, ORAS built by `.ci/fetch-oras.sh`, and small ZIP
//! helpers.
#![allow(dead_code)]

pub mod faults;
pub mod gobins;
pub mod gosym;
pub mod https;
pub mod registry;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn provguard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provguard"))
}

pub fn sample_zip(plat: &str) -> PathBuf {
    repo().join(format!(
        "samples/dist/terraform-provider-demo_1.2.3_{plat}.zip"
    ))
}

/// The executable inside the sample provider ZIP for `plat`: its entry name and bytes.
pub fn sample_entry(plat: &str) -> (String, Vec<u8>) {
    let mut a = zip::ZipArchive::new(std::fs::File::open(sample_zip(plat)).unwrap()).unwrap();
    let mut e = a.by_index(0).unwrap();
    let mut v = Vec::new();
    std::io::copy(&mut e, &mut v).unwrap();
    (e.name().unwrap().to_string(), v)
}

/// The executable inside the sample provider ZIP for `plat`.
pub fn sample_exe(plat: &str) -> Vec<u8> {
    sample_entry(plat).1
}

/// In CI every tool must be there; on a laptop a missing one skips the test with a reason.
pub fn missing(what: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required in CI (.ci/run installs it)");
    }
    eprintln!("SKIPPED: {what} is not available here");
    true
}

/// The `go` the existing fixtures are built with: Debian's Go 1.19 (package `golang-go`), whose
/// Go sources and Debian's Go library packages (`GOPROXY=off`) the fixtures' modules come from.
/// The machine's own Go (1.26, first on PATH) is not used for them: the fixtures' expectations
/// (Go 1.19 below the supported minimum, its stdlib advisories) are Go 1.19's.
pub fn go19() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/go-1.19/bin/go");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("go")
    }
}

pub fn have_go() -> bool {
    Command::new(go19())
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Build `tests/fixtures/<fixture>` for GOOS/GOARCH with extra `go build` flags, with Debian's
/// go1.19 ([`go19`]); cached by inputs.
pub fn go_build(
    fixture: &str,
    goos: &str,
    goarch: &str,
    flags: &[&str],
    env: &[(&str, &str)],
) -> PathBuf {
    go_build_with(&go19(), fixture, goos, goarch, flags, env)
}

/// [`go_build`] with the `go` command `go` (a path, or `go` for the one on PATH); cached by
/// inputs, the command included.
pub fn go_build_with(
    go: &Path,
    fixture: &str,
    goos: &str,
    goarch: &str,
    flags: &[&str],
    env: &[(&str, &str)],
) -> PathBuf {
    let src = repo().join("tests/fixtures").join(fixture);
    let mut h = Sha256::new();
    for f in walk(&src) {
        h.update(f.strip_prefix(&src).unwrap().to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap());
    }
    h.update(format!("{goos}/{goarch}/{flags:?}/{env:?}/{}", go.display()).as_bytes());
    let key = hex::encode(&h.finalize()[..8]);
    let target = repo().join("target");
    let out = target
        .join("go-fixtures")
        .join(&key)
        .join(format!("{fixture}-{goos}-{goarch}"));
    if out.exists() {
        return out;
    }
    let tmp_src = tempfile::tempdir().unwrap();
    copy_dir(&src, tmp_src.path());
    // Tests build the same fixture concurrently: each build writes its own temporary file.
    let tmp_out = out.with_extension(format!(
        "tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let mut cmd = Command::new(go);
    cmd.current_dir(tmp_src.path())
        .args(["build", "-buildvcs=false", "-o"])
        .arg(&tmp_out)
        .args(flags)
        .arg(".")
        .env("GOOS", goos)
        .env("GOARCH", goarch)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", target.join("go-cache"))
        .env("GOPATH", target.join("go-path"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run go build");
    assert!(
        o.status.success(),
        "go build {goos}/{goarch} {flags:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if std::fs::rename(&tmp_out, &out).is_err() {
        assert!(out.exists(), "go build output {} vanished", out.display());
        let _ = std::fs::remove_file(&tmp_out);
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

/// Run git in `dir` with a fixed identity and dates; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2024-06-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-06-01T00:00:00Z")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `go build -trimpath -o BIN .` in `src` (VCS stamping on: for builds inside a git checkout).
pub fn go_build_in(src: &Path, bin: &Path) {
    let target = repo().join("target");
    let o = Command::new(go19())
        .current_dir(src)
        .args(["build", "-trimpath", "-o"])
        .arg(bin)
        .arg(".")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", target.join("go-cache"))
        .env("GOPATH", target.join("go-path"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

pub fn copy_dir(from: &Path, to: &Path) {
    for f in walk(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
}

/// Write a ZIP with `(name, bytes)` entries, deflated, mode 0755.
pub fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    for (name, data) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

/// Serves the vendored schemas for the `$ref`s the CycloneDX schemas make (no network).
struct LocalSchemas;

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let path = repo().join("tests/fixtures/schemas").join(&name);
        Ok(serde_json::from_slice(
            &std::fs::read(&path).map_err(|e| format!("{name}: {e}"))?,
        )?)
    }
}

/// Validate `doc` against `tests/fixtures/schemas/<schema>`; returns the error messages.
pub fn schema_errors(schema: &str, doc: &Value) -> Vec<String> {
    let s: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/fixtures/schemas").join(schema)).unwrap(),
    )
    .unwrap();
    let v = jsonschema::options()
        .with_retriever(LocalSchemas)
        .build(&s)
        .expect("schema compiles");
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Validate a SARIF log against the OASIS 2.1.0 schema (and prove the validator rejects a bad one).
pub fn sarif_errors(doc: &Value) -> Vec<String> {
    // The OASIS schema's `language` pattern has an unbalanced bracket that some regex engines
    // reject; it concerns a property provguard never writes, so it is dropped before compiling.
    let mut schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/fixtures/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.get("pattern").and_then(Value::as_str)
                    == Some("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$")
                {
                    m.remove("pattern");
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut schema);
    let v = jsonschema::validator_for(&schema).expect("SARIF schema compiles");
    let mut errs: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    // and it does reject a broken one
    let mut bad = doc.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    if v.is_valid(&bad) {
        errs.push("schema accepted an invalid level".into());
    }
    errs
}

/// One HTTP/1.1 request read off a connection (for the small in-process fakes).
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header lines, lowercased, without the line end.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

pub fn read_request(c: &std::net::TcpStream) -> Option<Request> {
    use std::io::{BufRead, Read};
    let mut r = std::io::BufReader::new(c.try_clone().ok()?);
    let mut first = String::new();
    r.read_line(&mut first).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        headers.push(line.trim_end().to_ascii_lowercase());
    }
    let len = headers
        .iter()
        .find_map(|h| h.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    let mut parts = first.split_whitespace();
    Some(Request {
        method: parts.next().unwrap_or("").to_string(),
        path: parts.next().unwrap_or("/").to_string(),
        headers,
        body,
    })
}

/// An in-process HTTP/1.1 server on `addr` (port 0 for any) answering each request with
/// `handler`'s `(status, headers, body)`, one request per connection; returns `HOST:PORT`.
pub fn serve_http(
    addr: &str,
    mut handler: impl FnMut(Request) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + 'static,
) -> String {
    let l = std::net::TcpListener::bind(addr).unwrap();
    let host = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let Some(req) = read_request(&c) else {
                continue;
            };
            let (status, headers, body) = handler(req);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(&body);
        }
    });
    host
}

/// The real Trivy build for `version` ("0.44.1" or "0.76.0"), if fetched.
pub fn trivy(version: &str) -> Option<PathBuf> {
    let p = repo()
        .join("tests/.cache")
        .join(format!("trivy-{version}"))
        .join("trivy");
    if p.exists() {
        Some(p)
    } else {
        missing(&format!("Trivy {version} (run .ci/fetch-trivy.sh)"));
        None
    }
}

/// ORAS 1.3.6, built by `.ci/fetch-oras.sh`, if there.
pub fn oras() -> Option<PathBuf> {
    let p = repo().join("target/tools/oras-1.3.6/oras");
    if p.exists() {
        Some(p)
    } else {
        missing("ORAS 1.3.6 (run .ci/fetch-oras.sh)");
        None
    }
}

/// Build the Trivy test DB from `tests/fixtures/trivy/dbgen` into a fresh cache dir (Go needed).
pub fn trivy_cache_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("sh")
        .arg(repo().join("tests/fixtures/trivy/dbgen/build.sh"))
        .arg(dir.path())
        .arg(repo().join("tests/fixtures/trivy/dbgen/advisories.json"))
        .env("GOCACHE", repo().join("target/go-cache"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "dbgen: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dir
}

/// An OSV database (export layout, one `<ID>.json` per advisory) holding exactly the advisories
/// of the Trivy test DB (`tests/fixtures/trivy/dbgen/advisories.json`), so that provguard and
/// Trivy can be compared on the same facts. CVE-2023-45283 keeps its real `goos: [windows]`
/// import restriction from GO-2023-2185, which Trivy's DB format drops.
pub fn osv_mirror_of_trivy_db(dir: &Path) {
    let src: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/fixtures/trivy/dbgen/advisories.json")).unwrap(),
    )
    .unwrap();
    for a in src["advisories"].as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        let mut events = Vec::new();
        for c in a["advisory"]["VulnerableVersions"].as_array().unwrap() {
            let c = c.as_str().unwrap();
            match c.split_once(", ") {
                Some((lo, hi)) => {
                    events.push(serde_json::json!({"introduced": lo.trim_start_matches(">= ")}));
                    events.push(serde_json::json!({"fixed": hi.trim_start_matches("< ")}));
                }
                None => {
                    events.push(serde_json::json!({"introduced": "0"}));
                    events.push(serde_json::json!({"fixed": c.trim_start_matches("< ")}));
                }
            }
        }
        let mut affected = serde_json::json!({
            "package": {"name": a["package"], "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": events}],
        });
        if id == "CVE-2023-45283" {
            affected["ecosystem_specific"] =
                serde_json::json!({"imports": [{"path": "path/filepath", "goos": ["windows"]}]});
        }
        let vuln = &src["vulnerabilities"][id];
        let mut entry = serde_json::json!({
            "id": id,
            "modified": "2026-11-01T00:00:00Z",
            "summary": vuln["Title"],
            "affected": [affected],
        });
        if let Some(v) = vuln["CVSS"].as_object().and_then(|m| m.values().next()) {
            entry["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": v["V3Vector"]}]);
        }
        std::fs::write(
            dir.join(format!("{id}.json")),
            serde_json::to_vec_pretty(&entry).unwrap(),
        )
        .unwrap();
    }
}

/// A minimal HTTP/1.1 file server on 127.0.0.1 (port 0) for `db update` tests: serves `root`,
/// gzip-encodes bodies when asked to and the client accepts it, answers 500 for `fail` paths,
/// and records every path requested.
pub struct FileServer {
    pub url: String,
    pub hits: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: std::net::SocketAddr,
}

impl FileServer {
    pub fn start(root: PathBuf, fail: Vec<String>, gzip: bool) -> FileServer {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let mut accepts_gzip = false;
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                        break;
                    }
                    if l.to_ascii_lowercase().starts_with("accept-encoding:") && l.contains("gzip")
                    {
                        accepts_gzip = true;
                    }
                }
                h.lock().unwrap().push(path.clone());
                let file = root.join(path.trim_start_matches('/'));
                let (status, mut body, mut extra) = if fail.contains(&path) {
                    ("500 Internal Server Error", b"boom".to_vec(), String::new())
                } else if !path.contains("..") && file.is_file() {
                    ("200 OK", std::fs::read(&file).unwrap(), String::new())
                } else {
                    ("404 Not Found", b"not found".to_vec(), String::new())
                };
                if gzip && accepts_gzip && status.starts_with("200") {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    e.write_all(&body).unwrap();
                    body = e.finish().unwrap();
                    extra = "Content-Encoding: gzip\r\n".into();
                }
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        FileServer {
            url: format!("http://{addr}"),
            hits,
            stop,
            addr,
        }
    }

    pub fn hits_under(&self, prefix: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with(prefix))
            .count()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}
