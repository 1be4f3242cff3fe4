//! `show KEY`: an entry's metadata and the files in its archive, read from the archive
//! without extracting it.

use serde_json::json;

use crate::cli::{GlobalArgs, ShowArgs};
use crate::config;
use crate::error::Exit;
use crate::output::Printer;
use crate::request::{self, Stores};
use crate::store::cas::manifest::Kind;
use crate::store::{archive, Entry, Filter, Format, LocalStore, Tier, Timestamp};
use crate::units::human_size;
use crate::views;

pub fn run(global: &GlobalArgs, args: &ShowArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let key = request::key_input(&args.key, "KEY")?;
    let mut store = Stores::from_global(global)?.local()?;
    let mut filter = Filter {
        repo: repo.clone(),
        scope,
        key_folded: Some(key.folded()),
        ..Filter::default()
    };
    let mut listing = store.list(&filter)?;
    if listing.entries.is_empty() {
        if let Ok(id) = args.key.parse::<i64>() {
            filter.key_folded = None;
            filter.id = Some(id);
            listing = store.list(&filter)?;
        }
    }
    super::list::report_bad(&listing, printer);
    let entries = listing.entries;
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
    Ok(Exit::Success)
}

/// (type, mode, size, path as the user wrote the path line + the rest).
type Member = (&'static str, u32, u64, String);

fn members(store: &LocalStore, e: &Entry) -> anyhow::Result<Vec<Member>> {
    let file = store.archive_file(e).map_err(|err| {
        anyhow::anyhow!(
            "cannot open the archive of '{}' ({}): {err}",
            e.key,
            store.archive_path(e).display()
        )
    })?;
    if e.format == Format::Cas {
        let m = store
            .cas_manifest(&file, e)
            .map_err(|err| anyhow::anyhow!("cannot read the manifest of '{}': {err}", e.key))?;
        return Ok(m
            .members
            .iter()
            .map(|member| {
                let (kind, size) = match &member.kind {
                    Kind::Dir => ("dir", 0),
                    Kind::File { size, .. } => ("file", *size),
                    Kind::Symlink { .. } => ("symlink", 0),
                };
                let name = String::from_utf8_lossy(&member.name);
                let path = name
                    .split_once('/')
                    .map_or(name.as_ref(), |(_, rest)| rest)
                    .to_string();
                (kind, member.mode, size, path)
            })
            .collect());
    }
    let codec = e.codec;
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

fn print_entry(printer: &Printer, store: &LocalStore, e: &Entry, files: &[Member]) {
    let now = Timestamp::now().ms();
    let mut text = String::new();
    let mut field = |name: &str, value: String| text.push_str(&format!("{name:<12} {value}\n"));
    field("key", e.key.clone());
    field(
        "id",
        e.usage
            .as_ref()
            .map_or_else(|| "-".into(), |u| u.id.to_string()),
    );
    field("repo", e.repo.clone());
    field("scope", e.scope.clone().unwrap_or_else(|| "-".into()));
    field("paths", e.paths.join(", "));
    field("version", e.version.clone());
    field(
        "size",
        format!(
            "{} {} ({} unpacked, {} files)",
            human_size(e.size_bytes),
            e.compression_name(),
            human_size(e.unpacked_bytes),
            e.file_count
        ),
    );
    field(
        "created",
        format!(
            "{} ({})",
            e.created_at.rfc3339(),
            crate::units::ago(e.created_at.ms(), now)
        ),
    );
    if let Some(u) = &e.usage {
        field(
            "last used",
            format!("{} ({} uses)", u.last_accessed_at.rfc3339(), u.access_count),
        );
    }
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
