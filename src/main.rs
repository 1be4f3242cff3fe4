//! `wit-cache`: parse, run, map the outcome to an exit code (see the library for the rest).

use std::process::ExitCode;

use wit_cache::{cli, commands, error, output};

fn main() -> ExitCode {
    let cli = cli::parse();
    let printer = output::Printer::new(&cli.global);
    match commands::run(cli, &printer) {
        Ok(code) => code,
        Err(err) => {
            printer.error(&err);
            error::exit_code_for(&err)
        }
    }
}
