//! `list`: the entries of a repo (or of every repo), as a table or `{"caches": [...]}`.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, ListArgs, SortBy};
use crate::config;
use crate::keys::Key;
use crate::output::Printer;
use crate::store::{Filter, Sort, Store};
use crate::units::{ago, count, human_size};
use crate::{clock, views};

pub fn run(global: &GlobalArgs, args: &ListArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if args.remote {
        return super::remote::list(global, args, printer);
    }
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| Key::parse(p, "--prefix"))
        .transpose()?;
    let store = Store::open(&config::cache_dir(global)?)?;
    let filter = Filter {
        repo: repo.as_deref(),
        scope: scope.as_deref(),
        prefix_folded: prefix.as_ref().map(Key::folded),
        sort: match args.sort {
            SortBy::Created => Sort::Created,
            SortBy::LastUsed => Sort::LastUsed,
            SortBy::Size => Sort::Size,
        },
        limit: args.limit,
        ..Filter::default()
    };
    let entries = store.index.list(&filter)?;
    if printer.json_mode() {
        printer.json(&views::list(&store, &entries));
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        printer.status("No cache entries");
        return Ok(ExitCode::SUCCESS);
    }
    let now = clock::now_ms();
    let all_repos = repo.is_none();
    let mut headers = vec!["ID"];
    if all_repos {
        headers.push("REPO");
    }
    headers.extend(["KEY", "SCOPE", "SIZE", "HITS", "LAST USED", "CREATED"]);
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut row = vec![e.id.to_string()];
            if all_repos {
                row.push(e.repo.clone());
            }
            row.extend([
                e.key.clone(),
                e.scope.clone().unwrap_or_else(|| "-".into()),
                human_size(e.size_bytes),
                e.access_count.to_string(),
                if e.access_count == 0 {
                    "never".into()
                } else {
                    ago(e.last_accessed_at, now)
                },
                ago(e.created_at, now),
            ]);
            row
        })
        .collect();
    let offset = usize::from(all_repos);
    printer.table(&headers, &rows, &[0, 3 + offset, 4 + offset]);
    let total: u64 = entries.iter().map(|e| e.size_bytes).sum();
    printer.status(&format!(
        "{}, {}",
        count(entries.len() as u64, "entry", "entries"),
        human_size(total)
    ));
    Ok(ExitCode::SUCCESS)
}
