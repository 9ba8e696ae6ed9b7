//! The inventory: what is inside an artifact, as one model for every format and every command.
//!
//! Built here from Go buildinfo ([`gobin`]); later stages (vulnerability matching, policy, drift)
//! and every report read only this model, never buildinfo or an SBOM format directly.

pub mod collect;
pub mod gobin;
pub mod sbom_in;
pub mod symbols;
pub mod version;

use crate::artifact::{Artifact, Naming};
use crate::registry::referrers::{AttachedTo, Via};
use gobin::{Executable, GoModule, ImageInfo};
pub use version::VersionSource;

/// Where an inventory's module list came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from the Go buildinfo of the executable; `note` says why, when an SBOM was wanted.
    Buildinfo { note: Option<String> },
    /// An SBOM attached to the artifact in its registry.
    AttachedSbom {
        /// `cyclonedx 1.6`, `spdx SPDX-2.3`.
        format: String,
        /// The referrer manifest holding it, and the digest it is attached to.
        manifest: String,
        subject: String,
        /// The platform manifest or the index.
        level: AttachedTo,
        /// The referrers API, the referrers tag schema, or cosign's tag.
        via: Via,
    },
}

impl Origin {
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Buildinfo { .. } => "buildinfo",
            Origin::AttachedSbom { .. } => "attached-sbom",
        }
    }

    /// One sentence for reports.
    pub fn detail(&self) -> String {
        match self {
            Origin::Buildinfo { note: None } => "Go buildinfo of the executable".into(),
            Origin::Buildinfo { note: Some(n) } => {
                format!("Go buildinfo of the executable (fallback: {n})")
            }
            Origin::AttachedSbom {
                format,
                manifest,
                level,
                via,
                ..
            } => format!(
                "attached {format} SBOM {manifest} on the {} manifest (found via {})",
                level.as_str(),
                via.as_str()
            ),
        }
    }
}

/// The binary's function table (its pclntab), for symbol-level reachability.
#[derive(Debug, Clone)]
pub enum FunctionTable {
    /// Not read, and why (`--no-symbols`; an SBOM without the binary).
    NotRead(String),
    /// The table could not be read, and why.
    Unreadable(String),
    /// The functions of this image.
    Read(std::sync::Arc<symbols::ImageSymbols>),
}

impl Default for FunctionTable {
    fn default() -> Self {
        FunctionTable::NotRead("the function table was not read".into())
    }
}

/// Which inventory source to use for artifacts that have attached SBOMs (`--sbom-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SbomSource {
    /// The attached SBOM when present and parseable, else the binary's buildinfo.
    #[default]
    Auto,
    /// The attached SBOM; fail without one.
    Attached,
    /// Always the binary's buildinfo.
    Binary,
}

impl crate::foundation::named::Named for SbomSource {
    const ALL: &'static [Self] = &[SbomSource::Auto, SbomSource::Attached, SbomSource::Binary];

    fn name(&self) -> &'static str {
        match self {
            SbomSource::Auto => "auto",
            SbomSource::Attached => "attached",
            SbomSource::Binary => "binary",
        }
    }

    fn help(&self) -> &'static str {
        match self {
            SbomSource::Auto => {
                "The attached SBOM when present and parseable, else the binary's buildinfo"
            }
            SbomSource::Attached => "The attached SBOM; fail without one",
            SbomSource::Binary => "Always the binary's buildinfo",
        }
    }
}

/// What was scanned: provenance carried into every report.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// Human label: `path` or `zip!entry`.
    pub label: String,
    /// ZIP file name and SHA-256 (the lock file's `zh:`), when the executable came from a ZIP.
    pub zip_name: Option<String>,
    pub zip_sha256: Option<String>,
    pub exe_name: String,
    /// SHA-256 of the executable (`None` with `--no-executable-hash` on a bare file).
    pub exe_sha256: Option<String>,
    pub exe_size: u64,
    pub naming: Naming,
    /// Container format and, for universal Mach-O, the slice offset.
    pub format: String,
    pub slice_offset: Option<u64>,
    /// Where in a registry it was fetched from.
    pub registry: Option<crate::artifact::RegistryOrigin>,
    /// Where it came from, which checks it passed, who signed it.
    pub provenance: Option<crate::artifact::provenance::Provenance>,
}

impl Subject {
    /// The executable's name and SHA-256 as bytes, when it was hashed.
    pub fn exe_digest(&self) -> Option<(String, [u8; 32])> {
        let mut sum = [0u8; 32];
        hex::decode_to_slice(self.exe_sha256.as_deref()?, &mut sum).ok()?;
        Some((self.exe_name.clone(), sum))
    }

    /// `terraform-provider-TYPE` when known, else the executable name.
    pub fn provider_name(&self) -> String {
        match &self.naming.provider_type {
            Some(t) => format!("terraform-provider-{t}"),
            None => self.exe_name.clone(),
        }
    }
}

/// A replacement recorded by a `=>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// The module path and version that `go.mod` required.
    pub original_path: String,
    pub original_version: Option<String>,
    /// What was compiled in instead: another module, or a local directory.
    pub path: String,
    pub local: bool,
}

/// A Go module (or `stdlib`) compiled into the executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Exact, case-preserving module path; `stdlib` for the standard library.
    pub path: String,
    /// `vX.Y.Z` (pseudo-versions and `+incompatible` included); `None` for `(devel)` or empty.
    pub version: Option<String>,
    /// The `h1:` go.sum hash, when recorded.
    pub sum: Option<String>,
    pub replacement: Option<Replacement>,
}

impl Module {
    /// Apply Syft's rules: name and version from the replacement; a local replacement keeps the
    /// required path and takes the replacement's (usually empty) version.
    pub fn from_go(m: &GoModule) -> Module {
        let version = |v: &str| (!v.is_empty() && v != "(devel)").then(|| v.to_string());
        match &m.replace {
            None => Module {
                path: m.path.clone(),
                version: version(&m.version),
                sum: (!m.sum.is_empty()).then(|| m.sum.clone()),
                replacement: None,
            },
            Some(r) => {
                let local = r.path.starts_with('.') || r.path.starts_with('/');
                Module {
                    path: if local {
                        m.path.clone()
                    } else {
                        r.path.clone()
                    },
                    version: version(&r.version),
                    sum: (!r.sum.is_empty()).then(|| r.sum.clone()),
                    replacement: Some(Replacement {
                        original_path: m.path.clone(),
                        original_version: version(&m.version),
                        path: r.path.clone(),
                        local,
                    }),
                }
            }
        }
    }

    /// `pkg:golang/<path>@<version>`, version-less when the version is unknown.
    pub fn purl(&self) -> String {
        let mut p = format!("pkg:golang/{}", encode_purl_path(&self.path));
        if let Some(v) = &self.version {
            p.push('@');
            p.push_str(&encode_purl_part(v));
        }
        p
    }
}

fn encode_purl_part(s: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~');
    if s.bytes().all(safe) {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if safe(b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn encode_purl_path(s: &str) -> String {
    s.split('/')
        .map(encode_purl_part)
        .collect::<Vec<_>>()
        .join("/")
}

/// One executable image's inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub subject: Subject,
    pub origin: Origin,
    /// Raw Go version as recorded (`go1.21.3 X:boringcrypto`).
    pub go_version: String,
    pub goos: Option<String>,
    pub goarch: Option<String>,
    /// The main package path (`path` line).
    pub main_path: String,
    pub main: Module,
    pub main_version_source: VersionSource,
    /// Dependencies sorted by path, then `stdlib` last.
    pub modules: Vec<Module>,
    pub settings: Vec<(String, String)>,
    /// Where an attached SBOM disagrees with the binary (empty when only one exists).
    pub drift: Vec<sbom_in::Drift>,
    /// License expressions by module path, as an attached SBOM states them (buildinfo has none).
    pub licenses: std::collections::BTreeMap<String, String>,
    /// The binary's function table, for reachability.
    pub functions: FunctionTable,
}

impl Inventory {
    /// Build the inventories of every image of an executable read from `artifact`.
    pub fn from_executable(
        artifact: &Artifact,
        exe: &Executable,
        zip_sha256: Option<String>,
    ) -> Vec<Inventory> {
        let fat = exe.images.len() > 1;
        exe.images
            .iter()
            .map(|img| Self::from_image(artifact, exe, img, zip_sha256.clone(), fat))
            .collect()
    }

    fn from_image(
        artifact: &Artifact,
        exe: &Executable,
        img: &ImageInfo,
        zip_sha256: Option<String>,
        fat: bool,
    ) -> Inventory {
        let bi = &img.buildinfo;
        let mut main = if bi.main == GoModule::default() {
            // Syft: no `mod` line (e.g. `command-line-arguments`) → synthesize from `path`.
            Module {
                path: bi.path.clone(),
                version: None,
                sum: None,
                replacement: None,
            }
        } else {
            Module::from_go(&bi.main)
        };
        let mut naming = artifact.naming.clone();
        naming.os = naming.os.or_else(|| img.goos.clone());
        naming.arch = naming.arch.or_else(|| img.goarch.clone());
        let (version, source) = version::resolve_main(bi, main.version.as_deref(), &naming);
        main.version = version;
        let mut modules: Vec<Module> = bi
            .deps
            .iter()
            .filter(|d| d.path != bi.main.path || bi.main.path.is_empty())
            .map(Module::from_go)
            .collect();
        modules.sort_by(|a, b| a.path.cmp(&b.path).then(a.version.cmp(&b.version)));
        if let Some(v) = version::stdlib_semver(&bi.go_version) {
            modules.push(Module {
                path: "stdlib".into(),
                version: Some(v),
                sum: None,
                replacement: None,
            });
        }
        Inventory {
            subject: Subject {
                label: artifact.label(),
                zip_name: artifact.zip.as_ref().map(|z| z.file_name.clone()),
                zip_sha256,
                exe_name: artifact.exe_name.clone(),
                exe_sha256: exe.sha256.clone(),
                exe_size: exe.size,
                naming,
                format: img.format.to_string(),
                slice_offset: fat.then_some(img.offset),
                registry: artifact.registry.clone(),
                provenance: artifact.provenance.clone(),
            },
            origin: Origin::Buildinfo { note: None },
            go_version: bi.go_version.clone(),
            goos: img.goos.clone(),
            goarch: img.goarch.clone(),
            main_path: bi.path.clone(),
            main,
            main_version_source: source,
            modules,
            settings: bi.settings.clone(),
            drift: Vec::new(),
            licenses: Default::default(),
            functions: FunctionTable::default(),
        }
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `OS_ARCH` as tofu names platforms.
    pub fn platform(&self) -> Option<String> {
        match (&self.subject.naming.os, &self.subject.naming.arch) {
            (Some(o), Some(a)) => Some(format!("{o}_{a}")),
            _ => None,
        }
    }

    /// A stable name for files written per inventory: the ZIP stem, or the executable name,
    /// with the platform appended for universal binaries.
    pub fn output_stem(&self) -> String {
        let base = match &self.subject.zip_name {
            Some(z) => z.trim_end_matches(".zip").to_string(),
            None => self.subject.exe_name.trim_end_matches(".exe").to_string(),
        };
        match (self.subject.slice_offset, self.platform()) {
            (Some(_), Some(p)) => format!("{base}_{p}"),
            _ => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_follow_syft() {
        let m = GoModule {
            path: "example.com/dep".into(),
            version: "v0.0.0".into(),
            sum: String::new(),
            replace: Some(Box::new(GoModule {
                path: "./dep".into(),
                version: "(devel)".into(),
                ..Default::default()
            })),
        };
        let m = Module::from_go(&m);
        assert_eq!(m.path, "example.com/dep");
        assert_eq!(m.version, None);
        assert!(m.replacement.as_ref().unwrap().local);
        assert_eq!(m.purl(), "pkg:golang/example.com/dep");
        let r = Module::from_go(&GoModule {
            path: "github.com/a/b".into(),
            version: "v1.0.0".into(),
            sum: String::new(),
            replace: Some(Box::new(GoModule {
                path: "github.com/fork/b".into(),
                version: "v1.0.1+incompatible".into(),
                sum: "h1:z=".into(),
                replace: None,
            })),
        });
        assert_eq!(r.path, "github.com/fork/b");
        assert_eq!(
            r.purl(),
            "pkg:golang/github.com/fork/b@v1.0.1%2Bincompatible"
        );
        assert_eq!(r.sum.as_deref(), Some("h1:z="));
    }
}
