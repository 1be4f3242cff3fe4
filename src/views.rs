//! The JSON documents of DESIGN.md section 4, built in one place so that the CLI's `--json`
//! and the web API (`serve`) cannot drift apart, whichever tier they describe. Field names
//! are a contract: add, never rename. Times are RFC 3339 UTC, sizes bytes. What a tier does
//! not record (the shared store's use and restores) is `null`, never a made-up zero.

use serde::Serialize;
use serde_json::{json, Value};

use crate::store::tier::{RepoStats, Restores, Stats, Worth};
use crate::store::{Entry, Removed, Tier};

/// One entry as `list` and `show` print it; `archive` says where its file is (a local path,
/// an object URL).
pub fn entry(tier: &dyn Tier, e: &Entry) -> Value {
    serde_json::to_value(EntryView::new(tier, e)).expect("an entry always serialises")
}

/// An entry's document, serialised straight from the entry (a listing of thousands is
/// written without building a [`Value`] tree first). Fields in alphabetical order, as a
/// `serde_json` object prints them.
#[derive(Serialize)]
pub struct EntryView<'a> {
    access_count: Option<u64>,
    archive: String,
    compression: &'static str,
    created_at: String,
    created_by_run: &'a Option<String>,
    digest: &'a str,
    file_count: u64,
    format: &'static str,
    id: Option<i64>,
    key: &'a str,
    last_accessed_at: Option<String>,
    paths: &'a [String],
    repo: &'a str,
    scope: &'a Option<String>,
    signed: bool,
    size_bytes: u64,
    unpacked_bytes: u64,
    version: &'a str,
}

impl<'a> EntryView<'a> {
    pub fn new(tier: &dyn Tier, e: &'a Entry) -> Self {
        let usage = e.usage.as_ref();
        Self {
            access_count: usage.map(|u| u.access_count),
            archive: tier.archive_location(e),
            compression: e.codec.name(),
            created_at: e.created_at.rfc3339(),
            created_by_run: &e.created_by_run,
            digest: &e.digest,
            file_count: e.file_count,
            format: e.format.name(),
            id: usage.map(|u| u.id),
            key: &e.key,
            last_accessed_at: usage.map(|u| u.last_accessed_at.rfc3339()),
            paths: &e.paths,
            repo: &e.repo,
            scope: &e.scope,
            signed: e.signature.is_some(),
            size_bytes: e.size_bytes,
            unpacked_bytes: e.unpacked_bytes,
            version: &e.version,
        }
    }
}

/// `{"caches": [...], "total": N, "store": …}`.
#[derive(Serialize)]
pub struct ListView<'a> {
    caches: Vec<EntryView<'a>>,
    store: String,
    total: u64,
}

impl<'a> ListView<'a> {
    pub fn new(tier: &dyn Tier, entries: &'a [Entry], total: u64) -> Self {
        Self {
            caches: entries.iter().map(|e| EntryView::new(tier, e)).collect(),
            store: tier.location(),
            total,
        }
    }
}

/// [`ListView`] as a [`Value`] (for the web API).
pub fn list(tier: &dyn Tier, entries: &[Entry], total: u64) -> Value {
    serde_json::to_value(ListView::new(tier, entries, total)).expect("a listing always serialises")
}

/// `{"deleted", "freed_bytes", "keys"}`.
pub fn removed(r: &Removed, dry_run: bool) -> Value {
    json!({ "deleted": r.count, "freed_bytes": r.freed_bytes, "keys": r.keys, "dry_run": dry_run })
}

fn stats_fields(s: &RepoStats) -> serde_json::Map<String, Value> {
    let r = s.restores.as_ref();
    let w = s.worth.as_ref();
    let Value::Object(map) = json!({
        "limit_bytes": s.limit_bytes,
        "bytes_saved": w.map(|w| w.bytes_saved),
        "saves": w.map(|w| w.saves),
        "never_restored": w.map(|w| w.never_restored),
        "evicted_unused": w.map(|w| w.evicted_unused),
        "measured_restore_ms": w.map(|w| w.measured_restore_ms),
        "command_ms": w.map(|w| w.command_ms),
        "miss_reasons": w.map(|w| &w.miss_reasons),
        "entries": s.entries,
        "size_bytes": s.size_bytes,
        "hits": r.map(|r| r.hits),
        "partial_hits": r.map(|r| r.partial_hits),
        "misses": r.map(|r| r.misses),
        "hit_rate": r.map(Restores::hit_rate),
        "bytes_restored": r.map(|r| r.bytes_restored),
        "restore_ms": r.map(|r| r.restore_ms),
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}

/// Sums per-repo statistics into the overall numbers.
pub fn total(repos: &[RepoStats]) -> RepoStats {
    repos.iter().fold(
        RepoStats {
            restores: Some(Restores::default()),
            worth: Some(Worth::default()),
            limit_bytes: None,
            ..RepoStats::default()
        },
        |mut t, s| {
            t.entries += s.entries;
            t.size_bytes += s.size_bytes;
            match (&mut t.restores, &s.restores) {
                (Some(t), Some(s)) => t.add(s),
                (t, None) => *t = None,
                _ => {}
            }
            match (&mut t.worth, &s.worth) {
                (Some(t), Some(s)) => t.add(s),
                (t, None) => *t = None,
                _ => {}
            }
            t
        },
    )
}

/// `{"repos": [...], "total": {...}, "top_keys": [...], "store": …}`.
pub fn stats(stats: &Stats, location: &str) -> Value {
    let list: Vec<Value> = stats
        .repos
        .iter()
        .map(|s| {
            let mut m = serde_json::Map::new();
            m.insert("repo".into(), json!(s.repo));
            m.extend(stats_fields(s));
            Value::Object(m)
        })
        .collect();
    let top: Vec<Value> = stats
        .top_keys
        .iter()
        .map(|(repo, key, n)| json!({ "repo": repo, "key": key, "restores": n }))
        .collect();
    let mut doc = json!({
        "repos": list,
        "total": stats_fields(&total(&stats.repos)),
        "top_keys": top,
        "store": location,
    });
    if let Some(n) = stats.unreferenced {
        doc["orphan_archives"] = json!(n);
    }
    doc
}

/// The Prometheus text exposition format (also node_exporter's textfile collector format).
/// Restore counters appear only where the tier records restores.
pub fn prometheus(repos: &[RepoStats]) -> String {
    fn esc(v: &str) -> String {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    }
    let mut out = String::new();
    let mut metric =
        |name: &str, kind: &str, help: &str, values: &mut dyn Iterator<Item = (String, String)>| {
            let values: Vec<(String, String)> = values.collect();
            if values.is_empty() && !repos.is_empty() {
                return;
            }
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in values {
                out.push_str(&format!("{name}{{{labels}}} {value}\n"));
            }
        };
    let repo = |s: &RepoStats| format!("repo=\"{}\"", esc(&s.repo));
    metric(
        "wit_cache_entries",
        "gauge",
        "Cache entries in the store.",
        &mut repos.iter().map(|s| (repo(s), s.entries.to_string())),
    );
    metric(
        "wit_cache_size_bytes",
        "gauge",
        "Bytes of archives in the store.",
        &mut repos.iter().map(|s| (repo(s), s.size_bytes.to_string())),
    );
    metric(
        "wit_cache_restores_total",
        "counter",
        "Restore attempts by outcome (hit: the primary key; partial: a restore key; miss).",
        &mut repos
            .iter()
            .filter_map(|s| s.restores.map(|r| (s, r)))
            .flat_map(|(s, r)| {
                [
                    ("hit", r.hits),
                    ("partial", r.partial_hits),
                    ("miss", r.misses),
                ]
                .map(|(o, n)| (format!("{},outcome=\"{o}\"", repo(s)), n.to_string()))
            }),
    );
    metric(
        "wit_cache_hit_ratio",
        "gauge",
        "Share of restore attempts that restored an entry.",
        &mut repos
            .iter()
            .filter_map(|s| s.restores.map(|r| (s, r)))
            .map(|(s, r)| (repo(s), format!("{}", r.hit_rate()))),
    );
    metric(
        "wit_cache_restored_bytes_total",
        "counter",
        "Archive bytes restored.",
        &mut repos
            .iter()
            .filter_map(|s| s.restores.map(|r| (s, r)))
            .map(|(s, r)| (repo(s), r.bytes_restored.to_string())),
    );
    metric(
        "wit_cache_restore_seconds_total",
        "counter",
        "Time spent restoring.",
        &mut repos
            .iter()
            .filter_map(|s| s.restores.map(|r| (s, r)))
            .map(|(s, r)| (repo(s), format!("{}", r.restore_ms as f64 / 1000.0))),
    );
    out
}
