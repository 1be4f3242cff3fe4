//! `hash-files`: GitHub's `hashFiles()` on the command line (see [`crate::hash_files`]).

use crate::error::Exit;

use serde_json::json;

use crate::cli::{GlobalArgs, HashFilesArgs};
use crate::config;
use crate::hash_files::{hash_files, HashOptions};
use crate::output::Printer;

pub fn run(global: &GlobalArgs, args: &HashFilesArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let workspace = config::workspace(global)?;
    let options = HashOptions {
        follow_symbolic_links: args.follow_symbolic_links,
    };
    let result = hash_files(&workspace, &args.patterns, &options)?;
    if printer.json_mode() {
        printer.json(&json!({ "hash": result.hash, "files": result.files }));
    } else {
        printer.stdout(&format!("{}\n", result.hash));
    }
    printer.detail(&format!("{} files hashed", result.files));
    Ok(Exit::Success)
}
