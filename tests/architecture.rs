//! The import direction `ARCHITECTURE.md` documents, checked on the source: every `crate::LAYER`
//! path in `src/**/*.rs` (in `use` lines and inline alike) must name the file's own layer or a
//! lower one. The layer list is read from `ARCHITECTURE.md` itself, so the document and the
//! check cannot drift apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The layers, lowest first, from the numbered list under "## Layers" in ARCHITECTURE.md
/// (`1. **foundation** — …`).
fn documented_layers() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("\n## Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a '## Layers' section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (num, rest) = l.split_once(". **")?;
            num.parse::<u32>().ok()?;
            Some(rest.split("**").next()?.to_string())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::NAME` in the code (comments skipped), and `use crate::{a, b}` groups.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn imports_run_one_way() {
    let layers = documented_layers();
    assert!(
        layers.len() >= 8,
        "ARCHITECTURE.md lists too few layers: {layers:?}"
    );
    let rank = |name: &str| layers.iter().position(|l| l == name);
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut against = Vec::new();
    let mut undocumented = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs");
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = rank(top) else {
            undocumented.insert(top.to_string());
            continue;
        };
        let code = std::fs::read_to_string(f).unwrap();
        for used in crate_paths(&code) {
            match rank(&used) {
                Some(r) if r > own => against.push(format!(
                    "{}: {top} (layer {own}) uses crate::{used} (layer {r})",
                    rel.display()
                )),
                Some(_) => {}
                None => {
                    undocumented.insert(used);
                }
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "top-level modules missing from ARCHITECTURE.md's layer list: {undocumented:?}"
    );
    assert!(
        against.is_empty(),
        "imports against the documented direction:\n  {}",
        against.join("\n  ")
    );
}

#[test]
fn the_checker_sees_what_it_must() {
    let code = "use crate::{report::x, source};\nlet a = crate::cli::run(); // crate::engine\n";
    let got = crate_paths(code);
    assert_eq!(
        got,
        ["cli", "report", "source"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}
