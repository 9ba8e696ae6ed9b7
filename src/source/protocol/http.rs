//! HTTPS for the provider registry protocol and network mirrors: reqwest with rustls, trusting
//! the system roots plus the bundle named by `SSL_CERT_FILE` and the directories of
//! `SSL_CERT_DIR` (as Go does on Linux, where tofu runs); tokens attached only to requests whose
//! `host[:port]` is the token's host (reqwest drops `Authorization` on a redirect to another
//! host or port); transient failures retried; bodies size-limited; failures classified with
//! [`RegistryError::from_status`] / [`RegistryError::from_reqwest`], never from message text.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::registry::{Kind, RegistryError};
use crate::source::address::Credentials;

type Result<T> = std::result::Result<T, RegistryError>;

/// Go's default CA bundle files on Linux (`crypto/x509/root_linux.go`), read when
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` would otherwise hide them from rustls-native-certs.
const SYSTEM_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn pem_certs(path: &std::path::Path) -> Vec<reqwest::Certificate> {
    match std::fs::read(path) {
        Ok(b) => reqwest::Certificate::from_pem_bundle(&b).unwrap_or_else(|e| {
            tracing::debug!("{}: no PEM certificates ({e})", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// Roots beyond what the TLS stack loads itself: with `SSL_CERT_FILE` or `SSL_CERT_DIR` set,
/// rustls-native-certs reads only those, so the system bundle is added back (Go keeps both).
pub fn extra_roots() -> Vec<reqwest::Certificate> {
    let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
        .map(|d| std::env::split_paths(&d).collect())
        .unwrap_or_default();
    if file.is_none() && dirs.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(f) = &file {
        out.extend(pem_certs(f));
    }
    for d in &dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                out.extend(pem_certs(&e.path()));
            }
        }
    }
    if let Some(system) = SYSTEM_BUNDLES
        .iter()
        .map(std::path::Path::new)
        .find(|p| p.is_file())
    {
        out.extend(pem_certs(system));
    }
    out
}

/// `host[:port]` of a URL as credentials are keyed (the port only when not the default).
pub fn host_port(u: &Url) -> String {
    match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// One HTTP client for a run. Async reqwest on a runtime driven by the calling thread (a
/// current-thread runtime's `block_on`): a downloaded body is read, decrypted and handed to
/// the sink on that one thread, where the blocking client passed every chunk over from its
/// own I/O thread.
pub struct Http {
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    retries: u32,
    creds: Credentials,
}

/// A successful answer: the final URL (after redirects), the media type, the body.
#[derive(Debug)]
pub struct Doc {
    pub url: Url,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Http {
    /// `timeout` bounds connecting, and each wait for bytes — of the response head or of the
    /// body: an idle timeout, not a deadline for the whole download (a large ZIP on a slow but
    /// live link is not cut off; a stalled one is). The test `download_timeout_is_idle_not_total`
    /// holds this to it.
    pub fn new(timeout: Duration, retries: u32, creds: Credentials) -> Result<Http> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .user_agent(concat!("provguard/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(10))
            .tls_certs_merge(extra_roots())
            .build()
            .map_err(|e| RegistryError::from_reqwest("HTTPS client", &e))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::new(Kind::Local, "HTTPS client", e.to_string()))?;
        Ok(Http {
            client,
            rt,
            retries,
            creds,
        })
    }

    /// GET `url`; with `authed`, the token of the URL's own host is attached (if any). Retries
    /// transient failures; a non-success answer is classified by its status.
    fn get(&self, url: &Url, authed: bool, what: &str) -> Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            let mut req = self.client.get(url.clone());
            if authed && let Some(t) = self.creds.token_for(&host_port(url)) {
                req = req.bearer_auth(t);
            }
            let r = self.rt.block_on(async {
                match req.send().await {
                    Ok(resp) if resp.status().is_success() => Ok(resp),
                    Ok(mut resp) => {
                        let status = resp.status().as_u16();
                        let mut body = Vec::new();
                        while body.len() < 4096 {
                            match resp.chunk().await {
                                Ok(Some(c)) => body.extend_from_slice(&c),
                                _ => break,
                            }
                        }
                        body.truncate(4096);
                        Err(RegistryError::from_status(
                            format!("{what} ({url})"),
                            status,
                            &body,
                        ))
                    }
                    Err(e) => Err(RegistryError::from_reqwest(format!("{what} ({url})"), &e)),
                }
            });
            let r = match r {
                Ok(resp) => return Ok(resp),
                Err(r) => r,
            };
            if !r.is_transient() || attempt >= self.retries {
                return Err(r);
            }
            attempt += 1;
            let wait = Duration::from_millis(250 << attempt.min(5));
            tracing::info!("{r}; retrying in {wait:?}");
            std::thread::sleep(wait);
        }
    }

    /// Every chunk of `resp`'s body to `sink`, until the end; a read failure is transient.
    fn each_chunk(
        &self,
        mut resp: reqwest::Response,
        what: &str,
        url: &Url,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        self.rt.block_on(async {
            let mut total = 0u64;
            loop {
                let chunk = resp.chunk().await.map_err(|e| {
                    RegistryError::new(
                        Kind::Transient,
                        format!("{what} ({url})"),
                        crate::registry::error::error_chain(&e),
                    )
                })?;
                let Some(c) = chunk else { return Ok(total) };
                total += c.len() as u64;
                sink(&c)?;
            }
        })
    }

    /// A small document, at most `limit` bytes.
    pub fn document(&self, url: &Url, authed: bool, what: &str, limit: u64) -> Result<Doc> {
        let resp = self.get(url, authed, what)?;
        let final_url = resp.url().clone();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let too_large = || {
            RegistryError::new(
                Kind::TooLarge,
                format!("{what} ({url})"),
                format!("over {limit} bytes"),
            )
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        self.each_chunk(resp, what, url, &mut |c| {
            if (bytes.len() + c.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(c);
            Ok(())
        })?;
        Ok(Doc {
            url: final_url,
            content_type,
            bytes,
        })
    }

    /// A JSON document: the media type must be `application/json` (parameters allowed).
    pub fn json(&self, url: &Url, authed: bool, what: &str) -> Result<Doc> {
        let d = self.document(url, authed, what, JSON_LIMIT)?;
        let media = d.content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(RegistryError::new(
                Kind::Protocol,
                format!("{what} ({url})"),
                format!("Content-Type {:?} is not application/json", d.content_type),
            ));
        }
        Ok(d)
    }

    /// Stream `url` (no credentials) into `sink`, chunk by chunk.
    pub fn download(
        &self,
        url: &Url,
        what: &str,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        let resp = self.get(url, false, what)?;
        let expected = resp.content_length();
        let total = self.each_chunk(resp, what, url, sink)?;
        if expected.is_some_and(|e| e != total) {
            return Err(RegistryError::new(
                Kind::Transient,
                format!("{what} ({url})"),
                format!("body cut short: {total} of {expected:?} bytes"),
            ));
        }
        Ok(total)
    }
}

/// Protocol documents larger than this are refused (tofu caps discovery at 1 MiB).
pub const JSON_LIMIT: u64 = 4 << 20;
/// `SHA256SUMS` and its signature.
pub const SUMS_LIMIT: u64 = 1 << 20;

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use super::*;

    /// Serve one GET: a head announcing `chunks` × 1 KiB, then each chunk after `gap`.
    fn trickle(chunks: usize, gap: Duration) -> Url {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut head = [0u8; 4096];
            let _ = std::io::Read::read(&mut c, &mut head);
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                chunks * 1024
            );
            for _ in 0..chunks {
                std::thread::sleep(gap);
                if c.write_all(&[b'x'; 1024]).and_then(|_| c.flush()).is_err() {
                    return;
                }
            }
        });
        Url::parse(&format!("http://127.0.0.1:{port}/z.zip")).unwrap()
    }

    /// Serve one GET with `head` (status line and headers, without the blank line), then `body`,
    /// then close.
    fn answer(head: &'static str, body: Vec<u8>) -> Url {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut req = [0u8; 4096];
            let _ = std::io::Read::read(&mut c, &mut req);
            let _ = write!(c, "{head}\r\nConnection: close\r\n\r\n");
            let _ = c.write_all(&body);
        });
        Url::parse(&format!("http://127.0.0.1:{port}/d")).unwrap()
    }

    #[test]
    fn a_body_cut_short_or_too_large_is_an_error() {
        let http = Http::new(Duration::from_secs(5), 0, Credentials::default()).unwrap();
        // 100 of the 1000 bytes announced, then the connection closes.
        let url = answer("HTTP/1.1 200 OK\r\nContent-Length: 1000", vec![b'z'; 100]);
        let mut got = 0;
        let e = http
            .download(&url, "package", &mut |c| {
                got += c.len();
                Ok(())
            })
            .unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(got <= 100, "{got}");
        // A document without a length that runs past its limit.
        let url = answer("HTTP/1.1 200 OK", vec![b'{'; 5000]);
        let e = http.document(&url, false, "doc", 4096).unwrap_err();
        assert!(e.to_string().contains("over 4096 bytes"), "{e}");
        // One within it, read whole.
        let url = answer(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json",
            b"{}".to_vec(),
        );
        let d = http.json(&url, false, "doc").unwrap();
        assert_eq!(d.bytes, b"{}");
        // A server that takes the request and never answers: the wait for the head times out.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/silent", l.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            std::thread::sleep(Duration::from_secs(3));
            drop(c);
        });
        let quick = Http::new(Duration::from_millis(300), 0, Credentials::default()).unwrap();
        let t = Instant::now();
        let e = quick.document(&url, false, "doc", 4096).unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "timed out, not waited out"
        );
        // A refusal carries its status and the start of its body.
        let url = answer(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 9",
            b"not here\n".to_vec(),
        );
        let e = http.document(&url, false, "doc", 4096).unwrap_err();
        assert!(e.to_string().contains("HTTP 404: not here"), "{e}");
    }

    #[test]
    fn download_timeout_is_idle_not_total() {
        let http = Http::new(Duration::from_millis(600), 0, Credentials::default()).unwrap();
        // 6 chunks 250 ms apart: 1.5 s in all, never idle for 600 ms.
        let t = Instant::now();
        let mut got = 0;
        let n = http
            .download(&trickle(6, Duration::from_millis(250)), "slow", &mut |c| {
                got += c.len();
                Ok(())
            })
            .unwrap();
        assert_eq!((n, got), (6 * 1024, 6 * 1024));
        assert!(t.elapsed() > Duration::from_millis(1200));
        // A body that stalls for longer than the timeout fails, classified as transient.
        let e = http
            .download(
                &trickle(2, Duration::from_millis(1500)),
                "stalled",
                &mut |_| Ok(()),
            )
            .unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
}
