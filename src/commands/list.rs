//! `list`: the entries of a repo (or of every repo), as a table or `{"caches": [...]}`, in
//! the local store or (`--remote`) the shared one.

use std::borrow::Cow;

use crate::cli::{GlobalArgs, ListArgs, SortBy};
use crate::config;
use crate::error::Exit;
use crate::output::Printer;
use crate::request::{self, Stores};
use crate::store::entry::Timestamp;
use crate::store::tier::Listing;
use crate::store::{Filter, Sort, Tier};
use crate::units::{ago, count, human_size};
use crate::views;

pub fn run(global: &GlobalArgs, args: &ListArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| request::key_input(p, "--prefix"))
        .transpose()?;
    let filter = Filter {
        repo: repo.clone(),
        scope,
        prefix_folded: prefix.as_ref().map(crate::keys::Key::folded),
        sort: match args.sort {
            SortBy::Created => Sort::Created,
            SortBy::LastUsed => Sort::LastUsed,
            SortBy::Size => Sort::Size,
        },
        limit: request::limit(args.limit, "--limit")?,
        ..Filter::default()
    };
    let mut tier = Stores::from_global(global)?.tier(args.remote)?;
    let listing = tier.list(&filter).map_err(|e| {
        if args.remote {
            e.context(format!("cannot list the shared store {}", tier.location()))
        } else {
            e
        }
    })?;
    report_bad(&listing, printer);
    if printer.json_mode() {
        printer.json_doc(&views::ListView::new(
            tier.as_ref(),
            &listing.entries,
            listing.total,
        ));
        std::mem::forget(listing);
        return Ok(Exit::Success);
    }
    print_table(tier.as_ref(), &listing, repo.is_none(), printer);
    // The process ends next: freeing 10,000 entries one allocation at a time would be a
    // sixth of the command's time, for memory the exit returns anyway.
    std::mem::forget(listing);
    Ok(Exit::Success)
}

/// One warning per row or object that is not a usable entry.
pub fn report_bad(listing: &Listing, printer: &Printer) {
    for b in &listing.bad {
        printer.warn(&format!(
            "{} (key '{}') is not a usable cache entry: {}",
            b.place, b.key, b.damage
        ));
    }
}

fn print_table(tier: &dyn Tier, listing: &Listing, all_repos: bool, printer: &Printer) {
    let entries = &listing.entries;
    if entries.is_empty() {
        printer.status(&format!("No cache entries in {}", tier.location()));
        return;
    }
    let now = Timestamp::now().ms();
    let mut headers = vec!["ID"];
    if all_repos {
        headers.push("REPO");
    }
    headers.extend(["KEY", "SCOPE", "ARCHIVE", "HITS", "LAST USED", "CREATED"]);
    // Keys and repos are borrowed from the entries: a listing of 10,000 copies nothing twice.
    let rows: Vec<Vec<Cow<'_, str>>> = entries
        .iter()
        .map(|e| {
            let usage = e.usage.as_ref();
            let mut row = Vec::with_capacity(8);
            row.push(usage.map_or(Cow::Borrowed("-"), |u| Cow::Owned(u.id.to_string())));
            if all_repos {
                row.push(Cow::Borrowed(e.repo.as_str()));
            }
            row.extend([
                Cow::Borrowed(e.key.as_str()),
                Cow::Borrowed(e.scope.as_deref().unwrap_or("-")),
                Cow::Owned(human_size(e.size_bytes)),
                usage.map_or(Cow::Borrowed("-"), |u| {
                    Cow::Owned(u.access_count.to_string())
                }),
                match usage {
                    None => Cow::Borrowed("-"),
                    Some(u) if u.access_count == 0 => Cow::Borrowed("never"),
                    Some(u) => Cow::Owned(ago(u.last_accessed_at.ms(), now)),
                },
                Cow::Owned(ago(e.created_at.ms(), now)),
            ]);
            row
        })
        .collect();
    let offset = usize::from(all_repos);
    printer.table(&headers, &rows, &[0, 3 + offset, 4 + offset]);
    let total: u64 = entries.iter().map(|e| e.size_bytes).sum();
    let shown = if listing.total > entries.len() as u64 {
        format!(
            "{} of {}",
            entries.len(),
            count(listing.total, "entry", "entries")
        )
    } else {
        count(entries.len() as u64, "entry", "entries")
    };
    printer.status(&format!(
        "{shown}, {} in {}",
        human_size(total),
        tier.location()
    ));
}
