//! Providers from OCI registries, fetched exactly as OpenTofu 1.10 does: the tag's provider index
//! walked and checked by [`crate::registry::index`], each selected platform's ZIP layer streamed
//! into the verified blob cache, and the SBOMs attached to the platform manifest and the index
//! found by the registry layer's one discovery routine ([`crate::registry::referrers`]). A fetch
//! is two steps: [`discover`] reads manifests only (what `audit`'s survey keeps, so its
//! analysis never reads them again), then each platform's blobs are downloaded.
//! Provider addresses with `--version` are resolved here too: their repository from
//! `--oci-mirror` or the tofu CLI configuration ([`super::address`]), their tag by
//! [`crate::registry::tags`].
//!
//! A carried origin signature (the referrer `provguard mirror` attaches to the index:
//! `SHA256SUMS`, its detached signature, the keys) is checked again here, offline, with the
//! same code as the registry protocol ([`super::protocol::verify`]): the signature over
//! `SHA256SUMS` by a carried key, and each platform's ZIP digest listed for its file name. A
//! carried signature that does not verify is an error (fail closed); none is no provenance.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use super::protocol::{docs, verify};
use super::{SourceOptions, Target, address};
use crate::artifact::provenance::{Check, Origin, Provenance, SignatureStatus};
use crate::artifact::{Naming, RegistryOrigin};
use crate::foundation::version::Constraint;
use crate::registry::index::{PlatformEntry, ProviderIndex};
use crate::registry::referrers::{AttachedTo, Referrer, Via};
use crate::registry::wire::Descriptor;
use crate::registry::{
    ANNOTATION_ADDRESS, ANNOTATION_HOST, ANNOTATION_VERSION, KEY_LAYER_TYPE, OciTarget, Registry,
    SIG_LAYER_TYPE, SIGNATURE_LIMIT, SUMS_LAYER_TYPE, TITLE_ANNOTATION, tags,
};

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
    /// The ZIP's file name (the layer's title), when the manifest gives it.
    pub file_name: Option<String>,
    /// The carried origin signature, verified, and this platform's ZIP listed in it.
    pub carried: Option<Carried>,
}

/// An origin signature carried on the index, verified offline.
#[derive(Debug, Clone)]
pub struct Carried {
    /// The referrer manifest holding it.
    pub referrer: String,
    pub address: String,
    pub version: String,
    /// The origin registry host (whose rules decide whether a signature is required).
    pub host: String,
    pub sums: Vec<u8>,
    pub signature: SignatureStatus,
}

impl Carried {
    /// Every line of the carried `SHA256SUMS`: (file name, hex).
    pub fn lines(&self) -> Vec<(String, String)> {
        docs::parse_sha256sums(&self.sums)
            .map(|v| v.into_iter().map(|(hex, name)| (name, hex)).collect())
            .unwrap_or_default()
    }

    /// The ZIP named `file_name` with `layer_digest` must be listed with that hash.
    fn check_listed(&self, file_name: &str, layer_digest: &str) -> Result<()> {
        let hex = layer_digest.trim_start_matches("sha256:");
        match docs::sha256sums_lookup(&self.sums, file_name) {
            Some(h) if h == hex => Ok(()),
            Some(h) => Err(anyhow!(
                "carried signature {}: verification failed: the signed SHA256SUMS lists {h} for {file_name}, the registry's layer is {layer_digest}",
                self.referrer
            )),
            None => Err(anyhow!(
                "carried signature {}: verification failed: the signed SHA256SUMS has no SHA-256 hash for {file_name:?}",
                self.referrer
            )),
        }
    }
}

/// Verify every carried-signature referrer found on the index `index_digest` (all must
/// verify); the first one, verified, or `None` when there is none.
fn carried_signature(
    reg: &Registry,
    target: &OciTarget,
    index_digest: &str,
    referrers: &[Referrer],
) -> Result<Option<Carried>> {
    let r = target.at(index_digest);
    let mut first = None;
    for referrer in referrers {
        let layers = reg.referrer_layers(
            &r,
            referrer,
            &[SUMS_LAYER_TYPE, SIG_LAYER_TYPE, KEY_LAYER_TYPE],
            SIGNATURE_LIMIT,
        )?;
        let what = format!("{}: carried signature {}", target.text, referrer.digest);
        let one = |mt: &str| -> Result<Vec<u8>> {
            let mut it = layers.iter().filter(|l| l.media_type == mt);
            match (it.next(), it.next()) {
                (Some(l), None) => Ok(l.bytes.clone()),
                _ => Err(anyhow!(
                    "{what}: verification failed: expected exactly one {mt} layer"
                )),
            }
        };
        let sums = one(SUMS_LAYER_TYPE)?;
        let signature = one(SIG_LAYER_TYPE)?;
        let keys = layers
            .iter()
            .filter(|l| l.media_type == KEY_LAYER_TYPE)
            .map(|l| String::from_utf8(l.bytes.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| anyhow!("{what}: verification failed: a key is not ASCII armor"))?;
        let note = |k: &str| referrer.doc.annotations.get(k).cloned();
        let address = note(ANNOTATION_ADDRESS).unwrap_or_default();
        let host = note(ANNOTATION_HOST)
            .or_else(|| address.split('/').next().map(str::to_string))
            .unwrap_or_default();
        let outcome = verify::verify_sha256sums(
            &sums,
            &signature,
            &keys,
            &host,
            verify::SigPolicy::from_env(),
        )
        .map_err(|e| anyhow!("{what}: verification failed: {e}"))?;
        tracing::info!(
            "{what}: SHA256SUMS signature verified offline ({})",
            outcome.key_id().unwrap_or("no keys")
        );
        if first.is_none() {
            first = Some(Carried {
                referrer: referrer.digest.clone(),
                address,
                version: note(ANNOTATION_VERSION).unwrap_or_default(),
                host,
                sums,
                signature: match outcome {
                    verify::SigOutcome::Verified { key_id } => SignatureStatus::Verified { key_id },
                    verify::SigOutcome::VerifiedExpired { key_id } => {
                        SignatureStatus::VerifiedExpiredKey { key_id }
                    }
                    verify::SigOutcome::Skipped => SignatureStatus::Skipped,
                },
            });
        }
    }
    Ok(first)
}

/// The SBOM documents of the referrers found on `subject`, CycloneDX before SPDX among equals.
fn attached_sboms(
    reg: &Registry,
    target: &OciTarget,
    subject: &str,
    level: AttachedTo,
    referrers: &[Referrer],
) -> Result<Vec<AttachedSbom>> {
    let r = target.at(subject);
    let mut out = Vec::new();
    for referrer in referrers {
        for layer in reg.sbom_layers(&r, referrer)? {
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

/// A provider version as its manifests describe it, before any blob is read: the index's
/// SBOM and carried-signature referrers, and per selected platform its ZIP layer and SBOM
/// referrers. What `audit`'s survey keys its results cache by, and what a fetch then needs.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub index_digest: String,
    /// SBOM referrers of the index (none looked for without `attached`).
    pub index_sboms: Vec<Referrer>,
    /// Carried origin signatures on the index (verified when a platform is fetched).
    pub signatures: Vec<Referrer>,
    pub platforms: Vec<DiscoveredPlatform>,
}

/// One selected platform of a [`Discovered`] provider version.
#[derive(Debug, Clone)]
pub struct DiscoveredPlatform {
    pub entry: PlatformEntry,
    /// The manifest's ZIP layer.
    pub layer: Descriptor,
    pub sboms: Vec<Referrer>,
}

/// The manifests of the `selected` platforms of `index` (fetched as `target`), with their
/// referrers (SBOMs only when `attached`).
pub fn discover(
    reg: &Registry,
    target: &OciTarget,
    index: &ProviderIndex,
    selected: &[&PlatformEntry],
    attached: bool,
) -> Result<Discovered> {
    let (index_sboms, signatures) =
        reg.index_referrers(&target.at(&index.digest), &index.digest, attached)?;
    let mut platforms = Vec::new();
    for entry in selected {
        let (_, layer) = reg.platform_manifest(target, entry)?;
        let sboms = if attached {
            reg.sbom_referrers(&target.at(&entry.digest), &entry.digest)?
        } else {
            Vec::new()
        };
        platforms.push(DiscoveredPlatform {
            entry: (*entry).clone(),
            layer,
            sboms,
        });
    }
    Ok(Discovered {
        index_digest: index.digest.clone(),
        index_sboms,
        signatures,
        platforms,
    })
}

/// The index's SBOM documents and its carried signature, verified: what every platform of a
/// discovered provider version shares.
fn index_level(
    reg: &Registry,
    target: &OciTarget,
    found: &Discovered,
) -> Result<(Vec<AttachedSbom>, Option<Carried>)> {
    let d = &found.index_digest;
    let sboms = attached_sboms(reg, target, d, AttachedTo::Index, &found.index_sboms)?;
    Ok((sboms, carried_signature(reg, target, d, &found.signatures)?))
}

/// One discovered platform fetched: its ZIP into the verified blob cache (checked against the
/// carried signature first), and its SBOM documents, then the index's.
fn download(
    reg: &Registry,
    target: &OciTarget,
    found: &Discovered,
    p: &DiscoveredPlatform,
    (index_sboms, carried): &(Vec<AttachedSbom>, Option<Carried>),
) -> Result<FetchedPlatform> {
    let entry = &p.entry;
    let layer = &p.layer;
    let file_name = layer.annotations.get(TITLE_ANNOTATION).cloned();
    if let Some(c) = carried {
        // Checked before the ZIP is downloaded: the layer digest is verified on the way in.
        let name = file_name
            .clone()
            .unwrap_or_else(|| default_file_name(target, &entry.platform()).unwrap_or_default());
        c.check_listed(&name, &layer.digest)
            .with_context(|| format!("{} {}", target.text, entry.platform()))?;
    }
    let zip_path = match reg.cached_blob(&layer.digest) {
        Some(path) => {
            tracing::info!(
                "{} {}: {} from cache",
                target.text,
                entry.platform(),
                layer.digest
            );
            path
        }
        None => reg.blob_to_cache(&target.at(&entry.digest), layer)?,
    };
    let mut sboms = attached_sboms(reg, target, &entry.digest, AttachedTo::Platform, &p.sboms)?;
    sboms.extend(index_sboms.iter().cloned());
    Ok(FetchedPlatform {
        os: entry.os.clone(),
        arch: entry.arch.clone(),
        index_digest: found.index_digest.clone(),
        manifest_digest: entry.digest.clone(),
        layer_digest: layer.digest.clone(),
        zip_path,
        sboms,
        file_name,
        carried: carried.clone(),
    })
}

/// Fetch every selected platform of the provider at `target`.
pub fn fetch(target: &OciTarget, opts: &SourceOptions) -> Result<Vec<FetchedPlatform>> {
    let reg = Registry::new(&opts.registry, target.host())?;
    let index = reg.provider_index(target)?;
    let selected = index.select(&target.text, &opts.platforms)?;
    let found = discover(&reg, target, &index, &selected, opts.attached)?;
    let shared = index_level(&reg, target, &found)?;
    found
        .platforms
        .iter()
        .map(|p| download(&reg, target, &found, p, &shared))
        .collect()
}

/// The pipeline target of platform `p` of the provider version `found` at `target`, fetched
/// over `reg` (the manifests are not read again).
pub fn discovered_target(
    reg: &Registry,
    target: &OciTarget,
    found: &Discovered,
    p: &DiscoveredPlatform,
) -> Result<Target> {
    let shared = index_level(reg, target, found)?;
    Ok(target_of(target, download(reg, target, found, p, &shared)?))
}

/// `terraform-provider-TYPE_VERSION_OS_ARCH.zip` from the repository's last segment and the tag.
fn default_file_name(target: &OciTarget, platform: &str) -> Option<String> {
    let (repo_type, version) = type_and_version(target);
    version.map(|v| format!("terraform-provider-{repo_type}_{v}_{platform}.zip"))
}

/// The provider type (the repository's last segment) and the version (the tag, `_` → `+`).
fn type_and_version(target: &OciTarget) -> (String, Option<String>) {
    let r = &target.reference;
    let repo_type = r
        .repository()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_start_matches("terraform-provider-")
        .to_string();
    // Tags write SemVer build metadata with `_` for `+`.
    (repo_type, r.tag().map(|t| t.replace('_', "+")))
}

/// The tags of the repository `HOST/PATH`.
pub fn list_tags(repository: &str, opts: &SourceOptions) -> Result<Vec<String>> {
    let r = crate::registry::reference::parse(&format!("{repository}:latest"))
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
    Ok(fetch(target, opts)?
        .into_iter()
        .map(|f| target_of(target, f))
        .collect())
}

/// A fetched platform of `target` as a pipeline target.
fn target_of(target: &OciTarget, f: FetchedPlatform) -> Target {
    let (repo_type, version) = type_and_version(target);
    let plat = format!("{}_{}", f.os, f.arch);
    let file_name = default_file_name(target, &plat);
    let registry = RegistryOrigin {
        reference: target.text.clone(),
        host: target.host().to_string(),
        index_digest: f.index_digest.clone(),
        manifest_digest: f.manifest_digest.clone(),
        layer_digest: f.layer_digest.clone(),
    };
    let provenance = f.carried.as_ref().map(|c| Provenance {
        origin: Origin::Oci(registry.clone()),
        address: c.address.clone(),
        version: c.version.clone(),
        platform: plat.clone(),
        checks: vec![Check::OciDigest, Check::CarriedSignature],
        signature: c.signature.clone(),
        signature_required: verify::SigPolicy::from_env().required_without_keys(&c.host),
        sums: c.lines(),
    });
    Target {
        path: f.zip_path,
        naming: Naming {
            provider_type: Some(repo_type),
            version,
            os: Some(f.os),
            arch: Some(f.arch),
            address: None,
        },
        display: Some(format!("{} ({plat})", target.text)),
        file_name,
        attached: f.sboms,
        registry: Some(registry),
        provenance,
    }
}
