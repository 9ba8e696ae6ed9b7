//! Providers from where most of them live, fetched and verified as `tofu init` does:
//!
//! - the **provider registry protocol** (`direct`): service discovery
//!   (`https://HOST/.well-known/terraform.json`, `providers.v1`), `…/NS/TYPE/versions`,
//!   `…/NS/TYPE/VERSION/download/OS/ARCH`; the ZIP's SHA-256 must equal `shasum`, be listed for
//!   its file name in `SHA256SUMS`, and `SHA256SUMS` must carry a detached OpenPGP signature by
//!   one of the registry's keys ([`verify`]);
//! - **network mirrors**: `BASE/HOST/NS/TYPE/index.json` and `…/VERSION.json`; the ZIP must match
//!   one of the `h1:`/`zh:` hashes the mirror lists for its platform.
//!
//! URLs resolve against the final URL of the document that gave them; tokens (CLI
//! configuration, `TF_TOKEN_…`) go only to discovery and metadata requests of their own host,
//! never to `SHA256SUMS`, signatures or ZIPs ([`http`]). The protocol documents are parsed by
//! pure functions ([`docs`]). A ZIP is streamed into a staging file of the blob cache and
//! committed only after every check passed: any failure leaves nothing behind.

pub mod docs;
pub mod http;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use url::Url;

use self::docs::{Download, MirrorArchive, ProvidersService};
use self::http::{Http, SUMS_LIMIT};
use self::verify::{SigOutcome, SigPolicy};
use super::address::{Credentials, ProviderAddress};
use crate::artifact::provenance::{Check, Origin, Provenance, SignatureStatus};
use crate::artifact::{hashes, naming};
use crate::registry::{BlobCache, ClientOptions, RegistryError};

/// tofu installs providers speaking plugin protocol 5 or 6.
fn protocol_supported(protocols: &[String]) -> bool {
    protocols.is_empty()
        || protocols.iter().any(|p| {
            let major = p.split('.').next().unwrap_or("");
            major == "5" || major == "6"
        })
}

/// The host's platform in Go's terms (`linux_amd64`).
pub fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        o => o,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        a => a,
    };
    format!("{os}_{arch}")
}

/// The signed checksum list of a release, as fetched: carried into OCI by `mirror` so the
/// signature can be verified again later, offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSums {
    pub sums: Vec<u8>,
    pub signature: Vec<u8>,
    /// The registry's keys (ASCII armor), in its order.
    pub keys: Vec<String>,
}

/// A registry's answer for one platform, with `SHA256SUMS` and its signature checked.
#[derive(Debug, Clone)]
pub struct Meta {
    pub download: Download,
    pub download_url: Url,
    pub signed: SignedSums,
    pub signature: SigOutcome,
    /// Every line of `SHA256SUMS` as (file name, hex) (all-or-nothing, as tofu's
    /// `acceptableHashes`).
    pub sums: Vec<(String, String)>,
}

/// One verified package in the blob cache.
#[derive(Debug, Clone)]
pub struct Package {
    pub platform: String,
    pub file_name: String,
    pub zip_path: PathBuf,
    pub provenance: Provenance,
    /// For the registry protocol: the signed checksum list.
    pub signed: Option<SignedSums>,
}

impl Package {
    /// The pipeline target for it.
    pub fn target(&self, addr: &ProviderAddress, version: &str) -> super::Target {
        let (os, arch) = self
            .platform
            .split_once('_')
            .map(|(o, a)| (o.to_string(), a.to_string()))
            .unwrap_or_default();
        super::Target {
            path: self.zip_path.clone(),
            naming: crate::artifact::Naming {
                provider_type: Some(addr.provider_type.clone()),
                version: Some(version.to_string()),
                os: Some(os),
                arch: Some(arch),
                address: Some(addr.full()),
            },
            display: Some(format!("{} {version} ({})", addr.full(), self.platform)),
            file_name: Some(self.file_name.clone()),
            attached: Vec::new(),
            registry: None,
            provenance: Some(self.provenance.clone()),
        }
    }
}

/// Fetches through both protocols for one run (service discovery cached per host).
pub struct Fetcher {
    http: Http,
    cache: BlobCache,
    pub sig_policy: SigPolicy,
    disco: std::sync::Mutex<HashMap<String, Option<Url>>>,
}

fn what(addr: &ProviderAddress) -> String {
    addr.full()
}

impl Fetcher {
    pub fn new(opts: &ClientOptions, creds: Credentials) -> Result<Fetcher> {
        Ok(Fetcher {
            http: Http::new(opts.timeout, opts.retries, creds)?,
            cache: opts.cache.clone(),
            sig_policy: SigPolicy::from_env(),
            disco: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The `providers.v1` base URL of `host`; `None` when the host has no discovery document
    /// (404) or no providers service.
    pub fn providers_base(&self, host: &str) -> Result<Option<Url>> {
        let disco = || self.disco.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = disco().get(host) {
            return Ok(u.clone());
        }
        let url = Url::parse(&format!("https://{host}/.well-known/terraform.json"))
            .map_err(|e| anyhow!("{host}: not a valid registry host ({e})"))?;
        let base = match self.http.json(&url, true, "service discovery") {
            Ok(d) => match docs::parse_discovery(&d.bytes).map_err(|e| anyhow!("{url}: {e}"))? {
                ProvidersService::V1(s) => {
                    let mut u = d
                        .url
                        .join(&s)
                        .map_err(|e| anyhow!("{url}: providers.v1 {s:?}: {e}"))?;
                    if !matches!(u.scheme(), "https" | "http") {
                        bail!("{url}: providers.v1 {s:?} is not an http(s) URL");
                    }
                    u.set_fragment(None);
                    if !u.path().ends_with('/') {
                        let p = format!("{}/", u.path());
                        u.set_path(&p);
                    }
                    Some(u)
                }
                ProvidersService::OtherVersion => {
                    bail!("host {host} does not support providers version 1")
                }
                ProvidersService::None => None,
            },
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        disco().insert(host.to_string(), base.clone());
        Ok(base)
    }

    fn registry_url(base: &Url, parts: &[&str]) -> Result<Url> {
        let mut u = base.clone();
        u.path_segments_mut()
            .map_err(|_| anyhow!("{base}: cannot be a base URL"))?
            .pop_if_empty()
            .extend(parts);
        Ok(u)
    }

    /// `GET …/NS/TYPE/versions`; `None` when the registry does not know the provider.
    pub fn registry_versions(&self, addr: &ProviderAddress) -> Result<Option<docs::Versions>> {
        let Some(base) = self.providers_base(&addr.hostname)? else {
            return Ok(None);
        };
        let url = Self::registry_url(&base, &[&addr.namespace, &addr.provider_type, "versions"])?;
        match self
            .http
            .json(&url, true, &format!("{} versions", what(addr)))
        {
            Ok(d) => {
                let v = docs::parse_versions(&d.bytes).map_err(|e| anyhow!("{url}: {e}"))?;
                for w in &v.warnings {
                    tracing::warn!("{}: the registry says: {w}", what(addr));
                }
                Ok(Some(v))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The download metadata for one platform, with `SHA256SUMS` fetched, the file listed with
    /// the same hash, and the signature checked; `None` when the platform is not published.
    pub fn registry_meta(
        &self,
        addr: &ProviderAddress,
        version: &str,
        platform: &str,
    ) -> Result<Option<Meta>> {
        let Some(base) = self.providers_base(&addr.hostname)? else {
            return Ok(None);
        };
        let (os, arch) = platform
            .split_once('_')
            .ok_or_else(|| anyhow!("{platform}: a platform is OS_ARCH"))?;
        let url = Self::registry_url(
            &base,
            &[
                &addr.namespace,
                &addr.provider_type,
                version,
                "download",
                os,
                arch,
            ],
        )?;
        let label = format!("{} {version} {platform}", what(addr));
        let d = match self
            .http
            .json(&url, true, &format!("{label} download metadata"))
        {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let dl = docs::parse_download(&d.bytes).map_err(|e| anyhow!("{url}: {e}"))?;
        if dl.os != os || dl.arch != arch {
            bail!(
                "registry response to request for {label} has incorrect target {}_{}",
                dl.os,
                dl.arch
            );
        }
        if !protocol_supported(&dl.protocols) {
            bail!(
                "{label}: speaks plugin protocol {} only; tofu installs 5 and 6",
                dl.protocols.join(", ")
            );
        }
        let resolve = |s: &str, field: &str| -> Result<Url> {
            let u = d
                .url
                .join(s)
                .map_err(|e| anyhow!("{label}: {field} {s:?}: {e}"))?;
            if !matches!(u.scheme(), "https" | "http") {
                bail!("{label}: {field} {s:?} is not an http(s) URL");
            }
            Ok(u)
        };
        let download_url = resolve(&dl.download_url, "download_url")?;
        let sums_url = resolve(&dl.shasums_url, "shasums_url")?;
        let sig_url = resolve(&dl.shasums_signature_url, "shasums_signature_url")?;
        let sums = self
            .http
            .document(&sums_url, false, &format!("{label} SHA256SUMS"), SUMS_LIMIT)?
            .bytes;
        let signature = self
            .http
            .document(
                &sig_url,
                false,
                &format!("{label} SHA256SUMS signature"),
                SUMS_LIMIT,
            )?
            .bytes;
        // tofu's "matching checksum" check: the first line naming the file, byte for byte.
        match docs::sha256sums_lookup(&sums, &dl.filename) {
            None => bail!(
                "{label}: verification failed: checksum list has no SHA-256 hash for {:?}",
                dl.filename
            ),
            Some(h) if h != dl.shasum => bail!(
                "{label}: verification failed: checksum list has unexpected SHA-256 hash {h} (expected {})",
                dl.shasum
            ),
            Some(_) => {}
        }
        let signature_outcome = verify::verify_sha256sums(
            &sums,
            &signature,
            &dl.signing_keys,
            &addr.hostname,
            self.sig_policy,
        )
        .map_err(|e| anyhow!("{label}: verification failed: {e}"))?;
        let all = docs::parse_sha256sums(&sums)
            .map(|v| v.into_iter().map(|(hex, name)| (name, hex)).collect())
            .unwrap_or_else(|e| {
                tracing::warn!("{label}: {e}; no zh: hashes taken from it");
                Vec::new()
            });
        Ok(Some(Meta {
            signed: SignedSums {
                sums,
                signature,
                keys: dl.signing_keys.clone(),
            },
            download: dl,
            download_url,
            signature: signature_outcome,
            sums: all,
        }))
    }

    /// Download and verify one platform through the registry protocol; `None` when the
    /// platform is not published.
    pub fn registry_package(
        &self,
        addr: &ProviderAddress,
        version: &str,
        platform: &str,
    ) -> Result<Option<Package>> {
        let Some(meta) = self.registry_meta(addr, version, platform)? else {
            return Ok(None);
        };
        let label = format!("{} {version} {platform}", what(addr));
        let shasum = meta.download.shasum.clone();
        let zip_path = match self.cache.get(&format!("sha256:{shasum}")) {
            Some(p) => p,
            None => {
                let staged = self.stage(&meta.download_url, &label)?;
                let got = staged.sha256_hex();
                if got != shasum {
                    bail!(
                        "{label}: verification failed: archive has incorrect checksum zh:{got} (expected zh:{shasum}); nothing was cached"
                    );
                }
                staged.commit()?
            }
        };
        let signature = match &meta.signature {
            SigOutcome::Verified { key_id } => SignatureStatus::Verified {
                key_id: key_id.clone(),
            },
            SigOutcome::VerifiedExpired { key_id } => SignatureStatus::VerifiedExpiredKey {
                key_id: key_id.clone(),
            },
            SigOutcome::Skipped => SignatureStatus::Skipped,
        };
        let mut checks = vec![Check::Shasum, Check::ChecksumList];
        if signature.is_verified() {
            checks.push(Check::Signature);
        }
        Ok(Some(Package {
            platform: platform.to_string(),
            file_name: meta.download.filename.clone(),
            zip_path,
            provenance: Provenance {
                origin: Origin::Registry {
                    host: addr.hostname.clone(),
                    download_url: meta.download_url.to_string(),
                },
                address: addr.full(),
                version: version.to_string(),
                platform: platform.to_string(),
                checks,
                signature,
                signature_required: self.sig_policy.required_without_keys(&addr.hostname),
                sums: meta.sums.clone(),
            },
            signed: Some(meta.signed),
        }))
    }

    fn stage(&self, url: &Url, label: &str) -> Result<crate::registry::cache::StagedBlob> {
        let mut staged = self.cache.staging()?;
        self.http
            .download(url, &format!("{label} package"), &mut |c| staged.write(c))?;
        Ok(staged)
    }

    fn mirror_url(base: &str, addr: &ProviderAddress, last: &str) -> Result<Url> {
        let mut u = Url::parse(base).map_err(|e| anyhow!("network mirror {base:?}: {e}"))?;
        u.path_segments_mut()
            .map_err(|_| anyhow!("network mirror {base:?} cannot be a base URL"))?
            .pop_if_empty()
            .extend([
                addr.hostname.as_str(),
                &addr.namespace,
                &addr.provider_type,
                last,
            ]);
        Ok(u)
    }

    /// A network mirror's versions of `addr`; `None` when it does not have the provider.
    pub fn mirror_versions(
        &self,
        base: &str,
        addr: &ProviderAddress,
    ) -> Result<Option<Vec<String>>> {
        let url = Self::mirror_url(base, addr, "index.json")?;
        match self
            .http
            .json(&url, true, &format!("{} in network mirror", what(addr)))
        {
            Ok(d) => Ok(Some(
                docs::parse_mirror_index(&d.bytes).map_err(|e| anyhow!("{url}: {e}"))?,
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Does the network mirror list `version` of `addr`?
    pub fn mirror_has(&self, base: &str, addr: &ProviderAddress, version: &str) -> Result<bool> {
        Ok(self
            .mirror_versions(base, addr)?
            .is_some_and(|v| v.iter().any(|x| x == version)))
    }

    /// A network mirror's archives of one version, URLs resolved.
    pub fn mirror_archives(
        &self,
        base: &str,
        addr: &ProviderAddress,
        version: &str,
    ) -> Result<BTreeMap<String, MirrorArchive>> {
        let url = Self::mirror_url(base, addr, &format!("{version}.json"))?;
        let d = self
            .http
            .json(&url, true, &format!("{} {version} in network mirror", what(addr)))
            .map_err(|e: RegistryError| {
                if e.is_not_found() {
                    anyhow!(
                        "provider mirror does not have archive index for previously-reported {} version {version}: {e}",
                        what(addr)
                    )
                } else {
                    e.into()
                }
            })?;
        let mut archives =
            docs::parse_mirror_version(&d.bytes).map_err(|e| anyhow!("{url}: {e}"))?;
        for a in archives.values_mut() {
            a.url = d
                .url
                .join(&a.url)
                .map_err(|e| anyhow!("{url}: archive url {:?}: {e}", a.url))?
                .to_string();
        }
        Ok(archives)
    }

    /// Download and verify one platform from a network mirror; `None` when the mirror has no
    /// archive for it.
    pub fn mirror_package(
        &self,
        base: &str,
        trust_all_hashes: bool,
        addr: &ProviderAddress,
        version: &str,
        platform: &str,
    ) -> Result<Option<Package>> {
        let archives = self.mirror_archives(base, addr, version)?;
        let Some(a) = archives.get(platform) else {
            return Ok(None);
        };
        let label = format!("{} {version} {platform}", what(addr));
        let listed: Vec<&String> = if trust_all_hashes {
            archives.values().flat_map(|a| a.hashes.iter()).collect()
        } else {
            a.hashes.iter().collect()
        };
        let usable: Vec<&String> = listed
            .iter()
            .copied()
            .filter(|h| h.starts_with("h1:") || h.starts_with("zh:"))
            .collect();
        if !listed.is_empty() && usable.is_empty() {
            bail!(
                "{label}: this version of OpenTofu does not support any of the checksum formats given for this provider"
            );
        }
        let url = Url::parse(&a.url).map_err(|e| anyhow!("{label}: {e}"))?;
        let staged = self.stage(&url, &label)?;
        let zh = format!("zh:{}", staged.sha256_hex());
        let mut checks = Vec::new();
        if !usable.is_empty() {
            let mut ok = usable.iter().any(|h| **h == zh);
            if !ok && usable.iter().any(|h| h.starts_with("h1:")) {
                let h1 = hashes::zip_h1(staged.path())?;
                ok = usable.iter().any(|h| **h == h1);
            }
            if !ok {
                bail!(
                    "{label}: verification failed: provider package doesn't match the expected checksum (the mirror lists {}); nothing was cached",
                    usable
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            checks.push(Check::MirrorHash);
        } else {
            tracing::warn!(
                "{label}: the network mirror lists no hashes; installed without verification, as tofu does"
            );
        }
        let file_name = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or("")
            .to_string();
        let zip_path = staged.commit()?;
        Ok(Some(Package {
            platform: platform.to_string(),
            file_name,
            zip_path,
            provenance: Provenance {
                origin: Origin::NetworkMirror {
                    mirror: base.to_string(),
                    url: url.to_string(),
                },
                address: addr.full(),
                version: version.to_string(),
                platform: platform.to_string(),
                checks,
                signature: SignatureStatus::Unsigned,
                signature_required: self.sig_policy.required_without_keys(&addr.hostname),
                sums: Vec::new(),
            },
            signed: None,
        }))
    }
}

/// The platforms a release publishes, from the registry's version list (or the network
/// mirror's archives).
pub fn published_platforms(versions: &docs::Versions, version: &str) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for v in versions.versions.iter().filter(|v| v.version == version) {
        out.extend(v.platforms.iter().cloned());
    }
    out.into_iter().collect()
}

/// Platform of a provider ZIP name.
pub fn zip_platform(file_name: &str) -> Option<String> {
    naming::parse_zip_name(file_name).map(|z| format!("{}_{}", z.os, z.arch))
}

/// Context for errors about an address.
pub fn context<T>(r: Result<T>, addr: &ProviderAddress) -> Result<T> {
    r.with_context(|| format!("fetching {}", addr.full()))
}
