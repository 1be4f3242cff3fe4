//! One module per subcommand. Each reads a validated request ([`crate::request`]), calls a
//! store tier, and reports through the [`Printer`]; none writes SQL or knows tar headers,
//! and none knows which tier it talks to.

mod completions;
mod delete;
mod export;
mod gc;
mod hash_files;
mod list;
mod restore;
mod run;
mod save;
mod serve;
mod show;
mod stats;
mod verify;

use crate::cli::{Cli, Command};
use crate::error::Exit;
use crate::output::Printer;

pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<Exit> {
    // A bad --store is bad input whatever the command (exit 2), even when it is not used.
    crate::config::remote_store(&cli.global)?;
    match cli.command {
        Command::Restore(args) => restore::run(&cli.global, &args, printer),
        Command::Save(args) => save::run(&cli.global, &args, printer),
        Command::HashFiles(args) => hash_files::run(&cli.global, &args, printer),
        Command::List(args) => list::run(&cli.global, &args, printer),
        Command::Show(args) => show::run(&cli.global, &args, printer),
        Command::Delete(args) => delete::run(&cli.global, &args, printer),
        Command::Stats(args) => stats::run(&cli.global, &args, printer),
        Command::Gc(args) => gc::run(&cli.global, &args, printer),
        Command::Verify => verify::run(&cli.global, printer),
        Command::Export(args) => export::run(&cli.global, &args, printer),
        Command::Import(args) => export::import(&cli.global, &args, printer),
        Command::Serve(args) => serve::run(&cli.global, &args, printer),
        Command::Run(args) => run::run(&cli.global, &args, printer),
        Command::Completions(args) => Ok(completions::run(&args, printer)),
    }
}
