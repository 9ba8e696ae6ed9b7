//! Providers from OCI registries, fetched exactly as OpenTofu 1.10 does: the tag's provider index
//! walked and checked by [`crate::registry::index`], each selected platform's ZIP layer streamed
//! into the verified blob cache, and the SBOMs attached to the platform manifest and the index
//! found by the registry layer's one discovery routine ([`crate::registry::referrers`]).
//! Provider addresses with `--version` are resolved here too: their repository from
//! `--oci-mirror` or the tofu CLI configuration ([`super::address`]), their tag by
//! [`crate::registry::tags`].

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use super::{SourceOptions, Target, address};
use crate::artifact::{Naming, RegistryOrigin};
use crate::foundation::version::Constraint;
use crate::registry::referrers::{AttachedTo, Via};
use crate::registry::{OciTarget, Registry, tags};

/// An SBOM found attached to a provider manifest or index, verified by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedSbom {
    pub bytes: Vec<u8>,
    pub media_type: String,
    /// The referrer (or cosign) manifest holding it.
    pub manifest_digest: String,
    /// The digest it is attached to, and whether that is the platform manifest or the index.
    pub subject: String,
    pub level: AttachedTo,
    pub via: Via,
}

/// One platform's provider ZIP, verified and cached.
#[derive(Debug, Clone)]
pub struct FetchedPlatform {
    pub os: String,
    pub arch: String,
    pub index_digest: String,
    pub manifest_digest: String,
    /// `sha256:<hex>` of the ZIP; `zh:<hex>` in lock-file terms.
    pub layer_digest: String,
    pub zip_path: PathBuf,
    /// SBOMs attached to this platform's manifest first, then to the index.
    pub sboms: Vec<AttachedSbom>,
}

/// The SBOMs attached to `subject`, CycloneDX before SPDX among equals.
fn attached_sboms(
    reg: &Registry,
    target: &OciTarget,
    subject: &str,
    level: AttachedTo,
) -> Result<Vec<AttachedSbom>> {
    let r = target.at(subject);
    let mut out = Vec::new();
    for referrer in reg.sbom_referrers(&r, subject)? {
        for layer in reg.sbom_layers(&r, &referrer)? {
            out.push(AttachedSbom {
                bytes: layer.bytes,
                media_type: layer.media_type,
                manifest_digest: referrer.digest.clone(),
                subject: subject.to_string(),
                level,
                via: referrer.via,
            });
        }
    }
    out.sort_by_key(|s| !s.media_type.contains("cyclonedx"));
    Ok(out)
}

/// Fetch every selected platform of the provider at `target`.
pub fn fetch(target: &OciTarget, opts: &SourceOptions) -> Result<Vec<FetchedPlatform>> {
    let reg = Registry::new(&opts.registry, target.host())?;
    let index = reg.provider_index(target)?;
    let selected = index.select(&target.text, &opts.platforms)?;
    let index_sboms = if opts.attached {
        attached_sboms(&reg, target, &index.digest, AttachedTo::Index)?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for entry in selected {
        let (_, layer) = reg.platform_manifest(target, entry)?;
        let zip_path = match reg.cached_blob(&layer.digest) {
            Some(p) => {
                tracing::info!(
                    "{} {}: {} from cache",
                    target.text,
                    entry.platform(),
                    layer.digest
                );
                p
            }
            None => reg.blob_to_cache(&target.at(&entry.digest), &layer)?,
        };
        let mut sboms = if opts.attached {
            attached_sboms(&reg, target, &entry.digest, AttachedTo::Platform)?
        } else {
            Vec::new()
        };
        sboms.extend(index_sboms.iter().cloned());
        out.push(FetchedPlatform {
            os: entry.os.clone(),
            arch: entry.arch.clone(),
            index_digest: index.digest.clone(),
            manifest_digest: entry.digest.clone(),
            layer_digest: layer.digest,
            zip_path,
            sboms,
        });
    }
    Ok(out)
}

/// The tags of the repository `HOST/PATH`.
pub fn list_tags(repository: &str, opts: &SourceOptions) -> Result<Vec<String>> {
    let r = oci_client::Reference::try_from(format!("{repository}:latest").as_str())
        .map_err(|e| anyhow!("{repository}: {e}"))?;
    let reg = Registry::new(&opts.registry, r.registry())?;
    Ok(reg.list_tags(&r)?)
}

/// A provider address (`[HOST/]NAMESPACE/TYPE`) with `--version`: its repository from
/// `--oci-mirror` or the tofu CLI configuration, and the highest tag the constraint allows.
pub fn resolve_address(addr: &str, opts: &SourceOptions) -> Result<OciTarget> {
    let a = address::ProviderAddress::parse(addr)?;
    let version = opts.version.as_deref().ok_or_else(|| {
        anyhow!(
            "{addr}: a provider address needs --version (exact, or a constraint such as '~> 5.0')"
        )
    })?;
    let constraint = Constraint::parse(version).map_err(|e| anyhow!(e))?;
    let mirrors = if opts.oci_mirror.is_some() {
        Vec::new()
    } else {
        address::cli_config_mirrors()?
    };
    let repo = address::repository_for(&a, opts.oci_mirror.as_deref(), &mirrors)?;
    let tags = list_tags(&repo, opts)?;
    let (tag, v) =
        tags::resolve(&tags, &constraint).with_context(|| format!("{addr} in {repo}"))?;
    tracing::info!("{addr}: {version} resolved to {v} (tag {tag}) in {repo}");
    OciTarget::parse(&format!("oci://{repo}:{tag}"))
}

/// Fetch `target` and describe each platform's cached ZIP as a pipeline target.
pub fn targets(target: &OciTarget, opts: &SourceOptions) -> Result<Vec<Target>> {
    let r = &target.reference;
    let repo_type = r
        .repository()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_start_matches("terraform-provider-")
        .to_string();
    // Tags write SemVer build metadata with `_` for `+`.
    let version = r.tag().map(|t| t.replace('_', "+"));
    Ok(fetch(target, opts)?
        .into_iter()
        .map(|f| {
            let plat = format!("{}_{}", f.os, f.arch);
            let file_name = version
                .as_ref()
                .map(|v| format!("terraform-provider-{repo_type}_{v}_{plat}.zip"));
            Target {
                path: f.zip_path.clone(),
                naming: Naming {
                    provider_type: Some(repo_type.clone()),
                    version: version.clone(),
                    os: Some(f.os.clone()),
                    arch: Some(f.arch.clone()),
                    address: None,
                },
                display: Some(format!("{} ({plat})", target.text)),
                file_name,
                attached: f.sboms.clone(),
                registry: Some(RegistryOrigin {
                    reference: target.text.clone(),
                    host: target.host().to_string(),
                    index_digest: f.index_digest.clone(),
                    manifest_digest: f.manifest_digest.clone(),
                    layer_digest: f.layer_digest.clone(),
                }),
                provenance: None,
            }
        })
        .collect())
}
