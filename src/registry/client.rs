//! The transport: one [`Registry`] connection per host, with its credentials, the verified blob
//! cache, timeouts and bounded retries. Reads manifests (size-limited to tofu's 4 MiB and
//! sha256-verified), streams blobs (verified while they stream into the cache, so nothing
//! unverified is ever cached), lists tags, and sends the few requests oci-client has no call
//! for (referrers pages, byte-exact manifest puts) with the same credentials. Every failure is a
//! [`RegistryError`] classified where it is born; retries are decided on its variant.
//!
//! oci-client does the HTTP of blobs, tags and pushes (auth challenges included); its async
//! calls run on a private current-thread runtime driven by one background thread, so one
//! `Registry` serves many threads at once (`audit`'s workers) over one pool of keep-alive
//! connections. Manifests and the requests oci-client has no call for go through one blocking
//! client with this registry's credentials, the authorization learnt once per repository
//! (anonymous registries: one `/v2/` probe per run, not one per request).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::auth;
use super::cache::BlobCache;
use super::error::{Kind, RegistryError};
use super::wire::{Descriptor, sha256_digest};
use super::{INDEX_MEDIA_TYPE, MANIFEST_LIMIT, MANIFEST_MEDIA_TYPE};

pub type Result<T> = std::result::Result<T, RegistryError>;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Plain HTTP instead of TLS (loopback and test registries).
    pub plain_http: bool,
    pub cache: BlobCache,
    pub credentials: auth::ExplicitCredentials,
    /// Per-request timeout (connect and read) and retries on transient failures.
    pub timeout: Duration,
    pub retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            plain_http: false,
            cache: BlobCache::default(),
            credentials: auth::ExplicitCredentials::default(),
            timeout: Duration::from_secs(60),
            retries: 3,
        }
    }
}

/// How long an authorization learnt for a repository is reused (a registry's bearer tokens
/// live at least 60 s).
const AUTH_REUSE: Duration = Duration::from_secs(50);

/// Learnt authorizations: (`HOST/REPOSITORY`, push?) → (bearer token or none, when learnt).
type Tokens = HashMap<(String, bool), (Option<String>, Instant)>;

/// A current-thread tokio runtime driven by its own thread (which runs the connections' tasks
/// and the IO driver), so that any number of threads can `block_on` futures at once.
pub struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    driver: Option<std::thread::JoinHandle<()>>,
}

impl Runtime {
    fn new() -> std::io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let driver = std::thread::Builder::new()
            .name("registry-io".into())
            .spawn(move || {
                let _ = rt.block_on(stopped);
            })?;
        Ok(Runtime {
            handle,
            stop: Some(stop),
            driver: Some(driver),
        })
    }

    /// Run `f` to completion on the calling thread (its IO driven by the runtime's thread).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

/// A registry connection for one host; `Sync`: threads share it and its connections.
pub struct Registry {
    pub(super) rt: Runtime,
    pub(super) client: Client,
    pub(super) auth: RegistryAuth,
    pub(super) cache: BlobCache,
    /// Manifests fetched by digest ([`BlobCache::manifests`]).
    manifests: BlobCache,
    plain_http: bool,
    http: reqwest::blocking::Client,
    /// The same client, async, for request bodies streamed in large pieces: the blocking client
    /// hands a body to its I/O thread 8 KiB at a time (two thread switches per 8 KiB).
    streaming: reqwest::Client,
    retries: u32,
    /// The bearer token (or none needed) per repository and operation, and when it was learnt.
    tokens: Mutex<Tokens>,
    /// Set once the registry answered 404 for a referrers API request: it has none, and
    /// discovery goes straight to the `sha256-<hex>` tag for the rest of this connection.
    pub(super) no_referrers_api: AtomicBool,
    /// Tag lists a reader took as its snapshot ([`Registry::assume_tags`]), by repository.
    snapshot: Mutex<HashMap<String, Arc<HashSet<String>>>>,
}

impl Registry {
    pub fn new(opts: &ClientOptions, host: &str) -> anyhow::Result<Registry> {
        let config = ClientConfig {
            protocol: if opts.plain_http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            platform_resolver: None,
            read_timeout: Some(opts.timeout),
            connect_timeout: Some(opts.timeout),
            // A blob goes up as POST + one PUT (4 MiB PATCHes cost docker-registry about four
            // times as long); `push::Registry::upload` falls back to chunks where refused.
            use_monolithic_push: true,
            ..Default::default()
        };
        Ok(Registry {
            rt: Runtime::new()?,
            client: Client::new(config),
            auth: auth::credentials_for(host, &opts.credentials)?,
            cache: opts.cache.clone(),
            manifests: opts.cache.manifests(),
            plain_http: opts.plain_http,
            retries: opts.retries,
            // reqwest drops Authorization when a redirect leaves the host.
            http: reqwest::blocking::Client::builder()
                .user_agent(concat!("provguard/", env!("CARGO_PKG_VERSION")))
                .timeout(opts.timeout)
                .build()?,
            streaming: reqwest::Client::builder()
                .user_agent(concat!("provguard/", env!("CARGO_PKG_VERSION")))
                .timeout(opts.timeout)
                .build()?,
            tokens: Mutex::new(HashMap::new()),
            no_referrers_api: AtomicBool::new(false),
            snapshot: Mutex::new(HashMap::new()),
        })
    }

    /// Run `f` again after a [`Kind::Transient`] failure, with exponential backoff; any other
    /// failure (a digest mismatch, a 404, a 401) is final at once.
    pub fn retry<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match f() {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.retries && e.is_transient() => {
                    attempt += 1;
                    tracing::debug!("retry {attempt}/{} after: {e}", self.retries);
                    std::thread::sleep(Duration::from_millis(100 << attempt.min(6)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A manifest, size-limited and digest-checked (`expected` when fetched by digest),
    /// retried on transient failures. Returns its bytes and digest.
    /// A manifest asked for by digest is content-addressed: it is read from the manifest cache
    /// when there (verified) and cached once fetched. By tag, it is always asked for.
    pub fn manifest(&self, r: &Reference, expected: Option<&str>) -> Result<(Vec<u8>, String)> {
        let by_digest = r.digest().filter(|d| expected.is_none_or(|e| e == *d));
        if let Some(d) = by_digest
            && let Some(bytes) = self.manifests.read(d)
            && bytes.len() <= MANIFEST_LIMIT
        {
            return Ok((bytes, d.to_string()));
        }
        let got = self.retry(|| self.manifest_once(r, expected))?;
        if by_digest.is_some()
            && let Err(e) = self.manifests.put(&got.1, &got.0)
        {
            tracing::debug!("manifest {} not cached: {e}", got.1);
        }
        Ok(got)
    }

    fn manifest_once(&self, r: &Reference, expected: Option<&str>) -> Result<(Vec<u8>, String)> {
        let what = format!("{}: manifest", r.whole());
        let url = format!(
            "{}/v2/{}/manifests/{}{}",
            self.origin(r),
            r.repository(),
            r.digest().or(r.tag()).unwrap_or("latest"),
            r.namespace()
                .map(|ns| format!("?ns={ns}"))
                .unwrap_or_default()
        );
        let resp = self.send(r, RegistryOperation::Pull, &what, |c| {
            c.get(&url).header(
                "Accept",
                format!("{INDEX_MEDIA_TYPE}, {MANIFEST_MEDIA_TYPE}"),
            )
        })?;
        let status = resp.status().as_u16();
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp
            .bytes()
            .map_err(|e| RegistryError::from_reqwest(&what, &e))?;
        if status != 200 {
            return Err(RegistryError::from_status(&what, status, &bytes));
        }
        if bytes.len() > MANIFEST_LIMIT {
            return Err(RegistryError::new(
                Kind::TooLarge,
                what,
                format!(
                    "{} bytes, over OpenTofu's 4 MiB manifest limit; refused",
                    bytes.len()
                ),
            ));
        }
        let actual = sha256_digest(&bytes);
        if let Some(want) = expected.or_else(|| r.digest())
            && want != actual
        {
            return Err(RegistryError::new(
                Kind::Integrity,
                what,
                format!("manifest digest mismatch: expected {want}, got {actual}"),
            ));
        }
        if digest.starts_with("sha256:") && digest != actual {
            return Err(RegistryError::new(
                Kind::Integrity,
                what,
                format!("the registry says {digest} but the manifest hashes to {actual}"),
            ));
        }
        Ok((bytes.to_vec(), actual))
    }

    /// A manifest that may not exist: `None` only for [`Kind::NotFound`]; every other failure
    /// (401, 5xx after the retries, a timeout) is an error, never "absent".
    /// A tag missing from the repository's snapshot ([`Registry::assume_tags`]) is absent
    /// without a request.
    pub fn try_manifest(&self, r: &Reference) -> Result<Option<(Vec<u8>, String)>> {
        if let (None, Some(tag)) = (r.digest(), r.tag()) {
            let snapshot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
            if snapshot
                .get(r.repository())
                .is_some_and(|tags| !tags.contains(tag))
            {
                return Ok(None);
            }
        }
        match self.manifest(r, None) {
            Ok(x) => Ok(Some(x)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stream blob `d` into `sink`, refusing more bytes than its descriptor announces.
    fn stream_blob(
        &self,
        r: &Reference,
        d: &Descriptor,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let what = format!("{}: blob {}", r.whole(), d.digest);
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
                .map_err(|e| RegistryError::from_oci(&what, &e))?
                .stream;
            let mut seen = 0u64;
            while let Some(chunk) = stream.next().await {
                // A body that breaks off is a transport failure, worth another try.
                let chunk =
                    chunk.map_err(|e| RegistryError::new(Kind::Transient, &what, e.to_string()))?;
                seen += chunk.len() as u64;
                if seen > d.size {
                    return Err(RegistryError::new(
                        Kind::Integrity,
                        &what,
                        format!("larger than its descriptor says ({} bytes)", d.size),
                    ));
                }
                sink(&chunk)?;
            }
            Ok(())
        })
    }

    /// A small blob (an SBOM, a signature) into memory, capped at `limit` bytes and
    /// digest-verified, retried on transient failures.
    pub fn small_blob(&self, r: &Reference, d: &Descriptor, limit: u64) -> Result<Vec<u8>> {
        let what = format!("{}: blob {}", r.whole(), d.digest);
        if d.size > limit {
            return Err(RegistryError::new(
                Kind::TooLarge,
                what,
                format!("{} bytes, over the {limit}-byte limit", d.size),
            ));
        }
        self.retry(|| {
            let mut bytes = Vec::new();
            self.stream_blob(r, d, &mut |c| {
                bytes.extend_from_slice(c);
                Ok(())
            })?;
            let actual = sha256_digest(&bytes);
            if actual != d.digest {
                return Err(RegistryError::new(
                    Kind::Integrity,
                    &what,
                    format!("digest mismatch: got {actual}"),
                ));
            }
            Ok(bytes)
        })
    }

    /// The cached copy of a blob, if one is there (nothing is downloaded).
    pub fn cached_blob(&self, digest: &str) -> Option<PathBuf> {
        self.cache.get(digest)
    }

    /// A blob into the cache (from the cache when there), verified; returns its path. Retried
    /// on transient failures; a digest mismatch is final and leaves nothing cached.
    pub fn blob_to_cache(&self, r: &Reference, d: &Descriptor) -> Result<PathBuf> {
        if let Some(p) = self.cache.get(&d.digest) {
            return Ok(p);
        }
        self.retry(|| {
            let mut writer = self.cache.writer(&d.digest)?;
            self.stream_blob(r, d, &mut |c| writer.write(c))?;
            writer.commit()
        })
    }

    /// The tags of `r`'s repository.
    pub fn list_tags(&self, r: &Reference) -> Result<Vec<String>> {
        let what = format!("{}: listing tags", r.repository());
        self.retry(|| {
            self.rt
                .block_on(self.client.list_tags(r, &self.auth, None, None))
                .map(|t| t.tags)
                .map_err(|e| RegistryError::from_oci(&what, &e))
        })
    }

    /// Take `tags` (the repository's tag list, just read) as the snapshot a reader works
    /// from: a tag outside it, such as the referrers fallback tag of a subject with no
    /// referrers, is then absent without a request. For readers only (`audit`'s survey): a
    /// writer would miss the tags it adds.
    pub fn assume_tags(&self, repository: &str, tags: &[String]) {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                repository.to_string(),
                Arc::new(tags.iter().cloned().collect()),
            );
    }

    /// `http(s)://HOST` of `r`'s registry.
    pub fn origin(&self, r: &Reference) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        format!("{scheme}://{}", r.resolve_registry())
    }

    /// Send a request oci-client has no call for, with this registry's credentials for `op`
    /// (a bearer token from its challenge, else Basic). Credentials go to this host only:
    /// reqwest drops them when a redirect leaves it. Transport failures are classified; the
    /// HTTP status is the caller's to read.
    pub fn send(
        &self,
        r: &Reference,
        op: RegistryOperation,
        what: &str,
        build: impl Fn(&reqwest::blocking::Client) -> reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response> {
        let token = self.token(r, op, what)?;
        let mut req = build(&self.http);
        req = match (&token, &self.auth) {
            (Some(t), _) => req.bearer_auth(t),
            (None, RegistryAuth::Basic(u, p)) => req.basic_auth(u, Some(p)),
            _ => req,
        };
        req.send()
            .map_err(|e| RegistryError::from_reqwest(what, &e))
    }

    /// [`Registry::send`] on the async client, driven from this thread through the registry's
    /// runtime (whose I/O thread polls the body), answered with its status, headers and body.
    /// For large streamed bodies (`staged`'s file bodies).
    pub fn send_streamed(
        &self,
        r: &Reference,
        op: RegistryOperation,
        what: &str,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes)> {
        let token = self.token(r, op, what)?;
        let mut req = build(&self.streaming);
        req = match (&token, &self.auth) {
            (Some(t), _) => req.bearer_auth(t),
            (None, RegistryAuth::Basic(u, p)) => req.basic_auth(u, Some(p)),
            _ => req,
        };
        self.rt
            .block_on(async {
                let resp = req.send().await?;
                let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
                Ok((status, headers, resp.bytes().await?))
            })
            .map_err(|e: reqwest::Error| RegistryError::from_reqwest(what, &e))
    }

    /// The bearer token for `r`'s repository and `op` (`None`: none needed, or Basic), learnt
    /// from the registry's challenge and reused for [`AUTH_REUSE`]. A token endpoint that is
    /// down is worth another try; one that refuses leaves the request unauthenticated, and the
    /// registry's 401 says so.
    fn token(&self, r: &Reference, op: RegistryOperation, what: &str) -> Result<Option<String>> {
        let key = (
            format!("{}/{}", r.resolve_registry(), r.repository()),
            matches!(op, RegistryOperation::Push),
        );
        let lock = || self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, at)) = lock().get(&key)
            && at.elapsed() < AUTH_REUSE
        {
            return Ok(t.clone());
        }
        match self.rt.block_on(self.client.auth(r, &self.auth, op)) {
            Ok(t) => {
                lock().insert(key, (t.clone(), Instant::now()));
                Ok(t)
            }
            Err(e) => {
                let e = RegistryError::from_oci(what, &e);
                if e.is_transient() {
                    return Err(e);
                }
                Ok(None)
            }
        }
    }

    /// One page of a paginated GET (`Accept: accept`): the body of a 200 and the `Link`
    /// header's `rel="next"` target, retried on transient failures; any other status is an
    /// error classified from it.
    pub fn get_page(
        &self,
        r: &Reference,
        url: &str,
        accept: &str,
        what: &str,
    ) -> Result<(Option<String>, bytes::Bytes)> {
        self.retry(|| {
            let resp = self.send(r, RegistryOperation::Pull, what, |c| {
                c.get(url).header("Accept", accept)
            })?;
            let status = resp.status().as_u16();
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
                .map_err(|e| RegistryError::from_reqwest(what, &e))?;
            if status != 200 {
                return Err(RegistryError::from_status(what, status, &body));
            }
            Ok((next, body))
        })
    }

    /// Make the credentials for this registry available to push calls.
    pub fn prepare_push(&self, r: &Reference) {
        self.rt.block_on(
            self.client
                .store_auth_if_needed(r.resolve_registry(), &self.auth),
        );
    }
}

/// A `Link` target made absolute against `origin` (`http(s)://HOST`).
pub fn absolute(origin: &str, link: String) -> String {
    if link.starts_with("http") {
        link
    } else {
        format!("{origin}{link}")
    }
}
