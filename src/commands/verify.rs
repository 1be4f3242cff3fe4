//! `verify`: re-hash every archive against the index; damaged entries are reported and
//! removed, and the exit code says so.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::GlobalArgs;
use crate::config;
use crate::error::DamagedError;
use crate::output::Printer;
use crate::store::Store;

pub fn run(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let repo = config::repo(global)?;
    let mut store = Store::open(&config::cache_dir(global)?)?;
    let (total, damaged) = store.verify(repo.as_deref())?;
    for (e, why) in &damaged {
        printer.warn(&format!(
            "cache entry '{}' (id {}, repo {}) is damaged: {why}; removed",
            e.key, e.id, e.repo
        ));
    }
    printer.status(&format!(
        "Verified {total} cache entries: {} damaged",
        damaged.len()
    ));
    if printer.json_mode() {
        printer.json(&json!({
            "verified": total,
            "damaged": damaged.iter().map(|(e, why)| json!({"id": e.id, "repo": e.repo, "key": e.key, "reason": why})).collect::<Vec<_>>(),
        }));
    }
    if damaged.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(DamagedError {
            count: damaged.len(),
        }
        .into())
    }
}
