//! `completions SHELL`: the same completion scripts that are checked in under `completions/`.

use crate::error::Exit;

use crate::cli::CompletionsArgs;
use crate::docs;
use crate::output::Printer;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> Exit {
    let script = docs::completion(args.shell);
    printer.stdout(&String::from_utf8_lossy(&script));
    Exit::Success
}
