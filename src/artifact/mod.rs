//! The artifact: what the bytes of a target are. A provider ZIP (with the executable picked the
//! way tofu picks it) or a bare executable, its provider naming, and a re-openable stream of the
//! executable's bytes.

pub mod hashes;
pub mod naming;
pub mod provenance;
pub mod stream;
pub mod zip;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use stream::{ByteSource, FileSource};

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} is not a readable ZIP archive (truncated or corrupt?): {detail}", path.display())]
    NotZip { path: PathBuf, detail: String },
    #[error("{} holds an unsafe entry name {name:?} (absolute or escaping with `..`); refusing the whole archive", path.display())]
    UnsafeEntry { path: PathBuf, name: String },
    #[error("{} holds no provider executable named {expected}; found: {}", path.display(), if found.is_empty() { "nothing".to_string() } else { found.join(", ") })]
    NoExecutable {
        path: PathBuf,
        expected: String,
        found: Vec<String>,
    },
    #[error("{} holds several provider executables ({}); tofu would run only the first, so provguard refuses to guess", path.display(), found.join(", "))]
    AmbiguousExecutable { path: PathBuf, found: Vec<String> },
    #[error(
        "ZIP entry {name} declares {size} bytes uncompressed, over the {limit}-byte limit (--max-entry-size)"
    )]
    TooLarge { name: String, size: u64, limit: u64 },
    #[error(
        "ZIP entry {name} looks like a decompression bomb: {read} bytes inflated from {compressed} compressed; stopped"
    )]
    Bomb {
        name: String,
        read: u64,
        compressed: u64,
    },
    #[error(
        "ZIP entry {name} uses unsupported compression {method}; provider ZIPs use deflate or store"
    )]
    Compression { name: String, method: String },
}

impl ArtifactError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        ArtifactError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What the names around an artifact say about the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    pub provider_type: Option<String>,
    pub version: Option<String>,
    pub os: Option<String>,
    pub arch: Option<String>,
    /// `HOST/NAMESPACE/TYPE` when the artifact sits in a filesystem mirror.
    pub address: Option<String>,
}

/// Where in an OCI registry an artifact was fetched from: the reference given, its registry
/// host, and the digests of the index, the platform manifest and the ZIP layer (`zh:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOrigin {
    /// `oci://HOST/REPO:TAG`, as given or resolved.
    pub reference: String,
    pub host: String,
    pub index_digest: String,
    pub manifest_digest: String,
    pub layer_digest: String,
}

/// The ZIP an executable came from.
#[derive(Debug, Clone)]
pub struct ZipOrigin {
    pub path: PathBuf,
    pub file_name: String,
    pub entry_name: String,
}

/// One artifact ready for inventory.
pub struct Artifact {
    /// The file on disk (the ZIP, or the executable).
    pub path: PathBuf,
    pub zip: Option<ZipOrigin>,
    pub exe_name: String,
    pub naming: Naming,
    pub source: Box<dyn ByteSource>,
    /// Where the artifact really came from when the file is a cached copy (`oci://…`).
    pub display: Option<String>,
    /// Where in a registry it was fetched from, for reports and host rules.
    pub registry: Option<RegistryOrigin>,
    /// Where it came from and which checks it passed.
    pub provenance: Option<provenance::Provenance>,
}

impl Artifact {
    /// What to call the artifact in messages: `dist/x.zip!terraform-provider-x_v1`.
    pub fn label(&self) -> String {
        let base = self
            .display
            .clone()
            .unwrap_or_else(|| self.path.display().to_string());
        match &self.zip {
            Some(z) => format!("{base}!{}", z.entry_name),
            None => base,
        }
    }

    /// Open a provider ZIP or a bare executable.
    pub fn open(path: &Path, limits: zip::Limits) -> Result<Artifact, ArtifactError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut magic = [0u8; 4];
        let n = File::open(path)
            .and_then(|mut f| stream::fill(&mut f, &mut magic))
            .map_err(|e| ArtifactError::io(path, e))?;
        let is_zip = &magic[..n] == b"PK\x03\x04" || file_name.ends_with(".zip");
        if is_zip {
            let zn = naming::parse_zip_name(&file_name);
            let picked = zip::pick_executable(path, zn.as_ref().map(|z| z.provider_type.as_str()))?;
            let naming = match zn {
                Some(z) => Naming {
                    provider_type: Some(z.provider_type),
                    version: Some(z.version),
                    os: Some(z.os),
                    arch: Some(z.arch),
                    address: None,
                },
                None => Naming {
                    provider_type: naming::exe_provider_type(&picked.name).map(str::to_string),
                    version: naming::exe_version(&picked.name),
                    ..Naming::default()
                },
            };
            let exe_name = picked.name.clone();
            Ok(Artifact {
                path: path.to_path_buf(),
                zip: Some(ZipOrigin {
                    path: path.to_path_buf(),
                    file_name,
                    entry_name: picked.name.clone(),
                }),
                exe_name,
                naming,
                source: Box::new(zip::ZipEntrySource::new(
                    path.to_path_buf(),
                    picked,
                    limits,
                )?),
                display: None,
                registry: None,
                provenance: None,
            })
        } else {
            Ok(Artifact {
                path: path.to_path_buf(),
                zip: None,
                naming: Naming {
                    provider_type: naming::exe_provider_type(&file_name).map(str::to_string),
                    version: naming::exe_version(&file_name),
                    ..Naming::default()
                },
                exe_name: file_name,
                source: Box::new(FileSource {
                    path: path.to_path_buf(),
                }),
                display: None,
                registry: None,
                provenance: None,
            })
        }
    }
}

/// A file hashed one chunk at a time, so the work can be slotted into another thread's idle time.
pub struct HashingFile {
    file: File,
    hasher: Sha256,
    buf: Vec<u8>,
    done: bool,
}

impl HashingFile {
    pub fn open(path: &Path) -> io::Result<HashingFile> {
        Ok(HashingFile {
            file: File::open(path)?,
            hasher: Sha256::new(),
            buf: vec![0u8; stream::CHUNK],
            done: false,
        })
    }

    /// Hash the next chunk; `false` once the whole file is in.
    pub fn step(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let n = stream::fill(&mut self.file, &mut self.buf)?;
        self.hasher.update(&self.buf[..n]);
        self.done = n < self.buf.len();
        Ok(!self.done)
    }

    /// The lowercase hex digest (hashing whatever is left first).
    pub fn finish(mut self) -> io::Result<String> {
        while self.step()? {}
        Ok(hex::encode(self.hasher.finalize()))
    }
}
