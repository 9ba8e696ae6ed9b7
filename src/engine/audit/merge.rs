//! `report merge`: shard reports joined into the report an unsharded run writes. The shards
//! must come from the same audit (sources, database, policy, tool version, shard count) and
//! together hold every shard exactly once. The result has no `shard`, `generatedAt` of the
//! newest shard, the cache counters summed, the artifacts sorted as an audit sorts them and
//! the summary computed from them — so with `--deterministic` shards it is byte-identical to
//! the unsharded `--deterministic` run.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

use crate::report::audit::AuditReport;
use crate::report::audit::summary::Summary;

pub fn merge(mut shards: Vec<AuditReport>) -> Result<AuditReport> {
    if shards.is_empty() {
        bail!("nothing to merge");
    }
    let first = shards.remove(0);
    let count = first.shard.map_or(1, |s| s.count);
    let mut indexes = BTreeSet::new();
    let mut out = first.clone();
    out.artifacts.clear();
    out.cache = Default::default();
    out.shard = None;
    let mut ids = BTreeSet::new();
    for r in std::iter::once(first).chain(shards) {
        for (what, same) in [
            ("sources", r.sources == out.sources),
            ("database", r.database == out.database),
            ("policy", r.policy == out.policy),
            ("tool version", r.tool == out.tool),
            ("shard count", r.shard.map_or(1, |s| s.count) == count),
        ] {
            if !same {
                bail!("these reports are not shards of one audit: their {what} differ");
            }
        }
        let index = r.shard.map_or(1, |s| s.index);
        if !indexes.insert(index) {
            bail!("shard {index}/{count} is given twice");
        }
        out.generated_at = out.generated_at.max(r.generated_at);
        out.cache.hits += r.cache.hits;
        out.cache.misses += r.cache.misses;
        for a in r.artifacts {
            if !ids.insert(a.at.id.clone()) {
                bail!("artifact {} is in two shards", a.at.id);
            }
            out.artifacts.push(a);
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !indexes.contains(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!("missing shard(s): {}", missing.join(", "));
    }
    super::sort(&mut out.artifacts);
    out.summary = Summary::of(&out.artifacts, out.policy.is_some());
    Ok(out)
}
