//! What garbage collection removes: the selection as a pure function, then the sweep.
//!
//! The policy is the seed's, done right (cargo's global cache tracker is the model): entries
//! not used for `max_age` go first; then, per repo still over `max_size`, least recently used
//! entries go until the repo is at or below 90 % of the limit. `--dry-run` runs the same
//! selection, so it shows exactly what a real run would delete.

use std::time::Duration;

use super::entry::{ArchiveId, Entry};

/// After eviction a repo may use this share of its limit, so that the next save does not
/// immediately trigger another eviction.
pub const LOW_WATER_PERCENT: u64 = 90;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_age: Duration,
    pub max_size: u64,
    pub now_ms: i64,
}

/// The entries a gc removes, each with why.
#[derive(Debug, Default)]
pub struct Plan {
    pub expired: Vec<Entry>,
    pub evicted: Vec<Entry>,
}

impl Plan {
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.expired.iter().chain(&self.evicted)
    }

    /// What the plan removes, each with why, for `gc --dry-run` to list.
    pub fn doomed(&self) -> Vec<Doomed> {
        let with = |why: &'static str| move |e: &Entry| Doomed::of(e, why);
        self.expired
            .iter()
            .map(with(EXPIRED))
            .chain(self.evicted.iter().map(with(OVER_LIMIT)))
            .collect()
    }
}

/// Why gc removes an entry, as `gc --dry-run` lists it.
pub const EXPIRED: &str = "expired";
pub const OVER_LIMIT: &str = "over limit";
pub const NO_ARCHIVE: &str = "archive missing";
pub const DAMAGED: &str = "damaged";

/// One entry gc removes (or would), and why.
#[derive(Debug, Clone)]
pub struct Doomed {
    pub repo: String,
    pub key: String,
    pub scope: Option<String>,
    pub size_bytes: u64,
    pub why: &'static str,
}

impl Doomed {
    pub fn of(e: &Entry, why: &'static str) -> Self {
        Self {
            repo: e.repo.clone(),
            key: e.key.clone(),
            scope: e.scope.clone(),
            size_bytes: e.size_bytes,
            why,
        }
    }
}

/// Selects what to remove from `entries`, which must be sorted per repo, least recently
/// used first ([`super::tier::Sort::LeastRecentlyUsed`]). `keep` (an archive) is never
/// evicted for size: a save does not evict the entry it just made. A tier that records no
/// use (the shared store) ages entries by their creation.
pub fn plan(entries: Vec<Entry>, policy: &Policy, keep: Option<ArchiveId>) -> Plan {
    let cutoff = policy
        .now_ms
        .saturating_sub(i64::try_from(policy.max_age.as_millis()).unwrap_or(i64::MAX));
    let mut plan = Plan::default();
    let mut live: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries {
        if e.last_used().ms() < cutoff {
            plan.expired.push(e);
        } else {
            live.push(e);
        }
    }
    let low_water =
        policy.max_size / 100 * LOW_WATER_PERCENT + policy.max_size % 100 * LOW_WATER_PERCENT / 100;
    let mut start = 0;
    while start < live.len() {
        let repo = live[start].repo.clone();
        let end = live[start..]
            .iter()
            .position(|e| e.repo != repo)
            .map_or(live.len(), |n| start + n);
        let mut total: u64 = live[start..end].iter().map(|e| e.size_bytes).sum();
        if total > policy.max_size {
            for e in &live[start..end] {
                if total <= low_water {
                    break;
                }
                if keep == Some(e.archive) {
                    continue;
                }
                total -= e.size_bytes;
                plan.evicted.push(e.clone());
            }
        }
        start = end;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn entry(repo: &str, key: &str, size: u64, last_used_days_ago: i64) -> Entry {
        use crate::store::entry::{Timestamp, Usage};
        let at = Timestamp::from_ms(100 * DAY - last_used_days_ago * DAY).unwrap();
        Entry {
            repo: repo.into(),
            scope: None,
            key: key.into(),
            version: "v".into(),
            paths: vec![],
            codec: crate::store::archive::Codec::Zstd,
            format: crate::store::entry::Format::Archive,
            archive: ArchiveId::random(),
            size_bytes: size,
            unpacked_bytes: size,
            file_count: 1,
            digest: String::new(),
            created_at: Timestamp::from_ms(0).unwrap(),
            created_by_run: None,
            signature: None,
            usage: Some(Usage {
                id: 0,
                last_accessed_at: at,
                access_count: 0,
            }),
        }
    }

    fn keys(v: &[Entry]) -> Vec<&str> {
        v.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn age_first_then_lru_per_repo_down_to_90_percent() {
        let policy = Policy {
            max_age: Duration::from_secs(7 * 86_400),
            max_size: 100,
            now_ms: 100 * DAY,
        };
        // Sorted per repo, least recently used first.
        let entries = vec![
            entry("a", "old", 10, 8),
            entry("a", "lru1", 40, 5),
            entry("a", "lru2", 30, 4),
            entry("a", "mid", 30, 3),
            entry("a", "new", 30, 0),
            entry("b", "b1", 50, 6),
            entry("b", "b2", 50, 1),
        ];
        let plan = plan(entries, &policy, None);
        assert_eq!(keys(&plan.expired), ["old"]);
        // a: 130 > 100 → drop lru1 (90 ≤ 90). b: exactly 100 is not over the limit.
        assert_eq!(keys(&plan.evicted), ["lru1"]);
    }

    #[test]
    fn keeps_the_entry_a_save_just_made() {
        let policy = Policy {
            max_age: Duration::from_secs(7 * 86_400),
            max_size: 100,
            now_ms: 100 * DAY,
        };
        let entries = vec![entry("a", "big-new", 120, 0)];
        let keep = entries[0].archive;
        let plan = plan(entries, &policy, Some(keep));
        assert!(plan.evicted.is_empty());
    }

    #[test]
    fn evicts_until_at_or_below_low_water() {
        let policy = Policy {
            max_age: Duration::from_secs(7 * 86_400),
            max_size: 1000,
            now_ms: 100 * DAY,
        };
        let entries: Vec<Entry> = (0..20)
            .map(|i| entry("a", &format!("e{i:02}"), 100, 6 - i64::from(i) / 4))
            .collect();
        let plan = plan(entries, &policy, None);
        // 2000 bytes, limit 1000, low water 900: the 11 least recently used go.
        assert_eq!(plan.evicted.len(), 11);
        assert_eq!(plan.evicted[0].key, "e00");
    }
}
