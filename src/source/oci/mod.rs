//! Providers from OCI registries, fetched exactly as OpenTofu 1.10 does
//! (`internal/getproviders/oci_registry_mirror_source.go`): tag → image index
//! (`artifactType: application/vnd.opentofu.provider`) → one manifest per platform
//! (`…provider-target`, `platform` required, `os.version` entries skipped, duplicates refused)
//! → exactly one `archive/zip` layer, whose digest is the lock file's `zh:` hash.
//!
//! Every manifest is size-checked (4 MiB, as tofu) and sha256-verified; every blob is verified
//! while it streams into the digest-keyed cache and only renamed into place once it matches, so
//! nothing unverified is ever cached. oci-client does the HTTP (auth challenges included); its
//! async calls run on a private current-thread runtime.

pub mod address;
pub mod auth;
pub mod cache;
pub mod copy;
pub mod push;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use super::Target;
use crate::artifact::Naming;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use cache::BlobCache;

pub const INDEX_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider";
pub const TARGET_ARTIFACT_TYPE: &str = "application/vnd.opentofu.provider-target";
pub const MODULE_ARTIFACT_TYPE: &str = "application/vnd.opentofu.modulepkg";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const ZIP_MEDIA_TYPE: &str = "archive/zip";
/// tofu's `ociImageManifestSizeLimitMiB`.
pub const MANIFEST_LIMIT: usize = 4 << 20;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct OciOptions {
    /// Plain HTTP instead of TLS (loopback and test registries).
    pub plain_http: bool,
    /// `OS_ARCH` platforms to fetch; empty = every platform in the index.
    pub platforms: Vec<String>,
    pub cache: BlobCache,
    pub credentials: auth::ExplicitCredentials,
    /// Look for attached SBOMs (off for `--sbom-source binary`).
    pub attached: bool,
    /// For provider-address targets: the version (exact or constraint) and the mirror template.
    pub version: Option<String>,
    pub oci_mirror: Option<String>,
    /// Per-request timeout (connect and read) and retries on transient failures.
    pub timeout: std::time::Duration,
    pub retries: u32,
}

impl Default for OciOptions {
    fn default() -> Self {
        OciOptions {
            plain_http: false,
            platforms: Vec::new(),
            cache: BlobCache::default(),
            credentials: auth::ExplicitCredentials::default(),
            attached: true,
            version: None,
            oci_mirror: None,
            timeout: std::time::Duration::from_secs(60),
            retries: 3,
        }
    }
}

/// `oci://HOST[:PORT]/REPO:TAG` or `oci://HOST[:PORT]/REPO@sha256:…`.
#[derive(Debug, Clone)]
pub struct OciTarget {
    pub text: String,
    pub reference: Reference,
}

impl OciTarget {
    pub fn parse(s: &str) -> Result<OciTarget> {
        let rest = s
            .strip_prefix("oci://")
            .ok_or_else(|| anyhow!("{s}: OCI targets start with oci://"))?;
        let (_, path) = rest
            .split_once('/')
            .ok_or_else(|| anyhow!("{s}: expected oci://HOST/REPOSITORY:VERSION"))?;
        if !path.contains(':') && !path.contains('@') {
            bail!("{s}: name a version tag (…:1.2.3) or a digest (…@sha256:…)");
        }
        let reference = Reference::try_from(rest).map_err(|e| anyhow!("{s}: {e}"))?;
        Ok(OciTarget {
            text: s.to_string(),
            reference,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    artifact_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default, rename = "os.version")]
    os_version: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
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

/// Media types that mark an SBOM referrer (artifactType) or an SBOM layer.
pub const SBOM_ARTIFACT_TYPES: [&str; 4] = [
    "application/vnd.cyclonedx+json",
    "application/spdx+json",
    "text/spdx+json",
    "application/vnd.dev.cosign.artifact.sbom.v1+json",
];
pub const SBOM_LAYER_TYPES: [&str; 3] = [
    "application/vnd.cyclonedx+json",
    "application/spdx+json",
    "text/spdx+json",
];
/// SBOM documents larger than this are not downloaded.
pub const SBOM_LIMIT: u64 = 64 << 20;

/// An SBOM found attached to a provider manifest or index, verified by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedSbom {
    pub bytes: Vec<u8>,
    pub media_type: String,
    /// The referrer (or cosign) manifest holding it.
    pub manifest_digest: String,
    /// The digest it is attached to, and whether that is the platform manifest or the index.
    pub subject: String,
    pub level: &'static str,
    /// `referrers-api`, `referrers-tag` (the `sha256-<hex>` tag schema) or `cosign-tag`
    /// (`sha256-<hex>.sbom`).
    pub via: &'static str,
}

/// A registry connection for one target.
pub struct Registry {
    rt: tokio::runtime::Runtime,
    client: Client,
    auth: RegistryAuth,
    cache: BlobCache,
    plain_http: bool,
    http: reqwest::blocking::Client,
    retries: u32,
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Registry {
    pub fn new(opts: &OciOptions, host: &str) -> Result<Registry> {
        let config = ClientConfig {
            protocol: if opts.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            platform_resolver: None,
            read_timeout: Some(opts.timeout),
            connect_timeout: Some(opts.timeout),
            ..Default::default()
        };
        Ok(Registry {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            client: Client::new(config),
            auth: auth::credentials_for(host, &opts.credentials)?,
            cache: opts.cache.clone(),
            plain_http: opts.plain_http,
            retries: opts.retries,
            // reqwest drops Authorization when a redirect leaves the host.
            http: reqwest::blocking::Client::builder()
                .user_agent(concat!("provguard/", env!("CARGO_PKG_VERSION")))
                .timeout(opts.timeout)
                .build()?,
        })
    }

    /// A manifest, size-limited and digest-checked (`expected` when fetched by digest).
    /// A manifest, size-limited and digest-checked, retried on transient failures.
    fn manifest(&self, r: &Reference, expected: Option<&str>) -> Result<(Vec<u8>, String)> {
        self.retry(|| self.manifest_once(r, expected))
    }

    fn manifest_once(&self, r: &Reference, expected: Option<&str>) -> Result<(Vec<u8>, String)> {
        let (bytes, digest) = self
            .rt
            .block_on(self.client.pull_manifest_raw(
                r,
                &self.auth,
                &[INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE],
            ))
            .map_err(|e| anyhow!("{}: {e}", r.whole()))?;
        if bytes.len() > MANIFEST_LIMIT {
            bail!(
                "{}: manifest is {} bytes, over OpenTofu's 4 MiB limit; refused",
                r.whole(),
                bytes.len()
            );
        }
        let actual = sha256_digest(&bytes);
        if let Some(want) = expected.or_else(|| r.digest())
            && want != actual
        {
            bail!(
                "{}: manifest digest mismatch: expected {want}, got {actual}",
                r.whole()
            );
        }
        if !digest.is_empty() && digest.starts_with("sha256:") && digest != actual {
            bail!(
                "{}: the registry says {digest} but the manifest hashes to {actual}",
                r.whole()
            );
        }
        Ok((bytes.to_vec(), actual))
    }

    /// A manifest that may not exist: `None` for "manifest unknown" / 404.
    fn try_manifest(&self, r: &Reference) -> Result<Option<(Vec<u8>, String)>> {
        match self.manifest(r, None) {
            Ok(x) => Ok(Some(x)),
            Err(e) => {
                let m = format!("{e:#}").to_lowercase();
                if m.contains("manifest unknown") || m.contains("not found") || m.contains("404") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Run `f` again after 429, 5xx, timeouts and connection errors, with exponential backoff.
    fn retry<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.retries && is_transient(&e) => {
                    attempt += 1;
                    tracing::debug!("retry {attempt}/{} after: {e:#}", self.retries);
                    std::thread::sleep(std::time::Duration::from_millis(100 << attempt.min(6)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A small blob (an SBOM) into memory, size-capped and digest-verified.
    fn small_blob(&self, r: &Reference, d: &Descriptor) -> Result<Vec<u8>> {
        self.retry(|| self.small_blob_once(r, d))
    }

    /// Stream blob `d` into `sink`, refusing more bytes than its descriptor announces.
    fn stream_blob(
        &self,
        r: &Reference,
        d: &Descriptor,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.rt.block_on(async {
            use futures_util::StreamExt;
            let layer = oci_client::manifest::OciDescriptor {
                media_type: d.media_type.clone(),
                digest: d.digest.clone(),
                size: d.size as i64,
                ..Default::default()
            };
            let mut stream = self
                .client
                .pull_blob_stream(r, &layer)
                .await
                .map_err(|e| anyhow!("{}: blob {}: {e}", r.whole(), d.digest))?
                .stream;
            let mut seen = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| anyhow!("{}: blob {}: {e}", r.whole(), d.digest))?;
                seen += chunk.len() as u64;
                if seen > d.size {
                    bail!(
                        "{}: blob {} is larger than its descriptor says ({} bytes)",
                        r.whole(),
                        d.digest,
                        d.size
                    );
                }
                sink(&chunk)?;
            }
            Ok(())
        })
    }

    fn small_blob_once(&self, r: &Reference, d: &Descriptor) -> Result<Vec<u8>> {
        if d.size > SBOM_LIMIT {
            bail!(
                "{}: SBOM blob {} is {} bytes, over the {SBOM_LIMIT}-byte limit",
                r.whole(),
                d.digest,
                d.size
            );
        }
        let mut bytes = Vec::new();
        self.stream_blob(r, d, &mut |c| {
            bytes.extend_from_slice(c);
            Ok(())
        })?;
        let actual = sha256_digest(&bytes);
        if actual != d.digest {
            bail!(
                "{}: SBOM blob digest mismatch: expected {}, got {actual}",
                r.whole(),
                d.digest
            );
        }
        Ok(bytes)
    }

    /// The SBOM layers of one referrer manifest.
    fn sbom_layers(
        &self,
        r: &Reference,
        manifest: &ManifestDoc,
        manifest_digest: &str,
        subject: &str,
        level: &'static str,
        via: &'static str,
    ) -> Result<Vec<AttachedSbom>> {
        let mut out = Vec::new();
        for l in manifest
            .layers
            .iter()
            .filter(|l| SBOM_LAYER_TYPES.contains(&l.media_type.as_str()))
        {
            let lr = Reference::with_digest(
                r.registry().to_string(),
                r.repository().to_string(),
                l.digest.clone(),
            );
            out.push(AttachedSbom {
                bytes: self.small_blob(&lr, l)?,
                media_type: l.media_type.clone(),
                manifest_digest: manifest_digest.to_string(),
                subject: subject.to_string(),
                level,
                via,
            });
        }
        Ok(out)
    }

    /// The OCI 1.1 referrers API for `subject`, every page (`Link: <…>; rel="next"`), SBOM
    /// descriptors only (filtered here whatever the registry says in `OCI-Filters-Applied`).
    /// `None` when the registry has no referrers API (404), as the spec says to read it.
    fn referrers_api(&self, r: &Reference, subject: &str) -> Result<Option<Vec<Descriptor>>> {
        let scheme = if self.plain_http { "http" } else { "https" };
        let origin = format!("{scheme}://{}", r.resolve_registry());
        let mut url = format!("{origin}/v2/{}/referrers/{subject}", r.repository());
        let token = self
            .rt
            .block_on(
                self.client
                    .auth(r, &self.auth, oci_client::RegistryOperation::Pull),
            )
            .ok()
            .flatten();
        let mut out = Vec::new();
        for page in 0.. {
            if page > 100 {
                bail!("{}: referrers API: more than 100 pages", r.whole());
            }
            let mut req = self.http.get(&url).header("Accept", INDEX_MEDIA_TYPE);
            req = match (&token, &self.auth) {
                (Some(t), _) => req.bearer_auth(t),
                (None, RegistryAuth::Basic(u, p)) => req.basic_auth(u, Some(p)),
                _ => req,
            };
            let resp = req
                .send()
                .map_err(|e| anyhow!("{}: referrers API: {e}", r.whole()))?;
            let status = resp.status().as_u16();
            if status == 404 && page == 0 {
                return Ok(None);
            }
            if status != 200 {
                bail!("{}: referrers API for {subject}: HTTP {status}", r.whole());
            }
            let next = resp
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .find(|l| l.contains("rel=\"next\"") || l.contains("rel=next"))
                .and_then(|l| l.split(['<', '>']).nth(1).map(str::to_string));
            let body = resp
                .bytes()
                .map_err(|e| anyhow!("{}: referrers API: {e}", r.whole()))?;
            if body.len() > MANIFEST_LIMIT {
                bail!("{}: referrers list over 4 MiB; refused", r.whole());
            }
            let idx: ManifestDoc = serde_json::from_slice(&body).with_context(|| {
                format!(
                    "{}: the referrers API answered something that is not an image index",
                    r.whole()
                )
            })?;
            out.extend(idx.manifests.into_iter().filter(is_sbom_referrer));
            match next {
                Some(n) if n.starts_with("http") => url = n,
                Some(n) => url = format!("{origin}{n}"),
                None => break,
            }
        }
        Ok(Some(out))
    }

    /// Fetch (verified) the SBOM layers of referrer descriptors.
    fn sboms_of_referrers(
        &self,
        r: &Reference,
        descs: &[Descriptor],
        subject: &str,
        level: &'static str,
        via: &'static str,
    ) -> Result<Vec<AttachedSbom>> {
        let mut out = Vec::new();
        for d in descs {
            if d.size as usize > MANIFEST_LIMIT {
                bail!(
                    "{}: referrer {} is over the 4 MiB manifest limit",
                    r.whole(),
                    d.digest
                );
            }
            let mr = Reference::with_digest(
                r.registry().to_string(),
                r.repository().to_string(),
                d.digest.clone(),
            );
            let (mbytes, mdigest) = self.manifest(&mr, Some(&d.digest))?;
            let m: ManifestDoc = serde_json::from_slice(&mbytes).with_context(|| {
                format!("{}: referrer {} is not valid JSON", r.whole(), d.digest)
            })?;
            out.extend(self.sbom_layers(r, &m, &mdigest, subject, level, via)?);
        }
        Ok(out)
    }

    /// SBOMs attached to `subject`: the referrers API, or on its 404 the referrers tag schema
    /// (`sha256-<hex>`), then cosign's `sha256-<hex>.sbom` tag; SBOM artifact types only.
    fn attached_sboms(
        &self,
        r: &Reference,
        subject: &str,
        level: &'static str,
    ) -> Result<Vec<AttachedSbom>> {
        let hex = subject.trim_start_matches("sha256:");
        let tag = |t: String| {
            Reference::with_tag(r.registry().to_string(), r.repository().to_string(), t)
        };
        let mut out = Vec::new();
        if let Some(descs) = self.referrers_api(r, subject)? {
            out.extend(self.sboms_of_referrers(r, &descs, subject, level, "referrers-api")?);
        } else if let Some((bytes, _)) = self.try_manifest(&tag(format!("sha256-{hex}")))? {
            // Anything other than an image index there means no referrers.
            if let Ok(index) = serde_json::from_slice::<ManifestDoc>(&bytes) {
                let descs: Vec<Descriptor> = index
                    .manifests
                    .into_iter()
                    .filter(is_sbom_referrer)
                    .collect();
                out.extend(self.sboms_of_referrers(r, &descs, subject, level, "referrers-tag")?);
            }
        }
        if let Some((bytes, digest)) = self.try_manifest(&tag(format!("sha256-{hex}.sbom")))? {
            let m: ManifestDoc = serde_json::from_slice(&bytes).with_context(|| {
                format!("{}: cosign SBOM manifest is not valid JSON", r.whole())
            })?;
            out.extend(self.sbom_layers(r, &m, &digest, subject, level, "cosign-tag")?);
        }
        // Among equals, CycloneDX first, then SPDX.
        out.sort_by_key(|s| !s.media_type.contains("cyclonedx"));
        Ok(out)
    }

    /// Stream a blob into the cache, verifying its digest; returns its cached path.
    /// A blob into the cache, retried on transient failures (a digest mismatch is final).
    fn blob(&self, r: &Reference, d: &Descriptor) -> Result<PathBuf> {
        self.retry(|| self.blob_once(r, d))
    }

    fn blob_once(&self, r: &Reference, d: &Descriptor) -> Result<PathBuf> {
        let mut writer = self.cache.writer(&d.digest)?;
        self.stream_blob(r, d, &mut |c| writer.write(c))?;
        writer.commit()
    }
}

fn describe_wrong_kind(target: &str, doc: &ManifestDoc) -> Option<String> {
    let mt = doc.media_type.as_deref().unwrap_or("");
    let at = doc.artifact_type.as_deref().unwrap_or("");
    if at == MODULE_ARTIFACT_TYPE {
        return Some(format!(
            "{target} is an OpenTofu module package, not a provider"
        ));
    }
    if at == TARGET_ARTIFACT_TYPE {
        return Some(format!(
            "{target} refers directly to a single-platform provider manifest; tag the provider's image index instead"
        ));
    }
    if mt == MANIFEST_MEDIA_TYPE || mt.contains("docker.distribution.manifest.v2") {
        let cfg = doc
            .config
            .as_ref()
            .map(|c| c.media_type.as_str())
            .unwrap_or("");
        return Some(format!(
            "{target} is an image manifest (config {cfg}), not an OpenTofu provider index — is this a container image?"
        ));
    }
    if mt != INDEX_MEDIA_TYPE && !mt.is_empty() {
        return Some(format!(
            "{target} has media type {mt}, not an OCI image index"
        ));
    }
    if at != INDEX_ARTIFACT_TYPE {
        return Some(format!(
            "{target} is an image index with artifactType {:?}, not {INDEX_ARTIFACT_TYPE} — is this a multi-platform container image?",
            at
        ));
    }
    None
}

/// The tags of the repository `HOST/PATH`.
pub fn list_tags(repository: &str, opts: &OciOptions) -> Result<Vec<String>> {
    let r = Reference::try_from(format!("{repository}:latest").as_str())
        .map_err(|e| anyhow!("{repository}: {e}"))?;
    let reg = Registry::new(opts, r.registry())?;
    let resp = reg
        .rt
        .block_on(reg.client.list_tags(&r, &reg.auth, None, None))
        .map_err(|e| anyhow!("{repository}: listing tags: {e}"))?;
    Ok(resp.tags)
}

/// A provider address (`[HOST/]NAMESPACE/TYPE`) with `--version`: its repository from
/// `--oci-mirror` or the tofu CLI configuration, and the highest tag the constraint allows.
pub fn resolve_address(addr: &str, opts: &OciOptions) -> Result<OciTarget> {
    let a = address::ProviderAddress::parse(addr)?;
    let version = opts.version.as_deref().ok_or_else(|| {
        anyhow!(
            "{addr}: a provider address needs --version (exact, or a constraint such as '~> 5.0')"
        )
    })?;
    let constraint = address::Constraint::parse(version)?;
    let mirrors = if opts.oci_mirror.is_some() {
        Vec::new()
    } else {
        address::cli_config_mirrors()?
    };
    let repo = address::repository_for(&a, opts.oci_mirror.as_deref(), &mirrors)?;
    let tags = list_tags(&repo, opts)?;
    let (tag, v) =
        address::resolve(&tags, &constraint).with_context(|| format!("{addr} in {repo}"))?;
    tracing::info!("{addr}: {version} resolved to {v} (tag {tag}) in {repo}");
    OciTarget::parse(&format!("oci://{repo}:{tag}"))
}

/// 429, 5xx, timeouts and dropped connections are worth another try; nothing else is.
fn is_transient(e: &anyhow::Error) -> bool {
    let m = format!("{e:#}").to_lowercase();
    if m.contains("digest mismatch") || m.contains("hashes to") {
        return false;
    }
    [
        "429",
        "too many requests",
        " 500",
        " 502",
        " 503",
        " 504",
        "status code 5",
        "service unavailable",
        "bad gateway",
        "timed out",
        "timeout",
        "connection reset",
        "connection refused",
        "connection closed",
        "broken pipe",
        "error sending request",
        "incomplete message",
    ]
    .iter()
    .any(|k| m.contains(k))
}

fn is_sbom_referrer(d: &Descriptor) -> bool {
    d.artifact_type
        .as_deref()
        .is_some_and(|t| SBOM_ARTIFACT_TYPES.contains(&t))
}

/// Fetch every selected platform of the provider at `target`.
pub fn fetch(target: &OciTarget, opts: &OciOptions) -> Result<Vec<FetchedPlatform>> {
    let r = &target.reference;
    let reg = Registry::new(opts, r.registry())?;
    let (index_bytes, index_digest) = reg.manifest(r, None)?;
    let index: ManifestDoc = serde_json::from_slice(&index_bytes)
        .with_context(|| format!("{}: the index is not valid JSON", target.text))?;
    if let Some(msg) = describe_wrong_kind(&target.text, &index) {
        bail!(msg);
    }
    let mut selected: Vec<(&Descriptor, String, String)> = Vec::new();
    let mut available = Vec::new();
    for m in &index.manifests {
        if m.artifact_type.as_deref() != Some(TARGET_ARTIFACT_TYPE) {
            continue;
        }
        if m.media_type != MANIFEST_MEDIA_TYPE {
            bail!(
                "{}: platform entry {} has media type {:?}, not an image manifest",
                target.text,
                m.digest,
                m.media_type
            );
        }
        let p = m.platform.as_ref().ok_or_else(|| {
            anyhow!(
                "{}: platform entry {} has no platform",
                target.text,
                m.digest
            )
        })?;
        if p.os_version.as_deref().is_some_and(|v| !v.is_empty()) {
            continue;
        }
        let plat = format!("{}_{}", p.os, p.architecture);
        available.push(plat.clone());
        if !opts.platforms.is_empty() && !opts.platforms.contains(&plat) {
            continue;
        }
        if selected.iter().any(|(_, o, a)| format!("{o}_{a}") == plat) {
            bail!(
                "{}: ambiguous index: more than one manifest for {plat}",
                target.text
            );
        }
        selected.push((m, p.os.clone(), p.architecture.clone()));
    }
    for want in &opts.platforms {
        if !available.contains(want) {
            bail!(
                "{}: no {want} build; the index offers {}",
                target.text,
                if available.is_empty() {
                    "no platforms".to_string()
                } else {
                    available.join(", ")
                }
            );
        }
    }
    if selected.is_empty() {
        bail!(
            "{}: the provider index lists no platform manifests",
            target.text
        );
    }
    let index_sboms = if opts.attached {
        reg.attached_sboms(r, &index_digest, "index")?
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for (desc, os, arch) in selected {
        if desc.size as usize > MANIFEST_LIMIT {
            bail!(
                "{}: manifest {} is {} bytes, over OpenTofu's 4 MiB limit; refused",
                target.text,
                desc.digest,
                desc.size
            );
        }
        let mr = Reference::with_digest(
            r.registry().to_string(),
            r.repository().to_string(),
            desc.digest.clone(),
        );
        let (bytes, digest) = reg.manifest(&mr, Some(&desc.digest))?;
        let m: ManifestDoc = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{}: manifest {} is not valid JSON",
                target.text, desc.digest
            )
        })?;
        if m.artifact_type.as_deref() != Some(TARGET_ARTIFACT_TYPE) {
            bail!(
                "{}: manifest {} has artifactType {:?}, not {TARGET_ARTIFACT_TYPE}",
                target.text,
                desc.digest,
                m.artifact_type
            );
        }
        let zips: Vec<&Descriptor> = m
            .layers
            .iter()
            .filter(|l| l.media_type == ZIP_MEDIA_TYPE)
            .collect();
        let layer = match zips.as_slice() {
            [one] => *one,
            [] => bail!(
                "{}: manifest {} ({os}_{arch}) has no archive/zip layer",
                target.text,
                desc.digest
            ),
            _ => bail!(
                "{}: manifest {} ({os}_{arch}) has {} archive/zip layers; exactly one is allowed",
                target.text,
                desc.digest,
                zips.len()
            ),
        };
        if !layer.digest.starts_with("sha256:") {
            bail!(
                "{}: layer digest {} is not sha256 (a lock file can only record zh: sha256 hashes)",
                target.text,
                layer.digest
            );
        }
        let zip_path = match opts.cache.get(&layer.digest) {
            Some(p) => {
                tracing::info!("{} {os}_{arch}: {} from cache", target.text, layer.digest);
                p
            }
            None => reg.blob(&mr, layer)?,
        };
        let mut sboms = if opts.attached {
            reg.attached_sboms(r, &digest, "platform")?
        } else {
            Vec::new()
        };
        sboms.extend(index_sboms.iter().cloned());
        out.push(FetchedPlatform {
            os,
            arch,
            index_digest: index_digest.clone(),
            manifest_digest: digest,
            layer_digest: layer.digest.clone(),
            zip_path,
            sboms,
        });
    }
    Ok(out)
}

/// Fetch `target` and describe each platform's cached ZIP as a pipeline target.
pub fn targets(target: &OciTarget, opts: &OciOptions) -> Result<Vec<Target>> {
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
                oci: true,
                properties: vec![
                    ("provguard:oci.reference".into(), target.text.clone()),
                    ("provguard:oci.index.digest".into(), f.index_digest.clone()),
                    (
                        "provguard:oci.manifest.digest".into(),
                        f.manifest_digest.clone(),
                    ),
                    ("provguard:oci.layer.digest".into(), f.layer_digest.clone()),
                ],
            }
        })
        .collect())
}
