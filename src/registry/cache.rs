//! The blob cache: `<cache dir>/blobs/sha256/<hex>`, keyed by digest. A blob is written to a
//! temporary file beside its final place, hashed as it is written, and renamed into place only
//! when its digest matches — a mismatch leaves nothing behind.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::error::{Kind, RegistryError};

type Result<T> = std::result::Result<T, RegistryError>;

fn local(digest: &str, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::new(Kind::Local, format!("caching blob {digest}"), e.to_string())
}

/// Where verified blobs live. `--no-cache` uses a temporary directory that dies with the run.
#[derive(Debug, Clone, Default)]
pub struct BlobCache {
    root: PathBuf,
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl BlobCache {
    pub fn at(dir: PathBuf) -> BlobCache {
        BlobCache {
            root: dir.join("blobs"),
            _temp: None,
        }
    }

    pub fn temporary() -> std::io::Result<BlobCache> {
        let t = tempfile::tempdir()?;
        Ok(BlobCache {
            root: t.path().join("blobs"),
            _temp: Some(Arc::new(t)),
        })
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.root.join("sha256").join(hex))
    }

    /// The cache of manifests fetched by digest, `<cache dir>/manifests/sha256/<hex>`: like
    /// blobs they are content-addressed and immutable, so a known digest's manifest is read
    /// here instead of asking the registry again. Tags and referrer lists, which can change,
    /// are never cached.
    pub fn manifests(&self) -> BlobCache {
        BlobCache {
            root: self.root.with_file_name("manifests"),
            _temp: self._temp.clone(),
        }
    }

    /// A small cached entry's bytes, if present and still what its digest says (an entry
    /// altered on disk is removed and `None` returned).
    pub fn read(&self, digest: &str) -> Option<Vec<u8>> {
        let p = self.path(digest).filter(|p| p.is_file())?;
        let bytes = std::fs::read(&p).ok()?;
        if format!("sha256:{}", hex::encode(Sha256::digest(&bytes))) == digest {
            return Some(bytes);
        }
        tracing::warn!("cached {digest} no longer matches its digest; fetching it again");
        let _ = std::fs::remove_file(&p);
        None
    }

    /// Cache `bytes` under `digest`, verified (a mismatch caches nothing).
    pub fn put(&self, digest: &str, bytes: &[u8]) -> Result<PathBuf> {
        let mut w = self.writer(digest)?;
        w.write(bytes)?;
        w.commit()
    }

    /// The cached blob, if present and still what its digest says: a file truncated, altered or
    /// replaced on disk since it was cached is removed (so it is fetched again) and `None` is
    /// returned. This reads the whole blob once.
    pub fn get(&self, digest: &str) -> Option<PathBuf> {
        let p = self.path(digest).filter(|p| p.is_file())?;
        match file_digest(&p) {
            Ok(d) if d == digest => Some(p),
            _ => {
                tracing::warn!(
                    "cached blob {digest} no longer matches its digest; fetching it again"
                );
                let _ = std::fs::remove_file(&p);
                None
            }
        }
    }

    /// A blob whose digest is learnt while it is written (a provider ZIP checked against a
    /// registry's `shasum` or a mirror's `h1:`): the caller checks it, then commits it under
    /// its own digest. Dropped uncommitted, it leaves nothing behind.
    pub fn staging(&self) -> Result<StagedBlob> {
        let dir = self.root.join("sha256");
        std::fs::create_dir_all(&dir).map_err(|e| local("(staging)", e))?;
        Ok(StagedBlob {
            tmp: tempfile::Builder::new()
                .prefix(".partial-")
                .tempfile_in(&dir)
                .map_err(|e| local("(staging)", e))?,
            hasher: Sha256::new(),
            len: 0,
            root: self.root.clone(),
        })
    }

    pub fn writer(&self, digest: &str) -> Result<PendingBlob> {
        let Some(dest) = self.path(digest) else {
            return Err(RegistryError::new(
                Kind::Integrity,
                format!("blob {digest}"),
                "unsupported digest: only sha256 is accepted",
            ));
        };
        let dir = dest.parent().expect("has a parent").to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| local(digest, e))?;
        Ok(PendingBlob {
            tmp: tempfile::Builder::new()
                .prefix(".partial-")
                .tempfile_in(&dir)
                .map_err(|e| local(digest, e))?,
            hasher: Sha256::new(),
            len: 0,
            digest: digest.to_string(),
            dest,
        })
    }
}

/// `sha256:<hex>` of a file's bytes.
fn file_digest(p: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(format!("sha256:{}", hex::encode(h.finalize()))),
            n => h.update(&buf[..n]),
        }
    }
}

/// A blob being written; [`PendingBlob::commit`] verifies and moves it into place.
pub struct PendingBlob {
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    len: u64,
    digest: String,
    dest: PathBuf,
}

impl PendingBlob {
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        self.tmp
            .write_all(chunk)
            .map_err(|e| local(&self.digest, e))
    }

    pub fn commit(self) -> Result<PathBuf> {
        let actual = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        if actual != self.digest {
            return Err(RegistryError::new(
                Kind::Integrity,
                format!("blob {}", self.digest),
                format!(
                    "digest mismatch: the registry sent {} bytes hashing to {actual}; nothing was cached",
                    self.len
                ),
            ));
        }
        self.tmp
            .persist(&self.dest)
            .map_err(|e| local(&self.digest, e.error))?;
        Ok(self.dest)
    }
}

/// A blob being written before its digest is known; see [`BlobCache::staging`].
pub struct StagedBlob {
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    len: u64,
    root: PathBuf,
}

impl StagedBlob {
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        self.tmp.write_all(chunk).map_err(|e| local("(staging)", e))
    }

    /// The bytes so far, for checks that read the file (`h1:`).
    pub fn path(&self) -> &std::path::Path {
        self.tmp.path()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lowercase hex SHA-256 of what was written.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Move into place under its own digest.
    pub fn commit(mut self) -> Result<PathBuf> {
        let hex = self.sha256_hex();
        self.tmp.flush().map_err(|e| local(&hex, e))?;
        let dest = self.root.join("sha256").join(&hex);
        self.tmp
            .persist(&dest)
            .map_err(|e| local(&format!("sha256:{hex}"), e.error))?;
        Ok(dest)
    }
}
