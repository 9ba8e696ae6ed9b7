//! `--shard K/N`: a stable partition of artifacts by identity — the first eight bytes of the
//! SHA-256 of the artifact's id, modulo N — so shards never overlap, together cover all, and a
//! re-run gets the same share.

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

use crate::report::audit::model::Shard;

/// Parse `K/N` (1 ≤ K ≤ N).
pub fn parse(s: &str) -> Result<Shard> {
    let bad = || anyhow::anyhow!("--shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/7");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if index == 0 || count == 0 || index > count {
        bail!(bad());
    }
    Ok(Shard { index, count })
}

/// Whether the artifact `id` belongs to `shard`.
pub fn holds(shard: &Shard, id: &str) -> bool {
    let d = Sha256::digest(id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b) % shard.count == shard.index - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_every_id_exactly_once() {
        let ids: Vec<String> = (0..500)
            .map(|i| format!("oci://h/r:{i} (linux_amd64)@x"))
            .collect();
        for n in [1, 3, 7] {
            let mut sizes = Vec::new();
            for id in &ids {
                let owners = (1..=n)
                    .filter(|k| {
                        holds(
                            &Shard {
                                index: *k,
                                count: n,
                            },
                            id,
                        )
                    })
                    .count();
                assert_eq!(owners, 1);
            }
            for k in 1..=n {
                sizes.push(
                    ids.iter()
                        .filter(|id| holds(&Shard { index: k, count: n }, id))
                        .count(),
                );
            }
            assert!(sizes.iter().all(|s| *s > 0), "{sizes:?}");
        }
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!(parse("2/7").unwrap(), Shard { index: 2, count: 7 });
        for bad in ["0/3", "4/3", "x", "1/0", "1/"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
