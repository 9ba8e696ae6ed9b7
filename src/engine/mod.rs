//! The commands' jobs as library components, the way cargo-audit keeps its `Auditor` apart from
//! its CLI: [`scan`] (targets → inventories → findings against the offline database) and
//! [`gate`] (targets and a lock file → lock checks, inventories, policy rules, waivers → a
//! gate report, with a [`baseline`] of accepted violations), and [`audit`] (sources → a
//! surveyed, sharded, cached, concurrent audit report; [`audit::merge`] joins shards). They
//! take plain options, return report data, and know nothing of flags,
//! terminals or exit codes; `cli/` parses, calls them, renders and maps exit codes.

pub mod audit;
pub mod baseline;
pub mod gate;
pub mod scan;

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
