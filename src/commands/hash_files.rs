//! `hash-files`: GitHub's `hashFiles()` on the command line (see [`crate::hash_files`]).

use std::os::unix::ffi::OsStrExt;

use crate::error::Exit;

use serde_json::json;

use crate::cli::{GlobalArgs, HashFilesArgs};
use crate::config;
use crate::hash_files::{escape_for_log, hash_files, HashOptions};
use crate::output::Printer;

pub fn run(global: &GlobalArgs, args: &HashFilesArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let workspace = config::workspace(global)?;
    let options = HashOptions {
        follow_symbolic_links: args.follow_symbolic_links,
    };
    let result = hash_files(&workspace, &args.patterns, &options)?;
    for skipped in &result.skipped {
        printer.warn(&format!(
            "hash-files: not hashed: {} is {}",
            escape_for_log(skipped.path.as_bytes()),
            skipped.what
        ));
    }
    if result.files == 0 {
        let patterns: Vec<String> = args
            .patterns
            .iter()
            .map(|p| format!("'{}'", escape_for_log(p.as_bytes())))
            .collect();
        printer.warn(&format!(
            "hash-files: no file matched {} in the workspace {}; the hash is empty, as GitHub's hashFiles() returns",
            patterns.join(", "),
            escape_for_log(workspace.as_os_str().as_bytes())
        ));
    }
    if printer.json_mode() {
        printer.json(&json!({ "hash": result.hash, "files": result.files }));
    } else {
        printer.stdout(&format!("{}\n", result.hash));
    }
    printer.detail(&format!("{} files hashed", result.files));
    Ok(Exit::Success)
}
