//! `restore`: look the key up in GitHub's order, extract the entry, record the attempt, and
//! report `cache-hit` / `cache-primary-key` / `cache-matched-key` like actions/cache.
//!
//! A restore never fails the job unless `--fail-on-miss` asks for it: a missing, damaged or
//! unwritable archive is a warning and a miss.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{GlobalArgs, RestoreArgs};
use crate::error::{Exit, UsageError};
use crate::keys;
use crate::output;
use crate::output::Printer;
use crate::request::{EntryRequest, RestoreRequest, Stores};
use crate::store::archive::{self, Expected, UnpackError};
use crate::store::index::{Attempt, Outcome};
use crate::store::misses::Asked;
use crate::store::tier::{Lookup, OpenFailure, Refusal, Removal};
use crate::store::{Entry, Format, ReadThrough, Tier, Timestamp};
use crate::units::{count, human_duration, human_size};

pub fn run(global: &GlobalArgs, args: &RestoreArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let entry = EntryRequest::parse(
        global,
        &args.entry,
        "the same paths the entry was saved with",
    )?;
    let mut req = RestoreRequest::parse(entry, &args.fallback)?;
    req.lookup_only = args.lookup_only;
    req.fail_on_miss = args.fail_on_miss;
    req.read_only = args.read_only;
    let stores = Stores::from_global(global)?;
    if args.explain {
        return explain(&stores, &req, printer);
    }
    let restored = restore(&stores, &req, printer)?;
    if printer.json_mode() {
        printer.json(&restored.doc);
    }
    if restored.cache_hit.is_none() && req.fail_on_miss {
        printer.error_line(&format!(
            "cache miss for key '{}' (--fail-on-miss is set)",
            req.entry.key.as_str()
        ));
        return Ok(Exit::Miss);
    }
    Ok(Exit::Success)
}

/// What a restore found: `cache_hit` as actions/cache sets it (`None` on a miss) and the
/// `--json` document.
pub struct Restored {
    pub cache_hit: Option<bool>,
    pub matched_key: Option<String>,
    pub doc: serde_json::Value,
    /// The recorded attempt (for `run`, which adds the command's time to it).
    pub attempt: Option<i64>,
}

/// Prints what the store has to say.
pub fn print_notes(store: &mut ReadThrough, printer: &Printer) {
    for note in store.take_notes() {
        printer.note(&note);
    }
}

/// Looks up, extracts and records one restore; reports on stderr and in `$GITHUB_OUTPUT`.
pub fn restore(
    stores: &Stores,
    req: &RestoreRequest,
    printer: &Printer,
) -> anyhow::Result<Restored> {
    let started = Instant::now();
    let primary = &req.entry.key;
    // A broken or unreachable store is a miss with a warning: a restore never fails the job
    // unless asked to. Bad settings (a cache dir that is a file) stay errors.
    let mut store = match stores.pair(req.read_only) {
        Ok(s) => Some(s),
        Err(e) if e.downcast_ref::<UsageError>().is_some() => return Err(e),
        Err(e) => {
            printer.warn(&format!(
                "no cache available, treating the restore as a miss: {e:#}"
            ));
            None
        }
    };
    let query = req.query();
    let mut restored: Option<(Entry, u64)> = None;
    let mut refused = Vec::new();
    if let Some(store) = store.as_mut() {
        // A second look-up when the first entry's archive vanished (a concurrent gc or
        // delete): the next candidate may well be there.
        for attempt in 0..2 {
            let lookup = store.lookup(&query, None);
            print_notes(store, printer);
            let found = match lookup {
                Ok(lookup) => {
                    report_refused(&lookup, printer);
                    refused.extend(lookup.refused);
                    lookup.found
                }
                Err(e) => {
                    printer.warn(&format!(
                        "cannot read the cache index, treating the restore as a miss: {e:#}"
                    ));
                    break;
                }
            };
            restored = match found {
                Some(f) if req.lookup_only => Some((f.entry, 0)),
                Some(f) => match extract(store, &f.entry, req, printer) {
                    Extraction::Restored(entry, files) => Some((*entry, files)),
                    Extraction::Vanished if attempt == 0 => continue,
                    Extraction::Vanished | Extraction::Failed => None,
                },
                None => None,
            };
            break;
        }
    }
    let duration_ms = started.elapsed().as_millis() as u64;

    let outcome = match &restored {
        None => Outcome::Miss,
        Some((e, _)) if keys::same_key(primary, &e.key) => Outcome::Hit,
        Some(_) => Outcome::Partial,
    };
    // Why it missed: looked for only now, so a hit pays nothing for it.
    let reasons = match (&restored, store.as_ref()) {
        (None, Some(store)) => {
            let home = crate::config::home();
            let asked = Asked {
                lines: &req.entry.lines,
                primary_key: primary.as_str(),
                home: home.as_deref(),
            };
            store
                .local
                .miss_reasons(&query, &asked, &refused)
                .unwrap_or_else(|e| {
                    printer.detail(&format!("no miss hints: {e:#}"));
                    Vec::new()
                })
        }
        _ => Vec::new(),
    };
    let mut attempt_id = None;
    if let (Some(store), false) = (store.as_mut(), req.lookup_only) {
        let kinds: Vec<&str> = reasons.iter().map(|r| r.kind.as_str()).collect();
        let attempt = Attempt {
            repo: &req.entry.repo,
            scope: req.entry.scope.as_deref(),
            primary_key: primary.as_str(),
            entry: restored.as_ref().map(|(e, _)| e),
            outcome,
            bytes: restored.as_ref().map_or(0, |(e, _)| e.size_bytes),
            duration_ms,
            miss_reasons: &kinds,
        };
        match store.local.record_attempt(&attempt) {
            Ok(id) => attempt_id = id,
            Err(e) => printer.warn(&format!("{e:#}")),
        }
    }

    let cache_hit = restored.as_ref().map(|_| outcome == Outcome::Hit);
    let matched = restored.as_ref().map(|(e, _)| e.key.clone());
    write_github_output(primary.as_str(), cache_hit, matched.as_deref())?;

    if let Some((e, files)) = &restored {
        let verb = if req.lookup_only {
            "Cache found and can be restored from"
        } else {
            "Restored"
        };
        let files = if req.lookup_only {
            e.file_count
        } else {
            *files
        };
        printer.status(&format!(
            "{verb} key '{}' ({} unpacked from a {} archive, {}){} in {}",
            e.key,
            human_size(e.unpacked_bytes),
            human_size(e.size_bytes),
            count(files, "file", "files"),
            e.scope
                .as_deref()
                .map(|s| format!(" from scope '{s}'"))
                .unwrap_or_default(),
            human_duration(duration_ms),
        ));
    } else {
        let list: Vec<&str> = req.keys().map(keys::Key::as_str).collect();
        printer.status(&format!(
            "Cache not found for input keys: {}",
            list.join(", ")
        ));
        for r in reasons.iter().take(MAX_HINTS) {
            printer.status(&format!("hint: '{}': {}", r.key, r.detail));
        }
    }
    let e = restored.as_ref().map(|(e, _)| e);
    let doc = json!({
            "cache_hit": cache_hit,
            "primary_key": primary.as_str(),
            "matched_key": matched,
            "scope": e.map_or(req.entry.scope.clone(), |e| e.scope.clone()),
            "size_bytes": e.map_or(0, |e| e.size_bytes),
            "unpacked_bytes": e.map_or(0, |e| e.unpacked_bytes),
            "file_count": e.map_or(0, |e| e.file_count),
            "lookup_only": req.lookup_only,
            "duration_ms": duration_ms,
            "miss_reasons": reasons
                .iter()
                .map(|r| json!({"kind": r.kind.as_str(), "key": r.key, "detail": r.detail}))
                .collect::<Vec<_>>(),
    });
    Ok(Restored {
        cache_hit,
        matched_key: matched,
        doc,
        attempt: attempt_id,
    })
}

/// Most `hint:` lines a miss prints (`--json` has them all).
const MAX_HINTS: usize = 3;

/// `restore --explain`: the whole search in the local index, step by step, with every
/// candidate seen and why it was or was not taken. Extracts nothing, records nothing.
fn explain(stores: &Stores, req: &RestoreRequest, printer: &Printer) -> anyhow::Result<Exit> {
    let store = stores.local_read_only()?;
    let query = req.query();
    let trace = store.explain(&query)?;
    let keys: Vec<&str> = req.keys().map(keys::Key::as_str).collect();
    let scope_name = |s: &Option<String>| {
        s.as_deref()
            .map_or_else(|| "no scope".to_string(), |s| format!("scope '{s}'"))
    };
    let mut text = String::new();
    let mut steps = Vec::new();
    for step in &trace.steps {
        let how = if step.step.prefix {
            "as a prefix"
        } else {
            "exactly"
        };
        text.push_str(&format!(
            "{}. {} key '{}' {how}\n",
            steps.len() + 1,
            scope_name(&query.scopes[step.step.scope]),
            keys[step.step.key],
        ));
        if step.candidates.is_empty() {
            text.push_str("     no entry\n");
        }
        for c in &step.candidates {
            text.push_str(&format!(
                "     '{}' (created {}): {}\n",
                output::escape(&c.key),
                c.created_at
                    .map_or_else(|| "?".to_string(), Timestamp::rfc3339),
                c.verdict
            ));
        }
        steps.push(json!({
            "scope": query.scopes[step.step.scope],
            "key": keys[step.step.key],
            "prefix": step.step.prefix,
            "candidates": step.candidates.iter().map(|c| json!({
                "key": c.key,
                "created_at": c.created_at.map(Timestamp::rfc3339),
                "taken": c.taken,
                "verdict": c.verdict,
            })).collect::<Vec<_>>(),
        }));
    }
    let home = crate::config::home();
    let reasons = if trace.found.is_none() {
        let asked = Asked {
            lines: &req.entry.lines,
            primary_key: req.entry.key.as_str(),
            home: home.as_deref(),
        };
        store.miss_reasons(&query, &asked, &trace.refused)?
    } else {
        Vec::new()
    };
    match &trace.found {
        Some(e) => text.push_str(&format!("=> would restore '{}'\n", output::escape(&e.key))),
        None => text.push_str("=> a miss\n"),
    }
    for r in &reasons {
        text.push_str(&format!(
            "hint: '{}': {}\n",
            output::escape(&r.key),
            output::escape(&r.detail)
        ));
    }
    if printer.json_mode() {
        printer.json(&json!({
            "primary_key": req.entry.key.as_str(),
            "version": query.version,
            "steps": steps,
            "matched_key": trace.found.as_ref().map(|e| e.key.clone()),
            "miss_reasons": reasons
                .iter()
                .map(|r| json!({"kind": r.kind.as_str(), "key": r.key, "detail": r.detail}))
                .collect::<Vec<_>>(),
        }));
    } else {
        printer.stdout(&text);
    }
    Ok(Exit::Success)
}

/// One warning per candidate the lookup passed over.
fn report_refused(lookup: &Lookup, printer: &Printer) {
    for r in &lookup.refused {
        match &r.why {
            Refusal::Unsigned => printer.warn(&format!(
                "skipped cache entry '{}' in {}: it is not signed with {}",
                r.key,
                r.tier,
                crate::signing::ENV
            )),
            Refusal::Damaged(why) => printer.warn(&format!(
                "skipped a damaged cache entry '{}' in {}: {why}",
                r.key, r.tier
            )),
        }
    }
}

/// How an extraction ended.
enum Extraction {
    /// Restored: the entry as the local store has it, and the files written.
    Restored(Box<Entry>, u64),
    /// Failed; already reported as a warning.
    Failed,
    /// The archive was not there (deleted meanwhile, or lost); its record is gone now too.
    Vanished,
}

/// Extracts one entry. A damaged entry is removed unless the store is read-only.
fn extract(
    store: &mut ReadThrough,
    entry: &Entry,
    req: &RestoreRequest,
    printer: &Printer,
) -> Extraction {
    let fate = if req.read_only {
        "the entry was left in place (--read-only)"
    } else {
        "the entry was deleted"
    };
    let damaged = |store: &mut ReadThrough, entry: &Entry, why: String| {
        printer.warn(&format!(
            "cache entry '{}' was not restored: {why}; {fate}",
            entry.key
        ));
        if !req.read_only {
            if let Err(e) = store
                .local
                .delete(std::slice::from_ref(entry), Removal::Damaged)
            {
                printer.warn(&format!("cannot remove cache entry '{}': {e:#}", entry.key));
            }
        }
        Extraction::Failed
    };
    let opened = store.open(entry);
    print_notes(store, printer);
    let opened = match opened {
        Ok(o) => o,
        Err(OpenFailure::Vanished) => {
            printer.warn(&format!(
                "the archive of cache entry '{}' is gone; looking further",
                entry.key
            ));
            return Extraction::Vanished;
        }
        Err(OpenFailure::Damaged(why)) => return damaged(store, entry, why),
        // Already said (a failed download): the local store goes on without it.
        Err(OpenFailure::Failed(_)) => return Extraction::Failed,
    };
    let entry = opened.entry;
    let expected = Expected {
        codec: entry.codec,
        digest: &entry.digest,
        unpacked_bytes: entry.unpacked_bytes,
        progress: archive::Progress::default(),
        checked_first: false,
    };
    // A cas entry streams its files' content, not a compressed archive, through the bar.
    let total = match entry.format {
        Format::Archive => entry.size_bytes,
        Format::Cas => entry.unpacked_bytes,
    };
    let bar = printer.progress(
        &format!("Restoring key '{}'", entry.key),
        Some(total),
        &expected.progress,
        crate::output::Counted::ArchiveBytes,
    );
    let unpacked = match entry.format {
        Format::Archive => archive::unpack(opened.file, &expected, &req.entry.paths),
        Format::Cas => store.local.cas_unpack(
            &opened.file,
            &entry,
            &req.entry.paths,
            expected.progress.clone(),
        ),
    };
    drop(bar);
    match unpacked {
        Ok(report) => Extraction::Restored(Box::new(entry.clone()), report.files),
        Err(UnpackError::Damaged(why)) => damaged(
            store,
            &entry,
            format!("the archive is damaged: {why}; the files it had written were removed"),
        ),
        Err(err @ UnpackError::Local { .. }) => {
            printer.warn(&format!(
                "cannot restore cache entry '{}': {err}; the files it had written were removed",
                entry.key
            ));
            Extraction::Failed
        }
    }
}

/// Appends the outputs to `$GITHUB_OUTPUT` when it is set: `cache-hit` only when an entry was
/// found (unset on a miss, as actions/cache does). Values are written in the runner's
/// delimited form (`name<<DELIMITER`), so no value can add a line of its own.
fn write_github_output(
    primary: &str,
    cache_hit: Option<bool>,
    matched: Option<&str>,
) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut outputs = vec![("cache-primary-key", primary.to_string())];
    if let Some(hit) = cache_hit {
        outputs.push(("cache-hit", hit.to_string()));
    }
    if let Some(m) = matched {
        outputs.push(("cache-matched-key", m.to_string()));
    }
    let text = github_output(&outputs);
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        f.write_all(text.as_bytes())
    };
    write().with_context(|| {
        format!(
            "cannot write the step outputs to GITHUB_OUTPUT ({})",
            path.to_string_lossy()
        )
    })
}

/// `name=value` lines, or `name<<ghadelimiter_…` blocks (as `@actions/core` writes them)
/// for a value with a line break in it, with a delimiter the value does not contain.
pub fn github_output(outputs: &[(&str, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains(['\n', '\r']) {
            let mut delimiter = format!("ghadelimiter_{}", uuid::Uuid::new_v4());
            while value.contains(&delimiter) {
                delimiter = format!("ghadelimiter_{}", uuid::Uuid::new_v4());
            }
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::github_output;

    #[test]
    fn an_output_value_cannot_add_a_line() {
        let text = github_output(&[("cache-matched-key", "k\ncache-hit=true".into())]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("cache-matched-key<<ghadelimiter_"));
        assert_eq!(lines[1], "k");
        assert_eq!(
            lines[2], "cache-hit=true",
            "part of the value, not an output"
        );
        assert_eq!(lines[3], &lines[0]["cache-matched-key<<".len()..]);
        assert_eq!(github_output(&[("a", "b".into())]), "a=b\n");
    }
}
