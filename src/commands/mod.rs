//! One module per subcommand. Each reads validated arguments, calls the store, and reports
//! through the [`Printer`]; none writes SQL or knows tar headers.

mod hash_files;
mod restore;
mod save;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::output::Printer;

pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Restore(args) => restore::run(&cli.global, &args, printer),
        Command::Save(args) => save::run(&cli.global, &args, printer),
        Command::HashFiles(args) => hash_files::run(&cli.global, &args, printer),
    }
}
