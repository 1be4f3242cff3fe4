//! The per-host store: [`Store::open`] is the one entry point commands use.
//!
//! A store is a directory holding the SQLite [`index`] and the archives ([`archive`]) laid out
//! by [`layout`]. Archives are written to a temp file in the store, synced, renamed into
//! place, and only then registered in the index; rows are deleted before their files. So a
//! crash at any instant leaves either no entry or a complete one, plus at most a stray file
//! that `gc` sweeps.
//!
//! Archive files are reached only through [`ArchiveBackend`], so that a second backend
//! (object storage) can sit behind the same index later.

pub mod archive;
pub mod gc;
pub mod index;
pub mod layout;
pub mod remote;

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use tempfile::NamedTempFile;

use crate::error::UsageError;
use crate::store::archive::Codec;
pub use index::{Entry, Filter, Index, Sort};
use layout::Layout;

/// Where archive bytes live. The local directory is the only backend today.
pub trait ArchiveBackend {
    /// A new, empty temp file on the same file system as the archives.
    fn create_temp(&self) -> io::Result<NamedTempFile>;
    /// Moves a finished, synced temp file to its final, store-relative name.
    fn publish(&self, temp: NamedTempFile, codec: Codec) -> io::Result<String>;
    /// Opens a stored archive for reading.
    fn open(&self, name: &str) -> io::Result<File>;
    /// Deletes a stored archive; a missing file is not an error.
    fn remove(&self, name: &str) -> io::Result<()>;
}

pub struct Store {
    layout: Layout,
    pub index: Index,
}

impl Store {
    /// Opens the store at `root`, creating its scaffolding on first use.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        if root.exists() && !root.is_dir() {
            return Err(UsageError::new(format!(
                "cache dir {} is not a directory: set --cache-dir or WIT_CACHE_DIR to a directory",
                root.display()
            ))
            .into());
        }
        let layout = Layout::new(root);
        for dir in [layout.root().to_path_buf(), layout.archives(), layout.tmp()] {
            fs::create_dir_all(&dir).map_err(|e| not_writable(root, &e))?;
        }
        write_if_missing(&root.join("CACHEDIR.TAG"), layout::CACHEDIR_TAG)
            .map_err(|e| not_writable(root, &e))?;
        write_if_missing(&root.join(".gitignore"), "*\n").map_err(|e| not_writable(root, &e))?;
        let index = Index::open(&layout.index())
            .with_context(|| format!("cannot open the cache index {}", layout.index().display()))?;
        Ok(Self { layout, index })
    }

    /// Opens an existing store without writing anything to it (`restore --read-only`).
    pub fn open_read_only(root: &Path) -> anyhow::Result<Self> {
        let layout = Layout::new(root);
        if !layout.index().is_file() {
            anyhow::bail!(
                "no cache store at {}: nothing to restore from (set --cache-dir or WIT_CACHE_DIR)",
                root.display()
            );
        }
        let index = Index::open_read_only(&layout.index()).with_context(|| {
            format!(
                "cannot open the cache index {} read-only",
                layout.index().display()
            )
        })?;
        Ok(Self { layout, index })
    }

    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// The absolute path of an entry's archive (for messages and `list`).
    pub fn archive_path(&self, entry: &Entry) -> PathBuf {
        self.layout.resolve(&entry.archive)
    }

    /// Removes entries: rows first (in short transactions), then their archives. Entries
    /// another process removed meanwhile are not counted. A restore that already opened one
    /// of the archives finishes reading it: unlinking does not disturb an open file.
    pub fn remove_entries(&mut self, entries: &[Entry]) -> anyhow::Result<Removed> {
        let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
        let gone: std::collections::HashSet<i64> = self
            .index
            .delete_entries(&ids)
            .context("cannot delete entries from the index")?
            .into_iter()
            .collect();
        let mut removed = Removed::default();
        for e in entries.iter().filter(|e| gone.contains(&e.id)) {
            // A failure here leaves an orphan file, which the next gc sweeps.
            let _ = self.remove(&e.archive);
            removed.count += 1;
            removed.freed_bytes += e.size_bytes;
            removed.keys.push(e.key.clone());
        }
        Ok(removed)
    }

    /// Runs the gc policy over every repo (or only `repo`); with `dry_run` nothing changes.
    pub fn gc(
        &mut self,
        policy: &gc::Policy,
        repo: Option<&str>,
        dry_run: bool,
    ) -> anyhow::Result<GcReport> {
        let entries = self.index.list(&Filter {
            repo,
            sort: Sort::LeastRecentlyUsed,
            ..Filter::default()
        })?;
        // Rows whose archive vanished are misses waiting to happen: drop them first.
        let (present, vanished): (Vec<Entry>, Vec<Entry>) = entries
            .into_iter()
            .partition(|e| self.archive_path(e).exists());
        let plan = gc::plan(present, policy, None);
        let mut report = GcReport {
            vanished: vanished.len(),
            dry_run,
            ..GcReport::default()
        };
        let doomed: Vec<Entry> = plan.entries().cloned().collect();
        if dry_run {
            report.removed = Removed {
                count: doomed.len(),
                freed_bytes: doomed.iter().map(|e| e.size_bytes).sum(),
                keys: doomed.iter().map(|e| e.key.clone()).collect(),
            };
        } else {
            self.remove_entries(&vanished)?;
            report.removed = self.remove_entries(&doomed)?;
            self.index
                .prune_attempts(policy.now_ms - ATTEMPT_HISTORY_MS)?;
        }
        if repo.is_none() {
            report.orphans_removed = self.sweep_orphans(dry_run)?;
            report.temp_removed = self.sweep_temp(dry_run)?;
        }
        Ok(report)
    }

    /// The check `save` runs after it commits: evicts least recently used entries of `repo`
    /// when it is over `max_size`, never the entry named `keep` (the one just saved).
    pub fn enforce_size(
        &mut self,
        repo: &str,
        max_size: u64,
        keep: &str,
    ) -> anyhow::Result<Removed> {
        if self.index.repo_size(repo)? <= max_size {
            return Ok(Removed::default());
        }
        let entries = self.index.list(&Filter {
            repo: Some(repo),
            sort: Sort::LeastRecentlyUsed,
            ..Filter::default()
        })?;
        let policy = gc::Policy {
            max_age: Duration::MAX,
            max_size,
            now_ms: crate::clock::now_ms(),
        };
        let plan = gc::plan(entries, &policy, Some(keep));
        self.remove_entries(&plan.evicted)
    }

    /// Archive files no row refers to. Young ones are left alone: a save renames its archive
    /// into place a moment before it inserts the row.
    fn sweep_orphans(&mut self, dry_run: bool) -> anyhow::Result<usize> {
        let known = self.index.archive_names()?;
        let mut removed = 0;
        for shard in read_dir_or_empty(&self.layout.archives())? {
            // Only shard directories hold archives; anything else there is not ours to judge.
            if !shard.is_dir() {
                continue;
            }
            for file in read_dir_or_empty(&shard)? {
                let name = match file.strip_prefix(self.layout.root()) {
                    Ok(rel) => rel.to_string_lossy().into_owned(),
                    Err(_) => continue,
                };
                if known.contains(&name) || younger_than(&file, ORPHAN_GRACE) {
                    continue;
                }
                if dry_run || fs::remove_file(&file).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Temp files of saves that died (killed, disk full, power loss).
    fn sweep_temp(&mut self, dry_run: bool) -> anyhow::Result<usize> {
        let mut removed = 0;
        for file in read_dir_or_empty(&self.layout.tmp())? {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let owner_alive = name
                .strip_prefix("save-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            // A live writer keeps touching its file; a dead one's file is stale after a short
            // grace (the pid may belong to another PID namespace), any file after a long one.
            let stale = if owner_alive {
                !younger_than(&file, TEMP_MAX_AGE)
            } else {
                !younger_than(&file, TEMP_GRACE)
            };
            if stale && (dry_run || fs::remove_file(&file).is_ok()) {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Re-hashes every archive (of `repo`, when given) against the index; returns how many
    /// were checked and the damaged ones (already removed), each with why.
    pub fn verify(&mut self, repo: Option<&str>) -> anyhow::Result<(usize, Vec<(Entry, String)>)> {
        let entries = self.index.list(&Filter {
            repo,
            sort: Sort::Created,
            ..Filter::default()
        })?;
        let checked = entries.len();
        let mut damaged = Vec::new();
        for e in entries {
            let problem = match self.open(&e.archive) {
                Err(err) => Some(format!("archive unreadable: {err}")),
                Ok(file) => match sha256_of(&file) {
                    Err(err) => Some(format!("archive unreadable: {err}")),
                    Ok(d) if d != e.digest => Some(format!(
                        "digest {d} does not match the index ({})",
                        e.digest
                    )),
                    Ok(_) => None,
                },
            };
            if let Some(why) = problem {
                damaged.push((e, why));
            }
        }
        let doomed: Vec<Entry> = damaged.iter().map(|(e, _)| e.clone()).collect();
        self.remove_entries(&doomed)?;
        Ok((checked, damaged))
    }
}

/// How long restore attempts are kept for `stats`.
const ATTEMPT_HISTORY_MS: i64 = 90 * 86_400_000;
/// An archive without a row is only an orphan once it is this old.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);
/// A temp file whose writer is gone is stale after this long…
const TEMP_GRACE: Duration = Duration::from_secs(300);
/// …and any temp file after this long.
const TEMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a removal did.
#[derive(Debug, Default)]
pub struct Removed {
    pub count: usize,
    pub freed_bytes: u64,
    pub keys: Vec<String>,
}

/// What `gc` did (or, with `dry_run`, would do).
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Removed,
    pub vanished: usize,
    pub orphans_removed: usize,
    pub temp_removed: usize,
    pub dry_run: bool,
}

fn read_dir_or_empty(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(rd.filter_map(Result::ok).map(|e| e.path()).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn younger_than(path: &Path, age: Duration) -> bool {
    let modified = fs::symlink_metadata(path).and_then(|m| m.modified());
    // A clock fake (WIT_CACHE_NOW) does not apply to file times: they come from the kernel.
    modified.is_ok_and(|t| {
        SystemTime::now()
            .duration_since(t)
            .map_or(true, |d| d < age)
    })
}

/// SHA-256 of a whole file from its current position, hex.
pub fn sha256_of(mut file: &File) -> io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::keys::hex(&hasher.finalize()))
}

impl ArchiveBackend for Store {
    fn create_temp(&self) -> io::Result<NamedTempFile> {
        tempfile::Builder::new()
            .prefix(&format!("save-{}-", std::process::id()))
            .suffix(".partial")
            .tempfile_in(self.layout.tmp())
    }

    fn publish(&self, temp: NamedTempFile, codec: Codec) -> io::Result<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = Layout::archive_name(&id, codec.extension());
        let path = self.layout.resolve(&name);
        let dir = path.parent().expect("archive names have a directory");
        fs::create_dir_all(dir)?;
        temp.persist(&path).map_err(|e| e.error)?;
        // Make the rename itself durable before the index row points at it.
        File::open(dir)?.sync_all()?;
        Ok(name)
    }

    fn open(&self, name: &str) -> io::Result<File> {
        File::open(self.layout.resolve(name))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.layout.resolve(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn write_if_missing(path: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    // Concurrent first uses race here harmlessly: every writer writes the same bytes.
    let tmp = NamedTempFile::new_in(path.parent().expect("store files have a parent"))?;
    fs::write(tmp.path(), text)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn not_writable(root: &Path, err: &io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cache dir {} is not writable ({err}): set --cache-dir or WIT_CACHE_DIR to a writable directory",
        root.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::CachePaths;
    use crate::store::index::{Identity, NewEntry};

    /// A restore that opened its archive finishes even when gc deletes the entry meanwhile:
    /// unlinking an open file does not disturb its reader.
    #[test]
    fn an_open_archive_survives_its_removal() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        fs::create_dir_all(ws.join("dep")).unwrap();
        fs::write(ws.join("dep/file"), "content").unwrap();
        let mut store = Store::open(&dir.path().join("store")).unwrap();
        let paths = CachePaths::parse(&["dep".to_string()], &ws, None).unwrap();
        let temp = store.create_temp().unwrap();
        let packed = archive::pack(
            &paths,
            temp.reopen().unwrap(),
            Codec::Zstd,
            None,
            &archive::Progress::default(),
            &mut |_| {},
        )
        .unwrap();
        let name = store.publish(temp, Codec::Zstd).unwrap();
        let id = Identity {
            repo: "r",
            scope: None,
            version: "v",
        };
        let new = NewEntry {
            key: "k".into(),
            paths: vec!["dep".into()],
            compression: "zstd".into(),
            archive: name.clone(),
            size_bytes: packed.size_bytes,
            unpacked_bytes: packed.unpacked_bytes,
            file_count: packed.file_count,
            digest: packed.digest.clone(),
            created_by_run: None,
            signature: None,
        };
        store.index.insert(&id, &new, false).unwrap();
        let entry = store.index.find_exact(&id, "k").unwrap().unwrap();

        let reader = store.open(&entry.archive).unwrap();
        let removed = store.remove_entries(std::slice::from_ref(&entry)).unwrap();
        assert_eq!(removed.count, 1);
        assert!(!store.archive_path(&entry).exists());

        fs::remove_dir_all(ws.join("dep")).unwrap();
        let expected = archive::Expected {
            codec: Codec::Zstd,
            digest: &entry.digest,
            unpacked_bytes: entry.unpacked_bytes,
            progress: archive::Progress::default(),
        };
        archive::unpack(reader, &expected, &paths).unwrap();
        assert_eq!(
            expected.progress.get(),
            entry.size_bytes,
            "every archive byte was counted"
        );
        assert_eq!(fs::read_to_string(ws.join("dep/file")).unwrap(), "content");
    }
}
