//! `provguard audit` as a library component (cargo-audit's `Auditor` is the model): survey
//! the sources from manifests alone ([`crate::source::survey`]), handing each package of this
//! shard's share ([`shard`]) to a bounded pool as soon as it is found, where it either reuses
//! the results cache ([`cache`]) or has its blobs fetched (over the survey's shared registry
//! connections, its manifests not read again), inventoried, matched and judged ([`analyse`]),
//! writing its evidence when asked ([`evidence`]); the report is built from the results in the
//! survey's final list (lock files merged into `used_by`), sorted, its summary computed from
//! them. [`merge`] joins shard reports into the report an unsharded run writes.

pub mod analyse;
pub mod cache;
pub mod evidence;
pub mod merge;
pub mod shard;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::{Result, anyhow};
use sha2::{Digest, Sha256};

use super::gate::{load_policy, load_waivers};
use super::scan::DbChoice;
use crate::analysis::policy::checks;
use crate::analysis::vuln::Database;
use crate::artifact::zip::Limits;
use crate::foundation::{pool, progress, time, version::Version};
use crate::inventory::SbomSource;
use crate::report::RenderOptions;
use crate::report::audit::model::{
    self, AuditArtifact, AuditDb, AuditReport, CacheStats, PolicyInfo, Shard, Tool,
};
use crate::report::audit::summary::Summary;
use crate::source::SourceOptions;
use crate::source::survey::{self, Planned};

/// What an audit reads, and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// `oci://HOST/PREFIX`, `oci://HOST/REPO:TAG`, directories (lock-file trees, filesystem
    /// mirrors, `dist/`), files, or anything `scan` takes.
    pub sources: Vec<String>,
    pub source: SourceOptions,
    pub sbom_source: SbomSource,
    pub limits: Limits,
    pub db: DbChoice,
    /// Policy file: its rules and waivers apply per artifact when given.
    pub policy: Option<PathBuf>,
    pub ignore_file: Option<PathBuf>,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub symbols: bool,
    /// Where the results cache lives; `None` keeps none.
    pub results_cache: Option<PathBuf>,
    /// The catalog's page size (`n`).
    pub page_size: usize,
    pub evidence_dir: Option<PathBuf>,
    pub render: RenderOptions,
    pub now: i64,
    /// Draw a progress bar on stderr (the caller decides: a terminal, not `--quiet`).
    pub progress: bool,
}

/// Artifacts in report order: provider, version (SemVer order), platform, id.
pub fn sort(artifacts: &mut [AuditArtifact]) {
    artifacts.sort_by(|a, b| {
        let v = |x: &AuditArtifact| x.at.version.as_deref().and_then(Version::parse);
        a.at.provider
            .cmp(&b.at.provider)
            .then_with(|| v(a).cmp(&v(b)))
            .then_with(|| a.at.version.cmp(&b.at.version))
            .then_with(|| a.at.platform.cmp(&b.at.platform))
            .then_with(|| a.at.id.cmp(&b.at.id))
    });
}

fn sha256_files(paths: &[Option<&PathBuf>]) -> Result<String> {
    let mut h = Sha256::new();
    for p in paths.iter().flatten() {
        h.update(std::fs::read(p).map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?);
        h.update([0]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Run the audit.
pub fn run(opts: &AuditOptions) -> Result<AuditReport> {
    let policy = opts
        .policy
        .as_deref()
        .map(|p| load_policy(Some(p)))
        .transpose()?;
    let waivers = match &policy {
        Some(_) => load_waivers(opts.ignore_file.as_deref())?,
        None => Default::default(),
    };
    // The policy's hash covers the waiver file in force and which of its waivers have lapsed
    // by now: a cached result is never judged by yesterday's waivers.
    let waiver_file = waivers.source.as_ref().map(PathBuf::from);
    let lapsed: Vec<&str> = waivers
        .list
        .iter()
        .filter(|w| w.expired(opts.now))
        .map(|w| w.id.as_str())
        .collect();
    let policy_info = match &policy {
        Some(p) => Some(PolicyInfo {
            name: p.name.clone(),
            source: p.source.clone(),
            hash: cache::key(&[
                sha256_files(&[opts.policy.as_ref(), waiver_file.as_ref()])?,
                lapsed.join(","),
            ]),
        }),
        None => None,
    };
    // The database's date and Go releases from its index and standard-library entries; the
    // whole of it is read only when an artifact needs analysing.
    let db_path = opts.db.path();
    let stdlib: BTreeSet<String> = ["stdlib".to_string(), "toolchain".to_string()].into();
    let head = Database::open(&db_path, Some(&stdlib))?;
    let latest = checks::latest_go(&head);
    let full: OnceLock<std::result::Result<Database, String>> = OnceLock::new();
    let database = || {
        full.get_or_init(|| Database::open(&db_path, None).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    };
    let judge = policy.as_ref().map(|p| analyse::Judge {
        policy: p,
        waivers: &waivers,
        latest,
        now: opts.now,
    });

    let conns = survey::Connections::default();
    let cache = cache::ResultsCache::at(opts.results_cache.clone());
    let settings = format!(
        "symbols={} sbom-source={:?} platforms={:?}",
        opts.symbols, opts.sbom_source, opts.source.platforms
    );
    let db_stamp = head.modified.clone().unwrap_or_else(|| {
        std::fs::metadata(&db_path)
            .and_then(|m| m.modified())
            .map(|t| format!("{t:?}"))
            .unwrap_or_default()
    });
    let (hits, misses) = (AtomicU64::new(0), AtomicU64::new(0));
    let bar = progress::bar(0, opts.progress, "auditing");
    let evidence = opts
        .evidence_dir
        .as_ref()
        .map(|d| evidence::Writer::new(d, &opts.render));
    // One artifact: its result from the cache, else analysed (and cached).
    let audit_one = |p: Planned| -> Result<(String, model::ArtifactResult)> {
        let mut parts = vec![
            p.at.digest.clone(),
            db_stamp.clone(),
            env!("CARGO_PKG_VERSION").to_string(),
            policy_info
                .as_ref()
                .map(|i| i.hash.clone())
                .unwrap_or_default(),
            settings.clone(),
        ];
        parts.extend(p.attached.iter().cloned());
        let key = cache::key(&parts);
        let cached = if evidence.is_none() {
            cache.get(&key)
        } else {
            None
        };
        let result = match cached {
            Some(r) => {
                hits.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("{}: result from the cache", p.at.location);
                r
            }
            None => {
                misses.fetch_add(1, Ordering::Relaxed);
                let a = analyse::analyse(&p, opts, &conns, database()?, judge.as_ref())?;
                if let Some(w) = &evidence {
                    w.write(&p, &a, database()?)?;
                }
                cache.put(&key, &a.result);
                a.result
            }
        };
        bar.inc(1);
        Ok((p.at.id, result))
    };

    // One connection per registry host (`conns`) for the survey and every fetch after it. Each
    // package of this shard goes to the workers as soon as the survey finds it: the analyses start
    // while the survey is still reading manifests.
    let seen: Mutex<HashSet<String>> = Mutex::default();
    let (mut planned, results) = std::thread::scope(|s| -> Result<_> {
        let feed = Mutex::new(pool::Feed::start(s, opts.jobs, audit_one));
        let lock = || feed.lock().unwrap_or_else(|p| p.into_inner());
        let emit = |p: &Planned| {
            let ours = opts
                .shard
                .as_ref()
                .is_none_or(|s| shard::holds(s, &p.at.id));
            if ours
                && seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(p.at.id.clone())
            {
                bar.inc_length(1);
                lock().push(p.clone());
            }
        };
        let planned = survey::survey(
            &opts.sources,
            &opts.source,
            &conns,
            opts.page_size,
            opts.jobs,
            &emit,
        );
        let feed = feed.into_inner().unwrap_or_else(|p| p.into_inner());
        // A failed survey drops the feed: what is queued is skipped.
        let planned = planned?;
        Ok((planned, feed.finish()?))
    })?;
    if let Some(s) = &opts.shard {
        planned.retain(|p| shard::holds(s, &p.at.id));
    }
    tracing::info!("audited {} artifact(s)", planned.len());
    let mut by_id: HashMap<String, model::ArtifactResult> = results.into_iter().collect();
    let artifacts = planned
        .iter()
        .map(|p| {
            let result = by_id
                .remove(&p.at.id)
                .ok_or_else(|| anyhow!("{}: surveyed but not analysed (a bug)", p.at.location))?;
            Ok(AuditArtifact {
                at: p.at.clone(),
                result,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    bar.finish_and_clear();
    let mut artifacts = artifacts;
    sort(&mut artifacts);
    let cache = CacheStats {
        hits: hits.into_inner(),
        misses: misses.into_inner(),
    };
    tracing::info!(
        "results cache: {} hit(s), {} miss(es)",
        cache.hits,
        cache.misses
    );
    if let Some(w) = &evidence {
        w.index(&artifacts)?;
    }
    Ok(AuditReport {
        schema_version: model::SCHEMA_VERSION,
        kind: model::KIND.into(),
        tool: Tool {
            name: "provguard".into(),
            version: opts.render.tool_version.into(),
        },
        generated_at: time::rfc3339(opts.render.timestamp),
        database: AuditDb {
            source: head.source.clone(),
            modified: head.modified.clone(),
            latest_go: latest.map(|g| format!("{}.{}", g.0, g.1)),
        },
        summary: Summary::of(&artifacts, policy_info.is_some()),
        policy: policy_info,
        sources: opts.sources.clone(),
        shard: opts.shard,
        cache,
        artifacts,
    })
}
