//! Blob uploads held open until the caller commits them: the bytes go up early (`POST` an
//! upload session, then the whole file in one streamed `PATCH`), and only the final
//! `PUT …?digest=` — which makes the blob exist, the registry checking the digest — waits for
//! the caller's decision; [`Registry::cancel_blob`] (`DELETE` of the session) drops the bytes
//! instead. A session is not content: no `HEAD`, manifest or tag can see it, so a run that
//! stages uploads and then fails leaves the repository as it found it.
//!
//! `mirror` uses this to send each verified ZIP while the next platform downloads, and still
//! push nothing when a later platform fails verification. Staging is an optimisation: any
//! refusal (a registry without streamed `PATCH`, a session URL on another host — credentials
//! go to the registry's host only) leaves the blob to the ordinary upload of
//! [`Registry::ensure_blob`].

use std::path::Path;

use oci_client::{Reference, RegistryOperation};

use super::client::{Registry, Result};
use super::error::{Kind, RegistryError};

/// A blob whose bytes the registry holds in an upload session, not yet committed.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The repository it goes into.
    pub reference: Reference,
    pub digest: String,
    pub size: u64,
    /// The session's URL after the `PATCH` (absolute, on the registry's host).
    location: String,
}

impl Registry {
    /// Send `path` (whose SHA-256 is `digest`) into an upload session of `r`'s repository,
    /// uncommitted. `Ok(None)`: the blob is there already, nothing to commit.
    pub fn stage_blob(&self, r: &Reference, digest: &str, path: &Path) -> Result<Option<Staged>> {
        if self.blob_exists(r, digest)? {
            return Ok(None);
        }
        let what = format!("{}: staging blob {digest}", r.whole());
        let origin = self.origin(r);
        let session = self.retry(|| {
            let url = format!("{origin}/v2/{}/blobs/uploads/", r.repository());
            let resp = self.send(r, RegistryOperation::Push, &what, |c| {
                c.post(&url).header("Content-Length", "0")
            })?;
            let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
            let body = if status == 202 {
                Default::default()
            } else {
                resp.bytes().unwrap_or_default()
            };
            self.location_of(&what, &origin, status, &headers, &body, 202)
        })?;
        let local = |e: std::io::Error| {
            RegistryError::new(
                Kind::Local,
                &what,
                format!("cannot read {}: {e}", path.display()),
            )
        };
        let size = std::fs::metadata(path).map_err(local)?.len();
        // One PATCH with the whole body, read in 1 MiB pieces on the runtime's I/O thread; not
        // retried (the session's offset would be unknown): a failure leaves the blob to the
        // ordinary upload.
        let location = {
            let answer = self.send_streamed(r, RegistryOperation::Push, &what, |c| {
                c.patch(&session)
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Length", size.to_string())
                    .body(file_body(path))
            });
            let loc = answer.and_then(|(status, headers, body)| {
                self.location_of(&what, &origin, status, &headers, &body, 202)
            });
            if loc.is_err() {
                self.cancel_at(r, &session);
            }
            loc?
        };
        Ok(Some(Staged {
            reference: r.clone(),
            digest: digest.to_string(),
            size,
            location,
        }))
    }

    /// Make the staged blob exist: `PUT` its session with the digest, which the registry checks
    /// against the bytes it holds.
    pub fn commit_blob(&self, s: &Staged) -> Result<()> {
        let what = format!("{}: committing blob {}", s.reference.whole(), s.digest);
        let sep = if s.location.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}digest={}", s.location, s.digest);
        let resp = self.send(&s.reference, RegistryOperation::Push, &what, |c| {
            c.put(&url)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", "0")
        })?;
        let status = resp.status().as_u16();
        if status != 201 {
            let body = resp.bytes().unwrap_or_default();
            return Err(RegistryError::from_status(&what, status, &body));
        }
        Ok(())
    }

    /// Drop a staged blob's session (best effort: a registry purges stale sessions anyway).
    pub fn cancel_blob(&self, s: &Staged) {
        self.cancel_at(&s.reference, &s.location);
    }

    fn cancel_at(&self, r: &Reference, location: &str) {
        let what = format!("{}: cancelling an upload", r.whole());
        match self.send(r, RegistryOperation::Push, &what, |c| c.delete(location)) {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => tracing::debug!("{what}: HTTP {}", resp.status()),
            Err(e) => tracing::debug!("{e}"),
        }
    }

    /// The `Location` of an answer with status `want`, made absolute against `origin` and
    /// refused when it points at another host (credentials would follow it there).
    fn location_of(
        &self,
        what: &str,
        origin: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        want: u16,
    ) -> Result<String> {
        let loc = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if status != want {
            return Err(RegistryError::from_status(what, status, body));
        }
        let loc = loc.ok_or_else(|| {
            RegistryError::new(Kind::Protocol, what, "the answer has no Location header")
        })?;
        let abs = if loc.starts_with('/') {
            format!("{origin}{loc}")
        } else {
            loc
        };
        if !abs.starts_with(&format!("{origin}/")) {
            return Err(RegistryError::new(
                Kind::Protocol,
                what,
                format!("the upload session is on another host ({abs}); not staging there"),
            ));
        }
        Ok(abs)
    }
}

/// Bytes read per piece of a streamed file body.
const PIECE: usize = 1 << 20;

/// `path`'s bytes as a request body, opened at the first poll (so that building a request
/// cannot fail) and read in [`PIECE`]s: one hand-over to the connection per MiB. A read error
/// fails the request.
fn file_body(path: &Path) -> reqwest::Body {
    let state = (path.to_path_buf(), None::<std::fs::File>);
    let pieces = futures_util::stream::try_unfold(state, |(path, file)| async move {
        let mut file = match file {
            Some(f) => f,
            None => std::fs::File::open(&path)?,
        };
        let mut piece = vec![0u8; PIECE];
        let mut n = 0;
        while n < PIECE {
            match std::io::Read::read(&mut file, &mut piece[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            return Ok(None);
        }
        piece.truncate(n);
        Ok(Some((bytes::Bytes::from(piece), (path, Some(file)))))
    });
    reqwest::Body::wrap_stream(pieces)
}
