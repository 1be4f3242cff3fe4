//! `delete`: remove entries by id, key, prefix, or all of a repo (the seed's `clearCaches`).

use std::process::ExitCode;

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::config;
use crate::keys::Key;
use crate::output::Printer;
use crate::store::{Filter, Removed, Sort, Store};
use crate::units::{count, human_size};
use crate::views;

pub fn run(global: &GlobalArgs, args: &DeleteArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if args.remote {
        return super::remote::delete(global, args, printer);
    }
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let mut filter = Filter {
        scope: scope.as_deref(),
        sort: Sort::Created,
        ..Filter::default()
    };
    // An id names one entry anywhere; keys, prefixes and --all act within one repo.
    let repo = if args.id.is_some() {
        config::repo(global)?
    } else {
        Some(config::required_repo(global)?)
    };
    filter.repo = repo.as_deref();
    let what = if let Some(id) = args.id {
        filter.id = Some(id);
        format!("id {id}")
    } else if let Some(key) = &args.key {
        filter.key_folded = Some(Key::parse(key, "--key")?.folded());
        format!("key '{key}'")
    } else if let Some(prefix) = &args.prefix {
        filter.prefix_folded = Some(Key::parse(prefix, "--prefix")?.folded());
        format!("a key starting with '{prefix}'")
    } else {
        String::new()
    };
    let mut store = Store::open(&config::cache_dir(global)?)?;
    let entries = store.index.list(&filter)?;
    if entries.is_empty() && !args.all {
        let within = repo.map(|r| format!(" in repo {r}")).unwrap_or_default();
        anyhow::bail!("no cache entry with {what}{within}: nothing deleted (see `wit-cache list`)");
    }
    let removed = if args.dry_run {
        Removed {
            count: entries.len(),
            freed_bytes: entries.iter().map(|e| e.size_bytes).sum(),
            keys: entries.iter().map(|e| e.key.clone()).collect(),
        }
    } else {
        store.remove_entries(&entries)?
    };
    let verb = if args.dry_run {
        "Would delete"
    } else {
        "Deleted"
    };
    printer.status(&format!(
        "{verb} {} ({}){}",
        count(removed.count as u64, "cache entry", "cache entries"),
        human_size(removed.freed_bytes),
        if removed.keys.is_empty() {
            String::new()
        } else {
            format!(": {}", removed.keys.join(", "))
        }
    ));
    if printer.json_mode() {
        printer.json(&views::removed(&removed, args.dry_run));
    }
    Ok(ExitCode::SUCCESS)
}
