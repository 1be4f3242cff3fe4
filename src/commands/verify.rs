//! `verify`: re-hash every archive against the index; damaged entries are reported and
//! removed, and the exit code says so.

use serde_json::json;

use crate::cli::GlobalArgs;
use crate::config;
use crate::error::Exit;
use crate::output::Printer;
use crate::request::Stores;

pub fn run(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let repo = config::repo(global)?;
    let mut store = Stores::from_global(global)?.local()?;
    let v = store.verify(repo.as_deref())?;
    for (e, why) in &v.damaged {
        printer.warn(&format!(
            "cache entry '{}' (id {}, repo {}) is damaged: {why}; removed",
            e.key,
            e.usage.as_ref().map_or(0, |u| u.id),
            e.repo
        ));
    }
    for b in &v.bad {
        let fate = if b.damage.is_foreign() {
            "left alone (it may be a newer wit-cache's)"
        } else {
            "removed"
        };
        printer.warn(&format!(
            "{} (key '{}', repo {}) is not a usable cache entry: {}; {fate}",
            b.place, b.key, b.repo, b.damage
        ));
    }
    for line in &v.left_alone {
        printer.warn(line);
    }
    let damaged = v.damaged.len() + v.bad.len();
    printer.status(&format!(
        "Verified {} cache entries: {damaged} damaged",
        v.checked
    ));
    if printer.json_mode() {
        let mut list: Vec<serde_json::Value> = v
            .damaged
            .iter()
            .map(|(e, why)| {
                json!({
                    "id": e.usage.as_ref().map(|u| u.id),
                    "repo": e.repo,
                    "key": e.key,
                    "reason": why,
                })
            })
            .collect();
        list.extend(v.bad.iter().map(
            |b| json!({"id": b.row, "repo": b.repo, "key": b.key, "reason": b.damage.to_string()}),
        ));
        printer.json(&json!({ "verified": v.checked, "damaged": list }));
    }
    if damaged == 0 {
        Ok(Exit::Success)
    } else {
        printer.error_line(&format!(
            "{damaged} damaged cache entr{} found and removed",
            if damaged == 1 { "y" } else { "ies" }
        ));
        Ok(Exit::Damaged(damaged))
    }
}
