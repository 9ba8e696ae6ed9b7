//! Waivers (`.provguard-ignore.toml`): finding ids a team has reviewed and accepted, each with a
//! mandatory reason, an optional expiry date (the waiver applies through that day, UTC) and an
//! optional scope (provider address or type, provider version). Expired waivers stop applying
//! and are reported; waivers that matched nothing are reported too, so the file stays honest.
//!
//! ```toml
//! [[ignore]]
//! id = "CVE-2024-45337"            # an advisory id or alias, or a rule id such as "trimpath"
//! reason = "ssh server code is not used by the provider"
//! expires = "2027-03-31"
//! provider = "registry.opentofu.org/example/demo"   # or just "demo"
//! version = "1.2.3"
//! ```

use std::path::Path;

use serde::{Deserialize, Deserializer};

use crate::foundation::time;

/// A `YYYY-MM-DD` date, as seconds at the start of the day after it (when the waiver lapses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub text: String,
    pub lapses_at: i64,
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        match time::parse_rfc3339(&text).filter(|_| ok) {
            Some(start) => Ok(Expiry {
                text,
                lapses_at: start + 86_400,
            }),
            None => Err(serde::de::Error::custom(format!(
                "{text:?} is not a date; write YYYY-MM-DD"
            ))),
        }
    }
}

/// One `[[ignore]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub id: String,
    pub reason: String,
    #[serde(default)]
    pub expires: Option<Expiry>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    ignore: Vec<Waiver>,
}

/// The waivers in force, and where they came from.
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    pub source: Option<String>,
    pub list: Vec<Waiver>,
}

/// What a finding is, for matching waivers.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The finding's ids: its own and aliases, and the rule id.
    pub ids: &'a [&'a str],
    /// `registry.opentofu.org/ns/type` or just the type when the address is unknown.
    pub provider: Option<&'a str>,
    pub provider_type: Option<&'a str>,
    pub version: Option<&'a str>,
}

impl Waiver {
    pub fn expired(&self, now: i64) -> bool {
        self.expires.as_ref().is_some_and(|e| now >= e.lapses_at)
    }

    /// Whether this waiver names the finding (expiry not considered).
    pub fn covers(&self, s: &Scope) -> bool {
        if !s.ids.iter().any(|i| i.eq_ignore_ascii_case(&self.id)) {
            return false;
        }
        if let Some(p) = &self.provider {
            let by_addr = s.provider.is_some_and(|a| a.eq_ignore_ascii_case(p));
            let by_type = s.provider_type.is_some_and(|t| t == p)
                || s.provider
                    .is_some_and(|a| a.rsplit('/').next() == Some(p.as_str()));
            if !by_addr && !by_type {
                return false;
            }
        }
        if let Some(v) = &self.version
            && s.version
                .is_none_or(|x| x.trim_start_matches('v') != v.trim_start_matches('v'))
        {
            return false;
        }
        true
    }
}

impl Waivers {
    pub fn parse(text: &str, source: &str) -> Result<Waivers, String> {
        let f: WaiverFile = toml::from_str(text).map_err(|e| format!("{source}: {e}"))?;
        if let Some(w) = f.ignore.iter().find(|w| w.reason.trim().is_empty()) {
            return Err(format!(
                "{source}: the waiver for {} has an empty reason; say why it is acceptable",
                w.id
            ));
        }
        Ok(Waivers {
            source: Some(source.to_string()),
            list: f.ignore,
        })
    }

    pub fn load(path: &Path) -> Result<Waivers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read waivers {}: {e}", path.display()))?;
        Waivers::parse(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_is_mandatory_and_dates_are_checked() {
        let e = Waivers::parse("[[ignore]]\nid = \"X\"\n", "w.toml").unwrap_err();
        assert!(e.contains("missing field `reason`"), "{e}");
        let e = Waivers::parse("[[ignore]]\nid = \"X\"\nreason = \" \"\n", "w.toml").unwrap_err();
        assert!(e.contains("empty reason"), "{e}");
        let e = Waivers::parse(
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"31/12/2026\"\n",
            "w.toml",
        )
        .unwrap_err();
        assert!(e.contains("line 4") && e.contains("YYYY-MM-DD"), "{e}");
        let e = Waivers::parse(
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nscope = 1\n",
            "w.toml",
        )
        .unwrap_err();
        assert!(e.contains("unknown field `scope`"), "{e}");
    }

    #[test]
    fn expiry_and_scope() {
        let w = Waivers::parse(
            "[[ignore]]\nid = \"cve-1\"\nreason = \"r\"\nexpires = \"2026-11-25\"\nprovider = \"demo\"\nversion = \"1.2.3\"\n",
            "w.toml",
        )
        .unwrap()
        .list
        .remove(0);
        let day = time::parse_rfc3339("2026-11-25T00:00:00Z").unwrap();
        assert!(!w.expired(day + 86_399), "valid through the whole day");
        assert!(w.expired(day + 86_400));
        let scope = |p: Option<&'static str>, v: Option<&'static str>| Scope {
            ids: &["CVE-1", "vulnerability"],
            provider: p,
            provider_type: None,
            version: v,
        };
        assert!(w.covers(&scope(
            Some("registry.opentofu.org/example/demo"),
            Some("v1.2.3")
        )));
        assert!(!w.covers(&scope(
            Some("registry.opentofu.org/example/other"),
            Some("1.2.3")
        )));
        assert!(!w.covers(&scope(
            Some("registry.opentofu.org/example/demo"),
            Some("1.2.4")
        )));
        assert!(!w.covers(&scope(None, Some("1.2.3"))));
    }
}
