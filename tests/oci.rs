//! Providers fetched from a real OCI registry (Debian's docker-registry on loopback): the
//! OpenTofu layout, digests checked, the layer digest equal to the lock file's `zh:`, a cache that
//! makes the second run download nothing, and clear errors for what is not a provider.

mod support;

use std::process::Output;

use serde_json::{Value, json};
use support::registry::TestRegistry;
use support::*;

fn push_demo(reg: &TestRegistry, repo: &str, tag: &str) -> (String, Vec<String>) {
    let zips: Vec<(&str, &str, std::path::PathBuf)> = [
        ("linux", "amd64"),
        ("darwin", "arm64"),
        ("windows", "amd64"),
    ]
    .iter()
    .map(|(o, a)| (*o, *a, sample_zip(&format!("{o}_{a}"))))
    .collect();
    let refs: Vec<(&str, &str, &std::path::Path)> =
        zips.iter().map(|(o, a, p)| (*o, *a, p.as_path())).collect();
    reg.push_provider(repo, tag, &refs)
}

fn sbom(args: &[&str]) -> Output {
    provguard()
        .arg("sbom")
        .arg("--plain-http")
        .args(args)
        .output()
        .unwrap()
}

fn prop(doc: &Value, name: &str) -> Option<String> {
    doc["metadata"]["component"]["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str().map(str::to_string))
}

#[test]
fn fetches_every_platform_and_caches_blobs() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let (index, _) = push_demo(&reg, "example/terraform-provider-demo", "1.2.3");
    let target = format!("oci://{}/example/terraform-provider-demo:1.2.3", reg.host());
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = sbom(&[
        "--deterministic",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--output-dir",
        out.path().to_str().unwrap(),
        &target,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lock = std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl")).unwrap();
    for plat in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
        let f = out
            .path()
            .join(format!("terraform-provider-demo_1.2.3_{plat}.cdx.json"));
        let doc: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let zh = prop(&doc, "provguard:lock.zh").unwrap();
        assert!(
            lock.contains(&zh),
            "{plat}: {zh} is in the samples' lock file"
        );
        assert_eq!(
            prop(&doc, "provguard:oci.layer.digest").unwrap(),
            zh.replace("zh:", "sha256:")
        );
        assert_eq!(prop(&doc, "provguard:oci.index.digest").unwrap(), index);
        assert_eq!(prop(&doc, "provguard:platform").unwrap(), plat);
        assert_eq!(doc["metadata"]["component"]["version"], "1.2.3");
        assert!(
            doc["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == "golang.org/x/crypto")
        );
    }
    let gets = reg.blob_gets();
    assert_eq!(gets, 3, "one download per platform");
    // The same run again: every blob comes from the cache.
    let out2 = tempfile::tempdir().unwrap();
    let o = sbom(&[
        "--deterministic",
        "--cache-dir",
        cache.path().to_str().unwrap(),
        "--output-dir",
        out2.path().to_str().unwrap(),
        &target,
    ]);
    assert!(o.status.success());
    assert_eq!(
        reg.blob_gets(),
        gets,
        "a second identical run downloads no blob"
    );
    let a = std::fs::read(
        out.path()
            .join("terraform-provider-demo_1.2.3_linux_amd64.cdx.json"),
    )
    .unwrap();
    let b = std::fs::read(
        out2.path()
            .join("terraform-provider-demo_1.2.3_linux_amd64.cdx.json"),
    )
    .unwrap();
    assert_eq!(a, b);
    // One platform only; by digest too.
    let o = sbom(&[
        "--no-cache",
        "--platform",
        "darwin_arm64",
        "-f",
        "table",
        &target,
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("darwin_arm64"));
    let by_digest = format!(
        "oci://{}/example/terraform-provider-demo@{index}",
        reg.host()
    );
    let o = sbom(&["--no-cache", "--platform", "linux_amd64", &by_digest]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = sbom(&["--no-cache", "--platform", "freebsd_arm", &target]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(
        "no freebsd_arm build; the index offers linux_amd64, darwin_arm64, windows_amd64"
    ));
}

#[test]
fn tampered_blob_is_a_digest_error_and_nothing_is_cached() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    // A provider ZIP of its own, so tampering touches no other test's blob.
    let d = tempfile::tempdir().unwrap();
    let mut a =
        zip::ZipArchive::new(std::fs::File::open(sample_zip("linux_amd64")).unwrap()).unwrap();
    let mut exe = Vec::new();
    std::io::copy(&mut a.by_index(0).unwrap(), &mut exe).unwrap();
    let z = d
        .path()
        .join("terraform-provider-demo_1.2.4_linux_amd64.zip");
    write_zip(&z, &[("terraform-provider-demo_v1.2.4", &exe)]);
    let (_, manifests) = reg.push_provider("example/tampered", "1.2.4", &[("linux", "amd64", &z)]);
    assert_eq!(manifests.len(), 1);
    let layer = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(&z).unwrap()
        ))
    );
    let stored = reg.blob_file(&layer);
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&stored, bytes).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let o = sbom(&[
        "--cache-dir",
        cache.path().to_str().unwrap(),
        &format!("oci://{}/example/tampered:1.2.4", reg.host()),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.to_lowercase().contains("digest"), "{err}");
    // The manifests, fetched by digest and verified, are cached; nothing of the blob is.
    let cached: Vec<_> = walk_files(cache.path())
        .into_iter()
        .filter(|p| !p.starts_with(cache.path().join("manifests")))
        .collect();
    assert!(
        cached.is_empty(),
        "nothing of a bad blob is cached: {cached:?}"
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk_files(&p));
            } else {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn what_is_not_a_provider_gets_a_clear_error() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let empty = reg.push_blob("example/things", b"{}");
    let zip = reg.push_blob(
        "example/things",
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    );
    let module = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.opentofu.modulepkg",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "archive/zip", "digest": zip, "size": 22}]
    });
    let (module_digest, module_size) = reg.push_manifest("example/things", Some("module"), &module);
    let target_manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.opentofu.provider-target",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "archive/zip", "digest": zip, "size": 22}]
    });
    let (target_digest, _) = reg.push_manifest("example/things", Some("single"), &target_manifest);
    let image = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": empty, "size": 2},
        "layers": []
    });
    reg.push_manifest("example/things", Some("image"), &image);
    // An index whose platform entry claims more than tofu's 4 MiB manifest limit.
    let big = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "artifactType": "application/vnd.opentofu.provider",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.opentofu.provider-target",
            "digest": target_digest, "size": 5 << 20, "platform": {"os": "linux", "architecture": "amd64"}}]
    });
    reg.push_manifest("example/things", Some("oversized"), &big);
    let dup = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "artifactType": "application/vnd.opentofu.provider",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.opentofu.provider-target",
             "digest": target_digest, "size": 300, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.opentofu.provider-target",
             "digest": module_digest, "size": module_size, "platform": {"os": "linux", "architecture": "amd64"}}]
    });
    reg.push_manifest("example/things", Some("ambiguous"), &dup);
    // Platform manifests with no and with two archive/zip layers; an os.version entry is skipped.
    let layered = |n: usize| {
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.opentofu.provider-target",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": (0..n).map(|_| json!({"mediaType": "archive/zip", "digest": zip, "size": 22})).collect::<Vec<_>>()
        })
    };
    for (tag, layers) in [("nolayer", 0), ("twolayers", 2)] {
        let (d, size) = reg.push_manifest("example/things", None, &layered(layers));
        let idx = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "artifactType": "application/vnd.opentofu.provider",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.opentofu.provider-target",
                 "digest": module_digest, "size": module_size, "platform": {"os": "linux", "architecture": "amd64", "os.version": "10.0.17763"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": "application/vnd.opentofu.provider-target",
                 "digest": d, "size": size, "platform": {"os": "linux", "architecture": "amd64"}}]
        });
        reg.push_manifest("example/things", Some(tag), &idx);
    }
    for (tag, needle) in [
        ("nolayer", "(linux_amd64) has no archive/zip layer"),
        (
            "twolayers",
            "(linux_amd64) has 2 archive/zip layers; exactly one is allowed",
        ),
        ("module", "is an OpenTofu module package, not a provider"),
        (
            "single",
            "refers directly to a single-platform provider manifest",
        ),
        ("image", "is this a container image?"),
        ("oversized", "over OpenTofu's 4 MiB limit; refused"),
        (
            "ambiguous",
            "ambiguous index: more than one manifest for linux_amd64",
        ),
        ("missing", "manifest unknown"),
    ] {
        let o = sbom(&[
            "--no-cache",
            &format!("oci://{}/example/things:{tag}", reg.host()),
        ]);
        assert_eq!(o.status.code(), Some(2), "{tag}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.to_lowercase().contains(&needle.to_lowercase()),
            "{tag}: {err}"
        );
    }
}

#[test]
fn basic_auth_from_docker_config_or_password_stdin_and_only_for_its_host() {
    let Some(reg) = TestRegistry::start_basic() else {
        return;
    };
    push_demo(&reg, "example/terraform-provider-demo", "1.2.3");
    let target = format!("oci://{}/example/terraform-provider-demo:1.2.3", reg.host());
    let home = tempfile::tempdir().unwrap();
    let run = |docker_config: &std::path::Path, extra: &[&str], stdin: Option<&str>| {
        let mut c = provguard();
        c.args([
            "sbom",
            "--plain-http",
            "--no-cache",
            "--platform",
            "linux_amd64",
        ])
        .args(extra)
        .arg(&target)
        .env("DOCKER_CONFIG", docker_config)
        .env("HOME", home.path())
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
        match stdin {
            Some(s) => {
                use std::io::Write;
                let mut child = c
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
                child.wait_with_output().unwrap()
            }
            None => c.output().unwrap(),
        }
    };
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode("testuser:testpass");
    // No credentials: the registry's 401 is reported.
    let none = tempfile::tempdir().unwrap();
    let o = run(none.path(), &[], None);
    assert_eq!(o.status.code(), Some(2));
    // Credentials for another host only: not sent here, so still refused.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("config.json"),
        json!({"auths": {"registry.example.com": {"auth": b64}}}).to_string(),
    )
    .unwrap();
    assert_eq!(run(other.path(), &[], None).status.code(), Some(2));
    // docker config.json auths entry for this host.
    let good = tempfile::tempdir().unwrap();
    std::fs::write(
        good.path().join("config.json"),
        json!({"auths": {reg.host(): {"auth": b64}}}).to_string(),
    )
    .unwrap();
    let o = run(good.path(), &[], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // --username with --password-stdin.
    let o = run(
        none.path(),
        &["--username", "testuser", "--password-stdin"],
        Some("testpass\n"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        none.path(),
        &["--username", "testuser", "--password-stdin"],
        Some("wrong\n"),
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A token endpoint for the Bearer flow: answers every request with a token and counts them.
fn token_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", l.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = r#"{"token":"test-token","access_token":"test-token"}"#;
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

#[test]
fn bearer_token_flow() {
    let (realm, hits) = token_server();
    let Some(reg) = TestRegistry::start_bearer(&realm) else {
        return;
    };
    push_demo(&reg, "example/terraform-provider-demo", "1.2.3");
    let target = format!("oci://{}/example/terraform-provider-demo:1.2.3", reg.host());
    let o = sbom(&["--no-cache", "--platform", "windows_amd64", &target]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        hits.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "a token was fetched from the realm"
    );
}

fn provguard_sbom_of(zip: &std::path::Path, format: &str) -> Vec<u8> {
    let o = provguard()
        .args(["sbom", "--deterministic", "--format", format])
        .arg(zip)
        .output()
        .unwrap();
    assert!(o.status.success());
    o.stdout
}

fn compare(target: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let o = provguard()
        .args(["sbom", "--plain-http", "--no-cache", "--compare"])
        .args(extra)
        .arg(target)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn attached_sboms_fallback_and_drift() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let repo = "example/terraform-provider-demo";
    let (index, m) = push_demo(&reg, repo, "1.2.3");
    let target = format!("oci://{}/{repo}:1.2.3", reg.host());
    let sized = |d: &str| reg.manifest_of(repo, d);
    // CycloneDX 1.6 attached to the linux_amd64 manifest.
    let linux = sized(&m[0]);
    let cdx = reg.attach_sbom(
        repo,
        (&linux.0, linux.1),
        "application/vnd.cyclonedx+json",
        &provguard_sbom_of(&sample_zip("linux_amd64"), "cyclonedx-1.6"),
        false,
    );
    // SPDX attached to the index: used by darwin_arm64, which has none of its own.
    let idx = sized(&index);
    let spdx = reg.attach_sbom(
        repo,
        (&idx.0, idx.1),
        "application/spdx+json",
        &provguard_sbom_of(&sample_zip("darwin_arm64"), "spdx"),
        false,
    );
    // cosign's legacy tag on windows_amd64.
    let win = sized(&m[2]);
    let cos = reg.attach_sbom(
        repo,
        (&win.0, win.1),
        "application/vnd.cyclonedx+json",
        &provguard_sbom_of(&sample_zip("windows_amd64"), "cyclonedx"),
        true,
    );

    let (code, out, err) = compare(&target, &[]);
    assert_eq!(code, Some(0), "{err}");
    let section = |plat: &str| {
        out.split(&format!("({plat})"))
            .nth(1)
            .unwrap()
            .split("oci://")
            .next()
            .unwrap()
            .to_string()
    };
    let l = section("linux_amd64");
    assert!(
        l.contains(&format!(
            "attached cyclonedx 1.6 SBOM {cdx} on the platform manifest (found via referrers-tag)"
        )),
        "{out}"
    );
    assert!(l.contains("drift: none"), "{l}");
    let d = section("darwin_arm64");
    assert!(
        d.contains(&format!(
            "attached spdx SPDX-2.3 SBOM {spdx} on the index manifest"
        )),
        "{out}"
    );
    let w = section("windows_amd64");
    assert!(
        w.contains(&format!(
            "SBOM {cos} on the platform manifest (found via cosign-tag)"
        )),
        "{out}"
    );

    // The SBOM provguard writes says where the inventory came from.
    let o = sbom(&["--no-cache", "--platform", "linux_amd64", &target]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = doc["components"][0]["properties"].as_array().unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "provguard:inventory.source" && p["value"] == "attached-sbom")
    );

    // --sbom-source binary ignores them.
    let (_, out, _) = compare(
        &target,
        &["--sbom-source", "binary", "--platform", "linux_amd64"],
    );
    assert!(
        out.contains("Go buildinfo of the executable (fallback: --sbom-source binary)"),
        "{out}"
    );
}

#[test]
fn no_unparseable_or_stale_sboms() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let repo = "example/terraform-provider-demo";
    let (_, m) = push_demo(&reg, repo, "1.2.3");
    let target = format!("oci://{}/{repo}:1.2.3", reg.host());
    // Nothing attached: buildinfo, and say so; `attached` refuses.
    let (code, out, _) = compare(&target, &["--platform", "linux_amd64"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("(fallback: no SBOM attached)"), "{out}");
    let (code, _, err) = compare(
        &target,
        &["--platform", "linux_amd64", "--sbom-source", "attached"],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("no SBOM attached"), "{err}");
    // An unparseable SBOM: fallback with the reason.
    let linux = reg.manifest_of(repo, &m[0]);
    let bad = reg.attach_sbom(
        repo,
        (&linux.0, linux.1),
        "application/vnd.cyclonedx+json",
        br#"{"hello": "world"}"#,
        false,
    );
    let (code, out, _) = compare(&target, &["--platform", "linux_amd64"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            "attached SBOM {bad} (application/vnd.cyclonedx+json) is unusable: neither CycloneDX"
        )),
        "{out}"
    );
    // A stale SBOM on darwin: an older x/crypto and no x/text.
    let mut stale: Value =
        serde_json::from_slice(&provguard_sbom_of(&sample_zip("darwin_arm64"), "cyclonedx"))
            .unwrap();
    let comps = stale["components"].as_array_mut().unwrap();
    comps.retain(|c| c["name"] != "golang.org/x/text");
    for c in comps.iter_mut() {
        if c["name"] == "golang.org/x/crypto" {
            c["version"] = "v0.3.0".into();
            c["purl"] = "pkg:golang/golang.org/x/crypto@v0.3.0".into();
        }
    }
    comps.push(json!({"type": "library", "name": "github.com/gone/module", "version": "v1.0.0", "purl": "pkg:golang/github.com/gone/module@v1.0.0"}));
    let darwin = reg.manifest_of(repo, &m[1]);
    reg.attach_sbom(
        repo,
        (&darwin.0, darwin.1),
        "application/vnd.cyclonedx+json",
        &serde_json::to_vec(&stale).unwrap(),
        false,
    );
    let (code, out, _) = compare(&target, &["--platform", "darwin_arm64"]);
    assert_eq!(code, Some(0));
    for needle in [
        "drift: golang.org/x/crypto: the binary has v0.4.0, the SBOM says v0.3.0",
        "drift: golang.org/x/text v0.7.0 is in the binary but not in the SBOM",
        "drift: github.com/gone/module v1.0.0 is in the SBOM but not in the binary",
    ] {
        assert!(out.contains(needle), "{needle} in:\n{out}");
    }
    // scan reports the drift too, and matches what the (stale) SBOM says.
    let o = provguard()
        .args([
            "scan",
            "--plain-http",
            "--no-cache",
            "--platform",
            "darwin_arm64",
            "--format",
            "json",
            "--db",
        ])
        .arg(repo_path("samples/vulndb"))
        .arg(&target)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let inv = &doc["artifacts"][0]["inventory"];
    assert_eq!(inv["source"], "attached-sbom");
    assert_eq!(inv["drift"].as_array().unwrap().len(), 3);
}

fn repo_path(p: &str) -> std::path::PathBuf {
    repo().join(p)
}

#[test]
fn provider_address_with_version_constraint_and_mirror_templates() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let repo = "mirror/example/terraform-provider-demo";
    let linux = sample_zip("linux_amd64");
    for tag in ["1.2.3", "1.10.0_build.5", "2.0.0", "1.11.0-rc1", "latest"] {
        reg.push_provider(repo, tag, &[("linux", "amd64", &linux)]);
    }
    let template = format!(
        "{}/mirror/${{namespace}}/terraform-provider-${{type}}",
        reg.host()
    );
    let run = |extra: &[&str], env: Option<&std::path::Path>| {
        let mut c = provguard();
        c.args(["sbom", "--plain-http", "--no-cache"])
            .args(extra)
            .arg("example/demo");
        if let Some(f) = env {
            c.env("TF_CLI_CONFIG_FILE", f);
        }
        c.output().unwrap()
    };
    let o = run(&["--version", "~> 1.2", "--oci-mirror", &template], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["metadata"]["component"]["version"], "1.10.0+build.5",
        "`_` read as `+`, highest ~> 1.2 match, rc skipped"
    );
    assert_eq!(
        prop(&doc, "provguard:oci.reference").unwrap(),
        format!("oci://{}/{repo}:1.10.0_build.5", reg.host())
    );
    let o = run(
        &["--version", "1.11.0-rc1", "--oci-mirror", &template],
        None,
    );
    assert!(o.status.success());
    let o = run(&["--version", "~> 3.0", "--oci-mirror", &template], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no version matches \"~> 3.0\""));
    // The same through the tofu CLI configuration's oci_mirror block.
    let d = tempfile::tempdir().unwrap();
    let rc = d.path().join("tofurc");
    std::fs::write(
        &rc,
        format!("provider_installation {{\n  oci_mirror {{\n    repository_template = \"{template}\"\n    include = [\"registry.opentofu.org/*/*\"]\n  }}\n}}\n"),
    )
    .unwrap();
    let o = run(&["--version", ">= 2.0"], Some(&rc));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["metadata"]["component"]["version"], "2.0.0");
}

#[test]
fn credentials_from_a_docker_credential_helper() {
    let Some(reg) = TestRegistry::start_basic() else {
        return;
    };
    push_demo(&reg, "example/terraform-provider-demo", "1.2.3");
    let d = tempfile::tempdir().unwrap();
    // A real helper program on PATH, answering the protocol: host on stdin, JSON on stdout.
    let helper = d.path().join("docker-credential-provguardtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\necho \"$host\" >> {}/asked\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found'; exit 1; }}\necho '{{\"ServerURL\":\"'$host'\",\"Username\":\"testuser\",\"Secret\":\"testpass\"}}'\n",
            d.path().display(),
            reg.host()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        d.path().join("config.json"),
        json!({"credHelpers": {reg.host(): "provguardtest"}}).to_string(),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        d.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = provguard()
        .args([
            "sbom",
            "--plain-http",
            "--no-cache",
            "--platform",
            "linux_amd64",
        ])
        .arg(format!(
            "oci://{}/example/terraform-provider-demo:1.2.3",
            reg.host()
        ))
        .env("DOCKER_CONFIG", d.path())
        .env("PATH", path)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(d.path().join("asked"))
            .unwrap()
            .trim(),
        reg.host()
    );
}
