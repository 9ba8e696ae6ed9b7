//! The advisory data model, kept apart from matching (as rustsec does): OSV JSON as published by
//! the Go vulnerability database and OSV ecosystem exports, parsed leniently into [`Advisory`].

use serde::Deserialize;

use super::cvss::{self, Severity};
use super::version::{Event, Range, Version};

#[derive(Debug, Deserialize)]
struct OsvEntry {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    references: Vec<OsvReference>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct OsvAffected {
    package: OsvPackage,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ecosystem_specific: Option<OsvEcosystemSpecific>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
}

#[derive(Debug, Deserialize)]
struct OsvPackage {
    name: String,
    #[serde(default)]
    ecosystem: String,
}

#[derive(Debug, Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct OsvEcosystemSpecific {
    #[serde(default)]
    imports: Vec<OsvImport>,
}

#[derive(Debug, Deserialize)]
struct OsvImport {
    #[serde(default)]
    path: String,
    #[serde(default)]
    goos: Vec<String>,
    #[serde(default)]
    goarch: Vec<String>,
    #[serde(default)]
    symbols: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OsvReference {
    #[serde(default)]
    url: String,
}

#[derive(Debug, Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

/// A package import an advisory names, with its platform restrictions (empty = all) and the
/// vulnerable functions in it (`F`, or `T.M` for methods; empty = any function of the package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub path: String,
    pub goos: Vec<String>,
    pub goarch: Vec<String>,
    pub symbols: Vec<String>,
}

impl Import {
    /// Whether the import applies to a binary built for `goos`/`goarch` (unknown matches).
    pub fn applies_to(&self, goos: Option<&str>, goarch: Option<&str>) -> bool {
        let ok = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_none_or(|v| list.iter().any(|x| x == v))
        };
        ok(&self.goos, goos) && ok(&self.goarch, goarch)
    }
}

/// The versions of one package an advisory affects.
#[derive(Debug, Clone)]
pub struct Affected {
    /// Module path, `stdlib` or `toolchain`.
    pub package: String,
    pub ranges: Vec<Range>,
    pub versions: Vec<Version>,
    pub imports: Vec<Import>,
}

impl Affected {
    pub fn contains(&self, v: &Version) -> bool {
        self.versions.iter().any(|x| x == v) || self.ranges.iter().any(|r| r.contains(v))
    }
}

/// One advisory.
#[derive(Debug, Clone)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub details: String,
    pub modified: Option<String>,
    pub published: Option<String>,
    pub withdrawn: bool,
    pub severity: Severity,
    pub score: Option<f64>,
    pub vector: Option<String>,
    /// The advisory's page (`database_specific.url`, else its first reference).
    pub url: Option<String>,
    pub references: Vec<String>,
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// The IDs a report leads with: every CVE alias (Trivy reports one finding per CVE), else
    /// the GHSA alias, else the advisory's own ID.
    pub fn headline_ids(&self) -> Vec<String> {
        let mut cves: Vec<String> = std::iter::once(&self.id)
            .chain(&self.aliases)
            .filter(|a| a.starts_with("CVE-"))
            .cloned()
            .collect();
        cves.sort();
        cves.dedup();
        if !cves.is_empty() {
            return cves;
        }
        if let Some(g) = std::iter::once(&self.id)
            .chain(&self.aliases)
            .find(|a| a.starts_with("GHSA-"))
        {
            return vec![g.clone()];
        }
        vec![self.id.clone()]
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid OSV entry: {0}")]
pub struct ParseError(String);

fn severity_of(
    sev: &[OsvSeverity],
    dbs: Option<&serde_json::Value>,
) -> (Severity, Option<f64>, Option<String>) {
    // CVSS v3 first (what NVD and Trivy show), then v4.
    for kind in ["CVSS_V3", "CVSS_V4"] {
        for s in sev.iter().filter(|s| s.kind == kind) {
            if let Some(score) = cvss::base_score(&s.score) {
                return (
                    Severity::from_score(score),
                    Some(score),
                    Some(s.score.clone()),
                );
            }
        }
    }
    // No computable score: GitHub's word, if any.
    let word = dbs
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str())
        .and_then(Severity::from_word);
    let vector = sev.first().map(|s| s.score.clone());
    (word.unwrap_or(Severity::Unknown), None, vector)
}

/// Parse one OSV JSON document. Only `Go` ecosystem packages are kept.
pub fn parse(bytes: &[u8]) -> Result<Advisory, ParseError> {
    let e: OsvEntry = serde_json::from_slice(bytes).map_err(|e| ParseError(e.to_string()))?;
    let mut severity = severity_of(&e.severity, e.database_specific.as_ref());
    let mut affected = Vec::new();
    for a in e.affected {
        if !a.package.ecosystem.is_empty() && a.package.ecosystem != "Go" {
            continue;
        }
        if severity.0 == Severity::Unknown && !a.severity.is_empty() {
            severity = severity_of(&a.severity, None);
        }
        let mut ranges = Vec::new();
        for r in a.ranges.iter().filter(|r| r.kind == "SEMVER") {
            let mut events = Vec::new();
            for ev in &r.events {
                for (k, v) in ev {
                    let parsed = match (k.as_str(), v.as_str()) {
                        ("introduced", "0") => Some(Event::Introduced(None)),
                        ("introduced", v) => Version::parse(v).map(|v| Event::Introduced(Some(v))),
                        ("fixed", v) => Version::parse(v).map(Event::Fixed),
                        ("last_affected", v) => Version::parse(v).map(Event::LastAffected),
                        _ => None,
                    };
                    match parsed {
                        Some(p) => events.push(p),
                        None => tracing::debug!("{}: skipping range event {k}={v}", e.id),
                    }
                }
            }
            ranges.push(Range::new(events));
        }
        affected.push(Affected {
            package: a.package.name,
            ranges,
            versions: a
                .versions
                .iter()
                .filter_map(|v| Version::parse(v))
                .collect(),
            imports: a
                .ecosystem_specific
                .map(|s| {
                    s.imports
                        .into_iter()
                        .map(|i| Import {
                            path: i.path,
                            goos: i.goos,
                            goarch: i.goarch,
                            symbols: i.symbols,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    let url = e
        .database_specific
        .as_ref()
        .and_then(|d| d.get("url"))
        .and_then(|u| u.as_str())
        .map(str::to_string)
        .or_else(|| e.references.first().map(|r| r.url.clone()));
    Ok(Advisory {
        id: e.id,
        aliases: e.aliases,
        summary: e.summary.unwrap_or_default(),
        details: e.details.unwrap_or_default(),
        modified: e.modified,
        published: e.published,
        withdrawn: e.withdrawn.is_some(),
        severity: severity.0,
        score: severity.1,
        vector: severity.2,
        url,
        references: e
            .references
            .into_iter()
            .map(|r| r.url)
            .filter(|u| !u.is_empty())
            .collect(),
        affected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_vulndb_entry() {
        let a = parse(include_bytes!(
            "../../../samples/vulndb/ID/GO-2023-2102.json"
        ))
        .unwrap();
        assert_eq!(a.id, "GO-2023-2102");
        assert_eq!(a.headline_ids(), ["CVE-2023-39325", "CVE-2023-44487"]);
        assert_eq!(a.affected.len(), 2);
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.score, Some(7.5));
        assert_eq!(
            a.url.as_deref(),
            Some("https://pkg.go.dev/vuln/GO-2023-2102")
        );
        let x = &a.affected[1];
        assert_eq!(x.package, "golang.org/x/net");
        assert!(x.contains(&Version::parse("v0.7.0").unwrap()));
        assert!(!x.contains(&Version::parse("v0.17.0").unwrap()));
    }

    #[test]
    fn lenient_and_fallbacks() {
        let a = parse(br#"{"id":"GHSA-x","aliases":["GO-1"],"unknown":1,"database_specific":{"severity":"MODERATE"},
            "affected":[{"package":{"name":"a/b","ecosystem":"Go"},"versions":["1.0.0"]},{"package":{"name":"x","ecosystem":"npm"}}],
            "severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N"}]}"#).unwrap();
        // An unparsable v4 vector falls back to GitHub's word.
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.headline_ids(), ["GHSA-x"]);
        assert_eq!(a.affected.len(), 1);
        assert!(a.affected[0].contains(&Version::parse("v1.0.0").unwrap()));
        assert!(parse(b"{\"summary\": 1}").is_err());
    }
}
