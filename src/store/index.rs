//! All SQL: migrations, the lookup order, inserts, access records.
//!
//! Invariants: every write is a short `BEGIN IMMEDIATE` transaction; the busy timeout is set
//! before anything else touches the database, so parallel jobs wait instead of failing with
//! "database is locked"; migrations are append-only and keyed by `PRAGMA user_version`.
//! A row is only ever inserted after its archive is complete on disk.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use crate::clock;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Append-only: entry N migrates `user_version` N to N+1. Never edit a released step.
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

const ENTRY_COLUMNS: &str = "id, repo, scope, key, version, paths, compression, archive, size_bytes, \
     unpacked_bytes, file_count, digest, created_at, last_accessed_at, access_count, created_by_run, signature";

/// One row of `entries`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub repo: String,
    pub scope: Option<String>,
    pub key: String,
    pub version: String,
    pub paths: Vec<String>,
    pub compression: String,
    pub archive: String,
    pub size_bytes: u64,
    pub unpacked_bytes: u64,
    pub file_count: u64,
    pub digest: String,
    pub created_at: i64,
    pub last_accessed_at: i64,
    pub access_count: u64,
    pub created_by_run: Option<String>,
    pub signature: Option<String>,
}

impl Entry {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let scope: String = row.get(2)?;
        let paths: String = row.get(5)?;
        Ok(Self {
            id: row.get(0)?,
            repo: row.get(1)?,
            scope: (!scope.is_empty()).then_some(scope),
            key: row.get(3)?,
            version: row.get(4)?,
            paths: serde_json::from_str(&paths).unwrap_or_default(),
            compression: row.get(6)?,
            archive: row.get(7)?,
            size_bytes: row.get::<_, i64>(8)? as u64,
            unpacked_bytes: row.get::<_, i64>(9)? as u64,
            file_count: row.get::<_, i64>(10)? as u64,
            digest: row.get(11)?,
            created_at: row.get(12)?,
            last_accessed_at: row.get(13)?,
            access_count: row.get::<_, i64>(14)? as u64,
            created_by_run: row.get(15)?,
            signature: row.get(16)?,
        })
    }
}

/// What identifies an entry: (repo, scope, version, key) — the key compared folded.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    pub repo: &'a str,
    pub scope: Option<&'a str>,
    pub version: &'a str,
}

/// A finished archive to register.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub key: String,
    pub paths: Vec<String>,
    pub compression: String,
    pub archive: String,
    pub size_bytes: u64,
    pub unpacked_bytes: u64,
    pub file_count: u64,
    pub digest: String,
    pub created_by_run: Option<String>,
    pub signature: Option<String>,
}

/// What an insert did.
#[derive(Debug)]
pub enum Inserted {
    /// The row is in; `replaced` is the entry `--overwrite` displaced (its archive is now ours
    /// to delete).
    New { replaced: Option<Entry> },
    /// Another writer registered the same identity first; nothing was written.
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
}

pub struct Index {
    conn: Connection,
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

impl Index {
    /// Opens (creating when missing) the index and brings its schema up to date.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
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
        let mut index = Self { conn };
        index.migrate()?;
        Ok(index)
    }

    /// Opens an existing index for reading only: no schema change, no WAL switch, nothing
    /// written — for untrusted jobs and read-only mounts of the store. A WAL database on a
    /// read-only file system can only be read as "immutable", which is tried second.
    pub fn open_read_only(path: &Path) -> rusqlite::Result<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
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
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "index schema v{version} is newer than this wit-cache understands (v{})",
                MIGRATIONS.len()
            )));
        }
        Ok(Self { conn })
    }

    fn migrate(&mut self) -> rusqlite::Result<()> {
        let current: usize =
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if current > MIGRATIONS.len() {
            // Writing into a schema we do not know could break a newer binary's invariants.
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "index schema v{current} is newer than this wit-cache understands (v{}): upgrade \
                 wit-cache or use another --cache-dir",
                MIGRATIONS.len()
            )));
        }
        if current == MIGRATIONS.len() {
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
        tx.commit()
    }

    /// The entry with exactly this key (compared folded).
    pub fn find_exact(
        &self,
        id: &Identity<'_>,
        key_folded: &str,
    ) -> rusqlite::Result<Option<Entry>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries
                 WHERE repo = ?1 AND scope = ?2 AND version = ?3 AND key_folded = ?4"
            ))?
            .query_row(
                params![id.repo, id.scope.unwrap_or(""), id.version, key_folded],
                Entry::from_row,
            )
            .optional()
    }

    /// GitHub's lookup order: in each scope (own first, then fallbacks), each key in order
    /// (primary, then restore keys), first exactly, then as a prefix, newest first. Prefixes
    /// are literal: `%` and `_` are ordinary characters here, unlike in the seed's LIKE query.
    /// `accept` may refuse a candidate (an unsigned entry when signing is on); the search
    /// then goes on as if it were not there.
    pub fn lookup(
        &self,
        repo: &str,
        scopes: &[Option<String>],
        version: &str,
        keys_folded: &[String],
        accept: &mut dyn FnMut(&Entry) -> bool,
    ) -> rusqlite::Result<Option<Entry>> {
        let mut by_prefix = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries
             WHERE repo = ?1 AND scope = ?2 AND version = ?3
               AND key_folded > ?4 AND substr(key_folded, 1, length(?4)) = ?4
             ORDER BY created_at DESC, id DESC"
        ))?;
        for scope in scopes {
            let id = Identity {
                repo,
                scope: scope.as_deref(),
                version,
            };
            for key in keys_folded {
                if let Some(e) = self.find_exact(&id, key)? {
                    if accept(&e) {
                        return Ok(Some(e));
                    }
                }
                // Rows are stepped lazily: usually only the newest match is read.
                let mut rows =
                    by_prefix.query(params![repo, id.scope.unwrap_or(""), version, key])?;
                while let Some(row) = rows.next()? {
                    let e = Entry::from_row(row)?;
                    if accept(&e) {
                        return Ok(Some(e));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Registers a finished archive. Without `overwrite`, the first writer of an identity
    /// wins and later ones get [`Inserted::AlreadyExists`]; with it, the old row is replaced in
    /// the same transaction, so readers see the old entry or the new one, never neither.
    pub fn insert(
        &mut self,
        id: &Identity<'_>,
        new: &NewEntry,
        overwrite: bool,
    ) -> rusqlite::Result<Inserted> {
        let folded = crate::keys::fold(&new.key);
        let now = clock::now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = tx
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries
                 WHERE repo = ?1 AND scope = ?2 AND version = ?3 AND key_folded = ?4"
            ))?
            .query_row(
                params![id.repo, id.scope.unwrap_or(""), id.version, folded],
                Entry::from_row,
            )
            .optional()?;
        let replaced = match existing {
            Some(e) if !overwrite => return Ok(Inserted::AlreadyExists(e)),
            Some(e) => {
                tx.execute("DELETE FROM entries WHERE id = ?1", [e.id])?;
                Some(e)
            }
            None => None,
        };
        let paths = serde_json::to_string(&new.paths).expect("a list of strings serialises");
        tx.execute(
            "INSERT INTO entries (repo, scope, key, key_folded, version, paths, compression, archive,
                 size_bytes, unpacked_bytes, file_count, digest, created_at, last_accessed_at,
                 access_count, created_by_run, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, 0, ?14, ?15)",
            params![
                id.repo,
                id.scope.unwrap_or(""),
                new.key,
                folded,
                id.version,
                paths,
                new.compression,
                new.archive,
                new.size_bytes as i64,
                new.unpacked_bytes as i64,
                new.file_count as i64,
                new.digest,
                now,
                new.created_by_run,
                new.signature,
            ],
        )?;
        tx.commit()?;
        Ok(Inserted::New { replaced })
    }

    /// Records a restore attempt and, for a hit, bumps the entry's last access and count.
    pub fn record_attempt(&mut self, a: &Attempt<'_>) -> rusqlite::Result<()> {
        let now = clock::now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO restore_attempts
                 (at, repo, scope, primary_key, matched_key, entry_id, outcome, bytes, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                now,
                a.repo,
                a.scope.unwrap_or(""),
                a.primary_key,
                a.entry.map(|e| e.key.as_str()),
                a.entry.map(|e| e.id),
                a.outcome.as_str(),
                a.bytes as i64,
                a.duration_ms as i64,
            ],
        )?;
        if let (Some(e), Outcome::Hit | Outcome::Partial) = (a.entry, a.outcome) {
            tx.execute(
                "UPDATE entries SET last_accessed_at = max(last_accessed_at, ?2),
                     access_count = access_count + 1 WHERE id = ?1",
                params![e.id, now],
            )?;
        }
        tx.commit()
    }

    /// Removes rows by id, in short transactions of at most [`DELETE_BATCH`] rows so that a
    /// big gc never holds the write lock for long; returns the ids that were still there.
    /// The caller deletes the archives after this returns (row first, then file: a crash in
    /// between leaves an orphan file that gc sweeps, never a row without its archive).
    pub fn delete_entries(&mut self, ids: &[i64]) -> rusqlite::Result<Vec<i64>> {
        let mut gone = Vec::with_capacity(ids.len());
        for batch in ids.chunks(DELETE_BATCH) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
                for id in batch {
                    if stmt.execute([id])? > 0 {
                        gone.push(*id);
                    }
                }
            }
            tx.commit()?;
        }
        Ok(gone)
    }

    /// Entries matching a filter, sorted.
    pub fn list(&self, filter: &Filter<'_>) -> rusqlite::Result<Vec<Entry>> {
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE 1 = 1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(id) = filter.id {
            args.push(Box::new(id));
            sql.push_str(&format!(" AND id = ?{}", args.len()));
        }
        if let Some(repo) = filter.repo {
            args.push(Box::new(repo.to_string()));
            sql.push_str(&format!(" AND repo = ?{}", args.len()));
        }
        if let Some(scope) = filter.scope {
            args.push(Box::new(scope.to_string()));
            sql.push_str(&format!(" AND scope = ?{}", args.len()));
        }
        if let Some(key) = &filter.key_folded {
            args.push(Box::new(key.clone()));
            sql.push_str(&format!(" AND key_folded = ?{}", args.len()));
        }
        if let Some(prefix) = &filter.prefix_folded {
            args.push(Box::new(prefix.clone()));
            let n = args.len();
            sql.push_str(&format!(
                " AND key_folded >= ?{n} AND substr(key_folded, 1, length(?{n})) = ?{n}"
            ));
        }
        sql.push_str(match filter.sort {
            Sort::Created => " ORDER BY created_at DESC, id DESC",
            Sort::LastUsed => " ORDER BY last_accessed_at DESC, id DESC",
            Sort::LeastRecentlyUsed => " ORDER BY repo, last_accessed_at ASC, id ASC",
            Sort::Size => " ORDER BY size_bytes DESC, id DESC",
        });
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(
            rusqlite::params_from_iter(args.iter().map(AsRef::as_ref)),
            Entry::from_row,
        )?;
        rows.collect()
    }

    /// Total archive bytes of one repo (the cheap check `save` runs after it commits).
    pub fn repo_size(&self, repo: &str) -> rusqlite::Result<u64> {
        self.conn
            .prepare_cached("SELECT coalesce(sum(size_bytes), 0) FROM entries WHERE repo = ?1")?
            .query_row([repo], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }

    /// Every archive name the index refers to (for gc's orphan sweep).
    pub fn archive_names(&self) -> rusqlite::Result<std::collections::HashSet<String>> {
        let mut stmt = self.conn.prepare("SELECT archive FROM entries")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
        names.collect()
    }

    /// Per-repo statistics: entries and sizes now, restore attempts since `since_ms`.
    pub fn stats(&self, repo: Option<&str>, since_ms: i64) -> rusqlite::Result<Vec<RepoStats>> {
        let mut stmt = self.conn.prepare(
            "WITH e AS (
                 SELECT repo, count(*) AS entries, sum(size_bytes) AS size
                 FROM entries WHERE ?1 IS NULL OR repo = ?1 GROUP BY repo),
             a AS (
                 SELECT repo,
                        sum(outcome = 'hit') AS hits,
                        sum(outcome = 'partial') AS partial_hits,
                        sum(outcome = 'miss') AS misses,
                        sum(bytes) AS bytes,
                        sum(duration_ms) AS ms
                 FROM restore_attempts WHERE at >= ?2 AND (?1 IS NULL OR repo = ?1) GROUP BY repo),
             r AS (SELECT repo FROM e UNION SELECT repo FROM a)
             SELECT r.repo, coalesce(e.entries, 0), coalesce(e.size, 0), coalesce(a.hits, 0),
                    coalesce(a.partial_hits, 0), coalesce(a.misses, 0), coalesce(a.bytes, 0),
                    coalesce(a.ms, 0)
             FROM r LEFT JOIN e USING (repo) LEFT JOIN a USING (repo) ORDER BY r.repo",
        )?;
        let rows = stmt.query_map(params![repo, since_ms], |r| {
            Ok(RepoStats {
                repo: r.get(0)?,
                entries: r.get::<_, i64>(1)? as u64,
                size_bytes: r.get::<_, i64>(2)? as u64,
                hits: r.get::<_, i64>(3)? as u64,
                partial_hits: r.get::<_, i64>(4)? as u64,
                misses: r.get::<_, i64>(5)? as u64,
                bytes_restored: r.get::<_, i64>(6)? as u64,
                restore_ms: r.get::<_, i64>(7)? as u64,
            })
        })?;
        rows.collect()
    }

    /// The most restored keys since `since_ms`: (repo, key, restores), most first.
    pub fn top_keys(
        &self,
        repo: Option<&str>,
        since_ms: i64,
        limit: u32,
    ) -> rusqlite::Result<Vec<(String, String, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT repo, matched_key, count(*) AS n FROM restore_attempts
             WHERE outcome != 'miss' AND at >= ?2 AND (?1 IS NULL OR repo = ?1)
             GROUP BY repo, matched_key ORDER BY n DESC, repo, matched_key LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![repo, since_ms, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        rows.collect()
    }

    /// Forgets restore attempts older than `before_ms` (statistics keep a bounded history).
    pub fn prune_attempts(&mut self, before_ms: i64) -> rusqlite::Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute("DELETE FROM restore_attempts WHERE at < ?1", [before_ms])?;
        tx.commit()?;
        Ok(n)
    }
}

/// Most rows deleted in one write transaction.
const DELETE_BATCH: usize = 200;

/// Which entries `list`, `show`, `delete` and `gc` look at; `None` fields do not filter.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub id: Option<i64>,
    pub repo: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub key_folded: Option<String>,
    pub prefix_folded: Option<String>,
    pub sort: Sort,
    pub limit: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    #[default]
    LastUsed,
    /// Per repo, least recently used first: the eviction order.
    LeastRecentlyUsed,
    Size,
}

/// One repo's numbers for `stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoStats {
    pub repo: String,
    pub entries: u64,
    pub size_bytes: u64,
    pub hits: u64,
    pub partial_hits: u64,
    pub misses: u64,
    pub bytes_restored: u64,
    pub restore_ms: u64,
}

impl RepoStats {
    /// (hits + partial hits) / attempts, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let attempts = self.hits + self.partial_hits + self.misses;
        if attempts == 0 {
            0.0
        } else {
            (self.hits + self.partial_hits) as f64 / attempts as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_entry(key: &str, archive: &str) -> NewEntry {
        NewEntry {
            key: key.to_string(),
            paths: vec!["node_modules".into()],
            compression: "zstd".into(),
            archive: archive.into(),
            size_bytes: 10,
            unpacked_bytes: 20,
            file_count: 1,
            digest: "00".into(),
            created_by_run: None,
            signature: None,
        }
    }

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("i.sqlite")).unwrap();
        (dir, index)
    }

    const ID: Identity<'static> = Identity {
        repo: "o/r",
        scope: None,
        version: "v",
    };

    #[test]
    fn lookup_order_exact_then_newest_prefix_then_restore_keys() {
        let (_d, mut ix) = index();
        ix.insert(&ID, &new_entry("npm-Linux-aaa", "a1"), false)
            .unwrap();
        ix.insert(&ID, &new_entry("npm-Linux-bbb", "a2"), false)
            .unwrap();
        ix.insert(&ID, &new_entry("npm-Linux-", "a3"), false)
            .unwrap();
        let find = |keys: &[&str]| {
            let keys: Vec<String> = keys.iter().map(|k| crate::keys::fold(k)).collect();
            ix.lookup("o/r", &[None], "v", &keys, &mut |_| true)
                .unwrap()
                .map(|e| e.key)
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
    }

    #[test]
    fn first_writer_wins_unless_overwrite() {
        let (_d, mut ix) = index();
        assert!(matches!(
            ix.insert(&ID, &new_entry("k", "a1"), false).unwrap(),
            Inserted::New { .. }
        ));
        match ix.insert(&ID, &new_entry("K", "a2"), false).unwrap() {
            Inserted::AlreadyExists(e) => assert_eq!(e.archive, "a1"),
            other @ Inserted::New { .. } => panic!("expected AlreadyExists, got {other:?}"),
        }
        match ix.insert(&ID, &new_entry("k", "a3"), true).unwrap() {
            Inserted::New {
                replaced: Some(e), ..
            } => assert_eq!(e.archive, "a1"),
            other => panic!("expected a replacement, got {other:?}"),
        }
        assert_eq!(ix.find_exact(&ID, "k").unwrap().unwrap().archive, "a3");
    }

    #[test]
    fn scopes_and_versions_are_separate_namespaces() {
        let (_d, mut ix) = index();
        let main = Identity {
            scope: Some("main"),
            ..ID
        };
        ix.insert(&main, &new_entry("k", "a1"), false).unwrap();
        assert!(ix
            .lookup("o/r", &[None], "v", &["k".into()], &mut |_| true)
            .unwrap()
            .is_none());
        assert!(ix
            .lookup(
                "o/r",
                &[Some("feature".into()), Some("main".into())],
                "v",
                &["k".into()],
                &mut |_| true
            )
            .unwrap()
            .is_some());
        assert!(ix
            .lookup(
                "o/r",
                &[Some("main".into())],
                "other",
                &["k".into()],
                &mut |_| true
            )
            .unwrap()
            .is_none());
        assert!(ix
            .lookup(
                "other/repo",
                &[Some("main".into())],
                "v",
                &["k".into()],
                &mut |_| true
            )
            .unwrap()
            .is_none());
    }

    #[test]
    fn attempts_bump_access_on_hits_only() {
        let (_d, mut ix) = index();
        ix.insert(&ID, &new_entry("k", "a1"), false).unwrap();
        let e = ix.find_exact(&ID, "k").unwrap().unwrap();
        let attempt = |outcome| Attempt {
            repo: "o/r",
            scope: None,
            primary_key: "k",
            entry: Some(&e),
            outcome,
            bytes: 5,
            duration_ms: 1,
        };
        ix.record_attempt(&attempt(Outcome::Hit)).unwrap();
        ix.record_attempt(&attempt(Outcome::Partial)).unwrap();
        ix.record_attempt(&Attempt {
            entry: None,
            ..attempt(Outcome::Miss)
        })
        .unwrap();
        assert_eq!(ix.find_exact(&ID, "k").unwrap().unwrap().access_count, 2);
        let n: i64 = ix
            .conn
            .query_row("SELECT count(*) FROM restore_attempts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }
}
