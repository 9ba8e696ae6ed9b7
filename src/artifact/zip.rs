//! Provider ZIPs: open defensively, pick the executable the way tofu does, and stream it with the
//! decompression guarded — bounded size, bounded ratio, no temp copy.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zip::{CompressionMethod, ZipArchive};

use super::ArtifactError;
use super::naming;
use super::stream::ByteSource;

/// Limits on what one ZIP entry may inflate to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest uncompressed executable accepted (providers reach about 1 GB).
    pub max_entry: u64,
    /// Largest inflate ratio accepted once past `ratio_floor` bytes.
    pub max_ratio: u64,
    pub ratio_floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry: 4 << 30,
            max_ratio: 100,
            ratio_floor: 16 << 20,
        }
    }
}

/// The executable chosen inside a provider ZIP.
#[derive(Debug, Clone)]
pub struct PickedEntry {
    pub index: usize,
    pub name: String,
    pub size: u64,
    pub compressed_size: u64,
}

fn open_archive(path: &Path) -> Result<ZipArchive<File>, ArtifactError> {
    let file = File::open(path).map_err(|e| ArtifactError::io(path, e))?;
    ZipArchive::new(file).map_err(|e| ArtifactError::NotZip {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Pick the provider executable: the top-level file named `terraform-provider-<type>[_…|.…]`.
/// Every entry name is checked for path traversal first; a hostile name rejects the whole ZIP.
pub fn pick_executable(
    path: &Path,
    provider_type: Option<&str>,
) -> Result<PickedEntry, ArtifactError> {
    let mut archive = open_archive(path)?;
    let mut candidates = Vec::new();
    let mut all = Vec::new();
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| ArtifactError::NotZip {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if name.is_empty() || !is_safe_entry_name(&name) {
            return Err(ArtifactError::UnsafeEntry {
                path: path.to_path_buf(),
                name,
            });
        }
        if entry.is_dir() {
            continue;
        }
        all.push(name.clone());
        if !name.contains('/') && naming::is_provider_executable(&name, provider_type) {
            candidates.push(PickedEntry {
                index: i,
                name,
                size: entry.size(),
                compressed_size: entry.compressed_size(),
            });
        }
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(ArtifactError::NoExecutable {
            path: path.to_path_buf(),
            expected: match provider_type {
                Some(t) => format!("terraform-provider-{t}[_…|.…]"),
                None => "terraform-provider-<type>[_…|.…]".to_string(),
            },
            found: all,
        }),
        _ => Err(ArtifactError::AmbiguousExecutable {
            path: path.to_path_buf(),
            found: candidates.into_iter().map(|c| c.name).collect(),
        }),
    }
}

/// Whether a ZIP entry name is a plain relative path: not absolute (`/x`, `C:\x`, `C:x`,
/// `\\host\x`), no backslash at all, no `..` component, no NUL. The zip crate's
/// `enclosed_name` alone is not enough: it strips a leading `/` and accepts the rest.
pub fn is_safe_entry_name(name: &str) -> bool {
    let b = name.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    !(name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || drive
        || name.split('/').any(|c| c == ".."))
}

/// One entry of a ZIP on disk, inflated afresh for every pass.
pub struct ZipEntrySource {
    pub path: PathBuf,
    pub entry: PickedEntry,
    pub limits: Limits,
}

impl ZipEntrySource {
    pub fn new(path: PathBuf, entry: PickedEntry, limits: Limits) -> Result<Self, ArtifactError> {
        if entry.size > limits.max_entry {
            return Err(ArtifactError::TooLarge {
                name: entry.name.clone(),
                size: entry.size,
                limit: limits.max_entry,
            });
        }
        Ok(ZipEntrySource {
            path,
            entry,
            limits,
        })
    }
}

/// Counts inflated bytes, stops a decompression bomb before it costs anything, and checks the
/// bytes against the entry's CRC-32 and size when the stream ends (as the zip crate's own reader
/// does).
struct Guard<R> {
    inner: R,
    read: u64,
    compressed: u64,
    limits: Limits,
    name: String,
    crc: crc32fast::Hasher,
    expect_crc: u32,
    expect_size: u64,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let ratio_exceeded = self.read > self.limits.ratio_floor
            && self.read / self.compressed.max(1) > self.limits.max_ratio;
        if self.read > self.limits.max_entry || ratio_exceeded {
            return Err(io::Error::other(ArtifactError::Bomb {
                name: self.name.clone(),
                read: self.read,
                compressed: self.compressed,
            }));
        }
        if n > 0 {
            self.crc.update(&buf[..n]);
        } else if !buf.is_empty() {
            let crc = self.crc.clone().finalize();
            if self.read != self.expect_size || crc != self.expect_crc {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "ZIP entry {} is corrupt: {} bytes with CRC-32 {crc:08x} inflated, the archive says {} bytes with {:08x}",
                        self.name, self.read, self.expect_size, self.expect_crc
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// Compressed bytes are read in large blocks (the zip crate's own reader costs ~10 % more
/// than inflating: small reads, an extra layer); inflate is zlib-rs through flate2.
const READ_BLOCK: usize = 256 * 1024;

impl ByteSource for ZipEntrySource {
    fn with_reader(&self, f: &mut dyn FnMut(&mut dyn Read) -> io::Result<()>) -> io::Result<()> {
        let mut archive = open_archive(&self.path).map_err(io::Error::other)?;
        let entry = archive
            .by_index_raw(self.entry.index)
            .map_err(io::Error::other)?;
        let unsupported = |method: String| {
            io::Error::other(ArtifactError::Compression {
                name: self.entry.name.clone(),
                method,
            })
        };
        if entry.encrypted() {
            return Err(unsupported("encrypted".into()));
        }
        let (method, expect_crc, expect_size) = (entry.compression(), entry.crc32(), entry.size());
        let raw = io::BufReader::with_capacity(READ_BLOCK, entry);
        let inflated: Box<dyn Read + '_> = match method {
            CompressionMethod::Stored => Box::new(raw),
            CompressionMethod::Deflated => Box::new(flate2::bufread::DeflateDecoder::new(raw)),
            m => return Err(unsupported(format!("{m:?}"))),
        };
        let mut guard = Guard {
            inner: inflated,
            read: 0,
            compressed: self.entry.compressed_size,
            limits: self.limits,
            name: self.entry.name.clone(),
            crc: crc32fast::Hasher::new(),
            expect_crc,
            expect_size,
        };
        f(&mut guard)
    }
}
