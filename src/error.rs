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

/// `restore --fail-on-miss` found nothing to restore.
#[derive(Debug, thiserror::Error)]
#[error("cache miss for key '{key}' (--fail-on-miss is set)")]
pub struct MissError {
    pub key: String,
}

/// `verify` found damaged entries; they were already removed and reported.
#[derive(Debug, thiserror::Error)]
#[error("{count} damaged cache entr{} found and removed", if *.count == 1 { "y" } else { "ies" })]
pub struct DamagedError {
    pub count: usize,
}

/// The one place an error becomes an exit code.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    let code = if err.downcast_ref::<UsageError>().is_some() {
        USAGE
    } else if err.downcast_ref::<MissError>().is_some() {
        MISS
    } else if err.downcast_ref::<DamagedError>().is_some() {
        DAMAGED
    } else {
        FAILURE
    };
    ExitCode::from(code)
}

/// Shorthand for returning a [`UsageError`] from a function that returns `anyhow::Result`.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::error::UsageError(format!($($arg)*))))
    };
}
pub(crate) use usage;
