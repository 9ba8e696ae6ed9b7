//! What audit sources hold, found from manifests and files alone so that a results cache can
//! answer before any blob is downloaded: an OCI namespace `oci://HOST/PREFIX` (every repository
//! under PREFIX from the registry's catalog, every version tag, every platform of each provider
//! index), an `oci://HOST/REPO:TAG` provider, a directory tree holding `.terraform.lock.hcl`
//! files (every locked package, located as `gate` locates them, with the lock files that pin
//! it), a filesystem mirror or `dist/` directory, a file, or anything else `scan` takes.
//!
//! Registry work goes over one shared connection per host ([`Connections`]): the survey's
//! manifest and referrer requests run `jobs` at a time, and an artifact's analysis reuses what
//! the survey read ([`oci::Discovered`]), downloading only its blobs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use super::lockfile::{self, LockFile};
use super::{SourceOptions, Target, local, oci};
use crate::artifact::naming::parse_zip_name;
use crate::artifact::stream::sha256_reader;
use crate::foundation::{pool, version::Version};
use crate::registry::index::ProviderIndex;
use crate::registry::referrers::Referrer;
use crate::registry::{ClientOptions, OciTarget, Registry, repo_ref};

/// One registry connection per host, made when first needed and shared by every thread.
#[derive(Default)]
pub struct Connections {
    hosts: Mutex<BTreeMap<String, Arc<Registry>>>,
}

impl Connections {
    /// The connection to `host`.
    pub fn to(&self, opts: &ClientOptions, host: &str) -> Result<Arc<Registry>> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = hosts.get(host) {
            return Ok(r.clone());
        }
        let r = Arc::new(Registry::new(opts, host)?);
        hosts.insert(host.to_string(), r.clone());
        Ok(r)
    }
}

/// Where a provider package was found and what it is: what reports carry of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Located {
    /// Identity: `LOCATION@DIGEST` (what `--shard` partitions by).
    pub id: String,
    pub location: String,
    /// The SOURCE argument that found it.
    pub source: String,
    pub provider: String,
    pub version: Option<String>,
    pub platform: Option<String>,
    /// `sha256:…` of the ZIP (the lock file's `zh:`), or of the executable.
    pub digest: String,
    /// Lock files that pin it (lock-file sources).
    pub used_by: Vec<String>,
}

/// One provider package an audit will analyse, before its bytes are fetched.
#[derive(Debug, Clone)]
pub struct Planned {
    pub at: Located,
    /// Digests of the SBOMs attached to it (they decide the inventory too), and of a carried
    /// signature (it decides the provenance).
    pub attached: Vec<String>,
    pub fetch: Fetch,
}

/// How to get the bytes.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// Platform `platform` (an index into `found.platforms`) of `oci://HOST/REPO:TAG`, whose
    /// manifests the survey read.
    Oci {
        target: OciTarget,
        found: Arc<oci::Discovered>,
        platform: usize,
    },
    /// Already here (local files, and packages located for a lock file).
    Ready(Box<Target>),
}

impl Planned {
    /// The pipeline target: fetched now for registry packages (the blob cache first) over
    /// `conns`, without reading their manifests again.
    pub fn target(&self, opts: &SourceOptions, conns: &Connections) -> Result<Target> {
        match &self.fetch {
            Fetch::Ready(t) => Ok((**t).clone()),
            Fetch::Oci {
                target,
                found,
                platform,
            } => {
                let reg = conns.to(&opts.registry, target.host())?;
                oci::discovered_target(&reg, target, found, &found.platforms[*platform])
            }
        }
    }
}

/// Called with each package as soon as the survey finds it — from several threads, possibly
/// more than once for one identity (the caller deduplicates) — so that its analysis can start
/// while the survey goes on.
pub type Emit<'a> = &'a (dyn Fn(&Planned) + Sync);

/// Every package of `sources`, in source order, each identity once (lock files that pin the
/// same package are merged into its `used_by`). `page_size` is the catalog's `n`; each
/// package is also handed to `emit` as it is found.
pub fn survey(
    sources: &[String],
    opts: &SourceOptions,
    conns: &Connections,
    page_size: usize,
    jobs: usize,
    emit: Emit,
) -> Result<Vec<Planned>> {
    let mut out: Vec<Planned> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in sources {
        for p in one_source(s, opts, conns, page_size, jobs, emit)? {
            match seen.get(&p.at.id) {
                Some(&i) => {
                    for u in p.at.used_by {
                        if !out[i].at.used_by.contains(&u) {
                            out[i].at.used_by.push(u);
                        }
                    }
                }
                None => {
                    seen.insert(p.at.id.clone(), out.len());
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}

fn one_source(
    s: &str,
    opts: &SourceOptions,
    conns: &Connections,
    page_size: usize,
    jobs: usize,
    emit: Emit,
) -> Result<Vec<Planned>> {
    let found = match s.strip_prefix("oci://") {
        Some(rest) => {
            let (host, path) = rest
                .split_once('/')
                .map_or((rest, ""), |(h, p)| (h, p.trim_end_matches('/')));
            match (path.contains('@'), path.rsplit_once(':')) {
                // A namespace emits each tag's packages as it reads them.
                (false, None) => {
                    let reg = conns.to(&opts.registry, host)?;
                    return namespace(&reg, s, host, path, opts, page_size, jobs, emit);
                }
                (false, Some((repo, tag))) => {
                    let reg = conns.to(&opts.registry, host)?;
                    oci_tag(&reg, s, host, repo, tag, opts)?
                }
                (true, _) => local_source(s, opts)?,
            }
        }
        None => local_source(s, opts)?,
    };
    found.iter().for_each(emit);
    Ok(found)
}

/// A directory, a file, or anything else `scan` takes (an OCI digest reference too).
fn local_source(s: &str, opts: &SourceOptions) -> Result<Vec<Planned>> {
    let p = Path::new(s);
    if p.is_dir() {
        let locks = lock_files(p)?;
        if !locks.is_empty() {
            return lock_tree(s, p, &locks, opts);
        }
        return local::targets(p)?
            .into_iter()
            .map(|t| ready(s, t))
            .collect();
    }
    super::resolve(&[PathBuf::from(s)], opts)?
        .into_iter()
        .map(|t| ready(s, t))
        .collect()
}

/// Every repository under `prefix`, every SemVer tag, every platform: the tag lists, then
/// the tags' manifests, `jobs` requests at a time over `reg`; each tag's packages go to `emit`
/// as soon as its manifests are read.
#[allow(clippy::too_many_arguments)]
fn namespace(
    reg: &Registry,
    source: &str,
    host: &str,
    prefix: &str,
    opts: &SourceOptions,
    page_size: usize,
    jobs: usize,
    emit: Emit,
) -> Result<Vec<Planned>> {
    let repos = reg.catalog(host, prefix, page_size)?;
    tracing::info!("{source}: {} repositories in the catalog", repos.len());
    let per_repo = pool::map(&repos, jobs, |repo| {
        let tags = reg.list_tags(&repo_ref(host, repo, "latest"))?;
        // The listing is the survey's snapshot: referrers fallback and cosign tags not in it
        // are not asked for (distribution has no referrers API: two requests per manifest).
        reg.assume_tags(repo, &tags);
        let mut versions: Vec<(Version, String)> = tags
            .into_iter()
            .filter_map(|t| Some((Version::parse(&t.replace('_', "+"))?, t)))
            .collect();
        versions.sort();
        anyhow::Ok(
            versions
                .into_iter()
                .map(|(_, t)| (repo.clone(), t))
                .collect::<Vec<_>>(),
        )
    })?;
    let tagged: Vec<(String, String)> = per_repo.into_iter().flatten().collect();
    let per_tag = pool::map(&tagged, jobs, |(repo, tag)| {
        let found = oci_tag(reg, source, host, repo, tag, opts)?;
        found.iter().for_each(emit);
        anyhow::Ok(found)
    })?;
    Ok(per_tag.into_iter().flatten().collect())
}

fn digests(referrers: &[Referrer]) -> impl Iterator<Item = String> + '_ {
    referrers.iter().map(|r| r.digest.clone())
}

/// The platforms of the provider index `HOST/REPO:TAG`, from manifests only. A tag holding
/// something else (a container image, a module) is skipped with a warning.
fn oci_tag(
    reg: &Registry,
    source: &str,
    host: &str,
    repo: &str,
    tag: &str,
    opts: &SourceOptions,
) -> Result<Vec<Planned>> {
    let reference = format!("oci://{host}/{repo}:{tag}");
    let r = repo_ref(host, repo, tag);
    let (bytes, digest) = reg.manifest(&r, None)?;
    let index = match ProviderIndex::parse(&reference, bytes, digest) {
        Ok(i) => i,
        Err(e) if !source.contains(&format!("{repo}:{tag}")) => {
            tracing::warn!("skipped: {e:#}");
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let target = OciTarget::parse(&reference)?;
    let selected: Vec<_> = index
        .select(&reference, &[])?
        .into_iter()
        .filter(|e| opts.platforms.is_empty() || opts.platforms.contains(&e.platform()))
        .collect();
    let found = Arc::new(oci::discover(
        reg,
        &target,
        &index,
        &selected,
        opts.attached,
    )?);
    let version = tag.replace('_', "+");
    let mut out = Vec::new();
    for (i, p) in found.platforms.iter().enumerate() {
        let platform = p.entry.platform();
        let mut attached: Vec<String> = digests(&p.sboms).collect();
        attached.extend(digests(&found.index_sboms));
        // A carried signature decides the provenance in the result: it keys it too.
        attached.extend(digests(&found.signatures));
        let location = format!("{reference} ({platform})");
        out.push(Planned {
            at: Located {
                id: format!("{location}@{}", p.entry.digest),
                location,
                source: source.to_string(),
                provider: format!("{host}/{repo}"),
                version: Some(version.clone()),
                platform: Some(platform),
                digest: p.layer.digest.clone(),
                used_by: Vec::new(),
            },
            attached,
            fetch: Fetch::Oci {
                target: target.clone(),
                found: found.clone(),
                platform: i,
            },
        });
    }
    Ok(out)
}

/// `.terraform.lock.hcl` files under `dir` (not inside `.terraform/` or `.git/`), sorted.
fn lock_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))? {
            let e = e.with_context(|| format!("cannot list {}", d.display()))?;
            let name = e.file_name();
            let ft = e.file_type()?;
            if ft.is_dir() && name != ".terraform" && name != ".git" {
                stack.push(e.path());
            } else if ft.is_file() && name == ".terraform.lock.hcl" {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Every package every lock file pins, located as `gate` locates them (`--oci-mirror`, else
/// the tofu CLI configuration's installation methods).
fn lock_tree(
    source: &str,
    root: &Path,
    locks: &[PathBuf],
    opts: &SourceOptions,
) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    for path in locks {
        let lock = LockFile::load(path)?;
        let used_by = Path::new(source)
            .join(path.strip_prefix(root).unwrap_or(path))
            .display()
            .to_string();
        for p in lockfile::locate(&lock, &[], opts)? {
            let locked = &lock.providers[p.provider];
            let mut planned = ready(source, p.target)?;
            planned.at.provider = locked.address.clone();
            planned.at.version = Some(locked.version.clone());
            planned.at.platform = Some(p.platform.clone());
            planned.at.used_by = vec![used_by.clone()];
            out.push(planned);
        }
    }
    Ok(out)
}

/// A target that is already here: its digest from its bytes (or its registry layer).
fn ready(source: &str, t: Target) -> Result<Planned> {
    let digest = match &t.registry {
        Some(r) => r.layer_digest.clone(),
        None => {
            let mut f = std::fs::File::open(&t.path)
                .with_context(|| format!("cannot read {}", t.path.display()))?;
            format!("sha256:{}", hex::encode(sha256_reader(&mut f)?))
        }
    };
    let location = t
        .display
        .clone()
        .unwrap_or_else(|| t.path.display().to_string());
    let zip = t
        .file_name
        .as_deref()
        .or(t.path.file_name().and_then(|n| n.to_str()))
        .and_then(parse_zip_name);
    let n = &t.naming;
    let provider = n
        .address
        .clone()
        .or_else(|| {
            n.provider_type
                .clone()
                .map(|p| format!("terraform-provider-{p}"))
        })
        .or_else(|| {
            zip.as_ref()
                .map(|z| format!("terraform-provider-{}", z.provider_type))
        })
        .unwrap_or_else(|| location.clone());
    let platform = match (&n.os, &n.arch) {
        (Some(o), Some(a)) => Some(format!("{o}_{a}")),
        _ => zip.as_ref().map(|z| format!("{}_{}", z.os, z.arch)),
    };
    Ok(Planned {
        at: Located {
            id: format!("{location}@{digest}"),
            location,
            source: source.to_string(),
            provider,
            version: n
                .version
                .clone()
                .or_else(|| zip.as_ref().map(|z| z.version.clone())),
            platform,
            digest,
            used_by: Vec::new(),
        },
        attached: t
            .attached
            .iter()
            .map(|a| a.manifest_digest.clone())
            .collect(),
        fetch: Fetch::Ready(Box::new(t)),
    })
}
