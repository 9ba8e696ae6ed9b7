//! Where provguard keeps what it downloads: one cache directory for the vulnerability database
//! and the verified blob cache alike.

use std::path::PathBuf;

/// `$XDG_CACHE_HOME/provguard` or `~/.cache/provguard`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("provguard")
}
