//! Typed errors that decide the exit code, and the one table that maps them.
//!
//! Everything else is an `anyhow::Error` with context and exits 1. Exit codes are part of the
//! contract (README, man page): 0 success (a cache miss is a success), 1 error, 2 bad input,
//! 3 cache miss under `--fail-on-miss`, 4 damaged entries found by `verify`.

use std::process::ExitCode;

/// Exit code: an operation failed (I/O, a broken store, …).
pub const FAILURE: u8 = 1;
/// Exit code: bad input on the command line or in the environment.
pub const USAGE: u8 = 2;
/// Exit code: `restore --fail-on-miss` found no entry.
pub const MISS: u8 = 3;
/// Exit code: `verify` found (and removed) damaged entries.
pub const DAMAGED: u8 = 4;

/// Bad input: a value that breaks a documented rule. The message names the value and the rule.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// How a command ended, when it did not fail: the one type every command returns, mapped to
/// an exit code in [`exit_code`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// `restore --fail-on-miss` found nothing to restore.
    Miss,
    /// `verify` found (and removed) this many damaged entries.
    Damaged(usize),
    /// `run`: the command's own exit status.
    Child(u8),
}

/// The one place an outcome becomes an exit code.
pub fn exit_code(result: &anyhow::Result<Exit>) -> ExitCode {
    let code = match result {
        Ok(Exit::Success) => 0,
        Ok(Exit::Miss) => MISS,
        Ok(Exit::Damaged(_)) => DAMAGED,
        Ok(Exit::Child(code)) => *code,
        Err(err) if err.downcast_ref::<UsageError>().is_some() => USAGE,
        Err(_) => FAILURE,
    };
    ExitCode::from(code)
}
