//! A real OCI registry for the tests: Debian's `docker-registry` (distribution 2.8) on
//! 127.0.0.1 with port 0, its own storage and config per test, the access log kept so tests can
//! count requests; and a small pusher that lays a provider out as OpenTofu expects
//! (../shared/spec/registry-for-tests.md §3, §4, §9).
#![allow(dead_code)]

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CONFIG: &str = "version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage:
  filesystem: {rootdirectory: ./data}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: \"127.0.0.1:0\", secret: ci-not-secret}
health: {storagedriver: {enabled: false}}
";

pub struct TestRegistry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: PathBuf,
    /// `Authorization` header value the test pusher sends.
    pub push_auth: Option<String>,
}

/// `testuser` / `testpass`, bcrypt cost 5 (registry-for-tests.md §6).
pub const HTPASSWD: &str =
    "testuser:$2y$05$VsyD2Yq3XSRD3swp4RkMieeU/KNGs76YaYOlK1VXGMv.N0/9WBXey\n";

impl TestRegistry {
    pub fn start() -> Option<TestRegistry> {
        Self::start_with(&[], None)
    }

    /// With htpasswd Basic auth (`testuser`/`testpass`).
    pub fn start_basic() -> Option<TestRegistry> {
        let pw = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(pw.path(), HTPASSWD).unwrap();
        let (_, path) = pw.keep().unwrap();
        use base64::Engine as _;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("testuser:testpass")
        );
        Self::start_with(
            &[
                ("REGISTRY_AUTH_HTPASSWD_REALM", "registry-test".into()),
                ("REGISTRY_AUTH_HTPASSWD_PATH", path.display().to_string()),
            ],
            Some(basic),
        )
    }

    /// With the token (Bearer) challenge flow against `realm`; the registry accepts any token.
    pub fn start_bearer(realm: &str) -> Option<TestRegistry> {
        Self::start_with(
            &[
                ("REGISTRY_AUTH_SILLY_REALM", realm.to_string()),
                ("REGISTRY_AUTH_SILLY_SERVICE", "registry-test".into()),
            ],
            Some("Bearer push-token".into()),
        )
    }

    pub fn start_with(env: &[(&str, String)], push_auth: Option<String>) -> Option<TestRegistry> {
        if Command::new("docker-registry")
            .arg("--version")
            .output()
            .is_err()
        {
            super::missing("docker-registry (Debian package docker-registry)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yml"), CONFIG).unwrap();
        let log = dir.path().join("registry.log");
        let mut cmd = Command::new("docker-registry");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .env(
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY",
                dir.path().join("data"),
            )
            .env("REGISTRY_HTTP_ADDR", "127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut reg = TestRegistry {
            child,
            port: 0,
            dir,
            log,
            push_auth,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while reg.port == 0 {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                reg.log_text()
            );
            if let Some(l) = reg
                .log_text()
                .lines()
                .find(|l| l.contains("listening on 127.0.0.1:"))
            {
                let tail = l.split("listening on 127.0.0.1:").nth(1).unwrap();
                reg.port = tail
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        while reqwest::blocking::get(format!("{}/v2/", reg.base())).is_err() {
            assert!(Instant::now() < deadline, "registry not answering");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(reg)
    }

    /// The registry's process ID (benchmarks: to profile it).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds (user + system) the registry process has used so far (benchmarks: its share of
    /// a run; /proc reports clock ticks of 1/100 s).
    #[allow(dead_code)]
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse().ok())
            .collect();
        f.iter().sum::<f64>() / 100.0
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.host())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many blob downloads (GET …/blobs/…) the registry has served.
    pub fn blob_gets(&self) -> usize {
        self.requests("GET", "/blobs/sha256:")
    }

    /// How many blob uploads were started (POST …/blobs/uploads/, mounts included).
    pub fn blob_uploads(&self) -> usize {
        self.requests("POST", "/blobs/uploads/")
    }

    /// How many blob uploads were committed (the final PUT of an upload session).
    pub fn blob_commits(&self) -> usize {
        self.requests("PUT", "/blobs/uploads/")
    }

    /// Files of content the registry stores: blob data, and the data of upload sessions that
    /// were neither committed nor cancelled (a cancelled session keeps only its hash state).
    pub fn stored_data_files(&self) -> Vec<PathBuf> {
        fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.file_name().is_some_and(|n| n == "data") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.path().join("data"), &mut out);
        out
    }

    /// How many manifests were written (PUT …/manifests/…).
    pub fn manifest_puts(&self) -> usize {
        self.requests("PUT", "/manifests/")
    }

    /// Requests with `method` whose URI contains `needle`, once the access log (written after
    /// each response) has settled.
    pub fn requests(&self, method: &str, needle: &str) -> usize {
        let mut last = self.count(method, needle);
        for _ in 0..25 {
            std::thread::sleep(Duration::from_millis(40));
            let now = self.count(method, needle);
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    fn count(&self, method: &str, needle: &str) -> usize {
        let m = format!("http.request.method={method}");
        std::io::BufReader::new(std::fs::File::open(&self.log).unwrap())
            .lines()
            .map_while(Result::ok)
            .filter(|l| {
                l.contains("msg=\"response completed") && l.contains(&m) && l.contains(needle)
            })
            .count()
    }

    /// A manifest or index of `repo` by tag or digest, as a plain client reads it; `None` on 404.
    pub fn manifest_json(&self, repo: &str, reference: &str) -> Option<Value> {
        let r = reqwest::blocking::Client::new()
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.base()))
            .header(
                "Accept",
                "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
            )
            .send()
            .unwrap();
        if r.status().as_u16() == 404 {
            return None;
        }
        assert!(
            r.status().is_success(),
            "{repo}:{reference}: {}",
            r.status()
        );
        Some(r.json().unwrap())
    }

    /// A blob of `repo`, as stored.
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        reqwest::blocking::get(format!("{}/v2/{repo}/blobs/{digest}", self.base()))
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    }

    /// The file the registry stores a blob in (for tampering tests).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    fn client(&self) -> reqwest::blocking::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(a) = &self.push_auth {
            headers.insert("Authorization", a.parse().unwrap());
        }
        reqwest::blocking::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let c = self.client();
        let r = c
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base()))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "upload start");
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with("http") {
            loc
        } else {
            format!("{}{loc}", self.base())
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = c
            .put(format!("{loc}{sep}digest={digest}"))
            .header("Content-Type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            201,
            "blob upload: {}",
            r.text().unwrap_or_default()
        );
        digest
    }

    /// PUT a manifest (Content-Type = its mediaType); returns its digest.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: Option<&str>,
        doc: &Value,
    ) -> (String, usize) {
        let bytes = serde_json::to_vec(doc).unwrap();
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let r = self
            .client()
            .put(format!(
                "{}/v2/{repo}/manifests/{}",
                self.base(),
                reference.unwrap_or(&digest)
            ))
            .header("Content-Type", doc["mediaType"].as_str().unwrap())
            .body(bytes.clone())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            status,
            201,
            "manifest PUT: {}",
            r.text().unwrap_or_default()
        );
        (digest, bytes.len())
    }

    /// Lay out a provider as OpenTofu installs it: one manifest per platform with a single
    /// `archive/zip` layer, an index tagged `tag`. Returns (index digest, per-platform manifest
    /// digests).
    pub fn push_provider(
        &self,
        repo: &str,
        tag: &str,
        zips: &[(&str, &str, &Path)],
    ) -> (String, Vec<String>) {
        let empty = self.push_blob(repo, b"{}");
        let mut entries = Vec::new();
        let mut digests = Vec::new();
        for (os, arch, path) in zips {
            let mut bytes = Vec::new();
            std::fs::File::open(path)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            let layer = self.push_blob(repo, &bytes);
            let m = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.opentofu.provider-target",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2, "data": "e30="},
                "layers": [{"mediaType": "archive/zip", "digest": layer, "size": bytes.len(),
                    "annotations": {"org.opencontainers.image.title": path.file_name().unwrap().to_string_lossy()}}]
            });
            let (d, size) = self.push_manifest(repo, None, &m);
            entries.push(json!({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.opentofu.provider-target",
                "digest": d, "size": size,
                "platform": {"os": os, "architecture": arch}
            }));
            digests.push(d);
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "artifactType": "application/vnd.opentofu.provider",
            "manifests": entries
        });
        let (d, _) = self.push_manifest(repo, Some(tag), &index);
        (d, digests)
    }
}

impl TestRegistry {
    /// Attach an SBOM to `subject` as an OCI 1.1 referrer and maintain the `sha256-<hex>`
    /// fallback index (distribution 2.8 has no referrers API), or, with `cosign`, write cosign's
    /// legacy `sha256-<hex>.sbom` tag. Returns the referrer manifest digest.
    pub fn attach_sbom(
        &self,
        repo: &str,
        subject: (&str, usize),
        media_type: &str,
        sbom: &[u8],
        cosign: bool,
    ) -> String {
        let empty = self.push_blob(repo, b"{}");
        let layer = self.push_blob(repo, sbom);
        let hex = subject.0.trim_start_matches("sha256:");
        if cosign {
            let m = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
                "layers": [{"mediaType": media_type, "digest": layer, "size": sbom.len()}]
            });
            return self
                .push_manifest(repo, Some(&format!("sha256-{hex}.sbom")), &m)
                .0;
        }
        let m = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": media_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2, "data": "e30="},
            "layers": [{"mediaType": media_type, "digest": layer, "size": sbom.len()}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject.0, "size": subject.1}
        });
        let (digest, size) = self.push_manifest(repo, None, &m);
        let tag = format!("sha256-{hex}");
        let existing = self
            .client()
            .get(format!("{}/v2/{repo}/manifests/{tag}", self.base()))
            .header("Accept", "application/vnd.oci.image.index.v1+json")
            .send()
            .unwrap();
        let mut index = if existing.status().is_success() {
            existing.json::<Value>().unwrap()
        } else {
            json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []})
        };
        index["manifests"].as_array_mut().unwrap().push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": size, "artifactType": media_type
        }));
        self.push_manifest(repo, Some(&tag), &index);
        digest
    }

    /// The digests the `sha256-<hex>` fallback referrers index of `subject` lists, sorted,
    /// read straight from the registry.
    pub fn fallback_digests(&self, repo: &str, subject: &str) -> Vec<String> {
        let tag = format!("sha256-{}", subject.trim_start_matches("sha256:"));
        let v: Value = self
            .client()
            .get(format!("{}/v2/{repo}/manifests/{tag}", self.base()))
            .header("Accept", "application/vnd.oci.image.index.v1+json")
            .send()
            .unwrap()
            .json()
            .unwrap();
        let mut d: Vec<String> = v["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .collect();
        d.sort();
        d
    }

    /// Copy the provider version `tag` of `from` into `to` as it is (same digests): blobs mounted
    /// across repositories (nothing hashed or sent again), manifests put byte for byte.
    pub fn copy_provider(&self, from: &str, to: &str, tag: &str) {
        let c = self.client();
        let get = |reference: &str| {
            let r = c
                .get(format!("{}/v2/{from}/manifests/{reference}", self.base()))
                .header("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
                .send()
                .unwrap();
            assert!(r.status().is_success(), "{from}:{reference}");
            r.bytes().unwrap().to_vec()
        };
        let put = |reference: &str, bytes: Vec<u8>| {
            let media_type = serde_json::from_slice::<Value>(&bytes).unwrap()["mediaType"]
                .as_str()
                .unwrap()
                .to_string();
            let r = c
                .put(format!("{}/v2/{to}/manifests/{reference}", self.base()))
                .header("Content-Type", media_type)
                .body(bytes)
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "{to}:{reference}");
        };
        let index = get(tag);
        let entries: Value = serde_json::from_slice(&index).unwrap();
        for e in entries["manifests"].as_array().unwrap() {
            let digest = e["digest"].as_str().unwrap();
            let bytes = get(digest);
            let m: Value = serde_json::from_slice(&bytes).unwrap();
            let layers = m["layers"].as_array().into_iter().flatten();
            for b in layers.chain(std::iter::once(&m["config"])) {
                let r = c
                    .post(format!(
                        "{}/v2/{to}/blobs/uploads/?mount={}&from={from}",
                        self.base(),
                        b["digest"].as_str().unwrap()
                    ))
                    .send()
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201, "mount {b}");
            }
            put(digest, bytes);
        }
        put(tag, index);
    }

    /// Every digest that `reference` names, directly or through the manifests it names (an
    /// index's manifests, a manifest's config and layers), that the registry does not hold:
    /// empty when the whole tree is there.
    pub fn missing_content(&self, repo: &str, reference: &str) -> Vec<String> {
        let c = self.client();
        let r = c
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.base()))
            .header("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
            .send()
            .unwrap();
        if !r.status().is_success() {
            return vec![reference.to_string()];
        }
        let m: Value = r.json().unwrap();
        let mut missing = Vec::new();
        for d in m["manifests"].as_array().into_iter().flatten() {
            missing.extend(self.missing_content(repo, d["digest"].as_str().unwrap()));
        }
        let layers = m["layers"].as_array().into_iter().flatten();
        let blobs = layers.chain(std::iter::once(&m["config"]));
        for b in blobs.filter(|b| b.is_object()) {
            let digest = b["digest"].as_str().unwrap();
            let head = c
                .head(format!("{}/v2/{repo}/blobs/{digest}", self.base()))
                .send()
                .unwrap();
            if !head.status().is_success() {
                missing.push(digest.to_string());
            }
        }
        missing
    }

    /// The digest and size of the manifest a tag names.
    pub fn manifest_of(&self, repo: &str, reference: &str) -> (String, usize) {
        let r = self
            .client()
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.base()))
            .header("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
            .send()
            .unwrap();
        let b = r.bytes().unwrap();
        (
            format!("sha256:{}", hex::encode(Sha256::digest(&b))),
            b.len(),
        )
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
