//! Completions and man pages, generated from the clap definitions.
//!
//! The generated files are committed under `completions/` and `man/`; a test compares them
//! with what this module produces and fails with the command that regenerates them
//! (`WIT_CACHE_BLESS=1 cargo test generated_files`). There is no build script for this.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

const BIN: &str = "wit-cache";

/// The completion script for one shell.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut out);
    out
}

/// Every generated file, as (path relative to the repository, contents).
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "wit-cache.bash"),
        (Shell::Zsh, "_wit-cache"),
        (Shell::Fish, "wit-cache.fish"),
        (Shell::Elvish, "wit-cache.elv"),
        (Shell::PowerShell, "_wit-cache.ps1"),
    ] {
        files.push((PathBuf::from("completions").join(name), completion(shell)));
    }
    let mut cmd = Cli::command();
    cmd.build();
    files.push((PathBuf::from("man/wit-cache.1"), man_page(cmd.clone())));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{BIN}-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("{BIN} {}", sub.get_name()));
        files.push((PathBuf::from(format!("man/{name}.1")), man_page(page)));
    }
    files
}

fn man_page(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .expect("rendering into a Vec cannot fail");
    out
}
