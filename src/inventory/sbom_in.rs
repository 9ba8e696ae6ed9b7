//! Ingesting attached SBOMs — CycloneDX 1.2–1.7 JSON and SPDX 2.2/2.3 JSON, parsed leniently
//! (unknown fields ignored, nested CycloneDX components walked) — into the same module list
//! buildinfo gives, and comparing the two ([`drift`]).
//!
//! Only Go modules count: components or packages with a `pkg:golang/…` PURL. The module path is
//! the PURL's path with its subpath joined (`…/hcl@v2.14.1#v2` → `…/hcl/v2`), written as the
//! component's case-exact `name`/`group` when that is the same module path.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Module;

/// Which SBOM format a document is, by content (as Trivy decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomKind {
    CycloneDx,
    Spdx,
}

impl SbomKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SbomKind::CycloneDx => "cyclonedx",
            SbomKind::Spdx => "spdx",
        }
    }
}

/// Modules read from an SBOM.
#[derive(Debug, Clone)]
pub struct IngestedSbom {
    pub kind: SbomKind,
    /// `specVersion` / `spdxVersion`.
    pub spec: String,
    pub modules: Vec<Module>,
    /// Declared or concluded license expression per module path, as the SBOM states it
    /// (CycloneDX `licenses`, SPDX `licenseConcluded` then `licenseDeclared`).
    pub licenses: BTreeMap<String, String>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `pkg:golang/<namespace>/<name>@<version>?<qualifiers>#<subpath>` → (module path, version).
/// The purl spec's subpath is joined onto the path: Syft writes `github.com/hashicorp/hcl/v2` as
/// `pkg:golang/github.com/hashicorp/hcl@v2.14.1#v2` and the module rooted in a subdirectory
/// `github.com/Azure/go-autorest/autorest` as `pkg:golang/github.com/Azure/go-autorest@…#autorest`.
/// Subpath segments are percent-decoded; empty, `.` and `..` segments are dropped, as the spec says.
pub fn parse_golang_purl(purl: &str) -> Option<(String, Option<String>)> {
    let rest = purl.strip_prefix("pkg:golang/")?;
    let (rest, subpath) = match rest.split_once('#') {
        Some((r, sub)) => (r, sub),
        None => (rest, ""),
    };
    let rest = rest.split('?').next()?;
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) => (p, Some(percent_decode(v)).filter(|v| !v.is_empty())),
        None => (rest, None),
    };
    let mut path = percent_decode(path.trim_end_matches('/'));
    for seg in subpath.split('/').map(percent_decode) {
        if !seg.is_empty() && seg != "." && seg != ".." {
            path.push('/');
            path.push_str(&seg);
        }
    }
    (!path.is_empty()).then_some((path, version))
}

/// The exact module path of a component: its `name` when that is the module path the purl names
/// (case-insensitively, as purls may lose case) or extends it by whole segments (a producer that
/// dropped the purl's subpath), else the purl's path.
fn module_path(name: Option<&str>, purl_path: String) -> String {
    match name {
        Some(n)
            if n.eq_ignore_ascii_case(&purl_path)
                || (n.len() > purl_path.len()
                    && n.is_char_boundary(purl_path.len())
                    && n[..purl_path.len()].eq_ignore_ascii_case(&purl_path)
                    && n[purl_path.len()..].starts_with('/')
                    && !n.contains(char::is_whitespace)) =>
        {
            n.to_string()
        }
        _ => purl_path,
    }
}

fn module_from(name: Option<&str>, purl: &str, version_field: Option<&str>) -> Option<Module> {
    let (ppath, pversion) = parse_golang_purl(purl)?;
    let path = module_path(name, ppath);
    let version = pversion
        .or_else(|| version_field.map(str::to_string))
        .filter(|v| !v.is_empty() && v != "(devel)");
    let version = version.map(|v| {
        if path == "stdlib" && v.starts_with("go") {
            format!("v{}", v.trim_start_matches("go"))
        } else if v.starts_with(|c: char| c.is_ascii_digit()) {
            format!("v{v}")
        } else {
            v
        }
    });
    Some(Module {
        path,
        version,
        sum: None,
        replacement: None,
    })
}

/// A CycloneDX `licenses` array as one expression: several entries are all required (`AND`).
fn cdx_license(c: &Value) -> Option<String> {
    let parts: Vec<String> = c
        .get("licenses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            l.get("expression")
                .and_then(Value::as_str)
                .or_else(|| l.pointer("/license/id").and_then(Value::as_str))
                .or_else(|| l.pointer("/license/name").and_then(Value::as_str))
                .map(str::to_string)
        })
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(
            parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// An SPDX package's license: concluded, else declared; `NOASSERTION`/`NONE` say nothing.
fn spdx_license(p: &Value) -> Option<String> {
    ["licenseConcluded", "licenseDeclared"]
        .iter()
        .filter_map(|k| p.get(*k).and_then(Value::as_str))
        .find(|l| !l.is_empty() && *l != "NOASSERTION" && *l != "NONE")
        .map(str::to_string)
}

/// Trivy's component for a Go module replaced by a local directory: no purl (there is none for
/// a directory), named after the directory (`./dep`, as Syft names it), marked as Go by its
/// `aquasecurity:trivy:PkgType` property. Read as that directory, without a version.
fn trivy_local_module(c: &Value) -> Option<Module> {
    let name = c.get("name").and_then(Value::as_str)?;
    let go = c
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| {
            p.get("name").and_then(Value::as_str) == Some("aquasecurity:trivy:PkgType")
                && matches!(
                    p.get("value").and_then(Value::as_str),
                    Some("gobinary" | "gomod")
                )
        });
    (go && (name.starts_with("./") || name.starts_with("../"))).then(|| Module {
        path: name.to_string(),
        version: None,
        sum: None,
        replacement: None,
    })
}

fn cdx_components(list: &Value, out: &mut Vec<Module>, licenses: &mut BTreeMap<String, String>) {
    for c in list.as_array().into_iter().flatten() {
        if c.get("purl").is_none()
            && let Some(m) = trivy_local_module(c)
        {
            out.push(m);
        }
        if let Some(purl) = c.get("purl").and_then(Value::as_str) {
            let name = match (
                c.get("group").and_then(Value::as_str),
                c.get("name").and_then(Value::as_str),
            ) {
                (Some(g), Some(n)) if !g.is_empty() => Some(format!("{g}/{n}")),
                (_, n) => n.map(str::to_string),
            };
            if let Some(m) = module_from(
                name.as_deref(),
                purl,
                c.get("version").and_then(Value::as_str),
            ) {
                if let Some(l) = cdx_license(c) {
                    licenses.insert(m.path.clone(), l);
                }
                out.push(m);
            }
        }
        if let Some(nested) = c.get("components") {
            cdx_components(nested, out, licenses);
        }
    }
}

/// Parse an SBOM document; the error says why it cannot be used.
pub fn parse(bytes: &[u8]) -> Result<IngestedSbom, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let mut licenses = BTreeMap::new();
    let (kind, spec, mut modules) = if doc.get("bomFormat").and_then(Value::as_str)
        == Some("CycloneDX")
    {
        let spec = doc
            .get("specVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let minor: Option<u32> = spec.strip_prefix("1.").and_then(|m| m.parse().ok());
        if !minor.is_some_and(|m| (2..=7).contains(&m)) {
            return Err(format!("CycloneDX specVersion {spec:?} is not 1.2–1.7"));
        }
        let mut mods = Vec::new();
        if let Some(root) = doc.pointer("/metadata/component") {
            cdx_components(&Value::Array(vec![root.clone()]), &mut mods, &mut licenses);
        }
        if let Some(c) = doc.get("components") {
            cdx_components(c, &mut mods, &mut licenses);
        }
        (SbomKind::CycloneDx, spec, mods)
    } else if doc.get("SPDXID").and_then(Value::as_str) == Some("SPDXRef-DOCUMENT") {
        let spec = doc
            .get("spdxVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if spec != "SPDX-2.2" && spec != "SPDX-2.3" {
            return Err(format!("spdxVersion {spec:?} is not SPDX-2.2 or SPDX-2.3"));
        }
        let mut mods = Vec::new();
        for p in doc
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let purl = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| {
                    r.get("referenceCategory")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.replace('_', "-") == "PACKAGE-MANAGER")
                        && r.get("referenceType").and_then(Value::as_str) == Some("purl")
                })
                .and_then(|r| r.get("referenceLocator").and_then(Value::as_str));
            if let Some(purl) = purl
                && let Some(m) = module_from(
                    p.get("name").and_then(Value::as_str),
                    purl,
                    p.get("versionInfo").and_then(Value::as_str),
                )
            {
                if let Some(l) = spdx_license(p) {
                    licenses.insert(m.path.clone(), l);
                }
                mods.push(m);
            }
        }
        (SbomKind::Spdx, spec, mods)
    } else {
        return Err("neither CycloneDX (bomFormat) nor SPDX (SPDXID SPDXRef-DOCUMENT) JSON".into());
    };
    modules.sort_by(|a, b| a.path.cmp(&b.path).then(a.version.cmp(&b.version)));
    modules.dedup();
    if modules.is_empty() {
        return Err(format!(
            "{} {spec} document lists no Go modules (pkg:golang PURLs)",
            kind.as_str()
        ));
    }
    Ok(IngestedSbom {
        kind,
        spec,
        modules,
        licenses,
    })
}

/// How an attached SBOM disagrees with the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Compiled into the binary, absent from the SBOM.
    MissingFromSbom {
        path: String,
        binary: Option<String>,
    },
    /// In both, at different versions.
    VersionMismatch {
        path: String,
        binary: Option<String>,
        sbom: Option<String>,
    },
    /// Listed by the SBOM, not compiled into the binary.
    NotInBinary { path: String, sbom: Option<String> },
}

impl Drift {
    pub fn describe(&self) -> String {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "(devel)".into());
        match self {
            Drift::MissingFromSbom { path, binary } => {
                format!("{path} {} is in the binary but not in the SBOM", v(binary))
            }
            Drift::VersionMismatch { path, binary, sbom } => {
                format!(
                    "{path}: the binary has {}, the SBOM says {}",
                    v(binary),
                    v(sbom)
                )
            }
            Drift::NotInBinary { path, sbom } => {
                format!("{path} {} is in the SBOM but not in the binary", v(sbom))
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Drift::MissingFromSbom { .. } => "missing-from-sbom",
            Drift::VersionMismatch { .. } => "version-mismatch",
            Drift::NotInBinary { .. } => "not-in-binary",
        }
    }
}

/// Compare the binary's modules (main module included) with an SBOM's.
pub fn drift(binary: &[Module], sbom: &[Module]) -> Vec<Drift> {
    let b: BTreeMap<&str, &Option<String>> = binary
        .iter()
        .map(|m| (m.path.as_str(), &m.version))
        .collect();
    // Syft 1.18 names a module replaced by a local directory after the directory (`./dep`).
    let local: BTreeMap<&str, &str> = binary
        .iter()
        .filter_map(|m| {
            m.replacement
                .as_ref()
                .filter(|r| r.local)
                .map(|r| (r.path.as_str(), m.path.as_str()))
        })
        .collect();
    let s: BTreeMap<&str, &Option<String>> = sbom
        .iter()
        .map(|m| {
            let p = m.path.as_str();
            let p = if b.contains_key(p) {
                p
            } else {
                local.get(p).copied().unwrap_or(p)
            };
            (p, &m.version)
        })
        .collect();
    let mut out = Vec::new();
    for (p, bv) in &b {
        match s.get(p) {
            None => out.push(Drift::MissingFromSbom {
                path: p.to_string(),
                binary: (*bv).clone(),
            }),
            Some(sv) if bv.is_some() && sv.is_some() && bv != sv => {
                out.push(Drift::VersionMismatch {
                    path: p.to_string(),
                    binary: (*bv).clone(),
                    sbom: (*sv).clone(),
                })
            }
            _ => {}
        }
    }
    for (p, sv) in &s {
        if !b.contains_key(p) {
            out.push(Drift::NotInBinary {
                path: p.to_string(),
                sbom: (*sv).clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert_eq!(
            parse_golang_purl(
                "pkg:golang/github.com/docker/docker@v20.10.7%2Bincompatible?type=module"
            ),
            Some((
                "github.com/docker/docker".into(),
                Some("v20.10.7+incompatible".into())
            ))
        );
        assert_eq!(
            parse_golang_purl("pkg:golang/stdlib"),
            Some(("stdlib".into(), None))
        );
        assert_eq!(parse_golang_purl("pkg:npm/x@1"), None);
        // Syft's subpaths: a major-version suffix and a module rooted in a subdirectory
        let p = |s: &str| parse_golang_purl(s).map(|(p, v)| (p, v.unwrap_or_default()));
        assert_eq!(
            p("pkg:golang/github.com/hashicorp/hcl@v2.14.1#v2"),
            Some(("github.com/hashicorp/hcl/v2".into(), "v2.14.1".into()))
        );
        assert_eq!(
            p("pkg:golang/github.com/Azure/go-autorest@v0.9.22?type=module#autorest/adal"),
            Some((
                "github.com/Azure/go-autorest/autorest/adal".into(),
                "v0.9.22".into()
            ))
        );
        assert_eq!(
            p("pkg:golang/example.com/m@v1.0.0#/./a/../%62/"),
            Some(("example.com/m/a/b".into(), "v1.0.0".into()))
        );
        assert_eq!(
            p("pkg:golang/example.com/m@v1.0.0#"),
            Some(("example.com/m".into(), "v1.0.0".into()))
        );
    }

    #[test]
    fn component_name_is_the_module_path() {
        let m = |name: &str, purl: &str| module_from(Some(name), purl, None).unwrap().path;
        // the name extends the purl's path: a producer that dropped the subpath
        assert_eq!(
            m(
                "github.com/hashicorp/hcl/v2",
                "pkg:golang/github.com/hashicorp/hcl@v2.14.1"
            ),
            "github.com/hashicorp/hcl/v2"
        );
        // case restored from the name, with the subpath joined
        assert_eq!(
            m(
                "github.com/Azure/go-autorest/autorest",
                "pkg:golang/github.com/azure/go-autorest@v0.11.29#autorest"
            ),
            "github.com/Azure/go-autorest/autorest"
        );
        // a name that is not the module path (a display name) is not taken
        assert_eq!(
            m("hcl", "pkg:golang/github.com/hashicorp/hcl@v2.14.1#v2"),
            "github.com/hashicorp/hcl/v2"
        );
        assert_eq!(
            m(
                "github.com/hashicorp/hclx",
                "pkg:golang/github.com/hashicorp/hcl@v1.0.0"
            ),
            "github.com/hashicorp/hcl"
        );
    }

    #[test]
    fn cyclonedx_16_nested_and_lowercased_purls() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"tools":{"components":[]}},
          "components":[{"type":"application","name":"bin","components":[
            {"type":"library","name":"github.com/BurntSushi/toml","purl":"pkg:golang/github.com/burntsushi/toml@v1.2.0"},
            {"type":"library","name":"stdlib","version":"go1.19.8","purl":"pkg:golang/stdlib@1.19.8"}]},
            {"type":"library","group":"golang.org/x","name":"crypto","purl":"pkg:golang/golang.org/x/crypto@v0.4.0","unknownField":1},
            {"type":"library","name":"left-pad","purl":"pkg:npm/left-pad@1.0.0"}]}"#;
        let s = parse(doc).unwrap();
        assert_eq!(s.kind, SbomKind::CycloneDx);
        let got: Vec<(String, Option<String>)> = s
            .modules
            .iter()
            .map(|m| (m.path.clone(), m.version.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "github.com/BurntSushi/toml".to_string(),
                    Some("v1.2.0".to_string())
                ),
                (
                    "golang.org/x/crypto".to_string(),
                    Some("v0.4.0".to_string())
                ),
                ("stdlib".to_string(), Some("v1.19.8".to_string())),
            ]
        );
    }

    #[test]
    fn spdx_and_rejections() {
        let doc = br#"{"SPDXID":"SPDXRef-DOCUMENT","spdxVersion":"SPDX-2.2","packages":[
            {"name":"golang.org/x/net","versionInfo":"v0.7.0","externalRefs":[{"referenceCategory":"PACKAGE_MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/net@v0.7.0"}]}]}"#;
        let s = parse(doc).unwrap();
        assert_eq!(s.kind, SbomKind::Spdx);
        assert_eq!(s.modules[0].path, "golang.org/x/net");
        assert!(parse(b"{}").unwrap_err().contains("neither"));
        assert!(
            parse(br#"{"bomFormat":"CycloneDX","specVersion":"2.0"}"#)
                .unwrap_err()
                .contains("1.2")
        );
        assert!(
            parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#)
                .unwrap_err()
                .contains("no Go modules")
        );
        assert!(parse(b"\xff").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn drift_kinds() {
        let m = |p: &str, v: &str| Module {
            path: p.into(),
            version: Some(v.into()),
            sum: None,
            replacement: None,
        };
        let d = drift(
            &[m("a", "v1"), m("b", "v1"), m("c", "v1")],
            &[m("a", "v1"), m("b", "v2"), m("d", "v1")],
        );
        let kinds: Vec<&str> = d.iter().map(Drift::kind).collect();
        assert_eq!(
            kinds,
            ["version-mismatch", "missing-from-sbom", "not-in-binary"]
        );
        assert!(
            d[0].describe()
                .contains("the binary has v1, the SBOM says v2")
        );
        // a locally replaced module, named by its directory (Syft 1.18)
        let mut dep = m("example.com/dep", "v0");
        dep.version = None;
        dep.replacement = Some(crate::inventory::Replacement {
            original_path: "example.com/dep".into(),
            original_version: Some("v0.0.0".into()),
            path: "./dep".into(),
            local: true,
        });
        let mut syft = m("./dep", "v0");
        syft.version = None;
        assert_eq!(drift(&[dep], &[syft]), []);
    }

    #[test]
    fn trivy_names_a_locally_replaced_module_without_a_purl() {
        // Trivy 0.76's CycloneDX of a binary with `replace example.com/dep => ./dep`.
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.7","components":[
            {"type":"library","name":"./dep","properties":[
                {"name":"aquasecurity:trivy:PkgID","value":"./dep"},
                {"name":"aquasecurity:trivy:PkgType","value":"gobinary"}]},
            {"type":"library","name":"./not-go","properties":[
                {"name":"aquasecurity:trivy:PkgType","value":"npm"}]},
            {"type":"library","name":"dep","properties":[
                {"name":"aquasecurity:trivy:PkgType","value":"gobinary"}]},
            {"type":"library","name":"stdlib","version":"v1.19.8","purl":"pkg:golang/stdlib@v1.19.8"}]}"#;
        let s = parse(doc).unwrap();
        let paths: Vec<(&str, Option<&str>)> = s
            .modules
            .iter()
            .map(|m| (m.path.as_str(), m.version.as_deref()))
            .collect();
        assert_eq!(paths, [("./dep", None), ("stdlib", Some("v1.19.8"))]);
    }
}
