//! `gate --baseline OLD.json`: violations already present in an earlier audit (or gate) JSON
//! report are accepted, like waivers whose reason names the baseline, so the gate fails only
//! on what is new. A violation is "the same" when its rule, finding id, provider type,
//! version and platform are.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::analysis::policy::Violation;

type Key = (String, String, String, String, String);

/// `registry.opentofu.org/acme/demo`, `127.0.0.1:5000/acme/terraform-provider-demo`,
/// `terraform-provider-demo` → `demo`.
fn provider_type(p: &str) -> String {
    let last = p.rsplit('/').next().unwrap_or(p);
    last.trim_start_matches("terraform-provider-")
        .to_ascii_lowercase()
}

fn key(rule: &str, id: &str, provider: &str, version: &str, platform: &str) -> Key {
    (
        rule.into(),
        id.into(),
        provider_type(provider),
        version.into(),
        platform.into(),
    )
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The violations an earlier report recorded.
#[derive(Debug, Default)]
pub struct Baseline {
    source: String,
    keys: BTreeSet<Key>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let doc: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("baseline {}: not JSON", path.display()))?;
        let mut keys = BTreeSet::new();
        if doc["kind"] == crate::report::audit::model::KIND {
            for a in doc["artifacts"].as_array().into_iter().flatten() {
                for v in a["policy"]["violations"].as_array().into_iter().flatten() {
                    keys.insert(key(
                        s(&v["rule"]),
                        s(&v["id"]),
                        s(&a["provider"]),
                        s(&a["version"]),
                        s(&a["platform"]),
                    ));
                }
            }
        } else if let Some(vs) = doc["violations"].as_array() {
            // A gate report names the provider only when a lock file or mirror said it; without
            // it the violation matches any provider of that version and platform.
            for v in vs {
                let provider = s(&v["provider"]);
                keys.insert(key(
                    s(&v["rule"]),
                    s(&v["id"]),
                    provider,
                    s(&v["version"]),
                    s(&v["platform"]),
                ));
            }
        } else {
            bail!(
                "baseline {}: neither an audit report nor a gate report",
                path.display()
            );
        }
        Ok(Baseline {
            source: path.display().to_string(),
            keys,
        })
    }

    /// Accept every violation the baseline holds (unless a waiver already did).
    pub fn apply(&self, violations: &mut [Violation]) -> usize {
        let mut n = 0;
        for v in violations.iter_mut().filter(|v| v.waived.is_none()) {
            let a = &v.about;
            let provider = a
                .provider_type
                .as_deref()
                .or(a.provider.as_deref())
                .unwrap_or("");
            let k = key(
                v.rule.as_str(),
                &v.id,
                provider,
                a.version.as_deref().unwrap_or(""),
                a.platform.as_deref().unwrap_or(""),
            );
            let any_provider = (
                k.0.clone(),
                k.1.clone(),
                String::new(),
                k.3.clone(),
                k.4.clone(),
            );
            if self.keys.contains(&k) || self.keys.contains(&any_provider) {
                v.waived = Some(format!("present in the baseline {}", self.source));
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_types_agree_across_namings() {
        for p in [
            "registry.opentofu.org/acme/demo",
            "127.0.0.1:5000/acme/terraform-provider-demo",
            "terraform-provider-demo",
            "demo",
        ] {
            assert_eq!(provider_type(p), "demo", "{p}");
        }
    }
}
