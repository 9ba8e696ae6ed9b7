//! Every real Go binary the tests build, Syft 1.18.1 run on them (fetched into
//! `target/tools/syft-1.18.1/` by `.ci/fetch-syft.sh`), and the comparison of an SBOM's ingest
//! with provguard's buildinfo inventory that `sbom --compare` makes.

use std::path::{Path, PathBuf};
use std::process::Command;

use provguard::artifact::{Artifact, zip::Limits};
use provguard::inventory::{Inventory, gobin, sbom_in};

use super::{copy_dir, git, go_build, go_build_in, go_build_with, have_go, missing, repo};

/// The `tests/fixtures/gomod` builds `go version -m` parity runs (GOOS, GOARCH, flags).
pub const GO_MATRIX: &[(&str, &str, &[&str])] = &[
    ("linux", "amd64", &[]),
    (
        "linux",
        "amd64",
        &["-trimpath", "-ldflags=-s -w -X main.version=1.2.3"],
    ),
    ("linux", "amd64", &["-buildmode=pie"]),
    ("linux", "amd64", &["-ldflags=-X main.version=4.5.6"]),
    ("linux", "386", &[]),
    ("linux", "arm64", &["-trimpath"]),
    ("linux", "s390x", &[]),
    ("linux", "mips", &["-ldflags=-s -w"]),
    ("windows", "amd64", &["-trimpath", "-ldflags=-s -w"]),
    ("windows", "386", &[]),
    ("darwin", "amd64", &[]),
    ("darwin", "arm64", &["-trimpath", "-ldflags=-s -w"]),
];

/// `-ldflags` that exercise Syft's main-module version rules (linux/amd64 builds of `gomod`).
pub const LDFLAGS_CASES: &[&str] = &[
    // GoReleaser's snapshot default: not a version, ignored
    "-ldflags=-X main.version=dev",
    // Docker's CLI: the variable in a package of the main module
    "-ldflags=-s -w -X example.com/fixture/cli/version.Version=28.2.2",
    // a prerelease with a build suffix (Syft keeps `v1.2.3-rc`)
    "-ldflags=-X main.version=1.2.3-rc.1+meta.7",
    // a package outside the main module: not the main module's version
    "-ldflags=-X github.com/other/lib.Version=9.9.9",
    "-ldflags=-X main.gitTag=v2.0.0 -X main.commit=abc",
];

/// Every real Go binary the tests build or ship, labelled: the parity matrix, the `-ldflags`
/// cases, the workspace build, builds inside a git checkout (clean and dirty), the samples'
/// executables, and the `gosubpath` build with real modules from the proxy.
pub fn all_go_binaries() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for (goos, goarch, flags) in GO_MATRIX {
        out.push((
            format!("gomod {goos}/{goarch} {flags:?}"),
            go_build("gomod", goos, goarch, flags, &[]),
        ));
    }
    for flags in LDFLAGS_CASES {
        out.push((
            format!("gomod linux/amd64 [{flags:?}]"),
            go_build("gomod", "linux", "amd64", &[flags], &[]),
        ));
    }
    out.push((
        "gowork linux/amd64 -trimpath".into(),
        go_build(
            "gowork",
            "linux",
            "amd64",
            &["-trimpath"],
            &[("GOFLAGS", "")],
        ),
    ));
    for dirty in [false, true] {
        out.push((format!("gomod in git (dirty: {dirty})"), vcs_build(dirty)));
    }
    for plat in ["linux_amd64", "darwin_arm64", "windows_amd64"] {
        out.push((format!("samples/dist {plat}"), sample_executable(plat)));
    }
    out.push(("gosubpath linux/amd64 -trimpath".into(), subpath_build()));
    out
}

/// `tests/fixtures/gosubpath` for linux/amd64, its modules from proxy.golang.org (cached).
pub fn subpath_build() -> PathBuf {
    go_build(
        "gosubpath",
        "linux",
        "amd64",
        &["-trimpath"],
        &[("GOPROXY", "https://proxy.golang.org")],
    )
}

/// `gomod` built inside a git checkout (VCS stamping on), cached under `target/go-fixtures/vcs-*`.
pub fn vcs_build(dirty: bool) -> PathBuf {
    let dir = repo()
        .join("target/go-fixtures")
        .join(if dirty { "vcs-dirty" } else { "vcs-clean" });
    let bin = dir.join("gomod-vcs");
    if bin.exists() {
        return bin;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let src = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/fixtures/gomod"), src.path());
    git(src.path(), &["init", "-q"]);
    git(src.path(), &["add", "."]);
    git(src.path(), &["commit", "-q", "-m", "fixture"]);
    if dirty {
        std::fs::write(
            src.path().join("extra.go"),
            "package main\n\nvar dirty = 1\n",
        )
        .unwrap();
    }
    let tmp = dir.join("gomod-vcs.tmp");
    go_build_in(src.path(), &tmp);
    std::fs::rename(&tmp, &bin).unwrap();
    bin
}

/// The executable of `samples/dist/…_{plat}.zip`, under its own name, in `target/go-fixtures`.
pub fn sample_executable(plat: &str) -> PathBuf {
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(super::sample_zip(plat)).unwrap()).unwrap();
    let mut e = z.by_index(0).unwrap();
    let dir = repo().join("target/go-fixtures/samples").join(plat);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(e.name().unwrap().to_string());
    if !out.exists() {
        let mut f = std::fs::File::create(&out).unwrap();
        std::io::copy(&mut e, &mut f).unwrap();
    }
    out
}

/// Go and Syft both present (else skipped, or a failure in CI).
pub fn syft() -> Option<PathBuf> {
    if !have_go() && missing("go") {
        return None;
    }
    let p = repo().join("target/tools/syft-1.18.1/syft");
    if p.exists() {
        Some(p)
    } else {
        missing("Syft 1.18.1 (run .ci/fetch-syft.sh)");
        None
    }
}

/// Syft's documents for `bin`: (syft-json, CycloneDX JSON, SPDX JSON), from one run.
pub fn syft_documents(syft: &Path, bin: &Path) -> [Vec<u8>; 3] {
    syft_documents_with(syft, bin, &[])
}

/// [`syft_documents`] with extra environment (Syft's `SYFT_*` configuration).
/// Cached by the binary's bytes and the environment under `target/tools/syft-out/`.
pub fn syft_documents_with(syft: &Path, bin: &Path, env: &[(&str, &str)]) -> [Vec<u8>; 3] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(std::fs::read(bin).unwrap());
    h.update(format!("{env:?}").as_bytes());
    let cached = repo()
        .join("target/tools/syft-out")
        .join(hex::encode(&h.finalize()[..12]));
    let names = ["syft.json", "cdx.json", "spdx.json"];
    if names.iter().all(|n| cached.join(n).exists()) {
        return names.map(|n| std::fs::read(cached.join(n)).unwrap());
    }
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(syft)
        .arg("scan")
        .arg(format!("file:{}", bin.display()))
        .arg("-q")
        .args([
            "-o",
            &format!("syft-json={}", d.path().join(names[0]).display()),
        ])
        .args([
            "-o",
            &format!("cyclonedx-json={}", d.path().join(names[1]).display()),
        ])
        .args([
            "-o",
            &format!("spdx-json={}", d.path().join(names[2]).display()),
        ])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .env("SYFT_CACHE_DIR", repo().join("target/tools/syft-cache"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "syft {}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    let tmp = cached.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for n in names {
        std::fs::copy(d.path().join(n), tmp.join(n)).unwrap();
    }
    let _ = std::fs::rename(&tmp, &cached);
    names.map(|n| std::fs::read(d.path().join(n)).unwrap())
}

/// Trivy 0.76.0's CycloneDX SBOM of `bin` (`trivy rootfs` on a directory holding only it,
/// offline: no database, no version check, no telemetry). Cached by the binary's bytes under
/// `target/tools/trivy-out/`.
pub fn trivy_cyclonedx(trivy: &Path, bin: &Path) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(bin).unwrap();
    let cached = repo().join("target/tools/trivy-out").join(format!(
        "{}.cdx.json",
        hex::encode(&Sha256::digest(&bytes)[..12])
    ));
    if let Ok(doc) = std::fs::read(&cached) {
        return doc;
    }
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir(&root).unwrap();
    // Trivy reads only executable files as Go binaries.
    let exe = root.join(bin.file_name().unwrap());
    std::fs::write(&exe, &bytes).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = d.path().join("cdx.json");
    let o = Command::new(trivy)
        .args(["rootfs", "--quiet", "--format", "cyclonedx"])
        .args([
            "--skip-db-update",
            "--offline-scan",
            "--skip-version-check",
            "--disable-telemetry",
        ])
        .arg("--cache-dir")
        .arg(d.path().join("cache"))
        .arg("--output")
        .arg(&out)
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "trivy {}: {}",
        bin.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let doc = std::fs::read(&out).unwrap();
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    let tmp = cached.with_extension("tmp");
    std::fs::write(&tmp, &doc).unwrap();
    std::fs::rename(&tmp, &cached).unwrap();
    doc
}

/// provguard's buildinfo inventory of `bin` (one per image; one for every non-universal binary).
pub fn buildinfo_inventory(bin: &Path) -> Inventory {
    let art = Artifact::open(bin, Limits::default()).unwrap();
    let exe = gobin::read(art.source.as_ref(), gobin::ReadOptions { hash: false }).unwrap();
    let mut invs = Inventory::from_executable(&art, &exe, None);
    assert_eq!(invs.len(), 1, "{}", bin.display());
    invs.remove(0)
}

/// What `sbom --compare` reports for an SBOM of `bin`: provguard's ingest of `sbom` against its
/// buildinfo inventory (main module included), each drift described; `Err` when unusable.
pub fn sbom_drift(sbom: &[u8], bin: &Path) -> Result<Vec<String>, String> {
    let ingested = sbom_in::parse(sbom)?;
    let inv = buildinfo_inventory(bin);
    let binary: Vec<_> = std::iter::once(inv.main.clone())
        .chain(inv.modules.iter().cloned())
        .collect();
    Ok(sbom_in::drift(&binary, &ingested.modules)
        .iter()
        .map(sbom_in::Drift::describe)
        .collect())
}

/// `tests/fixtures/goref` running: Go's own implementations (x/mod semver and dirhash,
/// go-versions, debug/buildinfo, strconv) behind one JSON line per request.
pub struct GoRef {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl GoRef {
    /// Build (cached; modules from proxy.golang.org once) and start the helper; `None` without Go.
    pub fn start() -> Option<GoRef> {
        if !have_go() && missing("go") {
            return None;
        }
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        };
        // The machine's go (first on PATH, go1.26): debug/buildinfo's JSON shape (omitempty tags)
        // is the modern one, and the helper's modules come from the module proxy.
        let bin = go_build_with(
            Path::new("go"),
            "goref",
            "linux",
            arch,
            &[],
            &[("GOPROXY", "https://proxy.golang.org")],
        );
        let mut child = Command::new(bin)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        Some(GoRef { child, out })
    }

    /// One request (`["semver", "v1.0.0", "v1.0.1"]`), its answer.
    pub fn call(&mut self, req: &serde_json::Value) -> serde_json::Value {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{req}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("goref {req}: {e}: {line:?}"))
    }
}

impl Drop for GoRef {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
