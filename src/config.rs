//! Settings that come from flags, then `WIT_*` variables, then the seed's older names.
//!
//! Every value is validated here once, with an error that names the flag or variable.

use std::env;
use std::path::PathBuf;

use std::time::Duration;

use anyhow::Context as _;

use crate::cli::GlobalArgs;
use crate::error::UsageError;
use crate::{keys, units};

fn env_nonempty(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The store directory: `--cache-dir` / `WIT_CACHE_DIR`, then `CACHE_DIR`, then the platform
/// cache directory (`~/.cache/wit-cache` on Linux).
pub fn cache_dir(args: &GlobalArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = args
        .cache_dir
        .as_ref()
        .filter(|d| !d.as_os_str().is_empty())
    {
        return Ok(dir.clone());
    }
    if let Some(dir) = env_nonempty("CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "wit-cache")
        .map(|d| d.cache_dir().to_path_buf())
        .ok_or_else(|| {
            UsageError::new(
                "no home directory to put the cache in: set --cache-dir or WIT_CACHE_DIR",
            )
            .into()
        })
}

/// The repo id, if one is set: `--repo`, `WIT_REPO`, `GITHUB_REPOSITORY`.
pub fn repo(args: &GlobalArgs) -> Result<Option<String>, UsageError> {
    let (raw, source) = match (
        &args.repo,
        env_nonempty("WIT_REPO"),
        env_nonempty("GITHUB_REPOSITORY"),
    ) {
        (Some(r), _, _) => (r.clone(), "--repo"),
        (None, Some(r), _) => (r, "WIT_REPO"),
        (None, None, Some(r)) => (r, "GITHUB_REPOSITORY"),
        (None, None, None) => return Ok(None),
    };
    keys::parse_name(&raw, source).map(Some)
}

/// The repo id for commands that need one.
pub fn required_repo(args: &GlobalArgs) -> Result<String, UsageError> {
    repo(args)?.ok_or_else(|| {
        UsageError::new(
            "no repository given: pass --repo OWNER/NAME or set WIT_REPO (or GITHUB_REPOSITORY)",
        )
    })
}

/// The workspace that relative paths start from: `--workspace`, `GITHUB_WORKSPACE`, the
/// current directory; always absolute.
pub fn workspace(args: &GlobalArgs) -> anyhow::Result<PathBuf> {
    let (dir, source) = match (&args.workspace, env_nonempty("GITHUB_WORKSPACE")) {
        (Some(w), _) => (w.clone(), "--workspace"),
        (None, Some(w)) => (PathBuf::from(w), "GITHUB_WORKSPACE"),
        (None, None) => {
            return env::current_dir()
                .context("cannot read the current directory: pass --workspace")
        }
    };
    let abs = if dir.is_absolute() {
        dir
    } else {
        env::current_dir()
            .context("cannot read the current directory")?
            .join(dir)
    };
    if !abs.is_dir() {
        return Err(
            UsageError::new(format!("{source} {} is not a directory", abs.display())).into(),
        );
    }
    Ok(crate::paths::normalize(&abs))
}

/// The home directory that `~/` in paths and patterns expands to.
pub fn home() -> Option<PathBuf> {
    env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

/// The run that creates an entry: `--run-id`, `WIT_RUN_ID`, `GITHUB_RUN_ID`.
pub fn run_id(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| env_nonempty("WIT_RUN_ID"))
        .or_else(|| env_nonempty("GITHUB_RUN_ID"))
}

/// A validated scope (`None` = no scope).
pub fn scope(raw: Option<&str>, flag: &str) -> Result<Option<String>, UsageError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| keys::parse_name(s, flag))
        .transpose()
}

/// `gc`'s size limit per repo: `--max-size`, `WIT_CACHE_MAX_SIZE`, the seed's
/// `MAX_CACHE_SIZE_GB` (whole GiB), 10 GiB.
pub fn max_size(flag: Option<&str>) -> Result<u64, UsageError> {
    if let Some(raw) = flag {
        return units::parse_size(raw, "--max-size");
    }
    if let Some(raw) = env_nonempty("WIT_CACHE_MAX_SIZE") {
        return units::parse_size(&raw, "WIT_CACHE_MAX_SIZE");
    }
    if let Some(raw) = env_nonempty("MAX_CACHE_SIZE_GB") {
        let gb: u64 = raw.trim().parse().map_err(|_| {
            UsageError::new(format!(
                "MAX_CACHE_SIZE_GB '{raw}' is not a whole number of GiB"
            ))
        })?;
        return gb
            .checked_mul(1 << 30)
            .ok_or_else(|| UsageError::new(format!("MAX_CACHE_SIZE_GB '{raw}' is too large")));
    }
    Ok(10 << 30)
}

/// `gc`'s idle limit: `--max-age`, `WIT_CACHE_TTL`, the seed's `CACHE_TTL_DAYS`, 7 days.
pub fn max_age(flag: Option<&str>) -> Result<Duration, UsageError> {
    if let Some(raw) = flag {
        return units::parse_age(raw, "--max-age");
    }
    if let Some(raw) = env_nonempty("WIT_CACHE_TTL") {
        return units::parse_age(&raw, "WIT_CACHE_TTL");
    }
    if let Some(raw) = env_nonempty("CACHE_TTL_DAYS") {
        let days: u64 = raw.trim().parse().map_err(|_| {
            UsageError::new(format!(
                "CACHE_TTL_DAYS '{raw}' is not a whole number of days"
            ))
        })?;
        return days
            .checked_mul(86_400)
            .map(Duration::from_secs)
            .ok_or_else(|| UsageError::new(format!("CACHE_TTL_DAYS '{raw}' is too large")));
    }
    Ok(Duration::from_secs(7 * 86_400))
}

/// The shared object store: `--store` / `WIT_CACHE_STORE`, validated; `None` = local only.
pub fn remote_store(args: &GlobalArgs) -> Result<Option<crate::store::StoreUrl>, UsageError> {
    args.store
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| crate::store::StoreUrl::parse(s.trim(), "--store"))
        .transpose()
}
