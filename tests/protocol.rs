//! The provider registry protocol and network mirrors against a test registry served over
//! HTTPS on loopback (tests/support/https.rs), releases signed by keys made with real GnuPG;
//! the fixture proved faithful by a real client (`terraform init`). `mirror` of an address into
//! a real docker-registry, the carried signature re-verified from it alone with the HTTPS
//! registry stopped.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::https::*;
use support::registry::TestRegistry;
use support::*;

struct Fx {
    ca: TestCa,
    srv: HttpsServer,
    gpg: Gpg,
    dir: tempfile::TempDir,
    fpr: String,
    armor: String,
}

/// The sample provider as `acme/demo` 1.2.3 and 1.3.0 on `localhost:PORT`, signed by an RSA key.
fn fixture() -> Option<Fx> {
    let gpg = Gpg::new()?;
    let ca = TestCa::new();
    let srv = HttpsServer::start(&ca);
    let fpr = gpg.key("Demo Signer <signer@example.test>", "rsa2048", "1y", None);
    let armor = gpg.armor(&fpr);
    for v in ["1.2.3", "1.3.0"] {
        let r = sample_release(v);
        let sig = gpg.sign(&fpr, &r.sums(), None);
        r.serve(&srv, std::slice::from_ref(&armor), &sig);
    }
    Some(Fx {
        ca,
        srv,
        gpg,
        dir: tempfile::tempdir().unwrap(),
        fpr,
        armor,
    })
}

impl Fx {
    fn addr(&self) -> String {
        format!("{}/acme/demo", self.srv.host())
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// provguard with the test CA trusted and `config` as the CLI configuration.
    fn pg(&self, config: &str) -> Command {
        let cfg = cli_config(self.dir.path(), config);
        let mut c = provguard();
        c.env("SSL_CERT_FILE", self.ca.ca_file())
            .env("TF_CLI_CONFIG_FILE", cfg)
            .env("HOME", self.dir.path())
            .env_remove("OPENTOFU_ENFORCE_GPG_EXPIRATION")
            .env_remove("OPENTOFU_ENFORCE_GPG_VALIDATION");
        c
    }

    /// `provguard COMMAND` of the address at `version`, no retries, the fixture's cache; `args`
    /// go before the address.
    fn run(&self, config: &str, command: &str, version: &str, args: &[&str]) -> Command {
        let mut c = self.pg(config);
        c.args([command, "--registry-retries", "0", "--version", version])
            .arg("--cache-dir")
            .arg(self.cache())
            .args(args)
            .arg(self.addr());
        c
    }

    fn sbom(&self, config: &str, version: &str, env: &[(&str, &str)]) -> Output {
        let mut c = self.run(config, "sbom", version, &["--platform", "linux_amd64"]);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// Blobs in the cache (verified packages).
    fn cached(&self) -> usize {
        std::fs::read_dir(self.cache().join("blobs/sha256"))
            .map(|d| {
                d.flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    }

    fn files(&self, v: &str) -> String {
        format!("/files/acme/demo/{v}")
    }
}

const DIRECT: &str = "provider_installation {\n  direct {}\n}\n";

fn ok(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fails(o: &Output, reason: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(reason), "expected {reason:?} in: {err}");
}

fn prop(doc: &Value, name: &str) -> Option<String> {
    doc["metadata"]["component"]["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
        .map(str::to_string)
}

#[test]
fn good_signature_rsa_and_eddsa_with_provenance() {
    let Some(fx) = fixture() else { return };
    let doc = ok(&fx.sbom(DIRECT, "~> 1.2", &[]));
    assert_eq!(doc["metadata"]["component"]["version"], "1.3.0");
    assert_eq!(
        prop(&doc, "provguard:provenance.origin").unwrap(),
        "registry"
    );
    assert_eq!(
        prop(&doc, "provguard:provenance.checks").unwrap(),
        "shasum,sha256sums,signature"
    );
    assert_eq!(
        prop(&doc, "provguard:provenance.signature").unwrap(),
        "verified"
    );
    assert_eq!(
        prop(&doc, "provguard:provenance.signing-key").unwrap(),
        Gpg::key_id(&fx.fpr)
    );
    let r = sample_release("1.3.0");
    for (p, z) in &r.zips {
        assert_eq!(
            prop(&doc, &format!("provguard:provenance.zh:{p}")).unwrap(),
            format!("zh:{}", sha256_hex(z))
        );
    }
    assert!(
        prop(&doc, "provguard:provenance.location")
            .unwrap()
            .ends_with("/files/acme/demo/1.3.0/terraform-provider-demo_1.3.0_linux_amd64.zip")
    );
    assert_eq!(fx.cached(), 1);

    // An EdDSA key, published second after an unrelated key: the search goes on to it.
    let ed = fx
        .gpg
        .key("Ed Signer <ed@example.test>", "ed25519", "1y", None);
    let other = fx
        .gpg
        .key("Other <other@example.test>", "rsa2048", "1y", None);
    let r = sample_release("1.2.3");
    let sig = fx.gpg.sign(&ed, &r.sums(), None);
    r.serve(&fx.srv, &[fx.gpg.armor(&other), fx.gpg.armor(&ed)], &sig);
    let doc = ok(&fx.sbom(DIRECT, "1.2.3", &[]));
    assert_eq!(
        prop(&doc, "provguard:provenance.signing-key").unwrap(),
        Gpg::key_id(&ed)
    );
}

#[test]
fn every_verification_failure_exits_2_and_caches_nothing() {
    let Some(fx) = fixture() else { return };
    let r = sample_release("1.2.3");
    let files = fx.files("1.2.3");
    let zip_path = format!("{files}/{}", r.file_name("linux_amd64"));
    let sums_path = format!("{files}/terraform-provider-demo_1.2.3_SHA256SUMS");
    let good_zip = fx.srv.get(&zip_path).unwrap();
    let good_sums = fx.srv.get(&sums_path).unwrap();
    let good_sig = fx.srv.get(&format!("{sums_path}.sig")).unwrap();

    // A tampered ZIP.
    let mut bad = good_zip.body.clone();
    let n = bad.len();
    bad[n / 2] ^= 0xff;
    fx.srv.set(&zip_path, Answer::bytes(bad));
    fails(
        &fx.sbom(DIRECT, "1.2.3", &[]),
        "archive has incorrect checksum",
    );
    assert_eq!(fx.cached(), 0, "nothing cached");
    fx.srv.set(&zip_path, good_zip);

    // SHA256SUMS that does not list the ZIP (re-signed, so only the listing is wrong).
    let text = String::from_utf8(good_sums.body.clone()).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.contains("linux_amd64"))
        .map(|l| format!("{l}\n"))
        .collect();
    fx.srv
        .set(&sums_path, Answer::bytes(without.clone().into_bytes()));
    fx.srv.set(
        &format!("{sums_path}.sig"),
        Answer::bytes(fx.gpg.sign(&fx.fpr, without.as_bytes(), None)),
    );
    fails(
        &fx.sbom(DIRECT, "1.2.3", &[]),
        "checksum list has no SHA-256 hash",
    );
    // SHA256SUMS changed after signing.
    fx.srv.set(
        &sums_path,
        Answer::bytes(format!("{text}{}  extra\n", "0".repeat(64)).into_bytes()),
    );
    fx.srv.set(&format!("{sums_path}.sig"), good_sig.clone());
    fails(&fx.sbom(DIRECT, "1.2.3", &[]), "error checking signature");
    fx.srv.set(&sums_path, good_sums.clone());

    // A signature by a key the registry does not publish.
    let stranger = fx
        .gpg
        .key("Stranger <s@example.test>", "rsa2048", "1y", None);
    fx.srv.set(
        &format!("{sums_path}.sig"),
        Answer::bytes(fx.gpg.sign(&stranger, &good_sums.body, None)),
    );
    fails(&fx.sbom(DIRECT, "1.2.3", &[]), "unknown issuer");

    // 404 on the signature.
    fx.srv.set(&format!("{sums_path}.sig"), Answer::status(404));
    fails(&fx.sbom(DIRECT, "1.2.3", &[]), "not found");
    fx.srv.set(&format!("{sums_path}.sig"), good_sig);

    // A registry publishing no keys (not registry.opentofu.org: tofu refuses).
    r.serve(&fx.srv, &[], &fx.gpg.sign(&fx.fpr, &r.sums(), None));
    fails(&fx.sbom(DIRECT, "1.2.3", &[]), "published no signing keys");
    assert_eq!(fx.cached(), 0, "nothing cached after any failure");
    // And back to good: it verifies and caches.
    r.serve(
        &fx.srv,
        std::slice::from_ref(&fx.armor),
        &fx.gpg.sign(&fx.fpr, &r.sums(), None),
    );
    ok(&fx.sbom(DIRECT, "1.2.3", &[]));
    assert_eq!(fx.cached(), 1);
}

#[test]
fn expired_key_accepted_with_a_warning_unless_enforced() {
    let Some(fx) = fixture() else { return };
    // Made and used in 2020, expired in 2021.
    let old = fx.gpg.key(
        "Old Signer <old@example.test>",
        "rsa2048",
        "1y",
        Some("20200101T000000"),
    );
    let r = sample_release("1.2.3");
    let sig = fx.gpg.sign(&old, &r.sums(), Some("20200601T000000"));
    r.serve(&fx.srv, &[fx.gpg.armor(&old)], &sig);
    let o = fx.sbom(DIRECT, "1.2.3", &[]);
    let doc = ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expired"));
    assert_eq!(
        prop(&doc, "provguard:provenance.signature").unwrap(),
        "verified-expired-key"
    );
    assert_eq!(
        prop(&doc, "provguard:provenance.signing-key").unwrap(),
        Gpg::key_id(&old)
    );
    fails(
        &fx.sbom(
            DIRECT,
            "1.2.3",
            &[("OPENTOFU_ENFORCE_GPG_EXPIRATION", "true")],
        ),
        "OPENTOFU_ENFORCE_GPG_EXPIRATION=true",
    );
    // Only the exact string `true` counts.
    ok(&fx.sbom(DIRECT, "1.2.3", &[("OPENTOFU_ENFORCE_GPG_EXPIRATION", "1")]));
}

#[test]
fn credentials_only_to_their_host_and_never_across_a_redirect() {
    let Some(fx) = fixture() else { return };
    let host = fx.srv.host();
    let other = fx.srv.other_host();
    let r = sample_release("1.2.3");
    let files = fx.files("1.2.3");
    // The versions list moves to the other host name; the ZIP download redirects there too.
    let versions = fx.srv.get("/v1/providers/acme/demo/versions").unwrap();
    fx.srv.set("/moved/versions", versions);
    fx.srv.set(
        "/v1/providers/acme/demo/versions",
        Answer::redirect(&format!("https://{other}/moved/versions")),
    );
    let zip = r.file_name("linux_amd64");
    let body = fx.srv.get(&format!("{files}/{zip}")).unwrap();
    fx.srv.set(&format!("/elsewhere/{zip}"), body);
    fx.srv.set(
        &format!("{files}/{zip}"),
        Answer::redirect(&format!("https://{other}/elsewhere/{zip}")),
    );
    let config =
        format!("credentials \"{host}\" {{\n  token = \"secret-for-localhost\"\n}}\n{DIRECT}");
    let mut c = fx.pg(&config);
    // TF_TOKEN_ for a host without a port: never sent to localhost:PORT or 127.0.0.1:PORT.
    c.env("TF_TOKEN_127_0_0_1", "token-for-port-443")
        .args([
            "sbom",
            "--registry-retries",
            "0",
            "--platform",
            "linux_amd64",
            "--no-cache",
        ])
        .args(["--version", "1.2.3"])
        .arg(fx.addr());
    ok(&c.output().unwrap());
    let seen = fx.srv.seen();
    let auth = |path: &str| -> Vec<(String, Option<String>)> {
        seen.iter()
            .filter(|s| s.path == path)
            .map(|s| (s.host.clone(), s.authorization.clone()))
            .collect()
    };
    let bearer = Some("Bearer secret-for-localhost".to_string());
    assert_eq!(
        auth("/.well-known/terraform.json"),
        [(host.clone(), bearer.clone())]
    );
    assert_eq!(
        auth("/v1/providers/acme/demo/versions"),
        [(host.clone(), bearer.clone())]
    );
    assert_eq!(
        auth("/moved/versions"),
        [(other.clone(), None)],
        "dropped across hosts"
    );
    assert_eq!(
        auth("/v1/providers/acme/demo/1.2.3/download/linux/amd64"),
        [(host.clone(), bearer)]
    );
    for s in &seen {
        if s.path.starts_with("/files/") || s.path.starts_with("/elsewhere/") {
            assert_eq!(s.authorization, None, "{}: no credentials on files", s.path);
        }
        assert_ne!(
            s.authorization.as_deref(),
            Some("Bearer token-for-port-443"),
            "{}",
            s.path
        );
    }
}

#[test]
fn tf_token_variable_goes_to_its_host_only() {
    // TF_TOKEN_ names cannot carry a port: this needs the registry on port 443.
    let Some(gpg) = Gpg::new() else { return };
    let ca = TestCa::new();
    let Some(srv) = HttpsServer::start_on(&ca, "127.0.0.1:443") else {
        eprintln!("SKIPPED: cannot listen on 127.0.0.1:443 here");
        return;
    };
    let fpr = gpg.key("T <t@example.test>", "rsa2048", "1y", None);
    let r = sample_release("1.2.3");
    r.serve(&srv, &[gpg.armor(&fpr)], &gpg.sign(&fpr, &r.sums(), None));
    let d = tempfile::tempdir().unwrap();
    let o = provguard()
        .env("SSL_CERT_FILE", ca.ca_file())
        .env("TF_CLI_CONFIG_FILE", cli_config(d.path(), DIRECT))
        .env("TF_TOKEN_localhost", "tok-localhost")
        .env("TF_TOKEN_example_com", "tok-example")
        .args([
            "sbom",
            "--registry-retries",
            "0",
            "--platform",
            "linux_amd64",
            "--no-cache",
        ])
        .args(["--version", "1.2.3", "localhost/acme/demo"])
        .output()
        .unwrap();
    ok(&o);
    for s in srv.seen() {
        let want = if s.path.starts_with("/files/") {
            None
        } else {
            Some("Bearer tok-localhost".to_string())
        };
        assert_eq!(s.authorization, want, "{}", s.path);
    }
}

#[test]
fn include_exclude_pick_the_method_and_mirror_hashes_verify() {
    let Some(fx) = fixture() else { return };
    let host = fx.srv.host();
    let r = sample_release("1.2.3");
    let mirror_url = format!("https://{host}/mirror/");
    // h1:-only for linux, zh:-only for the others.
    r.serve_mirror(&fx.srv, &host, &|p, z| {
        if p == "linux_amd64" {
            vec![zip_h1(z)]
        } else {
            vec![format!("zh:{}", sha256_hex(z))]
        }
    });
    let config = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"{mirror_url}\"\n    include = [\"{host}/acme/*\"]\n  }}\n  direct {{\n    exclude = [\"{host}/acme/*\"]\n  }}\n}}\n"
    );
    for plat in ["linux_amd64", "windows_amd64"] {
        fx.srv.clear_seen();
        let o = fx
            .pg(&config)
            .args([
                "sbom",
                "--registry-retries",
                "0",
                "--no-cache",
                "--platform",
                plat,
            ])
            .args(["--version", "1.2.3"])
            .arg(fx.addr())
            .output()
            .unwrap();
        let doc = ok(&o);
        assert_eq!(
            prop(&doc, "provguard:provenance.origin").unwrap(),
            "network-mirror"
        );
        assert_eq!(
            prop(&doc, "provguard:provenance.checks").unwrap(),
            "mirror-hash"
        );
        assert_eq!(
            prop(&doc, "provguard:provenance.signature").unwrap(),
            "unsigned"
        );
        assert!(
            fx.srv.seen().iter().all(|s| s.path.starts_with("/mirror/")),
            "only the mirror is asked: {:?}",
            fx.srv.seen()
        );
    }
    // The mirror's hash does not match: refused.
    r.serve_mirror(&fx.srv, &host, &|_, _| {
        vec![format!("zh:{}", "0".repeat(64))]
    });
    let o = fx
        .pg(&config)
        .args([
            "sbom",
            "--registry-retries",
            "0",
            "--no-cache",
            "--platform",
            "linux_amd64",
        ])
        .args(["--version", "1.2.3"])
        .arg(fx.addr())
        .output()
        .unwrap();
    fails(&o, "doesn't match the expected checksum");
    // Swap include and exclude: only the registry protocol is asked.
    let config = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"{mirror_url}\"\n    exclude = [\"{host}/acme/*\"]\n  }}\n  direct {{\n    include = [\"{host}/*/*\"]\n  }}\n}}\n"
    );
    fx.srv.clear_seen();
    let o = fx
        .pg(&config)
        .args([
            "sbom",
            "--registry-retries",
            "0",
            "--no-cache",
            "--platform",
            "linux_amd64",
        ])
        .args(["--version", "1.2.3"])
        .arg(fx.addr())
        .output()
        .unwrap();
    let doc = ok(&o);
    assert_eq!(
        prop(&doc, "provguard:provenance.origin").unwrap(),
        "registry"
    );
    assert!(!fx.srv.seen().iter().any(|s| s.path.starts_with("/mirror/")));
}

/// `provguard lock-hashes ADDRESS --version V`.
fn lock_hashes(fx: &Fx, config: &str, extra: &[&str]) -> String {
    lock_hashes_of(fx, &fx.addr(), config, extra)
}

fn lock_hashes_of(fx: &Fx, addr: &str, config: &str, extra: &[&str]) -> String {
    let o = fx
        .pg(config)
        .args(["lock-hashes", "--registry-retries", "0", "--no-cache"])
        .args(extra)
        .args(["--version", "1.2.3"])
        .arg(addr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn lock_hashes_of_an_address() {
    let Some(fx) = fixture() else { return };
    let r = sample_release("1.2.3");
    let out = lock_hashes(&fx, DIRECT, &["--platform", "linux_amd64"]);
    let mut want: Vec<String> = r
        .zips
        .values()
        .map(|z| format!("zh:{}", sha256_hex(z)))
        .collect();
    want.push(zip_h1(&r.zips["linux_amd64"]));
    want.sort();
    let block: String = want.iter().map(|h| format!("    \"{h}\",\n")).collect();
    assert_eq!(out, format!("  hashes = [\n{block}  ]\n"));
    let all = lock_hashes(&fx, DIRECT, &["--all-platforms"]);
    for z in r.zips.values() {
        assert!(all.contains(&zip_h1(z)));
    }
}

/// The real clients present: `/usr/local/bin/terraform`, and `tofu` as `.ci/test.sh` builds it
/// (`target/tools/tofu/tofu`, or `$PROVGUARD_TOFU`).
fn real_clients() -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    let tf = PathBuf::from("/usr/local/bin/terraform");
    if tf.exists() {
        out.push(("terraform", tf));
    } else {
        // Not installed by .ci/test.sh: the faithfulness check runs where a terraform exists.
        eprintln!("SKIPPED: /usr/local/bin/terraform is not available here");
    }
    let tofu = std::env::var_os("PROVGUARD_TOFU")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/tools/tofu/tofu"));
    if tofu.exists() {
        out.push(("tofu", tofu));
    } else {
        eprintln!(
            "SKIPPED: no tofu at {} (.ci/test.sh builds it)",
            tofu.display()
        );
    }
    out
}

/// `CLIENT init` (terraform or tofu) in a fresh configuration requiring `addr` 1.2.3; returns
/// the lock file.
fn terraform_init(fx: &Fx, tf: &Path, addr: &str, config: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    demo = {{\n      source  = \"{addr}\"\n      version = \"1.2.3\"\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let cfg = work.path().join("terraform.tfrc");
    std::fs::write(&cfg, config).unwrap();
    let o = Command::new(tf)
        .current_dir(work.path())
        .args(["init", "-input=false", "-no-color"])
        .env("TF_CLI_CONFIG_FILE", &cfg)
        .env("SSL_CERT_FILE", fx.ca.ca_file())
        .env("HOME", work.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_PLUGIN_CACHE_DIR")
        .env_remove("TOFU_CLI_CONFIG_FILE")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} init: {}{}",
        tf.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(work.path().join(".terraform.lock.hcl")).unwrap()
}

#[test]
fn real_clients_install_from_the_fixture_and_their_lock_is_ours() {
    for (name, tf) in real_clients() {
        let Some(fx) = fixture() else { return };
        eprintln!("{name}: {}", tf.display());
        client_installs_from_the_fixture(&fx, &tf);
    }
}

fn client_installs_from_the_fixture(fx: &Fx, tf: &Path) {
    let plat = "linux_amd64";
    // direct: terraform records h1: of its platform and every zh: of SHA256SUMS.
    let lock = terraform_init(fx, tf, &fx.addr(), DIRECT);
    let ours = lock_hashes(fx, DIRECT, &["--platform", plat]);
    assert!(
        lock.contains(&ours),
        "terraform's lock:\n{lock}\nprovguard lock-hashes:\n{ours}"
    );
    // network_mirror: terraform records only the h1: of what it installed. (A provider host
    // with a port breaks terraform's mirror URLs, so the provider lives at example.test, which
    // the mirror protocol never contacts.)
    let host = fx.srv.host();
    sample_release("1.2.3").serve_mirror(&fx.srv, "example.test", &|_, z| vec![zip_h1(z)]);
    let mirror = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"https://{host}/mirror/\"\n  }}\n}}\n"
    );
    let lock = terraform_init(fx, tf, "example.test/acme/demo", &mirror);
    let ours = lock_hashes_of(fx, "example.test/acme/demo", &mirror, &["--platform", plat]);
    let h1 = zip_h1(&sample_release("1.2.3").zips[plat]);
    assert!(lock.contains(&format!("\"{h1}\"")), "{lock}");
    assert!(ours.contains(&format!("\"{h1}\"")), "{ours}");
    let tf_hashes: Vec<&str> = lock
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("\"h1:") || l.starts_with("\"zh:"))
        .collect();
    for h in tf_hashes {
        assert!(
            ours.contains(h),
            "{h} from terraform's lock is in ours:\n{ours}"
        );
    }
}

/// The provenance line of a table or Markdown report names the signer and the checks.
fn shows_provenance(report: &Path, key: &str, checks: &str) {
    let text = std::fs::read_to_string(report).unwrap();
    assert!(text.contains(&format!("signed by key {key}")), "{text}");
    assert!(text.contains(&format!("checks: {checks}")), "{text}");
}

/// An empty, fresh vulnerability database in Go vulndb layout at `dir`.
fn empty_vulndb(dir: &Path) {
    std::fs::create_dir_all(dir.join("index")).unwrap();
    std::fs::write(dir.join("index/modules.json"), "[]").unwrap();
    let today = provguard::report::time::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    );
    std::fs::write(
        dir.join("index/db.json"),
        json!({ "modified": today }).to_string(),
    )
    .unwrap();
}

#[test]
fn gate_with_no_flags_fetches_locked_providers_from_their_source() {
    let Some(fx) = fixture() else { return };
    let infra = fx.dir.path().join("infra");
    empty_vulndb(&infra.join("vulndb"));
    std::fs::write(
        infra.join("policy.toml"),
        "extends = \"default\"\n[rule.go-version]\nminimum = \"1.19\"\n\n[rule.registry-host]\nallow = [\"localhost:*\"]\n",
    )
    .unwrap();
    // A lock written on one linux laptop: only that platform's hashes.
    let r = sample_release("1.2.3");
    let z = &r.zips["linux_amd64"];
    std::fs::write(
        infra.join(".terraform.lock.hcl"),
        format!(
            "provider \"{}\" {{\n  version = \"1.2.3\"\n  hashes = [\n    \"{}\",\n    \"zh:{}\",\n  ]\n}}\n",
            fx.addr(),
            zip_h1(z),
            sha256_hex(z)
        ),
    )
    .unwrap();
    let gate = |config: &str| {
        let o = fx
            .pg(config)
            .current_dir(&infra)
            .args([
                "gate",
                "-f",
                "json",
                "--db",
                "vulndb",
                "--policy",
                "policy.toml",
            ])
            .args(["--registry-retries", "0", "--no-cache"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (
            o.status.code(),
            v,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, v, err) = gate(DIRECT);
    assert_eq!(code, Some(0), "{err}\n{v:#}");
    let viol = v["violations"].as_array().unwrap();
    assert_eq!(viol.len(), 1, "{viol:#?}");
    assert_eq!(viol[0]["rule"], "lock-incomplete");
    let msg = viol[0]["message"].as_str().unwrap_or_default().to_string();
    assert!(msg.contains("darwin_arm64, windows_amd64"), "{:#}", viol[0]);
    assert_eq!(v["lock"]["packages"][0]["matchedBy"], "zh:", "{v:#}");
    assert_eq!(v["lock"]["packages"][0]["platform"], "linux_amd64");
    let pv = &v["provenance"][0];
    assert_eq!(pv["signingKey"], Gpg::key_id(&fx.fpr), "{v:#}");
    assert_eq!(
        pv["checks"],
        serde_json::json!(["shasum", "sha256sums", "signature"])
    );
    assert_eq!(pv["zh"].as_object().unwrap().len(), 3);

    // scan: the same provenance in json, table and markdown.
    let o = fx
        .pg(DIRECT)
        .current_dir(&infra)
        .args([
            "scan",
            "-f",
            "json",
            "--db",
            "vulndb",
            "--no-cache",
            "--platform",
            "linux_amd64",
        ])
        .args([
            "-o",
            "markdown=scan.md",
            "-o",
            "table=scan.txt",
            "--version",
            "1.2.3",
        ])
        .arg(fx.addr())
        .output()
        .unwrap();
    let doc = ok(&o);
    let pv = &doc["artifacts"][0]["provenance"];
    assert_eq!(pv["origin"], "registry");
    assert_eq!(pv["signature"], "verified");
    assert_eq!(pv["signingKey"], Gpg::key_id(&fx.fpr));
    assert_eq!(
        pv["zh"]["windows_amd64"],
        format!("zh:{}", sha256_hex(&r.zips["windows_amd64"]))
    );
    let key = Gpg::key_id(&fx.fpr);
    for f in ["scan.md", "scan.txt"] {
        shows_provenance(&infra.join(f), &key, "shasum,sha256sums,signature");
    }

    // Through a network mirror only: no origin signature, where tofu would demand one.
    let host = fx.srv.host();
    r.serve_mirror(&fx.srv, &host, &|_, z| {
        vec![format!("zh:{}", sha256_hex(z))]
    });
    let mirror = format!(
        "provider_installation {{\n  network_mirror {{\n    url = \"https://{host}/mirror/\"\n  }}\n}}\n"
    );
    let (code, v, err) = gate(&mirror);
    assert_eq!(code, Some(1), "{err}\n{v:#}");
    let rules: Vec<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["rule"].as_str())
        .collect();
    assert!(rules.contains(&"signature"), "{rules:?}");

    // A tampered ZIP at the registry: the gate cannot decide (exit 2), nothing passes.
    let zip_path = format!("{}/{}", fx.files("1.2.3"), r.file_name("linux_amd64"));
    fx.srv.set(
        &zip_path,
        Answer::bytes(b"PK\x03\x04 not the package".to_vec()),
    );
    let (code, _, err) = gate(DIRECT);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("archive has incorrect checksum"), "{err}");
}

const SIG_ARTIFACT: &str = "application/vnd.provguard.provider-signature.v1";

/// `provguard mirror ADDRESS --version V oci://REG/acme/demo`.
fn mirror(fx: &Fx, reg: &TestRegistry, version: &str, extra: &[&str]) -> Output {
    fx.run(
        DIRECT,
        "mirror",
        version,
        &[&["--plain-http", "--json"], extra].concat(),
    )
    .arg(format!("oci://{}/acme/demo", reg.host()))
    .output()
    .unwrap()
}

/// The carried-signature referrers of the index `index` (docker-registry 2.8 has no referrers
/// API: the `sha256-<hex>` fallback tag lists them).
fn signature_referrers(reg: &TestRegistry, index: &str) -> Vec<Value> {
    let tag = index.replace(':', "-");
    reg.manifest_json("acme/demo", &tag)
        .map(|i| i["manifests"].as_array().unwrap().clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d["artifactType"] == SIG_ARTIFACT)
        .collect()
}

/// `provguard scan oci://…/acme/demo:1.2.3` with only the OCI registry reachable.
fn scan_oci(reg: &TestRegistry, dir: &Path) -> Output {
    scan_repo(reg, "acme/demo", dir)
}

fn scan_repo(reg: &TestRegistry, repo: &str, dir: &Path) -> Output {
    empty_vulndb(&dir.join("vulndb"));
    provguard()
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("OPENTOFU_ENFORCE_GPG_EXPIRATION")
        .env_remove("OPENTOFU_ENFORCE_GPG_VALIDATION")
        .args([
            "scan",
            "-f",
            "json",
            "--db",
            "vulndb",
            "--plain-http",
            "--no-cache",
        ])
        .args(["--registry-retries", "0", "-o", "table=scan.txt"])
        .arg(format!("oci://{}/{repo}:1.2.3", reg.host()))
        .output()
        .unwrap()
}

/// A docker-registry beside the HTTPS fixture.
fn with_oci() -> Option<(TestRegistry, Fx)> {
    Some((TestRegistry::start()?, fixture()?))
}

#[test]
fn mirror_carries_the_origin_signature_and_scan_verifies_it_offline() {
    let Some((reg, fx)) = with_oci() else { return };
    let r = sample_release("1.2.3");
    let out = ok(&mirror(&fx, &reg, "~> 1.2.0", &[]));
    assert_eq!(out["tag"], "1.2.3");
    let index_digest = out["index"].as_str().unwrap().to_string();
    let platforms = out["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 3, "every published platform: {out:#}");
    for p in platforms {
        let plat = p["platform"].as_str().unwrap();
        assert_eq!(p["zh"], sha256_hex(&r.zips[plat]), "{plat}");
        assert_eq!(p["h1"], zip_h1(&r.zips[plat]), "{plat}");
        assert_eq!(p["sboms"].as_array().unwrap().len(), 1, "an SBOM on {plat}");
    }

    // The layout, read back as a plain client reads it (and by skopeo where installed).
    let index = reg.manifest_json("acme/demo", "1.2.3").expect("tagged");
    assert_eq!(index["artifactType"], "application/vnd.opentofu.provider");
    if Command::new("skopeo").arg("--version").output().is_ok() {
        let o = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/acme/demo:1.2.3", reg.host()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), index);
    }
    let refs = signature_referrers(&reg, &index_digest);
    assert_eq!(refs.len(), 1, "one carried signature on the index");
    assert_eq!(out["signature"], refs[0]["digest"]);
    let rm = reg
        .manifest_json("acme/demo", refs[0]["digest"].as_str().unwrap())
        .unwrap();
    assert_eq!(rm["artifactType"], SIG_ARTIFACT);
    assert_eq!(rm["subject"]["digest"], index_digest.as_str());
    assert_eq!(
        rm["subject"]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let key_id = Gpg::key_id(&fx.fpr);
    assert_eq!(
        rm["annotations"]["dev.provguard.provenance.address"],
        fx.addr()
    );
    assert_eq!(
        rm["annotations"]["dev.provguard.provenance.version"],
        "1.2.3"
    );
    assert_eq!(
        rm["annotations"]["dev.provguard.provenance.signing-key"],
        key_id.as_str()
    );
    let layers = rm["layers"].as_array().unwrap();
    let types: Vec<&str> = layers
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "application/vnd.provguard.sha256sums.v1",
            "application/pgp-signature",
            "application/pgp-keys"
        ]
    );
    let sums_path = format!(
        "{}/terraform-provider-demo_1.2.3_SHA256SUMS",
        fx.files("1.2.3")
    );
    let sig = fx.srv.get(&format!("{sums_path}.sig")).unwrap().body;
    assert_eq!(
        reg.blob("acme/demo", layers[0]["digest"].as_str().unwrap()),
        r.sums()
    );
    assert_eq!(
        reg.blob("acme/demo", layers[1]["digest"].as_str().unwrap()),
        sig
    );
    assert_eq!(
        String::from_utf8(reg.blob("acme/demo", layers[2]["digest"].as_str().unwrap())).unwrap(),
        fx.armor
    );

    // The HTTPS registry stopped: the OCI registry alone proves the origin's signature.
    let Fx { srv, dir, .. } = fx;
    drop(srv);
    let o = scan_oci(&reg, dir.path());
    let doc = ok(&o);
    let arts = doc["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3);
    for a in arts {
        let pv = &a["provenance"];
        assert_eq!(pv["origin"], "oci", "{a:#}");
        assert_eq!(pv["checks"], json!(["oci-digest", "carried-signature"]));
        assert_eq!(pv["signature"], "verified");
        assert_eq!(pv["signingKey"], key_id.as_str());
        assert_eq!(pv["version"], "1.2.3");
        for (p, z) in &r.zips {
            assert_eq!(pv["zh"][p], format!("zh:{}", sha256_hex(z)));
        }
    }
    shows_provenance(
        &dir.path().join("scan.txt"),
        &key_id,
        "oci-digest,carried-signature",
    );

    // An OCI-to-OCI copy carries the signature along: the copy verifies on its own.
    let o = provguard()
        .args(["mirror", "--plain-http", "--no-cache", "--json"])
        .arg(format!("oci://{}/acme/demo:1.2.3", reg.host()))
        .arg(format!("oci://{}/copy/demo", reg.host()))
        .output()
        .unwrap();
    let copy = ok(&o);
    assert_eq!(copy["index"], index_digest.as_str());
    assert_eq!(copy["signature"], refs[0]["digest"]);
    let doc = ok(&scan_repo(&reg, "copy/demo", dir.path()));
    assert_eq!(
        doc["artifacts"][0]["provenance"]["checks"],
        json!(["oci-digest", "carried-signature"])
    );
}

#[test]
fn a_staged_upload_that_fails_falls_back_to_the_ordinary_upload() {
    let Some((reg, fx)) = with_oci() else { return };
    let proxy = support::faults::FaultProxy::start(&reg.host());
    // The first ZIP sent ahead is refused; the second's connection is dropped once the body
    // is read. Neither may cost the mirror a blob, nor leave a session holding data.
    use support::faults::Fault;
    proxy.inject_on_bodies("PATCH", "/blobs/uploads/", 1, Fault::Status(500));
    proxy.inject_on_bodies("PATCH", "/blobs/uploads/", 1, Fault::Drop);
    let o = fx
        .run(DIRECT, "mirror", "1.2.3", &["--plain-http", "--json"])
        .arg(format!("oci://{}/acme/demo", proxy.host))
        .output()
        .unwrap();
    let out = ok(&o);
    assert_eq!(proxy.fired("/blobs/uploads/"), 2, "{:?}", proxy.requests());
    let patches = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PATCH "))
        .count();
    assert_eq!(
        patches,
        3,
        "every platform sent ahead once: {:?}",
        proxy.requests()
    );
    let r = sample_release("1.2.3");
    for (p, zip) in &r.zips {
        let digest = format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(zip))
        );
        assert_eq!(
            &reg.blob("acme/demo", &digest),
            zip,
            "{p} arrived byte for byte"
        );
    }
    assert_eq!(
        reg.blob_uploads(),
        reg.blob_commits() + reg.requests("DELETE", "/blobs/uploads/"),
        "every session committed or cancelled: {}",
        reg.log_text()
    );
    assert_eq!(reg.requests("DELETE", "/blobs/uploads/"), 2);
    assert_eq!(
        out["platforms"].as_array().map(Vec::len),
        Some(3),
        "{out:#}"
    );
    let dir = tempfile::tempdir().unwrap();
    let scanned = scan_oci(&reg, dir.path());
    assert!(
        scanned.status.success(),
        "{}",
        String::from_utf8_lossy(&scanned.stderr)
    );
}

#[test]
fn mirror_of_a_tampered_zip_or_a_bad_signature_pushes_nothing() {
    let Some((reg, fx)) = with_oci() else { return };
    let r = sample_release("1.2.3");
    let files = fx.files("1.2.3");
    let zip_path = format!("{files}/{}", r.file_name("windows_amd64"));
    let sig_path = format!("{files}/terraform-provider-demo_1.2.3_SHA256SUMS.sig");
    let good_zip = fx.srv.get(&zip_path).unwrap();
    let good_sig = fx.srv.get(&sig_path).unwrap();
    // Verified ZIPs may be sent ahead into upload sessions, but none is committed: the
    // registry ends up holding no blob and no upload data, and every session opened is
    // cancelled.
    let nothing_pushed = |reason: &str, o: &Output| {
        fails(o, reason);
        assert!(String::from_utf8_lossy(&o.stderr).contains("nothing was pushed"));
        assert_eq!(reg.blob_commits(), 0, "{reason}: no blob upload committed");
        assert_eq!(
            reg.stored_data_files(),
            Vec::<std::path::PathBuf>::new(),
            "{reason}: nothing stored"
        );
        assert_eq!(
            reg.requests("DELETE", "/blobs/uploads/"),
            reg.blob_uploads(),
            "{reason}: every upload session opened was cancelled"
        );
        assert_eq!(reg.manifest_puts(), 0, "{reason}: no manifest written");
        assert!(reg.manifest_json("acme/demo", "1.2.3").is_none(), "no tag");
    };

    // One platform's ZIP tampered with (the last one fetched): the others were fine.
    let mut bad = good_zip.body.clone();
    let n = bad.len();
    bad[n / 3] ^= 0x55;
    fx.srv.set(&zip_path, Answer::bytes(bad));
    nothing_pushed(
        "archive has incorrect checksum",
        &mirror(&fx, &reg, "1.2.3", &[]),
    );
    // The platforms verified before it were sent ahead (then cancelled, as checked above).
    assert!(reg.blob_uploads() >= 2, "{}", reg.log_text());
    fx.srv.set(&zip_path, good_zip);

    // SHA256SUMS signed by a key the registry does not publish.
    let stranger = fx.gpg.key("S <s@example.test>", "rsa2048", "1y", None);
    fx.srv.set(
        &sig_path,
        Answer::bytes(fx.gpg.sign(&stranger, &r.sums(), None)),
    );
    nothing_pushed("unknown issuer", &mirror(&fx, &reg, "1.2.3", &[]));
    fx.srv.set(&sig_path, good_sig);

    // --dry-run: downloaded and verified, every digest computed, nothing pushed.
    let sessions = reg.blob_uploads();
    let dry = ok(&mirror(&fx, &reg, "1.2.3", &["--dry-run"]));
    assert_eq!(dry["dryRun"], true);
    assert!(
        dry["signature"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{dry:#}"
    );
    assert_eq!(reg.blob_uploads(), sessions, "--dry-run opens no upload");
    assert_eq!(reg.blob_commits() + reg.manifest_puts(), 0);

    // And the same mirror, untampered, goes through (so the failures above were the checks).
    ok(&mirror(&fx, &reg, "1.2.3", &["--platform", "linux_amd64"]));
    assert!(reg.manifest_json("acme/demo", "1.2.3").is_some());
}

#[test]
fn a_doctored_carried_signature_fails_the_scan_closed() {
    let Some((reg, fx)) = with_oci() else { return };
    let out = ok(&mirror(&fx, &reg, "1.2.3", &[]));
    let index_digest = out["index"].as_str().unwrap().to_string();
    let original = signature_referrers(&reg, &index_digest).remove(0);
    let rm = reg
        .manifest_json("acme/demo", original["digest"].as_str().unwrap())
        .unwrap();
    let sums = reg.blob("acme/demo", rm["layers"][0]["digest"].as_str().unwrap());
    let text = String::from_utf8(sums).unwrap();
    let linux = sha256_hex(&sample_release("1.2.3").zips["linux_amd64"]);
    let doctored = text.replace(&linux, &"0".repeat(64));
    assert_ne!(doctored, text);
    let tag = index_digest.replace(':', "-");
    let fallback = reg.manifest_json("acme/demo", &tag).unwrap();

    // Replace the referrer (in the fallback index) by one whose SHA256SUMS layer is `sums` and
    // signature layer `sig`.
    let plant = |sums: &[u8], sig: Option<&[u8]>| {
        let mut m = rm.clone();
        let d = reg.push_blob("acme/demo", sums);
        m["layers"][0]["digest"] = json!(d);
        m["layers"][0]["size"] = json!(sums.len());
        if let Some(sig) = sig {
            let d = reg.push_blob("acme/demo", sig);
            m["layers"][1]["digest"] = json!(d);
            m["layers"][1]["size"] = json!(sig.len());
        }
        let (digest, size) = reg.push_manifest("acme/demo", None, &m);
        let mut idx = fallback.clone();
        idx["manifests"] = json!([{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": SIG_ARTIFACT,
            "digest": digest,
            "size": size,
        }]);
        reg.push_manifest("acme/demo", Some(&tag), &idx);
    };
    let dir = tempfile::tempdir().unwrap();

    // SHA256SUMS altered in the registry, the original signature kept: the signature fails.
    plant(doctored.as_bytes(), None);
    let o = scan_oci(&reg, dir.path());
    fails(&o, "carried signature");
    fails(&o, "error checking signature");

    // Altered and validly re-signed (by the origin's own key): the ZIP is not what it lists.
    let resigned = fx.gpg.sign(&fx.fpr, doctored.as_bytes(), None);
    plant(doctored.as_bytes(), Some(&resigned));
    let o = scan_oci(&reg, dir.path());
    fails(&o, "the signed SHA256SUMS lists");

    // The original referrer back: verifies again.
    let mut idx = fallback.clone();
    idx["manifests"] = json!([original]);
    reg.push_manifest("acme/demo", Some(&tag), &idx);
    ok(&scan_oci(&reg, dir.path()));
}
