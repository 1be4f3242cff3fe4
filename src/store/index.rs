//! All SQL: migrations, the lookup order, inserts, access records, removals.
//!
//! Invariants: every write is a short `BEGIN IMMEDIATE` transaction; the busy timeout is set
//! before anything else touches the database, so parallel jobs wait instead of failing with
//! "database is locked". A row is only ever inserted after its archive is complete on disk.
//!
//! Rows are data a hostile job may have written: every row read becomes an
//! [`Entry`] through [`Entry::check`] or a [`BadEntry`] saying why not — a row never makes a
//! query fail, and a column is never used as a path (the `archive` column must be exactly the
//! name the store derives from the archive id and codec).
//!
//! # Schema versions and compatibility
//!
//! `PRAGMA user_version` counts the *base* migrations ([`MIGRATIONS`]); a base migration may
//! change what older binaries rely on, so a binary refuses an index whose base is newer than
//! it knows. Changes that only add tables or columns (with defaults) are *additive steps*
//! ([`STEPS`]), recorded in the `schema_steps` table and not in `user_version`: an older
//! binary ignores the tables and columns it does not know and keeps working, a newer one
//! applies the steps it lacks (cargo's global cache tracker states the same rule). So new
//! columns must tolerate rows that older binaries insert without them.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use super::entry::{
    shorten, ArchiveId, BadEntry, Damage, Entry, Identity, RawEntry, Timestamp, Usage,
};
use super::layout;
use super::tier::{CommitMode, Filter, Query, Removal, RepoStats, Restores, Sort, Step, Worth};
use crate::keys::Key;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Base migrations. Entry N migrates `user_version` N to N+1. Never edit a released step.
const MIGRATIONS: &[&str] = &[
    // v1: entries and restore attempts.
    "CREATE TABLE entries (
        id               INTEGER PRIMARY KEY,
        repo             TEXT NOT NULL,
        scope            TEXT NOT NULL,        -- '' = no scope (NULLs would defeat UNIQUE)
        key              TEXT NOT NULL,        -- as given
        key_folded       TEXT NOT NULL,        -- lower-cased: lookups compare this
        version          TEXT NOT NULL,        -- digest of the path list
        paths            TEXT NOT NULL,        -- JSON array, as given
        compression      TEXT NOT NULL,        -- zstd | gzip | none
        archive          TEXT NOT NULL UNIQUE, -- store-relative file name
        size_bytes       INTEGER NOT NULL,
        unpacked_bytes   INTEGER NOT NULL,
        file_count       INTEGER NOT NULL,
        digest           TEXT NOT NULL,        -- SHA-256 of the archive file, hex
        created_at       INTEGER NOT NULL,     -- Unix ms
        last_accessed_at INTEGER NOT NULL,     -- Unix ms
        access_count     INTEGER NOT NULL DEFAULT 0,
        created_by_run   TEXT
    );
    CREATE UNIQUE INDEX entries_identity ON entries(repo, scope, version, key_folded);
    CREATE INDEX entries_last_access ON entries(repo, last_accessed_at);
    CREATE TABLE restore_attempts (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,         -- Unix ms
        repo         TEXT NOT NULL,
        scope        TEXT NOT NULL,
        primary_key  TEXT NOT NULL,
        matched_key  TEXT,
        entry_id     INTEGER,
        outcome      TEXT NOT NULL CHECK (outcome IN ('hit', 'partial', 'miss')),
        bytes        INTEGER NOT NULL DEFAULT 0,
        duration_ms  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX restore_attempts_repo_at ON restore_attempts(repo, at);",
    // v2: HMAC signatures of entries saved with WIT_CACHE_SIGNING_KEY.
    "ALTER TABLE entries ADD COLUMN signature TEXT;",
];

/// Additive steps (see the module docs): each only adds tables, indexes or columns with
/// defaults. Append-only; the number of a step is its position + 1.
const STEPS: &[&str] = &[
    // 1: what was removed, when and why — so that a miss can say "evicted by gc at …".
    "CREATE TABLE removals (
        id               INTEGER PRIMARY KEY,
        at               INTEGER NOT NULL,     -- Unix ms
        repo             TEXT NOT NULL,
        scope            TEXT NOT NULL,
        key              TEXT NOT NULL,
        key_folded       TEXT NOT NULL,
        version          TEXT NOT NULL,
        why              TEXT NOT NULL,        -- deleted | expired | evicted | damaged | replaced
        size_bytes       INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL DEFAULT 0,
        access_count     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX removals_lookup ON removals(repo, key_folded);
    CREATE INDEX removals_at ON removals(at);",
    // 2: why each miss missed, what `run`'s command took after a restore, what saves wrote —
    // for the hints and for what `stats` says the cache is worth; and keys by repo, for the
    // nearest candidates of a miss in any scope or version.
    "ALTER TABLE restore_attempts ADD COLUMN miss_reasons TEXT;  -- JSON list of kinds
    ALTER TABLE restore_attempts ADD COLUMN command_ms INTEGER;
    CREATE TABLE saves (
        id               INTEGER PRIMARY KEY,
        at               INTEGER NOT NULL,     -- Unix ms
        repo             TEXT NOT NULL,
        scope            TEXT NOT NULL,
        key              TEXT NOT NULL,
        size_bytes       INTEGER NOT NULL DEFAULT 0,
        unpacked_bytes   INTEGER NOT NULL DEFAULT 0,
        duration_ms      INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX saves_repo_at ON saves(repo, at);
    CREATE INDEX entries_repo_key ON entries(repo, key_folded);",
    // 3: the cas format (docs/cas.md): pack files, the blobs in them (for de-duplication),
    // and which packs each entry — or a save in progress — needs. Older binaries ignore them.
    "CREATE TABLE cas_packs (
        name             TEXT PRIMARY KEY,     -- SHA-256 of the pack file, hex
        size_bytes       INTEGER NOT NULL,
        created_at       INTEGER NOT NULL      -- Unix ms
    );
    CREATE TABLE cas_blobs (
        hash             TEXT PRIMARY KEY,     -- SHA-256 of the content, hex
        pack             TEXT NOT NULL,
        frame_offset     INTEGER NOT NULL,
        frame_len        INTEGER NOT NULL,
        offset           INTEGER NOT NULL,
        len              INTEGER NOT NULL
    );
    CREATE INDEX cas_blobs_pack ON cas_blobs(pack);
    CREATE TABLE cas_refs (
        owner            TEXT NOT NULL,        -- the archive id of the entry (or of the save)
        pack             TEXT NOT NULL,
        created_at       INTEGER NOT NULL,     -- Unix ms
        PRIMARY KEY (owner, pack)
    );
    CREATE INDEX cas_refs_pack ON cas_refs(pack);",
];

const ENTRY_COLUMNS: &str = "id, repo, scope, key, version, paths, compression, archive, size_bytes, \
     unpacked_bytes, file_count, digest, created_at, last_accessed_at, access_count, created_by_run, signature, key_folded";

/// A size column as a number in range, whatever a row holds (for sums).
const SIZE_SUM: &str = "coalesce(sum(min(max(CAST(size_bytes AS INTEGER), 0), 1099511627776)), 0)";

/// A row as read: a usable entry, or why not.
pub type IndexRow = Result<Entry, BadEntry>;

fn text(row: &Row<'_>, i: usize) -> Option<String> {
    match row.get_ref(i).ok()? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().map(str::to_string),
        _ => None,
    }
}

/// [`text`] borrowed from the row, for columns that are only parsed or checked.
fn text_ref<'r>(row: &'r Row<'_>, i: usize) -> Option<&'r str> {
    match row.get_ref(i).ok()? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok(),
        _ => None,
    }
}

fn int(row: &Row<'_>, i: usize) -> Option<i64> {
    match row.get_ref(i).ok()? {
        ValueRef::Integer(n) => Some(n),
        _ => None,
    }
}

/// Reads one `entries` row (columns [`ENTRY_COLUMNS`]) without trusting any of it.
fn read_row(row: &Row<'_>) -> rusqlite::Result<IndexRow> {
    let id: i64 = row.get(0)?;
    let repo = text(row, 1).unwrap_or_default();
    let key = text(row, 3).unwrap_or_default();
    let archive_column = text_ref(row, 7).unwrap_or_default();
    let archive_file = layout::archive_file_of_column(archive_column);
    let codec_name = text(row, 6).unwrap_or_default();
    let archive = archive_file.and_then(ArchiveId::parse_file_name);
    let bad = |damage: Damage| BadEntry {
        place: format!("index row {id}"),
        key: shorten(&key),
        repo: shorten(&repo),
        damage,
        row: Some(id),
        archive,
    };
    let missing = |what: &str| bad(Damage::new(format!("{what} is missing or not of its type")));
    let Some(scope) = text(row, 2) else {
        return Ok(Err(missing("scope")));
    };
    let Some(paths) = text_ref(row, 5) else {
        return Ok(Err(missing("paths")));
    };
    let Ok(paths) = serde_json::from_str::<Vec<String>>(paths) else {
        return Ok(Err(bad(Damage::new(
            "paths are not a JSON list of strings",
        ))));
    };
    let Some(file) = archive_file else {
        return Ok(Err(bad(Damage::new(format!(
            "archive column {archive_column:?} is not a name the store makes"
        )))));
    };
    let numbers = [8, 9, 10, 12, 13, 14].map(|i| int(row, i));
    let [Some(size), Some(unpacked), Some(files), Some(created), Some(accessed), Some(count)] =
        numbers
    else {
        return Ok(Err(missing("a number")));
    };
    let Some(last_accessed_at) = Timestamp::from_ms(accessed) else {
        return Ok(Err(bad(Damage::new(format!(
            "last access time {accessed} ms is out of range"
        )))));
    };
    let Ok(access_count) = u64::try_from(count) else {
        return Ok(Err(bad(Damage::new(format!(
            "access count {count} is out of range"
        )))));
    };
    let raw = RawEntry {
        repo,
        scope: (!scope.is_empty()).then_some(scope),
        key,
        version: text(row, 4).unwrap_or_default(),
        paths,
        codec: codec_name,
        archive: file.to_string(),
        size_bytes: i128::from(size),
        unpacked_bytes: i128::from(unpacked),
        file_count: i128::from(files),
        digest: text(row, 11).unwrap_or_default(),
        created_at: i128::from(created),
        created_by_run: text(row, 15),
        signature: text(row, 16),
    };
    let usage = Usage {
        id,
        last_accessed_at,
        access_count,
    };
    // Lookups, deletes and uniqueness match on `key_folded`, which the signature does not
    // cover: a row whose folded key is not its key's fold would answer for another key.
    let folded = text(row, 17);
    let bad_entry = |damage: Damage, key: &str, repo: &str| BadEntry {
        place: format!("index row {id}"),
        key: shorten(key),
        repo: shorten(repo),
        damage,
        row: Some(id),
        archive,
    };
    Ok(match Entry::check_or_return(raw, Some(usage)) {
        Ok(entry)
            if !folded
                .as_deref()
                .is_some_and(|f| crate::keys::is_fold_of(f, &entry.key)) =>
        {
            Err(bad_entry(
                Damage::new("its folded-key column does not match its key"),
                &entry.key,
                &entry.repo,
            ))
        }
        Ok(entry) => Ok(entry),
        Err(bad) => {
            let (damage, raw) = *bad;
            Err(bad_entry(damage, &raw.key, &raw.repo))
        }
    })
}

/// Sorts rows as the `ORDER BY` of [`Sort`] would: a checked entry's fields hold exactly its
/// columns' values, and text compares bytewise as SQLite's default collation does. Rows that
/// are not usable entries go last, in table order.
fn sort_rows(rows: &mut Vec<IndexRow>, sort: Sort) {
    use std::cmp::Ordering;
    fn usage(e: &Entry) -> (i64, i64, u64) {
        e.usage.as_ref().map_or((0, 0, 0), |u| {
            (u.id, u.last_accessed_at.ms(), u.access_count)
        })
    }
    let order = |a: &Entry, b: &Entry| -> Ordering {
        let ((ida, la, ca), (idb, lb, cb)) = (usage(a), usage(b));
        match sort {
            Sort::Created => (b.created_at, idb).cmp(&(a.created_at, ida)),
            Sort::LastUsed => (lb, idb).cmp(&(la, ida)),
            Sort::LeastRecentlyUsed => (&a.repo, la, ida).cmp(&(&b.repo, lb, idb)),
            Sort::Size => (b.size_bytes, idb).cmp(&(a.size_bytes, ida)),
            Sort::Hits => (cb, lb, idb).cmp(&(ca, la, ida)),
        }
    };
    // Rows are large: sort their positions, then move each row once.
    let mut order_of: Vec<usize> = (0..rows.len()).collect();
    order_of.sort_by(|&i, &j| match (&rows[i], &rows[j]) {
        (Ok(a), Ok(b)) => order(a, b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => i.cmp(&j),
    });
    let mut taken: Vec<Option<IndexRow>> = std::mem::take(rows).into_iter().map(Some).collect();
    rows.extend(order_of.into_iter().filter_map(|i| taken[i].take()));
}

/// What an insert did.
#[derive(Debug)]
pub enum Inserted {
    /// The row is in; `replaced` is the row it displaced (its archive is now ours to delete).
    New { replaced: Option<IndexRow> },
    /// An entry with the identity is there and stays; nothing was written.
    AlreadyExists(Entry),
}

/// The result of a restore attempt, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Partial,
    Miss,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Partial => "partial",
            Outcome::Miss => "miss",
        }
    }
}

/// One restore attempt to record.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub repo: &'a str,
    pub scope: Option<&'a str>,
    pub primary_key: &'a str,
    pub entry: Option<&'a Entry>,
    pub outcome: Outcome,
    pub bytes: u64,
    pub duration_ms: u64,
    /// For a miss: the kinds of reason found (`version`, `scope`, …).
    pub miss_reasons: &'a [&'a str],
}

/// A removal remembered for the miss hints.
#[derive(Debug, Clone)]
pub struct RemovalRow {
    pub at: Timestamp,
    pub scope: Option<String>,
    pub key: String,
    pub version: String,
    /// `deleted`, `expired`, `evicted`, `damaged` or `replaced`.
    pub why: String,
}

pub struct Index {
    conn: Connection,
    /// Additive steps present in this index (all of them unless opened read-only).
    steps: usize,
}

/// A path as the path part of an SQLite `file:` URI.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'?' | b'#' | b'%' => out.push_str(&format!("%{b:02X}")),
            _ => out.push(char::from(*b)),
        }
    }
    out
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn too_new(version: usize) -> rusqlite::Error {
    rusqlite::Error::InvalidParameterName(format!(
        "index schema v{version} is newer than this wit-cache understands (v{}): upgrade \
         wit-cache or use another --cache-dir",
        MIGRATIONS.len()
    ))
}

/// The page cache of a connection: big enough for the whole index of a busy host (10,000
/// entries and their restore history are about 9 MiB), so that `stats` and `gc`, which visit
/// rows through indexes, do not read the same pages again and again. It is an upper bound:
/// memory is only taken for pages read.
fn set_cache_size(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -32_768)
}

fn scope_text(scope: Option<&str>) -> &str {
    scope.unwrap_or("")
}

impl Index {
    /// Opens (creating when missing) the index and brings its schema up to date.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        // A symlink planted at the index would make every command (a root cron `gc` too)
        // create a database, and delete its `-wal`/`-journal` files, wherever it points.
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Switching to WAL takes an exclusive lock and does not wait on the busy handler, so
        // twenty jobs opening a new store at once need a retry here.
        let mut tries = 0;
        loop {
            match conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(e) if is_busy(&e) && tries < 500 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        set_cache_size(&conn)?;
        let mut index = Self { conn, steps: 0 };
        index.migrate()?;
        Ok(index)
    }

    /// Opens an existing index for reading only: no schema change, no WAL switch, nothing
    /// written — for untrusted jobs and read-only mounts of the store. A WAL database on a
    /// read-only file system can only be read as "immutable", which is tried second.
    pub fn open_read_only(path: &Path) -> rusqlite::Result<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NOFOLLOW
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let try_open = |uri: String| -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(uri, flags)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.query_row("SELECT count(*) FROM entries", [], |_| Ok(()))?;
            Ok(conn)
        };
        let uri = format!("file:{}?mode=ro", uri_path(path));
        let conn =
            try_open(uri).or_else(|_| try_open(format!("file:{}?immutable=1", uri_path(path))))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version as usize > MIGRATIONS.len() {
            return Err(too_new(version as usize));
        }
        set_cache_size(&conn)?;
        let mut index = Self { conn, steps: 0 };
        index.steps = index.applied_steps()?;
        Ok(index)
    }

    fn applied_steps(&self) -> rusqlite::Result<usize> {
        let has_table: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_steps'",
            [],
            |r| r.get(0),
        )?;
        if !has_table {
            return Ok(0);
        }
        let n: i64 =
            self.conn
                .query_row("SELECT coalesce(max(step), 0) FROM schema_steps", [], |r| {
                    r.get(0)
                })?;
        // Steps a newer binary added are there, but this binary knows only its own.
        Ok((n.max(0) as usize).min(STEPS.len()))
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        let current: usize =
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if current > MIGRATIONS.len() {
            // Writing into a schema we do not know could break a newer binary's invariants.
            return Err(too_new(current));
        }
        if current == MIGRATIONS.len() && self.applied_steps()? == STEPS.len() {
            self.steps = STEPS.len();
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let current: usize =
            tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        for step in MIGRATIONS.iter().skip(current) {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_steps (
                 step INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )?;
        let done: i64 =
            tx.query_row("SELECT coalesce(max(step), 0) FROM schema_steps", [], |r| {
                r.get(0)
            })?;
        for (i, step) in STEPS.iter().enumerate().skip(done.max(0) as usize) {
            tx.execute_batch(step)?;
            tx.execute(
                "INSERT INTO schema_steps (step, applied_at) VALUES (?1, ?2)",
                params![i as i64 + 1, crate::clock::now_ms()],
            )?;
        }
        tx.commit()?;
        self.steps = STEPS.len();
        Ok(())
    }

    /// Whether the removals table is there (an index opened read-only may predate it).
    fn has_removals(&self) -> bool {
        self.steps >= 1
    }

    /// The row with exactly this identity.
    pub fn find(&self, id: &Identity) -> rusqlite::Result<Option<IndexRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries
                 WHERE repo = ?1 AND scope = ?2 AND version = ?3 AND key_folded = ?4"
            ))?
            .query_row(
                params![
                    id.repo,
                    scope_text(id.scope.as_deref()),
                    id.version,
                    id.key_folded
                ],
                read_row,
            )
            .optional()
    }

    /// GitHub's lookup order (see [`Query`]). Prefixes are literal: `%` and `_` are ordinary
    /// characters here, unlike in a LIKE pattern. `visit` sees every candidate in order and
    /// says whether to take it; steps after `until` are not searched.
    pub fn lookup(
        &self,
        q: &Query,
        until: Option<Step>,
        visit: &mut dyn FnMut(Step, IndexRow) -> bool,
    ) -> rusqlite::Result<Option<(Step, Entry)>> {
        let mut by_prefix = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries
             WHERE repo = ?1 AND scope = ?2 AND version = ?3
               AND key_folded > ?4 AND substr(key_folded, 1, length(?4)) = ?4
             ORDER BY created_at DESC, id DESC"
        ))?;
        for step in q.steps() {
            if until.is_some_and(|u| step > u) {
                break;
            }
            let scope = q.scopes[step.scope].as_deref();
            let key = &q.keys[step.key];
            if !step.prefix {
                let id = Identity {
                    repo: q.repo.clone(),
                    scope: scope.map(str::to_string),
                    version: q.version.clone(),
                    key_folded: key.clone(),
                };
                if let Some(row) = self.find(&id)? {
                    let taken = row.as_ref().ok().cloned();
                    if visit(step, row) {
                        if let Some(e) = taken {
                            return Ok(Some((step, e)));
                        }
                    }
                }
                continue;
            }
            // Rows are stepped lazily: usually only the newest match is read.
            let mut rows = by_prefix.query(params![q.repo, scope_text(scope), q.version, key])?;
            while let Some(row) = rows.next()? {
                let row = read_row(row)?;
                let taken = row.as_ref().ok().cloned();
                if visit(step, row) {
                    if let Some(e) = taken {
                        return Ok(Some((step, e)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Registers an entry. `Create`: the first writer of an identity wins. `Replace`: the
    /// old row goes in the same transaction, so readers see the old entry or the new one,
    /// never neither. `Adopt`: an existing row stays when `keep` says so, else it is
    /// replaced.
    pub fn insert(
        &mut self,
        e: &Entry,
        mode: CommitMode,
        keep: &dyn Fn(&IndexRow) -> bool,
    ) -> rusqlite::Result<Inserted> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries
                 WHERE repo = ?1 AND scope = ?2 AND version = ?3 AND key_folded = ?4"
            ))?
            .query_row(
                params![
                    e.repo,
                    scope_text(e.scope.as_deref()),
                    e.version,
                    e.key_folded()
                ],
                |r| Ok((r.get::<_, i64>(0)?, read_row(r)?)),
            )
            .optional()?;
        let replaced = match existing {
            Some((_, Ok(old))) if mode == CommitMode::Create => {
                return Ok(Inserted::AlreadyExists(old))
            }
            Some((_, row)) if mode == CommitMode::Adopt && keep(&row) => {
                if let Ok(old) = row {
                    return Ok(Inserted::AlreadyExists(old));
                }
                // A bad row is never kept.
                unreachable!("keep() never keeps a bad row")
            }
            Some((id, row)) => {
                tx.execute("DELETE FROM entries WHERE id = ?1", [id])?;
                Some(row)
            }
            None => None,
        };
        let paths = serde_json::to_string(&e.paths).expect("a list of strings serialises");
        tx.execute(
            "INSERT INTO entries (repo, scope, key, key_folded, version, paths, compression, archive,
                 size_bytes, unpacked_bytes, file_count, digest, created_at, last_accessed_at,
                 access_count, created_by_run, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0, ?15, ?16)",
            params![
                e.repo,
                scope_text(e.scope.as_deref()),
                e.key,
                e.key_folded(),
                e.version,
                paths,
                e.compression_name(),
                layout::archive_column(e.archive, e.codec),
                e.size_bytes as i64,
                e.unpacked_bytes as i64,
                e.file_count as i64,
                e.digest,
                e.created_at.ms(),
                Timestamp::now().ms().max(e.created_at.ms()),
                e.created_by_run,
                e.signature,
            ],
        )?;
        if let Some(Ok(old)) = &replaced {
            record_removal(&tx, self.steps, old, Removal::Replaced)?;
        }
        tx.commit()?;
        Ok(Inserted::New { replaced })
    }

    /// Records a restore attempt and, for a hit, bumps the entry's last access and count.
    /// Returns the attempt's id (for [`Index::record_command_time`]).
    pub fn record_attempt(&mut self, a: &Attempt<'_>) -> rusqlite::Result<i64> {
        let now = Timestamp::now().ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let reasons = (!a.miss_reasons.is_empty())
            .then(|| serde_json::to_string(a.miss_reasons).expect("a list of strings serialises"));
        // Writes happen only on an index opened writable, which has every step applied.
        tx.execute(
            "INSERT INTO restore_attempts (at, repo, scope, primary_key, matched_key, entry_id,
                 outcome, bytes, duration_ms, miss_reasons)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                now,
                a.repo,
                scope_text(a.scope),
                a.primary_key,
                a.entry.map(|e| e.key.as_str()),
                a.entry.and_then(|e| e.usage.as_ref()).map(|u| u.id),
                a.outcome.as_str(),
                a.bytes as i64,
                a.duration_ms as i64,
                reasons,
            ],
        )?;
        let attempt = tx.last_insert_rowid();
        let id = a.entry.and_then(|e| e.usage.as_ref()).map(|u| u.id);
        if let (Some(id), Outcome::Hit | Outcome::Partial) = (id, a.outcome) {
            tx.execute(
                "UPDATE entries SET last_accessed_at = max(last_accessed_at, ?2),
                     access_count = access_count + 1 WHERE id = ?1",
                params![id, now],
            )?;
        }
        tx.commit()?;
        Ok(attempt)
    }

    /// Records how long the command `run` ran after the restore `attempt` took.
    pub fn record_command_time(&mut self, attempt: i64, ms: u64) -> rusqlite::Result<()> {
        self.conn.execute(
            "UPDATE restore_attempts SET command_ms = ?2 WHERE id = ?1",
            params![attempt, ms as i64],
        )?;
        Ok(())
    }

    /// Records a save that made an entry (for what `stats` says the cache is worth).
    pub fn record_save(&mut self, e: &Entry, duration_ms: u64) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO saves (at, repo, scope, key, size_bytes, unpacked_bytes, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                Timestamp::now().ms(),
                e.repo,
                scope_text(e.scope.as_deref()),
                e.key,
                e.size_bytes as i64,
                e.unpacked_bytes as i64,
                duration_ms as i64,
            ],
        )?;
        Ok(())
    }

    /// Rows of `repo` whose key is one of `keys` or starts with one, in any scope and
    /// version: the candidates a miss was nearest to. At most `limit`, newest first.
    pub fn near(&self, repo: &str, keys: &[String], limit: u32) -> rusqlite::Result<Vec<IndexRow>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries
             WHERE repo = ?1 AND key_folded >= ?2 AND key_folded < ?2 || char(1114111)
             ORDER BY created_at DESC, id DESC LIMIT ?3"
        ))?;
        for key in keys {
            let rows = stmt.query_map(params![repo, key, limit], read_row)?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// Removals of `repo` whose key is one of `keys` or starts with one, newest first.
    pub fn removals(
        &self,
        repo: &str,
        keys: &[String],
        limit: u32,
    ) -> rusqlite::Result<Vec<RemovalRow>> {
        if !self.has_removals() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, scope, key, version, why FROM removals
             WHERE repo = ?1 AND key_folded >= ?2 AND key_folded < ?2 || char(1114111)
             ORDER BY at DESC, id DESC LIMIT ?3",
        )?;
        for key in keys {
            let rows = stmt.query_map(params![repo, key, limit], |r| {
                let scope = text(r, 1).unwrap_or_default();
                // A removal row is only ever printed as a hint: one whose key is not a key
                // (too long, control characters) is left out.
                let key = text(r, 2).and_then(|k| Key::parse(&k, "key").ok());
                Ok(int(r, 0)
                    .and_then(Timestamp::from_ms)
                    .zip(key)
                    .map(|(at, key)| RemovalRow {
                        at,
                        scope: (!scope.is_empty()).then_some(scope),
                        key: key.as_str().to_string(),
                        version: text(r, 3).unwrap_or_default(),
                        why: text(r, 4).unwrap_or_default(),
                    }))
            })?;
            for row in rows {
                out.extend(row?);
            }
        }
        Ok(out)
    }

    /// Removes rows by id, in short transactions of at most [`DELETE_BATCH`] rows so that a
    /// big gc never holds the write lock for long; returns the rows that were still there
    /// (each as it was). The caller deletes the archives after this returns (row first, then
    /// file: a crash in between leaves an orphan file that gc sweeps, never a row without
    /// its archive).
    pub fn delete_rows(&mut self, ids: &[i64], why: Removal) -> rusqlite::Result<Vec<IndexRow>> {
        let mut gone = Vec::with_capacity(ids.len());
        for batch in ids.chunks(DELETE_BATCH) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut select = tx.prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM entries WHERE id = ?1"
                ))?;
                let mut delete = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
                for id in batch {
                    let Some(row) = select.query_row([id], read_row).optional()? else {
                        continue;
                    };
                    if delete.execute([id])? > 0 {
                        if let Ok(e) = &row {
                            record_removal(&tx, self.steps, e, why)?;
                        }
                        gone.push(row);
                    }
                }
            }
            tx.commit()?;
        }
        Ok(gone)
    }

    fn where_clause(filter: &Filter, args: &mut Vec<Box<dyn rusqlite::ToSql>>) -> String {
        let mut sql = String::from(" WHERE 1 = 1");
        let mut push = |cond: &str, v: Box<dyn rusqlite::ToSql>| {
            args.push(v);
            sql.push_str(&cond.replace("?N", &format!("?{}", args.len())));
        };
        if let Some(id) = filter.id {
            push(" AND id = ?N", Box::new(id));
        }
        if let Some(repo) = &filter.repo {
            push(" AND repo = ?N", Box::new(repo.clone()));
        }
        if let Some(scope) = &filter.scope {
            push(" AND scope = ?N", Box::new(scope.clone()));
        }
        if let Some(version) = &filter.version {
            push(" AND version = ?N", Box::new(version.clone()));
        }
        if let Some(key) = &filter.key_folded {
            push(" AND key_folded = ?N", Box::new(key.clone()));
        }
        if let Some(prefix) = &filter.prefix_folded {
            push(
                " AND key_folded >= ?N AND substr(key_folded, 1, length(?N)) = ?N",
                Box::new(prefix.clone()),
            );
        }
        sql
    }

    /// Rows matching a filter, sorted, within its limit and offset.
    pub fn list(&self, filter: &Filter) -> rusqlite::Result<Vec<IndexRow>> {
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries{}",
            Self::where_clause(filter, &mut args)
        );
        // A whole listing is read in table order and sorted here: SQLite sorts whole rows in a
        // temporary b-tree that spills to disk past its cache (most of the time of `list` on
        // 10,000 entries), while sorting the checked entries costs a millisecond. With a
        // limit, SQLite keeps only the top rows and sorts those.
        let whole = filter.limit.is_none() && filter.offset == 0;
        if !whole {
            sql.push_str(match filter.sort {
                Sort::Created => " ORDER BY created_at DESC, id DESC",
                Sort::LastUsed => " ORDER BY last_accessed_at DESC, id DESC",
                Sort::LeastRecentlyUsed => " ORDER BY repo, last_accessed_at ASC, id ASC",
                Sort::Size => " ORDER BY size_bytes DESC, id DESC",
                Sort::Hits => " ORDER BY access_count DESC, last_accessed_at DESC, id DESC",
            });
        }
        if !whole {
            let limit = filter
                .limit
                .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
            let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
            sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(args.iter().map(AsRef::as_ref)),
            read_row,
        )?;
        let mut rows: Vec<IndexRow> = rows.collect::<rusqlite::Result<_>>()?;
        if whole {
            sort_rows(&mut rows, filter.sort);
        }
        Ok(rows)
    }

    /// How many rows match a filter, without its limit and offset.
    pub fn count(&self, filter: &Filter) -> rusqlite::Result<u64> {
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let sql = format!(
            "SELECT count(*) FROM entries{}",
            Self::where_clause(filter, &mut args)
        );
        self.conn
            .query_row(
                &sql,
                rusqlite::params_from_iter(args.iter().map(AsRef::as_ref)),
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
    }

    /// Total archive bytes of one repo (the cheap check `save` runs after it commits).
    pub fn repo_size(&self, repo: &str) -> rusqlite::Result<u64> {
        self.conn
            .prepare_cached(&format!("SELECT {SIZE_SUM} FROM entries WHERE repo = ?1"))?
            .query_row([repo], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
    }

    /// Every archive the index refers to (for gc's orphan sweep); rows that name no archive
    /// the store could have made refer to nothing.
    pub fn archives(&self) -> rusqlite::Result<HashSet<ArchiveId>> {
        let mut stmt = self.conn.prepare("SELECT archive FROM entries")?;
        let names = stmt.query_map([], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .ok()
                    .and_then(layout::archive_file_of_column)
                    .and_then(ArchiveId::parse_file_name)
                    .map(|(id, _)| id),
                _ => None,
            })
        })?;
        let mut out = HashSet::new();
        for n in names {
            if let Some(id) = n? {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// Per-repo statistics: entries and sizes now, restore attempts since `since`.
    pub fn stats(
        &self,
        repo: Option<&str>,
        since: Option<Timestamp>,
    ) -> rusqlite::Result<Vec<RepoStats>> {
        let since_ms = since.map_or(i64::MIN, Timestamp::ms);
        // Store-wide, a scan of the tables in storage order beats walking the repo indexes,
        // which visits every row's table page once per index entry.
        let hint = if repo.is_none() { " NOT INDEXED" } else { "" };
        let mut stmt = self.conn.prepare(&format!(
            "WITH e AS (
                 SELECT repo, count(*) AS entries, {SIZE_SUM} AS size
                 FROM entries{hint} WHERE ?1 IS NULL OR repo = ?1 GROUP BY repo),
             a AS (
                 SELECT repo,
                        sum(outcome = 'hit') AS hits,
                        sum(outcome = 'partial') AS partial_hits,
                        sum(outcome = 'miss') AS misses,
                        sum(min(max(CAST(bytes AS INTEGER), 0), 1099511627776)) AS bytes,
                        sum(min(max(CAST(duration_ms AS INTEGER), 0), 86400000)) AS ms
                 FROM restore_attempts{hint} WHERE at >= ?2 AND (?1 IS NULL OR repo = ?1) GROUP BY repo),
             r AS (SELECT repo FROM e UNION SELECT repo FROM a)
             SELECT r.repo, coalesce(e.entries, 0), coalesce(e.size, 0), coalesce(a.hits, 0),
                    coalesce(a.partial_hits, 0), coalesce(a.misses, 0), coalesce(a.bytes, 0),
                    coalesce(a.ms, 0)
             FROM r LEFT JOIN e USING (repo) LEFT JOIN a USING (repo) ORDER BY r.repo"
        ))?;
        let n = |r: &Row<'_>, i: usize| -> rusqlite::Result<u64> {
            Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
        };
        let rows = stmt.query_map(params![repo, since_ms], |r| {
            Ok(RepoStats {
                repo: text(r, 0).unwrap_or_default(),
                entries: n(r, 1)?,
                size_bytes: n(r, 2)?,
                restores: Some(Restores {
                    hits: n(r, 3)?,
                    partial_hits: n(r, 4)?,
                    misses: n(r, 5)?,
                    bytes_restored: n(r, 6)?,
                    restore_ms: n(r, 7)?,
                }),
                worth: None,
                limit_bytes: None,
            })
        })?;
        let mut repos: Vec<RepoStats> = rows.collect::<rusqlite::Result<_>>()?;
        let mut worth = self.worth(repo, since_ms)?;
        for s in &mut repos {
            s.worth = Some(worth.remove(&s.repo).unwrap_or_default());
        }
        Ok(repos)
    }

    /// What the cache was worth to each repo (or just `repo`) since `since_ms` (see
    /// [`Worth`]): one grouped query per table, whatever the number of repos.
    fn worth(
        &self,
        repo: Option<&str>,
        since_ms: i64,
    ) -> rusqlite::Result<std::collections::HashMap<String, Worth>> {
        let n = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
        let hint = if repo.is_none() { " NOT INDEXED" } else { "" };
        let mut out: std::collections::HashMap<String, Worth> = std::collections::HashMap::new();
        let mut grouped = |sql: &str,
                           set: &mut dyn FnMut(&mut Worth, &Row<'_>) -> rusqlite::Result<()>|
         -> rusqlite::Result<()> {
            let mut stmt = self.conn.prepare(sql)?;
            let mut rows = stmt.query(params![repo, since_ms])?;
            while let Some(r) = rows.next()? {
                let name = text(r, 0).unwrap_or_default();
                set(out.entry(name).or_default(), r)?;
            }
            Ok(())
        };
        grouped(
            &format!(
                "SELECT repo, count(*) FROM entries{hint}
                 WHERE (?1 IS NULL OR repo = ?1) AND ?2 = ?2 AND access_count = 0 GROUP BY repo"
            ),
            &mut |w, r| {
                w.never_restored = n(r.get(1)?);
                Ok(())
            },
        )?;
        if self.steps >= 1 {
            grouped(
                "SELECT repo, count(*) FROM removals WHERE (?1 IS NULL OR repo = ?1) AND at >= ?2
                     AND why IN ('evicted', 'expired') AND access_count = 0 GROUP BY repo",
                &mut |w, r| {
                    w.evicted_unused = n(r.get(1)?);
                    Ok(())
                },
            )?;
        }
        if self.steps >= 2 {
            grouped(
                "SELECT repo, count(*), sum(min(max(CAST(size_bytes AS INTEGER), 0), 1099511627776)) FROM saves
                 WHERE (?1 IS NULL OR repo = ?1) AND at >= ?2 GROUP BY repo",
                &mut |w, r| {
                    w.saves = n(r.get(1)?);
                    w.bytes_saved = n(r.get(2)?);
                    Ok(())
                },
            )?;
            grouped(
                &format!(
                    "SELECT repo, sum(min(max(CAST(duration_ms AS INTEGER), 0), 86400000)),
                            sum(min(max(CAST(command_ms AS INTEGER), 0), 86400000))
                     FROM restore_attempts{hint}
                     WHERE (?1 IS NULL OR repo = ?1) AND at >= ?2 AND command_ms IS NOT NULL
                     GROUP BY repo"
                ),
                &mut |w, r| {
                    w.measured_restore_ms = n(r.get(1)?);
                    w.command_ms = n(r.get(2)?);
                    Ok(())
                },
            )?;
            grouped(
                &format!(
                    "SELECT repo, CASE WHEN json_valid(miss_reasons)
                                 THEN coalesce(json_extract(miss_reasons, '$[0]'), 'none')
                                 ELSE 'none' END AS kind, count(*)
                     FROM restore_attempts{hint}
                     WHERE (?1 IS NULL OR repo = ?1) AND at >= ?2 AND outcome = 'miss'
                     GROUP BY repo, kind"
                ),
                &mut |w, r| {
                    let kind = text(r, 1).unwrap_or_else(|| "none".into());
                    // Only the kinds this binary names; anything else a row holds is "none".
                    let kind = if crate::store::misses::KINDS.contains(&kind.as_str()) {
                        kind
                    } else {
                        "none".to_string()
                    };
                    *w.miss_reasons.entry(kind).or_default() += n(r.get(2)?);
                    Ok(())
                },
            )?;
        }
        Ok(out)
    }

    /// The most restored keys since `since`: (repo, key, restores), most first.
    pub fn top_keys(
        &self,
        repo: Option<&str>,
        since: Option<Timestamp>,
        limit: u32,
    ) -> rusqlite::Result<Vec<(String, String, u64)>> {
        let since_ms = since.map_or(i64::MIN, Timestamp::ms);
        let hint = if repo.is_none() { " NOT INDEXED" } else { "" };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT repo, matched_key, count(*) AS n FROM restore_attempts{hint}
             WHERE outcome != 'miss' AND at >= ?2 AND (?1 IS NULL OR repo = ?1)
             GROUP BY repo, matched_key ORDER BY n DESC, repo, matched_key LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![repo, since_ms, limit], |r| {
            Ok((
                text(r, 0).unwrap_or_default(),
                text(r, 1).unwrap_or_default(),
                r.get::<_, i64>(2)?.max(0) as u64,
            ))
        })?;
        rows.collect()
    }

    /// Forgets restore attempts and removals older than `before` (statistics keep a bounded
    /// history).
    pub fn prune_history(
        &mut self,
        attempts_before: i64,
        removals_before: i64,
    ) -> rusqlite::Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = tx.execute(
            "DELETE FROM restore_attempts WHERE at < ?1",
            [attempts_before],
        )?;
        if self.steps >= 1 {
            n += tx.execute("DELETE FROM removals WHERE at < ?1", [removals_before])?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Whether the index has removal records (see [`STEPS`]).
    pub fn records_removals(&self) -> bool {
        self.has_removals()
    }
}

/// Records why an entry went, for the miss hints (only where the removals table exists).
fn record_removal(
    tx: &rusqlite::Transaction<'_>,
    steps: usize,
    e: &Entry,
    why: Removal,
) -> rusqlite::Result<()> {
    if steps < 1 {
        return Ok(());
    }
    let why = match why {
        Removal::Deleted => "deleted",
        Removal::Expired => "expired",
        Removal::Evicted => "evicted",
        Removal::Damaged => "damaged",
        Removal::Replaced => "replaced",
    };
    tx.prepare_cached(
        "INSERT INTO removals (at, repo, scope, key, key_folded, version, why, size_bytes,
             created_at, access_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        Timestamp::now().ms(),
        e.repo,
        scope_text(e.scope.as_deref()),
        e.key,
        e.key_folded(),
        e.version,
        why,
        e.size_bytes as i64,
        e.created_at.ms(),
        e.usage.as_ref().map_or(0, |u| u.access_count as i64),
    ])?;
    Ok(())
}

/// Most rows deleted in one write transaction.
const DELETE_BATCH: usize = 200;

// ---- Read-only queries of the settings page (`serve`) ----------------------------------------

/// One UTC day's restore attempts of a repo, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayRestores {
    /// The day's number since the Unix epoch (UTC): its start is `day * 86_400_000` ms.
    pub day: i64,
    pub hits: u64,
    pub partial_hits: u64,
    pub misses: u64,
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

impl Index {
    /// Restore attempts of `repo` per UTC day, for the days `first_day..=last_day` (day
    /// numbers since the epoch); days without attempts are absent. Rows whose time is not an
    /// integer are left out, whatever they hold.
    pub fn restores_per_day(
        &self,
        repo: &str,
        first_day: i64,
        last_day: i64,
    ) -> rusqlite::Result<Vec<DayRestores>> {
        let from = first_day.saturating_mul(DAY_MS);
        let to = last_day.saturating_add(1).saturating_mul(DAY_MS);
        let mut stmt = self.conn.prepare_cached(
            "SELECT at / 86400000 AS day, sum(outcome = 'hit'), sum(outcome = 'partial'),
                    sum(outcome = 'miss')
             FROM restore_attempts
             WHERE repo = ?1 AND typeof(at) = 'integer' AND at >= ?2 AND at < ?3
             GROUP BY day ORDER BY day",
        )?;
        let n = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
        let rows = stmt.query_map(params![repo, from, to], |r| {
            Ok(DayRestores {
                day: r.get(0)?,
                hits: n(r.get(1)?),
                partial_hits: n(r.get(2)?),
                misses: n(r.get(3)?),
            })
        })?;
        rows.collect()
    }

    /// Whether `repo` has an entry or a recorded restore attempt: what makes a repo known to
    /// the page and the API (two index probes, however big the history).
    pub fn repo_known(&self, repo: &str) -> rusqlite::Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM entries WHERE repo = ?1)
                     OR EXISTS (SELECT 1 FROM restore_attempts WHERE repo = ?1)",
            )?
            .query_row([repo], |r| r.get(0))
    }

    /// Like [`Index::list`] and [`Index::count`] at once, with one more condition: the folded
    /// key contains `needle_folded` (a literal substring: `%` and `_` are not wildcards).
    pub fn list_containing(
        &self,
        filter: &Filter,
        needle_folded: &str,
    ) -> rusqlite::Result<(Vec<IndexRow>, u64)> {
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut condition = Self::where_clause(filter, &mut args);
        args.push(Box::new(needle_folded.to_string()));
        condition.push_str(&format!(" AND instr(key_folded, ?{}) > 0", args.len()));
        let order = match filter.sort {
            Sort::Created => "created_at DESC, id DESC",
            Sort::LastUsed => "last_accessed_at DESC, id DESC",
            Sort::LeastRecentlyUsed => "repo, last_accessed_at ASC, id ASC",
            Sort::Size => "size_bytes DESC, id DESC",
            Sort::Hits => "access_count DESC, last_accessed_at DESC, id DESC",
        };
        let limit = filter
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        let values = || rusqlite::params_from_iter(args.iter().map(AsRef::as_ref));
        let total = self
            .conn
            .query_row(
                &format!("SELECT count(*) FROM entries{condition}"),
                values(),
                |r| r.get::<_, i64>(0),
            )?
            .max(0) as u64;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries{condition} ORDER BY {order} \
             LIMIT {limit} OFFSET {offset}"
        ))?;
        let rows = stmt.query_map(values(), read_row)?;
        Ok((rows.collect::<rusqlite::Result<_>>()?, total))
    }
}

#[cfg(test)]
mod page_query_tests {
    use super::*;

    fn attempt(ix: &Index, at: i64, outcome: &str) {
        ix.conn
            .execute(
                "INSERT INTO restore_attempts (at, repo, scope, primary_key, outcome)
                 VALUES (?1, 'o/r', '', 'k', ?2)",
                params![at, outcome],
            )
            .unwrap();
    }

    #[test]
    fn restores_are_counted_per_utc_day() {
        let dir = tempfile::tempdir().unwrap();
        let ix = Index::open(&dir.path().join("i.sqlite")).unwrap();
        let day = 20_000;
        // The first and last millisecond of a day belong to it.
        attempt(&ix, day * DAY_MS, "hit");
        attempt(&ix, (day + 1) * DAY_MS - 1, "miss");
        attempt(&ix, (day + 2) * DAY_MS + 5, "partial");
        attempt(&ix, (day + 2) * DAY_MS + 6, "hit");
        // Outside the range, and rows no day can be made of.
        attempt(&ix, day * DAY_MS - 1, "hit");
        attempt(&ix, (day + 3) * DAY_MS, "hit");
        ix.conn
            .execute(
                "INSERT INTO restore_attempts (at, repo, scope, primary_key, outcome)
                 VALUES ('soon', 'o/r', '', 'k', 'hit'), (?1, 'x/y', '', 'k', 'hit')",
                [day * DAY_MS],
            )
            .unwrap();
        assert!(ix.repo_known("o/r").unwrap(), "known by its attempts alone");
        assert!(!ix.repo_known("o/other").unwrap());
        let days = ix.restores_per_day("o/r", day, day + 2).unwrap();
        let d = |day, hits, partial_hits, misses| DayRestores {
            day,
            hits,
            partial_hits,
            misses,
        };
        assert_eq!(days, [d(day, 1, 0, 1), d(day + 2, 1, 1, 0)]);
    }

    #[test]
    fn keys_contain_a_literal_substring() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = Index::open(&dir.path().join("i.sqlite")).unwrap();
        for (i, key) in ["npm-Linux-abc", "pip-Linux-50%", "go_mod", "gomod"]
            .into_iter()
            .enumerate()
        {
            let e = Entry {
                repo: "o/r".into(),
                scope: None,
                key: key.into(),
                version: "a".repeat(64),
                paths: vec!["p".into()],
                codec: crate::store::archive::Codec::Zstd,
                format: crate::store::entry::Format::Archive,
                archive: ArchiveId::random(),
                size_bytes: 10,
                unpacked_bytes: 20,
                file_count: 1,
                digest: "0".repeat(64),
                created_at: Timestamp::from_ms(i as i64).unwrap(),
                created_by_run: None,
                signature: None,
                usage: None,
            };
            ix.insert(&e, CommitMode::Create, &|_| true).unwrap();
        }
        let keys = |needle: &str, limit: Option<u64>, offset: u64| {
            let filter = Filter {
                repo: Some("o/r".into()),
                sort: Sort::Created,
                limit,
                offset,
                ..Filter::default()
            };
            let (rows, total) = ix.list_containing(&filter, needle).unwrap();
            let keys: Vec<String> = rows.into_iter().map(|r| r.unwrap().key).collect();
            (keys, total)
        };
        assert_eq!(
            keys("linux", None, 0),
            (vec!["pip-Linux-50%".into(), "npm-Linux-abc".into()], 2)
        );
        assert_eq!(keys("0%", None, 0).1, 1, "% is a character");
        assert_eq!(
            keys("o_m", None, 0),
            (vec!["go_mod".into()], 1),
            "_ is a character"
        );
        assert_eq!(keys("o", Some(1), 1), (vec!["go_mod".into()], 2));
        assert_eq!(keys("nothing", None, 0), (vec![], 0));
    }
}

// ---- The cas format's tables (docs/cas.md) ----------------------------------------------------

/// Where a stored blob is, as the `cas_blobs` table has it (checked when read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub hash: String,
    pub pack: String,
    pub frame_offset: u64,
    pub frame_len: u32,
    pub offset: u32,
    pub len: u32,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Index {
    /// Where the store has the blob `hash`, if a well-formed row says so.
    pub fn cas_blob(&self, hash: &str) -> rusqlite::Result<Option<BlobRow>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT pack, frame_offset, frame_len, offset, len FROM cas_blobs WHERE hash = ?1",
            )?
            .query_row([hash], |r| {
                Ok((text(r, 0), int(r, 1), int(r, 2), int(r, 3), int(r, 4)))
            })
            .optional()?;
        let Some((Some(pack), Some(fo), Some(fl), Some(o), Some(l))) = row else {
            return Ok(None);
        };
        let ok = is_hex64(&pack)
            && fo >= 0
            && (0..=i64::from(u32::MAX)).contains(&fl)
            && (0..=i64::from(u32::MAX)).contains(&o)
            && (0..=i64::from(u32::MAX)).contains(&l);
        Ok(ok.then(|| BlobRow {
            hash: hash.to_string(),
            pack,
            frame_offset: fo as u64,
            frame_len: fl as u32,
            offset: o as u32,
            len: l as u32,
        }))
    }

    /// [`Index::cas_blob`] for many hashes in one read transaction (one lock, not one per
    /// hash): those the store has.
    pub fn cas_blobs(
        &mut self,
        hashes: &[String],
    ) -> rusqlite::Result<std::collections::HashMap<String, BlobRow>> {
        let tx = self.conn.transaction()?;
        let mut out = std::collections::HashMap::new();
        {
            let mut stmt = tx.prepare_cached(
                "SELECT pack, frame_offset, frame_len, offset, len FROM cas_blobs WHERE hash = ?1",
            )?;
            for h in hashes {
                let row = stmt
                    .query_row([h], |r| {
                        Ok((text(r, 0), int(r, 1), int(r, 2), int(r, 3), int(r, 4)))
                    })
                    .optional()?;
                let Some((Some(pack), Some(fo), Some(fl), Some(o), Some(l))) = row else {
                    continue;
                };
                let ok = is_hex64(&pack)
                    && fo >= 0
                    && (0..=i64::from(u32::MAX)).contains(&fl)
                    && (0..=i64::from(u32::MAX)).contains(&o)
                    && (0..=i64::from(u32::MAX)).contains(&l);
                if ok {
                    out.insert(
                        h.clone(),
                        BlobRow {
                            hash: h.clone(),
                            pack,
                            frame_offset: fo as u64,
                            frame_len: fl as u32,
                            offset: o as u32,
                            len: l as u32,
                        },
                    );
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Leases `pack` for `owner` when the pack is still registered (one statement, so gc's
    /// removal of the pack's row either happened before — false — or sees the lease).
    pub fn cas_lease(&self, owner: &str, pack: &str) -> rusqlite::Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO cas_refs (owner, pack, created_at)
             SELECT ?1, name, ?3 FROM cas_packs WHERE name = ?2",
            )?
            .execute(params![owner, pack, Timestamp::now().ms()])?;
        if n == 1 {
            return Ok(true);
        }
        self.conn
            .prepare_cached("SELECT count(*) > 0 FROM cas_refs WHERE owner = ?1 AND pack = ?2")?
            .query_row(params![owner, pack], |r| r.get(0))
    }

    /// Registers a new pack with its blobs, leased for `owner`, in one transaction.
    pub fn cas_register_pack(
        &mut self,
        owner: &str,
        pack: &str,
        size_bytes: u64,
        blobs: &[BlobRow],
    ) -> rusqlite::Result<()> {
        let now = Timestamp::now().ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO cas_packs (name, size_bytes, created_at) VALUES (?1, ?2, ?3)",
            params![pack, size_bytes as i64, now],
        )?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO cas_blobs (hash, pack, frame_offset, frame_len, offset, len)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for b in blobs {
                ins.execute(params![
                    b.hash,
                    b.pack,
                    b.frame_offset as i64,
                    b.frame_len,
                    b.offset,
                    b.len
                ])?;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO cas_refs (owner, pack, created_at) VALUES (?1, ?2, ?3)",
            params![owner, pack, now],
        )?;
        tx.commit()
    }

    /// Drops every lease of `owner` (its entry is gone, or its save lost or failed).
    pub fn cas_drop_refs(&self, owner: &str) -> rusqlite::Result<usize> {
        if self.steps < 3 {
            return Ok(0);
        }
        self.conn
            .prepare_cached("DELETE FROM cas_refs WHERE owner = ?1")?
            .execute([owner])
    }

    /// Drops leases whose owner is no entry in `known` and that are older than `before_ms`
    /// (saves that died; a live save's lease is younger).
    pub fn cas_expire_leases(
        &self,
        known: &HashSet<ArchiveId>,
        before_ms: i64,
    ) -> rusqlite::Result<usize> {
        let owners: Vec<(String, i64)> = self
            .conn
            .prepare("SELECT owner, max(created_at) FROM cas_refs GROUP BY owner")?
            .query_map([], |r| {
                Ok((text(r, 0).unwrap_or_default(), int(r, 1).unwrap_or(0)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut n = 0;
        for (owner, at) in owners {
            let live = ArchiveId::parse(&owner).is_some_and(|id| known.contains(&id));
            if !live && at < before_ms {
                n += self.cas_drop_refs(&owner)?;
            }
        }
        Ok(n)
    }

    /// Registered packs no lease names: (name, size). Names that are not hex are left out.
    pub fn cas_dead_packs(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT name, size_bytes FROM cas_packs p
             WHERE NOT EXISTS (SELECT 1 FROM cas_refs r WHERE r.pack = p.name)",
        )?;
        let rows = stmt.query_map([], |r| Ok((text(r, 0), int(r, 1))))?;
        let mut out = Vec::new();
        for row in rows {
            if let (Some(name), size) = row? {
                if is_hex64(&name) {
                    out.push((name, size.unwrap_or(0).max(0) as u64));
                }
            }
        }
        Ok(out)
    }

    /// Unregisters a pack (and its blobs) unless a lease appeared meanwhile; whether it did.
    pub fn cas_unregister_pack(&mut self, name: &str) -> rusqlite::Result<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM cas_packs WHERE name = ?1
             AND NOT EXISTS (SELECT 1 FROM cas_refs WHERE pack = ?1)",
            [name],
        )?;
        if n == 1 {
            tx.execute("DELETE FROM cas_blobs WHERE pack = ?1", [name])?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Every registered pack name.
    pub fn cas_packs(&self) -> rusqlite::Result<HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT name FROM cas_packs")?;
        let rows = stmt.query_map([], |r| Ok(text(r, 0)))?;
        let mut out = HashSet::new();
        for r in rows {
            if let Some(n) = r? {
                out.insert(n);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::archive::Codec;

    fn entry(key: &str, created: i64) -> Entry {
        Entry {
            repo: "o/r".into(),
            scope: None,
            key: key.into(),
            version: "v".repeat(64).replace('v', "a"),
            paths: vec!["node_modules".into()],
            codec: Codec::Zstd,
            format: crate::store::entry::Format::Archive,
            archive: ArchiveId::random(),
            size_bytes: 10,
            unpacked_bytes: 20,
            file_count: 1,
            digest: "0".repeat(64),
            created_at: Timestamp::from_ms(created).unwrap(),
            created_by_run: None,
            signature: None,
            usage: None,
        }
    }

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.sqlite")).unwrap();
        (dir, index)
    }

    fn query(scopes: &[Option<&str>], keys: &[&str]) -> Query {
        Query {
            repo: "o/r".into(),
            scopes: scopes.iter().map(|s| s.map(str::to_string)).collect(),
            version: "a".repeat(64),
            keys: keys.iter().map(|k| crate::keys::fold(k)).collect(),
        }
    }

    fn add(ix: &mut Index, e: &Entry) {
        ix.insert(e, CommitMode::Create, &|_| true).unwrap();
    }

    #[test]
    fn lookup_order_exact_then_newest_prefix_then_restore_keys() {
        let (_d, mut ix) = index();
        add(&mut ix, &entry("npm-Linux-aaa", 1));
        add(&mut ix, &entry("npm-Linux-bbb", 2));
        add(&mut ix, &entry("npm-Linux-", 3));
        let find = |keys: &[&str]| {
            ix.lookup(&query(&[None], keys), None, &mut |_, r| r.is_ok())
                .unwrap()
                .map(|(_, e)| e.key)
        };
        assert_eq!(
            find(&["NPM-linux-AAA"]).as_deref(),
            Some("npm-Linux-aaa"),
            "case-insensitive exact"
        );
        // The exact restore key beats a newer prefix match.
        assert_eq!(
            find(&["npm-Linux-zzz", "npm-Linux-"]).as_deref(),
            Some("npm-Linux-")
        );
        assert_eq!(
            find(&["npm-Linux-b"]).as_deref(),
            Some("npm-Linux-bbb"),
            "primary key as prefix"
        );
        assert_eq!(find(&["npm-%", "npm_"]), None, "prefixes are literal");
        assert_eq!(
            find(&["x", "npm-Linux-a"]).as_deref(),
            Some("npm-Linux-aaa")
        );
        // `until` stops the search.
        let stopped = ix
            .lookup(
                &query(&[None], &["x", "npm-Linux-a"]),
                Some(Step {
                    scope: 0,
                    key: 0,
                    prefix: true,
                }),
                &mut |_, r| r.is_ok(),
            )
            .unwrap();
        assert!(stopped.is_none());
    }

    #[test]
    fn first_writer_wins_unless_replace() {
        let (_d, mut ix) = index();
        let first = entry("k", 1);
        assert!(matches!(
            ix.insert(&first, CommitMode::Create, &|_| true).unwrap(),
            Inserted::New { replaced: None }
        ));
        match ix
            .insert(&entry("K", 2), CommitMode::Create, &|_| true)
            .unwrap()
        {
            Inserted::AlreadyExists(e) => assert_eq!(e.archive, first.archive),
            other @ Inserted::New { .. } => panic!("expected AlreadyExists, got {other:?}"),
        }
        let third = entry("k", 3);
        match ix.insert(&third, CommitMode::Replace, &|_| true).unwrap() {
            Inserted::New {
                replaced: Some(Ok(e)),
            } => assert_eq!(e.archive, first.archive),
            other => panic!("expected a replacement, got {other:?}"),
        }
        let id = third.identity();
        assert_eq!(
            ix.find(&id).unwrap().unwrap().unwrap().archive,
            third.archive
        );
        // Adopt keeps what `keep` accepts, replaces what it refuses.
        let fourth = entry("k", 4);
        assert!(matches!(
            ix.insert(&fourth, CommitMode::Adopt, &|_| true).unwrap(),
            Inserted::AlreadyExists(_)
        ));
        assert!(matches!(
            ix.insert(&fourth, CommitMode::Adopt, &|_| false).unwrap(),
            Inserted::New { replaced: Some(_) }
        ));
    }

    #[test]
    fn scopes_and_versions_are_separate_namespaces() {
        let (_d, mut ix) = index();
        let mut main = entry("k", 1);
        main.scope = Some("main".into());
        add(&mut ix, &main);
        let found = |q: Query| {
            ix.lookup(&q, None, &mut |_, r| r.is_ok())
                .unwrap()
                .is_some()
        };
        assert!(!found(query(&[None], &["k"])));
        assert!(found(query(&[Some("feature"), Some("main")], &["k"])));
        let mut other_version = query(&[Some("main")], &["k"]);
        other_version.version = "b".repeat(64);
        assert!(!found(other_version));
        let mut other_repo = query(&[Some("main")], &["k"]);
        other_repo.repo = "other/repo".into();
        assert!(!found(other_repo));
    }

    #[test]
    fn attempts_bump_access_on_hits_only() {
        let (_d, mut ix) = index();
        let e = entry("k", 1);
        add(&mut ix, &e);
        let e = ix.find(&e.identity()).unwrap().unwrap().unwrap();
        let attempt = |outcome| Attempt {
            repo: "o/r",
            scope: None,
            primary_key: "k",
            entry: Some(&e),
            outcome,
            bytes: 5,
            duration_ms: 1,
            miss_reasons: &[],
        };
        ix.record_attempt(&attempt(Outcome::Hit)).unwrap();
        ix.record_attempt(&attempt(Outcome::Partial)).unwrap();
        ix.record_attempt(&Attempt {
            entry: None,
            ..attempt(Outcome::Miss)
        })
        .unwrap();
        let after = ix.find(&e.identity()).unwrap().unwrap().unwrap();
        assert_eq!(after.usage.unwrap().access_count, 2);
        let n: i64 = ix
            .conn
            .query_row("SELECT count(*) FROM restore_attempts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn additive_steps_keep_older_and_newer_binaries_working() {
        let (dir, ix) = index();
        let version: i64 = ix
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            version, 2,
            "additive steps never raise the base version an older binary checks"
        );
        // A newer binary added a step of its own: a table and a column.
        ix.conn
            .execute_batch(
                "CREATE TABLE from_the_future (x INTEGER);
                 ALTER TABLE entries ADD COLUMN future_column TEXT DEFAULT 'f';
                 INSERT INTO schema_steps (step, applied_at) VALUES (99, 0);",
            )
            .unwrap();
        drop(ix);
        let path = dir.path().join("i.sqlite");
        let mut ix = Index::open(&path).expect("a newer additive schema still opens");
        add(&mut ix, &entry("k", 1));
        assert_eq!(ix.list(&Filter::default()).unwrap().len(), 1);
        drop(ix);
        assert!(Index::open_read_only(&path).is_ok());
        // A newer *base* schema is refused: its changes may not be additive.
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        drop(conn);
        let err = Index::open(&path).err().expect("refused").to_string();
        assert!(
            err.contains("newer than this wit-cache understands"),
            "{err}"
        );
    }

    #[test]
    fn hostile_rows_are_bad_entries_not_errors() {
        let (_d, mut ix) = index();
        add(&mut ix, &entry("good", 1));
        for (n, (archive, size, created)) in [
            ("'/etc/passwd'", "1", "1"),
            ("'archives-v1/00/../../x.tar.zst'", "1", "1"),
            (
                "'archives-v1/ab/00000000000000000000000000000000.tar.zst'",
                "1",
                "1",
            ),
            (
                "'archives-v1/00/00000000000000000000000000000000.tar.zst'",
                "'many'",
                "1",
            ),
            (
                "'archives-v1/11/11111111111111111111111111111111.tar.zst'",
                "1",
                "253402300800000",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            ix.conn
                .execute_batch(&format!(
                    "INSERT INTO entries (repo, scope, key, key_folded, version, paths, compression,
                         archive, size_bytes, unpacked_bytes, file_count, digest, created_at,
                         last_accessed_at, access_count)
                     VALUES ('o/r', '', 'bad-{n}', 'bad-{n}',
                         '{v}', '[\"p\"]', 'zstd', {archive}, {size}, 1, 1, '{d}', {created}, 1, 0)",
                    v = "a".repeat(64),
                    d = "0".repeat(64),
                ))
                .unwrap();
        }
        let rows = ix.list(&Filter::default()).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 1);
        let bad: Vec<&BadEntry> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(bad.iter().all(|b| b.row.is_some()));
        // Only the two rows whose archive column is exactly a name the store makes keep it.
        assert_eq!(bad.iter().filter(|b| b.archive.is_some()).count(), 2);
        assert_eq!(ix.archives().unwrap().len(), 3);
        assert!(
            ix.repo_size("o/r").unwrap() < 100,
            "a text size counts as 0"
        );
    }
}
