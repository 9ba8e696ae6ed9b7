//! A provider registry for the tests, served over **HTTPS on loopback** with a test CA made by
//! the `openssl` CLI: service discovery, the provider registry protocol and a network mirror,
//! all from one route table the tests can change (tamper a ZIP, drop a signature, redirect to
//! the other loopback name). Releases are signed by keys made with real GnuPG (`gpg --batch`)
//! in a temporary GNUPGHOME. Every request is recorded with its Host and Authorization.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn run(cmd: &mut Command) -> Vec<u8> {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A CA and a server certificate for `localhost` and `127.0.0.1`.
pub struct TestCa {
    pub dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ossl = |args: &[&str]| {
            run(Command::new("openssl").current_dir(d).args(args));
        };
        ossl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=provguard test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        ossl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        ossl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        TestCa { dir }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.dir.path().join("server.pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(self.dir.path().join("server.key")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        )
    }
}

/// One answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(v: &Value) -> Answer {
        Answer {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(v).unwrap(),
        }
    }

    pub fn bytes(b: Vec<u8>) -> Answer {
        Answer {
            status: 200,
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body: b,
        }
    }

    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn redirect(to: &str) -> Answer {
        Answer {
            status: 302,
            headers: vec![("Location".into(), to.into())],
            body: Vec::new(),
        }
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub host: String,
    pub path: String,
    pub authorization: Option<String>,
}

pub type Routes = Arc<Mutex<BTreeMap<String, Answer>>>;

/// The HTTPS server: answers from `routes` by path (404 otherwise).
pub struct HttpsServer {
    pub port: u16,
    pub routes: Routes,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl HttpsServer {
    pub fn start(ca: &TestCa) -> HttpsServer {
        Self::start_on(ca, "127.0.0.1:0").unwrap()
    }

    /// On a given address; `None` when it cannot be bound (port 443 without privileges).
    pub fn start_on(ca: &TestCa, addr: &str) -> Option<HttpsServer> {
        let config = ca.server_config();
        let l = TcpListener::bind(addr).ok()?;
        let port = l.local_addr().unwrap().port();
        let routes: Routes = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, s, st) = (routes.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                if st.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = c else { continue };
                let (config, r, s) = (config.clone(), r.clone(), s.clone());
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let _ = serve_one(&mut tls, &r, &s);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        Some(HttpsServer {
            port,
            routes,
            seen,
            stop,
        })
    }

    /// `localhost:PORT` — the registry host of the test providers.
    pub fn host(&self) -> String {
        if self.port == 443 {
            "localhost".into()
        } else {
            format!("localhost:{}", self.port)
        }
    }

    /// `127.0.0.1:PORT` — the same server under another host name (for cross-host redirects).
    pub fn other_host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set(&self, path: &str, a: Answer) {
        self.routes.lock().unwrap().insert(path.to_string(), a);
    }

    pub fn get(&self, path: &str) -> Option<Answer> {
        self.routes.lock().unwrap().get(path).cloned()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn clear_seen(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one(
    tls: &mut (impl Read + Write),
    routes: &Routes,
    seen: &Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(&mut *tls);
    let mut first = String::new();
    r.read_line(&mut first)?;
    let mut host = String::new();
    let mut auth = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let (k, v) = line.trim_end().split_once(':').unwrap_or((&line, ""));
        match k.to_ascii_lowercase().as_str() {
            "host" => host = v.trim().to_string(),
            "authorization" => auth = Some(v.trim().to_string()),
            _ => {}
        }
    }
    drop(r);
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    seen.lock().unwrap().push(Seen {
        host,
        path: path.clone(),
        authorization: auth,
    });
    let a = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Answer::status(404));
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        a.status,
        a.body.len()
    );
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes())?;
    tls.write_all(&a.body)?;
    tls.flush()
}

/// GnuPG in a temporary home: keys made and releases signed with `gpg --batch`.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    pub fn new() -> Option<Gpg> {
        if Command::new("gpg").arg("--version").output().is_err() {
            super::missing("gpg (Debian package gnupg)");
            return None;
        }
        Some(Gpg {
            home: tempfile::tempdir().unwrap(),
        })
    }

    fn gpg(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c
    }

    /// A new key (`algo`: `rsa3072`, `ed25519`), with a signing subkey when `subkey` is
    /// given; `at` fakes the creation time (`20200101T000000`), `expire` as gpg takes it.
    /// Returns its fingerprint.
    pub fn key(&self, uid: &str, algo: &str, expire: &str, at: Option<&str>) -> String {
        let mut c = self.gpg();
        if let Some(t) = at {
            c.args(["--faked-system-time", t]);
        }
        run(c.args(["--quick-gen-key", uid, algo, "sign", expire]));
        let out = run(self.gpg().args(["--with-colons", "--list-keys", uid]));
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap()
    }

    /// The 16-digit key ID of a fingerprint.
    pub fn key_id(fpr: &str) -> String {
        fpr[fpr.len() - 16..].to_string()
    }

    pub fn armor(&self, fpr: &str) -> String {
        String::from_utf8(run(self.gpg().args(["--armor", "--export", fpr]))).unwrap()
    }

    /// A detached binary signature of `data` by `fpr` (at a faked time when given).
    pub fn sign(&self, fpr: &str, data: &[u8], at: Option<&str>) -> Vec<u8> {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), data).unwrap();
        let out = f.path().with_extension("sig");
        let mut c = self.gpg();
        if let Some(t) = at {
            c.args(["--faked-system-time", t]);
        }
        run(c
            .args(["--local-user", fpr, "--detach-sign", "--output"])
            .arg(&out)
            .arg(f.path()));
        let sig = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(out);
        sig
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A provider release served by the test registry.
pub struct Release {
    pub namespace: String,
    pub name: String,
    pub version: String,
    /// `OS_ARCH` → ZIP bytes.
    pub zips: BTreeMap<String, Vec<u8>>,
}

impl Release {
    pub fn file_name(&self, plat: &str) -> String {
        format!(
            "terraform-provider-{}_{}_{plat}.zip",
            self.name, self.version
        )
    }

    pub fn sums(&self) -> Vec<u8> {
        let mut s = String::new();
        for (p, z) in &self.zips {
            s.push_str(&format!("{}  {}\n", sha256_hex(z), self.file_name(p)));
        }
        s.into_bytes()
    }

    fn files(&self) -> String {
        format!("/files/{}/{}/{}", self.namespace, self.name, self.version)
    }

    /// Serve it through the registry protocol (`/v1/providers/…`, files under `/files/…`),
    /// `SHA256SUMS` signed by `signature`, `keys` published. Also updates the versions list.
    pub fn serve(&self, srv: &HttpsServer, keys: &[String], signature: &[u8]) {
        srv.set(
            "/.well-known/terraform.json",
            Answer::json(&json!({"providers.v1": "/v1/providers/", "modules.v1": "/v1/modules/"})),
        );
        let files = self.files();
        let sums_name = format!(
            "terraform-provider-{}_{}_SHA256SUMS",
            self.name, self.version
        );
        srv.set(&format!("{files}/{sums_name}"), Answer::bytes(self.sums()));
        srv.set(
            &format!("{files}/{sums_name}.sig"),
            Answer::bytes(signature.to_vec()),
        );
        let base = format!("/v1/providers/{}/{}", self.namespace, self.name);
        for (p, z) in &self.zips {
            let (os, arch) = p.split_once('_').unwrap();
            let name = self.file_name(p);
            srv.set(&format!("{files}/{name}"), Answer::bytes(z.clone()));
            srv.set(
                &format!("{base}/{}/download/{os}/{arch}", self.version),
                Answer::json(&json!({
                    "protocols": ["5.0"],
                    "os": os, "arch": arch,
                    "filename": name,
                    // Relative to this document, as tofu resolves it.
                    "download_url": format!("../../../../../../..{files}/{name}"),
                    "shasums_url": format!("{files}/{sums_name}"),
                    "shasums_signature_url": format!("{files}/{sums_name}.sig"),
                    "shasum": sha256_hex(z),
                    "signing_keys": {"gpg_public_keys": keys.iter().map(|k| json!({
                        "key_id": "ignored", "ascii_armor": k, "source": "test", "source_url": null
                    })).collect::<Vec<_>>()},
                })),
            );
        }
        let versions_path = format!("{base}/versions");
        let mut versions = srv
            .get(&versions_path)
            .map(|a| serde_json::from_slice::<Value>(&a.body).unwrap())
            .unwrap_or(json!({"versions": []}));
        let list = versions["versions"].as_array_mut().unwrap();
        list.retain(|v| v["version"] != self.version.as_str());
        list.push(json!({
            "version": self.version,
            "protocols": ["5.0"],
            "platforms": self.zips.keys().map(|p| {
                let (os, arch) = p.split_once('_').unwrap();
                json!({"os": os, "arch": arch})
            }).collect::<Vec<_>>(),
        }));
        srv.set(&versions_path, Answer::json(&versions));
    }

    /// Serve it as a network mirror under `/mirror/` (for the provider host `host`), each
    /// archive listing `hashes(platform, zip)`.
    pub fn serve_mirror(
        &self,
        srv: &HttpsServer,
        host: &str,
        hashes: &dyn Fn(&str, &[u8]) -> Vec<String>,
    ) {
        let base = format!("/mirror/{host}/{}/{}", self.namespace, self.name);
        let index_path = format!("{base}/index.json");
        let mut index = srv
            .get(&index_path)
            .map(|a| serde_json::from_slice::<Value>(&a.body).unwrap())
            .unwrap_or(json!({"versions": {}}));
        index["versions"][&self.version] = json!({});
        srv.set(&index_path, Answer::json(&index));
        let mut archives = serde_json::Map::new();
        for (p, z) in &self.zips {
            let name = self.file_name(p);
            srv.set(&format!("{base}/{name}"), Answer::bytes(z.clone()));
            let mut a = json!({"url": name});
            let h = hashes(p, z);
            if !h.is_empty() {
                a["hashes"] = json!(h);
            }
            archives.insert(p.clone(), a);
        }
        srv.set(
            &format!("{base}/{}.json", self.version),
            Answer::json(&json!({"archives": archives})),
        );
    }
}

/// `h1:` of a ZIP, computed here independently (dirhash Hash1 over the entries).
pub fn zip_h1(z: &[u8]) -> String {
    use base64::Engine as _;
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(z)).unwrap();
    let mut files = Vec::new();
    for i in 0..a.len() {
        let mut e = a.by_index(i).unwrap();
        if e.is_dir() {
            continue;
        }
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        files.push((
            e.name().map(|n| n.to_string()).unwrap_or_default(),
            sha256_hex(&b),
        ));
    }
    files.sort();
    let mut s = String::new();
    for (n, h) in files {
        s.push_str(&format!("{h}  {n}\n"));
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
    )
}

/// The sample provider's ZIPs (samples/dist), as release `version` of `acme/demo` (the ZIPs
/// are the same bytes; only their file names carry the version).
pub fn sample_release(version: &str) -> Release {
    let mut zips = BTreeMap::new();
    for p in ["darwin_arm64", "linux_amd64", "windows_amd64"] {
        zips.insert(p.to_string(), std::fs::read(super::sample_zip(p)).unwrap());
    }
    Release {
        namespace: "acme".into(),
        name: "demo".into(),
        version: version.into(),
        zips,
    }
}

/// A CLI configuration file for provguard and terraform.
pub fn cli_config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("test.tfrc");
    std::fs::write(&p, body).unwrap();
    p
}
