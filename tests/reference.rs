//! Differential tests against Go's own implementations (`tests/fixtures/goref`, built with the
//! module proxy and cached like the other fixtures) on generated inputs and on the fixtures, and
//! property tests for round trips:
//! - version ordering and validity against `golang.org/x/mod/semver`;
//! - OSV `SEMVER` range containment against golang/vuln's evaluation on x/mod/semver;
//! - `h1:` of ZIPs and directories against `golang.org/x/mod/sumdb/dirhash` (`HashZip`, `HashDir`);
//! - tofu version constraints against `github.com/apparentlymart/go-versions`;
//! - buildinfo against `debug/buildinfo`, every field, on every fixture binary;
//! - build-setting quoting against `strconv.Quote`/`Unquote`;
//! - purl encode/decode and RFC 3339 format/parse round trips.

mod support;

use std::io::Write;
use std::sync::{LazyLock, Mutex};

use proptest::prelude::*;
use provguard::analysis::vuln::version::{Event, Range, Version};
use provguard::artifact::hashes::{dir_h1, zip_h1};
use provguard::foundation::version::Constraint;
use provguard::inventory::Module;
use provguard::inventory::gobin::{self, modinfo};
use provguard::inventory::sbom_in::parse_golang_purl;
use provguard::report::time::{parse_rfc3339, rfc3339};
use serde_json::{Value, json};
use support::gobins::{GoRef, all_go_binaries};

static GO: LazyLock<Mutex<Option<GoRef>>> = LazyLock::new(|| Mutex::new(GoRef::start()));

/// Ask Go; `None` when Go is not available here (skipped outside CI).
fn go(req: Value) -> Option<Value> {
    GO.lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .map(|g| g.call(&req))
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn num() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "0|[1-9][0-9]{0,2}",
        1 => "0[0-9]",
        1 => "[1-9][0-9]{18,21}",
    ]
}

fn ident() -> impl Strategy<Value = String> {
    prop_oneof![
        "0|[1-9][0-9]{0,2}",
        "0[0-9]",
        "[a-z][a-z0-9-]{0,4}",
        "-[a-z0-9]{0,2}",
        Just("rc".to_string()),
        Just(String::new()),
    ]
}

/// `[v]MAJOR.MINOR.PATCH[-PRE][+BUILD]`, sometimes malformed.
fn version(v: &'static str) -> impl Strategy<Value = String> {
    let well = (
        num(),
        num(),
        num(),
        proptest::option::of(proptest::collection::vec(ident(), 1..4)),
        proptest::option::of(proptest::collection::vec("[a-z0-9]{1,3}", 1..3)),
    )
        .prop_map(move |(a, b, c, pre, build)| {
            let mut s = format!("{v}{a}.{b}.{c}");
            if let Some(p) = pre {
                s.push('-');
                s.push_str(&p.join("."));
            }
            if let Some(b) = build {
                s.push('+');
                s.push_str(&b.join("."));
            }
            s
        });
    prop_oneof![8 => well, 1 => "v?[0-9.a-z+-]{0,10}"]
}

proptest! {
    #![proptest_config(config(3000))]

    /// Validity and ordering as `golang.org/x/mod/semver` decides them (for full versions: Go also
    /// accepts the shorthands `v1` and `v1.2`, which are no module or OSV versions).
    #[test]
    fn version_order_matches_x_mod_semver(a in version("v"), b in version("v")) {
        let Some(r) = go(json!(["semver", a, b])) else { return Ok(()) };
        for (s, valid) in [(&a, r["valid_a"].as_bool().unwrap()), (&b, r["valid_b"].as_bool().unwrap())] {
            let core = s.split(['-', '+']).next().unwrap_or("");
            let shorthand = core.matches('.').count() < 2;
            // provguard also takes OSV's `v`-less versions; Go wants the `v`
            if s.starts_with('v') && !shorthand && !known_validity_difference(s) {
                prop_assert_eq!(Version::parse(s).is_some(), valid, "validity of {}", s);
            }
        }
        // Go orders invalid versions below valid ones; only valid pairs are compared
        if let (Some(x), Some(y), true, true) = (
            Version::parse(&a),
            Version::parse(&b),
            r["valid_a"] == true,
            r["valid_b"] == true,
        ) {
            let want = r["cmp"].as_i64().unwrap();
            prop_assert_eq!(x.cmp(&y) as i64, want, "{} vs {}", a, b);
        }
    }

    /// OSV `SEMVER` containment (introduced/fixed events, OSV versions without `v`) as golang/vuln
    /// evaluates it on x/mod/semver.
    #[test]
    fn osv_range_containment_matches_go(
        events in proptest::collection::vec(
            (prop_oneof![Just("introduced"), Just("fixed")], prop_oneof![
                1 => Just("0".to_string()),
                6 => prop::sample::select(POOL).prop_map(str::to_string),
                2 => version(""),
            ]),
            1..6),
        v in prop_oneof![3 => prop::sample::select(POOL).prop_map(str::to_string), 1 => version("")],
    ) {
        let events: Vec<(&str, String)> = events
            .into_iter()
            .filter(|(k, s)| *k == "introduced" || s != "0")
            .collect();
        let ours: Option<Vec<Event>> = events
            .iter()
            .map(|(k, s)| match (*k, s.as_str()) {
                ("introduced", "0") => Some(Event::Introduced(None)),
                ("introduced", s) => Version::parse(s).map(|v| Event::Introduced(Some(v))),
                (_, s) => Version::parse(s).map(Event::Fixed),
            })
            .collect();
        let (Some(ours), Some(ver)) = (ours, Version::parse(&v)) else { return Ok(()) };
        // Go only sees versions it deems valid; skip what x/mod/semver would not accept
        let all_valid = events.iter().map(|e| e.1.as_str()).chain([v.as_str()]).all(|s| {
            s == "0" || go(json!(["semver", format!("v{s}"), "v0.0.0"]))
                .is_some_and(|r| r["valid_a"] == true)
        });
        if !all_valid { return Ok(()) }
        let Some(r) = go(json!(["osv", v, events])) else { return Ok(()) };
        prop_assert_eq!(Range::new(ours).contains(&ver), r["affected"].as_bool().unwrap(),
            "{} in {:?}", v, events);
    }
}

/// Differences from x/mod/semver found by this test, reported for `analysis::vuln::version`
/// (being moved into the foundation module, so not changed here): provguard accepts numeric
/// prerelease identifiers with leading zeros (`v1.0.0-01`), which semver 2.0 and Go reject, and
/// rejects numbers beyond u64 (`v18446744073709551616.0.0`), which Go accepts. Neither occurs in
/// a Go module version or an OSV Go advisory (Go refuses to build with such versions).
fn known_validity_difference(s: &str) -> bool {
    let t = s.strip_prefix('v').unwrap_or(s);
    let core = t.split('+').next().unwrap_or("");
    let pre_leading_zero = core.split_once('-').is_some_and(|(_, pre)| {
        pre.split('.')
            .any(|id| id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
    });
    let huge = core
        .split(['.', '-'])
        .any(|n| n.len() > 19 && n.bytes().all(|b| b.is_ascii_digit()));
    pre_leading_zero || huge
}

const POOL: &[&str] = &[
    "0.0.1",
    "1.0.0",
    "1.0.0-rc.1",
    "1.0.0-rc.2",
    "1.2.3",
    "1.10.0",
    "2.0.0",
    "2.0.0+incompatible",
    "0.0.0-20220906165146-f3363e06e74c",
    "0.0.0-20230101000000-aaaaaaaaaaaa",
];

/// A ZIP of `files` (and directory entries `dirs`) written with the zip crate.
fn zip_of(path: &std::path::Path, files: &[(String, Vec<u8>)], dirs: &[String]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for d in dirs {
        z.add_directory(d.as_str(), opts).unwrap();
    }
    for (n, b) in files {
        z.start_file(n.as_str(), opts).unwrap();
        z.write_all(b).unwrap();
    }
    z.finish().unwrap();
}

proptest! {
    #![proptest_config(config(64))]

    /// `h1:` of a ZIP (what tofu locks for a package ZIP) and of the same files unpacked.
    #[test]
    fn h1_matches_dirhash(
        files in proptest::collection::btree_map("[a-z]{1,6}(/[a-z]{1,6}){0,2}", proptest::collection::vec(any::<u8>(), 0..300), 1..6),
        with_dir in any::<bool>(),
    ) {
        // a file and a directory of the same name cannot both be unpacked
        let names: Vec<&String> = files.keys().collect();
        if names.iter().any(|a| names.iter().any(|b| b.starts_with(&format!("{a}/")))) {
            return Ok(());
        }
        let files: Vec<(String, Vec<u8>)> = files.into_iter().collect();
        let d = tempfile::tempdir().unwrap();
        let zip = d.path().join("p.zip");
        // one entry per directory: two files in one directory name it once (the zip crate
        // refuses a duplicate name)
        let dirs: Vec<String> = if with_dir {
            let set: std::collections::BTreeSet<String> = files
                .iter()
                .filter_map(|(n, _)| n.rsplit_once('/').map(|(p, _)| format!("{p}/")))
                .collect();
            set.into_iter().collect()
        } else {
            Vec::new()
        };
        zip_of(&zip, &files, &dirs);
        let Some(r) = go(json!(["hashzip", zip])) else { return Ok(()) };
        prop_assert_eq!(r["err"].as_str(), Some(""));
        let zip_go = r["h1"].as_str().unwrap().to_string();
        let dir = d.path().join("unpacked");
        for (n, b) in &files {
            let p = dir.join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        }
        let r = go(json!(["hashdir", dir])).unwrap();
        let dir_go = r["h1"].as_str().unwrap().to_string();
        prop_assert_eq!(dir_h1(&dir).unwrap(), dir_go.clone());
        // provguard's ZIP h1 is the unpacked package's (what `tofu init` records, HashDir);
        // HashZip also hashes directory entries, so the two differ only for ZIPs that hold some
        prop_assert_eq!(zip_h1(&zip).unwrap(), dir_go.clone());
        if dirs.is_empty() {
            prop_assert_eq!(zip_go, dir_go);
        }
    }
}

fn constraint_version() -> impl Strategy<Value = String> {
    (
        0..3u32,
        proptest::option::of(0..3u32),
        proptest::option::of(0..3u32),
        proptest::option::of(prop_oneof![Just("beta"), Just("rc.1"), Just("1")]),
    )
        .prop_map(|(a, b, c, pre)| {
            let mut s = a.to_string();
            if let Some(b) = b {
                s.push_str(&format!(".{b}"));
                if let Some(c) = c {
                    s.push_str(&format!(".{c}"));
                }
            }
            if let Some(p) = pre {
                s.push_str(&format!("-{p}"));
            }
            s
        })
}

proptest! {
    #![proptest_config(config(3000))]

    /// `--version` constraints select what tofu (go-versions, Ruby-style) selects.
    #[test]
    fn tofu_constraints_match_go_versions(
        terms in proptest::collection::vec(
            (prop::sample::select(&["", "=", "!=", ">", ">=", "<", "<=", "~>"][..]),
             any::<bool>(), constraint_version()),
            1..4),
        v in (0..3u32, 0..3u32, 0..3u32, proptest::option::of(prop_oneof![Just("beta"), Just("rc.1"), Just("1")]))
            .prop_map(|(a, b, c, p)| match p { Some(p) => format!("{a}.{b}.{c}-{p}"), None => format!("{a}.{b}.{c}") }),
    ) {
        let c = terms
            .iter()
            .map(|(op, space, ver)| format!("{op}{}{ver}", if *space && !op.is_empty() { " " } else { "" }))
            .collect::<Vec<_>>()
            .join(", ");
        // go-versions treats 0.0.0 as "unspecified", a member of no set: tofu never selects a
        // 0.0.0 provider, and neither does provguard.
        let Some(r) = go(json!(["constraint", c, v])) else { return Ok(()) };
        let ours = Constraint::parse(&c);
        prop_assert_eq!(ours.is_ok(), r["parsed"].as_bool().unwrap(), "parse {:?}: {:?}", c, ours.as_ref().err());
        if let (Ok(ours), Some(allows)) = (ours, r["allows"].as_bool()) {
            let ver = Version::parse(&v).unwrap();
            prop_assert_eq!(ours.allows(&ver), allows, "{:?} allows {}", c, v);
        }
    }

    /// Build settings are quoted as `strconv.Quote` quotes them and unquote back.
    #[test]
    fn quoting_matches_strconv(s in prop_oneof!["[\x00-\x7f]{0,12}", "[ -~\t\n\r\"`\\\\]{0,12}", "[a-zà-ÿ ]{0,6}"]) {
        prop_assert_eq!(modinfo::unquote(&modinfo::quote(&s)), Some(s.clone()));
        // ASCII and Latin-1 letters only: Go also escapes non-printable non-ASCII code points
        // (`\U0002ebe1`, from its Unicode tables), which provguard leaves as they are.
        let Some(r) = go(json!(["quote", s])) else { return Ok(()) };
        prop_assert_eq!(modinfo::quote(&s), r["quoted"].as_str().unwrap().to_string());
    }
}

proptest! {
    #![proptest_config(config(2000))]

    /// A module's purl decodes to the same module path and version.
    #[test]
    fn purl_round_trip(
        segs in proptest::collection::vec("[a-zA-Z0-9._~!$&'()*+,;=:@%#?/ -]{1,8}|\\PC{1,4}", 1..4),
        version in proptest::option::of("[a-zA-Z0-9.+@#?%/ -]{1,12}"),
    ) {
        let path: String = segs.iter().map(|s| s.replace('/', "")).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/");
        prop_assume!(!path.is_empty());
        let m = Module { path: path.clone(), version: version.clone(), sum: None, replacement: None };
        prop_assert_eq!(parse_golang_purl(&m.purl()), Some((path, version)));
    }

    /// RFC 3339 timestamps from year 0 to 9999 parse back to the same second.
    #[test]
    fn rfc3339_round_trip(t in -62_167_219_200i64..253_402_300_799i64) {
        prop_assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
    }
}

/// Every field of `debug/buildinfo.ReadFile` on every real Go binary the tests build.
#[test]
fn buildinfo_matches_debug_buildinfo_on_every_fixture_binary() {
    if go(json!(["semver", "v1.0.0", "v1.0.0"])).is_none() {
        return;
    }
    // debug.Module's JSON leaves out an empty Sum and a nil Replace (`omitempty`)
    fn module(m: &gobin::GoModule) -> Value {
        let mut v = json!({"Path": m.path, "Version": m.version});
        if !m.sum.is_empty() {
            v["Sum"] = json!(m.sum);
        }
        if let Some(r) = &m.replace {
            v["Replace"] = module(r);
        }
        v
    }
    for (label, bin) in all_go_binaries() {
        let r = go(json!(["buildinfo", bin])).unwrap();
        assert_eq!(r["err"], "", "{label}");
        let src = provguard::artifact::stream::FileSource { path: bin.clone() };
        let exe = gobin::read(&src, gobin::ReadOptions { hash: false }).unwrap();
        let bi = &exe.images[0].buildinfo;
        let ours = json!({
            "GoVersion": bi.go_version,
            "Path": bi.path,
            "Main": module(&bi.main),
            "Deps": bi.deps.iter().map(module).collect::<Vec<_>>(),
            "Settings": bi.settings.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        });
        let mut want = r["info"].clone();
        if want["Deps"].is_null() {
            want["Deps"] = json!([]);
        }
        assert_eq!(ours, want, "{label}");
    }
}
