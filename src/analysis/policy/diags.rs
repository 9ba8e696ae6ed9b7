//! Stable diagnostic codes: one per rule (the ids of `rules/default.toml`, used in reports, SARIF
//! `ruleId`s and waivers), plus the gate's own notes about waivers. Renaming one breaks users'
//! waiver files and CI dashboards, so these strings never change.

use super::cfg::{Common, Rules};

/// A rule's stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    Vulnerability,
    LockHash,
    LockPlatform,
    SbomRequired,
    SbomDrift,
    License,
    GoVersion,
    VcsModified,
    Trimpath,
    Cgo,
    LocalReplace,
    DevelDependency,
    Upx,
    RegistryHost,
}

impl RuleId {
    pub const ALL: [RuleId; 14] = [
        RuleId::Vulnerability,
        RuleId::LockHash,
        RuleId::LockPlatform,
        RuleId::SbomRequired,
        RuleId::SbomDrift,
        RuleId::License,
        RuleId::GoVersion,
        RuleId::VcsModified,
        RuleId::Trimpath,
        RuleId::Cgo,
        RuleId::LocalReplace,
        RuleId::DevelDependency,
        RuleId::Upx,
        RuleId::RegistryHost,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RuleId::Vulnerability => "vulnerability",
            RuleId::LockHash => "lock-hash",
            RuleId::LockPlatform => "lock-platform",
            RuleId::SbomRequired => "sbom-required",
            RuleId::SbomDrift => "sbom-drift",
            RuleId::License => "license",
            RuleId::GoVersion => "go-version",
            RuleId::VcsModified => "vcs-modified",
            RuleId::Trimpath => "trimpath",
            RuleId::Cgo => "cgo",
            RuleId::LocalReplace => "local-replace",
            RuleId::DevelDependency => "devel-dependency",
            RuleId::Upx => "upx",
            RuleId::RegistryHost => "registry-host",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The rule's common fields in `rules`, `None` when the policy does not list it.
    pub fn common<'a>(&self, rules: &'a Rules) -> Option<Common<'a>> {
        match self {
            RuleId::Vulnerability => rules.vulnerability.as_ref().map(|r| r.common()),
            RuleId::LockHash => rules.lock_hash.as_ref().map(|r| r.common()),
            RuleId::LockPlatform => rules.lock_platform.as_ref().map(|r| r.common()),
            RuleId::SbomRequired => rules.sbom_required.as_ref().map(|r| r.common()),
            RuleId::SbomDrift => rules.sbom_drift.as_ref().map(|r| r.common()),
            RuleId::License => rules.license.as_ref().map(|r| r.common()),
            RuleId::GoVersion => rules.go_version.as_ref().map(|r| r.common()),
            RuleId::VcsModified => rules.vcs_modified.as_ref().map(|r| r.common()),
            RuleId::Trimpath => rules.trimpath.as_ref().map(|r| r.common()),
            RuleId::Cgo => rules.cgo.as_ref().map(|r| r.common()),
            RuleId::LocalReplace => rules.local_replace.as_ref().map(|r| r.common()),
            RuleId::DevelDependency => rules.devel_dependency.as_ref().map(|r| r.common()),
            RuleId::Upx => rules.upx.as_ref().map(|r| r.common()),
            RuleId::RegistryHost => rules.registry_host.as_ref().map(|r| r.common()),
        }
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
