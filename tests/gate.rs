//! `provguard gate`: a sample infrastructure repository (lock file, filesystem mirror in packed
//! and unpacked layout, OCI mirror in the real test registry) passes clean; every rule fires on a
//! crafted case built from real Go binaries, real registry uploads or edited SBOMs; tampered and
//! unlocked packages; waivers with expiry and scope; exit codes 0/1/2 for each class of outcome.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::registry::TestRegistry;
use support::*;

const PLATFORMS: [(&str, &str); 3] = [
    ("linux", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A Go-vulndb-layout database modified today: the samples' advisories, or none.
fn fresh_db(dir: &Path, with_samples: bool) -> PathBuf {
    let db = dir.join("vulndb");
    if with_samples {
        copy_dir(&repo().join("samples/vulndb"), &db);
    } else {
        std::fs::create_dir_all(db.join("index")).unwrap();
        std::fs::write(db.join("index/modules.json"), "[]").unwrap();
    }
    let today = provguard::report::time::rfc3339(now());
    std::fs::write(
        db.join("index/db.json"),
        json!({ "modified": today }).to_string(),
    )
    .unwrap();
    db
}

/// A policy extending the default with `extra` TOML.
fn policy(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("extends = \"default\"\n{extra}")).unwrap();
    p
}

/// Go 1.19 (the toolchain here) accepted, loopback registries allowed.
const LENIENT: &str = "[rule.go-version]\nminimum = \"1.19\"\n\n[rule.registry-host]\nallow = [\"registry.opentofu.org\", \"127.0.0.1:*\"]\n";

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn gate(cwd: &Path, args: &[&str]) -> Run {
    let o: Output = provguard()
        .current_dir(cwd)
        .args(["gate", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let json = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    Run {
        code: o.status.code().unwrap_or(-1),
        json,
        stderr,
    }
}

/// (rule, finding id, artifact) of the violations that fail the gate.
fn failing(r: &Run) -> BTreeSet<(String, String, String)> {
    violations(r, |v| v["level"] == "deny" && v["waived"].is_null())
}

fn violations(r: &Run, pred: impl Fn(&Value) -> bool) -> BTreeSet<(String, String, String)> {
    r.json["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("no report: {}", r.stderr))
        .iter()
        .filter(|v| pred(v))
        .map(|v| {
            (
                v["rule"].as_str().unwrap().to_string(),
                v["id"].as_str().unwrap().to_string(),
                v["artifact"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn rules_of(r: &Run, artifact_part: &str) -> BTreeSet<String> {
    violations(r, |_| true)
        .into_iter()
        .filter(|(_, _, a)| a.contains(artifact_part))
        .map(|(rule, _, _)| rule)
        .collect()
}

/// The gate over `./mirror` with `./lock.hcl`, `./vulndb` and the given policy.
fn gate_mirror(infra: &Path, policy: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "mirror", "--lock", "lock.hcl", "--db", "vulndb", "--policy", policy,
    ];
    args.extend(extra);
    gate(infra, &args)
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn sample_lock() -> String {
    std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl")).unwrap()
}

/// The samples' lock block re-addressed to `address`.
fn lock_block(address: &str) -> String {
    let text = sample_lock();
    let start = text.find("provider ").unwrap();
    text[start..].replace("registry.opentofu.org/example/demo", address)
}

fn packed_mirror(root: &Path, ns: &str, plats: &[(&str, &str)]) {
    let dir = root.join("registry.opentofu.org").join(ns).join("demo");
    std::fs::create_dir_all(&dir).unwrap();
    for (o, a) in plats {
        let z = sample_zip(&format!("{o}_{a}"));
        std::fs::copy(&z, dir.join(z.file_name().unwrap())).unwrap();
    }
}

fn unzip_into(zip_path: &Path, dir: &Path) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut out = std::fs::File::create(dir.join(e.name().unwrap().as_ref())).unwrap();
        std::io::copy(&mut e, &mut out).unwrap();
    }
}

fn sbom_of(zip: &Path) -> Value {
    let o = provguard()
        .args(["sbom", "--deterministic"])
        .arg(zip)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Push the samples as `repo:1.2.3`, attaching per platform the SBOM `edit` makes of provguard's
/// own (or none when `edit` returns `None`).
fn push_with_sboms(reg: &TestRegistry, repo: &str, edit: impl Fn(Value) -> Option<Value>) {
    let zips: Vec<(&str, &str, PathBuf)> = PLATFORMS
        .iter()
        .map(|(o, a)| (*o, *a, sample_zip(&format!("{o}_{a}"))))
        .collect();
    let refs: Vec<(&str, &str, &Path)> =
        zips.iter().map(|(o, a, p)| (*o, *a, p.as_path())).collect();
    let (_, manifests) = reg.push_provider(repo, "1.2.3", &refs);
    for ((_, _, zip), digest) in zips.iter().zip(&manifests) {
        if let Some(doc) = edit(sbom_of(zip)) {
            let subject = reg.manifest_of(repo, digest);
            reg.attach_sbom(
                repo,
                (&subject.0, subject.1),
                "application/vnd.cyclonedx+json",
                &serde_json::to_vec(&doc).unwrap(),
                false,
            );
        }
    }
}

#[test]
fn sample_infrastructure_passes_clean_across_fs_and_oci_mirrors() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    push_with_sboms(&reg, "example/ocidemo", Some);
    let d = tempfile::tempdir().unwrap();
    let infra = d.path();
    let mirror = infra.join("mirror");
    packed_mirror(&mirror, "example", &PLATFORMS);
    unzip_into(
        &sample_zip("linux_amd64"),
        &mirror.join("registry.opentofu.org/unpacked/demo/1.2.3/linux_amd64"),
    );
    std::fs::write(
        infra.join(".terraform.lock.hcl"),
        format!(
            "{}\n{}\n{}",
            lock_block("registry.opentofu.org/example/demo"),
            lock_block("registry.opentofu.org/unpacked/demo"),
            lock_block("registry.opentofu.org/example/ocidemo"),
        ),
    )
    .unwrap();
    fresh_db(infra, false);
    policy(infra, "policy.toml", LENIENT);
    let mirror_template = format!("{}/${{namespace}}/${{type}}", reg.host());
    let cache = infra.join("cache");
    let r = gate(
        infra,
        &[
            "mirror",
            "--lock",
            ".terraform.lock.hcl",
            "--db",
            "vulndb",
            "--policy",
            "policy.toml",
            "--plain-http",
            "--oci-mirror",
            &mirror_template,
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.json);
    assert_eq!(r.json["passed"], true);
    assert_eq!(r.json["violations"], json!([]), "{}", r.json);
    let packages = r.json["lock"]["packages"].as_array().unwrap();
    let seen: BTreeSet<(String, String, String)> = packages
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap().to_string(),
                p["platform"].as_str().unwrap().to_string(),
                p["matchedBy"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen.contains(&(
        "registry.opentofu.org/unpacked/demo".into(),
        "linux_amd64".into(),
        "h1:".into()
    )));
    for plat in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
        for p in ["example/demo", "example/ocidemo"] {
            assert!(seen.contains(&(
                format!("registry.opentofu.org/{p}"),
                plat.into(),
                "zh:".into()
            )));
        }
    }
    // 3 packed + 1 unpacked + 3 from the registry, each inventoried
    assert_eq!(r.json["artifacts"].as_array().unwrap().len(), 7);
    assert!(r.stderr.contains("gate PASSED"), "{}", r.stderr);
    assert!(r.stderr.contains("7/7 package(s) match"), "{}", r.stderr);
}

#[test]
fn tampered_zip_fails_on_zh_and_h1() {
    let d = tempfile::tempdir().unwrap();
    let infra = d.path();
    let mirror = infra.join("mirror");
    packed_mirror(&mirror, "example", &[("darwin", "arm64")]);
    // The linux ZIP, rebuilt with one byte of the executable changed.
    let dir = mirror.join("registry.opentofu.org/example/demo");
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(sample_zip("linux_amd64")).unwrap()).unwrap();
    let mut e = z.by_index(0).unwrap();
    let name = e.name().unwrap().to_string();
    let mut exe = Vec::new();
    std::io::Read::read_to_end(&mut e, &mut exe).unwrap();
    let mid = exe.len() / 2;
    exe[mid] ^= 0xff;
    write_zip(
        &dir.join("terraform-provider-demo_1.2.3_linux_amd64.zip"),
        &[(&name, &exe)],
    );
    std::fs::write(infra.join("lock.hcl"), sample_lock()).unwrap();
    fresh_db(infra, false);
    policy(infra, "policy.toml", LENIENT);
    let r = gate_mirror(infra, "policy.toml", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json["violations"].as_array().unwrap();
    assert_eq!(v.len(), 1, "only the tampered package: {v:?}");
    assert_eq!(v[0]["rule"], "lock-hash");
    assert_eq!(v[0]["severity"], "CRITICAL");
    assert_eq!(v[0]["platform"], "linux_amd64");
    assert_eq!(
        v[0]["location"]["line"], 4,
        "the provider block in lock.hcl"
    );
    let evidence = v[0]["evidence"].to_string();
    assert!(
        evidence.contains("is not among the lock's 3 zh: hashes"),
        "{evidence}"
    );
    assert!(
        evidence.contains("is not among the lock's 3 h1: hashes"),
        "{evidence}"
    );
    // the darwin package is still verified
    let ok: Vec<&Value> = r.json["lock"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["matchedBy"] == "zh:")
        .collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["platform"], "darwin_arm64");
    // and in the human diagnostics
    let o = provguard()
        .current_dir(infra)
        .args([
            "gate",
            "mirror",
            "--lock",
            "lock.hcl",
            "--db",
            "vulndb",
            "--policy",
            "policy.toml",
            "-f",
            "table",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("error[lock-hash]"), "{text}");
    assert!(text.contains("lock.hcl:4"), "{text}");
}

#[test]
fn platform_missing_from_the_lock_is_its_own_configurable_finding() {
    let d = tempfile::tempdir().unwrap();
    let infra = d.path();
    let mirror = infra.join("mirror");
    packed_mirror(
        &mirror,
        "example",
        &[("linux", "amd64"), ("darwin", "arm64")],
    );
    // As `tofu init` writes it from a filesystem mirror on linux: one h1:, no zh:.
    let o = provguard()
        .arg("lock-hashes")
        .arg(sample_zip("linux_amd64"))
        .output()
        .unwrap();
    let h1 = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find(|l| l.contains("h1:"))
        .unwrap()
        .trim()
        .trim_end_matches(',')
        .to_string();
    std::fs::write(
        infra.join("lock.hcl"),
        format!(
            "provider \"registry.opentofu.org/example/demo\" {{\n  version = \"1.2.3\"\n  hashes = [\n    {h1},\n  ]\n}}\n"
        ),
    )
    .unwrap();
    fresh_db(infra, false);
    policy(infra, "policy.toml", LENIENT);
    let r = gate_mirror(infra, "policy.toml", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json["violations"].as_array().unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["rule"], "lock-platform");
    assert_eq!(v[0]["platform"], "darwin_arm64");
    assert_eq!(v[0]["severity"], "HIGH");

    // --platform narrows the check to what the lock has
    let r = gate_mirror(infra, "policy.toml", &["--platform", "linux_amd64"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // severity and level are the policy's to choose
    policy(
        infra,
        "warn.toml",
        &format!("{LENIENT}\n[rule.lock-platform]\nseverity = \"low\"\nlevel = \"warn\"\n"),
    );
    let r = gate_mirror(infra, "warn.toml", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = &r.json["violations"][0];
    assert_eq!(
        (
            v["rule"].as_str(),
            v["severity"].as_str(),
            v["level"].as_str()
        ),
        (Some("lock-platform"), Some("LOW"), Some("warn"))
    );
    assert!(r.stderr.contains("1 warning(s)"), "{}", r.stderr);
}

/// A build inside a git checkout with an uncommitted change (`vcs.modified=true`).
fn dirty_vcs_build(out_dir: &Path) -> PathBuf {
    let bin = out_dir.join("terraform-provider-dirty");
    std::fs::copy(support::gobins::vcs_build(true), &bin).unwrap();
    bin
}

#[test]
fn toolchain_hygiene_rules_fire_on_real_builds() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let place = |from: PathBuf, name: &str| {
        let to = dir.join(name);
        std::fs::copy(from, &to).unwrap();
        to
    };
    // clean: -trimpath, no cgo, but a local replace (the fixture's go.mod has one)
    let replaced = place(
        go_build("gomod", "linux", "amd64", &["-trimpath"], &[]),
        "terraform-provider-replaced",
    );
    let untrimmed = place(
        go_build("gomod", "linux", "amd64", &[], &[]),
        "terraform-provider-untrimmed",
    );
    let cgo = place(
        go_build(
            "gomod",
            "linux",
            "amd64",
            &["-trimpath"],
            &[("CGO_ENABLED", "1")],
        ),
        "terraform-provider-cgo",
    );
    let workspace = place(
        go_build(
            "gowork",
            "linux",
            "amd64",
            &["-trimpath"],
            &[("GOFLAGS", "")],
        ),
        "terraform-provider-workspace",
    );
    let dirty = dirty_vcs_build(dir);
    // UPX output as a reader sees it (UPX is not packaged here; see tests/hostile.rs): the ELF
    // header, the UPX! pack header, then compressed bytes.
    let exe = std::fs::read(&replaced).unwrap();
    let mut packed = exe[..0x200].to_vec();
    packed.extend_from_slice(b"\0\0\0\0UPX!\x0d\x0a\x0e\x16");
    packed.extend(std::iter::repeat_n(0x5a, 4096));
    let upx_zip = dir.join("terraform-provider-packed_1.0.0_linux_amd64.zip");
    write_zip(&upx_zip, &[("terraform-provider-packed_v1.0.0", &packed)]);
    fresh_db(dir, false);

    let targets: Vec<&Path> = vec![&replaced, &untrimmed, &cgo, &workspace, &dirty, &upx_zip];
    let mut args: Vec<&str> = targets.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(["--db", "vulndb"]);
    let r = gate(dir, &args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Go 1.19 is below the default minimum (1.21): go-version fires on every Go build
    assert_eq!(
        rules_of(&r, "-replaced"),
        set(&["go-version", "local-replace"])
    );
    assert_eq!(
        rules_of(&r, "-untrimmed"),
        set(&["go-version", "local-replace", "trimpath"])
    );
    assert_eq!(
        rules_of(&r, "-cgo"),
        set(&["go-version", "local-replace", "cgo"])
    );
    assert_eq!(
        rules_of(&r, "-workspace"),
        set(&["go-version", "devel-dependency"])
    );
    assert_eq!(
        rules_of(&r, "-dirty"),
        set(&["go-version", "local-replace", "vcs-modified"])
    );
    assert_eq!(rules_of(&r, "-packed"), set(&["upx"]));
    // trimpath and cgo only warn by default
    let warn = violations(&r, |v| v["level"] == "warn");
    assert!(
        warn.iter()
            .all(|(rule, _, _)| rule == "trimpath" || rule == "cgo"),
        "{warn:?}"
    );
    let packed_v = r.json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["rule"] == "upx")
        .unwrap();
    assert_eq!(packed_v["platform"], "linux_amd64");
    assert_eq!(packed_v["version"], "1.0.0");

    // the policy decides: a lenient one passes what remains a warning
    policy(
        dir,
        "hygiene-off.toml",
        "[rule.go-version]\nminimum = \"1.19\"\n[rule.local-replace]\nlevel = \"allow\"\n[rule.devel-dependency]\nlevel = \"warn\"\n[rule.vcs-modified]\nlevel = \"warn\"\n[rule.upx]\nlevel = \"warn\"\n",
    );
    args.extend(["--policy", "hygiene-off.toml"]);
    let r = gate(dir, &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.json);
    assert!(
        rules_of(&r, "")
            .iter()
            .all(|x| x != "local-replace" && x != "go-version")
    );
    assert!(rules_of(&r, "-dirty").contains("vcs-modified"));

    // …but with the upx rule turned off, a packed binary cannot be decided at all
    policy(dir, "upx-off.toml", "[rule.upx]\nlevel = \"allow\"\n");
    let r = gate(
        dir,
        &[
            upx_zip.to_str().unwrap(),
            "--db",
            "vulndb",
            "--policy",
            "upx-off.toml",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("UPX-packed"), "{}", r.stderr);
}

#[test]
fn registry_rules_sbom_required_drift_license_and_host() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    push_with_sboms(&reg, "example/nosbom", |_| None);
    push_with_sboms(&reg, "example/drift", |mut doc| {
        for c in doc["components"].as_array_mut().unwrap() {
            if c["name"] == "golang.org/x/net" {
                c["version"] = "v0.17.0".into();
                c["purl"] = "pkg:golang/golang.org/x/net@v0.17.0".into();
            }
        }
        Some(doc)
    });
    push_with_sboms(&reg, "example/agpl", |mut doc| {
        for c in doc["components"].as_array_mut().unwrap() {
            let id = if c["name"] == "golang.org/x/text" {
                "AGPL-3.0-only"
            } else {
                "BSD-3-Clause"
            };
            c["licenses"] = json!([{"license": {"id": id}}]);
        }
        Some(doc)
    });
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fresh_db(dir, false);
    policy(
        dir,
        "policy.toml",
        "[rule.go-version]\nminimum = \"1.19\"\n",
    );
    let t = |repo: &str| format!("oci://{}/{repo}:1.2.3", reg.host());
    let cache = dir.join("cache");
    let base = [
        "--db",
        "vulndb",
        "--plain-http",
        "--platform",
        "linux_amd64",
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let run = |repos: &[&str], policy: &str| {
        let mut args: Vec<String> = repos.iter().map(|r| t(r)).collect();
        args.extend(base.iter().map(|s| s.to_string()));
        args.extend(["--policy".into(), policy.into()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        gate(dir, &argv)
    };
    let r = run(
        &["example/nosbom", "example/drift", "example/agpl"],
        "policy.toml",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    // 127.0.0.1 is not in the default allow-list
    assert_eq!(
        rules_of(&r, "example/nosbom"),
        set(&["registry-host", "sbom-required"])
    );
    assert_eq!(
        rules_of(&r, "example/drift"),
        set(&["registry-host", "sbom-drift"])
    );
    assert_eq!(
        rules_of(&r, "example/agpl"),
        set(&["registry-host", "license"])
    );
    let v = r.json["violations"].as_array().unwrap();
    let drift = v.iter().find(|v| v["rule"] == "sbom-drift").unwrap();
    assert!(
        drift["evidence"]
            .to_string()
            .contains("golang.org/x/net: the binary has v0.7.0, the SBOM says v0.17.0"),
        "{drift}"
    );
    let lic = v.iter().find(|v| v["rule"] == "license").unwrap();
    assert!(
        lic["message"]
            .as_str()
            .unwrap()
            .starts_with("golang.org/x/text v0.7.0 is licensed AGPL-3.0-only"),
        "{lic}"
    );
    assert!(
        lic["evidence"]
            .to_string()
            .contains("denied: AGPL-3.0-only")
    );

    // allowing the host, and AGPL, leaves the SBOM rules only
    policy(
        dir,
        "allow.toml",
        "[rule.go-version]\nminimum = \"1.19\"\n[rule.registry-host]\nallow = [\"127.0.0.1:*\"]\n[rule.license]\nallow = [\"BSD-3-Clause\", \"AGPL-3.0-only\"]\ndeny = []\n",
    );
    let r = run(&["example/drift", "example/agpl"], "allow.toml");
    assert_eq!(rules_of(&r, ""), set(&["sbom-drift"]), "{}", r.json);

    // an allow-list that does not name a license fails it
    policy(
        dir,
        "strict.toml",
        "[rule.go-version]\nminimum = \"1.19\"\n[rule.registry-host]\nallow = [\"127.0.0.1:*\"]\n[rule.license]\nallow = [\"MIT\"]\ndeny = []\n",
    );
    let r = run(&["example/agpl"], "strict.toml");
    let lic: Vec<&Value> = r.json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "license")
        .collect();
    assert!(lic.len() >= 6, "every BSD module and x/text: {lic:?}");
}

#[test]
fn vulnerability_threshold_and_waivers() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fresh_db(dir, true);
    policy(dir, "policy.toml", LENIENT);
    let zip = sample_zip("linux_amd64");
    // Module level: thresholds and waivers, whatever the reachability (tested below).
    let base = [zip.to_str().unwrap(), "--db", "vulndb", "--no-symbols"];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        gate(dir, &a)
    };
    // default threshold: HIGH and above (the MEDIUM CVE-2023-48795 is not a violation)
    let r = run(&["--policy", "policy.toml"]);
    assert_eq!(r.code, 1);
    let ids: BTreeSet<String> = violations(&r, |v| v["rule"] == "vulnerability")
        .into_iter()
        .map(|(_, id, _)| id)
        .collect();
    assert!(
        ids.contains("CVE-2024-45337") && ids.contains("CVE-2023-44487"),
        "{ids:?}"
    );
    assert!(!ids.contains("CVE-2023-48795"));
    assert!(
        !ids.contains("CVE-2023-45283"),
        "windows-only advisory, linux binary"
    );
    // go1.19 is out of support per the database's newest stdlib fix (1.22)
    assert!(rules_of(&r, "").contains("go-version"));

    policy(
        dir,
        "critical.toml",
        "[rule.vulnerability]\nmin-severity = \"critical\"\n[rule.go-version]\nlevel = \"allow\"\n[rule.registry-host]\nallow = [\"*\"]\n",
    );
    let r = run(&["--policy", "critical.toml"]);
    let ids: BTreeSet<String> = failing(&r).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(
        ids,
        ["CVE-2024-24790", "CVE-2024-45337"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );

    // waivers: one by alias (GO id) scoped to the provider, one expired, one out of scope,
    // one that matches nothing
    std::fs::write(
        dir.join("waivers.toml"),
        r#"
[[ignore]]
id = "GO-2024-3321"
reason = "the provider never runs an SSH server"
expires = "2099-12-31"
provider = "demo"
version = "1.2.3"

[[ignore]]
id = "CVE-2024-24790"
reason = "reviewed last year"
expires = "2020-01-01"

[[ignore]]
id = "CVE-2024-24790"
reason = "another provider"
provider = "registry.opentofu.org/acme/other"

[[ignore]]
id = "CVE-1999-0001"
reason = "stale entry"
"#,
    )
    .unwrap();
    let r = run(&["--policy", "critical.toml", "--ignore-file", "waivers.toml"]);
    assert_eq!(r.code, 1, "the expired waiver no longer applies");
    let ids: BTreeSet<String> = failing(&r).into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, ["CVE-2024-24790".to_string()].into_iter().collect());
    let waived = violations(&r, |v| !v["waived"].is_null());
    assert_eq!(waived.len(), 1);
    assert!(waived.iter().any(|(_, id, _)| id == "CVE-2024-45337"));
    let notes: BTreeSet<(String, String)> = r.json["waiverNotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["code"].as_str().unwrap().into(),
                n["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        notes.contains(&("waiver-expired".into(), "CVE-2024-24790".into())),
        "{notes:?}"
    );
    assert!(
        notes.contains(&("waiver-unused".into(), "CVE-1999-0001".into())),
        "{notes:?}"
    );
    assert!(
        r.stderr
            .contains("waiver-expired: the waiver for CVE-2024-24790 expired on 2020-01-01"),
        "{}",
        r.stderr
    );

    // the waiver file in the working directory is picked up by default; all waived → exit 0
    std::fs::write(
        dir.join(".provguard-ignore.toml"),
        "[[ignore]]\nid = \"CVE-2024-45337\"\nreason = \"r\"\n[[ignore]]\nid = \"CVE-2024-24790\"\nreason = \"r\"\nexpires = \"2099-01-01\"\n",
    )
    .unwrap();
    let r = run(&["--policy", "critical.toml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(violations(&r, |v| !v["waived"].is_null()).len(), 2);

    // only-with-fix leaves out advisories without a fixed version (all of these have one)
    policy(
        dir,
        "fix.toml",
        "[rule.vulnerability]\nonly-with-fix = true\nmin-severity = \"critical\"\n[rule.go-version]\nlevel = \"allow\"\n[rule.registry-host]\nallow = [\"*\"]\n",
    );
    let r = run(&["--policy", "fix.toml", "--ignore-file", "/dev/null"]);
    assert_eq!(failing(&r).len(), 2);
}

#[test]
fn reports_sarif_markdown_and_no_file_on_error() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fresh_db(dir, true);
    let zip = sample_zip("linux_amd64");
    let o = provguard()
        .current_dir(dir)
        .args([
            "gate",
            "--db",
            "vulndb",
            "-f",
            "json",
            "-o",
            "sarif=out.sarif",
            "-o",
            "markdown=out.md",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out.sarif")).unwrap()).unwrap();
    assert_eq!(sarif_errors(&sarif), Vec::<String>::new());
    let rules: BTreeSet<&str> = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains("vulnerability") && rules.contains("go-version"),
        "{rules:?}"
    );
    let md = std::fs::read_to_string(dir.join("out.md")).unwrap();
    assert!(md.starts_with("# provguard gate: ❌ failed"), "{md}");
    assert!(md.contains("CVE-2024-45337"));

    // exit 2 leaves no report behind
    let o = provguard()
        .current_dir(dir)
        .args(["gate", "--db", "/nonexistent", "-o", "json=never.json"])
        .arg(&zip)
        .env("XDG_CACHE_HOME", dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("never.json").exists());
}

#[test]
fn exit_code_2_when_the_gate_cannot_decide() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = fresh_db(dir, false);
    let zip = sample_zip("linux_amd64");
    let zip = zip.to_str().unwrap();
    let expect2 = |args: &[&str], needle: &str| {
        let r = gate(dir, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(needle),
            "{args:?}: wanted {needle:?} in {}",
            r.stderr
        );
    };
    // missing database, too old a database
    expect2(&[zip, "--db", "/nonexistent/db"], "provguard db update");
    expect2(
        &[zip, "--db", repo().join("samples/vulndb").to_str().unwrap()],
        "more than the policy's max-db-age-days 7",
    );
    // bad policy: unknown key with line and column; bad waiver file
    std::fs::write(
        dir.join("bad.toml"),
        "[rule.vulnerability]\nmin-severity = \"high\"\nfail-fast = true\n",
    )
    .unwrap();
    expect2(
        &[zip, "--db", "vulndb", "--policy", "bad.toml"],
        "line 3, column 1",
    );
    std::fs::write(dir.join("w.toml"), "[[ignore]]\nid = \"X\"\n").unwrap();
    expect2(
        &[zip, "--db", "vulndb", "--ignore-file", "w.toml"],
        "missing field `reason`",
    );
    // unreadable artifact
    let junk = dir.join("terraform-provider-junk_1.0.0_linux_amd64.zip");
    std::fs::write(&junk, b"PK\x03\x04 not really a zip").unwrap();
    expect2(&[junk.to_str().unwrap(), "--db", "vulndb"], "cannot decide");
    // a locked provider that no installation method handles, and an unreachable OCI mirror
    std::fs::write(dir.join("lock.hcl"), sample_lock()).unwrap();
    let empty = dir.join("empty-home");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(
        empty.join("none.tofurc"),
        "provider_installation {\n  direct {\n    exclude = [\"*/*/*\"]\n  }\n}\n",
    )
    .unwrap();
    let r = provguard()
        .current_dir(dir)
        .args(["gate", "--lock", "lock.hcl", "--db", "vulndb"])
        .env("HOME", &empty)
        .env("TF_CLI_CONFIG_FILE", empty.join("none.tofurc"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr)
            .contains("no package of registry.opentofu.org/example/demo 1.2.3 found")
    );
    expect2(
        &[
            "--lock",
            "lock.hcl",
            "--db",
            "vulndb",
            "--plain-http",
            "--registry-retries",
            "0",
            "--oci-mirror",
            "127.0.0.1:9/${namespace}/${type}",
        ],
        "127.0.0.1:9",
    );
    // nothing to check at all
    expect2(&["--db", "vulndb"], "nothing to check");
    // and the database is fine: the same sample passes the lenient policy
    policy(dir, "p.toml", LENIENT);
    let r = gate(
        dir,
        &[zip, "--db", db.to_str().unwrap(), "--policy", "p.toml"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn rule_pages_are_generated_from_the_rule_files() {
    let pages =
        provguard::report::gate::rule_pages(&provguard::analysis::policy::cfg::Policy::builtin());
    assert_eq!(pages.len(), provguard::analysis::policy::RuleId::ALL.len());
    let dir = repo().join("rules/docs");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    for (name, text) in &pages {
        let on_disk = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|_| {
            panic!("rules/docs/{name} missing; run UPDATE_SNAPSHOTS=1 cargo test --test gate")
        });
        assert_eq!(
            &on_disk, text,
            "rules/docs/{name} is stale; run UPDATE_SNAPSHOTS=1 cargo test --test gate"
        );
        assert!(
            text.contains("## Why") && text.contains("## Default configuration\n\n```toml\n[rule.")
        );
    }
    let listed: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, pages.iter().map(|(n, _)| n.clone()).collect());
}

/// The README's sample: the bundled lock file verifies all three sample packages; the demo's Go
/// 1.19 fails the default policy, and its module-level vulnerabilities are warnings — the
/// vulnerable functions are not in its binaries (their function tables were read).
#[test]
fn readme_sample_gate_verifies_the_lock_and_fails_on_the_demo() {
    let r = gate(
        &repo(),
        &[
            "samples/dist",
            "--lock",
            "samples/infra/.terraform.lock.hcl",
            "--db",
            "samples/vulndb",
            "--policy",
            "samples/infra/provguard.toml",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let packages = r.json["lock"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 3);
    assert!(packages.iter().all(|p| p["matchedBy"] == "zh:"));
    let rules: BTreeSet<String> = failing(&r).into_iter().map(|(rule, _, _)| rule).collect();
    assert_eq!(rules, set(&["go-version"]));
    let warned = violations(&r, |v| v["rule"] == "vulnerability" && v["level"] == "warn");
    assert!(warned.len() >= 6, "{warned:?}");
    let v = r.json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2024-45337")
        .unwrap();
    assert!(
        v["evidence"].to_string().contains(
            "vulnerable code not present: none of golang.org/x/crypto/ssh.ServerConfig.PublicKeyCallback is in the binary"
        ),
        "{v}"
    );
}

/// The vulnerability rule's `reachability` parameter: `any` is module level again.
#[test]
fn reachability_parameter_any_fails_on_absent_code() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fresh_db(dir, true);
    let base = "[rule.go-version]\nlevel = \"allow\"\n[rule.registry-host]\nallow = [\"*\"]\n";
    policy(
        dir,
        "any.toml",
        &format!("{base}[rule.vulnerability]\nreachability = \"any\"\n"),
    );
    policy(dir, "default.toml", base);
    let zip = sample_zip("linux_amd64");
    let run = |p: &str| {
        gate(
            dir,
            &[zip.to_str().unwrap(), "--db", "vulndb", "--policy", p],
        )
    };
    let r = run("default.toml");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!violations(&r, |v| v["rule"] == "vulnerability").is_empty());
    let r = run("any.toml");
    assert_eq!(r.code, 1, "{}", r.stderr);
    let ids: BTreeSet<String> = failing(&r).into_iter().map(|(_, id, _)| id).collect();
    assert!(ids.contains("CVE-2024-45337"), "{ids:?}");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[rule.vulnerability]\nreachability = \"sometimes\"\n").unwrap();
    let r = run(bad.to_str().unwrap());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown variant"), "{}", r.stderr);
}
