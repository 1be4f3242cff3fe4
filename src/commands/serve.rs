//! `serve`: the cache settings web page and JSON API. This only reads the settings (store,
//! listen address, admin token); the server itself lives in [`crate::serve`].

use crate::error::Exit;
use std::path::Path;

use anyhow::Context as _;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::config;
use crate::error::UsageError;
use crate::output::Printer;
use crate::serve::{self, AdminToken};

/// The environment variable that holds the admin token when no `--admin-token-file` is given.
const TOKEN_ENV: &str = "WIT_CACHE_ADMIN_TOKEN";

pub fn run(global: &GlobalArgs, args: &ServeArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let admin = admin_token(args.admin_token_file.as_deref(), printer)?;
    let settings = serve::Settings {
        store_root: config::cache_dir(global)?,
        listen: args.listen,
        admin,
    };
    serve::run(&settings, printer)?;
    Ok(Exit::Success)
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
