//! The validated request layer between clap and the commands.
//!
//! clap's structs ([`crate::cli`]) are plain data; every value is checked here once, into the
//! types the commands read, with errors that name the flag and the rule (exit 2). `run`
//! composes a restore request and a save request from its own arguments instead of
//! re-validating or fabricating clap structs.
//!
//! Inputs are read as GitHub's `@actions/core` reads them: a key is trimmed (a YAML block
//! scalar leaves a trailing newline), every `restore-keys` and `path` line is trimmed and
//! empty lines are dropped, and a path line `!  foo` is `!foo`. A newline *inside* a key stays
//! an error.

use std::path::PathBuf;

use crate::cli::{CodecArgs, EntryArgs, FallbackArgs, GlobalArgs};
use crate::config;
use crate::error::UsageError;
use crate::keys::{self, Key};
use crate::paths::CachePaths;
use crate::signing::Signer;
use crate::store::archive::Codec;
use crate::store::local::{LocalStore, Options};
use crate::store::tier::Query;
use crate::store::{Format, Identity, ObjectTier, ReadThrough, StoreUrl, Tier};

/// Where the stores are.
#[derive(Debug, Clone)]
pub struct Stores {
    pub dir: PathBuf,
    pub shared: Option<StoreUrl>,
}

impl Stores {
    pub fn from_global(global: &GlobalArgs) -> anyhow::Result<Self> {
        Ok(Self {
            dir: config::cache_dir(global)?,
            shared: config::remote_store(global)?,
        })
    }

    /// The local store, as management commands and `serve` open it.
    pub fn local(&self) -> anyhow::Result<LocalStore> {
        LocalStore::open(&self.dir, Self::options(false)?)
    }

    /// The local store opened read-only (it must exist), for what only reads the index.
    pub fn local_read_only(&self) -> anyhow::Result<LocalStore> {
        LocalStore::open(&self.dir, Self::options(true)?)
    }

    fn options(read_only: bool) -> anyhow::Result<Options> {
        Ok(Options {
            signer: Signer::from_env(),
            max_size: Some(config::max_size(None)?),
            read_only,
        })
    }

    /// The read-through pair `restore` and `save` use.
    pub fn pair(&self, read_only: bool) -> anyhow::Result<ReadThrough> {
        let local = LocalStore::open(&self.dir, Self::options(read_only)?)?;
        Ok(ReadThrough::new(
            local,
            self.shared.as_ref(),
            Signer::from_env(),
        ))
    }

    /// The tier a management command acts on: the shared store with `--remote`, else the
    /// local one.
    pub fn tier(&self, remote: bool) -> anyhow::Result<Box<dyn Tier>> {
        if !remote {
            return Ok(Box::new(self.local()?));
        }
        let Some(url) = &self.shared else {
            return Err(UsageError::new(
                "--remote needs a shared store: pass --store URL (s3://BUCKET[/PREFIX], gs://…, az://…, file:///DIR) or set WIT_CACHE_STORE",
            )
            .into());
        };
        Ok(Box::new(ObjectTier::new(url, Signer::from_env())?))
    }
}

/// A key as `core.getInput` reads it: surrounding whitespace (JavaScript's `trim()`, which
/// also drops a byte-order mark) removed, then the key rules.
pub fn key_input(raw: &str, flag: &str) -> Result<Key, UsageError> {
    Key::parse(trim_js(raw), flag)
}

/// JavaScript's `String.prototype.trim`: Unicode white space, line terminators and U+FEFF.
pub fn trim_js(s: &str) -> &str {
    // Rust's White_Space set is JavaScript's plus U+0085 and minus U+FEFF.
    s.trim_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}')
}

/// Multi-line inputs (`path:`, `restore-keys:`) as the action reads them: split on newlines,
/// each line trimmed, empty lines dropped, `!` followed by white space joined to what
/// follows.
pub fn lines_input(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split('\n'))
        .map(trim_js)
        .filter(|l| !l.is_empty())
        .map(|l| match l.strip_prefix('!') {
            Some(rest) => format!("!{}", trim_js(rest)),
            None => l.to_string(),
        })
        .collect()
}

/// What `save` and `restore` share: which entry, and where its files go.
#[derive(Debug, Clone)]
pub struct EntryRequest {
    pub repo: String,
    pub scope: Option<String>,
    pub key: Key,
    /// The path lines as given (after trimming): what the version is computed from.
    pub lines: Vec<String>,
    pub paths: CachePaths,
    pub version: String,
    pub workspace: PathBuf,
}

impl EntryRequest {
    pub fn parse(global: &GlobalArgs, args: &EntryArgs, verb: &str) -> anyhow::Result<Self> {
        let repo = config::required_repo(global)?;
        let scope = config::scope(args.scope.as_deref(), "--scope")?;
        let key = key_input(&args.key, "--key")?;
        let lines = lines_input(&args.paths);
        if lines.is_empty() {
            return Err(UsageError::new(format!("--path is empty: name {verb}")).into());
        }
        let workspace = config::workspace(global)?;
        let mut paths = CachePaths::parse(&lines, &workspace, config::home().as_deref())?;
        let broad = paths.broad_lines(&workspace);
        if !broad.is_empty() && !args.allow_broad_paths {
            return Err(UsageError::new(format!(
                "--path '{}' names the home directory or an ancestor of it or of the workspace, \
                 which would cache far more than dependencies (~/.ssh too): name the \
                 directories to cache, or pass --allow-broad-paths",
                broad[0]
            ))
            .into());
        }
        let protected = protect_store(&paths, &config::cache_dir(global)?)?;
        paths.protect(protected);
        let version = keys::version_for(&lines);
        Ok(Self {
            repo,
            scope,
            key,
            lines,
            paths,
            version,
            workspace,
        })
    }

    pub fn identity(&self) -> Identity {
        Identity {
            repo: self.repo.clone(),
            scope: self.scope.clone(),
            version: self.version.clone(),
            key_folded: self.key.folded(),
        }
    }
}

/// The store's directory, which a save never archives and a restore never writes: a path
/// line inside it is refused; one that contains it (`.` with the store in the workspace)
/// works, and the store is left out.
fn protect_store(paths: &CachePaths, store: &std::path::Path) -> Result<Vec<PathBuf>, UsageError> {
    let abs = if store.is_absolute() {
        crate::paths::normalize(store)
    } else {
        std::env::current_dir().map_or_else(
            |_| store.to_path_buf(),
            |d| crate::paths::normalize(&d.join(store)),
        )
    };
    let mut protected = vec![abs.clone()];
    if let Ok(real) = abs.canonicalize() {
        if real != abs {
            protected.push(real);
        }
    }
    for root in &paths.roots {
        let target = root.literal_path().unwrap_or_else(|| root.base.clone());
        let real = target.canonicalize().ok();
        let inside = protected
            .iter()
            .any(|p| target.starts_with(p) || real.as_ref().is_some_and(|r| r.starts_with(p)));
        if inside {
            return Err(UsageError::new(format!(
                "--path '{}' is inside the cache store {}: the store is never archived or restored into",
                root.spec,
                abs.display()
            )));
        }
    }
    Ok(protected)
}

/// A validated `restore` (or the restore half of `run`).
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub entry: EntryRequest,
    pub restore_keys: Vec<Key>,
    /// The own scope first, then the fallbacks.
    pub scopes: Vec<Option<String>>,
    pub lookup_only: bool,
    pub fail_on_miss: bool,
    pub read_only: bool,
}

impl RestoreRequest {
    pub fn parse(entry: EntryRequest, fallback: &FallbackArgs) -> anyhow::Result<Self> {
        let mut restore_keys = Vec::new();
        for raw in lines_input(&fallback.restore_keys) {
            restore_keys.push(Key::parse(&raw, "--restore-key")?);
        }
        let n = restore_keys.len() + 1;
        if n > keys::MAX_KEYS {
            return Err(UsageError::new(format!(
                "{n} keys given (--key plus {} --restore-key): at most {} are allowed",
                n - 1,
                keys::MAX_KEYS
            ))
            .into());
        }
        let mut scopes = vec![entry.scope.clone()];
        for s in &fallback.fallback_scopes {
            scopes.push(config::scope(Some(s), "--fallback-scope")?);
        }
        Ok(Self {
            entry,
            restore_keys,
            scopes,
            lookup_only: false,
            fail_on_miss: false,
            read_only: false,
        })
    }

    /// Every key in lookup order: the primary key, then the restore keys.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.entry.key).chain(&self.restore_keys)
    }

    pub fn query(&self) -> Query {
        Query {
            repo: self.entry.repo.clone(),
            scopes: self.scopes.clone(),
            version: self.entry.version.clone(),
            keys: self.keys().map(Key::folded).collect(),
        }
    }
}

/// A validated `save` (or the save half of `run`).
#[derive(Debug, Clone)]
pub struct SaveRequest {
    pub entry: EntryRequest,
    pub codec: Codec,
    pub level: Option<i32>,
    pub format: Format,
    pub overwrite: bool,
    pub run_id: Option<String>,
}

impl SaveRequest {
    pub fn parse(
        entry: EntryRequest,
        codec: &CodecArgs,
        overwrite: bool,
        run_id: Option<&str>,
    ) -> anyhow::Result<Self> {
        codec
            .compression
            .check_level(codec.level)
            .map_err(UsageError::new)?;
        let format = codec.format;
        if format == Format::Cas && codec.compression != Codec::Zstd {
            return Err(UsageError::new(format!(
                "--compression {} cannot be used with --format cas: its blobs are zstd frames",
                codec.compression.name()
            ))
            .into());
        }
        let run_id = config::run_id(run_id)
            .map(|r| keys::parse_name(&r, "--run-id"))
            .transpose()?;
        Ok(Self {
            entry,
            codec: codec.compression,
            level: codec.level,
            format,
            overwrite,
            run_id,
        })
    }
}

/// A `--limit`, checked against what the store can count.
pub fn limit(raw: Option<u64>, flag: &str) -> Result<Option<u64>, UsageError> {
    match raw {
        Some(n) if n > i64::MAX as u64 => Err(UsageError::new(format!(
            "{flag} {n} is too large: at most {}",
            i64::MAX
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_trimmed_as_core_get_input_does() {
        assert_eq!(key_input(" npm-x\n", "--key").unwrap().as_str(), "npm-x");
        assert_eq!(key_input("\u{feff}k\u{a0}", "--key").unwrap().as_str(), "k");
        assert_eq!(
            trim_js("\u{85}k\u{2029}"),
            "\u{85}k",
            "JavaScript keeps U+0085"
        );
        assert!(
            key_input("npm-\nx", "--key").is_err(),
            "a newline inside stays an error"
        );
        assert_eq!(
            lines_input(&[
                "node_modules\n  ~/.npm \n\n!  dist/*.map\r\n".into(),
                "x".into()
            ]),
            ["node_modules", "~/.npm", "!dist/*.map", "x"]
        );
    }
}
