//! `run`: the whole actions/cache lifecycle around one command — restore, run, and save when
//! the command succeeded and the primary key was not an exact hit. For CI systems without a
//! post-job hook (GitLab, Jenkins, a Makefile).

use std::process::{Command, ExitCode};

use serde_json::json;

use crate::cli::{GlobalArgs, RestoreArgs, RunArgs, SaveArgs};
use crate::output::Printer;

use super::{restore, save};

pub fn run(global: &GlobalArgs, args: &RunArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let restore_args = RestoreArgs {
        entry: args.entry.clone(),
        fallback: args.fallback.clone(),
        lookup_only: false,
        fail_on_miss: false,
        read_only: false,
    };
    let restored = restore::restore(global, &restore_args, printer)?;

    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command.args(rest);
    if printer.json_mode() {
        // stdout carries the one JSON document: the command's output goes to stderr.
        use std::os::fd::AsFd as _;
        let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
        command.stdout(stderr);
    }
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
            return Ok(ExitCode::from(code));
        }
    };
    let code = exit_code_of(status);

    let saved = if code != 0 {
        printer.status(&format!(
            "'{program}' failed (exit {code}); not saving the cache"
        ));
        None
    } else if restored.cache_hit == Some(true) {
        printer.status("Cache hit on the primary key; not saving");
        None
    } else {
        let save_args = SaveArgs {
            entry: args.entry.clone(),
            codec: args.codec,
            overwrite: false,
            run_id: None,
        };
        // A failed save never fails a command that succeeded: the cache is an optimisation.
        match save::save(global, &save_args, printer) {
            Ok(doc) => Some(doc),
            Err(e) => {
                printer.warn(&format!("the cache was not saved: {e:#}"));
                None
            }
        }
    };
    if printer.json_mode() {
        printer.json(&json!({ "restore": restored.doc, "exit_code": code, "save": saved }));
    }
    Ok(ExitCode::from(code))
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
