//! The registry client's one error type, classified **once** where an error is born — from
//! oci-client's typed errors, reqwest's error kinds and HTTP status codes, never from message
//! text. Callers decide on the variant: [`RegistryError::is_transient`] drives retries, and
//! only [`RegistryError::NotFound`] (a real 404 or a `MANIFEST_UNKNOWN`-class error code) may be
//! read as "absent".
//!
//! One limit of oci-client: a 4xx answer that carries an OCI error envelope reaches us as the
//! envelope alone, without its status; such errors are classified by their error code
//! (`TOOMANYREQUESTS` → transient, `MANIFEST_UNKNOWN` → not found, …), an unknown code being a
//! protocol error (final). Answers to the requests we send ourselves (referrers pages, manifest
//! puts) are classified by status first.

use std::fmt;

use oci_client::errors::{OciDistributionError, OciErrorCode};

/// Why a registry operation failed. `what` names the operation and the reference
/// (`127.0.0.1:5000/acme/demo:1.0.0: manifest`); `detail` is what the registry or the transport
/// said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// 404, or an error code saying the manifest, blob or repository is unknown.
    #[error("{what}: not found ({detail})")]
    NotFound { what: String, detail: String },
    /// 401, or the token exchange failed: credentials are missing or wrong.
    #[error(
        "{what}: unauthorized ({detail}); log in with `docker login`, or pass --username with --password-stdin"
    )]
    Unauthorized { what: String, detail: String },
    /// 403 / `DENIED`: the credentials are valid but not allowed to do this.
    #[error("{what}: access denied ({detail})")]
    Denied { what: String, detail: String },
    /// Over a size limit (ours, or the registry's 413).
    #[error("{what}: too large ({detail})")]
    TooLarge { what: String, detail: String },
    /// The bytes are not what their digest or size says: final, never retried.
    #[error("{what}: integrity check failed ({detail})")]
    Integrity { what: String, detail: String },
    /// 408, 429, 5xx, timeouts, refused or dropped connections, bodies cut short: worth another try.
    #[error("{what}: {detail}")]
    Transient { what: String, detail: String },
    /// The registry answered something the protocol does not allow, or another 4xx.
    #[error("{what}: {detail}")]
    Protocol { what: String, detail: String },
    /// A local failure (the cache directory, a file to upload).
    #[error("{what}: {detail}")]
    Local { what: String, detail: String },
}

/// The kind of a [`RegistryError`], for matching without the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotFound,
    Unauthorized,
    Denied,
    TooLarge,
    Integrity,
    Transient,
    Protocol,
    Local,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl RegistryError {
    pub fn new(kind: Kind, what: impl Into<String>, detail: impl Into<String>) -> RegistryError {
        let (what, detail) = (what.into(), detail.into());
        match kind {
            Kind::NotFound => RegistryError::NotFound { what, detail },
            Kind::Unauthorized => RegistryError::Unauthorized { what, detail },
            Kind::Denied => RegistryError::Denied { what, detail },
            Kind::TooLarge => RegistryError::TooLarge { what, detail },
            Kind::Integrity => RegistryError::Integrity { what, detail },
            Kind::Transient => RegistryError::Transient { what, detail },
            Kind::Protocol => RegistryError::Protocol { what, detail },
            Kind::Local => RegistryError::Local { what, detail },
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            RegistryError::NotFound { .. } => Kind::NotFound,
            RegistryError::Unauthorized { .. } => Kind::Unauthorized,
            RegistryError::Denied { .. } => Kind::Denied,
            RegistryError::TooLarge { .. } => Kind::TooLarge,
            RegistryError::Integrity { .. } => Kind::Integrity,
            RegistryError::Transient { .. } => Kind::Transient,
            RegistryError::Protocol { .. } => Kind::Protocol,
            RegistryError::Local { .. } => Kind::Local,
        }
    }

    /// Worth retrying: only [`Kind::Transient`].
    pub fn is_transient(&self) -> bool {
        self.kind() == Kind::Transient
    }

    /// Absent: only a real 404 or an "unknown" error code.
    pub fn is_not_found(&self) -> bool {
        self.kind() == Kind::NotFound
    }

    /// Classify an oci-client error.
    pub fn from_oci(what: impl Into<String>, e: &OciDistributionError) -> RegistryError {
        let (kind, detail) = classify_oci(e);
        RegistryError::new(kind, what, detail)
    }

    /// Classify a reqwest transport error (no HTTP answer, or a body that broke off).
    pub fn from_reqwest(what: impl Into<String>, e: &reqwest::Error) -> RegistryError {
        RegistryError::new(classify_reqwest(e), what, error_chain(e))
    }

    /// Classify an HTTP answer that was not a success, from its status and body (an OCI error
    /// envelope, when the registry sent one).
    pub fn from_status(what: impl Into<String>, status: u16, body: &[u8]) -> RegistryError {
        let envelope = serde_json::from_slice::<oci_client::errors::OciEnvelope>(body).ok();
        let codes: Vec<&OciErrorCode> = envelope
            .as_ref()
            .map(|e| e.errors.iter().map(|x| &x.code).collect())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(body);
        let detail = format!(
            "HTTP {status}{}{}",
            if text.trim().is_empty() { "" } else { ": " },
            text.trim().chars().take(300).collect::<String>()
        );
        RegistryError::new(status_kind(status, &codes), what, detail)
    }
}

/// Whether a refused manifest put says the manifest names a blob or manifest the registry does
/// not hold: a 400 whose envelope carries `MANIFEST_BLOB_UNKNOWN` (distribution's answer; it
/// sends `DIGEST_INVALID` beside it when it could not read its own link file). Read from the
/// error codes, never from the message. The writer decides whether that can settle (it pushed
/// every referenced digest first) — see `push::Registry::put_manifest`.
pub fn names_unknown_content(status: u16, body: &[u8]) -> bool {
    status == 400
        && serde_json::from_slice::<oci_client::errors::OciEnvelope>(body).is_ok_and(|e| {
            e.errors
                .iter()
                .any(|x| x.code == OciErrorCode::ManifestBlobUnknown)
        })
}

/// What an HTTP status says, refined by the OCI error codes of the body.
pub fn status_kind(status: u16, codes: &[&OciErrorCode]) -> Kind {
    match status {
        401 => Kind::Unauthorized,
        403 => Kind::Denied,
        404 => Kind::NotFound,
        408 | 429 => Kind::Transient,
        413 => Kind::TooLarge,
        500..=599 => Kind::Transient,
        _ => codes.first().map_or(Kind::Protocol, |c| code_kind(c)),
    }
}

/// What an OCI error code says, for answers whose status we do not know.
pub fn code_kind(code: &OciErrorCode) -> Kind {
    match code {
        OciErrorCode::ManifestUnknown
        | OciErrorCode::BlobUnknown
        | OciErrorCode::NameUnknown
        | OciErrorCode::NotFound => Kind::NotFound,
        OciErrorCode::Unauthorized => Kind::Unauthorized,
        OciErrorCode::Denied => Kind::Denied,
        OciErrorCode::Toomanyrequests => Kind::Transient,
        OciErrorCode::DigestInvalid | OciErrorCode::SizeInvalid => Kind::Integrity,
        _ => Kind::Protocol,
    }
}

fn classify_reqwest(e: &reqwest::Error) -> Kind {
    if let Some(s) = e.status() {
        return status_kind(s.as_u16(), &[]);
    }
    if e.is_builder() || e.is_redirect() {
        return Kind::Protocol;
    }
    // Timeouts, refused/reset connections, a body cut short or undecodable mid-stream.
    if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
        return Kind::Transient;
    }
    Kind::Protocol
}

/// `e`'s message followed by each of its sources' (reqwest hides the cause in the chain).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn classify_oci(e: &OciDistributionError) -> (Kind, String) {
    use OciDistributionError as E;
    let detail = error_chain(e);
    let kind = match e {
        E::ImageManifestNotFoundError(_) => Kind::NotFound,
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => Kind::Unauthorized,
        E::RegistryTokenDecodeError(_) => Kind::Unauthorized,
        E::ServerError { code, .. } => status_kind(*code, &[]),
        E::RegistryError { envelope, .. } => envelope
            .errors
            .first()
            .map_or(Kind::Protocol, |x| code_kind(&x.code)),
        E::RequestError(r) => classify_reqwest(r),
        E::IoError(_) => Kind::Transient,
        E::DigestError(_) => Kind::Integrity,
        E::ConfigConversionError(_)
        | E::GenericError(_)
        | E::HeaderValueError(_)
        | E::ImageIndexParsingNoPlatformResolverError
        | E::IncompatibleLayerMediaTypeError(_)
        | E::JsonError(_)
        | E::ManifestEncodingError(_)
        | E::ManifestParsingError(_)
        | E::PushNoDataError
        | E::PushLayerNoDataError
        | E::PullNoLayersError
        | E::RegistryNoDigestError
        | E::RegistryNoLocationError
        | E::SpecViolationError(_)
        | E::UrlParseError(_)
        | E::UnsupportedMediaTypeError(_)
        | E::UnsupportedSchemaVersionError(_)
        | E::VersionedParsingError(_) => Kind::Protocol,
    };
    (kind, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_client::errors::{OciEnvelope, OciError};

    fn envelope(code: OciErrorCode) -> OciDistributionError {
        OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "m".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "http://127.0.0.1:5404/v2/x/manifests/sha256-404".into(),
        }
    }

    fn server(code: u16) -> OciDistributionError {
        OciDistributionError::ServerError {
            code,
            // The URL and message carry "404" on purpose: classification never reads them.
            url: "http://127.0.0.1:5404/v2/acme/demo/manifests/sha256-4040404".into(),
            message: "not found 404".into(),
        }
    }

    #[test]
    fn every_status_maps_to_its_kind() {
        let cases = [
            (200, Kind::Protocol),
            (301, Kind::Protocol),
            (400, Kind::Protocol),
            (401, Kind::Unauthorized),
            (403, Kind::Denied),
            (404, Kind::NotFound),
            (405, Kind::Protocol),
            (408, Kind::Transient),
            (409, Kind::Protocol),
            (413, Kind::TooLarge),
            (416, Kind::Protocol),
            (429, Kind::Transient),
            (500, Kind::Transient),
            (502, Kind::Transient),
            (503, Kind::Transient),
            (504, Kind::Transient),
            (599, Kind::Transient),
        ];
        for (status, want) in cases {
            assert_eq!(status_kind(status, &[]), want, "HTTP {status}");
            assert_eq!(
                RegistryError::from_oci("x", &server(status)).kind(),
                want,
                "ServerError {status}"
            );
            assert_eq!(
                RegistryError::from_status("x", status, b"404 not found").kind(),
                want,
                "status {status} with a body that says 404"
            );
        }
    }

    #[test]
    fn every_error_code_maps_to_its_kind() {
        use OciErrorCode as C;
        let cases = [
            (C::BlobUnknown, Kind::NotFound),
            (C::BlobUploadInvalid, Kind::Protocol),
            (C::BlobUploadUnknown, Kind::Protocol),
            (C::DigestInvalid, Kind::Integrity),
            (C::ManifestBlobUnknown, Kind::Protocol),
            (C::ManifestInvalid, Kind::Protocol),
            (C::ManifestUnknown, Kind::NotFound),
            (C::ManifestUnverified, Kind::Protocol),
            (C::NameInvalid, Kind::Protocol),
            (C::NameUnknown, Kind::NotFound),
            (C::NotFound, Kind::NotFound),
            (C::SizeInvalid, Kind::Integrity),
            (C::TagInvalid, Kind::Protocol),
            (C::Unauthorized, Kind::Unauthorized),
            (C::Denied, Kind::Denied),
            (C::Unsupported, Kind::Protocol),
            (C::Toomanyrequests, Kind::Transient),
            (C::Other("ARTIFACT_LOCKED".into()), Kind::Protocol),
        ];
        for (code, want) in cases {
            assert_eq!(code_kind(&code), want, "{code:?}");
            assert_eq!(RegistryError::from_oci("x", &envelope(code)).kind(), want);
        }
        // A 4xx status wins over the body; an unknown 4xx falls back to the code.
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        assert_eq!(
            RegistryError::from_status("x", 404, body).kind(),
            Kind::NotFound
        );
        assert_eq!(
            RegistryError::from_status("x", 400, body).kind(),
            Kind::NotFound
        );
        assert_eq!(
            RegistryError::from_status("x", 500, body).kind(),
            Kind::Transient
        );
        let denied = br#"{"errors":[{"code":"DENIED","message":"no"}]}"#;
        assert_eq!(
            RegistryError::from_status("x", 400, denied).kind(),
            Kind::Denied
        );
    }

    #[test]
    fn a_put_naming_unknown_content_is_told_by_its_error_code() {
        // distribution 2.8's answer while another writer rewrites a link file it reads.
        let raced = br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"},{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:27"}]}"#;
        assert!(names_unknown_content(400, raced));
        assert_eq!(
            RegistryError::from_status("x", 400, raced).kind(),
            Kind::Integrity
        );
        for (status, body) in [
            (500, &raced[..]),
            (404, &raced[..]),
            (
                400,
                br#"{"errors":[{"code":"MANIFEST_INVALID","message":"MANIFEST_BLOB_UNKNOWN"}]}"#,
            ),
            (400, b"MANIFEST_BLOB_UNKNOWN"),
            (400, b""),
        ] {
            assert!(!names_unknown_content(status, body), "{status}");
        }
    }

    #[test]
    fn every_oci_client_variant_is_classified() {
        use OciDistributionError as E;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset 404");
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        let bad = vec![0xffu8];
        let utf8 = std::str::from_utf8(&bad).unwrap_err();
        let cases: Vec<(E, Kind)> = vec![
            (E::AuthenticationFailure("404".into()), Kind::Unauthorized),
            (E::ConfigConversionError("404".into()), Kind::Protocol),
            (
                E::DigestError(oci_client::errors::DigestError::UnsupportedAlgorithm(
                    "md5".into(),
                )),
                Kind::Integrity,
            ),
            (
                E::GenericError(Some("404 not found".into())),
                Kind::Protocol,
            ),
            (E::ImageManifestNotFoundError("x".into()), Kind::NotFound),
            (E::ImageIndexParsingNoPlatformResolverError, Kind::Protocol),
            (
                E::IncompatibleLayerMediaTypeError("x".into()),
                Kind::Protocol,
            ),
            (E::IoError(io), Kind::Transient),
            (E::JsonError(json), Kind::Protocol),
            (E::ManifestEncodingError(utf8), Kind::Protocol),
            (E::ManifestParsingError("x".into()), Kind::Protocol),
            (E::PushNoDataError, Kind::Protocol),
            (E::PushLayerNoDataError, Kind::Protocol),
            (E::PullNoLayersError, Kind::Protocol),
            (E::RegistryNoDigestError, Kind::Protocol),
            (E::RegistryNoLocationError, Kind::Protocol),
            (E::RegistryTokenDecodeError("x".into()), Kind::Unauthorized),
            (E::SpecViolationError("404".into()), Kind::Protocol),
            (
                E::UnauthorizedError {
                    url: "http://h/v2/x/manifests/sha256-404".into(),
                },
                Kind::Unauthorized,
            ),
            (E::UrlParseError("x".into()), Kind::Protocol),
            (E::UnsupportedMediaTypeError("x".into()), Kind::Protocol),
            (E::UnsupportedSchemaVersionError(404), Kind::Protocol),
            (E::VersionedParsingError("404".into()), Kind::Protocol),
        ];
        for (e, want) in cases {
            assert_eq!(RegistryError::from_oci("x", &e).kind(), want, "{e:?}");
        }
    }

    #[test]
    fn a_reference_with_404_in_its_digest_is_not_absent_when_the_get_fails() {
        // About 1.5 % of SHA-256 digests contain "404"; the tag and URL carry it.
        let what = "127.0.0.1:5000/acme/demo:sha256-1234040412";
        for (e, want) in [
            (unauthorized(), Kind::Unauthorized),
            (server(500), Kind::Transient),
            (server(503), Kind::Transient),
        ] {
            let r = RegistryError::from_oci(what, &e);
            assert_eq!(r.kind(), want);
            assert!(!r.is_not_found(), "{r}");
        }
    }

    fn unauthorized() -> OciDistributionError {
        OciDistributionError::UnauthorizedError {
            url: "http://127.0.0.1:5404/v2/acme/demo/manifests/sha256-404404".into(),
        }
    }

    #[test]
    fn transport_errors_from_a_real_client() {
        // A refused connection and a timeout, from reqwest itself.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap();
        let refused = client
            .get(format!("http://127.0.0.1:{port}/v2/404"))
            .send()
            .unwrap_err();
        assert_eq!(
            RegistryError::from_reqwest("x", &refused).kind(),
            Kind::Transient
        );
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let timeout = client
            .get(format!("http://127.0.0.1:{port}/v2/404"))
            .send()
            .unwrap_err();
        assert!(timeout.is_timeout());
        assert_eq!(
            RegistryError::from_reqwest("x", &timeout).kind(),
            Kind::Transient
        );
        drop(silent);
    }
}
