//! Policy: the pre-merge gate's rules as data ([`cfg`], `rules/*.toml`), their stable codes
//! ([`diags`]), the checks over inventories ([`checks`]) and lock files ([`lock`]), and waivers
//! ([`waivers`]). Every check writes [`Violation`]s into one [`Sink`]; reports render the sink's
//! contents and never decide anything themselves.

pub mod cfg;
pub mod checks;
pub mod diags;
pub mod lock;
pub mod waivers;

use crate::analysis::vuln::Severity;
use cfg::{Level, Policy};
pub use diags::RuleId;
use waivers::{Scope, Waiver, Waivers};

/// Where a violation points in a file (the lock file, for lock rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub line: usize,
}

/// What a violation is about.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// Human label of the artifact (`ZIP!exe`, a mirror path, `oci://… (os_arch)`).
    pub artifact: String,
    /// Provider address (`registry.opentofu.org/ns/type`) when known, and its type.
    pub provider: Option<String>,
    pub provider_type: Option<String>,
    pub version: Option<String>,
    pub platform: Option<String>,
    pub location: Option<Location>,
}

/// One rule violated by one artifact.
#[derive(Debug, Clone)]
pub struct Violation {
    pub rule: RuleId,
    /// The finding id waivers name: the advisory id for vulnerabilities, else the rule id.
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    pub level: Level,
    /// The rule's title.
    pub title: String,
    /// What is wrong, in one sentence.
    pub message: String,
    pub about: About,
    /// The facts behind it (hashes, versions, settings).
    pub evidence: Vec<String>,
    pub rationale: String,
    /// What to do about this violation in particular (`Upgrade x to v1.2.3.`).
    pub fix: Option<String>,
    /// The rule's general remediation.
    pub remediation: String,
    /// The reason of the waiver that accepts it.
    pub waived: Option<String>,
}

impl Violation {
    /// Counts against the gate: denied and not waived.
    pub fn fails(&self) -> bool {
        self.level == Level::Deny && self.waived.is_none()
    }
}

/// A waiver the gate did not apply, and why.
#[derive(Debug, Clone)]
pub struct WaiverNote {
    /// [`diags::WAIVER_EXPIRED`] or [`diags::WAIVER_UNUSED`].
    pub code: &'static str,
    pub waiver: Waiver,
    /// For an expired waiver: how many findings it would have covered.
    pub matched: usize,
}

/// Collects violations for the rules the policy lists (and does not `allow`).
pub struct Sink<'a> {
    pub policy: &'a Policy,
    pub violations: Vec<Violation>,
}

/// One violation before the rule's texts are attached.
pub struct Raw {
    pub rule: RuleId,
    pub id: Option<String>,
    pub aliases: Vec<String>,
    /// Overrides the rule's severity (vulnerabilities carry their own).
    pub severity: Option<Severity>,
    pub message: String,
    pub evidence: Vec<String>,
    /// What to do about this one, beyond the rule's general remediation.
    pub fix: Option<String>,
    /// At most this level (a `deny` rule reports this one as a warning).
    pub at_most: Option<Level>,
}

impl Raw {
    pub fn new(rule: RuleId, message: impl Into<String>) -> Raw {
        Raw {
            rule,
            id: None,
            aliases: Vec::new(),
            severity: None,
            message: message.into(),
            evidence: Vec::new(),
            fix: None,
            at_most: None,
        }
    }

    pub fn evidence(mut self, e: impl Into<String>) -> Raw {
        self.evidence.push(e.into());
        self
    }
}

impl<'a> Sink<'a> {
    pub fn new(policy: &'a Policy) -> Sink<'a> {
        Sink {
            policy,
            violations: Vec::new(),
        }
    }

    /// Whether `rule` is checked at all.
    pub fn enabled(&self, rule: RuleId) -> bool {
        rule.common(&self.policy.rules)
            .is_some_and(|c| c.level.unwrap_or(Level::Deny) != Level::Allow)
    }

    pub fn push(&mut self, about: &About, raw: Raw) {
        let Some(c) = raw.rule.common(&self.policy.rules) else {
            return;
        };
        let level = match (c.level.unwrap_or(Level::Deny), raw.at_most) {
            (Level::Allow, _) => return,
            (Level::Deny, Some(cap)) => cap,
            (l, _) => l,
        };
        if level == Level::Allow {
            return;
        }
        self.violations.push(Violation {
            rule: raw.rule,
            id: raw.id.unwrap_or_else(|| raw.rule.as_str().to_string()),
            aliases: raw.aliases,
            severity: raw
                .severity
                .or(c.severity.map(|s| s.0))
                .unwrap_or(Severity::Unknown),
            level,
            title: c.title.unwrap_or(raw.rule.as_str()).to_string(),
            message: raw.message,
            about: about.clone(),
            evidence: raw.evidence,
            rationale: c.rationale.unwrap_or("").trim().to_string(),
            fix: raw.fix,
            remediation: c.remediation.unwrap_or("").trim().to_string(),
            waived: None,
        });
    }
}

/// Apply waivers (those expired at `now` do not apply); returns notes about expired and unused
/// waivers.
pub fn apply_waivers(violations: &mut [Violation], waivers: &Waivers, now: i64) -> Vec<WaiverNote> {
    let mut notes = Vec::new();
    for w in &waivers.list {
        let mut matched = 0;
        for v in violations.iter_mut() {
            let mut ids: Vec<&str> = vec![v.id.as_str(), v.rule.as_str()];
            ids.extend(v.aliases.iter().map(String::as_str));
            let scope = Scope {
                ids: &ids,
                provider: v.about.provider.as_deref(),
                provider_type: v.about.provider_type.as_deref(),
                version: v.about.version.as_deref(),
            };
            if w.covers(&scope) {
                matched += 1;
                if !w.expired(now) && v.waived.is_none() {
                    v.waived = Some(w.reason.clone());
                }
            }
        }
        if w.expired(now) {
            notes.push(WaiverNote {
                code: diags::WAIVER_EXPIRED,
                waiver: w.clone(),
                matched,
            });
        } else if matched == 0 {
            notes.push(WaiverNote {
                code: diags::WAIVER_UNUSED,
                waiver: w.clone(),
                matched,
            });
        }
    }
    notes
}
