//! Symbols from real Go binaries' function tables (pclntab).
//!
//! Which `go` builds what:
//! - `tests/fixtures/gosym` (a provider-like program on golang.org/x/net v0.7.0 and
//!   golang.org/x/crypto v0.4.0 from the module proxy) is built by **the machine's `go`** (go1.26,
//!   1.20-format table), **Debian's go1.19** (`/usr/lib/go-1.19/bin/go`, 1.18 format) and
//!   **go1.22.12** (`GOTOOLCHAIN=go1.22.12`, fetched through the module proxy; 1.20 format with full
//!   generic shape names), for linux/amd64, linux/386, linux/s390x (big-endian), darwin/arm64
//!   (Mach-O) and windows/amd64 (PE), each stripped (`-trimpath -ldflags "-s -w"`) and not, plus
//!   PIE builds for linux/amd64 — see [`support::gosym`].
//! - `go tool nm` of the same toolchain lists the reference text symbols.
//! - esbuild from npm: 0.14.0 (go1.17.2, 1.16 format) and 0.7.22 (go1.15, 1.2 format, the only
//!   real Go ≤ 1.15 binary here), built by esbuild's own release process.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use provguard::artifact::stream::{FileSource, MemSource};
use provguard::artifact::zip::{Limits, ZipEntrySource, pick_executable};
use provguard::inventory::gobin::ReadOptions;
use provguard::inventory::symbols::{
    self, FoundBy, ImageSymbols, SymbolKind, SymbolsError, names, table::TableVersion,
};
use support::gosym::{Build, PLATFORMS, Toolchain, nm_text_symbols, npm_file};
use support::*;

fn read(path: &Path) -> ImageSymbols {
    let mut imgs = symbols::read(&FileSource {
        path: path.to_path_buf(),
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(imgs.len(), 1);
    imgs.remove(0)
}

/// (package, symbol) → kind, for comparing whole sets.
fn set(s: &ImageSymbols) -> BTreeMap<(String, String), SymbolKind> {
    s.sorted()
        .into_iter()
        .flat_map(|(p, m)| m.into_iter().map(move |(s, k)| ((p.clone(), s), k)))
        .collect()
}

const DEP: &str = "example.com/dep.v2";

/// What the fixture's source guarantees, whatever the toolchain and platform.
fn check_fixture(s: &ImageSymbols, what: &str) {
    let k = |p: &str, f: &str| s.get(p, f);
    use SymbolKind::*;
    // One-line function and pointer-receiver method: inlined into main only.
    assert_eq!(k(DEP, "Small"), Some(Inlined), "{what}");
    assert_eq!(k(DEP, "T.PtrM"), Some(Inlined), "{what}");
    // noinline, generic function and generic method (brackets dropped, `*` dropped).
    assert_eq!(k(DEP, "Big"), Some(Function), "{what}");
    assert_eq!(k(DEP, "Map"), Some(Function), "{what}");
    assert_eq!(k(DEP, "Box.Get"), Some(Function), "{what}");
    // Called vulnerable code of the dependencies.
    assert!(s.contains("golang.org/x/net/html", "Parse"), "{what}");
    assert_eq!(
        k("golang.org/x/net/html", "ParseWithOptions"),
        Some(Function),
        "{what}"
    );
    assert!(
        s.contains("golang.org/x/net/http/httpproxy", "FromEnvironment"),
        "{what}"
    );
    assert!(
        s.contains("golang.org/x/net/http/httpproxy", "Config.ProxyFunc"),
        "{what}"
    );
    assert!(s.contains("main", "main"), "{what}");
    // Imported, nothing vulnerable called: the packages' init is there, their servers are not.
    assert!(s.has_package("golang.org/x/net/http2"), "{what}");
    assert!(
        !s.contains("golang.org/x/net/http2", "Server.ServeConn"),
        "{what}"
    );
    assert!(s.has_package("golang.org/x/crypto/ssh"), "{what}");
    assert!(
        !s.contains("golang.org/x/crypto/ssh", "NewServerConn"),
        "{what}"
    );
    assert!(!s.contains("golang.org/x/net/html", "Render"), "{what}");
}

#[test]
fn stripped_and_unstripped_builds_give_the_same_symbols_on_every_toolchain_and_platform() {
    if !have_go() && missing("go") {
        return;
    }
    for tc in Toolchain::ALL {
        let mut builds: Vec<(Build, Build)> = PLATFORMS
            .iter()
            .map(|&(goos, goarch)| {
                let b = Build {
                    tc,
                    goos,
                    goarch,
                    stripped: false,
                    pie: false,
                };
                (
                    b,
                    Build {
                        stripped: true,
                        ..b
                    },
                )
            })
            .collect();
        let pie = Build {
            tc,
            goos: "linux",
            goarch: "amd64",
            stripped: false,
            pie: true,
        };
        builds.push((
            pie,
            Build {
                stripped: true,
                ..pie
            },
        ));
        for (full, stripped) in builds {
            let (Some(a), Some(b)) = (full.path(), stripped.path()) else {
                break;
            };
            let what = format!("{full:?}");
            let (sa, sb) = (read(&a), read(&b));
            check_fixture(&sa, &what);
            assert_eq!(set(&sa), set(&sb), "stripped twin of {what}");
            let want_version = match tc {
                Toolchain::Debian119 => TableVersion::Go118,
                _ => TableVersion::Go120,
            };
            assert_eq!(sb.table_version, want_version, "{what}");
            assert_eq!(sb.goos.as_deref(), Some(full.goos), "{what}");
            assert_eq!(sb.goarch.as_deref(), Some(full.goarch), "{what}");
            // Sections where the format has them; PE has none for the table: moduledata.
            for s in [&sa, &sb] {
                match full.goos {
                    "windows" => assert!(matches!(s.found_by, FoundBy::ModuleData(_)), "{what}"),
                    "darwin" => assert_eq!(s.found_by, FoundBy::Section("__gopclntab".into())),
                    _ => assert!(
                        matches!(&s.found_by, FoundBy::Section(n) if n == ".gopclntab" || n == ".data.rel.ro.gopclntab"),
                        "{what}: {}",
                        s.found_by
                    ),
                }
                assert!(s.moduledata.is_some(), "{what}: moduledata found");
            }
        }
    }
}

#[test]
fn contains_every_text_symbol_go_tool_nm_lists_for_the_modules_packages() {
    if !have_go() && missing("go") {
        return;
    }
    for tc in Toolchain::ALL {
        let b = Build {
            tc,
            goos: "linux",
            goarch: "amd64",
            stripped: false,
            pie: false,
        };
        let Some(bin) = b.path() else { continue };
        let Some(nm) = nm_text_symbols(tc, &bin) else {
            continue;
        };
        let s = read(&bin);
        let mut checked = 0;
        let mut absent = BTreeSet::new();
        for name in &nm {
            let Some((pkg, sym)) = names::normalize(name) else {
                continue;
            };
            let ours = pkg == "main"
                || pkg.starts_with("example.com/")
                || pkg.starts_with("golang.org/x/");
            if !ours {
                continue;
            }
            checked += 1;
            if s.get(&pkg, &sym) != Some(SymbolKind::Function) {
                absent.insert(format!("{name} → ({pkg}, {sym})"));
            }
        }
        assert!(checked > 150, "{tc:?}: only {checked} module text symbols");
        assert!(
            absent.is_empty(),
            "{tc:?}: nm lists, pclntab lacks: {absent:#?}"
        );
    }
}

#[test]
fn esbuild_from_npm_go117_and_go115_tables() {
    // go1.17.2, 1.16-format table (go-pclntab.md §7: 6058 functions, 1765 inlined-only names).
    let Some(e14) = npm_file("esbuild-linux-64", "0.14.0", "package/bin/esbuild") else {
        return;
    };
    let s = read(&e14);
    assert_eq!(s.table_version, TableVersion::Go116);
    assert_eq!(s.functions, 6058);
    assert_eq!(s.found_by, FoundBy::Section(".gopclntab".into()));
    assert!(s.moduledata.is_some());
    let inlined = set(&s)
        .values()
        .filter(|k| **k == SymbolKind::Inlined)
        .count();
    assert!((1500..=1765).contains(&inlined), "{inlined} inlined-only");
    assert!(s.contains("github.com/evanw/esbuild/internal/js_parser", "Parse"));
    assert_eq!(s.get("strings", "Index"), Some(SymbolKind::Function));

    // go1.15, the 1.2-format table: names through _func records, inlined names through inline
    // trees (absolute pointers, a second ranged pass).
    let Some(e07) = npm_file("esbuild-linux-64", "0.7.22", "package/bin/esbuild") else {
        return;
    };
    let s = read(&e07);
    assert_eq!(s.table_version, TableVersion::Go12);
    assert_eq!(s.found_by, FoundBy::Section(".gopclntab".into()));
    assert!(s.moduledata.is_some());
    let inlined = set(&s)
        .values()
        .filter(|k| **k == SymbolKind::Inlined)
        .count();
    assert!(inlined > 500, "{inlined} inlined-only");
    assert!(s.contains("github.com/evanw/esbuild/internal/js_parser", "Parse"));
}

/// Every fixture build (three toolchains × five platforms × stripped or not, plus PIE).
fn all_builds() -> Vec<Build> {
    let mut out = Vec::new();
    for tc in Toolchain::ALL {
        for &(goos, goarch) in &PLATFORMS {
            for stripped in [false, true] {
                out.push(Build {
                    tc,
                    goos,
                    goarch,
                    stripped,
                    pie: false,
                });
            }
        }
        for stripped in [false, true] {
            out.push(Build {
                tc,
                goos: "linux",
                goarch: "amd64",
                stripped,
                pie: true,
            });
        }
    }
    out
}

/// A source that can only be streamed (as a ZIP entry is), over a file.
struct StreamOnly(std::path::PathBuf);

impl provguard::artifact::stream::ByteSource for StreamOnly {
    fn with_reader(
        &self,
        f: &mut dyn FnMut(&mut dyn std::io::Read) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        f(&mut std::fs::File::open(&self.0)?)
    }
}

/// Everything an image's symbols say, for comparing two reads.
fn summary(s: &ImageSymbols) -> String {
    format!(
        "{:?} {} {:?}/{:?} {:?} {:#x} {} {:?} {} {:?}",
        s.format,
        s.offset,
        s.goos,
        s.goarch,
        s.table_version,
        s.table_offset,
        s.found_by,
        s.moduledata,
        s.functions,
        s.main_path
    )
}

/// Differential: a bare file read by offset (headers, the table's section, the data sections)
/// gives exactly what streaming every byte gives — same table, same way found, same moduledata,
/// same symbol set, same buildinfo and SHA-256 — on every fixture; and the ranged read really is
/// taken for ELF and Mach-O (PE has no section for the table: streamed).
#[test]
fn reading_by_offset_and_streaming_agree_on_every_fixture() {
    if !have_go() && missing("go") {
        return;
    }
    let mut files: Vec<(String, std::path::PathBuf, bool)> = Vec::new();
    for b in all_builds() {
        let Some(p) = b.path() else {
            continue;
        };
        files.push((format!("{b:?}"), p, b.goos != "windows"));
    }
    for (pkg, version) in [
        ("esbuild-linux-64", "0.14.0"),
        ("esbuild-linux-64", "0.7.22"),
    ] {
        if let Some(p) = npm_file(pkg, version, "package/bin/esbuild") {
            files.push((format!("{pkg}@{version}"), p, true));
        }
    }
    assert!(files.len() >= 30, "{} fixtures built", files.len());
    let mut ranged_bytes = 0u64;
    let mut total_bytes = 0u64;
    for (what, path, ranged) in &files {
        let file = FileSource { path: path.clone() };
        let streamed = symbols::read_streamed(&file).unwrap_or_else(|e| panic!("{what}: {e}"));
        match symbols::read_ranged(&file) {
            Some(by_offset) => {
                assert!(*ranged, "{what}: a PE image has no section for the table");
                assert_eq!(by_offset.len(), streamed.len(), "{what}");
                for (a, b) in by_offset.iter().zip(&streamed) {
                    assert_eq!(summary(a), summary(b), "{what}");
                    assert_eq!(set(a), set(b), "{what}");
                }
                let len = std::fs::metadata(path).unwrap().len();
                let plan = symbols::ranged::plan(&file, len).unwrap().unwrap();
                ranged_bytes += plan.bytes();
                total_bytes += len;
            }
            None => assert!(!*ranged, "{what}: expected the ranged read to apply"),
        }
        // And with buildinfo, as `scan` reads a bare file, against a stream-only source.
        let opts = ReadOptions { hash: true };
        let (ea, sa) = symbols::read_with_buildinfo(&file, opts, None);
        let (eb, sb) = symbols::read_with_buildinfo(&StreamOnly(path.clone()), opts, None);
        let (ea, eb) = (ea.unwrap(), eb.unwrap());
        assert_eq!(format!("{ea:?}"), format!("{eb:?}"), "{what}");
        assert!(ea.sha256.is_some(), "{what}");
        let (sa, sb) = (sa.unwrap(), sb.unwrap());
        for (a, b) in sa.iter().zip(&sb) {
            assert_eq!(summary(a), summary(b), "{what}");
            assert_eq!(set(a), set(b), "{what}");
        }
    }
    eprintln!(
        "{} fixtures; ranged reads: {ranged_bytes} of {total_bytes} bytes",
        files.len()
    );
    // The point of it: a fraction of the file is read.
    assert!(
        ranged_bytes * 2 < total_bytes,
        "ranged reads took {ranged_bytes} of {total_bytes} bytes"
    );
}

/// A provider ZIP gives the same symbols as the bare file, and buildinfo comes from the same pass.
#[test]
fn zip_entry_streams_once_for_buildinfo_and_symbols() {
    let Some(e14) = npm_file("esbuild-linux-64", "0.14.0", "package/bin/esbuild") else {
        return;
    };
    let bytes = std::fs::read(&e14).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zip = dir
        .path()
        .join("terraform-provider-esb_0.14.0_linux_amd64.zip");
    write_zip(&zip, &[("terraform-provider-esb_v0.14.0", &bytes)]);
    let src = ZipEntrySource::new(
        zip.clone(),
        pick_executable(&zip, Some("esb")).unwrap(),
        Limits::default(),
    )
    .unwrap();
    let (exe, syms) = symbols::read_with_buildinfo(&src, ReadOptions { hash: true }, None);
    let exe = exe.unwrap();
    let syms = syms.unwrap();
    assert_eq!(exe.images[0].buildinfo.go_version, "go1.17.2");
    assert!(exe.sha256.is_some());
    assert_eq!(
        syms[0].main_path.as_deref(),
        Some("github.com/evanw/esbuild/cmd/esbuild")
    );
    assert!(syms[0].contains("github.com/evanw/esbuild/cmd/esbuild", "main"));
    assert_eq!(set(&syms[0]), set(&read(&e14)));
    // And through the CLI, as JSON, with --package.
    let o = provguard()
        .args(["symbols", "--format", "json", "--package", "strings"])
        .arg(&zip)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let img = &doc["targets"][0]["images"][0];
    assert_eq!(img["table_version"], "1.16");
    assert_eq!(img["found_by"], "section");
    assert_eq!(img["packages"].as_object().unwrap().len(), 1);
    assert_eq!(img["packages"]["strings"]["Index"], "function");
}

/// The machine's `go`, GOOS/amd64, `-trimpath -ldflags "-s -w"`.
fn stripped_local(goos: &'static str) -> Option<std::path::PathBuf> {
    if !have_go() && missing("go") {
        return None;
    }
    Build {
        tc: Toolchain::Local,
        goos,
        goarch: "amd64",
        stripped: true,
        pie: false,
    }
    .path()
}

#[test]
fn cli_table_and_errors() {
    let Some(bin) = stripped_local("windows") else {
        return;
    };
    let o = provguard()
        .args(["symbols", "--package", DEP])
        .arg(&bin)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("PE windows/amd64, pclntab 1.20 format"),
        "{out}"
    );
    assert!(out.contains("found by moduledata at 0x"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("Small") && l.ends_with("inline tree")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("Big") && l.ends_with("function")),
        "{out}"
    );

    // Not Go: exit 2 with the reason.
    let dir = tempfile::tempdir().unwrap();
    let sh = dir.path().join("not-go");
    std::fs::write(&sh, b"#!/bin/sh\necho hi\n").unwrap();
    let o = provguard().arg("symbols").arg(&sh).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not an executable"), "{err}");
    let o = provguard().arg("symbols").arg("/bin/sh").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no Go function table (pclntab) found in this ELF image"),
        "{err}"
    );
}

/// Hostile tables: a real stripped go1.26 build with its table damaged. Each gives an error with
/// the reason (callers report reachability `unknown`), never a panic or a huge allocation.
#[test]
fn hostile_tables_give_clear_errors() {
    let Some(bin) = stripped_local("linux") else {
        return;
    };
    let good = std::fs::read(&bin).unwrap();
    let at = read(&bin).table_offset as usize;
    let word = |d: &[u8], i: usize| {
        u64::from_le_bytes(d[at + 8 + 8 * i..at + 16 + 8 * i].try_into().unwrap())
    };
    let set_word = |d: &mut Vec<u8>, i: usize, v: u64| {
        d[at + 8 + 8 * i..at + 16 + 8 * i].copy_from_slice(&v.to_le_bytes())
    };
    let err = |d: Vec<u8>| -> String {
        match symbols::read(&MemSource(d)) {
            Ok(s) => panic!("read a damaged table: {} symbols", s[0].symbol_count()),
            Err(e) => e.to_string(),
        }
    };
    // nfunc = 2^31.
    let mut d = good.clone();
    set_word(&mut d, 0, 1 << 31);
    let e = err(d);
    assert!(e.contains("implausible function count 2147483648"), "{e}");
    // nfunc a little too big: the function table runs into bytes that are not one.
    let mut d = good.clone();
    set_word(&mut d, 0, word(&good, 0) + 1000);
    let e = err(d);
    assert!(
        e.contains("corrupt Go function table") || e.contains("rejected"),
        "{e}"
    );
    // Region offsets outside the file.
    let mut d = good.clone();
    set_word(&mut d, 7, 1 << 40);
    let e = err(d);
    assert!(e.contains("function table offset"), "{e}");
    let mut d = good.clone();
    let len = good.len() as u64;
    for i in 4..=7 {
        set_word(&mut d, i, len + word(&good, i));
    }
    let e = err(d);
    assert!(e.contains("runs past the end of the file"), "{e}");
    // Truncated in the middle of the table.
    let e = err(good[..at + 4096].to_vec());
    assert!(e.contains("runs past the end of the file"), "{e}");
    // A function's name offset past the end of funcnametab.
    let mut d = good.clone();
    let functab = at + word(&good, 7) as usize;
    let funcoff = u32::from_le_bytes(d[functab + 4..functab + 8].try_into().unwrap()) as usize;
    d[functab + funcoff + 4..functab + funcoff + 8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let e = err(d);
    assert!(e.contains("function name offset 2147483632"), "{e}");
    // A header whose pointer size contradicts the executable's: rejected, and said why.
    let mut d = good.clone();
    d[at + 7] = 4;
    let e = err(d);
    assert!(
        e.contains("rejected: header says 4-byte pointers (little-endian), the executable 8-byte"),
        "{e}"
    );
    // Big-endian magic in a little-endian executable: not even a candidate.
    let mut d = good.clone();
    d[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xf1]);
    let e = err(d);
    assert!(e.contains("no Go function table (pclntab) found"), "{e}");
    // No table at all (magic overwritten): not found, said so.
    let mut d = good.clone();
    d[at..at + 4].copy_from_slice(&[0, 0, 0, 0]);
    let e = err(d);
    assert!(e.contains("no Go function table (pclntab) found"), "{e}");
    assert!(matches!(
        symbols::read(&MemSource(Vec::new())),
        Err(SymbolsError::Exe(_))
    ));
}
