//! The hashes OpenTofu records in `.terraform.lock.hcl`: `zh:` (SHA-256 of the release ZIP) and
//! `h1:` (golang.org/x/mod `dirhash.Hash1` of the unpacked package: for every file, sorted by
//! name bytewise, `"<hex sha256>  <name>\n"`, all of it SHA-256'd and base64-encoded).
//! Computed straight from the ZIP, entry by entry, streamed.

use std::fs::File;
use std::io;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::ArtifactError;
use super::stream::sha256_reader;

/// `h1:` from `(name, sha256)` pairs, names relative with `/` separators.
pub fn hash1(mut files: Vec<(String, [u8; 32])>) -> Result<String, String> {
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut outer = Sha256::new();
    for (name, sum) in &files {
        if name.contains('\n') {
            return Err(format!(
                "file name {name:?} contains a newline (dirhash refuses it)"
            ));
        }
        outer.update(format!("{}  {name}\n", hex::encode(sum)).as_bytes());
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(outer.finalize())
    ))
}

/// The `hashes = [...]` attribute as tofu writes it: sorted, one quoted string per line.
pub fn lock_block(hashes: &std::collections::BTreeSet<String>) -> String {
    let mut out = String::from("  hashes = [\n");
    for h in hashes {
        out.push_str(&format!("    \"{h}\",\n"));
    }
    out.push_str("  ]\n");
    out
}

/// `h1:` of a provider ZIP as tofu records it for the unpacked package (directory entries
/// skipped). Every entry name is checked for path traversal first.
pub fn zip_h1(path: &Path) -> Result<String, ArtifactError> {
    zip_h1_known(path, None)
}

/// [`zip_h1`], taking the SHA-256 of the entry named `known.0` as given (the executable's, already
/// computed while it was scanned) instead of inflating it again.
pub fn zip_h1_known(path: &Path, known: Option<(&str, [u8; 32])>) -> Result<String, ArtifactError> {
    let err = |detail: String| ArtifactError::NotZip {
        path: path.to_path_buf(),
        detail,
    };
    let f = File::open(path).map_err(|e| ArtifactError::io(path, e))?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| err(e.to_string()))?;
    let mut files = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(|e| err(e.to_string()))?;
        let name = e.name().map(|n| n.to_string()).unwrap_or_default();
        if !super::zip::is_safe_entry_name(&name) {
            return Err(ArtifactError::UnsafeEntry {
                path: path.to_path_buf(),
                name,
            });
        }
        if e.is_dir() {
            continue;
        }
        let sum = match known {
            Some((n, sum)) if n == name => sum,
            _ => sha256_reader(&mut e).map_err(|e| err(e.to_string()))?,
        };
        files.push((name, sum));
    }
    hash1(files).map_err(err)
}

/// `h1:` of an unpacked package directory (files only, symlinks followed, `/` separators).
pub fn dir_h1(dir: &Path) -> io::Result<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, [u8; 32])>) -> io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(base, &p, out)?;
            } else {
                let rel = p.strip_prefix(base).map_err(io::Error::other)?;
                let name = rel
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, sha256_reader(&mut File::open(&p)?)?));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    hash1(files).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_package_vector() {
        // `emptyPackageHashV1` in OpenTofu's internal/getproviders/hash.go
        assert_eq!(
            super::hash1(Vec::new()).unwrap(),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(super::hash1(vec![("a\nb".into(), [0; 32])]).is_err());
    }
}
