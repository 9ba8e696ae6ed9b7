//! The protocol documents as pure parsers (`parse_*(bytes) -> Result<…>`, no I/O, no panics on
//! any input, fuzz-friendly): the service-discovery document, the registry's `versions` and
//! `download` answers, the network mirror's `index.json` and `VERSION.json`, and `SHA256SUMS`.
//!
//! Keys are looked up ASCII-case-insensitively, as Go's `encoding/json` (which tofu uses)
//! matches them; unknown keys are ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DocError(pub String);

type Result<T> = std::result::Result<T, DocError>;

fn err<T>(s: impl Into<String>) -> Result<T> {
    Err(DocError(s.into()))
}

fn object(bytes: &[u8], what: &str) -> Result<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => err(format!("{what} is not a JSON object")),
        Err(e) => err(format!("{what} is not valid JSON: {e}")),
    }
}

/// `m[key]`, the key matched ASCII-case-insensitively (an exact match first).
fn get<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn string(m: &Map<String, Value>, key: &str, what: &str) -> Result<String> {
    match get(m, key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => err(format!("{what}: {key} is not a string")),
        None => err(format!("{what}: {key} is missing")),
    }
}

fn strings(m: &Map<String, Value>, key: &str, what: &str) -> Result<Vec<String>> {
    match get(m, key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => err(format!("{what}: {key} holds a non-string")),
            })
            .collect(),
        Some(_) => err(format!("{what}: {key} is not a list")),
    }
}

/// The service-discovery document's `providers.v1` value (a URL, maybe relative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvidersService {
    V1(String),
    /// Some other `providers.*` version, not v1.
    OtherVersion,
    None,
}

/// `/.well-known/terraform.json`.
pub fn parse_discovery(bytes: &[u8]) -> Result<ProvidersService> {
    let m = object(bytes, "the service discovery document")?;
    Ok(match m.get("providers.v1") {
        Some(Value::String(s)) => ProvidersService::V1(s.clone()),
        _ if m.keys().any(|k| k.starts_with("providers.")) => ProvidersService::OtherVersion,
        _ => ProvidersService::None,
    })
}

/// One entry of `GET :namespace/:type/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryVersion {
    pub version: String,
    pub protocols: Vec<String>,
    /// `OS_ARCH`.
    pub platforms: Vec<String>,
}

/// The registry's version list and its warnings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versions {
    pub versions: Vec<RegistryVersion>,
    pub warnings: Vec<String>,
}

/// `GET :namespace/:type/versions`. A version string that does not parse fails the whole
/// answer, as in tofu.
pub fn parse_versions(bytes: &[u8]) -> Result<Versions> {
    let what = "the registry's version list";
    let m = object(bytes, what)?;
    let mut out = Versions {
        warnings: strings(&m, "warnings", what)?,
        ..Versions::default()
    };
    let list = match get(&m, "versions") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(a)) => a,
        Some(_) => return err(format!("{what}: versions is not a list")),
    };
    for v in list {
        let Value::Object(o) = v else {
            return err(format!("{what}: a version entry is not an object"));
        };
        let version = string(o, "version", what)?;
        if !valid_version(&version) {
            return err(format!("{what}: invalid version {version:?}"));
        }
        let mut platforms = Vec::new();
        if let Some(Value::Array(ps)) = get(o, "platforms") {
            for p in ps {
                if let Value::Object(p) = p {
                    platforms.push(format!(
                        "{}_{}",
                        string(p, "os", what)?,
                        string(p, "arch", what)?
                    ));
                }
            }
        }
        out.versions.push(RegistryVersion {
            version,
            protocols: strings(o, "protocols", what)?,
            platforms,
        });
    }
    Ok(out)
}

/// `GET :namespace/:type/:version/download/:os/:arch`, URLs as given (unresolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub protocols: Vec<String>,
    pub os: String,
    pub arch: String,
    pub filename: String,
    pub download_url: String,
    pub shasums_url: String,
    pub shasums_signature_url: String,
    /// Lowercase hex SHA-256 of the ZIP.
    pub shasum: String,
    /// `signing_keys.gpg_public_keys[].ascii_armor`, in order.
    pub signing_keys: Vec<String>,
}

/// A version as tofu's registry client parses it (no `v` prefix).
pub fn valid_version(v: &str) -> bool {
    !v.starts_with('v') && crate::foundation::version::Version::parse(v).is_some()
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn parse_download(bytes: &[u8]) -> Result<Download> {
    let what = "the registry's download metadata";
    let m = object(bytes, what)?;
    let shasum = string(&m, "shasum", what)?;
    if !is_sha256_hex(&shasum) {
        return err(format!(
            "{what}: shasum {shasum:?} is not 64 hexadecimal digits"
        ));
    }
    let mut signing_keys = Vec::new();
    if let Some(Value::Object(k)) = get(&m, "signing_keys") {
        match get(k, "gpg_public_keys") {
            None | Some(Value::Null) => {}
            Some(Value::Array(keys)) => {
                for key in keys {
                    let Value::Object(key) = key else {
                        return err(format!("{what}: a signing key is not an object"));
                    };
                    signing_keys.push(string(key, "ascii_armor", what)?);
                }
            }
            Some(_) => return err(format!("{what}: gpg_public_keys is not a list")),
        }
    }
    Ok(Download {
        protocols: strings(&m, "protocols", what)?,
        os: string(&m, "os", what)?,
        arch: string(&m, "arch", what)?,
        filename: string(&m, "filename", what)?,
        download_url: string(&m, "download_url", what)?,
        shasums_url: string(&m, "shasums_url", what)?,
        shasums_signature_url: string(&m, "shasums_signature_url", what)?,
        shasum: shasum.to_ascii_lowercase(),
        signing_keys,
    })
}

/// The network mirror's `index.json`: the versions it holds. Versions that do not parse are
/// skipped, as in tofu.
pub fn parse_mirror_index(bytes: &[u8]) -> Result<Vec<String>> {
    let what = "the network mirror's index.json";
    let m = object(bytes, what)?;
    match get(&m, "versions") {
        Some(Value::Object(vs)) => {
            let mut out = Vec::new();
            for (v, body) in vs {
                if !body.is_object() {
                    return err(format!("{what}: version {v:?} is not an object"));
                }
                if valid_version(v) {
                    out.push(v.clone());
                } else {
                    tracing::warn!("{what}: skipping invalid version {v:?}");
                }
            }
            Ok(out)
        }
        Some(_) => err(format!("{what}: versions is not an object")),
        None => err(format!("{what}: versions is missing")),
    }
}

/// One archive of a network mirror's `VERSION.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorArchive {
    pub url: String,
    /// `h1:…`/`zh:…` (and whatever else the mirror lists), as given.
    pub hashes: Vec<String>,
}

/// `VERSION.json`: `OS_ARCH` → archive.
pub fn parse_mirror_version(bytes: &[u8]) -> Result<BTreeMap<String, MirrorArchive>> {
    let what = "the network mirror's version document";
    let m = object(bytes, what)?;
    let Some(Value::Object(archives)) = get(&m, "archives") else {
        return err(format!("{what}: archives is missing or not an object"));
    };
    let mut out = BTreeMap::new();
    for (plat, a) in archives {
        let Value::Object(a) = a else {
            return err(format!("{what}: archive {plat:?} is not an object"));
        };
        let hashes = strings(a, "hashes", what)?;
        if let Some(h) = hashes.iter().find(|h| !h.contains(':')) {
            return err(format!(
                "{what}: {plat}: hash {h:?} is not in the form scheme:value"
            ));
        }
        out.insert(
            plat.clone(),
            MirrorArchive {
                url: string(a, "url", what)?,
                hashes,
            },
        );
    }
    Ok(out)
}

/// `SHA256SUMS` as tofu reads it: lines of `<hex>  <file name>`. Returns `(hex, name)` in file
/// order; any malformed line refuses the whole file (tofu then takes no `zh:` from it).
pub fn parse_sha256sums(bytes: &[u8]) -> Result<Vec<(String, String)>> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| DocError("SHA256SUMS is not UTF-8".into()))?;
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        // A trailing newline leaves one empty last piece.
        if line.is_empty() && i + 1 == text.split('\n').count() {
            continue;
        }
        let mut f = line.split_whitespace();
        match (f.next(), f.next()) {
            (Some(h), Some(name)) if is_sha256_hex(h) => {
                out.push((h.to_ascii_lowercase(), name.to_string()))
            }
            _ => return err(format!("SHA256SUMS line {} is malformed: {line:?}", i + 1)),
        }
    }
    Ok(out)
}

/// The hash `SHA256SUMS` lists for `file_name` (the first line whose second field is exactly
/// that name, as tofu looks it up), without requiring every other line to be well formed.
pub fn sha256sums_lookup(bytes: &[u8], file_name: &str) -> Option<String> {
    String::from_utf8_lossy(bytes).split('\n').find_map(|l| {
        let mut f = l.split_whitespace();
        let h = f.next()?;
        (f.next()? == file_name).then(|| h.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery() {
        assert_eq!(
            parse_discovery(br#"{"providers.v1":"/v1/providers/","modules.v1":"/m/"}"#).unwrap(),
            ProvidersService::V1("/v1/providers/".into())
        );
        assert_eq!(
            parse_discovery(br#"{"providers.v2":"/x/"}"#).unwrap(),
            ProvidersService::OtherVersion
        );
        assert_eq!(
            parse_discovery(br#"{"modules.v1":"/x/"}"#).unwrap(),
            ProvidersService::None
        );
        assert!(parse_discovery(b"[]").is_err());
        assert!(parse_discovery(b"\xff").is_err());
    }

    #[test]
    fn versions_and_download() {
        let v = parse_versions(br#"{"Versions":[{"version":"1.2.3","protocols":["5.0"],"platforms":[{"os":"linux","arch":"amd64"}]}],"warnings":["old"]}"#).unwrap();
        assert_eq!(v.versions[0].platforms, ["linux_amd64"]);
        assert_eq!(v.warnings, ["old"]);
        assert!(parse_versions(br#"{"versions":[{"version":"v1"}]}"#).is_err());
        assert!(parse_versions(br#"{}"#).unwrap().versions.is_empty());
        let d = br#"{"protocols":["5.0"],"os":"linux","arch":"amd64","filename":"f.zip","download_url":"f.zip","shasums_url":"S","shasums_signature_url":"S.sig","shasum":"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB","signing_keys":{"gpg_public_keys":[{"key_id":"X","ascii_armor":"-----BEGIN"}]}}"#;
        let d = parse_download(d).unwrap();
        assert_eq!(d.signing_keys, ["-----BEGIN"]);
        assert_eq!(d.shasum, "ab".repeat(32));
        assert!(parse_download(br#"{"shasum":"12"}"#).is_err());
    }

    #[test]
    fn mirror_documents() {
        let i = parse_mirror_index(br#"{"versions":{"1.0.0":{},"bad":{}}}"#).unwrap();
        assert_eq!(i, ["1.0.0"]);
        assert!(parse_mirror_index(br#"{"versions":{"1.0.0":1}}"#).is_err());
        let v = parse_mirror_version(
            br#"{"archives":{"linux_amd64":{"url":"x.zip","hashes":["h1:abc"]},"darwin_arm64":{"url":"y.zip"}}}"#,
        )
        .unwrap();
        assert_eq!(v["linux_amd64"].hashes, ["h1:abc"]);
        assert!(v["darwin_arm64"].hashes.is_empty());
        assert!(
            parse_mirror_version(br#"{"archives":{"a_b":{"url":"x","hashes":["nocolon"]}}}"#)
                .is_err()
        );
    }

    #[test]
    fn sums() {
        let h = "a".repeat(64);
        let text = format!("{h}  x.zip\n{h}  y.zip\n");
        assert_eq!(parse_sha256sums(text.as_bytes()).unwrap().len(), 2);
        assert!(parse_sha256sums(format!("{h}  x.zip\n\n{h} y\n").as_bytes()).is_err());
        assert!(parse_sha256sums(b"zz  x.zip\n").is_err());
        assert_eq!(sha256sums_lookup(text.as_bytes(), "y.zip"), Some(h.clone()));
        assert_eq!(sha256sums_lookup(text.as_bytes(), "Y.zip"), None);
        assert_eq!(
            sha256sums_lookup(format!("{h} *x.zip").as_bytes(), "x.zip"),
            None
        );
    }
}
