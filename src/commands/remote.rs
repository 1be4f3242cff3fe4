//! The shared tier (`--store s3://…`) as the commands see it: the restore fallback on a local
//! miss, the upload after a save, and `list`/`delete`/`stats`/`gc --remote`.
//!
//! The local store stays in front as a read-through tier: a remote hit is downloaded into it
//! (verified, temp file then rename, registered in the index) and then restored like any
//! local entry, so the next job on the host restores locally. For `restore` and `save` the
//! shared store is a best effort: an outage, a timeout or a failed upload is a warning and
//! the job goes on with the local store, exactly as without `--store`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::{json, Value};

use crate::cli::{DeleteArgs, GcArgs, GlobalArgs, ListArgs, StatsArgs};
use crate::config;
use crate::error::UsageError;
use crate::keys::{self, Key};
use crate::output::Printer;
use crate::store::archive::Codec;
use crate::store::gc::{self, Policy};
use crate::store::index::{Identity, Inserted, NewEntry, RepoStats};
use crate::store::remote::{self, Meta, Remote, RemoteEntry, StoreUrl, Uploaded};
use crate::store::{ArchiveBackend, Entry, Removed, Store};
use crate::units::{ago, count, human_duration, human_size};
use crate::{clock, views};

/// What a restore looks for.
pub struct Query<'a> {
    pub repo: &'a str,
    pub scopes: &'a [Option<String>],
    pub version: &'a str,
    pub keys_folded: &'a [String],
}

/// One line about a shared-store failure: what failed and the root cause (object_store's
/// errors repeat the whole request chain; `-v` shows it).
fn brief(e: &anyhow::Error, printer: &Printer) -> String {
    printer.detail(&format!("shared store error: {e:#}"));
    let root = e.root_cause().to_string();
    let root = root.lines().next().unwrap_or_default();
    let top = e.to_string();
    if top == root || top.len() > 80 {
        root.to_string()
    } else {
        format!("{top}: {root}")
    }
}

/// The configured store, connected; a warning and `None` when it cannot even be set up.
fn connect(global: &GlobalArgs, printer: &Printer) -> Option<Remote> {
    // Validated (exit 2) before any command ran; here only the configured case matters.
    let url = config::remote_store(global).ok().flatten()?;
    match Remote::new(&url) {
        Ok(r) => Some(r),
        Err(e) => {
            printer.warn(&format!(
                "the shared store {url} is not usable ({}); using the local store only",
                brief(&e, printer)
            ));
            None
        }
    }
}

/// The shared store for `--remote`: an error when there is none.
fn required(global: &GlobalArgs) -> anyhow::Result<Remote> {
    let Some(url) = config::remote_store(global)? else {
        return Err(UsageError::new(
            "--remote needs a shared store: pass --store s3://BUCKET[/PREFIX] or set WIT_CACHE_STORE",
        )
        .into());
    };
    Remote::new(&url)
}

/// On a local miss: looks the keys up in the shared store (same order as the index) and, for
/// a hit, downloads it into the local store and returns the new local entry. With
/// `lookup_only` the remote entry is returned as found, nothing downloaded. `None` on a miss,
/// without a store, with `--read-only` (which writes nothing locally), or when the shared store
/// fails (a warning says so).
pub fn restore_on_miss(
    global: &GlobalArgs,
    store: &mut Store,
    q: &Query<'_>,
    lookup_only: bool,
    read_only: bool,
    accept: &mut dyn FnMut(&Entry) -> bool,
    printer: &Printer,
) -> Option<Entry> {
    if read_only {
        if config::remote_store(global).ok().flatten().is_some() {
            printer.detail("--read-only: the shared store is not consulted");
        }
        return None;
    }
    let remote = connect(global, printer)?;
    let url = remote.url().clone();
    let started = Instant::now();
    let found = remote.lookup(
        q.repo,
        q.scopes,
        q.version,
        q.keys_folded,
        &mut |e| accept(&e.to_entry()),
        &mut |w| printer.warn(&w),
    );
    let found = match found {
        Ok(Some(f)) => f,
        Ok(None) => return None,
        Err(e) => {
            printer.warn(&format!(
                "cannot look the keys up in the shared store {url} ({}); using the local store only",
                brief(&e, printer)
            ));
            return None;
        }
    };
    if lookup_only {
        return Some(found.to_entry());
    }
    match download_into(store, &remote, &found, accept) {
        Ok(entry) => {
            printer.status(&format!(
                "Downloaded cache entry '{}' ({}) from {url} in {}",
                entry.key,
                human_size(entry.size_bytes),
                human_duration(started.elapsed().as_millis() as u64)
            ));
            evict_local(store, &entry, printer);
            Some(entry)
        }
        Err(e) => {
            printer.warn(&format!(
                "cannot download cache entry '{}' from {url} ({}); using the local store only",
                found.meta.key,
                brief(&e, printer)
            ));
            None
        }
    }
}

/// Downloads a remote entry into a temp file of the store, checks its digest, renames it
/// into place and registers it: the same two-phase commit as a local save.
fn download_into(
    store: &mut Store,
    remote: &Remote,
    found: &RemoteEntry,
    accept: &mut dyn FnMut(&Entry) -> bool,
) -> anyhow::Result<Entry> {
    let m = &found.meta;
    let codec = Codec::from_name(&m.compression)
        .with_context(|| format!("unknown compression '{}'", m.compression))?;
    let temp = store
        .create_temp()
        .with_context(|| format!("cannot create a temp file in {}", store.root().display()))?;
    let mut file = temp.reopen().context("cannot reopen the temp archive")?;
    let digest = remote.download(found, &mut file)?;
    if digest != m.digest {
        anyhow::bail!(
            "the archive's SHA-256 {digest} does not match its metadata ({})",
            m.digest
        );
    }
    file.sync_all()
        .context("cannot sync the downloaded archive")?;
    drop(file);
    let name = store
        .publish(temp, codec)
        .context("cannot move the downloaded archive into the store")?;
    let id = Identity {
        repo: &m.repo,
        scope: m.scope.as_deref(),
        version: &m.version,
    };
    let new = NewEntry {
        key: m.key.clone(),
        paths: m.paths.clone(),
        compression: m.compression.clone(),
        archive: name.clone(),
        size_bytes: m.size_bytes,
        unpacked_bytes: m.unpacked_bytes,
        file_count: m.file_count,
        digest: m.digest.clone(),
        created_by_run: m.created_by_run.clone(),
        signature: m.signature.clone(),
    };
    let registered = match store.index.insert(&id, &new, false) {
        Ok(Inserted::New { .. }) => Ok(()),
        // Another job on this host registered the key meanwhile: use theirs when it is
        // acceptable; an entry the restore refused (unsigned) gives way to the signed one.
        Ok(Inserted::AlreadyExists(existing)) if accept(&existing) => {
            let _ = store.remove(&name);
            return Ok(existing);
        }
        Ok(Inserted::AlreadyExists(_)) => match store.index.insert(&id, &new, true) {
            Ok(Inserted::New {
                replaced: Some(old),
            }) => {
                let _ = store.remove(&old.archive);
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = registered {
        let _ = store.remove(&name);
        return Err(e).context("cannot register the downloaded entry in the index");
    }
    store
        .index
        .find_exact(&id, &keys::fold(&m.key))?
        .context("the downloaded entry vanished from the index")
}

/// The local tier keeps its own size limit, as after a save.
fn evict_local(store: &mut Store, keep: &Entry, printer: &Printer) {
    let Ok(limit) = config::max_size(None) else {
        return;
    };
    if let Err(e) = store.enforce_size(&keep.repo, limit, &keep.archive) {
        printer.warn(&format!(
            "cannot evict over-limit entries of {}: {e:#}",
            keep.repo
        ));
    }
}

/// After a local save committed: uploads the entry to the shared store, archive first and
/// create-only metadata last. Returns what happened for the `--json` document: `"uploaded"`,
/// `"exists"` (another host saved it first), `"failed"` (a warning said why), or null
/// without a store.
pub fn upload_saved(
    global: &GlobalArgs,
    store: &Store,
    id: &Identity<'_>,
    new: &NewEntry,
    overwrite: bool,
    printer: &Printer,
) -> Value {
    let Some(remote) = connect(global, printer) else {
        return if config::remote_store(global).ok().flatten().is_some() {
            json!("failed")
        } else {
            Value::Null
        };
    };
    let url = remote.url().clone();
    let started = Instant::now();
    let failed = |e: &anyhow::Error| {
        printer.warn(&format!(
            "cannot upload cache entry '{}' to the shared store {url} ({}); it is kept in the local store only",
            new.key,
            brief(e, printer)
        ));
        json!("failed")
    };
    if !overwrite {
        match remote.exists(id.repo, id.scope, &keys::fold(&new.key), id.version) {
            Ok(true) => {
                printer.status(&format!(
                    "Cache entry for key '{}' already exists in {url}; not uploading",
                    new.key
                ));
                return json!("exists");
            }
            Ok(false) => {}
            Err(e) => return failed(&e),
        }
    }
    let mut file = match store.open(&new.archive) {
        Ok(f) => f,
        Err(e) => return failed(&anyhow::Error::new(e).context("cannot reopen the archive")),
    };
    let now = clock::now_ms();
    let mut meta = Meta {
        format: 1,
        repo: id.repo.to_string(),
        scope: id.scope.map(str::to_string),
        key: new.key.clone(),
        version: id.version.to_string(),
        paths: new.paths.clone(),
        compression: new.compression.clone(),
        archive: String::new(),
        size_bytes: new.size_bytes,
        unpacked_bytes: new.unpacked_bytes,
        file_count: new.file_count,
        digest: new.digest.clone(),
        created_at: clock::rfc3339(now),
        created_at_ms: now,
        created_by_run: new.created_by_run.clone(),
        signature: new.signature.clone(),
    };
    match remote.upload(&mut file, &mut meta, overwrite) {
        Ok(Uploaded::Saved) => {
            printer.status(&format!(
                "Uploaded cache entry '{}' ({}) to {url} in {}",
                new.key,
                human_size(new.size_bytes),
                human_duration(started.elapsed().as_millis() as u64)
            ));
            json!("uploaded")
        }
        Ok(Uploaded::AlreadyExists) => {
            printer.status(&format!(
                "Cache entry for key '{}' was saved to {url} by another host meanwhile; keeping theirs",
                new.key
            ));
            json!("exists")
        }
        Err(e) => failed(&e),
    }
}

fn remote_entries(
    remote: &Remote,
    repo: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<remote::Listing> {
    remote
        .list(repo, &mut |w| printer.warn(&w))
        .with_context(|| format!("cannot list the shared store {}", remote.url()))
}

/// An entry of the shared store as `list --json` shows it: the local document's fields, with
/// the host-local ones (id, last access, uses) null.
fn entry_json(url: &StoreUrl, e: &Entry) -> Value {
    let mut doc = crate::views::entry_at(e, &json!(format!("s3://{}/{}", url.bucket, e.archive)));
    for host_local in ["id", "last_accessed_at", "access_count"] {
        doc[host_local] = Value::Null;
    }
    doc["signed"] = json!(e.signature.is_some());
    doc
}

/// `list --remote`: the entries of the shared store.
pub fn list(global: &GlobalArgs, args: &ListArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| Key::parse(p, "--prefix"))
        .transpose()?;
    let remote = required(global)?;
    let listing = remote_entries(&remote, repo.as_deref(), printer)?;
    let mut entries: Vec<Entry> = listing
        .entries
        .iter()
        .map(RemoteEntry::to_entry)
        .filter(|e| scope.is_none() || e.scope == scope)
        .filter(|e| {
            prefix
                .as_ref()
                .is_none_or(|p| keys::fold(&e.key).starts_with(&p.folded()))
        })
        .collect();
    match args.sort {
        crate::cli::SortBy::Size => entries.sort_by_key(|e| std::cmp::Reverse(e.size_bytes)),
        // The shared store records no use: last used is creation.
        _ => entries.sort_by_key(|e| std::cmp::Reverse(e.created_at)),
    }
    if let Some(n) = args.limit {
        entries.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if printer.json_mode() {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| entry_json(remote.url(), e))
            .collect();
        printer.json(&json!({ "caches": list, "store": remote.url().to_string() }));
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        printer.status(&format!("No cache entries in {}", remote.url()));
        return Ok(ExitCode::SUCCESS);
    }
    let now = clock::now_ms();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.repo.clone(),
                e.key.clone(),
                e.scope.clone().unwrap_or_else(|| "-".into()),
                human_size(e.size_bytes),
                ago(e.created_at, now),
            ]
        })
        .collect();
    printer.table(&["REPO", "KEY", "SCOPE", "SIZE", "CREATED"], &rows, &[3]);
    let total: u64 = entries.iter().map(|e| e.size_bytes).sum();
    printer.status(&format!(
        "{}, {} in {}",
        count(entries.len() as u64, "entry", "entries"),
        human_size(total),
        remote.url()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `delete --remote`: by key, prefix or all of a repo (ids are local).
pub fn delete(
    global: &GlobalArgs,
    args: &DeleteArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    if let Some(id) = args.id {
        return Err(UsageError::new(format!(
            "delete --remote {id}: ids are local to a host; use --key, --prefix or --all"
        ))
        .into());
    }
    let repo = config::required_repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let key = args
        .key
        .as_deref()
        .map(|k| Key::parse(k, "--key"))
        .transpose()?;
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| Key::parse(p, "--prefix"))
        .transpose()?;
    let remote = required(global)?;
    let listing = remote_entries(&remote, Some(&repo), printer)?;
    let doomed: Vec<RemoteEntry> = listing
        .entries
        .into_iter()
        .filter(|e| scope.is_none() || e.meta.scope == scope)
        .filter(|e| {
            let folded = keys::fold(&e.meta.key);
            key.as_ref().is_none_or(|k| folded == k.folded())
                && prefix
                    .as_ref()
                    .is_none_or(|p| folded.starts_with(&p.folded()))
        })
        .collect();
    if doomed.is_empty() && !args.all {
        let what = key
            .map(|k| format!("key '{}'", k.as_str()))
            .or_else(|| prefix.map(|p| format!("a key starting with '{}'", p.as_str())))
            .unwrap_or_default();
        anyhow::bail!(
            "no cache entry with {what} in repo {repo} in {}: nothing deleted",
            remote.url()
        );
    }
    if !args.dry_run {
        remote
            .delete(&doomed)
            .with_context(|| format!("cannot delete from the shared store {}", remote.url()))?;
    }
    let removed = removed_of(&doomed);
    report_removed(&removed, args.dry_run, remote.url(), printer);
    if printer.json_mode() {
        printer.json(&views::removed(&removed, args.dry_run));
    }
    Ok(ExitCode::SUCCESS)
}

fn removed_of(entries: &[RemoteEntry]) -> Removed {
    Removed {
        count: entries.len(),
        freed_bytes: entries.iter().map(|e| e.meta.size_bytes).sum(),
        keys: entries.iter().map(|e| e.meta.key.clone()).collect(),
    }
}

fn report_removed(r: &Removed, dry_run: bool, url: &StoreUrl, printer: &Printer) {
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    printer.status(&format!(
        "{verb} {} ({}) from {url}{}",
        count(r.count as u64, "cache entry", "cache entries"),
        human_size(r.freed_bytes),
        if r.keys.is_empty() {
            String::new()
        } else {
            format!(": {}", r.keys.join(", "))
        }
    ));
}

/// `stats --remote`: entries and sizes per repo in the shared store. Hit statistics are per
/// host (the shared store records no restores), so they are zero here.
pub fn stats(
    global: &GlobalArgs,
    _args: &StatsArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let repo = config::repo(global)?;
    let remote = required(global)?;
    let listing = remote_entries(&remote, repo.as_deref(), printer)?;
    let mut repos: Vec<RepoStats> = Vec::new();
    for e in &listing.entries {
        let i = if let Some(i) = repos.iter().position(|s| s.repo == e.meta.repo) {
            i
        } else {
            repos.push(RepoStats {
                repo: e.meta.repo.clone(),
                ..RepoStats::default()
            });
            repos.len() - 1
        };
        repos[i].entries += 1;
        repos[i].size_bytes += e.meta.size_bytes;
    }
    repos.sort_by(|a, b| a.repo.cmp(&b.repo));
    if printer.json_mode() {
        let mut doc = views::stats(&repos, &[]);
        doc["store"] = json!(remote.url().to_string());
        doc["orphan_archives"] = json!(listing.orphans.len());
        printer.json(&doc);
        return Ok(ExitCode::SUCCESS);
    }
    let total = views::total(&repos);
    let mut rows: Vec<Vec<String>> = repos
        .iter()
        .map(|s| {
            vec![
                s.repo.clone(),
                s.entries.to_string(),
                human_size(s.size_bytes),
            ]
        })
        .collect();
    if repos.len() != 1 {
        rows.push(vec![
            "total".into(),
            total.entries.to_string(),
            human_size(total.size_bytes),
        ]);
    }
    printer.table(&["REPO", "ENTRIES", "SIZE"], &rows, &[1, 2]);
    printer.status(&format!(
        "{} in {} (hit rates are per host: run stats without --remote)",
        count(
            listing.orphans.len() as u64,
            "unreferenced archive",
            "unreferenced archives"
        ),
        remote.url()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `gc --remote`: the local gc policy over the shared store: entries older than `max-age`
/// (by creation: the shared store records no use), then per repo over `max-size` the oldest
/// until the repo is at 90 % of it; archives no metadata refers to, once older than an hour.
pub fn gc(global: &GlobalArgs, args: &GcArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let policy = Policy {
        max_age: config::max_age(args.max_age.as_deref())?,
        max_size: config::max_size(args.max_size.as_deref())?,
        now_ms: clock::now_ms(),
    };
    let repo = config::repo(global)?;
    let remote = required(global)?;
    let listing = remote_entries(&remote, repo.as_deref(), printer)?;
    let mut all = listing.entries;
    // The eviction order gc::plan expects: per repo, least recently used (here: oldest) first.
    all.sort_by(|a, b| {
        (&a.meta.repo, a.meta.created_at_ms).cmp(&(&b.meta.repo, b.meta.created_at_ms))
    });
    let entries: Vec<Entry> = all.iter().map(RemoteEntry::to_entry).collect();
    let plan = gc::plan(entries, &policy, None);
    let doomed_names: std::collections::HashSet<&str> =
        plan.entries().map(|e| e.archive.as_str()).collect();
    let doomed: Vec<RemoteEntry> = all
        .iter()
        .filter(|e| doomed_names.contains(e.archive_path.as_ref()))
        .cloned()
        .collect();
    let orphans: Vec<object_store::ObjectMeta> = listing
        .orphans
        .into_iter()
        .filter(|o| o.last_modified.timestamp_millis() < policy.now_ms - remote::ORPHAN_GRACE_MS)
        .collect();
    if !args.dry_run {
        remote
            .delete(&doomed)
            .and_then(|()| remote.delete_objects(&orphans))
            .with_context(|| format!("cannot delete from the shared store {}", remote.url()))?;
    }
    let r = removed_of(&doomed);
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    printer.status(&format!(
        "{verb} {} ({}) and {} from {}",
        count(r.count as u64, "cache entry", "cache entries"),
        human_size(r.freed_bytes),
        count(
            orphans.len() as u64,
            "unreferenced archive",
            "unreferenced archives"
        ),
        remote.url()
    ));
    for key in &r.keys {
        printer.detail(&format!("  {key}"));
    }
    if printer.json_mode() {
        printer.json(&json!({
            "deleted": r.count,
            "freed_bytes": r.freed_bytes,
            "keys": r.keys,
            "orphans_removed": orphans.len(),
            "dry_run": args.dry_run,
            "store": remote.url().to_string(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}
