//! A provider address resolved as tofu resolves it through the CLI configuration's
//! `provider_installation` methods: the version list is the union of what every method that
//! handles the address offers (not-found answers skipped, any other error aborting), and each
//! platform's package comes from the first method, in configuration order, that has it.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::address::{self, CliConfig, Credentials, Installation, Method, ProviderAddress};
use super::protocol::{self, Fetcher, Package};
use super::{SourceOptions, Target, local, oci};
use crate::foundation::version::{Constraint, Version};
use crate::registry::OciTarget;

/// The configuration and the HTTP fetcher of one run.
pub struct Installer {
    pub config: CliConfig,
    pub fetcher: Fetcher,
    pub opts: SourceOptions,
}

/// One fetched platform: the pipeline target, and the registry package when it came through a
/// protocol (with its signed checksum list).
pub struct Fetched {
    pub target: Target,
    pub package: Option<Package>,
}

impl Installer {
    pub fn new(opts: &SourceOptions) -> Result<Installer> {
        let config = address::cli_config()?;
        let creds = Credentials::from_env(&config);
        Ok(Installer {
            fetcher: Fetcher::new(&opts.registry, creds)?,
            config,
            opts: opts.clone(),
        })
    }

    pub fn methods(&self, addr: &ProviderAddress) -> Vec<Installation> {
        self.config.methods_for(addr)
    }

    fn oci_repo(&self, addr: &ProviderAddress, template: &str) -> Result<String> {
        addr.expand(template)
    }

    /// The union of the versions every method offers.
    pub fn versions(&self, addr: &ProviderAddress) -> Result<Vec<String>> {
        let mut out = BTreeSet::new();
        let methods = self.methods(addr);
        if methods.is_empty() {
            bail!(
                "{}: no provider_installation method handles this provider (check include/exclude)",
                addr.full()
            );
        }
        for m in &methods {
            match &m.method {
                Method::Direct => {
                    if let Some(v) = self.fetcher.registry_versions(addr)? {
                        out.extend(v.versions.into_iter().map(|v| v.version));
                    }
                }
                Method::NetworkMirror { url, .. } => {
                    if let Some(v) = self.fetcher.mirror_versions(url, addr)? {
                        out.extend(v);
                    }
                }
                Method::OciMirror {
                    repository_template,
                } => {
                    let repo = self.oci_repo(addr, repository_template)?;
                    match oci::list_tags(&repo, &self.opts) {
                        Ok(tags) => out.extend(tags.iter().map(|t| t.replace('_', "+"))),
                        Err(e) if is_not_found(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Method::FilesystemMirror { path } => {
                    for t in self.filesystem(addr, path)? {
                        out.extend(t.naming.version.clone());
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The highest version `constraint` allows among [`Installer::versions`].
    pub fn resolve_version(&self, addr: &ProviderAddress, constraint: &str) -> Result<String> {
        let c = Constraint::parse(constraint).map_err(|e| anyhow!(e))?;
        let all = self.versions(addr)?;
        all.iter()
            .filter_map(|v| Version::parse(v).map(|p| (p, v)))
            .filter(|(p, _)| c.allows(p))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| {
                anyhow!(
                    "{}: no version matches {constraint:?} (available: {})",
                    addr.full(),
                    if all.is_empty() {
                        "none".to_string()
                    } else {
                        all.join(", ")
                    }
                )
            })
    }

    fn filesystem(&self, addr: &ProviderAddress, path: &str) -> Result<Vec<Target>> {
        let dir = Path::new(path)
            .join(&addr.hostname)
            .join(&addr.namespace)
            .join(&addr.provider_type);
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for mut t in local::targets(Path::new(path))? {
            let n = t
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(crate::artifact::naming::parse_zip_name);
            if let Some(z) = n {
                t.naming.version.get_or_insert(z.version);
                t.naming.os.get_or_insert(z.os);
                t.naming.arch.get_or_insert(z.arch);
                t.naming.provider_type.get_or_insert(z.provider_type);
            }
            if t.path.starts_with(&dir) {
                t.naming.address = Some(addr.full());
                out.push(t);
            }
        }
        Ok(out)
    }

    /// One platform of `version`, from the first method that has it.
    pub fn fetch(&self, addr: &ProviderAddress, version: &str, platform: &str) -> Result<Fetched> {
        let mut tried = Vec::new();
        for m in self.methods(addr) {
            tried.push(m.method.name());
            match &m.method {
                Method::Direct => {
                    if let Some(p) = self.fetcher.registry_package(addr, version, platform)? {
                        return Ok(Fetched {
                            target: p.target(addr, version),
                            package: Some(p),
                        });
                    }
                }
                Method::NetworkMirror {
                    url,
                    trust_all_hashes,
                } => {
                    if self
                        .fetcher
                        .mirror_versions(url, addr)?
                        .is_some_and(|v| v.iter().any(|x| x == version))
                        && let Some(p) = self.fetcher.mirror_package(
                            url,
                            *trust_all_hashes,
                            addr,
                            version,
                            platform,
                        )?
                    {
                        return Ok(Fetched {
                            target: p.target(addr, version),
                            package: Some(p),
                        });
                    }
                }
                Method::OciMirror {
                    repository_template,
                } => {
                    let repo = self.oci_repo(addr, repository_template)?;
                    let target =
                        OciTarget::parse(&format!("oci://{repo}:{}", version.replace('+', "_")))?;
                    let mut o = self.opts.clone();
                    o.platforms = vec![platform.to_string()];
                    match oci::targets(&target, &o) {
                        Ok(mut ts) if !ts.is_empty() => {
                            let mut t = ts.remove(0);
                            t.naming.address = Some(addr.full());
                            return Ok(Fetched {
                                target: t,
                                package: None,
                            });
                        }
                        Ok(_) => {}
                        Err(e) if is_not_found(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                Method::FilesystemMirror { path } => {
                    if let Some(t) = self.filesystem(addr, path)?.into_iter().find(|t| {
                        t.naming.version.as_deref() == Some(version)
                            && t.naming
                                .os
                                .as_deref()
                                .zip(t.naming.arch.as_deref())
                                .map(|(o, a)| format!("{o}_{a}"))
                                .as_deref()
                                == Some(platform)
                    }) {
                        return Ok(Fetched {
                            target: t,
                            package: None,
                        });
                    }
                }
            }
        }
        bail!(
            "{} {version}: no package for {platform} (tried {})",
            addr.full(),
            tried.join(", ")
        )
    }

    /// Every platform `version` publishes, as the first method that knows the version says.
    pub fn published_platforms(
        &self,
        addr: &ProviderAddress,
        version: &str,
    ) -> Result<Vec<String>> {
        for m in self.methods(addr) {
            match &m.method {
                Method::Direct => {
                    if let Some(v) = self.fetcher.registry_versions(addr)? {
                        let p = protocol::published_platforms(&v, version);
                        if !p.is_empty() {
                            return Ok(p);
                        }
                    }
                }
                Method::NetworkMirror { url, .. } => {
                    if !self.fetcher.mirror_has(url, addr, version)? {
                        continue;
                    }
                    return Ok(self
                        .fetcher
                        .mirror_archives(url, addr, version)?
                        .into_keys()
                        .collect());
                }
                _ => {}
            }
        }
        Ok(vec![protocol::host_platform()])
    }
}

impl Installer {
    /// The lock-file hashes of `version`: `zh:` for every line of the signed `SHA256SUMS` (or
    /// the mirror's listed hashes), `h1:` and `zh:` of each platform fetched — `platforms`, all
    /// published with `all`, else the host's (or the first published when the host's is not).
    pub fn lock_hashes(
        &self,
        addr: &ProviderAddress,
        constraint: &str,
        platforms: &[String],
        all: bool,
    ) -> Result<BTreeSet<String>> {
        let version = self.resolve_version(addr, constraint)?;
        let published = self.published_platforms(addr, &version)?;
        let fetch: Vec<String> = if all {
            published.clone()
        } else if !platforms.is_empty() {
            platforms.to_vec()
        } else if published.contains(&protocol::host_platform()) {
            vec![protocol::host_platform()]
        } else {
            published.iter().take(1).cloned().collect()
        };
        let mut out = BTreeSet::new();
        for p in &fetch {
            let f = self.fetch(addr, &version, p)?;
            out.insert(crate::artifact::hashes::zip_h1(&f.target.path)?);
            let zh = crate::artifact::HashingFile::open(&f.target.path)
                .and_then(|h| h.finish())
                .with_context(|| format!("cannot hash {}", f.target.path.display()))?;
            out.insert(format!("zh:{zh}"));
            if let Some(prov) = &f.target.provenance {
                out.extend(prov.sums.iter().map(|(_, h)| format!("zh:{h}")));
            }
        }
        Ok(out)
    }
}

fn is_not_found(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::registry::RegistryError>()
            .is_some_and(|r| r.is_not_found())
    })
}

/// A provider address target (`[HOST/]NAMESPACE/TYPE` with `--version`) through the CLI
/// configuration's methods: `--platform`s, else the host's platform.
pub fn address_targets(text: &str, opts: &SourceOptions) -> Result<Vec<Target>> {
    let addr = ProviderAddress::parse(text)?;
    let constraint = opts.version.as_deref().ok_or_else(|| {
        anyhow!(
            "{text}: a provider address needs --version (exact, or a constraint such as '~> 5.0')"
        )
    })?;
    if opts.oci_mirror.is_some() {
        return oci::targets(&oci::resolve_address(text, opts)?, opts);
    }
    let inst = Installer::new(opts)?;
    let methods = inst.methods(&addr);
    if !methods.is_empty()
        && methods
            .iter()
            .all(|m| matches!(m.method, Method::OciMirror { .. }))
    {
        // OCI mirrors only: every platform by default, as for any OCI target.
        return oci::targets(&oci::resolve_address(text, opts)?, opts);
    }
    let version = inst.resolve_version(&addr, constraint)?;
    tracing::info!("{}: {constraint} resolved to {version}", addr.full());
    let platforms = if opts.platforms.is_empty() {
        vec![protocol::host_platform()]
    } else {
        opts.platforms.clone()
    };
    platforms
        .iter()
        .map(|p| {
            inst.fetch(&addr, &version, p)
                .map(|f| f.target)
                .with_context(|| format!("{} {version}", addr.full()))
        })
        .collect()
}
