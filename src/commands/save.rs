//! `save`: archive the paths under a key, unless the entry exists (first writer wins).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::{GlobalArgs, SaveArgs};
use crate::config;
use crate::error::usage;
use crate::keys::{self, Key};
use crate::output::Printer;
use crate::paths::CachePaths;
use crate::signing::{Signed, Signer};
use crate::store::index::{Identity, Inserted, NewEntry};
use crate::store::{archive, ArchiveBackend, Store};
use crate::units::{count, human_duration, human_size};

pub fn run(global: &GlobalArgs, args: &SaveArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let doc = save(global, args, printer)?;
    if printer.json_mode() {
        printer.json(&doc);
    }
    Ok(ExitCode::SUCCESS)
}

/// Saves the entry; returns the `--json` document (`saved`, `already_existed`, …).
pub fn save(
    global: &GlobalArgs,
    args: &SaveArgs,
    printer: &Printer,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let repo = config::required_repo(global)?;
    let scope = config::scope(args.entry.scope.as_deref(), "--scope")?;
    let key = Key::parse(&args.entry.key, "--key")?;
    let lines = keys::split_lines(&args.entry.paths);
    if lines.is_empty() {
        usage!("--path is empty: name at least one file, directory or glob to cache");
    }
    if let Err(rule) = args.codec.compression.check_level(args.codec.level) {
        usage!("{rule}");
    }
    let workspace = config::workspace(global)?;
    let paths = CachePaths::parse(&lines, &workspace, config::home().as_deref())?;
    let version = keys::version_for(&lines);
    let id = Identity {
        repo: &repo,
        scope: scope.as_deref(),
        version: &version,
    };

    let mut store = Store::open(&config::cache_dir(global)?)?;
    let report = |saved: bool, existed: bool, size: u64, unpacked: u64, files: u64| {
        json!({
            "saved": saved,
            "already_existed": existed,
            "key": key.as_str(),
            "scope": scope,
            "repo": repo,
            "version": version,
            "size_bytes": size,
            "unpacked_bytes": unpacked,
            "file_count": files,
            "duration_ms": started.elapsed().as_millis() as u64,
        })
    };

    // The cheap check first: an existing key never touches the tree.
    if !args.overwrite {
        if let Some(e) = store.index.find_exact(&id, &key.folded())? {
            printer.status(&format!(
                "Cache entry for key '{}' already exists ({}); not saving",
                e.key,
                human_size(e.size_bytes)
            ));
            return Ok(report(
                false,
                true,
                e.size_bytes,
                e.unpacked_bytes,
                e.file_count,
            ));
        }
    }

    let temp = store
        .create_temp()
        .with_context(|| format!("cannot create a temp file in {}", store.root().display()))?;
    let file = temp.reopen().context("cannot reopen the temp archive")?;
    let progress = archive::Progress::default();
    let bar = printer.progress(&format!("Saving {}", key.as_str()), None, &progress);
    let packed = archive::pack(
        &paths,
        file,
        args.codec.compression,
        args.codec.level,
        &progress,
        &mut |w| {
            printer.warn(&w);
        },
    );
    drop(bar);
    let packed = packed.map_err(|e| save_error(&e, &store))?;
    if packed.members == 0 {
        printer.warn("nothing to save: none of the paths exist; no cache entry was created");
        return Ok(report(false, false, 0, 0, 0));
    }
    let name = store
        .publish(temp, args.codec.compression)
        .map_err(|e| save_error(&e, &store))?;
    let new = NewEntry {
        key: key.as_str().to_string(),
        paths: lines.clone(),
        compression: args.codec.compression.name().to_string(),
        archive: name.clone(),
        size_bytes: packed.size_bytes,
        unpacked_bytes: packed.unpacked_bytes,
        file_count: packed.file_count,
        digest: packed.digest.clone(),
        created_by_run: config::run_id(args.run_id.as_deref()),
        signature: Signer::from_env().map(|s| {
            s.sign(&Signed {
                repo: &repo,
                scope: scope.as_deref(),
                key: key.as_str(),
                version: &version,
                digest: &packed.digest,
                unpacked_bytes: packed.unpacked_bytes,
            })
        }),
    };
    let inserted = store.index.insert(&id, &new, args.overwrite);
    let inserted = match inserted {
        Ok(i) => i,
        Err(e) => {
            let _ = store.remove(&name);
            return Err(e).context("cannot register the cache entry in the index");
        }
    };
    let mut doc = match inserted {
        Inserted::AlreadyExists(e) => {
            // Another job saved the same key while we were archiving: it won, ours goes.
            store.remove(&name).ok();
            printer.status(&format!(
                "Cache entry for key '{}' was saved by another job meanwhile; not saving",
                e.key
            ));
            report(false, true, e.size_bytes, e.unpacked_bytes, e.file_count)
        }
        Inserted::New { replaced, .. } => {
            if let Some(old) = replaced {
                if let Err(e) = store.remove(&old.archive) {
                    printer.warn(&format!(
                        "cannot delete the replaced archive {}: {e}",
                        old.archive
                    ));
                }
            }
            evict_over_limit(&mut store, &repo, &name, printer);
            let ratio = packed.unpacked_bytes as f64 / packed.size_bytes.max(1) as f64;
            printer.status(&format!(
                "Saved cache entry '{}' ({}, {} → {} {}, {ratio:.1}×) in {}",
                key.as_str(),
                count(packed.file_count, "file", "files"),
                human_size(packed.unpacked_bytes),
                human_size(packed.size_bytes),
                args.codec.compression.name(),
                human_duration(started.elapsed().as_millis() as u64),
            ));
            report(
                true,
                false,
                packed.size_bytes,
                packed.unpacked_bytes,
                packed.file_count,
            )
        }
    };
    // The shared tier (--store): upload what this job saved; a failure is only a warning.
    if doc["saved"] == true {
        doc["remote"] =
            super::remote::upload_saved(global, &store, &id, &new, args.overwrite, printer);
    }
    Ok(doc)
}

fn save_error(err: &std::io::Error, store: &Store) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::StorageFull {
        anyhow::anyhow!("no space left on the device of {}: the save was abandoned and nothing was stored ({err})", store.root().display())
    } else {
        anyhow::anyhow!("cannot save the cache entry: {err}")
    }
}

/// After a save commits, the repo may be over its size limit: evict its least recently used
/// entries (never the one just saved) as `gc` would. One aggregate query when it is not.
fn evict_over_limit(store: &mut Store, repo: &str, keep: &str, printer: &Printer) {
    let limit = match crate::config::max_size(None) {
        Ok(l) => l,
        Err(e) => {
            printer.warn(&format!("size limit not enforced: {e}"));
            return;
        }
    };
    match store.enforce_size(repo, limit, keep) {
        Ok(r) if r.count > 0 => printer.status(&format!(
            "Evicted {} least recently used entr{} of {repo} ({}) to stay under {}",
            r.count,
            if r.count == 1 { "y" } else { "ies" },
            human_size(r.freed_bytes),
            human_size(limit)
        )),
        Ok(_) => {}
        Err(e) => printer.warn(&format!("cannot evict over-limit entries of {repo}: {e:#}")),
    }
}
