//! Fetching the offline vulnerability database (`provguard db update`): the Go vulnerability
//! database in its published layout (`index/db.json`, `index/modules.json`, `ID/<id>.json`,
//! gzip-encoded or not) or an OSV ecosystem export ZIP (`Go/all.zip`), from `--db-url`.
//!
//! The download goes into a fresh folder (or file) beside the current database, is opened and
//! checked as a database, and only then becomes current by atomically re-pointing the
//! `vulndb` symlink — an interrupted or failed update leaves the previous database in use.
//! Entries whose `modified` date is unchanged are copied from the previous database instead of
//! downloaded again.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// What the caller's check of a downloaded database found: the analysis layer opens it (this
/// layer only fetches), so a download that is not a usable database never becomes current.
#[derive(Debug, Clone)]
pub struct Checked {
    pub entries: usize,
    pub modified: Option<String>,
}

/// Opens a downloaded database (a folder or a ZIP) and says what it holds, or why it is unusable.
pub type Check<'a> = &'a dyn Fn(&Path) -> Result<Checked>;

/// Where `provguard db update` fetches from by default.
pub const DEFAULT_URL: &str = "https://vuln.go.dev";

#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub url: String,
    pub cache_dir: PathBuf,
    pub timeout: Duration,
    pub jobs: usize,
    pub retries: u32,
    pub progress: bool,
}

/// What an update did.
#[derive(Debug, Clone)]
pub struct UpdateSummary {
    pub path: PathBuf,
    pub entries: usize,
    pub downloaded: usize,
    pub reused: usize,
    pub modified: Option<String>,
}

/// The database path `scan` uses when none is given: `<cache>/vulndb` (a symlink).
pub fn current_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("vulndb")
}

struct Fetcher {
    client: reqwest::blocking::Client,
    retries: u32,
}

impl Fetcher {
    /// GET with bounded retries and exponential backoff on 429, 5xx and transport errors.
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .client
                .get(url)
                .header("Accept-Encoding", "gzip")
                .send()
                .map_err(|e| (true, anyhow!("{url}: {e}")))
                .and_then(|resp| {
                    let status = resp.status();
                    if status.is_success() {
                        let gz = resp
                            .headers()
                            .get("content-encoding")
                            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
                        let body = resp.bytes().map_err(|e| (true, anyhow!("{url}: {e}")))?;
                        if gz {
                            let mut out = Vec::new();
                            flate2::read::GzDecoder::new(&body[..])
                                .read_to_end(&mut out)
                                .map_err(|e| (false, anyhow!("{url}: bad gzip body: {e}")))?;
                            Ok(out)
                        } else {
                            Ok(body.to_vec())
                        }
                    } else {
                        let retry = status.as_u16() == 429 || status.is_server_error();
                        Err((retry, anyhow!("{url}: HTTP {status}")))
                    }
                });
            match outcome {
                Ok(b) => return Ok(b),
                Err((true, e)) if attempt <= self.retries => {
                    tracing::debug!("retrying after {e}");
                    std::thread::sleep(Duration::from_millis(200 * (1 << attempt.min(6))));
                }
                Err((_, e)) => return Err(e),
            }
        }
    }
}

fn unique_suffix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", t.as_secs(), std::process::id())
}

#[derive(serde::Deserialize)]
struct ModuleIndex {
    #[serde(default)]
    vulns: Vec<VulnRef>,
}

#[derive(serde::Deserialize)]
struct VulnRef {
    id: String,
    #[serde(default)]
    modified: String,
}

fn id_dates(modules_json: &[u8]) -> Result<HashMap<String, String>> {
    let idx: Vec<ModuleIndex> =
        serde_json::from_slice(modules_json).context("index/modules.json")?;
    Ok(idx
        .into_iter()
        .flat_map(|m| m.vulns)
        .map(|v| (v.id, v.modified))
        .collect())
}

fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !id.starts_with('.')
}

/// Download, check, and make current.
pub fn update(opts: &UpdateOptions, check: Check) -> Result<UpdateSummary> {
    std::fs::create_dir_all(&opts.cache_dir)
        .with_context(|| format!("cannot create {}", opts.cache_dir.display()))?;
    let fetcher = Fetcher {
        client: reqwest::blocking::Client::builder()
            .timeout(opts.timeout)
            .user_agent(concat!("provguard/", env!("CARGO_PKG_VERSION")))
            .build()?,
        retries: opts.retries,
    };
    let suffix = unique_suffix();
    let base = opts.url.trim_end_matches('/');
    let (name, summary) = if base.ends_with(".zip") {
        let name = format!("vulndb-{suffix}.zip");
        let tmp = opts.cache_dir.join(format!(".{name}.partial"));
        let bytes = fetcher.get(base)?;
        std::fs::write(&tmp, &bytes)?;
        let db = match check(&tmp) {
            Ok(db) => db,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).context(
                    "the downloaded ZIP is not a usable database; the previous one stays",
                );
            }
        };
        std::fs::rename(&tmp, opts.cache_dir.join(&name))?;
        let summary = UpdateSummary {
            path: current_path(&opts.cache_dir),
            entries: db.entries,
            downloaded: db.entries,
            reused: 0,
            modified: db.modified,
        };
        (name, summary)
    } else {
        let name = format!("vulndb-{suffix}");
        let tmp = opts.cache_dir.join(format!(".{name}.partial"));
        let result = fetch_layout(&fetcher, base, &tmp, opts);
        let (downloaded, reused) = match result {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e.context("update failed; the previous database stays in use"));
            }
        };
        let db = match check(&tmp) {
            Ok(db) => db,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(
                    e.context("the download is not a usable database; the previous one stays")
                );
            }
        };
        std::fs::rename(&tmp, opts.cache_dir.join(&name))?;
        let summary = UpdateSummary {
            path: current_path(&opts.cache_dir),
            entries: db.entries,
            downloaded,
            reused,
            modified: db.modified,
        };
        (name, summary)
    };
    swap_current(&opts.cache_dir, &name)?;
    Ok(summary)
}

/// Fetch the Go vulndb layout into `dir`; returns (downloaded, reused) entry counts.
fn fetch_layout(
    fetcher: &Fetcher,
    base: &str,
    dir: &Path,
    opts: &UpdateOptions,
) -> Result<(usize, usize)> {
    std::fs::create_dir_all(dir.join("index"))?;
    std::fs::create_dir_all(dir.join("ID"))?;
    let db_json = fetcher.get(&format!("{base}/index/db.json"))?;
    let modules_json = fetcher.get(&format!("{base}/index/modules.json"))?;
    let wanted = id_dates(&modules_json)?;
    let previous = current_path(&opts.cache_dir);
    let old = std::fs::read(previous.join("index/modules.json"))
        .ok()
        .and_then(|b| id_dates(&b).ok())
        .unwrap_or_default();
    let ids: Vec<(&String, &String)> = wanted.iter().collect();
    let pb =
        crate::foundation::progress::bar(ids.len() as u64, opts.progress, "fetching advisories");
    let next = AtomicUsize::new(0);
    let reused = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| {
                loop {
                    if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((id, modified)) = ids.get(i) else {
                        return;
                    };
                    let r = (|| -> Result<()> {
                        if !safe_id(id) {
                            bail!("index/modules.json names an unsafe ID {id:?}");
                        }
                        let dest = dir.join("ID").join(format!("{id}.json"));
                        let prev = previous.join("ID").join(format!("{id}.json"));
                        if !modified.is_empty() && old.get(*id) == Some(*modified) && prev.is_file()
                        {
                            std::fs::copy(&prev, &dest)?;
                            reused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            std::fs::write(&dest, fetcher.get(&format!("{base}/ID/{id}.json"))?)?;
                        }
                        Ok(())
                    })();
                    match r {
                        Ok(()) => pb.inc(1),
                        Err(e) => {
                            if let Ok(mut f) = failure.lock() {
                                f.get_or_insert(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    pb.finish_and_clear();
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    // The index goes in last: a folder with an index is a complete one.
    std::fs::write(dir.join("index/db.json"), db_json)?;
    std::fs::write(dir.join("index/modules.json"), modules_json)?;
    let reused = reused.into_inner();
    Ok((ids.len() - reused, reused))
}

/// Point `<cache>/vulndb` at `name` atomically (symlink renamed over symlink), then remove
/// what it pointed at before.
fn swap_current(cache: &Path, name: &str) -> Result<()> {
    let link = current_path(cache);
    let old_target = std::fs::read_link(&link).ok();
    if link.exists() && old_target.is_none() {
        // A real folder or file from elsewhere: move it aside rather than lose it.
        std::fs::rename(
            &link,
            cache.join(format!("vulndb-previous-{}", unique_suffix())),
        )?;
    }
    let tmp_link = cache.join(format!(".vulndb-link-{}", unique_suffix()));
    std::os::unix::fs::symlink(name, &tmp_link)?;
    std::fs::rename(&tmp_link, &link)?;
    if let Some(old) = old_target {
        let old = cache.join(old);
        if old.file_name().is_some_and(|n| n.to_string_lossy() != name) {
            let _ = if old.is_dir() {
                std::fs::remove_dir_all(&old)
            } else {
                std::fs::remove_file(&old)
            };
        }
    }
    Ok(())
}
