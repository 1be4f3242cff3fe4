//! `wit-cache`: the dependency cache of the wit CI system.
//!
//! `main` only parses, runs and maps the outcome to an exit code; the work lives in
//! [`commands`], the on-disk store in [`store`], and every exit code is chosen in [`error`].

mod cli;
mod clock;
mod commands;
mod config;
mod error;
mod hash_files;
mod keys;
mod output;
mod paths;
mod serve;
mod store;
mod units;
mod views;

use std::process::ExitCode;

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
