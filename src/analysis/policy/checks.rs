//! The rules that read an inventory: vulnerabilities, attached SBOM presence, drift and
//! licenses, toolchain hygiene (Go version, `vcs.modified`, `-trimpath`, cgo, local `replace`,
//! `(devel)` dependencies), registry hosts, and UPX packing (from a failed read).

use super::cfg::{GoMinor, Hosts, Level, ReachabilityGate, Unknown};
use super::{About, Raw, RuleId, Sink};
use crate::analysis::vuln::reach::Reachability;
use crate::analysis::vuln::version::Event;
use crate::analysis::vuln::{Database, Finding, Severity};
use crate::inventory::{Inventory, Origin};

/// What the rules need to know about one inventory.
pub fn about(inv: &Inventory) -> About {
    let n = &inv.subject.naming;
    About {
        artifact: inv.subject.label.clone(),
        provider: n.address.clone(),
        provider_type: n.provider_type.clone(),
        version: n.version.clone().or_else(|| inv.main.version.clone()),
        platform: inv.platform(),
        location: None,
    }
}

/// The newest Go release (`1.N`) the database's standard-library advisories name as a fix.
pub fn latest_go(db: &Database) -> Option<GoMinor> {
    db.for_package("stdlib")
        .iter()
        .flat_map(|a| a.affected.iter())
        .filter(|a| a.package == "stdlib")
        .flat_map(|a| a.ranges.iter())
        .flat_map(|r| r.events().iter())
        .filter_map(|e| match e {
            Event::Fixed(v) => GoMinor::parse(v.as_str()),
            _ => None,
        })
        .max()
}

/// `host` (with `:port`) against `HOST[:PORT]` patterns where `*` matches one label or a port.
pub fn host_allowed(host: &str, allow: &Hosts) -> bool {
    let host = host.to_ascii_lowercase();
    allow.0.iter().any(|p| glob_host(p, &host))
}

fn glob_host(pattern: &str, host: &str) -> bool {
    let split = |s: &str| -> Vec<String> { s.split(['.', ':']).map(str::to_string).collect() };
    let (p, h) = (split(pattern), split(host));
    p.len() == h.len() && p.iter().zip(&h).all(|(a, b)| a == "*" || a == b)
}

/// Run every inventory rule over `inv` (`findings` from the same database).
pub fn inventory(sink: &mut Sink, inv: &Inventory, findings: &[Finding], latest: Option<GoMinor>) {
    let about = about(inv);
    vulnerabilities(sink, &about, findings);
    attached_sbom(sink, &about, inv);
    licenses(sink, &about, inv);
    toolchain(sink, &about, inv, latest);
    if let Some(host) = inv.subject.registry.as_ref().map(|r| r.host.as_str()) {
        registry_host(sink, &about, host, "the OCI registry it was fetched from");
    }
    signature(sink, &about, inv);
}

/// `signature`: a fetched package whose origin signature was not verified, for a provider
/// whose registry tofu would require one of.
fn signature(sink: &mut Sink, about: &About, inv: &Inventory) {
    let Some(p) = &inv.subject.provenance else {
        return;
    };
    if !p.signature_required || p.signature.is_verified() {
        return;
    }
    sink.push(
        about,
        Raw::new(
            RuleId::Signature,
            format!(
                "{} {} ({}) has no verified origin signature ({})",
                p.address,
                p.version,
                p.platform,
                p.signature.as_str()
            ),
        )
        .evidence(format!(
            "fetched from {} {}; checks passed: {}",
            p.origin.kind(),
            p.origin.location(),
            if p.checks.is_empty() {
                "none".to_string()
            } else {
                p.checks_text()
            }
        )),
    );
}

fn vulnerabilities(sink: &mut Sink, about: &About, findings: &[Finding]) {
    let Some(cfg) = sink.policy.rules.vulnerability.clone() else {
        return;
    };
    let min = cfg.min_severity.map_or(Severity::Unknown, |s| s.0);
    let only_fixed = cfg.only_with_fix.unwrap_or(false);
    // Findings not affected because their vulnerable code is absent stay visible: as warnings
    // (`present-or-unknown`), or failing like any other (`any`, module level).
    let absent = |f: &&Finding| matches!(f.reachability, Reachability::Absent { .. });
    for f in findings.iter().filter(|f| f.is_affected() || absent(f)) {
        if f.severity() < min || (only_fixed && f.fixed.is_empty()) {
            continue;
        }
        let mut raw = Raw::new(
            RuleId::Vulnerability,
            format!(
                "{} ({}) in {} {}: {}",
                f.id,
                f.severity(),
                f.module,
                f.installed,
                f.advisory.summary
            ),
        )
        .evidence(if f.is_affected() {
            format!("module {} {} is affected", f.module, f.installed)
        } else {
            format!(
                "module {} {} is in an affected range",
                f.module, f.installed
            )
        })
        .evidence(match f.fixed.first() {
            Some(v) => format!("fixed in {v}"),
            None => "no fixed version yet".into(),
        });
        if let Some(u) = &f.advisory.url {
            raw = raw.evidence(u.clone());
        }
        raw.id = Some(f.id.clone());
        raw.aliases = f.aliases.clone();
        raw.severity = Some(f.severity());
        raw.fix = f
            .upgrade_to()
            .map(|u| format!("Upgrade {} to {u}.", f.module));
        match &f.reachability {
            Reachability::Present { found } => {
                raw = raw.evidence(format!("vulnerable code present: {}", found.join(", ")));
            }
            Reachability::Absent { looked_for } => {
                raw = raw.evidence(format!(
                    "vulnerable code not present: none of {} is in the binary",
                    looked_for.join(", ")
                ));
                if cfg.reachability() == ReachabilityGate::PresentOrUnknown {
                    raw.at_most = Some(Level::Warn);
                }
            }
            Reachability::Unknown { reason } => {
                raw = raw.evidence(format!("reachability unknown: {reason}"));
            }
            Reachability::NotChecked { .. } => {}
        }
        sink.push(about, raw);
    }
}

fn attached_sbom(sink: &mut Sink, about: &About, inv: &Inventory) {
    if inv.subject.registry.is_none() {
        return;
    }
    match &inv.origin {
        Origin::Buildinfo { note } => sink.push(
            about,
            Raw::new(
                RuleId::SbomRequired,
                "no usable SBOM is attached to the platform manifest or the index",
            )
            .evidence(note.clone().unwrap_or_else(|| "no SBOM attached".into())),
        ),
        Origin::AttachedSbom {
            manifest, format, ..
        } if !inv.drift.is_empty() => {
            let mut raw = Raw::new(
                RuleId::SbomDrift,
                format!(
                    "the attached {format} SBOM {manifest} disagrees with the binary in {} place(s)",
                    inv.drift.len()
                ),
            );
            for d in inv.drift.iter().take(20) {
                raw = raw.evidence(d.describe());
            }
            if inv.drift.len() > 20 {
                raw = raw.evidence(format!("… and {} more", inv.drift.len() - 20));
            }
            sink.push(about, raw);
        }
        Origin::AttachedSbom { .. } => {}
    }
}

fn licenses(sink: &mut Sink, about: &About, inv: &Inventory) {
    let Some(cfg) = sink.policy.rules.license.clone() else {
        return;
    };
    if !matches!(inv.origin, Origin::AttachedSbom { .. }) {
        return;
    }
    let allow = cfg.allow.unwrap_or_default().0;
    let deny = cfg.deny.unwrap_or_default().0;
    let unknown = cfg.unknown.unwrap_or(Unknown::Allow);
    let listed = |list: &[String], req: &spdx::LicenseReq| {
        let text = req.to_string();
        list.iter().any(|l| l.eq_ignore_ascii_case(&text))
    };
    let mods = std::iter::once(&inv.main).chain(inv.modules.iter().filter(|m| m.path != "stdlib"));
    for m in mods {
        let version = m.version.clone().unwrap_or_else(|| "(devel)".into());
        match inv.licenses.get(&m.path) {
            None if unknown == Unknown::Deny => sink.push(
                about,
                Raw::new(
                    RuleId::License,
                    format!("{} {version}: the SBOM states no license", m.path),
                ),
            ),
            None => {}
            Some(expr) => match spdx::Expression::parse_mode(expr, spdx::ParseMode::LAX) {
                Err(_) if unknown == Unknown::Deny => sink.push(
                    about,
                    Raw::new(
                        RuleId::License,
                        format!(
                            "{} {version}: license {expr:?} is not an SPDX expression",
                            m.path
                        ),
                    ),
                ),
                Err(_) => {}
                Ok(e) => {
                    let ok = e.evaluate(|req| {
                        !listed(&deny, req) && (allow.is_empty() || listed(&allow, req))
                    });
                    if !ok {
                        let denied: Vec<String> = e
                            .requirements()
                            .filter(|r| listed(&deny, &r.req))
                            .map(|r| r.req.to_string())
                            .collect();
                        let mut raw = Raw::new(
                            RuleId::License,
                            format!("{} {version} is licensed {expr}", m.path),
                        );
                        raw = raw.evidence(if denied.is_empty() {
                            format!("{expr} cannot be satisfied with the allowed licenses")
                        } else {
                            format!("denied: {}", denied.join(", "))
                        });
                        sink.push(about, raw);
                    }
                }
            },
        }
    }
}

fn toolchain(sink: &mut Sink, about: &About, inv: &Inventory, latest_db: Option<GoMinor>) {
    if let Some(cfg) = sink.policy.rules.go_version.clone()
        && let Some(go) = GoMinor::parse(&inv.go_version)
    {
        let mut problems = Vec::new();
        if let Some(min) = cfg.minimum
            && go < min
        {
            problems.push(format!("older than the policy's minimum Go {min}"));
        }
        let latest = cfg.latest.or(latest_db);
        if cfg.require_supported.unwrap_or(false)
            && let Some(GoMinor(maj, min)) = latest
        {
            let oldest = GoMinor(maj, min.saturating_sub(1));
            if go < oldest {
                let from = if cfg.latest.is_some() {
                    "the policy"
                } else {
                    "the vulnerability database's newest stdlib fix"
                };
                problems.push(format!(
                    "out of support: Go {oldest} and {} are the supported releases ({from})",
                    GoMinor(maj, min)
                ));
            }
        }
        if !problems.is_empty() {
            let mut raw = Raw::new(
                RuleId::GoVersion,
                format!("built with {}: {}", inv.go_version, problems.join("; ")),
            )
            .evidence(format!("buildinfo records {}", inv.go_version));
            raw.fix = Some("Rebuild with a supported Go release.".into());
            sink.push(about, raw);
        }
    }
    let setting = |k: &str| inv.setting(k);
    if setting("vcs.modified") == Some("true") {
        let mut raw = Raw::new(RuleId::VcsModified, "built from a modified working tree")
            .evidence("build setting vcs.modified=true");
        if let Some(r) = setting("vcs.revision") {
            raw = raw.evidence(format!("vcs.revision={r}"));
        }
        sink.push(about, raw);
    }
    if setting("-trimpath") != Some("true") {
        sink.push(
            about,
            Raw::new(RuleId::Trimpath, "built without -trimpath")
                .evidence("no -trimpath=true build setting"),
        );
    }
    if setting("CGO_ENABLED") == Some("1") {
        sink.push(
            about,
            Raw::new(RuleId::Cgo, "built with cgo").evidence("build setting CGO_ENABLED=1"),
        );
    }
    for m in &inv.modules {
        match &m.replacement {
            Some(r) if r.local => sink.push(
                about,
                Raw::new(
                    RuleId::LocalReplace,
                    format!("{} is replaced by the local directory {}", m.path, r.path),
                )
                .evidence(format!("dep {} => {}", r.original_path, r.path)),
            ),
            _ if m.version.is_none() && m.path != "stdlib" => sink.push(
                about,
                Raw::new(
                    RuleId::DevelDependency,
                    format!("dependency {} has no version", m.path),
                )
                .evidence(format!("dep {} (devel)", m.path)),
            ),
            _ => {}
        }
    }
}

/// `registry-host` for one host the artifact came from.
pub fn registry_host(sink: &mut Sink, about: &About, host: &str, what: &str) {
    let Some(cfg) = sink.policy.rules.registry_host.clone() else {
        return;
    };
    let allow = cfg.allow.unwrap_or_default();
    if !host_allowed(host, &allow) {
        sink.push(
            about,
            Raw::new(
                RuleId::RegistryHost,
                format!("{host} ({what}) is not an allowed registry host"),
            )
            .evidence(format!("allowed: {}", allow.0.join(", "))),
        );
    }
}

/// `upx`: the executable could not be read because it is packed.
pub fn upx(sink: &mut Sink, about: &About) {
    sink.push(
        about,
        Raw::new(
            RuleId::Upx,
            "the executable is UPX-packed; its Go buildinfo cannot be read",
        )
        .evidence("UPX! marker in the executable's headers"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns() {
        let allow = Hosts(vec![
            "ghcr.io".into(),
            "*.example.com".into(),
            "127.0.0.1:*".into(),
        ]);
        assert!(host_allowed("GHCR.io", &allow));
        assert!(host_allowed("reg.example.com", &allow));
        assert!(!host_allowed("a.reg.example.com", &allow));
        assert!(host_allowed("127.0.0.1:5000", &allow));
        assert!(!host_allowed("127.0.0.1", &allow));
        assert!(!host_allowed("evil.io", &allow));
    }
}
