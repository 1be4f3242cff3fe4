//! `show KEY`: an entry's metadata and the files in its archive, read from the archive
//! without extracting it.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{GlobalArgs, ShowArgs};
use crate::config;
use crate::keys::Key;
use crate::output::Printer;
use crate::store::archive::Codec;
use crate::store::{archive, ArchiveBackend, Entry, Filter, Store};
use crate::units::human_size;
use crate::{clock, views};

pub fn run(global: &GlobalArgs, args: &ShowArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let key = Key::parse(&args.key, "KEY")?;
    let store = Store::open(&config::cache_dir(global)?)?;
    let mut filter = Filter {
        repo: repo.as_deref(),
        scope: scope.as_deref(),
        key_folded: Some(key.folded()),
        ..Filter::default()
    };
    let mut entries = store.index.list(&filter)?;
    if entries.is_empty() {
        if let Ok(id) = args.key.parse::<i64>() {
            filter.key_folded = None;
            filter.id = Some(id);
            entries = store.index.list(&filter)?;
        }
    }
    if entries.is_empty() {
        let within = repo.map(|r| format!(" in repo {r}")).unwrap_or_default();
        anyhow::bail!(
            "no cache entry with key '{}'{within}: see `wit-cache list`",
            args.key
        );
    }
    let mut docs = Vec::new();
    for e in &entries {
        let files = members(&store, e)?;
        if printer.json_mode() {
            let mut doc = views::entry(&store, e);
            doc["files"] = json!(files
                .iter()
                .map(|(kind, mode, size, path)| json!({"path": path, "type": kind, "mode": format!("{mode:o}"), "size": size}))
                .collect::<Vec<_>>());
            docs.push(doc);
        } else {
            print_entry(printer, &store, e, &files);
        }
    }
    if printer.json_mode() {
        printer.json(&json!({ "entries": docs }));
    }
    Ok(ExitCode::SUCCESS)
}

/// (type, mode, size, path as the user wrote the path line + the rest).
type Member = (&'static str, u32, u64, String);

fn members(store: &Store, e: &Entry) -> anyhow::Result<Vec<Member>> {
    let codec = Codec::from_name(&e.compression).ok_or_else(|| {
        anyhow::anyhow!(
            "entry '{}' has an unknown compression '{}'",
            e.key,
            e.compression
        )
    })?;
    let file = store.open(&e.archive).map_err(|err| {
        anyhow::anyhow!(
            "cannot open the archive of '{}' ({}): {err}",
            e.key,
            store.archive_path(e).display()
        )
    })?;
    let mut out = Vec::new();
    archive::list(file, codec, |header, name| {
        let kind = match header.entry_type() {
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            _ => "other",
        };
        let name = String::from_utf8_lossy(name);
        // `<n>/<path>`: show the path under its path line's base.
        let path = name
            .split_once('/')
            .map_or(name.as_ref(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_string();
        out.push((
            kind,
            header.mode().unwrap_or(0),
            header.size().unwrap_or(0),
            path,
        ));
    })
    .map_err(|err| anyhow::anyhow!("cannot read the archive of '{}': {err}", e.key))?;
    Ok(out)
}

fn print_entry(printer: &Printer, store: &Store, e: &Entry, files: &[Member]) {
    let now = clock::now_ms();
    let mut text = String::new();
    let mut field = |name: &str, value: String| text.push_str(&format!("{name:<12} {value}\n"));
    field("key", e.key.clone());
    field("id", e.id.to_string());
    field("repo", e.repo.clone());
    field("scope", e.scope.clone().unwrap_or_else(|| "-".into()));
    field("paths", e.paths.join(", "));
    field("version", e.version.clone());
    field(
        "size",
        format!(
            "{} {} ({} unpacked, {} files)",
            human_size(e.size_bytes),
            e.compression,
            human_size(e.unpacked_bytes),
            e.file_count
        ),
    );
    field(
        "created",
        format!(
            "{} ({})",
            clock::rfc3339(e.created_at),
            crate::units::ago(e.created_at, now)
        ),
    );
    field(
        "last used",
        format!(
            "{} ({} uses)",
            clock::rfc3339(e.last_accessed_at),
            e.access_count
        ),
    );
    field(
        "run",
        e.created_by_run.clone().unwrap_or_else(|| "-".into()),
    );
    field("sha256", e.digest.clone());
    field("archive", store.archive_path(e).display().to_string());
    text.push('\n');
    for (kind, mode, size, path) in files {
        let t = match *kind {
            "dir" => 'd',
            "symlink" => 'l',
            _ => '-',
        };
        text.push_str(&format!(
            "{t}{:04o} {:>10}  {path}\n",
            mode & 0o7777,
            if *kind == "file" {
                human_size(*size)
            } else {
                String::new()
            }
        ));
    }
    printer.stdout(&text);
}
