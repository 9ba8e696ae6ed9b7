//! Registry failures against the real docker-registry behind a fault-injecting loopback proxy
//! (tests/support/faults.rs): a failure that is not a real 404 is never read as "nothing there"
//! — publish does not rebuild a referrers index it could not read, scan and gate stop with exit
//! 2 instead of falling back or failing a policy — transient faults are retried, damaged bodies
//! are refused and never cached; and mirror refuses exactly the provider indexes scan refuses.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use support::faults::{Fault, FaultProxy};
use support::registry::TestRegistry;
use support::*;

const CDX: &str = "application/vnd.cyclonedx+json";
const SPDX: &str = "application/spdx+json";

fn run(dir: &Path, args: &[&str]) -> Output {
    provguard().current_dir(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sample provider's three platforms, with a CycloneDX and an SPDX SBOM attached to the
/// linux_amd64 manifest. Returns that manifest's digest.
fn provider_with_two_sboms(reg: &TestRegistry, repo: &str) -> String {
    let zips: Vec<_> = ["linux_amd64", "darwin_arm64", "windows_amd64"]
        .iter()
        .map(|p| {
            let (os, arch) = p.split_once('_').unwrap();
            (os, arch, sample_zip(p))
        })
        .collect();
    let refs: Vec<(&str, &str, &Path)> =
        zips.iter().map(|(o, a, p)| (*o, *a, p.as_path())).collect();
    let (_, manifests) = reg.push_provider(repo, "1.2.3", &refs);
    let linux = manifests[0].clone();
    let (_, size) = reg.manifest_of(repo, &linux);
    let sbom_of = |format: &str| {
        let o = run(
            &support::repo(),
            &[
                "sbom",
                "--format",
                format,
                sample_zip("linux_amd64").to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    reg.attach_sbom(repo, (&linux, size), CDX, &sbom_of("cyclonedx"), false);
    reg.attach_sbom(repo, (&linux, size), SPDX, &sbom_of("spdx"), false);
    linux
}

#[test]
fn publish_keeps_the_referrers_it_could_not_read() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let proxy = FaultProxy::start(&reg.host());
    let d = tempfile::tempdir().unwrap();
    let dist = d.path().join("dist");
    copy_dir(&repo().join("samples/dist"), &dist);
    // First publish, through the proxy with no faults: a CycloneDX and an SPDX SBOM on every
    // platform manifest, both in the fallback index (distribution 2.8 has no referrers API).
    let dest = format!("oci://{}/acme/demo", proxy.host);
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "publish",
            dist.to_str().unwrap(),
            "--to",
            &dest,
            "--plain-http",
            "--registry-retries",
            "1",
            "--json",
        ];
        args.extend(extra);
        run(d.path(), &args)
    };
    let o = publish(&["--sbom-format", "both"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let linux = out["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "linux_amd64")
        .unwrap()["manifest"]
        .as_str()
        .unwrap()
        .to_string();
    let before = reg.fallback_digests("acme/demo", &linux);
    assert_eq!(before.len(), 2, "{before:?}");

    // A third SBOM, while the registry answers every read of the fallback tag with 500.
    let cdx16 = d.path().join("linux.cdx16.json");
    let o = run(
        d.path(),
        &[
            "sbom",
            "--format",
            "cyclonedx-1.6",
            "--output",
            cdx16.to_str().unwrap(),
            sample_zip("linux_amd64").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    proxy.inject("GET", "/manifests/sha256-", usize::MAX, Fault::Status(500));
    let sbom_arg = format!("linux_amd64={}", cdx16.display());
    let o = publish(&["--sbom", &sbom_arg]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("500"), "{err}");
    assert!(proxy.fired("/manifests/sha256-") >= 2, "retried once");
    // Nothing lost: both referrers are still in the index.
    assert_eq!(reg.fallback_digests("acme/demo", &linux), before);
}

#[test]
fn a_registry_refusing_monolithic_uploads_gets_every_blob_in_chunks() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let proxy = FaultProxy::start(&reg.host());
    // Every PUT that carries a blob is refused as a registry without monolithic uploads
    // refuses it; the empty PUT that ends a chunked upload goes through.
    proxy.inject_on_bodies("PUT", "/blobs/uploads/", usize::MAX, Fault::Status(400));
    let d = tempfile::tempdir().unwrap();
    let dist = d.path().join("dist");
    copy_dir(&repo().join("samples/dist"), &dist);
    let dest = format!("oci://{}/acme/demo", proxy.host);
    let o = run(
        d.path(),
        &[
            "publish",
            dist.to_str().unwrap(),
            "--to",
            &dest,
            "--plain-http",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The config, three ZIPs and an SBOM per platform: each refused whole, then sent in chunks.
    assert!(
        proxy.fired("/blobs/uploads/") >= 7,
        "{:?}",
        proxy.requests()
    );
    let patches = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PATCH ") && r.contains("/blobs/uploads/"))
        .count();
    assert!(patches >= 7, "{:?}", proxy.requests());
    // What arrived is what was sent: every ZIP byte for byte, and the version scans.
    for p in out["platforms"].as_array().unwrap() {
        let platform = p["platform"].as_str().unwrap();
        let local = std::fs::read(sample_zip(platform)).unwrap();
        let digest = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&local))
        );
        assert_eq!(reg.blob("acme/demo", &digest), local, "{platform}");
    }
    let o = run(
        d.path(),
        &[
            "scan",
            &format!("oci://{}/acme/demo:1.2.3", reg.host()),
            "--plain-http",
            "--no-cache",
            "--sbom-source",
            "attached",
            "-f",
            "json",
            "--db",
            repo_path("samples/vulndb").as_str(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let scanned: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        scanned.to_string().contains("golang.org/x/crypto"),
        "the chunk-uploaded SBOMs read back: {scanned}"
    );
}

#[test]
fn a_500_on_the_referrers_tag_stops_scan_and_gate() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    provider_with_two_sboms(&reg, "acme/demo");
    let proxy = FaultProxy::start(&reg.host());
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // A database modified today, no advisories: the gate can decide.
    let db = dir.join("vulndb");
    std::fs::create_dir_all(db.join("index")).unwrap();
    std::fs::write(db.join("index/modules.json"), "[]").unwrap();
    std::fs::write(
        db.join("index/db.json"),
        json!({"modified": provguard::foundation::time::rfc3339(provguard::engine::now())})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        "extends = \"default\"\n[rule.go-version]\nminimum = \"1.19\"\n[rule.registry-host]\nallow = [\"127.0.0.1:*\"]\n[rule.sbom-required]\nlevel = \"deny\"\n",
    )
    .unwrap();
    let target = format!("oci://{}/acme/demo:1.2.3", proxy.host);
    let common = [
        "--plain-http",
        "--no-cache",
        "--platform",
        "linux_amd64",
        "--registry-retries",
        "1",
        "--db",
        "vulndb",
    ];
    let scan = || {
        let mut a = vec!["scan", target.as_str(), "--sbom-source", "auto"];
        a.extend(common);
        run(dir, &a)
    };
    let gate = || {
        let mut a = vec![
            "gate",
            target.as_str(),
            "--policy",
            "policy.toml",
            "-f",
            "json",
        ];
        a.extend(common);
        run(dir, &a)
    };
    // Without faults: the attached SBOM is used, and the gate decides (no sbom-required).
    let o = scan();
    assert!(o.status.success(), "{}", stderr(&o));
    let g = gate();
    assert!(matches!(g.status.code(), Some(0 | 1)), "{}", stderr(&g));
    let report: Value = serde_json::from_slice(&g.stdout).unwrap();
    assert!(!report.to_string().contains("sbom-required"), "{report}");

    // 500 on the fallback tag: an error, not "no SBOM attached".
    proxy.inject("GET", "/manifests/sha256-", usize::MAX, Fault::Status(500));
    let o = scan();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("500"), "{}", stderr(&o));
    let g = gate();
    assert_eq!(g.status.code(), Some(2), "{}", stderr(&g));
    assert!(!String::from_utf8_lossy(&g.stdout).contains("sbom-required"));
    // A 401 is no "absent" either.
    proxy.clear();
    proxy.inject("GET", "/manifests/sha256-", usize::MAX, Fault::Status(401));
    let o = scan();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unauthorized"), "{}", stderr(&o));
}

#[test]
fn transient_faults_are_retried_and_damaged_blobs_never_cached() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    provider_with_two_sboms(&reg, "acme/demo");
    let proxy = FaultProxy::start(&reg.host());
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let target = format!("oci://{}/acme/demo:1.2.3", proxy.host);
    let sbom = |extra: &[&str]| {
        let mut a = vec![
            "sbom",
            target.as_str(),
            "--plain-http",
            "--platform",
            "linux_amd64",
            "--cache-dir",
            cache.to_str().unwrap(),
            "--registry-timeout",
            "2",
        ];
        a.extend(extra);
        run(d.path(), &a)
    };
    let cached_blobs = || {
        std::fs::read_dir(cache.join("blobs/sha256"))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    // Damage that is final: a corrupted ZIP blob, a body cut short every time, a lying length.
    for fault in [Fault::Corrupt, Fault::CutBody(100), Fault::LieLength(1000)] {
        proxy.clear();
        proxy.inject("GET", "/blobs/sha256:", usize::MAX, fault.clone());
        let o = sbom(&["--registry-retries", "1"]);
        assert_eq!(o.status.code(), Some(2), "{fault:?}: {}", stderr(&o));
        assert_eq!(cached_blobs(), 0, "{fault:?}: nothing unverified is cached");
        assert!(o.stdout.is_empty(), "{fault:?}: no partial output");
    }
    // Transient: 503 twice, 429 once, a dropped connection, a stall past the timeout — then it
    // works, within the default retries.
    for fault in [
        Fault::Status(503),
        Fault::Status(429),
        Fault::Drop,
        Fault::Stall(Duration::from_secs(3)),
        Fault::CutBody(100),
    ] {
        proxy.clear();
        proxy.inject("GET", "/blobs/sha256:", 2, fault.clone());
        let o = sbom(&["--no-cache"]);
        assert!(o.status.success(), "{fault:?}: {}", stderr(&o));
        assert_eq!(proxy.fired("/blobs/sha256:"), 2, "{fault:?}");
    }
    // 500 on the index itself, more often than the retries: exit 2 naming the status.
    proxy.clear();
    proxy.inject("GET", "/manifests/1.2.3", usize::MAX, Fault::Status(500));
    let o = sbom(&["--registry-retries", "2", "--no-cache"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("HTTP 500") || stderr(&o).contains("500"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        proxy.fired("/manifests/1.2.3"),
        3,
        "one try and two retries"
    );
    // 404 is final at once: no retries.
    proxy.clear();
    proxy.inject("GET", "/manifests/1.2.3", usize::MAX, Fault::Status(404));
    let o = sbom(&["--no-cache"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(proxy.fired("/manifests/1.2.3"), 1);
}

#[test]
fn mirror_refuses_exactly_what_scan_refuses() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let repo = "example/things";
    let empty = reg.push_blob(repo, b"{}");
    let zip_bytes = std::fs::read(sample_zip("linux_amd64")).unwrap();
    let zip = reg.push_blob(repo, &zip_bytes);
    let layer = json!({"mediaType": "archive/zip", "digest": zip, "size": zip_bytes.len()});
    let target_manifest = |layers: Vec<Value>, artifact: &str| {
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": artifact,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": layers
        })
    };
    let good = reg.push_manifest(
        repo,
        None,
        &target_manifest(
            vec![layer.clone()],
            "application/vnd.opentofu.provider-target",
        ),
    );
    let entry = |d: &(String, usize), media: &str, platform: Value| {
        let mut e = json!({"mediaType": media, "artifactType": "application/vnd.opentofu.provider-target",
            "digest": d.0, "size": d.1});
        if !platform.is_null() {
            e["platform"] = platform;
        }
        e
    };
    let m = "application/vnd.oci.image.manifest.v1+json";
    let linux = json!({"os": "linux", "architecture": "amd64"});
    let index = |artifact: &str, entries: Vec<Value>| {
        json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "artifactType": artifact, "manifests": entries})
    };
    let provider = "application/vnd.opentofu.provider";
    let nolayer = reg.push_manifest(
        repo,
        None,
        &target_manifest(vec![], "application/vnd.opentofu.provider-target"),
    );
    let twolayers = reg.push_manifest(
        repo,
        None,
        &target_manifest(
            vec![layer.clone(), layer.clone()],
            "application/vnd.opentofu.provider-target",
        ),
    );
    let wrong_artifact = reg.push_manifest(
        repo,
        None,
        &target_manifest(vec![layer.clone()], "application/vnd.example.other"),
    );
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "container",
            index("", vec![entry(&good, m, linux.clone())]),
            "is this a multi-platform container image?",
        ),
        (
            "entrymedia",
            index(
                provider,
                vec![entry(
                    &good,
                    "application/vnd.oci.image.index.v1+json",
                    linux.clone(),
                )],
            ),
            "not an image manifest",
        ),
        (
            "noplatform",
            index(provider, vec![entry(&good, m, Value::Null)]),
            "has no platform",
        ),
        (
            "duplicate",
            index(
                provider,
                vec![
                    entry(&good, m, linux.clone()),
                    entry(&nolayer, m, linux.clone()),
                ],
            ),
            "ambiguous index: more than one manifest for linux_amd64",
        ),
        (
            "empty",
            index(provider, vec![]),
            "lists no platform manifests",
        ),
        (
            "nolayer",
            index(provider, vec![entry(&nolayer, m, linux.clone())]),
            "has no archive/zip layer",
        ),
        (
            "twolayers",
            index(provider, vec![entry(&twolayers, m, linux.clone())]),
            "has 2 archive/zip layers",
        ),
        (
            "wrongartifact",
            index(provider, vec![entry(&wrong_artifact, m, linux.clone())]),
            "not application/vnd.opentofu.provider-target",
        ),
        (
            "oversized",
            index(
                provider,
                vec![entry(&(good.0.clone(), 5 << 20), m, linux.clone())],
            ),
            "over OpenTofu's 4 MiB limit",
        ),
    ];
    let d = tempfile::tempdir().unwrap();
    let Some(dest) = TestRegistry::start() else {
        return;
    };
    for (tag, doc, needle) in &cases {
        reg.push_manifest(repo, Some(tag), doc);
        let src = format!("oci://{}/{repo}:{tag}", reg.host());
        let scan = run(
            d.path(),
            &[
                "scan",
                &src,
                "--plain-http",
                "--no-cache",
                "--db",
                repo_path("samples/vulndb").as_str(),
            ],
        );
        let mirror = run(
            d.path(),
            &[
                "mirror",
                &src,
                &format!("oci://{}/copy/{tag}", dest.host()),
                "--plain-http",
            ],
        );
        for (what, o) in [("scan", &scan), ("mirror", &mirror)] {
            assert_eq!(o.status.code(), Some(2), "{what} {tag}: {}", stderr(o));
            assert!(stderr(o).contains(needle), "{what} {tag}: {}", stderr(o));
        }
        assert_eq!(dest.manifest_puts(), 0, "{tag}: mirror wrote nothing");
    }
    // And both accept the well-formed index.
    reg.push_manifest(
        repo,
        Some("good"),
        &index(provider, vec![entry(&good, m, linux)]),
    );
    let src = format!("oci://{}/{repo}:good", reg.host());
    let o = run(
        d.path(),
        &[
            "mirror",
            &src,
            &format!("oci://{}/copy/good", dest.host()),
            "--plain-http",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

fn repo_path(p: &str) -> String {
    repo().join(p).display().to_string()
}

#[test]
fn a_cached_blob_altered_on_disk_is_fetched_again_and_processes_share_a_cache() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    provider_with_two_sboms(&reg, "acme/demo");
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let target = format!("oci://{}/acme/demo:1.2.3", reg.host());
    let sbom = || {
        provguard()
            .current_dir(d.path())
            .args(["sbom", &target, "--plain-http", "--platform", "linux_amd64"])
            .args(["--cache-dir", cache.to_str().unwrap(), "--deterministic"])
            .output()
            .unwrap()
    };
    // Two processes at once on an empty cache: both succeed, the cache holds verified blobs.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(sbom);
        let b = s.spawn(sbom);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "{}", stderr(&b));
    assert_eq!(a.stdout, b.stdout);
    let blobs: Vec<_> = std::fs::read_dir(cache.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        blobs.iter().all(|p| !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".partial")),
        "no partial files left: {blobs:?}"
    );
    let zip = blobs
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
        .clone();
    let zip_digest = format!("sha256:{}", zip.file_name().unwrap().to_string_lossy());
    let zip_gets = || reg.requests("GET", &format!("/blobs/{zip_digest}"));
    let gets = zip_gets();
    // From the cache: no download.
    let o = sbom();
    assert!(o.status.success());
    assert_eq!(zip_gets(), gets, "served from the cache");
    // Truncated on disk: detected, fetched again, same SBOM.
    let bytes = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    let o = sbom();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, a.stdout);
    assert_eq!(zip_gets(), gets + 1, "fetched again");
    assert_eq!(
        std::fs::read(&zip).unwrap(),
        bytes,
        "the cache holds the good blob again"
    );
    // Altered in place (same size): the same.
    let mut bad = bytes.clone();
    bad[bytes.len() / 3] ^= 0x55;
    std::fs::write(&zip, &bad).unwrap();
    let o = sbom();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, a.stdout);
    assert_eq!(zip_gets(), gets + 2);
}

#[test]
fn mirror_into_a_failing_registry_leaves_no_tag_and_loses_no_referrer() {
    let (Some(src), Some(dest)) = (TestRegistry::start(), TestRegistry::start()) else {
        return;
    };
    let linux = provider_with_two_sboms(&src, "acme/demo");
    let proxy = FaultProxy::start(&dest.host());
    let d = tempfile::tempdir().unwrap();
    let mirror = |retries: &str| {
        run(
            d.path(),
            &[
                "mirror",
                &format!("oci://{}/acme/demo:1.2.3", src.host()),
                &format!("oci://{}/copy/demo", proxy.host),
                "--plain-http",
                "--registry-retries",
                retries,
                "--json",
            ],
        )
    };
    let tag_exists = || {
        reqwest::blocking::Client::new()
            .head(format!("{}/v2/copy/demo/manifests/1.2.3", dest.base()))
            .header("Accept", "application/vnd.oci.image.index.v1+json")
            .send()
            .unwrap()
            .status()
            .is_success()
    };
    // Every blob upload fails: exit 2, and no tag names anything.
    proxy.inject("", "/blobs/uploads/", usize::MAX, Fault::Status(500));
    let o = mirror("1");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!tag_exists(), "no tag after a failed mirror");
    // The fallback-index read fails (500): the referrers are not rewritten, the tag not set.
    proxy.clear();
    proxy.inject("GET", "/manifests/sha256-", usize::MAX, Fault::Status(500));
    let o = mirror("1");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!tag_exists());
    // Transient faults only: the mirror completes with both referrers of the linux manifest.
    proxy.clear();
    proxy.inject("", "/blobs/uploads/", 2, Fault::Status(503));
    proxy.inject("PUT", "/manifests/", 1, Fault::Drop);
    let o = mirror("3");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tag_exists());
    assert_eq!(
        dest.fallback_digests("copy/demo", &linux),
        src.fallback_digests("acme/demo", &linux),
        "both referrers carried"
    );
}

/// `publish` of samples/dist into a fresh registry by one process per entry of `formats`
/// (`--sbom-format`), all at once, sharing one cache directory; each must end with exit 0. Then
/// the tag names their one index, nothing it names (or any referrer names) is missing, and each
/// platform manifest's fallback index lists every referrer some run reported for it. Returns
/// the registry and the runs' JSON outcomes.
fn publish_at_once(formats: &[&str]) -> Option<(TestRegistry, Vec<Value>)> {
    let reg = TestRegistry::start()?;
    let d = tempfile::tempdir().unwrap();
    let dist = d.path().join("dist");
    copy_dir(&repo().join("samples/dist"), &dist);
    let dest = format!("oci://{}/acme/demo", reg.host());
    let publish = |format: &str| {
        provguard()
            .current_dir(d.path())
            .args(["publish", dist.to_str().unwrap(), "--to", &dest])
            .args(["--plain-http", "--sbom-format", format, "--json"])
            .args(["--cache-dir", d.path().join("cache").to_str().unwrap()])
            .output()
            .unwrap()
    };
    let runs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = formats
            .iter()
            .map(|f| s.spawn(move || publish(f)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let outcomes: Vec<Value> = runs
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", stderr(o));
            serde_json::from_slice(&o.stdout).unwrap()
        })
        .collect();
    let (tagged, _) = reg.manifest_of("acme/demo", "1.2.3");
    for o in &outcomes {
        assert_eq!(
            Value::String(tagged.clone()),
            o["index"],
            "one release, one index"
        );
    }
    assert_eq!(
        reg.missing_content("acme/demo", "1.2.3"),
        Vec::<String>::new()
    );
    for (i, p) in outcomes[0]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let m = p["manifest"].as_str().unwrap();
        let want: BTreeSet<String> = outcomes
            .iter()
            .flat_map(|o| o["platforms"][i]["sboms"].as_array().unwrap().clone())
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let have: BTreeSet<String> = reg.fallback_digests("acme/demo", m).into_iter().collect();
        assert_eq!(have, want, "{p}");
        let tag = format!("sha256-{}", m.trim_start_matches("sha256:"));
        assert_eq!(reg.missing_content("acme/demo", &tag), Vec::<String>::new());
    }
    // Scanning the version through the registry uses the attached SBOMs without drift.
    let o = run(
        d.path(),
        &[
            "sbom",
            "--compare",
            &format!("{dest}:1.2.3"),
            "--plain-http",
            "--no-cache",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    Some((reg, outcomes))
}

#[test]
fn two_publishes_of_one_version_at_once_leave_a_consistent_registry() {
    let Some((_reg, outcomes)) = publish_at_once(&["both", "both"]) else {
        return;
    };
    for p in outcomes[0]["platforms"].as_array().unwrap() {
        assert_eq!(p["sboms"].as_array().unwrap().len(), 2, "{p}");
    }
    assert_eq!(outcomes[0]["platforms"], outcomes[1]["platforms"]);
}

#[test]
fn publishes_attaching_different_sboms_at_once_lose_no_referrer() {
    // Each run adds its own referrer to the same fallback indexes: the last writer must not win.
    let Some((_reg, outcomes)) = publish_at_once(&["cyclonedx", "spdx"]) else {
        return;
    };
    let (a, b) = (&outcomes[0]["platforms"], &outcomes[1]["platforms"]);
    for (pa, pb) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        assert_eq!(pa["sboms"].as_array().unwrap().len(), 1, "{pa}");
        assert_ne!(pa["sboms"], pb["sboms"], "two different referrers");
    }
}
