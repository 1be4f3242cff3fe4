//! Why a restore missed: the nearest candidates of a lookup that found nothing, each turned
//! into one reason a person can act on.
//!
//! A miss is the most common surprise of a cache ("cache not found although it was saved"):
//! an entry saved in another scope, with other path lines (a reordered list, a `~` the shell
//! expanded), removed by gc or by hand, refused as damaged or unsigned, or a key whose
//! `hashFiles()` part matched nothing. Reasons are looked for only after a miss, from the
//! local index (entries of the repo whose key matches in any scope or version, and the
//! removals it remembers for 30 days), so a hit costs nothing.

use std::path::Path;

use super::entry::Entry;
use super::index::RemovalRow;
use super::tier::{Query, Refusal, Refused};

/// The kind of a reason, as `restore --json` names it in `miss_reasons[].kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MissKind {
    Unsigned,
    Damaged,
    Version,
    Scope,
    Evicted,
    Deleted,
    EmptyHash,
}

/// Every kind's name (what the index may hold).
pub const KINDS: &[&str] = &[
    "unsigned",
    "damaged",
    "version",
    "scope",
    "evicted",
    "deleted",
    "empty-hash",
    "none",
];

impl MissKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MissKind::Unsigned => "unsigned",
            MissKind::Damaged => "damaged",
            MissKind::Version => "version",
            MissKind::Scope => "scope",
            MissKind::Evicted => "evicted",
            MissKind::Deleted => "deleted",
            MissKind::EmptyHash => "empty-hash",
        }
    }
}

/// One reason a restore missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissReason {
    pub kind: MissKind,
    /// The key of the entry it is about (or the primary key, for `empty-hash`).
    pub key: String,
    pub detail: String,
}

/// What a restore asked for, besides its query.
pub struct Asked<'a> {
    /// The path lines as given (the version is their digest).
    pub lines: &'a [String],
    /// The primary key as given (not folded), for the empty-hash check.
    pub primary_key: &'a str,
    pub home: Option<&'a Path>,
}

fn quoted(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("'{l}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the path lines of a saved entry differ from a restore's.
pub fn lines_differ(saved: &[String], asked: &[String], home: Option<&Path>) -> String {
    let expanded = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("~/")?;
        Some(home?.join(rest).to_string_lossy().into_owned())
    };
    for s in saved {
        if let Some(abs) = expanded(s) {
            if asked.contains(&abs) {
                return format!(
                    "it was saved with '{s}' and this restore has '{abs}': the shell expanded an \
                     unquoted ~; quote the path ('{s}') so every job writes the same line"
                );
            }
        }
    }
    for a in asked {
        if let Some(abs) = expanded(a) {
            if saved.contains(&abs) {
                return format!(
                    "it was saved with '{abs}' and this restore has '{a}': the saving job's shell \
                     expanded an unquoted ~; quote the path there"
                );
            }
        }
    }
    let mut sorted_saved = saved.to_vec();
    let mut sorted_asked = asked.to_vec();
    sorted_saved.sort();
    sorted_asked.sort();
    if sorted_saved == sorted_asked {
        return format!(
            "it was saved with the same path lines in another order ({}); this restore has {}",
            quoted(saved),
            quoted(asked)
        );
    }
    let missing: Vec<String> = saved
        .iter()
        .filter(|s| !asked.contains(s))
        .cloned()
        .collect();
    let added: Vec<String> = asked
        .iter()
        .filter(|a| !saved.contains(a))
        .cloned()
        .collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("this restore adds {}", quoted(&added)));
    }
    if !missing.is_empty() {
        parts.push(format!("lacks {}", quoted(&missing)));
    }
    format!(
        "it was saved with the path lines {}; {}",
        quoted(saved),
        parts.join(" and ")
    )
}

fn scope_name(scope: Option<&str>) -> String {
    scope.map_or_else(|| "no scope".to_string(), |s| format!("scope '{s}'"))
}

/// The flag that makes a restore read `scope`.
fn scope_flag(scope: Option<&str>) -> String {
    match scope {
        Some(s) => format!("--fallback-scope {s}"),
        None => "--fallback-scope ''".to_string(),
    }
}

/// The key ends where a `hashFiles()` part would be: `npm-Linux-`.
fn ends_in_separator(key: &str) -> Option<char> {
    key.chars()
        .last()
        .filter(|c| matches!(c, '-' | '_' | '.' | ':' | '/' | '='))
}

/// The reasons, most useful first, one per kind and key.
pub fn reasons(
    q: &Query,
    asked: &Asked<'_>,
    near: &[Entry],
    removals: &[RemovalRow],
    refused: &[Refused],
) -> Vec<MissReason> {
    let mut out: Vec<MissReason> = Vec::new();
    let mut add = |kind: MissKind, key: &str, detail: String| {
        if !out.iter().any(|r| r.kind == kind && r.key == key) {
            out.push(MissReason {
                kind,
                key: key.to_string(),
                detail,
            });
        }
    };
    for r in refused {
        match &r.why {
            Refusal::Unsigned => add(
                MissKind::Unsigned,
                &r.key,
                format!(
                    "an entry in {} of {} carries no valid signature for {}",
                    scope_name(r.scope.as_deref()),
                    r.tier,
                    crate::signing::ENV
                ),
            ),
            Refusal::Damaged(why) => add(
                MissKind::Damaged,
                &r.key,
                format!("an entry in {} was refused as damaged: {why}", r.tier),
            ),
        }
    }
    let searched = |scope: &Option<String>| q.scopes.contains(scope);
    for e in near {
        let same_version = e.version == q.version;
        match (same_version, searched(&e.scope)) {
            (true, true) => {} // it would have been found: refused above
            (true, false) => add(
                MissKind::Scope,
                &e.key,
                format!(
                    "it exists in {}, which this restore did not search: add {}",
                    scope_name(e.scope.as_deref()),
                    scope_flag(e.scope.as_deref())
                ),
            ),
            (false, _) => {
                let mut detail = lines_differ(&e.paths, asked.lines, asked.home);
                if !searched(&e.scope) {
                    detail.push_str(&format!(
                        " (and it is in {})",
                        scope_name(e.scope.as_deref())
                    ));
                }
                add(MissKind::Version, &e.key, detail);
            }
        }
    }
    for r in removals {
        if r.version != q.version || !searched(&r.scope) {
            continue;
        }
        let at = r.at.rfc3339();
        let (kind, detail) = match r.why.as_str() {
            "evicted" => (
                MissKind::Evicted,
                format!(
                    "it was evicted at {at} to keep the repo under its size limit (raise \
                     WIT_CACHE_MAX_SIZE or gc --max-size)"
                ),
            ),
            "expired" => (
                MissKind::Evicted,
                format!(
                    "it was removed by gc at {at}, unused for longer than the idle limit \
                     (WIT_CACHE_TTL or gc --max-age)"
                ),
            ),
            "deleted" => (
                MissKind::Deleted,
                format!("it was deleted (wit-cache delete or the web page) at {at}"),
            ),
            "damaged" => (
                MissKind::Damaged,
                format!("it was found damaged and removed at {at}"),
            ),
            _ => continue,
        };
        add(kind, &r.key, detail);
    }
    if let Some(sep) = ends_in_separator(asked.primary_key) {
        add(
            MissKind::EmptyHash,
            asked.primary_key,
            format!(
                "the key ends in '{sep}' where a hashFiles() part would be: a pattern that \
                 matched no file gives an empty hash"
            ),
        );
    }
    out.sort_by_key(|r| r.kind);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn path_line_differences_are_named() {
        let home = Path::new("/home/u");
        let saved = lines(&["node_modules", "~/.npm"]);
        let d = lines_differ(
            &saved,
            &lines(&["node_modules", "/home/u/.npm"]),
            Some(home),
        );
        assert!(d.contains("unquoted ~"), "{d}");
        let d = lines_differ(&saved, &lines(&["~/.npm", "node_modules"]), Some(home));
        assert!(d.contains("another order"), "{d}");
        let d = lines_differ(&saved, &lines(&["node_modules", "dist"]), Some(home));
        assert!(
            d.contains("adds 'dist'") && d.contains("lacks '~/.npm'"),
            "{d}"
        );
    }

    #[test]
    fn empty_hash_keys_are_spotted() {
        assert_eq!(ends_in_separator("npm-Linux-"), Some('-'));
        assert_eq!(ends_in_separator("npm-Linux-3f2a"), None);
    }
}
