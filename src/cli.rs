//! The command line, as clap derive structs: plain data, no validation beyond syntax.
//!
//! Values are validated into the types the rest of the code reads ([`crate::keys`],
//! [`crate::config`]) by the commands; this module must stay free of behaviour so that the man
//! pages and completions generated from it describe exactly what the binary accepts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::archive::Codec;
use crate::store::Format;

const AFTER_HELP: &str = "\
Exit codes: 0 success (a cache miss is a success), 1 error, 2 bad input, \
3 cache miss with --fail-on-miss, 4 damaged entries found by verify.";

/// The dependency cache of the wit CI system.
///
/// Saves and restores directories such as node_modules or ~/.npm to and from a per-host store,
/// with the semantics of GitHub's actions/cache: exact key, then restore-key prefixes, branch
/// scopes, and a `hashFiles()` that gives the same hashes as GitHub.
#[derive(Debug, Parser)]
#[command(name = "wit-cache", version, propagate_version = true, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes; `--help` lists them under their own heading, after the
/// subcommand's own.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The store directory [default: the platform cache dir, e.g. ~/.cache/wit-cache; env
    /// CACHE_DIR is honoured after WIT_CACHE_DIR]
    #[arg(
        long,
        global = true,
        env = "WIT_CACHE_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub cache_dir: Option<PathBuf>,

    /// Shared object storage behind the local store, s3://BUCKET[/PREFIX] (credentials, region
    /// and endpoint from the AWS_* variables); without it the store is local only
    #[arg(
        long,
        global = true,
        env = "WIT_CACHE_STORE",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub store: Option<String>,

    /// The repository the entries belong to [env: WIT_REPO, then GITHUB_REPOSITORY]
    #[arg(long, global = true, value_name = "REPO")]
    pub repo: Option<String>,

    /// Directory that relative paths and patterns start from [env: GITHUB_WORKSPACE; default:
    /// the current directory]
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    /// Print one JSON document on stdout and nothing else there
    #[arg(long, global = true)]
    pub json: bool,

    /// Print only warnings and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say more; errors show their whole cause chain
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colours (NO_COLOR is honoured with auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Restore a cache entry into its paths (exact key, then prefixes, then restore keys)
    #[command(after_help = RESTORE_EXAMPLES)]
    Restore(RestoreArgs),
    /// Archive paths into the store under a key (a no-op when the key exists)
    #[command(after_help = SAVE_EXAMPLES)]
    Save(SaveArgs),
    /// Print the hash GitHub's hashFiles() gives for the files matching the patterns
    #[command(after_help = HASH_FILES_EXAMPLES)]
    HashFiles(HashFilesArgs),
    /// List cache entries (all repos unless --repo or WIT_REPO is set)
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Show one entry's metadata and the files in its archive, without extracting
    Show(ShowArgs),
    /// Delete entries by id, key, key prefix, or all of a repo
    #[command(after_help = DELETE_EXAMPLES)]
    Delete(DeleteArgs),
    /// Hit rates, sizes and restore times per repo and overall
    Stats(StatsArgs),
    /// Remove idle entries, evict least recently used ones over the size limit, sweep leftovers
    #[command(after_help = GC_EXAMPLES)]
    Gc(GcArgs),
    /// Re-hash every archive against the index; remove damaged entries
    Verify,
    /// Write one entry as a tar stream (zstd, gzip or plain) that GNU tar reads
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Make an entry of a tar stream (zstd, gzip or plain, as `export` writes it)
    #[command(after_help = EXPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Restore, run a command, save when it succeeded: actions/cache for any CI in one line
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Serve the cache settings web page and its JSON API
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
}

const EXPORT_EXAMPLES: &str = "\
Members are named <n>/<path>, where <n> is the path line (0 for the first --path) and <path>
is relative to the line's base, in either format of the entry.

Examples:
  wit-cache export npm-Linux-abc --compression gzip -o npm.tar.gz
  tar -tzf npm.tar.gz
  wit-cache import --key npm-Linux-abc --path node_modules npm.tar.gz";

const SERVE_EXAMPLES: &str = "\
Deleting needs `Authorization: Bearer TOKEN`. The admin token deletes in every repo; a token
listed in --tokens-file only in the repos its lines match (403 elsewhere). A tokens file:

  # REPO-GLOB   TOKEN-SHA256 (printf %s \"$TOKEN\" | sha256sum)
  acme/*        9ac56946f30ec3d40bc067893d263aeba087557d4b9140af62d3fa47ee6eadbe
  widgets/ui    5104df1a172d17b8af79287daedb461cee64773e0b852cf0fa611ad835ac5615

Examples:
  wit-cache serve                                   # http://127.0.0.1:8080, read-only
  wit-cache serve --admin-token-file /etc/wit-cache/admin-token
  wit-cache serve --tokens-file /etc/wit-cache/tokens
  WIT_CACHE_ADMIN_TOKEN=s3cret wit-cache serve --listen 127.0.0.1:9000";

const RUN_EXAMPLES: &str = "\
The command's exit status is wit-cache's. The entry is saved only when the command succeeded
and the primary key was not an exact hit (as the action's post-job step does). The command
sees WIT_CACHE_HIT (true: exact hit, false: another key matched, empty: a miss) and
WIT_CACHE_MATCHED_KEY in its environment.

Examples:
  wit-cache run --skip-on-hit --key npm-$(wit-cache hash-files package-lock.json) \\
      --restore-key npm- --path node_modules -- npm ci
  wit-cache run --key cargo-$(wit-cache hash-files Cargo.lock) --path target -- cargo build --locked";

const LIST_EXAMPLES: &str = "\
Examples:
  wit-cache list --repo acme/app --prefix npm- --sort size --limit 20
  wit-cache list --json | jq '.caches[].key'";

const DELETE_EXAMPLES: &str = "\
Examples:
  wit-cache delete 42
  wit-cache delete --repo acme/app --key npm-Linux-3f2a
  wit-cache delete --repo acme/app --prefix npm- --dry-run
  wit-cache delete --repo acme/app --all";

const GC_EXAMPLES: &str = "\
Examples:
  wit-cache gc                                  # 7 days idle, 10 GiB per repo
  wit-cache gc --max-size 5GiB --max-age 3d --dry-run
  # cron: 17 * * * * wit-cache -q gc";

const RESTORE_EXAMPLES: &str = "\
Examples:
  wit-cache restore --key npm-Linux-$(wit-cache hash-files package-lock.json) \\
      --restore-key npm-Linux- --path node_modules --path ~/.npm
  wit-cache restore --json --key K --path target --scope feature-x --fallback-scope main";

const SAVE_EXAMPLES: &str = "\
Examples:
  wit-cache save --key npm-Linux-$(wit-cache hash-files package-lock.json) \\
      --path node_modules --path ~/.npm
  wit-cache save --key cargo-1 --path target --path '!target/debug/incremental' --compression gzip";

const HASH_FILES_EXAMPLES: &str = "\
Examples:
  wit-cache hash-files package-lock.json
  wit-cache hash-files '**/package-lock.json' '!**/node_modules/**'";

/// Where an entry lives and which paths it holds; shared by `save` and `restore`.
#[derive(Debug, Clone, Args)]
pub struct EntryArgs {
    /// The cache key: 1-512 characters, no commas, no control characters
    #[arg(long, value_name = "KEY")]
    pub key: String,

    /// A path to cache: file, directory, glob, `!exclusion`, relative to the workspace, absolute
    /// or ~/…; repeat it or separate paths by newlines, as in the action's `path:` input
    #[arg(long = "path", value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    /// The scope (e.g. the branch) the entry belongs to
    #[arg(
        long,
        env = "WIT_CACHE_SCOPE",
        hide_env_values = true,
        value_name = "SCOPE"
    )]
    pub scope: Option<String>,

    /// Accept a path line that is the home directory, or an ancestor of it or of the
    /// workspace (refused by default: `--path ~` would cache ~/.ssh)
    #[arg(long)]
    pub allow_broad_paths: bool,
}

/// What a restore falls back on when the primary key misses; shared by `restore` and `run`.
#[derive(Debug, Clone, Args)]
pub struct FallbackArgs {
    /// A key prefix to fall back on, in order (repeatable, or newline-separated)
    #[arg(long = "restore-key", value_name = "PREFIX")]
    pub restore_keys: Vec<String>,

    /// A scope to read after the own one, in order (e.g. the default branch)
    #[arg(long = "fallback-scope", value_name = "SCOPE")]
    pub fallback_scopes: Vec<String>,
}

/// How a save compresses; shared by `save` and `run`.
#[derive(Debug, Clone, Copy, Args)]
pub struct CodecArgs {
    /// How to compress the archive
    #[arg(long, value_parser = codec_parser(), default_value = "zstd", value_name = "CODEC")]
    pub compression: Codec,

    /// Compression level (zstd 1-19, default 3; gzip 1-9, default 6)
    #[arg(long, value_name = "N")]
    pub level: Option<i32>,

    /// How to store the entry: archive (one compressed tar file) or cas (a manifest plus
    /// content blobs shared by every entry of the store, so a save writes only what changed;
    /// zstd only)
    #[arg(
        long,
        value_parser = format_parser(),
        default_value = "archive",
        env = "WIT_CACHE_FORMAT",
        value_name = "FORMAT"
    )]
    pub format: Format,
}

#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is one independent flag"
)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub entry: EntryArgs,

    #[command(flatten)]
    pub fallback: FallbackArgs,

    /// Only look the entry up and report it; extract nothing
    #[arg(long)]
    pub lookup_only: bool,

    /// Print the whole search in the local index — each scope and key in order, every
    /// candidate and why it was or was not taken, and why a miss missed; restores nothing
    #[arg(long)]
    pub explain: bool,

    /// Exit with code 3 when no entry matches (a miss is otherwise a success)
    #[arg(long)]
    pub fail_on_miss: bool,

    /// Write nothing to the store: no statistics, no clean-up of damaged entries (for
    /// untrusted jobs and read-only mounts of the store)
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    #[command(flatten)]
    pub entry: EntryArgs,

    #[command(flatten)]
    pub codec: CodecArgs,

    /// Replace an existing entry atomically instead of keeping the first one
    #[arg(long)]
    pub overwrite: bool,

    /// The workflow run that made the entry [env: WIT_RUN_ID, then GITHUB_RUN_ID]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
}

/// `--format`: `archive` or `cas`.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["archive", "cas"])
        .map(|name| Format::from_name(&name).expect("clap passes only a listed format"))
}

/// `--compression`: one of the codec table's names.
fn codec_parser() -> impl clap::builder::TypedValueParser<Value = Codec> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Codec::names())
        .map(|name| Codec::from_name(&name).expect("clap passes only a listed codec name"))
}

#[derive(Debug, Args)]
pub struct HashFilesArgs {
    /// Descend into symbolic links to directories
    #[arg(long)]
    pub follow_symbolic_links: bool,

    /// Glob patterns as in hashFiles(), matched as GitHub's runner matches them: `**`, `*`, `?`,
    /// `[...]`, `!negation`, `#comment`; newline-separated patterns in one argument are split.
    /// Nothing matched prints an empty hash and a warning; FIFOs, sockets and devices are
    /// skipped with a warning
    #[arg(value_name = "PATTERN", required = true)]
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    /// Newest first
    Created,
    /// Most recently used first
    LastUsed,
    /// Largest first
    Size,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only keys starting with this (literally, case-insensitively)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// Only entries of this scope
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// Order of the entries
    #[arg(long, value_enum, default_value_t = SortBy::LastUsed, value_name = "ORDER")]
    pub sort: SortBy,

    /// Show at most N entries
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64),
        allow_negative_numbers = true
    )]
    pub limit: Option<u64>,

    /// Act on the shared object store (--store) instead of the local one
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The key (compared case-insensitively) or, when numeric and no key matches, the id
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Only the entry of this scope
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// List every file (an entry of more than 50 files is otherwise summarised: counts and
    /// the largest directories)
    #[arg(long)]
    pub files: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The key (compared case-insensitively) or, when numeric and no key matches, the id
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Only the entry of this scope
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// How to compress the tar stream
    #[arg(long, value_parser = codec_parser(), default_value = "zstd", value_name = "CODEC")]
    pub compression: Codec,

    /// Write to this file (created, never replaced) instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub entry: EntryArgs,

    /// The tar stream: a file, or - for stdin; its compression is recognised
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["id", "key", "prefix", "all"])))]
pub struct DeleteArgs {
    /// The id of one entry (as `list` shows it)
    #[arg(value_name = "ID")]
    pub id: Option<i64>,

    /// Every entry with this key (all versions), in the repo
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// Every entry whose key starts with this, in the repo
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// Every entry of the repo
    #[arg(long)]
    pub all: bool,

    /// Only entries of this scope
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// Say what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Act on the shared object store (--store) instead of the local one
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
    /// node_exporter textfile format
    Prometheus,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Count restore attempts of this recent period only (e.g. 24h, 7d)
    #[arg(long, value_name = "AGE")]
    pub since: Option<String>,

    /// Output format (--json is the same as --format json)
    #[arg(long, value_enum, default_value_t = StatsFormat::Table, value_name = "FORMAT")]
    pub format: StatsFormat,

    /// Act on the shared object store (--store) instead of the local one
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Size limit per repo, e.g. 10GiB, 500M [env: WIT_CACHE_MAX_SIZE, then MAX_CACHE_SIZE_GB;
    /// default: 10GiB]
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,

    /// Remove entries not used for this long, e.g. 7d, 12h [env: WIT_CACHE_TTL, then
    /// CACHE_TTL_DAYS; default: 7d]
    #[arg(long, value_name = "AGE")]
    pub max_age: Option<String>,

    /// Say what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Act on the shared object store (--store) instead of the local one
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the bound address is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// A file holding the admin token that deleting and clearing need (as `Authorization:
    /// Bearer TOKEN`), in every repo [default: env WIT_CACHE_ADMIN_TOKEN; without it and
    /// without --tokens-file, nothing can be deleted]
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// A file of repository tokens, one per line: REPO-GLOB TOKEN-SHA256, the lowercase hex
    /// SHA-256 of a token that may delete in the repos the glob matches (`*` stays within one
    /// segment: acme/* is every repo of acme); blank lines and `#` comments are allowed
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub entry: EntryArgs,

    #[command(flatten)]
    pub fallback: FallbackArgs,

    #[command(flatten)]
    pub codec: CodecArgs,

    /// Run nothing after an exact hit of the primary key (the restored files are the
    /// command's result, e.g. node_modules for `npm ci`); exit 0
    #[arg(long)]
    pub skip_on_hit: bool,

    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

pub fn parse() -> Cli {
    Cli::parse()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
