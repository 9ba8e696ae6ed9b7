//! `go version -m` parity on binaries compiled here by the real Go toolchain: ELF 32/64 little- and
//! big-endian, PE32 and PE32+, Mach-O 64 and a universal Mach-O, with and without `-trimpath`,
//! `-s -w`, PIE, and a local `replace`. Also third-party Go binaries found on the machine.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

/// `go version -m` output without the blank lines Go 1.19 prints after `=>` lines.
fn go_version_m(bin: &Path) -> String {
    let o = Command::new(go19())
        .args(["version", "-m"])
        .arg(bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

fn provguard_buildinfo(bin: &Path) -> String {
    let o = provguard().arg("buildinfo").arg(bin).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

const MATRIX: &[(&str, &str, &[&str])] = support::gobins::GO_MATRIX;

#[test]
fn buildinfo_matches_go_version_m_across_platforms_and_flags() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    for (goos, goarch, flags) in MATRIX {
        let bin = go_build("gomod", goos, goarch, flags, &[]);
        let want = go_version_m(&bin);
        let got = provguard_buildinfo(&bin);
        assert_eq!(got, want, "{goos}/{goarch} {flags:?}");
        assert!(
            want.contains("\t=>\t./dep\t(devel)\t"),
            "fixture keeps its local replace"
        );
    }
}

#[test]
fn sbom_of_fixture_records_platform_replacement_and_ldflags_version() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    let bin = go_build(
        "gomod",
        "linux",
        "amd64",
        &["-ldflags=-X main.version=4.5.6"],
        &[],
    );
    let o = provguard()
        .args(["sbom", "--deterministic"])
        .arg(&bin)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let comps = doc["components"].as_array().unwrap();
    let main = comps
        .iter()
        .find(|c| c["name"] == "example.com/fixture")
        .unwrap();
    assert_eq!(
        main["version"], "v4.5.6",
        "main version from -X main.version"
    );
    let dep = comps
        .iter()
        .find(|c| c["name"] == "example.com/dep")
        .unwrap();
    assert!(
        dep.get("version").is_none(),
        "a local replacement has no version"
    );
    let props = dep["properties"].as_array().unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "provguard:replacement.path" && p["value"] == "./dep")
    );
    let exe = &comps[0]["properties"];
    let has = |k: &str, v: &str| {
        exe.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == k && p["value"] == v)
    };
    assert!(has("provguard:main.version.source", "ldflags"));
    assert!(has("provguard:goos", "linux") && has("provguard:build:CGO_ENABLED", "0"));
}

/// Go emits no fat Mach-O: assemble one from two thin slices behind a 0xCAFEBABE header.
fn fat_macho(slices: &[&Path], out: &Path) {
    const ALIGN: u64 = 1 << 14;
    let datas: Vec<Vec<u8>> = slices.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut header = Vec::new();
    header.extend_from_slice(&0xcafe_babeu32.to_be_bytes());
    header.extend_from_slice(&(datas.len() as u32).to_be_bytes());
    let mut offset = ALIGN;
    let mut body = Vec::new();
    for d in &datas {
        let cpu = u32::from_le_bytes(d[4..8].try_into().unwrap());
        header.extend_from_slice(&cpu.to_be_bytes());
        header.extend_from_slice(&0u32.to_be_bytes());
        header.extend_from_slice(&(offset as u32).to_be_bytes());
        header.extend_from_slice(&(d.len() as u32).to_be_bytes());
        header.extend_from_slice(&14u32.to_be_bytes());
        let start = offset as usize;
        body.resize(start, 0);
        body.extend_from_slice(d);
        offset = (body.len() as u64).div_ceil(ALIGN) * ALIGN;
    }
    body[..header.len()].copy_from_slice(&header);
    std::fs::write(out, body).unwrap();
}

#[test]
fn universal_macho_every_slice_is_its_own_platform() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    let amd = go_build("gomod", "darwin", "amd64", &[], &[]);
    let arm = go_build("gomod", "darwin", "arm64", &["-trimpath"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let fat = dir.path().join("terraform-provider-fixture");
    fat_macho(&[&amd, &arm], &fat);
    let got = provguard_buildinfo(&fat);
    let want = format!(
        "{}{}",
        go_version_m(&amd).replace(&amd.display().to_string(), &fat.display().to_string()),
        go_version_m(&arm).replace(&arm.display().to_string(), &fat.display().to_string())
    );
    assert_eq!(got, want);
    let out = dir.path().join("out");
    let o = provguard()
        .args(["sbom", "--format", "spdx", "--output-dir"])
        .arg(&out)
        .arg(&fat)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "terraform-provider-fixture_darwin_amd64.spdx.json",
            "terraform-provider-fixture_darwin_arm64.spdx.json"
        ]
    );
    // Without --output-dir, several SBOMs are refused with a hint rather than concatenated.
    let o = provguard().arg("sbom").arg(&fat).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--output-dir"));
}

#[test]
fn third_party_go_binaries_on_this_machine() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    let trivy = repo().join("tests/.cache/trivy-0.76.0/trivy");
    let candidates = [
        "/usr/local/bin/terraform",
        "/usr/local/bin/tofu",
        "/usr/bin/go",
        "/usr/lib/go/bin/gofmt",
        trivy.to_str().unwrap(),
    ];
    let mut checked = 0;
    for c in candidates {
        let p = Path::new(c);
        if !p.exists() {
            eprintln!("SKIPPED {c}: not on this machine");
            continue;
        }
        let want = go_version_m(p);
        if want.lines().count() < 2 {
            eprintln!("SKIPPED {c}: go version -m shows no module info");
            continue;
        }
        assert_eq!(provguard_buildinfo(p), want, "{c}");
        checked += 1;
    }
    eprintln!("checked {checked} third-party binaries");
}

#[test]
fn sample_release_matches_go_version_m() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    // The committed samples are real Go builds: unzip one and compare.
    let dir = tempfile::tempdir().unwrap();
    let z = std::fs::File::open(sample_zip("linux_amd64")).unwrap();
    let mut a = zip::ZipArchive::new(z).unwrap();
    let mut e = a.by_index(0).unwrap();
    let bin = dir.path().join(e.name().unwrap().to_string());
    std::io::copy(&mut e, &mut std::fs::File::create(&bin).unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(provguard_buildinfo(&bin), go_version_m(&bin));
    // and through the ZIP, streamed:
    let via_zip = provguard_buildinfo(&sample_zip("linux_amd64"));
    assert_eq!(
        via_zip.lines().skip(1).collect::<Vec<_>>(),
        go_version_m(&bin).lines().skip(1).collect::<Vec<_>>()
    );
}

/// Built inside a git checkout: `vcs.*` settings appear; parity holds and the main module gets a
/// pseudo-version from `vcs.revision`/`vcs.time` when nothing else names its version.
#[test]
fn vcs_stamped_build_gives_pseudo_version() {
    if !have_go() && missing("go (Debian golang-go)") {
        return;
    }
    let src = tempfile::tempdir().unwrap();
    for f in ["go.mod", "main.go", "dep/go.mod", "dep/dep.go"] {
        let to = src.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join("tests/fixtures/gomod").join(f), to).unwrap();
    }
    let git = |args: &[&str]| git(src.path(), args);
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "fixture"]);
    let rev = git(&["rev-parse", "HEAD"]).trim().to_string();
    let bin = src.path().join("terraform-provider-fixture");
    go_build_in(src.path(), &bin);
    let want = go_version_m(&bin);
    assert!(
        want.contains(&format!("build\tvcs.revision={rev}")),
        "{want}"
    );
    assert_eq!(provguard_buildinfo(&bin), want);
    let o = provguard().args(["sbom"]).arg(&bin).output().unwrap();
    assert!(o.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let main = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "example.com/fixture")
        .unwrap();
    assert_eq!(
        main["version"],
        format!("v0.0.0-20240601000000-{}", &rev[..12])
    );
}
