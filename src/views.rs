//! The JSON documents of DESIGN.md section 4, built in one place so that the CLI's `--json`
//! and the web API (`serve`) cannot drift apart. Field names are a contract: add, never
//! rename. Times are RFC 3339 UTC, sizes bytes.

use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::store::index::RepoStats;
use crate::store::{Entry, Removed, Store};

/// One entry as `list` and `show` print it.
pub fn entry(store: &Store, e: &Entry) -> Value {
    entry_at(e, &json!(store.archive_path(e)))
}

/// One entry, with `archive` saying where its file is (a local path, an `s3://` URL).
pub fn entry_at(e: &Entry, archive: &Value) -> Value {
    json!({
        "id": e.id,
        "repo": e.repo,
        "key": e.key,
        "scope": e.scope,
        "version": e.version,
        "paths": e.paths,
        "compression": e.compression,
        "size_bytes": e.size_bytes,
        "unpacked_bytes": e.unpacked_bytes,
        "file_count": e.file_count,
        "digest": e.digest,
        "archive": archive,
        "created_at": rfc3339(e.created_at),
        "last_accessed_at": rfc3339(e.last_accessed_at),
        "access_count": e.access_count,
        "created_by_run": e.created_by_run,
    })
}

/// `{"caches": [...]}`.
pub fn list(store: &Store, entries: &[Entry]) -> Value {
    json!({ "caches": entries.iter().map(|e| entry(store, e)).collect::<Vec<_>>() })
}

/// `{"deleted", "freed_bytes", "keys"}`.
pub fn removed(r: &Removed, dry_run: bool) -> Value {
    json!({ "deleted": r.count, "freed_bytes": r.freed_bytes, "keys": r.keys, "dry_run": dry_run })
}

fn stats_fields(s: &RepoStats) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "entries": s.entries,
        "size_bytes": s.size_bytes,
        "hits": s.hits,
        "partial_hits": s.partial_hits,
        "misses": s.misses,
        "hit_rate": s.hit_rate(),
        "bytes_restored": s.bytes_restored,
        "restore_ms": s.restore_ms,
    }) else {
        unreachable!("json! of an object literal is an object")
    };
    map
}

/// Sums per-repo statistics into the overall numbers.
pub fn total(repos: &[RepoStats]) -> RepoStats {
    repos.iter().fold(RepoStats::default(), |mut t, s| {
        t.entries += s.entries;
        t.size_bytes += s.size_bytes;
        t.hits += s.hits;
        t.partial_hits += s.partial_hits;
        t.misses += s.misses;
        t.bytes_restored += s.bytes_restored;
        t.restore_ms += s.restore_ms;
        t
    })
}

/// `{"repos": [...], "total": {...}, "top_keys": [...]}`.
pub fn stats(repos: &[RepoStats], top_keys: &[(String, String, u64)]) -> Value {
    let list: Vec<Value> = repos
        .iter()
        .map(|s| {
            let mut m = serde_json::Map::new();
            m.insert("repo".into(), json!(s.repo));
            m.extend(stats_fields(s));
            Value::Object(m)
        })
        .collect();
    let top: Vec<Value> = top_keys
        .iter()
        .map(|(repo, key, n)| json!({ "repo": repo, "key": key, "restores": n }))
        .collect();
    json!({ "repos": list, "total": stats_fields(&total(repos)), "top_keys": top })
}

/// The Prometheus text exposition format (also node_exporter's textfile collector format).
pub fn prometheus(repos: &[RepoStats]) -> String {
    fn esc(v: &str) -> String {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    }
    let mut out = String::new();
    let mut metric =
        |name: &str, kind: &str, help: &str, values: &mut dyn Iterator<Item = (String, String)>| {
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
        &mut repos.iter().flat_map(|s| {
            [
                ("hit", s.hits),
                ("partial", s.partial_hits),
                ("miss", s.misses),
            ]
            .map(|(o, n)| (format!("{},outcome=\"{o}\"", repo(s)), n.to_string()))
        }),
    );
    metric(
        "wit_cache_hit_ratio",
        "gauge",
        "Share of restore attempts that restored an entry.",
        &mut repos.iter().map(|s| (repo(s), format!("{}", s.hit_rate()))),
    );
    metric(
        "wit_cache_restored_bytes_total",
        "counter",
        "Archive bytes restored.",
        &mut repos
            .iter()
            .map(|s| (repo(s), s.bytes_restored.to_string())),
    );
    metric(
        "wit_cache_restore_seconds_total",
        "counter",
        "Time spent restoring.",
        &mut repos
            .iter()
            .map(|s| (repo(s), format!("{}", s.restore_ms as f64 / 1000.0))),
    );
    out
}
