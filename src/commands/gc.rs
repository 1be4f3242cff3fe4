//! `gc`: the store's garbage collection, safe to run from cron while jobs restore and save.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{GcArgs, GlobalArgs};
use crate::output::Printer;
use crate::store::gc::Policy;
use crate::store::Store;
use crate::units::{count, human_size};
use crate::{clock, config};

pub fn run(global: &GlobalArgs, args: &GcArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if args.remote {
        return super::remote::gc(global, args, printer);
    }
    let policy = Policy {
        max_age: config::max_age(args.max_age.as_deref())?,
        max_size: config::max_size(args.max_size.as_deref())?,
        now_ms: clock::now_ms(),
    };
    let repo = config::repo(global)?;
    let mut store = Store::open(&config::cache_dir(global)?)?;
    let report = store.gc(&policy, repo.as_deref(), args.dry_run)?;
    let r = &report.removed;
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    printer.status(&format!(
        "{verb} {} ({}); {} without archive, {}, {}",
        count(r.count as u64, "cache entry", "cache entries"),
        human_size(r.freed_bytes),
        count(report.vanished as u64, "row", "rows"),
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
    for key in &r.keys {
        printer.detail(&format!("  {key}"));
    }
    if printer.json_mode() {
        printer.json(&json!({
            "deleted": r.count,
            "freed_bytes": r.freed_bytes,
            "keys": r.keys,
            "orphans_removed": report.orphans_removed,
            "vanished_rows": report.vanished,
            "temp_removed": report.temp_removed,
            "dry_run": report.dry_run,
        }));
    }
    Ok(ExitCode::SUCCESS)
}
