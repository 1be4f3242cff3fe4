//! `save`: archive the paths under a key, unless the entry exists (first writer wins).

use std::time::Instant;

use serde_json::json;

use crate::cli::{GlobalArgs, SaveArgs};
use crate::error::Exit;
use crate::output::{Counted, Printer};
use crate::request::{EntryRequest, SaveRequest, Stores};
use crate::store::archive;
use crate::store::tier::{CommitMode, Committed, NewEntry, Removed, Shared};
use crate::store::{Format, ReadThrough, Tier};
use crate::units::{count, human_duration, human_size};

use super::restore::print_notes;

pub fn run(global: &GlobalArgs, args: &SaveArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let entry = EntryRequest::parse(
        global,
        &args.entry,
        "at least one file, directory or glob to cache",
    )?;
    let req = SaveRequest::parse(entry, &args.codec, args.overwrite, args.run_id.as_deref())?;
    let doc = save(&Stores::from_global(global)?, &req, printer)?;
    if printer.json_mode() {
        printer.json(&doc);
    }
    Ok(Exit::Success)
}

/// Saves the entry; returns the `--json` document (`saved`, `already_existed`, …).
pub fn save(
    stores: &Stores,
    req: &SaveRequest,
    printer: &Printer,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let e = &req.entry;
    let mut store = stores.pair(false)?;
    print_notes(&mut store, printer);
    let report = |saved: bool, existed: bool, size: u64, unpacked: u64, files: u64| {
        json!({
            "saved": saved,
            "already_existed": existed,
            "key": e.key.as_str(),
            "scope": e.scope,
            "repo": e.repo,
            "version": e.version,
            "size_bytes": size,
            "unpacked_bytes": unpacked,
            "file_count": files,
            "duration_ms": started.elapsed().as_millis() as u64,
        })
    };

    // The cheap check first: an existing key never touches the tree.
    if !req.overwrite {
        if let Some(old) = store.find(&e.identity())? {
            printer.status(&format!(
                "Cache entry for key '{}' already exists ({}); not saving",
                old.key,
                human_size(old.size_bytes)
            ));
            return Ok(report(
                false,
                true,
                old.size_bytes,
                old.unpacked_bytes,
                old.file_count,
            ));
        }
    }

    let progress = archive::Progress::default();
    let bar = printer.progress(
        &format!("Saving key '{}'", e.key.as_str()),
        None,
        &progress,
        Counted::FileBytes,
    );
    let mut warn = |w: String| printer.warn(&w);
    let (staging, new, owner) = match req.format {
        Format::Archive => {
            let staging = store.stage()?;
            let file = staging
                .file
                .try_clone()
                .map_err(|err| anyhow::anyhow!("cannot reopen the temp archive: {err}"))?;
            let packed = archive::pack(&e.paths, file, req.codec, req.level, &progress, &mut warn);
            drop(bar);
            let packed = packed.map_err(|err| save_error(&err, &store))?;
            if packed.members == 0 {
                printer
                    .warn("nothing to save: none of the paths exist; no cache entry was created");
                return Ok(report(false, false, 0, 0, 0));
            }
            let new = NewEntry {
                repo: e.repo.clone(),
                scope: e.scope.clone(),
                key: e.key.as_str().to_string(),
                version: e.version.clone(),
                paths: e.lines.clone(),
                codec: req.codec,
                format: Format::Archive,
                id: None,
                size_bytes: packed.size_bytes,
                unpacked_bytes: packed.unpacked_bytes,
                file_count: packed.file_count,
                digest: packed.digest.clone(),
                created_by_run: req.run_id.clone(),
                preset: None,
            };
            (staging, new, None)
        }
        Format::Cas => {
            let saved = store
                .local
                .cas_save(&e.paths, req.level, &progress, &mut warn);
            drop(bar);
            let saved = saved.map_err(|err| {
                if is_disk_full(&err) {
                    disk_full(&err, &store)
                } else {
                    err.context("cannot save the cache entry")
                }
            })?;
            if saved.members == 0 {
                store.local.cas_release(saved.owner);
                printer
                    .warn("nothing to save: none of the paths exist; no cache entry was created");
                return Ok(report(false, false, 0, 0, 0));
            }
            printer.detail(&format!(
                "cas: {} new blobs ({} in new packs), {} reused",
                saved.new_blobs,
                human_size(saved.pack_bytes),
                saved.reused_blobs
            ));
            let new = NewEntry {
                repo: e.repo.clone(),
                scope: e.scope.clone(),
                key: e.key.as_str().to_string(),
                version: e.version.clone(),
                paths: e.lines.clone(),
                codec: archive::Codec::Zstd,
                format: Format::Cas,
                id: Some(saved.owner),
                size_bytes: saved.size_bytes,
                unpacked_bytes: saved.unpacked_bytes,
                file_count: saved.file_count,
                digest: saved.digest.clone(),
                created_by_run: req.run_id.clone(),
                preset: None,
            };
            (saved.staging, new, Some(saved.owner))
        }
    };
    let (size_bytes, unpacked_bytes, file_count) =
        (new.size_bytes, new.unpacked_bytes, new.file_count);
    let mode = if req.overwrite {
        CommitMode::Replace
    } else {
        CommitMode::Create
    };
    let committed = store.commit(staging, new, mode);
    print_notes(&mut store, printer);
    if let (Some(owner), Err(_)) = (owner, &committed) {
        store.local.cas_release(owner);
    }
    let committed = committed.map_err(|err| {
        if is_disk_full(&err) {
            disk_full(&err, &store)
        } else {
            err.context("cannot save the cache entry")
        }
    })?;
    let mut doc = match &committed.committed {
        Committed::Existed { entry: old, .. } => {
            // Another job saved the same key while we were archiving: it won, ours went.
            printer.status(&format!(
                "Cache entry for key '{}' was saved by another job meanwhile; not saving",
                old.key
            ));
            report(
                false,
                true,
                old.size_bytes,
                old.unpacked_bytes,
                old.file_count,
            )
        }
        Committed::New { entry, evicted, .. } => {
            store
                .local
                .record_save(entry, started.elapsed().as_millis() as u64);
            report_evicted(evicted, &e.repo, printer);
            let how = match req.format {
                Format::Archive => format!("{} archive", req.codec.name()),
                Format::Cas => "new in cas".to_string(),
            };
            printer.status(&format!(
                "Saved cache entry '{}' ({}, {} unpacked → {} {how}, {}) in {}",
                e.key.as_str(),
                count(file_count, "file", "files"),
                human_size(unpacked_bytes),
                human_size(size_bytes),
                compression_words(unpacked_bytes, size_bytes),
                human_duration(started.elapsed().as_millis() as u64),
            ));
            report(true, false, size_bytes, unpacked_bytes, file_count)
        }
    };
    if doc["saved"] == true {
        doc["remote"] = match committed.shared {
            None => serde_json::Value::Null,
            Some(Shared::Uploaded) => json!("uploaded"),
            Some(Shared::Existed) => json!("exists"),
            Some(Shared::Failed(_)) => json!("failed"),
        };
    }
    Ok(doc)
}

/// How much compression saved, in words: `3.2× smaller`, or that the archive is larger than
/// its input (tiny or incompressible files: tar headers and padding outweigh them).
fn compression_words(unpacked: u64, archive: u64) -> String {
    if archive > unpacked {
        format!(
            "the archive is {} larger than its input",
            human_size(archive - unpacked)
        )
    } else {
        format!("{:.1}× smaller", unpacked as f64 / archive.max(1) as f64)
    }
}

fn report_evicted(r: &Removed, repo: &str, printer: &Printer) {
    if r.count > 0 {
        printer.status(&format!(
            "Evicted {} of {repo} ({}) to stay under its size limit",
            count(
                r.count as u64,
                "least recently used entry",
                "least recently used entries"
            ),
            human_size(r.freed_bytes),
        ));
    }
    for line in &r.left_alone {
        printer.warn(line);
    }
}

fn is_disk_full(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
    })
}

fn disk_full(err: &anyhow::Error, store: &ReadThrough) -> anyhow::Error {
    anyhow::anyhow!(
        "no space left on the device of {}: the save was abandoned and nothing was stored ({err:#})",
        store.local.root().display()
    )
}

fn save_error(err: &std::io::Error, store: &ReadThrough) -> anyhow::Error {
    if err.kind() == std::io::ErrorKind::StorageFull {
        disk_full(&anyhow::anyhow!("{err}"), store)
    } else {
        anyhow::anyhow!("cannot save the cache entry: {err}")
    }
}
