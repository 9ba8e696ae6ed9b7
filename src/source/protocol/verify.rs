//! tofu's signature check of `SHA256SUMS` (`package_authentication.go`, `findSigningKey`), with
//! rPGP: a detached binary OpenPGP signature over the exact bytes, checked against the
//! registry's `signing_keys` in order.
//!
//! - A key that does not parse is fatal. A key that did not make the signature (unknown issuer)
//!   is skipped.
//! - The signature is checked cryptographically by the primary key or the signing-capable
//!   subkey whose key ID it names (the subkey's binding signature checked first); a failure
//!   against the named issuer is fatal, and so is a revoked key.
//! - Then validity **now**, as go-crypto judges it: the primary key, the signing subkey and the
//!   signature must not have expired. An expired candidate is remembered; if only expired
//!   candidates verified, the package is accepted with a warning unless
//!   `OPENTOFU_ENFORCE_GPG_EXPIRATION=true`.
//! - No keys at all: `registry.opentofu.org` skips the check (a warning) unless
//!   `OPENTOFU_ENFORCE_GPG_VALIDATION=true`; every other host fails.

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, KeyId, Timestamp};

/// tofu's public registry, the one host allowed to publish providers without keys.
pub const OPENTOFU_REGISTRY: &str = "registry.opentofu.org";

/// The two switches tofu reads from the environment (each counts only as the exact `true`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigPolicy {
    pub enforce_validation: bool,
    pub enforce_expiration: bool,
}

impl SigPolicy {
    pub fn from_env() -> SigPolicy {
        let on = |k: &str| std::env::var(k).is_ok_and(|v| v == "true");
        SigPolicy {
            enforce_validation: on("OPENTOFU_ENFORCE_GPG_VALIDATION"),
            enforce_expiration: on("OPENTOFU_ENFORCE_GPG_EXPIRATION"),
        }
    }

    /// Would tofu demand a valid signature for a provider of `host` whose registry returned
    /// no keys?
    pub fn required_without_keys(&self, host: &str) -> bool {
        host != OPENTOFU_REGISTRY || self.enforce_validation
    }
}

/// How the signature of `SHA256SUMS` came out (failures are [`SigError`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigOutcome {
    /// Verified by a valid key; the primary key's ID (16 uppercase hex digits).
    Verified { key_id: String },
    /// Verified by a key or subkey that has since expired (or a signature past its expiry):
    /// accepted, as tofu accepts it by default, with a warning.
    VerifiedExpired { key_id: String },
    /// No keys published, on `registry.opentofu.org`: tofu skips the check.
    Skipped,
}

impl SigOutcome {
    pub fn key_id(&self) -> Option<&str> {
        match self {
            SigOutcome::Verified { key_id } | SigOutcome::VerifiedExpired { key_id } => {
                Some(key_id)
            }
            SigOutcome::Skipped => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error(
        "the provider is not signed with a valid signing key (authentication signature from unknown issuer {issuer})"
    )]
    UnknownIssuer { issuer: String },
    #[error(
        "the registry published no signing keys, so the signature of SHA256SUMS cannot be checked{}",
        if *.opentofu { " (OPENTOFU_ENFORCE_GPG_VALIDATION=true)" } else { "" }
    )]
    NoKeys { opentofu: bool },
    #[error(
        "SHA256SUMS is signed by key {key_id}, which has expired ({what}); refused because OPENTOFU_ENFORCE_GPG_EXPIRATION=true"
    )]
    Expired { key_id: String, what: String },
    #[error("signing key {index} is not a valid OpenPGP public key: {detail}")]
    BadKey { index: usize, detail: String },
    #[error("the SHA256SUMS signature is not a valid OpenPGP signature: {detail}")]
    BadSignature { detail: String },
    #[error("error checking signature: key {key_id}: {detail}")]
    Check { key_id: String, detail: String },
}

fn hex_id(id: &KeyId) -> String {
    hex::encode_upper(id.as_ref())
}

/// The key IDs a signature names as its issuer (issuer subpackets, and the last 8 bytes of a
/// v4 issuer fingerprint).
fn issuers(sig: &Signature) -> Vec<[u8; 8]> {
    let mut out: Vec<[u8; 8]> = Vec::new();
    for id in sig.issuer_key_id() {
        if let Ok(b) = <[u8; 8]>::try_from(id.as_ref()) {
            out.push(b);
        }
    }
    for fp in sig.issuer_fingerprint() {
        let b = fp.as_bytes();
        if b.len() == 20
            && let Ok(id) = <[u8; 8]>::try_from(&b[12..])
        {
            out.push(id);
        }
    }
    out
}

fn named(id: &KeyId, issuers: &[[u8; 8]]) -> bool {
    issuers.iter().any(|i| i.as_slice() == id.as_ref())
}

fn now_secs() -> u64 {
    u64::from(Timestamp::now().as_secs())
}

/// `created + validity` is in the past.
fn past(created: Timestamp, validity: Option<pgp::types::Duration>, now: u64) -> bool {
    validity.is_some_and(|d| {
        d.as_secs() != 0 && u64::from(created.as_secs()) + u64::from(d.as_secs()) <= now
    })
}

/// The newest of `sigs` (by creation time).
fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

/// Try one key: `Ok(None)` when it did not make the signature, `Ok(Some(expired_what))` when
/// it did (`Some("")` for valid), an error when it named itself but the check failed.
fn try_key(
    key: &SignedPublicKey,
    det: &DetachedSignature,
    data: &[u8],
    now: u64,
) -> Result<Option<Option<String>>, SigError> {
    let issuers = issuers(&det.signature);
    let primary_id = key.primary_key.legacy_key_id();
    let key_id = hex_id(&primary_id);
    let check = |detail: String| SigError::Check {
        key_id: key_id.clone(),
        detail,
    };
    let primary = &key.primary_key;
    let revoked = key
        .details
        .revocation_signatures
        .iter()
        .any(|s| s.verify_key(primary).is_ok());
    let primary_self = newest(
        key.details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .chain(key.details.direct_signatures.iter())
            .filter(|s| {
                s.issuer_key_id()
                    .iter()
                    .any(|i| i.as_ref() == primary_id.as_ref())
            }),
    );
    let mut expired = Vec::new();
    if past(
        primary.created_at(),
        primary_self.and_then(|s| s.key_expiration_time()),
        now,
    ) {
        expired.push("primary key".to_string());
    }

    let verified_by = if named(&primary_id, &issuers) {
        det.verify(primary, data)
            .map_err(|e| check(e.to_string()))?;
        if revoked {
            return Err(check("the key is revoked".into()));
        }
        "primary key".to_string()
    } else {
        let Some(sub) = key.public_subkeys.iter().find(|s| {
            named(&s.key.legacy_key_id(), &issuers)
                && s.signatures.iter().any(|b| {
                    b.typ() == Some(SignatureType::SubkeyBinding)
                        && b.key_flags().sign()
                        && b.verify_subkey_binding(primary, &s.key).is_ok()
                })
        }) else {
            return Ok(None);
        };
        det.verify(sub, data).map_err(|e| check(e.to_string()))?;
        let sub_revoked = sub.signatures.iter().any(|b| {
            b.typ() == Some(SignatureType::SubkeyRevocation)
                && b.verify_subkey_binding(primary, &sub.key).is_ok()
        });
        if revoked || sub_revoked {
            return Err(check("the key is revoked".into()));
        }
        let binding = newest(
            sub.signatures
                .iter()
                .filter(|b| b.typ() == Some(SignatureType::SubkeyBinding)),
        );
        if past(
            sub.key.created_at(),
            binding.and_then(|b| b.key_expiration_time()),
            now,
        ) {
            expired.push(format!(
                "signing subkey {}",
                hex_id(&sub.key.legacy_key_id())
            ));
        }
        format!("subkey {}", hex_id(&sub.key.legacy_key_id()))
    };
    if let Some(created) = det.signature.created()
        && past(created, det.signature.signature_expiration_time(), now)
    {
        expired.push("the signature".into());
    }
    tracing::debug!("SHA256SUMS signature verified by {verified_by} of key {key_id}");
    Ok(Some(if expired.is_empty() {
        None
    } else {
        Some(expired.join(", "))
    }))
}

/// Check `signature` (binary, detached) over `sums` against `keys` (ASCII-armored) for a
/// provider of `host`, as tofu does.
pub fn verify_sha256sums(
    sums: &[u8],
    signature: &[u8],
    keys: &[String],
    host: &str,
    policy: SigPolicy,
) -> Result<SigOutcome, SigError> {
    verify_at(sums, signature, keys, host, policy, now_secs())
}

/// [`verify_sha256sums`] judged at `now` (seconds since the epoch).
pub fn verify_at(
    sums: &[u8],
    signature: &[u8],
    keys: &[String],
    host: &str,
    policy: SigPolicy,
    now: u64,
) -> Result<SigOutcome, SigError> {
    if keys.is_empty() {
        if policy.required_without_keys(host) {
            return Err(SigError::NoKeys {
                opentofu: host == OPENTOFU_REGISTRY,
            });
        }
        tracing::warn!(
            "{host}: no keys were provided by the registry; the signature of SHA256SUMS is not checked (as tofu; set OPENTOFU_ENFORCE_GPG_VALIDATION=true to refuse)"
        );
        return Ok(SigOutcome::Skipped);
    }
    let det = DetachedSignature::from_bytes(signature).map_err(|e| SigError::BadSignature {
        detail: e.to_string(),
    })?;
    let mut first_expired: Option<(String, String)> = None;
    for (index, armor) in keys.iter().enumerate() {
        let bad = |detail: String| SigError::BadKey { index, detail };
        let (ring, _) = SignedPublicKey::from_string_many(armor).map_err(|e| bad(e.to_string()))?;
        let ring: Vec<SignedPublicKey> = ring
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if ring.is_empty() {
            return Err(bad("no key in the armor".into()));
        }
        for key in &ring {
            let key_id = hex_id(&key.primary_key.legacy_key_id());
            match try_key(key, &det, sums, now)? {
                None => continue,
                Some(None) => return Ok(SigOutcome::Verified { key_id }),
                Some(Some(what)) => {
                    if first_expired.is_none() {
                        first_expired = Some((key_id, what));
                    }
                }
            }
        }
    }
    match first_expired {
        Some((key_id, what)) if policy.enforce_expiration => {
            Err(SigError::Expired { key_id, what })
        }
        Some((key_id, what)) => {
            tracing::warn!(
                "SHA256SUMS is signed by key {key_id}, which has expired ({what}); accepted as tofu accepts it (set OPENTOFU_ENFORCE_GPG_EXPIRATION=true to refuse)"
            );
            Ok(SigOutcome::VerifiedExpired { key_id })
        }
        None => Err(SigError::UnknownIssuer {
            issuer: issuers(&det.signature)
                .iter()
                .map(hex::encode_upper)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_keys_as_tofu_handles_them() {
        let lax = SigPolicy::default();
        let strict = SigPolicy {
            enforce_validation: true,
            ..SigPolicy::default()
        };
        // registry.opentofu.org without keys: skipped, unless enforced.
        assert_eq!(
            verify_at(b"x", b"", &[], OPENTOFU_REGISTRY, lax, 0),
            Ok(SigOutcome::Skipped)
        );
        assert_eq!(
            verify_at(b"x", b"", &[], OPENTOFU_REGISTRY, strict, 0),
            Err(SigError::NoKeys { opentofu: true })
        );
        // Any other host: refused.
        assert_eq!(
            verify_at(b"x", b"", &[], "registry.terraform.io", lax, 0),
            Err(SigError::NoKeys { opentofu: false })
        );
        // Garbage is an error, never a panic.
        assert!(matches!(
            verify_at(b"x", b"\x00\x01", &["k".into()], "h", lax, 0),
            Err(SigError::BadSignature { .. })
        ));
    }
}
