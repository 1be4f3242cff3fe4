//! `gc`: garbage collection of the local store (safe to run from cron while jobs restore and
//! save) or, with `--remote`, of the shared one.

use std::borrow::Cow;

use serde_json::json;

use crate::cli::{GcArgs, GlobalArgs};
use crate::config;
use crate::error::Exit;
use crate::output::Printer;
use crate::request::Stores;
use crate::store::gc::Policy;
use crate::store::Timestamp;
use crate::units::{count, human_size};

pub fn run(global: &GlobalArgs, args: &GcArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let policy = Policy {
        max_age: config::max_age(args.max_age.as_deref())?,
        max_size: config::max_size(args.max_size.as_deref())?,
        now_ms: Timestamp::now().ms(),
    };
    let repo = config::repo(global)?;
    let mut tier = Stores::from_global(global)?.tier(args.remote)?;
    let location = tier.location();
    let report = tier
        .gc(&policy, repo.as_deref(), args.dry_run)
        .map_err(|e| e.context(format!("cannot collect garbage in {location}")))?;
    let r = &report.removed;
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    printer.status(&format!(
        "{verb} {} ({}) from {location}; {} without archive, {}, {}, {}",
        count(r.count as u64, "cache entry", "cache entries"),
        human_size(r.freed_bytes),
        count(report.vanished as u64, "row", "rows"),
        count(report.damaged as u64, "damaged row", "damaged rows"),
        count(
            report.orphans_removed as u64,
            "orphan archive",
            "orphan archives"
        ),
        count(
            report.temp_removed as u64,
            "stale temp file",
            "stale temp files"
        ),
    ));
    if report.packs_removed > 0 {
        printer.status(&format!(
            "{verb} {} that no entry needs",
            count(report.packs_removed as u64, "cas pack", "cas packs")
        ));
    }
    if args.dry_run && !printer.json_mode() && !report.doomed.is_empty() {
        // What a real run would remove, on stdout: a table to read or grep.
        // Cells borrow from the report: only the size is a new string, so a table of
        // thousands of doomed entries copies no key or repo.
        let rows: Vec<[Cow<'_, str>; 5]> = report
            .doomed
            .iter()
            .map(|d| {
                [
                    Cow::Borrowed(d.repo.as_str()),
                    Cow::Borrowed(d.key.as_str()),
                    Cow::Borrowed(d.scope.as_deref().unwrap_or("-")),
                    Cow::Owned(human_size(d.size_bytes)),
                    Cow::Borrowed(d.why),
                ]
            })
            .collect();
        printer.table(&["REPO", "KEY", "SCOPE", "SIZE", "WHY"], &rows, &[3]);
    } else {
        for key in &r.keys {
            printer.detail(&format!("  {key}"));
        }
    }
    for line in &r.left_alone {
        printer.warn(line);
    }
    if printer.json_mode() {
        printer.json(&json!({
            "deleted": r.count,
            "freed_bytes": r.freed_bytes,
            "keys": r.keys,
            "orphans_removed": report.orphans_removed,
            "vanished_rows": report.vanished,
            "damaged_rows": report.damaged,
            "temp_removed": report.temp_removed,
            "packs_removed": report.packs_removed,
            "left_alone": r.left_alone,
            "dry_run": report.dry_run,
            "entries": report.doomed.iter().map(|d| json!({
                "repo": d.repo,
                "key": d.key,
                "scope": d.scope,
                "size_bytes": d.size_bytes,
                "why": d.why,
            })).collect::<Vec<_>>(),
            "store": location,
        }));
    }
    // The process ends next: the exit frees thousands of listed entries faster than drops.
    std::mem::forget(report);
    Ok(Exit::Success)
}
