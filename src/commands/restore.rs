//! `restore`: look the key up in GitHub's order, extract the entry, record the attempt, and
//! report `cache-hit` / `cache-primary-key` / `cache-matched-key` like actions/cache.
//!
//! A restore never fails the job unless `--fail-on-miss` asks for it: a missing, damaged or
//! unwritable archive is a warning and a miss.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{GlobalArgs, RestoreArgs};
use crate::config;
use crate::error::{usage, MissError, UsageError};
use crate::keys::{self, Key};
use crate::output::Printer;
use crate::paths::CachePaths;
use crate::signing::Signer;
use crate::store::archive::{self, Codec, Expected, UnpackError};
use crate::store::index::{Attempt, Outcome};
use crate::store::{ArchiveBackend, Entry, Store};
use crate::units::{count, human_duration, human_size};

pub fn run(global: &GlobalArgs, args: &RestoreArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let restored = restore(global, args, printer)?;
    if printer.json_mode() {
        printer.json(&restored.doc);
    }
    if restored.cache_hit.is_none() && args.fail_on_miss {
        return Err(MissError {
            key: args.entry.key.clone(),
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// What a restore found: `cache_hit` as actions/cache sets it (`None` on a miss) and the
/// `--json` document.
pub struct Restored {
    pub cache_hit: Option<bool>,
    pub doc: serde_json::Value,
}

/// Looks up, extracts and records one restore; reports on stderr and in `$GITHUB_OUTPUT`.
pub fn restore(
    global: &GlobalArgs,
    args: &RestoreArgs,
    printer: &Printer,
) -> anyhow::Result<Restored> {
    let started = Instant::now();
    let repo = config::required_repo(global)?;
    let scope = config::scope(args.entry.scope.as_deref(), "--scope")?;
    let primary = Key::parse(&args.entry.key, "--key")?;
    let mut lookup_keys = vec![primary.clone()];
    for raw in keys::split_lines(&args.fallback.restore_keys) {
        lookup_keys.push(Key::parse(&raw, "--restore-key")?);
    }
    if lookup_keys.len() > keys::MAX_KEYS {
        usage!(
            "{} keys given (--key plus {} --restore-key): at most {} are allowed",
            lookup_keys.len(),
            lookup_keys.len() - 1,
            keys::MAX_KEYS
        );
    }
    let mut scopes = vec![scope.clone()];
    for s in &args.fallback.fallback_scopes {
        scopes.push(config::scope(Some(s), "--fallback-scope")?);
    }
    let lines = keys::split_lines(&args.entry.paths);
    if lines.is_empty() {
        usage!("--path is empty: name the same paths the entry was saved with");
    }
    let workspace = config::workspace(global)?;
    let paths = CachePaths::parse(&lines, &workspace, config::home().as_deref())?;
    let version = keys::version_for(&lines);

    let dir = config::cache_dir(global)?;
    let opened = if args.read_only {
        Store::open_read_only(&dir)
    } else {
        Store::open(&dir)
    };
    // A broken or unreachable store is a miss with a warning: a restore never fails the job
    // unless asked to. Bad settings (a cache dir that is a file) stay errors.
    let mut store = match opened {
        Ok(s) => Some(s),
        Err(e) if e.downcast_ref::<UsageError>().is_some() => return Err(e),
        Err(e) => {
            printer.warn(&format!(
                "no cache available, treating the restore as a miss: {e:#}"
            ));
            None
        }
    };
    let folded: Vec<String> = lookup_keys.iter().map(Key::folded).collect();
    // With a signing key, only entries signed with it count; others are skipped as if absent.
    let signer = Signer::from_env();
    let mut accept = |e: &Entry| match &signer {
        Some(s) if !s.verify(e) => {
            printer.warn(&format!(
                "skipped cache entry '{}' (id {}): it is not signed with {}",
                e.key,
                e.id,
                crate::signing::ENV
            ));
            false
        }
        _ => true,
    };
    let mut restored: Option<(Entry, u64)> = None;
    // A second look-up when the first entry's archive vanished (a concurrent gc or delete):
    // the next candidate may well be there.
    for attempt in 0..2 {
        let Some(store) = store.as_mut() else { break };
        let found = match store
            .index
            .lookup(&repo, &scopes, &version, &folded, &mut accept)
        {
            Ok(found) => found,
            Err(e) => {
                printer.warn(&format!(
                    "cannot read the cache index, treating the restore as a miss: {e}"
                ));
                break;
            }
        };
        // A local miss falls through to the shared store (--store), if any.
        let found = found.or_else(|| {
            let query = super::remote::Query {
                repo: &repo,
                scopes: &scopes,
                version: &version,
                keys_folded: &folded,
            };
            super::remote::restore_on_miss(
                global,
                store,
                &query,
                args.lookup_only,
                args.read_only,
                &mut accept,
                printer,
            )
        });
        restored = match found {
            Some(entry) if args.lookup_only => Some((entry, 0)),
            Some(entry) => match extract(
                store,
                &entry,
                &paths,
                !args.read_only,
                signer.is_some(),
                printer,
            ) {
                Extraction::Restored(files) => Some((entry, files)),
                Extraction::Vanished if attempt == 0 => continue,
                Extraction::Vanished | Extraction::Failed => None,
            },
            None => None,
        };
        break;
    }
    let duration_ms = started.elapsed().as_millis() as u64;

    let outcome = match &restored {
        None => Outcome::Miss,
        Some((e, _)) if keys::same_key(&primary, &e.key) => Outcome::Hit,
        Some(_) => Outcome::Partial,
    };
    if let (Some(store), false, false) = (store.as_mut(), args.lookup_only, args.read_only) {
        let attempt = Attempt {
            repo: &repo,
            scope: scope.as_deref(),
            primary_key: primary.as_str(),
            entry: restored.as_ref().map(|(e, _)| e),
            outcome,
            bytes: restored.as_ref().map_or(0, |(e, _)| e.size_bytes),
            duration_ms,
        };
        if let Err(e) = store.index.record_attempt(&attempt) {
            printer.warn(&format!("cannot record the restore in the index: {e}"));
        }
    }

    let cache_hit = restored.as_ref().map(|_| outcome == Outcome::Hit);
    let matched = restored.as_ref().map(|(e, _)| e.key.clone());
    write_github_output(primary.as_str(), cache_hit, matched.as_deref())?;

    if let Some((e, files)) = &restored {
        let verb = if args.lookup_only {
            "Cache found and can be restored from"
        } else {
            "Restored"
        };
        let files = if args.lookup_only {
            e.file_count
        } else {
            *files
        };
        printer.status(&format!(
            "{verb} key '{}' ({}, {}){} in {}",
            e.key,
            human_size(e.unpacked_bytes),
            count(files, "file", "files"),
            e.scope
                .as_deref()
                .map(|s| format!(" from scope '{s}'"))
                .unwrap_or_default(),
            human_duration(duration_ms),
        ));
    } else {
        let list: Vec<&str> = lookup_keys.iter().map(Key::as_str).collect();
        printer.status(&format!(
            "Cache not found for input keys: {}",
            list.join(", ")
        ));
    }
    let e = restored.as_ref().map(|(e, _)| e);
    let doc = json!({
            "cache_hit": cache_hit,
            "primary_key": primary.as_str(),
            "matched_key": matched,
            "scope": e.map_or(scope.clone(), |e| e.scope.clone()),
            "size_bytes": e.map_or(0, |e| e.size_bytes),
            "unpacked_bytes": e.map_or(0, |e| e.unpacked_bytes),
            "file_count": e.map_or(0, |e| e.file_count),
            "lookup_only": args.lookup_only,
            "duration_ms": duration_ms,
    });
    Ok(Restored { cache_hit, doc })
}

/// How an extraction ended.
enum Extraction {
    Restored(u64),
    /// Failed; already reported as a warning.
    Failed,
    /// The archive was not there (deleted meanwhile, or lost); the row is gone now too.
    Vanished,
}

/// Extracts one entry. A damaged entry is removed from the index unless `clean` is off
/// (`--read-only`). `hash_first` checks the whole archive before writing (signing is on).
fn extract(
    store: &mut Store,
    entry: &Entry,
    paths: &CachePaths,
    clean: bool,
    hash_first: bool,
    printer: &Printer,
) -> Extraction {
    let fate = if clean {
        "the entry was deleted"
    } else {
        "the entry was left in place (--read-only)"
    };
    let damaged = |store: &mut Store, why: String| {
        printer.warn(&format!(
            "cache entry '{}' was not restored: {why}; {fate}",
            entry.key
        ));
        if clean {
            drop_entry(store, entry, printer);
        }
        Extraction::Failed
    };
    let file = match store.open(&entry.archive) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            printer.warn(&format!(
                "the archive of cache entry '{}' is gone ({}); looking further",
                entry.key,
                store.archive_path(entry).display()
            ));
            if clean {
                drop_entry(store, entry, printer);
            }
            return Extraction::Vanished;
        }
        Err(e) => {
            let why = format!(
                "its archive {} is unreadable ({e})",
                store.archive_path(entry).display()
            );
            return damaged(store, why);
        }
    };
    // With signing on, the row is trusted but the file might have been swapped behind it:
    // check the whole archive before a single byte is written (one extra read, from the
    // page cache; without signing the digest is checked as the archive streams).
    if hash_first {
        use std::io::Seek as _;
        let checked = crate::store::sha256_of(&file).and_then(|d| (&file).rewind().map(|()| d));
        match checked {
            Ok(d) if d == entry.digest => {}
            Ok(d) => {
                return damaged(
                    store,
                    format!("archive digest {d} does not match the signed index row"),
                )
            }
            Err(e) => return damaged(store, format!("its archive is unreadable ({e})")),
        }
    }
    let Some(compression) = Codec::from_name(&entry.compression) else {
        return damaged(
            store,
            format!("unknown compression '{}'", entry.compression),
        );
    };
    let expected = Expected {
        codec: compression,
        digest: &entry.digest,
        unpacked_bytes: entry.unpacked_bytes,
        progress: archive::Progress::default(),
    };
    let bar = printer.progress(
        &format!("Restoring {}", entry.key),
        Some(entry.size_bytes),
        &expected.progress,
    );
    let unpacked = archive::unpack(file, &expected, paths);
    drop(bar);
    match unpacked {
        Ok(report) => Extraction::Restored(report.files),
        Err(UnpackError::Damaged(why)) => damaged(
            store,
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

fn drop_entry(store: &mut Store, entry: &Entry, printer: &Printer) {
    if let Err(e) = store.remove_entries(std::slice::from_ref(entry)) {
        printer.warn(&format!("cannot remove cache entry '{}': {e:#}", entry.key));
    }
}

/// Appends the outputs to `$GITHUB_OUTPUT` when it is set: `cache-hit` only when an entry was
/// found (unset on a miss, as actions/cache does).
fn write_github_output(
    primary: &str,
    cache_hit: Option<bool>,
    matched: Option<&str>,
) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut text = format!("cache-primary-key={primary}\n");
    if let Some(hit) = cache_hit {
        let _ = writeln!(text, "cache-hit={hit}");
    }
    if let Some(m) = matched {
        let _ = writeln!(text, "cache-matched-key={m}");
    }
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
