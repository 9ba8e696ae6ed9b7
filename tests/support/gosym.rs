//! Go toolchains, builds and reference tools for the symbol tests, all cached under `target/`:
//! the provider-like fixture `tests/fixtures/gosym` built by three real toolchains (the machine's
//! `go`, Debian's go1.19 at /usr/lib/go-1.19, and go1.22.12 fetched by `GOTOOLCHAIN` through the
//! module proxy into `target/go-path/pkg/mod`), real Go binaries from npm (`npm pack`), and
//! govulncheck v1.9.0 (`go install`, into `target/tools`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{go_build_with, missing, repo};

/// The toolchains the fixtures are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    /// The machine's `go` (go1.26 on the dev machine; `GOTOOLCHAIN=local`).
    Local,
    /// Debian's `golang-1.19-go` (installed by `.ci/test.sh` as `golang-go`).
    Debian119,
    /// go1.22.12, downloaded by the local `go` through the module proxy (`GOTOOLCHAIN`).
    Go122,
}

pub const DEBIAN_GO: &str = "/usr/lib/go-1.19/bin";

impl Toolchain {
    pub const ALL: [Toolchain; 3] = [Toolchain::Local, Toolchain::Debian119, Toolchain::Go122];

    /// Extra environment for `go`, or `None` (with the reason printed) when unavailable.
    pub fn env(self) -> Option<Vec<(String, String)>> {
        let mut env = vec![("GOPROXY".to_string(), proxy())];
        match self {
            Toolchain::Local => {}
            Toolchain::Debian119 => {
                if !Path::new(DEBIAN_GO).join("go").exists() {
                    missing("Debian's go1.19 (/usr/lib/go-1.19, package golang-go)");
                    return None;
                }
                let path = std::env::var("PATH").unwrap_or_default();
                env.push(("PATH".into(), format!("{DEBIAN_GO}:{path}")));
            }
            Toolchain::Go122 => env.push(("GOTOOLCHAIN".into(), "go1.22.12".into())),
        }
        Some(env)
    }

    /// `go` of this toolchain, with its environment (for `go tool nm`, `go version`).
    pub fn go(self) -> Option<Command> {
        let env = self.env()?;
        let target = repo().join("target");
        let mut c = Command::new("go");
        c.env("GOTOOLCHAIN", "local")
            .env("GOPATH", target.join("go-path"))
            .env("GOCACHE", target.join("go-cache"))
            .env("GOFLAGS", "-mod=mod");
        for (k, v) in env {
            c.env(k, v);
        }
        Some(c)
    }
}

/// The module proxy: the environment's, else the public one.
pub fn proxy() -> String {
    std::env::var("GOPROXY")
        .ok()
        .filter(|p| !p.is_empty() && p != "off")
        .unwrap_or_else(|| "https://proxy.golang.org,direct".into())
}

/// One build of `tests/fixtures/gosym`.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    pub tc: Toolchain,
    pub goos: &'static str,
    pub goarch: &'static str,
    /// `-trimpath -ldflags "-s -w"`, as provider releases are built.
    pub stripped: bool,
    pub pie: bool,
}

impl Build {
    /// Build (or reuse) it; `None` when the toolchain is unavailable here.
    pub fn path(&self) -> Option<PathBuf> {
        let env = self.tc.env()?;
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut flags = Vec::new();
        if self.stripped {
            flags.extend(["-trimpath", "-ldflags", "-s -w"]);
        }
        if self.pie {
            flags.push("-buildmode=pie");
        }
        // Debian's go for go1.19; the machine's go (first on PATH) for the others.
        let go = match self.tc {
            Toolchain::Debian119 => Path::new(DEBIAN_GO).join("go"),
            Toolchain::Local | Toolchain::Go122 => PathBuf::from("go"),
        };
        Some(go_build_with(
            &go,
            "gosym",
            self.goos,
            self.goarch,
            &flags,
            &env,
        ))
    }
}

/// The platforms every toolchain builds for.
pub const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "386"),
    ("linux", "s390x"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// A file from an npm package tarball (`npm pack NAME@VERSION`), cached in `target/npm-fixtures`.
pub fn npm_file(package: &str, version: &str, file: &str) -> Option<PathBuf> {
    let dir = repo()
        .join("target/npm-fixtures")
        .join(format!("{}-{version}", package.replace('/', "_")));
    let out = dir.join(file);
    if out.exists() {
        return Some(out);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let o = Command::new("npm")
        .current_dir(&dir)
        .args(["pack", "--silent", &format!("{package}@{version}")])
        .output();
    let tgz = match o.ok().filter(|o| o.status.success()) {
        Some(o) => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        None => {
            // No npm here: the registry's tarball URL, as npm itself fetches it.
            let base = package.rsplit('/').next().unwrap_or(package);
            let tgz = format!("{base}-{version}.tgz");
            let url = format!("https://registry.npmjs.org/{package}/-/{tgz}");
            let ok = Command::new("curl")
                .current_dir(&dir)
                .args(["-fsSL", "-o", &tgz, &url])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                missing(&format!(
                    "{package}@{version} from npm (npm pack and curl failed)"
                ));
                return None;
            }
            tgz
        }
    };
    let st = Command::new("tar")
        .current_dir(&dir)
        .args(["xzf", &tgz])
        .status()
        .unwrap();
    assert!(st.success(), "untar {tgz}");
    assert!(out.exists(), "{file} not in {package}@{version}");
    Some(out)
}

/// govulncheck v1.9.0, installed once into `target/tools` by the machine's `go`.
pub fn govulncheck() -> Option<PathBuf> {
    let bin_dir = repo().join("target/tools/govulncheck-v1.9.0");
    let bin = bin_dir.join("govulncheck");
    if bin.exists() {
        return Some(bin);
    }
    let mut go = Toolchain::Local.go()?;
    let o = go
        .env("GOBIN", &bin_dir)
        .args(["install", "golang.org/x/vuln/cmd/govulncheck@v1.9.0"])
        .output();
    match o {
        Ok(o) if o.status.success() && bin.exists() => Some(bin),
        Ok(o) => {
            missing(&format!(
                "govulncheck (go install failed: {})",
                String::from_utf8_lossy(&o.stderr)
            ));
            None
        }
        Err(e) => {
            missing(&format!("govulncheck (no go: {e})"));
            None
        }
    }
}

/// `govulncheck -mode binary -db file://DB -format json BIN`: the JSON stream, parsed.
pub fn govulncheck_binary(bin: &Path, db: &Path) -> Option<Vec<serde_json::Value>> {
    let tool = govulncheck()?;
    let o = Command::new(tool)
        .args(["-mode", "binary", "-format", "json", "-db"])
        .arg(format!("file://{}", db.display()))
        .arg(bin)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    for v in de.by_ref() {
        out.push(v.unwrap_or_else(|e| panic!("govulncheck output: {e}\n{text}")));
    }
    Some(out)
}

/// Text symbols (`T`/`t`) that `go tool nm` lists, without the `.abi0` suffix.
pub fn nm_text_symbols(tc: Toolchain, bin: &Path) -> Option<Vec<String>> {
    let o = tc.go()?.args(["tool", "nm"]).arg(bin).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                // `ADDR TYPE NAME`; generic shape names contain spaces.
                let mut f = l.trim_start().splitn(3, ' ');
                let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
                matches!(kind, "T" | "t")
                    .then(|| name.strip_suffix(".abi0").unwrap_or(name).to_string())
            })
            .collect(),
    )
}
