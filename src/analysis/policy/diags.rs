//! Stable diagnostic codes: one per rule ([`RuleId`], derived from the one rule list in
//! `cfg.rs`; used in reports, SARIF `ruleId`s and waivers), plus the gate's own notes about
//! waivers. Renaming one breaks users' waiver files and CI dashboards, so these strings never
//! change.

pub use super::cfg::RuleId;

impl RuleId {
    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Notes the gate reports about waivers (never failures by themselves).
pub const WAIVER_EXPIRED: &str = "waiver-expired";
pub const WAIVER_UNUSED: &str = "waiver-unused";
