//! `wit-cache`: parse, run, map the outcome to an exit code (see the library for the rest).

use std::process::ExitCode;

use wit_cache::{cli, commands, error, output};

fn main() -> ExitCode {
    let cli = cli::parse();
    let printer = output::Printer::new(&cli.global);
    let result = commands::run(cli, &printer);
    if let Err(err) = &result {
        printer.error(err);
    }
    error::exit_code(&result)
}
