//! `run`: the whole actions/cache lifecycle around one command — restore, run, and save when
//! the command succeeded and the primary key was not an exact hit. For CI systems without a
//! post-job hook (GitLab, Jenkins, a Makefile).

use std::process::Command;

use serde_json::json;

use crate::cli::{GlobalArgs, RunArgs};
use crate::error::Exit;
use crate::output::Printer;
use crate::request::{EntryRequest, RestoreRequest, SaveRequest, Stores};

use super::{restore, save};

pub fn run(global: &GlobalArgs, args: &RunArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let entry = EntryRequest::parse(global, &args.entry, "the paths to restore and save")?;
    let restore_req = RestoreRequest::parse(entry.clone(), &args.fallback)?;
    let save_req = SaveRequest::parse(entry, &args.codec, false, None)?;
    let stores = Stores::from_global(global)?;
    let restored = restore::restore(&stores, &restore_req, printer)?;

    if args.skip_on_hit && restored.cache_hit == Some(true) {
        printer.status("Cache hit on the primary key; not running the command (--skip-on-hit)");
        if printer.json_mode() {
            printer.json(&json!({
                "restore": restored.doc,
                "exit_code": null,
                "skipped": true,
                "save": null,
            }));
        }
        return Ok(Exit::Success);
    }
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command.args(rest);
    // As the action's `cache-hit` output: "true", "false", or empty on a miss.
    command.env(
        "WIT_CACHE_HIT",
        restored.cache_hit.map_or(String::new(), |h| h.to_string()),
    );
    command.env(
        "WIT_CACHE_MATCHED_KEY",
        restored.matched_key.as_deref().unwrap_or(""),
    );
    if printer.json_mode() {
        // stdout carries the one JSON document: the command's output goes to stderr.
        use std::os::fd::AsFd as _;
        let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
        command.stdout(stderr);
    }
    let started = std::time::Instant::now();
    let status = match command.status() {
        Ok(s) => s,
        Err(e) => {
            // As env(1) and xargs(1) do: 127 when the command is not found, 126 otherwise.
            printer.warn(&format!("cannot run '{program}': {e}"));
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Ok(Exit::Child(code));
        }
    };
    let code = exit_code_of(status);
    // What the restore saved is worth this much command time (for `stats`).
    if let Some(attempt) = restored.attempt {
        let ms = started.elapsed().as_millis() as u64;
        if let Err(e) = stores
            .local()
            .and_then(|mut s| s.record_command_time(attempt, ms))
        {
            printer.detail(&format!("the command's time was not recorded: {e:#}"));
        }
    }

    let saved = if code != 0 {
        printer.status(&format!(
            "'{program}' failed (exit {code}); not saving the cache"
        ));
        None
    } else if restored.cache_hit == Some(true) {
        printer.status("Cache hit on the primary key; not saving");
        None
    } else {
        // A failed save never fails a command that succeeded: the cache is an optimisation.
        match save::save(&stores, &save_req, printer) {
            Ok(doc) => Some(doc),
            Err(e) => {
                printer.warn(&format!("the cache was not saved: {e:#}"));
                None
            }
        }
    };
    if printer.json_mode() {
        printer.json(&json!({
            "restore": restored.doc,
            "exit_code": code,
            "skipped": false,
            "save": saved,
        }));
    }
    Ok(Exit::Child(code))
}

/// The command's status as an exit code: its own, or 128 + the signal that killed it.
fn exit_code_of(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        (None, None) => 1,
    }
}
