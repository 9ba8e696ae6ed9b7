//! `provguard audit` against the real docker-registry: provider versions × 3 platforms
//! published with provguard's own `publish` (the samples' real Go binaries, re-zipped under
//! each version's name so every version is its own artifact), found through the catalog's
//! pagination; the results cache on a second run (no blob downloaded); shards merged equal to
//! the unsharded run byte for byte; `report diff` and `gate --baseline` around a pushed
//! version that carries one new vulnerability (an attached SBOM that drifts from its binary);
//! a lock-file tree; the HTML report self-contained and escaping a hostile name.
//!
//! Scale: `PROVGUARD_AUDIT_VERSIONS` versions (default 8, so 27 artifacts with the second repository; the 50 ×
//! 3 runs the same code, only slower on a shared 2-core machine).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::registry::TestRegistry;
use support::*;

const PLATFORMS: [&str; 3] = ["linux_amd64", "darwin_arm64", "windows_amd64"];

fn versions() -> usize {
    std::env::var("PROVGUARD_AUDIT_VERSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    provguard().current_dir(cwd).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    stderr
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A database dated today: the samples' advisories.
fn fresh_db(dir: &Path) -> PathBuf {
    let db = dir.join("vulndb");
    copy_dir(&repo().join("samples/vulndb"), &db);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    std::fs::write(
        db.join("index/db.json"),
        json!({ "modified": provguard::report::time::rfc3339(now) }).to_string(),
    )
    .unwrap();
    db
}

/// A GoReleaser-style dist/ of `ptype` at `version`: the sample binaries re-zipped under
/// that version's names, with SHA256SUMS.
fn dist(root: &Path, ptype: &str, version: &str) -> PathBuf {
    let d = root.join(format!("dist-{ptype}-{version}"));
    std::fs::create_dir_all(&d).unwrap();
    let mut sums = String::new();
    for plat in PLATFORMS {
        let (name, exe) = sample_entry(plat);
        let ext = if name.ends_with(".exe") { ".exe" } else { "" };
        let zip_name = format!("terraform-provider-{ptype}_{version}_{plat}.zip");
        let p = d.join(&zip_name);
        write_zip(
            &p,
            &[(&format!("terraform-provider-{ptype}_v{version}{ext}"), &exe)],
        );
        sums.push_str(&format!(
            "{}  {zip_name}\n",
            https::sha256_hex(&std::fs::read(&p).unwrap())
        ));
    }
    std::fs::write(
        d.join(format!("terraform-provider-{ptype}_{version}_SHA256SUMS")),
        sums,
    )
    .unwrap();
    d
}

fn publish(dir: &Path, host: &str, repo: &str, dist: &Path, extra: &[&str]) {
    let to = format!("oci://{host}/{repo}");
    let mut args = vec![
        "publish",
        dist.to_str().unwrap(),
        "--to",
        &to,
        "--plain-http",
    ];
    args.extend(extra);
    ok(&run(dir, &args));
}

/// Allow the loopback registry and the samples' Go 1.19.
const POLICY: &str = "extends = \"default\"\n[rule.go-version]\nminimum = \"1.19\"\nrequire-supported = false\n\n[rule.registry-host]\nallow = [\"registry.opentofu.org\", \"127.0.0.1:*\"]\n";

struct Audit<'a> {
    dir: &'a Path,
    source: String,
    db: PathBuf,
}

impl Audit<'_> {
    /// `audit` with a fresh or shared cache; returns the JSON report and stderr.
    fn run(&self, cache: &str, extra: &[&str]) -> (Value, Vec<u8>, String) {
        let out = self.dir.join(format!(
            "{cache}-{}.json",
            extra.join("_").replace('/', "of")
        ));
        let cache_dir = self.dir.join(cache);
        let mut args = vec![
            "audit",
            &self.source,
            "--db",
            self.db.to_str().unwrap(),
            "--policy",
            "policy.toml",
            "--plain-http",
            "--cache-dir",
            cache_dir.to_str().unwrap(),
            "--deterministic",
            "--jobs",
            "2",
            "--catalog-page-size",
            "1",
        ];
        let out_arg = format!("json={}", out.display());
        args.extend(["-o", &out_arg, "-f", "json"]);
        args.extend(extra);
        let t = std::time::Instant::now();
        let o = run(self.dir, &args);
        eprintln!("audit {extra:?}: {:?}", t.elapsed());
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
        let bytes = std::fs::read(&out).unwrap();
        (serde_json::from_slice(&bytes).unwrap(), bytes, stderr)
    }
}

fn packages(r: &Value) -> BTreeSet<(String, String, String)> {
    r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["provider"].as_str().unwrap().to_string(),
                a["version"].as_str().unwrap().to_string(),
                a["platform"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn ids(r: &Value) -> BTreeSet<String> {
    r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// provguard's CycloneDX SBOM of `zip`, with golang.org/x/text claimed at v0.3.0 (the
/// binary has v0.7.0): it drifts, and brings GO-2022-1059 with it.
fn drifting_sbom(dir: &Path, zip: &Path) -> PathBuf {
    let o = run(dir, &["sbom", zip.to_str().unwrap(), "-f", "cyclonedx"]);
    ok(&o);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("golang.org/x/text@v0.7.0"), "{text}");
    let edited = text
        .replace("golang.org/x/text@v0.7.0", "golang.org/x/text@v0.3.0")
        .replace("\"v0.7.0\"", "\"v0.3.0\"");
    let p = dir.join(format!(
        "{}.cdx.json",
        zip.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&p, edited).unwrap();
    p
}

#[test]
fn namespace_audit_cache_shards_diff_and_baseline() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let host = reg.host();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = fresh_db(dir);
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let n = versions();
    for i in 0..n {
        let v = format!("1.0.{i}");
        publish(
            dir,
            &host,
            "acme/terraform-provider-demo",
            &dist(dir, "demo", &v),
            &[],
        );
    }
    publish(
        dir,
        &host,
        "acme/terraform-provider-other",
        &dist(dir, "other", "0.1.0"),
        &[],
    );
    publish(
        dir,
        &host,
        "elsewhere/terraform-provider-x",
        &dist(dir, "x", "0.1.0"),
        &[],
    );
    // A tag that is not a version (`latest`, naming the 1.0.0 index) is not audited.
    let demo_1_0_0 = reg
        .manifest_json("acme/terraform-provider-demo", "1.0.0")
        .unwrap();
    reg.push_manifest("acme/terraform-provider-demo", Some("latest"), &demo_1_0_0);
    let audit = Audit {
        dir,
        source: format!("oci://{host}/acme"),
        db,
    };

    // Cold: every version × platform of both repositories under acme/ (every SemVer tag, as
    // the README says: no cap on versions per repository), through the catalog one name a
    // page; nothing from elsewhere/, nothing tagged `latest`.
    let (cold, cold_bytes, stderr) = audit.run("cache", &[]);
    let total = (n + 1) * 3;
    assert_eq!(
        cold["artifacts"].as_array().unwrap().len(),
        total,
        "{stderr}"
    );
    let pk = packages(&cold);
    for i in 0..n {
        for plat in PLATFORMS {
            assert!(pk.contains(&(
                format!("{host}/acme/terraform-provider-demo"),
                format!("1.0.{i}"),
                plat.to_string()
            )));
        }
    }
    assert!(!pk.iter().any(|p| p.0.contains("elsewhere")));
    assert!(
        !ids(&cold).iter().any(|id| id.contains(":latest")),
        "{stderr}"
    );
    assert_eq!(cold["cache"], json!({"hits": 0, "misses": total}));
    assert!(reg.requests("GET", "/v2/_catalog?") >= 3, "paged catalog");
    assert!(reg.requests("GET", "last=") >= 2, "{}", reg.log_text());
    assert_eq!(cold["summary"]["providers"], 2);
    assert_eq!(cold["summary"]["versions"], n + 1);
    assert_eq!(cold["summary"]["platforms"], 3);
    assert_eq!(cold["summary"]["inventorySources"]["attachedSbom"], total);
    assert_eq!(
        cold["summary"]["policy"]["passed"], true,
        "{}",
        cold["summary"]
    );
    // Findings carry reachability and upgrade targets, as scan gives them.
    let f = &cold["artifacts"][0]["findings"];
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "CVE-2024-45337"
                && f["upgradeTo"] == "v0.31.0"
                && f["reachability"] == "absent")
    );

    // The audit's findings are the union of per-target scans' findings, for every version of
    // both repositories (one `scan` of every tag), artifact by artifact (by ZIP digest).
    let mut scan_args: Vec<String> = ["scan", "--db", audit.db.to_str().unwrap(), "--plain-http"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    scan_args.extend([
        "--cache-dir".into(),
        dir.join("scan-cache").display().to_string(),
    ]);
    scan_args.extend(["-f".into(), "json".into()]);
    for i in 0..n {
        scan_args.push(format!("oci://{host}/acme/terraform-provider-demo:1.0.{i}"));
    }
    scan_args.push(format!("oci://{host}/acme/terraform-provider-other:0.1.0"));
    let scan_args: Vec<&str> = scan_args.iter().map(String::as_str).collect();
    let scan = run(dir, &scan_args);
    assert!(
        matches!(scan.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let scan: Value = serde_json::from_slice(&scan.stdout).unwrap();
    type FindingKey = (String, String, String, String, String, String);
    let finding_set = |arts: &[Value], zip: &str| -> BTreeSet<FindingKey> {
        arts.iter()
            .flat_map(|a| {
                let zip = a[zip]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string();
                let plat = a["platform"].as_str().unwrap().to_string();
                a["findings"].as_array().unwrap().iter().map(move |f| {
                    let field = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (
                        zip.clone(),
                        plat.clone(),
                        field("id"),
                        field("module"),
                        field("reachability"),
                        field("status"),
                    )
                })
            })
            .collect()
    };
    let scanned = scan["artifacts"].as_array().unwrap();
    assert_eq!(scanned.len(), total, "one scan artifact per audited one");
    let zips = |arts: &[Value], zip: &str| -> BTreeSet<String> {
        arts.iter()
            .map(|a| {
                a[zip]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string()
            })
            .collect()
    };
    let audited = cold["artifacts"].as_array().unwrap();
    assert_eq!(zips(audited, "digest"), zips(scanned, "zipSha256"));
    let (a, s) = (
        finding_set(audited, "digest"),
        finding_set(scanned, "zipSha256"),
    );
    assert!(!a.is_empty());
    assert_eq!(a, s);

    // Warm: manifests only, every result from the cache, the same report.
    let blobs = reg.blob_gets();
    let (warm, _, stderr) = audit.run("cache", &[]);
    assert_eq!(reg.blob_gets(), blobs, "a warm audit downloads no blob");
    assert_eq!(
        warm["cache"],
        json!({"hits": total, "misses": 0}),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("results cache {total} hit(s), 0 miss(es)")),
        "{stderr}"
    );
    assert_eq!(warm["artifacts"], cold["artifacts"]);

    // Shards: disjoint, covering, and merged byte-identical to the unsharded run.
    let (s1, _, _) = audit.run("cache-s1", &["--shard", "1/2"]);
    let (s2, _, _) = audit.run("cache-s2", &["--shard", "2/2"]);
    let (i1, i2) = (ids(&s1), ids(&s2));
    assert!(i1.is_disjoint(&i2) && !i1.is_empty() && !i2.is_empty());
    assert_eq!(&i1 | &i2, ids(&cold));
    let merged = dir.join("merged.json");
    let shard_files: Vec<PathBuf> = ["cache-s1---shard_1of2.json", "cache-s2---shard_2of2.json"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    ok(&run(
        dir,
        &[
            "report",
            "merge",
            shard_files[0].to_str().unwrap(),
            shard_files[1].to_str().unwrap(),
            "-o",
            &format!("json={}", merged.display()),
        ],
    ));
    assert_eq!(
        String::from_utf8(std::fs::read(&merged).unwrap()).unwrap(),
        String::from_utf8(cold_bytes.clone()).unwrap()
    );
    let o = run(dir, &["report", "merge", shard_files[0].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing shard(s): 2/2"));

    // One new version whose attached SBOM claims x/text v0.3.0: exactly that version is
    // analysed; the diff shows its packages and GO-2022-1059 as the one new advisory.
    let new_dist = dist(dir, "demo", "1.1.0");
    let mut sbom_args = Vec::new();
    for plat in PLATFORMS {
        let z = new_dist.join(format!("terraform-provider-demo_1.1.0_{plat}.zip"));
        sbom_args.push(format!("{plat}={}", drifting_sbom(dir, &z).display()));
    }
    let mut extra = vec!["--allow-drift"];
    for a in &sbom_args {
        extra.extend(["--sbom", a.as_str()]);
    }
    publish(
        dir,
        &host,
        "acme/terraform-provider-demo",
        &new_dist,
        &extra,
    );
    let (after, _, stderr) = audit.run("cache", &[]);
    assert_eq!(
        after["cache"],
        json!({"hits": total, "misses": 3}),
        "{stderr}"
    );
    assert_eq!(after["summary"]["inventorySources"]["drift"], 3);
    assert_eq!(after["summary"]["policy"]["passed"], false);
    let before_file = dir.join("cache-.json");
    std::fs::write(&before_file, &cold_bytes).unwrap();
    let after_file = dir.join("after.json");
    std::fs::write(&after_file, serde_json::to_vec(&after).unwrap()).unwrap();
    let o = run(
        dir,
        &[
            "report",
            "diff",
            before_file.to_str().unwrap(),
            after_file.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    ok(&o);
    let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(diff["newPackages"].as_array().unwrap().len(), 3, "{diff}");
    assert!(
        diff["newPackages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["version"] == "1.1.0")
    );
    assert_eq!(diff["removedPackages"], json!([]));
    assert_eq!(diff["fixedFindings"], json!([]));
    assert_eq!(diff["changedFindings"], json!([]));
    let old_ids: BTreeSet<&str> = cold["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap())
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let new_ids: BTreeSet<&str> = diff["newFindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .filter(|id| !old_ids.contains(id))
        .collect();
    assert_eq!(new_ids, BTreeSet::from(["CVE-2022-32149"]), "{diff}");
    let md = run(
        dir,
        &[
            "report",
            "diff",
            before_file.to_str().unwrap(),
            after_file.to_str().unwrap(),
            "-f",
            "markdown",
        ],
    );
    assert!(String::from_utf8_lossy(&md.stdout).contains("## New packages (3)"));

    // gate --baseline: the new version fails the gate, unless the audit that saw it is the
    // baseline; the audit from before it is no excuse.
    let gate = |baseline: Option<&Path>| {
        let target = format!("oci://{host}/acme/terraform-provider-demo:1.1.0");
        let cache = dir.join("gate-cache");
        let mut args = vec![
            "gate",
            &target,
            "--db",
            audit.db.to_str().unwrap(),
            "--policy",
            "policy.toml",
            "--plain-http",
            "--cache-dir",
            cache.to_str().unwrap(),
            "-f",
            "json",
        ];
        let b;
        if let Some(p) = baseline {
            b = p.display().to_string();
            args.extend(["--baseline", &b]);
        }
        run(dir, &args).status.code()
    };
    assert_eq!(gate(None), Some(1));
    assert_eq!(gate(Some(&before_file)), Some(1));
    assert_eq!(gate(Some(&after_file)), Some(0));
}

#[test]
fn lock_tree_evidence_and_a_self_contained_html_report() {
    let Some(reg) = TestRegistry::start() else {
        return;
    };
    let host = reg.host();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = fresh_db(dir);
    publish(
        dir,
        &host,
        "example/demo",
        &repo().join("samples/dist"),
        &[],
    );
    // Two repositories pin the same provider, a third has no lock file; `.terraform/` is skipped.
    let lock = std::fs::read_to_string(repo().join("samples/infra/.terraform.lock.hcl")).unwrap();
    for r in [
        "infra/network",
        "infra/<script>alert(1)</script>",
        "infra/.terraform/x",
    ] {
        std::fs::create_dir_all(dir.join(r)).unwrap();
        std::fs::write(dir.join(r).join(".terraform.lock.hcl"), &lock).unwrap();
    }
    std::fs::create_dir_all(dir.join("infra/empty")).unwrap();
    let html = dir.join("audit.html");
    let json_out = dir.join("audit.json");
    let evidence = dir.join("evidence");
    let mirror = format!("{host}/${{namespace}}/${{type}}");
    let o = run(
        dir,
        &[
            "audit",
            "infra",
            "--oci-mirror",
            &mirror,
            "--db",
            db.to_str().unwrap(),
            "--plain-http",
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
            "--evidence-dir",
            evidence.to_str().unwrap(),
            "-o",
            &format!("html={}", html.display()),
            "-o",
            &format!("json={}", json_out.display()),
        ],
    );
    ok(&o);
    let r = read_json(&json_out);
    let arts = r["artifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 3, "one package per locked platform, each once");
    for a in arts {
        assert_eq!(a["provider"], "registry.opentofu.org/example/demo");
        assert_eq!(a["version"], "1.2.3");
        assert_eq!(
            a["usedBy"],
            json!([
                "infra/<script>alert(1)</script>/.terraform.lock.hcl",
                "infra/network/.terraform.lock.hcl"
            ]),
            "{}",
            a["usedBy"]
        );
    }

    // Evidence: per artifact an SBOM, two VEX documents and the scan, named in the index.
    let index = read_json(&evidence.join("index.json"));
    assert_eq!(index["artifacts"].as_array().unwrap().len(), 3);
    for a in index["artifacts"].as_array().unwrap() {
        for (kind, check) in [
            ("sbom", "bomFormat"),
            ("openvex", "@context"),
            ("cyclonedxVex", "vulnerabilities"),
            ("scan", "schemaVersion"),
        ] {
            let doc = read_json(&evidence.join(a["files"][kind].as_str().unwrap()));
            assert!(doc.get(check).is_some(), "{kind}: {doc}");
        }
    }

    // The HTML report: well-formed, every section and chart, nothing loaded from anywhere,
    // the hostile repository name escaped.
    let page = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "id=\"summary\"",
        "id=\"charts\"",
        "id=\"upgrades\"",
        "id=\"artifacts\"",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    assert_eq!(page.matches("<svg ").count(), 3);
    assert!(page.contains("Findings by severity per provider"));
    assert!(page.contains("infra/&lt;script&gt;alert(1)&lt;/script&gt;/.terraform.lock.hcl"));
    assert!(!page.contains("<script>alert"));
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the inline sort script"
    );
    let lower = page.to_ascii_lowercase();
    for attr in ["src=", "href=", "@import", "url("] {
        assert!(!lower.contains(attr), "{attr} in the page");
    }
    let body = page.trim_start_matches("<!DOCTYPE html>\n");
    assert!(body.starts_with("<html") && body.trim_end().ends_with("</html>"));
    assert!(
        !body.contains("<br>"),
        "void elements self-closed (XML-readable)"
    );

    // The policy with its waivers, per artifact: a waiver in force accepts its advisory, a
    // lapsed one does not; the cached results are not reused under another policy.
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    std::fs::write(
        dir.join("ignore.toml"),
        "[[ignore]]\nid = \"GO-2024-3321\"\nreason = \"no SSH server\"\nexpires = \"2099-12-31\"\n\n[[ignore]]\nid = \"CVE-2024-24790\"\nreason = \"lapsed\"\nexpires = \"2020-01-01\"\n",
    )
    .unwrap();
    let o = run(
        dir,
        &[
            "audit",
            "infra",
            "--oci-mirror",
            &mirror,
            "--db",
            db.to_str().unwrap(),
            "--plain-http",
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
            "--policy",
            "policy.toml",
            "--ignore-file",
            "ignore.toml",
            "-f",
            "json",
        ],
    );
    ok(&o);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["cache"]["misses"], 3, "another policy, other results");
    for a in r["artifacts"].as_array().unwrap() {
        let vs = a["policy"]["violations"].as_array().unwrap();
        let by_id = |id: &str| {
            vs.iter()
                .find(|v| v["id"] == id)
                .unwrap_or_else(|| panic!("{id}"))
        };
        assert_eq!(by_id("CVE-2024-45337")["waived"], "no SSH server");
        assert_eq!(by_id("CVE-2024-24790")["waived"], Value::Null);
    }
    assert_eq!(r["summary"]["policy"]["waived"], 3);

    // Bad input: exit 2 and no report file.
    let out = dir.join("never.json");
    let o = run(
        dir,
        &[
            "audit",
            "does-not-exist",
            "--db",
            db.to_str().unwrap(),
            "-o",
            &format!("json={}", out.display()),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
    let o = run(
        dir,
        &[
            "audit",
            "infra",
            "--shard",
            "3/2",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--shard"));
}

#[test]
fn shards_of_a_mirror_merge_byte_identical_for_n_1_3_and_7() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = fresh_db(dir);
    let mirror = dir.join("mirror");
    // Fewer versions than the registry test: this one runs twelve audits.
    let count = versions().min(4);
    for i in 0..count {
        let src = dist(dir, "demo", &format!("2.0.{i}"));
        copy_dir(&src, &mirror.join(format!("v{i}")));
    }
    let audit = |name: &str, shard: Option<String>| -> PathBuf {
        let out = dir.join(format!("{name}.json"));
        let cache = dir.join(format!("cache-{name}"));
        let mut args = vec![
            "audit".to_string(),
            "mirror".into(),
            "--db".into(),
            db.display().to_string(),
            "--cache-dir".into(),
            cache.display().to_string(),
            "--deterministic".into(),
            "--no-symbols".into(),
            "-o".into(),
            format!("json={}", out.display()),
        ];
        if let Some(s) = shard {
            args.extend(["--shard".into(), s]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&run(dir, &args));
        out
    };
    let whole = std::fs::read(audit("whole", None)).unwrap();
    let all = ids(&serde_json::from_slice(&whole).unwrap());
    assert_eq!(all.len(), count * 3);
    for n in [1, 3, 7] {
        let shards: Vec<PathBuf> = (1..=n)
            .map(|k| audit(&format!("s{k}of{n}"), Some(format!("{k}/{n}"))))
            .collect();
        let mut seen = BTreeSet::new();
        for s in &shards {
            let part = ids(&read_json(s));
            assert!(seen.is_disjoint(&part), "shards overlap");
            seen.extend(part);
        }
        assert_eq!(seen, all, "the shards cover every artifact");
        let mut args = vec!["report".to_string(), "merge".into()];
        args.extend(shards.iter().map(|p| p.display().to_string()));
        args.extend(["-f".into(), "json".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(dir, &args);
        ok(&o);
        assert!(
            o.stdout == whole,
            "merged {n} shards differ from the unsharded run"
        );
    }
}

/// Records the first line of every request a browser sends through it as its HTTP proxy, and
/// answers 502.
fn recording_proxy() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut line = String::new();
            let _ = std::io::BufReader::new(&conn).read_line(&mut line);
            log.lock().unwrap().push(line.trim().to_string());
            let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (port, seen)
}

/// Headless Chromium with every request sent to `proxy`; its own background services (update
/// checks, time, accounts) are not the page's.
fn chromium(proxy: u16, args: &[&str], page: &Path) -> Output {
    std::process::Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        // The browser's own background traffic off (puppeteer's defaults), so that what the
        // proxy sees is the page's.
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-client-side-phishing-detection",
            "--disable-component-extensions-with-background-pages",
            "--disable-domain-reliability",
            "--disable-breakpad",
            "--metrics-recording-only",
            "--no-pings",
            "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
        ])
        .args(["--disable-sync", "--no-first-run", "--disable-default-apps"])
        .arg(format!("--proxy-server=http://127.0.0.1:{proxy}"))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

fn page_requests(seen: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    // Hosts only the browser itself talks to (Google's services, DNS over HTTPS at dns.google):
    // once in a while a background request gets through the flags above.
    let browser_own = ["google", "gvt1.com", "gstatic.com", "chromium.org"];
    std::mem::take(&mut *seen.lock().unwrap())
        .into_iter()
        .filter(|l| !browser_own.iter().any(|h| l.contains(h)))
        .collect()
}

/// Width of a PNG, from its IHDR chunk.
fn png_width(p: &Path) -> u32 {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", p.display());
    u32::from_be_bytes(b[16..20].try_into().unwrap())
}

#[test]
fn html_report_renders_in_headless_chromium_without_a_request() {
    if !std::path::Path::new("/usr/bin/chromium").exists() && missing("chromium (Debian package)") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let db = fresh_db(dir);
    let (html, json_out) = (dir.join("audit.html"), dir.join("audit.json"));
    ok(&run(
        dir,
        &[
            "audit",
            repo().join("samples/dist").to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
            "-q",
            "-o",
            &format!("html={}", html.display()),
            "-o",
            &format!("json={}", json_out.display()),
        ],
    ));
    let s = read_json(&json_out)["summary"].clone();
    let (proxy, seen) = recording_proxy();
    let o = chromium(proxy, &["--dump-dom"], &html);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dom = String::from_utf8_lossy(&o.stdout);
    for section in ["Summary", "Charts", "What to upgrade", "Providers"] {
        assert!(
            dom.contains(&format!(">{section}</h2>")),
            "section {section}"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 3, "three charts");
    // The cards show the JSON's numbers.
    for (label, n) in [
        ("providers", &s["providers"]),
        ("versions", &s["versions"]),
        ("platforms", &s["platforms"]),
        ("artifacts", &s["artifacts"]),
        ("vulnerable code absent", &s["byReachability"]["absent"]),
        ("reachability unknown", &s["byReachability"]["unknown"]),
    ] {
        let card = format!("<b class=\"\">{n}</b>{label}</div>");
        assert!(dom.contains(&card), "card {card} in the rendered page");
    }
    assert!(s["byReachability"]["absent"].as_u64().unwrap() > 0);
    for (width, name) in [(1280, "desktop.png"), (390, "phone.png")] {
        let shot = dir.join(name);
        let o = chromium(
            proxy,
            &[
                &format!("--window-size={width},1800"),
                &format!("--screenshot={}", shot.display()),
            ],
            &html,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(png_width(&shot), width);
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 20_000,
            "{name} has content"
        );
    }
    assert_eq!(
        page_requests(&seen),
        Vec::<String>::new(),
        "the page requested nothing"
    );
    // The check can fail: the same page with an external image and no CSP is caught.
    let leaky = dir.join("leaky.html");
    let page = std::fs::read_to_string(&html).unwrap();
    let csp_start = page
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let csp_end = csp_start + page[csp_start..].find('>').unwrap() + 1;
    let page = format!("{}{}", &page[..csp_start], &page[csp_end..]).replace(
        "</body>",
        "<img src=\"http://assets.example.com/x.png\"></body>",
    );
    std::fs::write(&leaky, page).unwrap();
    chromium(proxy, &["--dump-dom"], &leaky);
    assert_eq!(
        page_requests(&seen),
        ["GET http://assets.example.com/x.png HTTP/1.1"]
    );
}
