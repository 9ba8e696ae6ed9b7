//! The OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`) — pagination through `Link`,
//! client-side filtering by artifactType, and errors that are not "no SBOM". This runs against
//! an in-process fake registry: the one real registry available here (distribution 2.8) has no
//! referrers API, so its tag-schema fallback is what tests/oci.rs covers.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;

struct Reply {
    /// Answer 503 this many times before the real reply.
    fail_first: usize,
    status: u16,
    content_type: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

type Routes = Arc<Mutex<HashMap<String, Reply>>>;

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A fake registry serving fixed replies by request path; records every path asked for.
fn serve(routes: Routes) -> (String, Arc<Mutex<Vec<String>>>) {
    serve_on("127.0.0.1:0", routes)
}

/// [`serve`] on a chosen address; a request carrying `Authorization` is also recorded as
/// `AUTH <path>`.
fn serve_on(addr: &str, routes: Routes) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let host = serve_http(addr, move |req| {
        let authorized = req.headers.iter().any(|h| h.starts_with("authorization:"));
        let path = req.path;
        s.lock().unwrap().push(path.clone());
        if authorized {
            s.lock().unwrap().push(format!("AUTH {path}"));
        }
        let mut routes = routes.lock().unwrap();
        let (status, ctype, body, mut extra) = match routes.get_mut(&path) {
            Some(rep) if rep.fail_first > 0 => {
                rep.fail_first -= 1;
                (503, "text/plain".into(), b"busy".to_vec(), vec![])
            }
            Some(rep) => (
                rep.status,
                rep.content_type.clone(),
                rep.body.clone(),
                rep.headers.clone(),
            ),
            None => (
                404,
                "application/json".into(),
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                    .to_vec(),
                vec![],
            ),
        };
        extra.push(("Content-Type".into(), ctype));
        (status, extra, body)
    });
    (host, seen)
}

fn ok(ctype: &str, body: Vec<u8>) -> Reply {
    let d = digest(&body);
    Reply {
        fail_first: 0,
        status: 200,
        content_type: ctype.into(),
        body,
        headers: vec![("Docker-Content-Digest".into(), d)],
    }
}

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The demo provider (linux_amd64) with a CycloneDX SBOM referrer on the platform manifest,
/// listed on the second page of the referrers API after a signature referrer.
fn fake_registry(referrers_status: u16) -> (String, Arc<Mutex<Vec<String>>>, String, String) {
    fake_registry_flaky(referrers_status, 0)
}

fn fake_registry_flaky(
    referrers_status: u16,
    flaky: usize,
) -> (String, Arc<Mutex<Vec<String>>>, String, String) {
    fake_registry_with(referrers_status, flaky, None)
}

/// With `redirect`, the provider ZIP blob answers 307 to that URL (a blob store on another host).
fn fake_registry_with(
    referrers_status: u16,
    flaky: usize,
    redirect: Option<String>,
) -> (String, Arc<Mutex<Vec<String>>>, String, String) {
    let repo = "/v2/example/terraform-provider-demo";
    let mut routes = HashMap::new();
    routes.insert("/v2/".to_string(), ok("application/json", b"{}".to_vec()));
    let zip = std::fs::read(sample_zip("linux_amd64")).unwrap();
    let empty = b"{}".to_vec();
    let sbom = provguard()
        .args(["sbom", "--deterministic", "--format", "cyclonedx-1.6"])
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap()
        .stdout;
    let sig = b"not an sbom".to_vec();
    for b in [&zip, &empty, &sbom, &sig] {
        routes.insert(
            format!("{repo}/blobs/{}", digest(b)),
            ok("application/octet-stream", b.clone()),
        );
    }
    let cfg = json!({"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest(&empty), "size": 2});
    let m = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.opentofu.provider-target",
        "config": cfg, "layers": [{"mediaType": "archive/zip", "digest": digest(&zip), "size": zip.len()}]})).unwrap();
    let md = digest(&m);
    let subject = json!({"mediaType": MANIFEST, "digest": md, "size": m.len()});
    let r = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.cyclonedx+json",
        "config": cfg, "layers": [{"mediaType": "application/vnd.cyclonedx+json", "digest": digest(&sbom), "size": sbom.len()}], "subject": subject})).unwrap();
    let q = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": cfg, "layers": [{"mediaType": "application/octet-stream", "digest": digest(&sig), "size": sig.len()}], "subject": subject})).unwrap();
    let i = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX, "artifactType": "application/vnd.opentofu.provider",
        "manifests": [{"mediaType": MANIFEST, "artifactType": "application/vnd.opentofu.provider-target", "digest": md, "size": m.len(),
            "platform": {"os": "linux", "architecture": "amd64"}}]})).unwrap();
    for (body, ctype) in [(&m, MANIFEST), (&r, MANIFEST), (&q, MANIFEST), (&i, INDEX)] {
        routes.insert(
            format!("{repo}/manifests/{}", digest(body)),
            ok(ctype, body.clone()),
        );
    }
    let mut tagged = ok(INDEX, i.clone());
    tagged.fail_first = flaky;
    routes.insert(format!("{repo}/manifests/1.2.3"), tagged);
    routes
        .get_mut(&format!("{repo}/blobs/{}", digest(&zip)))
        .unwrap()
        .fail_first = flaky;
    let page = |descs: Vec<Value>| {
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": descs}))
            .unwrap()
    };
    // Page 1: only a signature (a server that ignores any filter); page 2: the SBOM.
    let mut p1 = ok(
        INDEX,
        page(vec![
            json!({"mediaType": MANIFEST, "digest": digest(&q), "size": q.len(), "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json"}),
        ]),
    );
    p1.status = referrers_status;
    p1.headers.push((
        "Link".into(),
        format!("<{repo}/referrers/{md}?n=1&last=q>; rel=\"next\""),
    ));
    routes.insert(format!("{repo}/referrers/{md}"), p1);
    routes.insert(
        format!("{repo}/referrers/{md}?n=1&last=q"),
        ok(INDEX, page(vec![json!({"mediaType": MANIFEST, "digest": digest(&r), "size": r.len(), "artifactType": "application/vnd.cyclonedx+json"})])),
    );
    routes.insert(
        format!("{repo}/referrers/{}", digest(&i)),
        ok(INDEX, page(vec![])),
    );
    if let Some(url) = redirect {
        // This registry wants credentials (a Basic challenge), and keeps its blobs elsewhere.
        let v2 = routes.get_mut("/v2/").unwrap();
        v2.status = 401;
        v2.headers = vec![("WWW-Authenticate".into(), "Basic realm=\"fake\"".into())];
        let blob = routes
            .get_mut(&format!("{repo}/blobs/{}", digest(&zip)))
            .unwrap();
        blob.status = 307;
        blob.body = Vec::new();
        blob.headers = vec![("Location".into(), url)];
    }
    let (host, seen) = serve(Arc::new(Mutex::new(routes)));
    (host, seen, digest(&r), digest(&sig))
}

/// `provguard sbom --compare` of the fake's demo provider.
fn compare(host: &str) -> std::process::Output {
    provguard()
        .args(["sbom", "--plain-http", "--no-cache", "--compare"])
        .arg(format!(
            "oci://{host}/example/terraform-provider-demo:1.2.3"
        ))
        .output()
        .unwrap()
}

#[test]
fn referrers_api_pages_and_filters_on_the_client() {
    let (host, seen, referrer, sig) = fake_registry(200);
    let o = compare(&host);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("attached cyclonedx 1.6 SBOM {referrer} on the platform manifest (found via referrers-api)")), "{out}");
    assert!(out.contains("drift: none"), "{out}");
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|p| p.contains("/referrers/") && p.contains("?n=1&last=q")),
        "second page fetched: {seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|p| p.contains("/manifests/sha256-") && !p.ends_with(".sbom")),
        "no tag-schema fallback when the API answers: {seen:?}"
    );
    assert!(
        !seen.iter().any(|p| p.ends_with(&sig)),
        "the signature referrer is filtered out, its blob never fetched"
    );
}

#[test]
fn a_referrers_api_error_is_not_read_as_no_sbom() {
    let (host, _, _, _) = fake_registry(400);
    let o = compare(&host);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("referrers API for sha256:"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn transient_failures_are_retried_with_backoff() {
    let (host, seen, _, _) = fake_registry_flaky(200, 2);
    let o = compare(&host);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tag_requests = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.ends_with("/manifests/1.2.3"))
        .count();
    assert_eq!(
        tag_requests,
        3,
        "two 503s, then the answer: {:?}",
        seen.lock().unwrap()
    );
    let (host, _, _, _) = fake_registry_flaky(200, 2);
    let o = provguard()
        .args([
            "sbom",
            "--plain-http",
            "--no-cache",
            "--registry-retries",
            "1",
            "--compare",
        ])
        .arg(format!(
            "oci://{host}/example/terraform-provider-demo:1.2.3"
        ))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "one retry is not enough for two failures"
    );
}

#[test]
fn credentials_never_follow_a_redirect_to_another_host() {
    // The blob store: another loopback address, serving the ZIP.
    let zip = std::fs::read(sample_zip("linux_amd64")).unwrap();
    let mut store = HashMap::new();
    store.insert("/blob".to_string(), ok("application/octet-stream", zip));
    let (store_host, store_seen) = serve_on("127.0.0.2:0", Arc::new(Mutex::new(store)));
    let (host, seen, _, _) = fake_registry_with(200, 0, Some(format!("http://{store_host}/blob")));
    let mut child = provguard()
        .args([
            "sbom",
            "--plain-http",
            "--no-cache",
            "--sbom-source",
            "binary",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .arg(format!(
            "oci://{host}/example/terraform-provider-demo:1.2.3"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"secret\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        seen.lock().unwrap().iter().any(|p| p.starts_with("AUTH ")),
        "the registry got the credentials"
    );
    let store_seen = store_seen.lock().unwrap();
    assert!(
        store_seen.contains(&"/blob".to_string()),
        "the redirect was followed: {store_seen:?}"
    );
    assert!(
        !store_seen.iter().any(|p| p.starts_with("AUTH ")),
        "no credentials for the other host: {store_seen:?}"
    );
}
