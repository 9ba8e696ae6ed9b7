//! The audit's results cache: one JSON file per analysed artifact under
//! `CACHE_DIR/audit-results/`, named by the SHA-256 of everything that decides the result —
//! the artifact's digest and attached SBOMs, the database's modification time, the provguard
//! version, the policy's hash and the analysis settings. A changed input is a new key, so
//! nothing is ever invalidated in place; an unreadable entry is a miss.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::report::audit::model::ArtifactResult;
use crate::report::output::write_atomic;

#[derive(Debug, Clone)]
pub struct ResultsCache {
    dir: Option<PathBuf>,
}

/// The cache key: SHA-256 over the parts, each NUL-terminated.
pub fn key<S: AsRef<str>>(parts: &[S]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_ref().as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

impl ResultsCache {
    /// Under `cache_dir`; `None` keeps nothing.
    pub fn at(cache_dir: Option<PathBuf>) -> ResultsCache {
        ResultsCache {
            dir: cache_dir.map(|d| d.join("audit-results")),
        }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        Some(self.dir.as_ref()?.join(format!("{key}.json")))
    }

    pub fn get(&self, key: &str) -> Option<ArtifactResult> {
        let bytes = std::fs::read(self.path(key)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keep `result` (a failure to write is logged: the audit itself does not depend on it).
    pub fn put(&self, key: &str, result: &ArtifactResult) {
        let (Some(dir), Some(path)) = (&self.dir, self.path(key)) else {
            return;
        };
        let written = std::fs::create_dir_all(dir).and_then(|_| {
            let bytes = serde_json::to_vec(result).map_err(std::io::Error::other)?;
            write_atomic(&path, &bytes)
        });
        if let Err(e) = written {
            tracing::warn!("results cache: cannot write {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&["ab", "c"]), key(&["a", "bc"]));
        assert_eq!(key(&["a"]).len(), 64);
    }
}
