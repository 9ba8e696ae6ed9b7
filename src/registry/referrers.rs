//! Referrers of a manifest, discovered in the one order every command uses (fetch, mirror,
//! publish): the OCI 1.1 referrers API (every `Link` page, artifact types filtered on the
//! client whatever `OCI-Filters-Applied` says); only on its 404, the referrers tag schema
//! (`sha256-<hex>`); for SBOMs then cosign's `sha256-<hex>.sbom` tag. Two kinds are looked
//! for: SBOMs, and the origin signature `provguard mirror` carries on a provider index
//! ([`super::SIGNATURE_ARTIFACT_TYPE`]). Every referrer manifest is fetched by digest and
//! verified. A failure other than a real 404 is an error, never "nothing attached". A registry
//! that answered 404 once has no referrers API: later discoveries on the same connection go
//! straight to the tag. A provider index's SBOMs and carried signatures are found in one
//! discovery ([`Registry::index_referrers`]).

use std::sync::atomic::Ordering;

use oci_client::Reference;

use super::client::{Registry, Result, absolute};
use super::error::{Kind, RegistryError};
use super::wire::{Descriptor, ManifestDoc, sibling};
use super::{
    INDEX_MEDIA_TYPE, MANIFEST_LIMIT, SBOM_ARTIFACT_TYPES, SBOM_LAYER_TYPES, SBOM_LIMIT,
    SIGNATURE_ARTIFACT_TYPE,
};

/// How a referrer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// `GET /v2/<repo>/referrers/<digest>`.
    ReferrersApi,
    /// The `sha256-<hex>` fallback index.
    ReferrersTag,
    /// cosign's `sha256-<hex>.sbom` tag.
    CosignTag,
}

impl Via {
    pub fn as_str(&self) -> &'static str {
        match self {
            Via::ReferrersApi => "referrers-api",
            Via::ReferrersTag => "referrers-tag",
            Via::CosignTag => "cosign-tag",
        }
    }
}

/// What a referrer is attached to in a provider: a platform manifest or the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AttachedTo {
    Platform,
    Index,
}

impl AttachedTo {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttachedTo::Platform => "platform",
            AttachedTo::Index => "index",
        }
    }
}

/// A referrer manifest as stored: its digest and bytes (so a mirror can re-write it unchanged),
/// how it was found, and the cosign tag naming it (if any).
#[derive(Debug, Clone)]
pub struct Referrer {
    pub digest: String,
    pub bytes: Vec<u8>,
    pub doc: ManifestDoc,
    pub via: Via,
    pub cosign_tag: Option<String>,
}

/// A document read from a referrer's layer, digest-verified.
#[derive(Debug, Clone)]
pub struct SbomLayer {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Whether an index entry is an SBOM referrer.
pub fn is_sbom_referrer(d: &Descriptor) -> bool {
    d.artifact_type
        .as_deref()
        .is_some_and(|t| SBOM_ARTIFACT_TYPES.contains(&t))
}

/// Whether an index entry is a carried origin signature.
pub fn is_signature_referrer(d: &Descriptor) -> bool {
    d.artifact_type.as_deref() == Some(SIGNATURE_ARTIFACT_TYPE)
}

fn is_sbom_or_signature_referrer(d: &Descriptor) -> bool {
    is_sbom_referrer(d) || is_signature_referrer(d)
}

/// The referrers found, without the descriptors that chose them.
fn found(list: Vec<(Descriptor, Referrer)>) -> Vec<Referrer> {
    list.into_iter().map(|(_, r)| r).collect()
}

fn protocol(r: &Reference, detail: impl Into<String>) -> RegistryError {
    RegistryError::new(Kind::Protocol, r.whole(), detail)
}

impl Registry {
    /// The referrers API for `subject`, every page, the descriptors `keep` accepts. `None` when
    /// the registry has no referrers API (a 404 on the first page, as the spec says to read it).
    fn referrers_api(
        &self,
        r: &Reference,
        subject: &str,
        keep: fn(&Descriptor) -> bool,
    ) -> Result<Option<Vec<Descriptor>>> {
        if self.no_referrers_api.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let origin = self.origin(r);
        let mut url = format!("{origin}/v2/{}/referrers/{subject}", r.repository());
        let what = format!("{}: referrers API for {subject}", r.whole());
        let mut out = Vec::new();
        for page in 0.. {
            if page > 100 {
                return Err(protocol(r, "referrers API: more than 100 pages"));
            }
            let answer = self.get_page(r, &url, INDEX_MEDIA_TYPE, &what);
            let (next, body) = match answer {
                Err(e) if page == 0 && e.is_not_found() => {
                    self.no_referrers_api.store(true, Ordering::Relaxed);
                    return Ok(None);
                }
                other => other?,
            };
            if body.len() > MANIFEST_LIMIT {
                return Err(RegistryError::new(
                    Kind::TooLarge,
                    &what,
                    "referrers list over 4 MiB; refused",
                ));
            }
            let idx: ManifestDoc = serde_json::from_slice(&body).map_err(|e| {
                protocol(
                    r,
                    format!("the referrers API answered something that is not an image index: {e}"),
                )
            })?;
            out.extend(idx.manifests.into_iter().filter(&keep));
            match next {
                Some(n) => url = absolute(&origin, n),
                None => break,
            }
        }
        Ok(Some(out))
    }

    /// The referrers of `subject` (a digest in `r`'s repository) that `keep` accepts, through
    /// the referrers API or, without one, the `sha256-<hex>` tag, each fetched and verified,
    /// with the descriptor that chose it.
    fn referrers_of(
        &self,
        r: &Reference,
        subject: &str,
        keep: fn(&Descriptor) -> bool,
    ) -> Result<Vec<(Descriptor, Referrer)>> {
        let hex = subject.trim_start_matches("sha256:");
        let (descs, via) = match self.referrers_api(r, subject, keep)? {
            Some(d) => (d, Via::ReferrersApi),
            None => {
                let tag = sibling(r, &format!("sha256-{hex}"));
                // Anything other than an image index there means no referrers.
                let descs = match self.try_manifest(&tag)? {
                    Some((bytes, _)) => serde_json::from_slice::<ManifestDoc>(&bytes)
                        .map(|i| i.manifests.into_iter().filter(keep).collect())
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                (descs, Via::ReferrersTag)
            }
        };
        let mut out = Vec::new();
        for d in descs {
            if d.size as usize > MANIFEST_LIMIT {
                return Err(RegistryError::new(
                    Kind::TooLarge,
                    r.whole(),
                    format!("referrer {} is over the 4 MiB manifest limit", d.digest),
                ));
            }
            let (bytes, digest) = self.manifest(&sibling(r, &d.digest), Some(&d.digest))?;
            let doc = serde_json::from_slice(&bytes).map_err(|e| {
                protocol(r, format!("referrer {} is not valid JSON: {e}", d.digest))
            })?;
            out.push((
                d,
                Referrer {
                    digest,
                    bytes,
                    doc,
                    via,
                    cosign_tag: None,
                },
            ));
        }
        Ok(out)
    }

    /// The carried origin signatures attached to `subject` (a provider index), in discovery
    /// order.
    pub fn signature_referrers(&self, r: &Reference, subject: &str) -> Result<Vec<Referrer>> {
        Ok(found(self.referrers_of(
            r,
            subject,
            is_signature_referrer,
        )?))
    }

    /// Every SBOM referrer of `subject` (a digest in `r`'s repository), in discovery order.
    pub fn sbom_referrers(&self, r: &Reference, subject: &str) -> Result<Vec<Referrer>> {
        let mut out = found(self.referrers_of(r, subject, is_sbom_referrer)?);
        out.extend(self.cosign_sbom(r, subject)?);
        Ok(out)
    }

    /// A provider index's SBOM referrers (as [`Registry::sbom_referrers`]; none looked for
    /// without `sboms`) and carried signatures (as [`Registry::signature_referrers`]), found
    /// in one discovery.
    pub fn index_referrers(
        &self,
        r: &Reference,
        subject: &str,
        sboms: bool,
    ) -> Result<(Vec<Referrer>, Vec<Referrer>)> {
        if !sboms {
            return Ok((Vec::new(), self.signature_referrers(r, subject)?));
        }
        let (s, sig): (Vec<_>, Vec<_>) = self
            .referrers_of(r, subject, is_sbom_or_signature_referrer)?
            .into_iter()
            .partition(|(d, _)| is_sbom_referrer(d));
        let mut s = found(s);
        s.extend(self.cosign_sbom(r, subject)?);
        Ok((s, found(sig)))
    }

    /// The SBOM manifest cosign tags `sha256-<hex>.sbom` for `subject`, if there is one.
    fn cosign_sbom(&self, r: &Reference, subject: &str) -> Result<Option<Referrer>> {
        let hex = subject.trim_start_matches("sha256:");
        let cosign = format!("sha256-{hex}.sbom");
        if let Some((bytes, digest)) = self.try_manifest(&sibling(r, &cosign))? {
            let doc: ManifestDoc = serde_json::from_slice(&bytes)
                .map_err(|e| protocol(r, format!("{cosign} is not valid JSON: {e}")))?;
            if doc.media_type.as_deref() == Some(INDEX_MEDIA_TYPE) || !doc.manifests.is_empty() {
                return Err(protocol(
                    r,
                    format!("{cosign} is an index, not an SBOM manifest"),
                ));
            }
            return Ok(Some(Referrer {
                digest,
                bytes,
                doc,
                via: Via::CosignTag,
                cosign_tag: Some(cosign),
            }));
        }
        Ok(None)
    }

    /// The SBOM documents in a referrer's layers, each size-capped and digest-verified.
    pub fn sbom_layers(&self, r: &Reference, referrer: &Referrer) -> Result<Vec<SbomLayer>> {
        self.referrer_layers(r, referrer, &SBOM_LAYER_TYPES, SBOM_LIMIT)
    }

    /// The layers of `referrer` whose media type is one of `types`, each at most `limit`
    /// bytes and digest-verified, in manifest order.
    pub fn referrer_layers(
        &self,
        r: &Reference,
        referrer: &Referrer,
        types: &[&str],
        limit: u64,
    ) -> Result<Vec<SbomLayer>> {
        referrer
            .doc
            .layers
            .iter()
            .filter(|l| types.contains(&l.media_type.as_str()))
            .map(|l| {
                Ok(SbomLayer {
                    media_type: l.media_type.clone(),
                    bytes: self.small_blob(&sibling(r, &l.digest), l, limit)?,
                })
            })
            .collect()
    }
}
