//! The policy file: TOML rules as data (`rules/default.toml` is built in; `--policy FILE` takes
//! the user's). Every table refuses unknown keys, and every value is validated while it is read,
//! so a mistake is reported with its line and column (the `toml` crate renders the span).
//!
//! A user policy either stands alone (only the rules it lists are checked) or starts with
//! `extends = "default"` and overrides single keys of the built-in rules. Texts (title,
//! rationale, remediation) a user rule leaves out come from the built-in rule of the same id.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer};

use crate::analysis::vuln::Severity;

/// The built-in policy.
pub const DEFAULT_POLICY: &str = include_str!("../../../rules/default.toml");

/// A severity word (`critical`, `high`, `medium`, `low`, `unknown`; any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sev(pub Severity);

impl<'de> Deserialize<'de> for Sev {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Severity::from_word(&s).map(Sev).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown severity {s:?}; use critical, high, medium, low or unknown"
            ))
        })
    }
}

/// What a violation of a rule does to the gate, in cargo-deny's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails the gate (exit 1).
    Deny,
    /// Reported, does not fail the gate.
    Warn,
    /// The rule is not checked.
    Allow,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Deny => "deny",
            Level::Warn => "warn",
            Level::Allow => "allow",
        })
    }
}

/// A Go release `1.N` (patch ignored): `minimum = "1.21"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoMinor(pub u64, pub u64);

impl GoMinor {
    /// `go1.21.3`, `1.21`, `v1.21.0-rc.1` → `1.21`.
    pub fn parse(s: &str) -> Option<GoMinor> {
        let s = s.trim_start_matches("go").trim_start_matches('v');
        let mut it = s.split(['.', '-', ' ', 'r', 'b']);
        let major = it.next()?.parse().ok()?;
        let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some(GoMinor(major, minor))
    }
}

impl fmt::Display for GoMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl<'de> Deserialize<'de> for GoMinor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoMinor::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("{s:?} is not a Go release such as \"1.22\""))
        })
    }
}

/// A list of SPDX license identifiers (`MIT`, `Apache-2.0`, `GPL-2.0-only WITH Classpath-exception-2.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Licenses(pub Vec<String>);

impl<'de> Deserialize<'de> for Licenses {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        for l in &list {
            let e = spdx::Expression::parse(l).map_err(|e| {
                serde::de::Error::custom(format!("{l:?} is not an SPDX license identifier: {e}"))
            })?;
            if e.requirements().count() != 1 {
                return Err(serde::de::Error::custom(format!(
                    "{l:?}: list single licenses (AND/OR belong in the SBOM, not the policy)"
                )));
            }
        }
        Ok(Licenses(list))
    }
}

/// What to do with a module whose license is not stated or not an SPDX expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    Allow,
    Deny,
}

/// Registry host patterns: `ghcr.io`, `*.example.com`, `127.0.0.1:*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts(pub Vec<String>);

impl<'de> Deserialize<'de> for Hosts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        if let Some(bad) = list
            .iter()
            .find(|h| h.is_empty() || h.contains('/') || h.contains("://"))
        {
            return Err(serde::de::Error::custom(format!(
                "{bad:?} is not a host pattern; write HOST[:PORT], '*' matching one label or port"
            )));
        }
        Ok(Hosts(list.iter().map(|h| h.to_ascii_lowercase()).collect()))
    }
}

/// Declares one rule's table: the fields every rule has, plus its own parameters; `merge` fills
/// what `self` leaves out from `base`.
macro_rules! rule_cfg {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            pub title: Option<String>,
            pub severity: Option<Sev>,
            pub level: Option<Level>,
            pub rationale: Option<String>,
            pub remediation: Option<String>,
            $($(#[$fdoc])* pub $field: Option<$ty>,)*
        }

        impl $name {
            pub fn merge(self, base: &Self) -> Self {
                $name {
                    title: self.title.or_else(|| base.title.clone()),
                    severity: self.severity.or(base.severity),
                    level: self.level.or(base.level),
                    rationale: self.rationale.or_else(|| base.rationale.clone()),
                    remediation: self.remediation.or_else(|| base.remediation.clone()),
                    $($field: self.$field.or_else(|| base.$field.clone()),)*
                }
            }

            /// A stand-alone rule keeps its parameters and borrows only the texts and the
            /// severity it leaves out.
            pub fn borrow_texts(self, base: &Self) -> Self {
                $name {
                    title: self.title.or_else(|| base.title.clone()),
                    severity: self.severity.or(base.severity),
                    rationale: self.rationale.or_else(|| base.rationale.clone()),
                    remediation: self.remediation.or_else(|| base.remediation.clone()),
                    ..self
                }
            }

            pub fn common(&self) -> Common<'_> {
                Common {
                    title: self.title.as_deref(),
                    severity: self.severity,
                    level: self.level,
                    rationale: self.rationale.as_deref(),
                    remediation: self.remediation.as_deref(),
                }
            }
        }
    };
}

/// The fields every rule has.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub title: Option<&'a str>,
    pub severity: Option<Sev>,
    pub level: Option<Level>,
    pub rationale: Option<&'a str>,
    pub remediation: Option<&'a str>,
}

rule_cfg!(
    /// `vulnerability`: known vulnerabilities at or above a severity.
    Vulnerability {
        /// Report advisories at this severity and above.
        min_severity: Sev,
        /// Only advisories with a fixed version count.
        only_with_fix: bool,
        /// Refuse to decide (exit 2) with a database older than this.
        max_db_age_days: i64,
        /// Which findings fail the gate by their reachability.
        reachability: ReachabilityGate,
    }
);

/// The `vulnerability` rule's `reachability` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReachabilityGate {
    /// Findings whose vulnerable code is present, or could not be checked, fail; findings whose
    /// code is provably absent are reported as warnings.
    #[default]
    PresentOrUnknown,
    /// Module level: every finding fails, whatever its reachability.
    Any,
}
impl Vulnerability {
    pub fn reachability(&self) -> ReachabilityGate {
        self.reachability.unwrap_or_default()
    }

    /// Without `max-db-age-days` (a stand-alone policy that leaves it out), a week.
    pub const DEFAULT_MAX_DB_AGE_DAYS: i64 = 7;

    /// How old the database may be before the gate refuses to decide.
    pub fn max_db_age_days(&self) -> i64 {
        self.max_db_age_days
            .unwrap_or(Self::DEFAULT_MAX_DB_AGE_DAYS)
    }
}

rule_cfg!(
    /// `lock-hash`: an artifact's `zh:`/`h1:` is not in the lock file.
    LockHash {}
);
rule_cfg!(
    /// `lock-platform`: no `h1:` for a platform and no `zh:` to stand for it.
    LockPlatform {}
);
rule_cfg!(
    /// `sbom-required`: a registry artifact without an attached SBOM.
    SbomRequired {}
);
rule_cfg!(
    /// `sbom-drift`: the attached SBOM disagrees with the binary.
    SbomDrift {}
);
rule_cfg!(
    /// `license`: attached-SBOM licenses against allow/deny lists.
    License {
        allow: Licenses,
        deny: Licenses,
        unknown: Unknown,
    }
);
rule_cfg!(
    /// `go-version`: the Go toolchain is older than a minimum or out of support.
    GoVersion {
        minimum: GoMinor,
        /// Also fail releases the Go project no longer supports (the two newest are supported;
        /// the newest is read from the vulnerability database unless `latest` says).
        require_supported: bool,
        latest: GoMinor,
    }
);
rule_cfg!(
    /// `vcs-modified`: built from a dirty working tree.
    VcsModified {}
);
rule_cfg!(
    /// `trimpath`: built without `-trimpath`.
    Trimpath {}
);
rule_cfg!(
    /// `cgo`: built with `CGO_ENABLED=1`.
    Cgo {}
);
rule_cfg!(
    /// `local-replace`: a `replace` to a local directory.
    LocalReplace {}
);
rule_cfg!(
    /// `devel-dependency`: a dependency without a version.
    DevelDependency {}
);
rule_cfg!(
    /// `upx`: the executable is UPX-packed.
    Upx {}
);
rule_cfg!(
    /// `signature`: a fetched package without a verified origin signature where tofu would
    /// demand one.
    Signature {}
);
rule_cfg!(
    /// `lock-incomplete`: the lock file lacks `zh:` hashes for platforms the release publishes.
    LockIncomplete {}
);
rule_cfg!(
    /// `registry-host`: a registry or provider host outside the allow-list.
    RegistryHost { allow: Hosts }
);

/// The one list of rules: `(RuleId variant, config field = its table type, "id")`. Everything
/// that enumerates rules — the [`Rules`] table, [`RuleId`] with its ids, `ALL`, each rule's
/// common fields, and merging a policy over its base — is derived from it. Adding a rule means a
/// line here, its table type above (`rule_cfg!`), its table in `rules/default.toml`, and its
/// check.
macro_rules! rules {
    ($($variant:ident, $field:ident: $ty:ident = $id:literal;)*) => {
        /// Every rule's table, by id.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct Rules {
            $(pub $field: Option<$ty>,)*
        }

        /// A rule's stable id (the ids of `rules/default.toml`, used in reports, SARIF
        /// `ruleId`s and waivers). Renaming one breaks users' waiver files and CI dashboards.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $($variant,)*
        }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)*
                }
            }

            /// The rule's common fields in `rules`, `None` when the policy does not list it.
            pub fn common<'a>(&self, rules: &'a Rules) -> Option<Common<'a>> {
                match self {
                    $(RuleId::$variant => rules.$field.as_ref().map(|r| r.common()),)*
                }
            }
        }

        impl PolicyFile {
            /// Texts always come from the built-in rule of the same id; parameters only with
            /// `extends`.
            fn rules_filled(self, base: &Rules, extends: bool) -> Rules {
                let user = self.rule;
                Rules { $($field: match (user.$field, &base.$field) {
                    (Some(u), Some(b)) if extends => Some(u.merge(b)),
                    (Some(u), Some(b)) => Some(u.borrow_texts(b)),
                    (Some(u), None) => Some(u),
                    (None, b) if extends => b.clone(),
                    (None, _) => None,
                },)* }
            }
        }
    };
}

rules! {
    Vulnerability, vulnerability: Vulnerability = "vulnerability";
    LockHash, lock_hash: LockHash = "lock-hash";
    LockPlatform, lock_platform: LockPlatform = "lock-platform";
    SbomRequired, sbom_required: SbomRequired = "sbom-required";
    SbomDrift, sbom_drift: SbomDrift = "sbom-drift";
    License, license: License = "license";
    GoVersion, go_version: GoVersion = "go-version";
    VcsModified, vcs_modified: VcsModified = "vcs-modified";
    Trimpath, trimpath: Trimpath = "trimpath";
    Cgo, cgo: Cgo = "cgo";
    LocalReplace, local_replace: LocalReplace = "local-replace";
    DevelDependency, devel_dependency: DevelDependency = "devel-dependency";
    Upx, upx: Upx = "upx";
    RegistryHost, registry_host: RegistryHost = "registry-host";
    Signature, signature: Signature = "signature";
    LockIncomplete, lock_incomplete: LockIncomplete = "lock-incomplete";
}

/// A policy file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PolicyFile {
    /// `"default"`: start from the built-in rules.
    pub extends: Option<Extends>,
    /// A name for reports.
    pub name: Option<String>,
    pub rule: Rules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Extends {
    Default,
}

/// The policy in force: every rule present is checked.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// Where it came from (`built-in rules/default.toml` or a path).
    pub source: String,
    pub rules: Rules,
}

impl Policy {
    /// The built-in policy.
    pub fn builtin() -> Policy {
        let file: PolicyFile =
            toml::from_str(DEFAULT_POLICY).expect("rules/default.toml is checked by tests");
        Policy {
            name: file.name.clone().unwrap_or_else(|| "default".into()),
            source: "built-in rules/default.toml".into(),
            rules: file.rules_filled(&Rules::default(), true),
        }
    }

    /// Parse a user's policy; the error carries the line, column and a snippet.
    pub fn parse(text: &str, source: &str) -> Result<Policy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| format!("{source}: {e}"))?;
        let builtin = Policy::builtin();
        let extends = file.extends == Some(Extends::Default);
        let name = file.name.clone().unwrap_or_else(|| source.to_string());
        Ok(Policy {
            name,
            source: source.to_string(),
            rules: file.rules_filled(&builtin.rules, extends),
        })
    }

    pub fn load(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read policy {}: {e}", path.display()))?;
        Policy::parse(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_is_its_table_name_in_the_default_policy() {
        let text = DEFAULT_POLICY;
        for id in RuleId::ALL {
            assert!(text.contains(&format!("[rule.{}]", id.as_str())), "{id:?}");
            assert!(id.common(&Policy::builtin().rules).is_some(), "{id:?}");
        }
        let tables = text.matches("\n[rule.").count();
        assert_eq!(tables, RuleId::ALL.len(), "one table per rule, no more");
    }

    #[test]
    fn builtin_policy_parses_and_has_every_rule() {
        let p = Policy::builtin();
        let r = &p.rules;
        assert!(r.vulnerability.is_some() && r.lock_hash.is_some() && r.lock_platform.is_some());
        assert!(r.sbom_required.is_some() && r.sbom_drift.is_some() && r.license.is_some());
        assert!(r.go_version.is_some() && r.vcs_modified.is_some() && r.trimpath.is_some());
        assert!(r.cgo.is_some() && r.local_replace.is_some() && r.devel_dependency.is_some());
        assert!(r.upx.is_some() && r.registry_host.is_some());
    }

    #[test]
    fn unknown_keys_name_line_and_column() {
        let e = Policy::parse(
            "extends = \"default\"\n\n[rule.vulnerability]\nmin-severty = \"high\"\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(e.contains("line 4, column 1"), "{e}");
        assert!(e.contains("unknown field `min-severty`"), "{e}");
        let e = Policy::parse("[rule.vulnerabilty]\n", "p.toml").unwrap_err();
        assert!(e.contains("line 1") && e.contains("vulnerabilty"), "{e}");
        let e = Policy::parse(
            "[rule.license]\nallow = [\"MIT\", \"Nope-1.0\"]\n",
            "p.toml",
        )
        .unwrap_err();
        assert!(e.contains("line 2") && e.contains("Nope-1.0"), "{e}");
        let e = Policy::parse("[rule.go-version]\nminimum = \"latest\"\n", "p.toml").unwrap_err();
        assert!(e.contains("line 2") && e.contains("Go release"), "{e}");
        let e = Policy::parse("[rule.cgo]\nseverity = \"severe\"\n", "p.toml").unwrap_err();
        assert!(e.contains("unknown severity"), "{e}");
    }

    #[test]
    fn extends_overrides_one_key_and_standalone_lists_only_its_rules() {
        let p = Policy::parse(
            "extends = \"default\"\n[rule.go-version]\nminimum = \"1.19\"\n",
            "p.toml",
        )
        .unwrap();
        let g = p.rules.go_version.unwrap();
        assert_eq!(g.minimum, Some(GoMinor(1, 19)));
        assert!(
            g.require_supported.is_some(),
            "other keys come from the default"
        );
        assert!(p.rules.vulnerability.is_some());
        let p = Policy::parse("[rule.cgo]\nlevel = \"warn\"\n", "p.toml").unwrap();
        assert!(p.rules.vulnerability.is_none());
        let c = p.rules.cgo.unwrap();
        assert_eq!(c.level, Some(Level::Warn));
        assert!(c.title.is_some(), "texts come from the built-in rule");
    }

    #[test]
    fn go_minor_parses_toolchain_words() {
        assert_eq!(GoMinor::parse("go1.21.3"), Some(GoMinor(1, 21)));
        assert_eq!(GoMinor::parse("go1.22rc1"), Some(GoMinor(1, 22)));
        assert_eq!(GoMinor::parse("1.9"), Some(GoMinor(1, 9)));
        assert!(GoMinor(1, 9) < GoMinor(1, 19));
        assert_eq!(GoMinor::parse("devel"), None);
    }
}
