//! `serve`: the cache settings web page and JSON API. This only reads the settings (store,
//! listen address, tokens, limits); the server itself lives in [`crate::serve`].

use std::path::Path;

use anyhow::Context as _;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::config;
use crate::error::{Exit, UsageError};
use crate::output::Printer;
use crate::serve::{self, AdminToken, Limits, RepoToken, Tokens};
use crate::units::parse_age;

/// The environment variable that holds the admin token when no `--admin-token-file` is given.
const TOKEN_ENV: &str = "WIT_CACHE_ADMIN_TOKEN";

pub fn run(global: &GlobalArgs, args: &ServeArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let admin = admin_token(args.admin_token_file.as_deref(), printer)?;
    let repos = match &args.tokens_file {
        Some(path) => repo_tokens(path, printer)?,
        None => Vec::new(),
    };
    let settings = serve::Settings {
        store_root: config::cache_dir(global)?,
        listen: args.listen,
        tokens: Tokens::new(admin, repos),
        limits: limits()?,
    };
    serve::run(settings, printer)?;
    Ok(Exit::Success)
}

/// The repository tokens of `--tokens-file`; a malformed line stops the server from starting.
fn repo_tokens(path: &Path, printer: &Printer) -> anyhow::Result<Vec<RepoToken>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read --tokens-file {}", path.display()))?;
    let tokens = serve::parse_tokens_file(&bytes, &format!("--tokens-file {}", path.display()))?;
    if tokens.is_empty() {
        printer.warn(&format!(
            "--tokens-file {} holds no tokens: only the admin token can delete",
            path.display()
        ));
    }
    Ok(tokens)
}

/// The connection limits. The defaults suit every deployment we know of; these variables,
/// left out of the documentation on purpose, exist so that tests can use short timeouts and a
/// small cap: `WIT_CACHE_SERVE_HEADER_TIMEOUT`, `…_BODY_TIMEOUT`, `…_WRITE_TIMEOUT` (ages such
/// as `1s`) and `WIT_CACHE_SERVE_MAX_CONNECTIONS`.
fn limits() -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    for (name, slot) in [
        ("WIT_CACHE_SERVE_HEADER_TIMEOUT", &mut limits.header_timeout),
        ("WIT_CACHE_SERVE_BODY_TIMEOUT", &mut limits.body_timeout),
        ("WIT_CACHE_SERVE_WRITE_TIMEOUT", &mut limits.write_timeout),
    ] {
        if let Some(raw) = env_value(name)? {
            let value = parse_age(&raw, name)?;
            if value.is_zero() {
                return Err(
                    UsageError::new(format!("{name} '{raw}' must be longer than 0")).into(),
                );
            }
            *slot = value;
        }
    }
    let name = "WIT_CACHE_SERVE_MAX_CONNECTIONS";
    if let Some(raw) = env_value(name)? {
        limits.max_connections = raw.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            UsageError::new(format!(
                "{name} '{raw}' is not a whole number of at least 1"
            ))
        })?;
    }
    Ok(limits)
}

fn env_value(name: &str) -> Result<Option<String>, UsageError> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(UsageError::new(format!("{name} is not valid UTF-8")))
        }
    }
}

/// The admin token: the first line of `--admin-token-file`, else `WIT_CACHE_ADMIN_TOKEN`.
/// Surrounding whitespace (the file's trailing newline) is not part of the token.
fn admin_token(file: Option<&Path>, printer: &Printer) -> anyhow::Result<Option<AdminToken>> {
    let (secret, source) = if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --admin-token-file {}", path.display()))?;
        warn_if_readable_by_others(path, printer);
        (text, format!("--admin-token-file {}", path.display()))
    } else {
        match std::env::var(TOKEN_ENV) {
            Ok(v) if !v.trim().is_empty() => (v, TOKEN_ENV.to_string()),
            _ => return Ok(None),
        }
    };
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(
            UsageError::new(format!("{source} is empty: it must hold the admin token")).into(),
        );
    }
    if secret.chars().any(char::is_control) {
        return Err(UsageError::new(format!(
            "{source} holds more than one line or a control character: the token must be one line"
        ))
        .into());
    }
    Ok(Some(AdminToken::new(secret)))
}

fn warn_if_readable_by_others(path: &Path, printer: &Printer) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            printer.warn(&format!(
                "{} is readable by other users: chmod 600 it",
                path.display()
            ));
        }
    }
}
