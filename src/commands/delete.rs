//! `delete`: remove entries by id, key, prefix, or all of a repo (the seed's `clearCaches`),
//! in the local store or (`--remote`) the shared one.

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::config;
use crate::error::Exit;
use crate::output::Printer;
use crate::request::{self, Stores};
use crate::store::tier::{Removal, Removed};
use crate::store::{Filter, Sort};
use crate::units::{count, human_size};
use crate::views;

pub fn run(global: &GlobalArgs, args: &DeleteArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    // An id names one entry anywhere; keys, prefixes and --all act within one repo.
    let repo = if args.id.is_some() {
        config::repo(global)?
    } else {
        Some(config::required_repo(global)?)
    };
    let mut filter = Filter {
        repo: repo.clone(),
        scope,
        sort: Sort::Created,
        ..Filter::default()
    };
    let what = if let Some(id) = args.id {
        filter.id = Some(id);
        format!("id {id}")
    } else if let Some(key) = &args.key {
        filter.key_folded = Some(request::key_input(key, "--key")?.folded());
        format!("key '{key}'")
    } else if let Some(prefix) = &args.prefix {
        filter.prefix_folded = Some(request::key_input(prefix, "--prefix")?.folded());
        format!("a key starting with '{prefix}'")
    } else {
        String::new()
    };
    let mut tier = Stores::from_global(global)?.tier(args.remote)?;
    let location = tier.location();
    let listing = tier.list(&filter)?;
    super::list::report_bad(&listing, printer);
    let entries = listing.entries;
    if entries.is_empty() && !args.all {
        let mut within = repo.map(|r| format!(" in repo {r}")).unwrap_or_default();
        if args.remote {
            within.push_str(&format!(" in {location}"));
        }
        anyhow::bail!("no cache entry with {what}{within}: nothing deleted (see `wit-cache list`)");
    }
    let removed = if args.dry_run {
        Removed::would(&entries)
    } else {
        tier.delete(&entries, Removal::Deleted)
            .map_err(|e| e.context(format!("cannot delete from {location}")))?
    };
    report(&removed, args.dry_run, &location, printer);
    if printer.json_mode() {
        printer.json(&views::removed(&removed, args.dry_run));
    }
    Ok(Exit::Success)
}

fn report(removed: &Removed, dry_run: bool, location: &str, printer: &Printer) {
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    printer.status(&format!(
        "{verb} {} ({}) from {location}{}",
        count(removed.count as u64, "cache entry", "cache entries"),
        human_size(removed.freed_bytes),
        if removed.keys.is_empty() {
            String::new()
        } else {
            format!(": {}", removed.keys.join(", "))
        }
    ));
    for line in &removed.left_alone {
        printer.warn(line);
    }
}
