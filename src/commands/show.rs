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
use crate::units::{count, human_size};
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
            print_entry(printer, &store, e, &files, args.files);
        }
    }
    if printer.json_mode() {
        printer.json(&json!({ "entries": docs }));
    }
    Ok(Exit::Success)
}

/// An entry with more members than this is summarised unless `--files` is given.
const LIST_UP_TO: usize = 50;
/// How many of the largest directories a summary names.
const TOP_DIRS: usize = 10;

/// Counts by type and the largest directories (two levels deep, e.g. `node_modules/react`),
/// for an entry too big to list file by file.
fn summary(files: &[Member]) -> String {
    let mut by_dir: std::collections::HashMap<&str, (u64, u64)> = std::collections::HashMap::new();
    let (mut n_files, mut n_dirs, mut n_links, mut n_other) = (0u64, 0u64, 0u64, 0u64);
    for (kind, _, size, path) in files {
        match *kind {
            "file" => n_files += 1,
            "dir" => n_dirs += 1,
            "symlink" => n_links += 1,
            _ => n_other += 1,
        }
        if *kind != "file" {
            continue;
        }
        let dir = match path.rmatch_indices('/').count() {
            0 => ".",
            1 => path.rsplit_once('/').map_or(".", |(d, _)| d),
            _ => {
                let second = path
                    .match_indices('/')
                    .nth(1)
                    .map_or(path.len(), |(i, _)| i);
                &path[..second]
            }
        };
        let slot = by_dir.entry(dir).or_default();
        slot.0 += size;
        slot.1 += 1;
    }
    let mut text = format!(
        "{}, {}, {}",
        count(n_files, "file", "files"),
        count(n_dirs, "directory", "directories"),
        count(n_links, "symlink", "symlinks")
    );
    if n_other > 0 {
        text.push_str(&format!(
            ", {}",
            count(n_other, "other member", "other members")
        ));
    }
    text.push_str("\n\nLargest directories (unpacked):\n");
    let mut dirs: Vec<(&str, (u64, u64))> = by_dir.into_iter().collect();
    dirs.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    for (dir, (size, n)) in dirs.iter().take(TOP_DIRS) {
        text.push_str(&format!(
            "{:>10}  {dir}  ({})\n",
            human_size(*size),
            count(*n, "file", "files")
        ));
    }
    if dirs.len() > TOP_DIRS {
        text.push_str(&format!(
            "{:>10}  … {}\n",
            "",
            count(
                (dirs.len() - TOP_DIRS) as u64,
                "more directory",
                "more directories"
            )
        ));
    }
    text.push_str("\nList every file with --files.\n");
    text
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
    archive::list(file, codec, e.unpacked_bytes, |member| {
        let kind = match member.kind {
            archive::reader::Kind::Directory => "dir",
            archive::reader::Kind::Symlink => "symlink",
            archive::reader::Kind::Regular => "file",
            _ => "other",
        };
        let name = String::from_utf8_lossy(&member.name);
        // `<n>/<path>`: show the path under its path line's base.
        let path = name
            .split_once('/')
            .map_or(name.as_ref(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_string();
        out.push((kind, member.mode.unwrap_or(0), member.size, path));
    })
    .map_err(|err| anyhow::anyhow!("cannot read the archive of '{}': {err}", e.key))?;
    Ok(out)
}

fn print_entry(printer: &Printer, store: &LocalStore, e: &Entry, files: &[Member], all: bool) {
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
            "{} {} archive, {} unpacked, {}",
            human_size(e.size_bytes),
            e.compression_name(),
            human_size(e.unpacked_bytes),
            count(e.file_count, "file", "files")
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
            format!(
                "{} ({})",
                u.last_accessed_at.rfc3339(),
                count(u.access_count, "use", "uses")
            ),
        );
    }
    field(
        "run",
        e.created_by_run.clone().unwrap_or_else(|| "-".into()),
    );
    field("sha256", e.digest.clone());
    field("archive", store.archive_path(e).display().to_string());
    text.push('\n');
    if !all && files.len() > LIST_UP_TO {
        text.push_str(&summary(files));
        printer.stdout(&text);
        return;
    }
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
