//! The offline vulnerability database: the Go vulnerability database in its published layout
//! (`index/db.json`, `index/modules.json`, `ID/<id>.json`, each optionally `.gz`) or an OSV
//! ecosystem export (`<id>.json` files, as in `Go/all.zip`), from a directory or a ZIP.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::advisory::{self, Advisory};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "no vulnerability database at {}: run `provguard db update` or pass --db DIR|ZIP",
        .0.display()
    )]
    Missing(PathBuf),
    #[error(
        "{} is not a vulnerability database: expected index/modules.json (Go vulndb layout) or <ID>.json OSV entries",
        .0.display()
    )]
    Layout(PathBuf),
    #[error("vulnerability database {}: {what}: {detail}", path.display())]
    Entry {
        path: PathBuf,
        what: String,
        detail: String,
    },
}

/// Where the files of a database live.
enum Store {
    Dir(PathBuf),
    Zip(Box<zip::ZipArchive<File>>),
}

impl Store {
    /// The bytes of `name`, trying `name.gz` too (gunzipped).
    fn read(&mut self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        for (candidate, gz) in [(name.to_string(), false), (format!("{name}.gz"), true)] {
            let raw = match self {
                Store::Dir(d) => match std::fs::read(d.join(&candidate)) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                },
                Store::Zip(z) => match z.by_name(&candidate) {
                    Ok(mut f) => {
                        let mut b = Vec::new();
                        f.read_to_end(&mut b)?;
                        Some(b)
                    }
                    Err(_) => None,
                },
            };
            if let Some(raw) = raw {
                return Ok(Some(if gz {
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out)?;
                    out
                } else {
                    raw
                }));
            }
        }
        Ok(None)
    }

    /// Top-level `*.json` names (an OSV export).
    fn top_level_json(&mut self) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = match self {
            Store::Dir(d) => std::fs::read_dir(d)?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Store::Zip(z) => z
                .file_names()
                .filter_map(|n| n.ok().map(|n| n.into_owned()))
                .collect(),
        };
        names.retain(|n| !n.contains('/') && (n.ends_with(".json") || n.ends_with(".json.gz")));
        names.sort();
        Ok(names)
    }
}

/// Advisories indexed by package (module path, `stdlib`, `toolchain`).
#[derive(Debug, Default)]
pub struct Database {
    /// What was opened (a path).
    pub source: String,
    /// When the data was last modified (RFC 3339), as the database says.
    pub modified: Option<String>,
    /// Number of advisories loaded.
    pub loaded: usize,
    by_package: HashMap<String, Vec<Arc<Advisory>>>,
}

#[derive(serde::Deserialize)]
struct DbJson {
    modified: String,
}

#[derive(serde::Deserialize)]
struct ModuleIndex {
    path: String,
    #[serde(default)]
    vulns: Vec<ModuleVuln>,
}

#[derive(serde::Deserialize)]
struct ModuleVuln {
    id: String,
}

impl Database {
    /// Open a database directory or ZIP. With `wanted`, a Go-vulndb-layout database loads only
    /// the advisories of those packages (its index says which); an OSV export is read whole.
    pub fn open(path: &Path, wanted: Option<&BTreeSet<String>>) -> Result<Database, DbError> {
        let entry_err = |what: &str, detail: String| DbError::Entry {
            path: path.to_path_buf(),
            what: what.to_string(),
            detail,
        };
        let mut store = if path.is_dir() {
            Store::Dir(path.to_path_buf())
        } else if path.is_file() {
            let f = File::open(path).map_err(|e| entry_err("open", e.to_string()))?;
            Store::Zip(Box::new(
                zip::ZipArchive::new(f)
                    .map_err(|e| entry_err("not a ZIP archive", e.to_string()))?,
            ))
        } else {
            return Err(DbError::Missing(path.to_path_buf()));
        };
        let mut db = Database {
            source: path.display().to_string(),
            ..Database::default()
        };
        let io = |what: &str| {
            let what = what.to_string();
            move |e: std::io::Error| DbError::Entry {
                path: path.to_path_buf(),
                what,
                detail: e.to_string(),
            }
        };
        if let Some(index) = store
            .read("index/modules.json")
            .map_err(io("index/modules.json"))?
        {
            let modules: Vec<ModuleIndex> = serde_json::from_slice(&index)
                .map_err(|e| entry_err("index/modules.json", e.to_string()))?;
            if let Some(meta) = store.read("index/db.json").map_err(io("index/db.json"))? {
                let meta: DbJson = serde_json::from_slice(&meta)
                    .map_err(|e| entry_err("index/db.json", e.to_string()))?;
                db.modified = Some(meta.modified);
            }
            let ids: BTreeSet<String> = modules
                .iter()
                .filter(|m| wanted.is_none_or(|w| w.contains(&m.path)))
                .flat_map(|m| m.vulns.iter().map(|v| v.id.clone()))
                .collect();
            for id in ids {
                let name = format!("ID/{id}.json");
                let bytes = store.read(&name).map_err(io(&name))?.ok_or_else(|| {
                    entry_err(&name, "listed in index/modules.json but missing".into())
                })?;
                db.add(advisory::parse(&bytes).map_err(|e| entry_err(&name, e.to_string()))?);
            }
        } else {
            let names = store.top_level_json().map_err(io("listing"))?;
            if names.is_empty() {
                return Err(DbError::Layout(path.to_path_buf()));
            }
            for name in names {
                let plain = name.trim_end_matches(".gz");
                let bytes = store.read(plain).map_err(io(&name))?.unwrap_or_default();
                let adv = advisory::parse(&bytes).map_err(|e| entry_err(&name, e.to_string()))?;
                if let Some(m) = &adv.modified
                    && db.modified.as_ref().is_none_or(|cur| m > cur)
                {
                    db.modified = Some(m.clone());
                }
                db.add(adv);
            }
        }
        Ok(db)
    }

    fn add(&mut self, adv: Advisory) {
        let adv = Arc::new(adv);
        let mut packages: Vec<&str> = adv.affected.iter().map(|a| a.package.as_str()).collect();
        packages.sort();
        packages.dedup();
        for p in packages {
            self.by_package
                .entry(p.to_string())
                .or_default()
                .push(adv.clone());
        }
        self.loaded += 1;
    }

    /// Advisories naming `package`.
    pub fn for_package(&self, package: &str) -> &[Arc<Advisory>] {
        self.by_package
            .get(package)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/vulndb")
    }

    #[test]
    fn opens_the_vulndb_layout_and_loads_only_what_is_wanted() {
        let db = Database::open(&samples(), None).unwrap();
        assert_eq!(db.loaded, 7);
        assert_eq!(db.modified.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(db.for_package("stdlib").len(), 4);
        let wanted: BTreeSet<String> = ["golang.org/x/crypto".to_string()].into();
        let db = Database::open(&samples(), Some(&wanted)).unwrap();
        assert_eq!(db.loaded, 2);
        assert!(db.for_package("stdlib").is_empty());
    }

    #[test]
    fn opens_an_osv_export_zip_with_gzip_entries() {
        let d = tempfile::tempdir().unwrap();
        let zpath = d.path().join("all.zip");
        let mut z = zip::ZipWriter::new(File::create(&zpath).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for e in std::fs::read_dir(samples().join("ID")).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let data = std::fs::read(e.path()).unwrap();
            use std::io::Write;
            if name.starts_with("GO-2023") {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(&data).unwrap();
                z.start_file(format!("{name}.gz"), opts).unwrap();
                z.write_all(&gz.finish().unwrap()).unwrap();
            } else {
                z.start_file(name, opts).unwrap();
                z.write_all(&data).unwrap();
            }
        }
        z.finish().unwrap();
        let db = Database::open(&zpath, None).unwrap();
        assert_eq!(db.loaded, 7);
        assert_eq!(db.modified.as_deref(), Some("2026-11-01T00:00:00Z"));
    }

    #[test]
    fn errors_are_specific() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            Database::open(&d.path().join("nope"), None),
            Err(DbError::Missing(_))
        ));
        assert!(matches!(
            Database::open(d.path(), None),
            Err(DbError::Layout(_))
        ));
        std::fs::write(d.path().join("GO-1.json"), b"{not json").unwrap();
        let e = Database::open(d.path(), None).unwrap_err().to_string();
        assert!(e.contains("GO-1.json"), "{e}");
    }
}
