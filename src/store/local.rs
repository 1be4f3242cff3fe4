//! The local tier: the per-host store, a SQLite [`Index`] next to the archives.
//!
//! [`LocalStore`] owns every protocol on it; commands never touch the index or an archive
//! file. A commit is: archive to a temp file in the store's `tmp/`, synced, renamed (never
//! replacing anything) into `archives-v1/`, then the row in a short transaction, then the
//! clean-up of whatever lost (our archive when another writer won, the replaced entry's).
//! Removals delete rows before files. So a crash at any instant leaves either no entry or a
//! complete one, plus at most a stray file that `gc` sweeps.
//!
//! Everything below the store root is reached through [`StoreDirs`], without following
//! symlinks; only regular files the store made are ever removed.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Seek as _};
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use super::archive::sha256_of;
use super::dirs::{Kind, OpenError, StoreDirs};
use super::entry::{ArchiveId, BadEntry, Entry, Identity, Timestamp};
use super::gc::{self, Policy};
use super::index::{Attempt, Index, IndexRow, Inserted};
use super::layout::{self, Layout, ARCHIVES_DIR, TMP_DIR};
use super::tier::{
    CommitMode, CommitReport, Committed, Filter, Listing, Lookup, NewEntry, OpenFailure, Opened,
    Place, Query, Refusal, Refused, Removal, Removed, Sort, Staging, Stats, Step, Tier,
};
use super::GcReport;
use crate::error::UsageError;
use crate::signing::Signer;

/// How long restore attempts are kept for `stats`.
const ATTEMPT_HISTORY_MS: i64 = 90 * 86_400_000;
/// How long removals are remembered for the miss hints.
const REMOVAL_HISTORY_MS: i64 = 30 * 86_400_000;
/// An archive without a row is only an orphan once it is this old.
pub(crate) const ORPHAN_GRACE: Duration = Duration::from_secs(3600);
/// A temp file whose writer is gone is stale after this long…
const TEMP_GRACE: Duration = Duration::from_secs(300);
/// …and any temp file after this long.
const TEMP_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How a local store is opened.
#[derive(Default)]
pub struct Options {
    /// Entries must carry a valid signature to be restored; new ones are signed.
    pub signer: Option<Signer>,
    /// The per-repo size limit a commit enforces afterwards (evicting least recently used
    /// entries, never the new one).
    pub max_size: Option<u64>,
    /// Write nothing: no statistics, no clean-up, no commits.
    pub read_only: bool,
}

pub struct LocalStore {
    layout: Layout,
    dirs: StoreDirs,
    index: Index,
    opts: Options,
}

fn tmp() -> [&'static [u8]; 1] {
    [TMP_DIR.as_bytes()]
}

impl LocalStore {
    /// Opens the store at `root`, creating its scaffolding on first use (or, read-only, an
    /// existing store without writing anything to it).
    pub fn open(root: &Path, opts: Options) -> anyhow::Result<Self> {
        if opts.read_only {
            return Self::open_read_only(root, opts);
        }
        if root.exists() && !root.is_dir() {
            return Err(UsageError::new(format!(
                "cache dir {} is not a directory: set --cache-dir or WIT_CACHE_DIR to a directory",
                root.display()
            ))
            .into());
        }
        fs::create_dir_all(root).map_err(|e| not_writable(root, &e))?;
        let layout = Layout::new(root);
        let dirs = StoreDirs::new(root);
        for dir in [ARCHIVES_DIR, TMP_DIR] {
            dirs.ensure_dir(&[], dir.as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot create the store directory: {e}"))?;
        }
        write_if_missing(&root.join("CACHEDIR.TAG"), layout::CACHEDIR_TAG)
            .map_err(|e| not_writable(root, &e))?;
        write_if_missing(&root.join(".gitignore"), "*\n").map_err(|e| not_writable(root, &e))?;
        let index_path = index_path(root)?;
        check_index_files(&index_path)?;
        let index = Index::open(&index_path)
            .with_context(|| format!("cannot open the cache index {}", layout.index().display()))?;
        Ok(Self {
            layout,
            dirs,
            index,
            opts,
        })
    }

    fn open_read_only(root: &Path, opts: Options) -> anyhow::Result<Self> {
        let layout = Layout::new(root);
        let index_path = index_path(root)?;
        check_index_files(&index_path)?;
        if !index_path.is_file() {
            return Err(no_store(root));
        }
        let index = Index::open_read_only(&index_path).with_context(|| {
            format!(
                "cannot open the cache index {} read-only",
                layout.index().display()
            )
        })?;
        Ok(Self {
            layout,
            dirs: StoreDirs::new(root),
            index,
            opts,
        })
    }

    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    pub fn read_only(&self) -> bool {
        self.opts.read_only
    }

    /// Where an entry's archive is (for messages and `list`).
    pub fn archive_path(&self, e: &Entry) -> std::path::PathBuf {
        self.layout.archive_path(e.archive, e.codec)
    }

    pub(super) fn dirs(&self) -> &StoreDirs {
        &self.dirs
    }

    pub(super) fn index_ref(&self) -> &Index {
        &self.index
    }

    pub(super) fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    fn writable(&self) -> anyhow::Result<()> {
        if self.opts.read_only {
            anyhow::bail!("the store {} is opened read-only", self.root().display());
        }
        Ok(())
    }

    /// Whether a restore with this store's settings would take `e`.
    fn accepts(&self, e: &Entry) -> Result<(), Refusal> {
        match &self.opts.signer {
            Some(s) if !s.verify(e) => Err(Refusal::Unsigned),
            _ => Ok(()),
        }
    }

    /// Records a restore attempt (nothing when read-only); its id, for
    /// [`LocalStore::record_command_time`].
    pub fn record_attempt(&mut self, a: &Attempt<'_>) -> anyhow::Result<Option<i64>> {
        if self.opts.read_only {
            return Ok(None);
        }
        self.index
            .record_attempt(a)
            .map(Some)
            .context("cannot record the restore in the index")
    }

    /// Records how long `run`'s command took after the restore `attempt`.
    pub fn record_command_time(&mut self, attempt: i64, ms: u64) -> anyhow::Result<()> {
        self.index
            .record_command_time(attempt, ms)
            .context("cannot record the command's time in the index")
    }

    /// Records a save that made `e` (best effort: statistics only).
    pub fn record_save(&mut self, e: &Entry, duration_ms: u64) {
        if !self.opts.read_only {
            let _ = self.index.record_save(e, duration_ms);
        }
    }

    /// Why a lookup that found nothing missed: the nearest candidates in the index, the
    /// removals it remembers, and what the lookup refused (see [`super::misses`]).
    pub fn miss_reasons(
        &self,
        q: &Query,
        asked: &super::misses::Asked<'_>,
        refused: &[Refused],
    ) -> anyhow::Result<Vec<super::misses::MissReason>> {
        let near: Vec<Entry> = self
            .index
            .near(&q.repo, &q.keys, 20)
            .context("cannot read the cache index")?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let removals = self
            .index
            .removals(&q.repo, &q.keys, 20)
            .context("cannot read the cache index")?;
        Ok(super::misses::reasons(q, asked, &near, &removals, refused))
    }

    fn remove_archive(&self, id: ArchiveId, codec: super::archive::Codec, removed: &mut Removed) {
        // A cas entry's packs are needed no more by it (gc frees the ones nothing else needs);
        // an archive has no leases, so this is a no-op for it.
        if let Err(e) = self.index.cas_drop_refs(id.as_str()) {
            removed
                .left_alone
                .push(format!("cannot drop the pack leases of {id}: {e}"));
        }
        match self
            .dirs
            .remove_file(&layout::archive_dir(&id), id.file_name(codec).as_bytes())
        {
            Ok(None) => {}
            Ok(Some(kind)) => removed.left_alone.push(format!(
                "{} is {}, not an archive: left alone",
                self.layout.archive_path(id, codec).display(),
                kind.describe()
            )),
            // A failure here leaves an orphan file (or whatever is in the way), which the
            // next gc sweeps or reports.
            Err(e) => removed
                .left_alone
                .push(format!("cannot remove an archive: {e}")),
        }
    }

    /// Removes rows by id and then the archives the store made for them.
    fn remove_rows(&mut self, ids: &[i64], why: Removal) -> anyhow::Result<Removed> {
        self.writable()?;
        let gone = self
            .index
            .delete_rows(ids, why)
            .context("cannot delete entries from the index")?;
        let mut removed = Removed::default();
        for row in gone {
            let archive = match &row {
                Ok(e) => Some((e.archive, e.codec)),
                Err(bad) => bad.archive,
            };
            if let Some((id, codec)) = archive {
                self.remove_archive(id, codec, &mut removed);
            }
            removed.count += 1;
            match row {
                Ok(e) => {
                    removed.freed_bytes += e.size_bytes;
                    removed.keys.push(e.key);
                }
                Err(bad) => removed.keys.push(bad.key),
            }
        }
        Ok(removed)
    }

    /// Removes rows that are not usable entries (and the archives the store made for
    /// them). Rows that may be a newer binary's are left alone.
    pub fn remove_bad(&mut self, bad: &[BadEntry]) -> anyhow::Result<Removed> {
        let ids: Vec<i64> = bad
            .iter()
            .filter(|b| !b.damage.is_foreign())
            .filter_map(|b| b.row)
            .collect();
        self.remove_rows(&ids, Removal::Damaged)
    }

    /// After a commit, the repo may be over its size limit: evicts its least recently used
    /// entries (never `keep`) as `gc` would. One aggregate query when it is not.
    pub fn enforce_size(&mut self, repo: &str, keep: ArchiveId) -> anyhow::Result<Removed> {
        let Some(max_size) = self.opts.max_size else {
            return Ok(Removed::default());
        };
        if self.index.repo_size(repo)? <= max_size {
            return Ok(Removed::default());
        }
        let listing = self.list(&Filter {
            repo: Some(repo.to_string()),
            sort: Sort::LeastRecentlyUsed,
            ..Filter::default()
        })?;
        let policy = Policy {
            max_age: Duration::MAX,
            max_size,
            now_ms: Timestamp::now().ms(),
        };
        let plan = gc::plan(listing.entries, &policy, Some(keep));
        self.delete(&plan.evicted, Removal::Evicted)
    }

    /// Every archive file present, by id (scanned without following anything), and what
    /// else is in the archive directories.
    fn scan_archives(&self) -> anyhow::Result<(HashMap<ArchiveId, ArchiveFile>, Vec<String>)> {
        let mut files = HashMap::new();
        let mut strange = Vec::new();
        let arch = [ARCHIVES_DIR.as_bytes()];
        let shards = self
            .dirs
            .scan(&arch)
            .map_err(|e| anyhow::anyhow!("cannot read the archive directory: {e}"))?;
        for shard in shards {
            let shard_name = String::from_utf8_lossy(&shard.name).into_owned();
            let is_shard = shard.name.len() == 2
                && shard
                    .name
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
            if shard.kind != Kind::Dir || !is_shard {
                strange.push(format!(
                    "{}/{ARCHIVES_DIR}/{shard_name} is {}, not a shard directory: left alone",
                    self.root().display(),
                    shard.kind.describe()
                ));
                continue;
            }
            let found = match self
                .dirs
                .scan_kinds(&[ARCHIVES_DIR.as_bytes(), &shard.name])
            {
                Ok(f) => f,
                Err(e) => {
                    strange.push(format!("cannot read a shard directory: {e}"));
                    continue;
                }
            };
            for f in found {
                let name = String::from_utf8_lossy(&f.name).into_owned();
                let parsed = std::str::from_utf8(&f.name)
                    .ok()
                    .and_then(ArchiveId::parse_file_name)
                    .filter(|(id, _)| id.shard().as_bytes() == shard.name.as_slice());
                match parsed {
                    Some((id, codec)) if f.kind == Kind::File => {
                        files.insert(id, ArchiveFile { codec });
                    }
                    _ => strange.push(format!(
                        "{}/{ARCHIVES_DIR}/{shard_name}/{name} is {} that the store did not \
                         make: left alone",
                        self.root().display(),
                        f.kind.describe()
                    )),
                }
            }
        }
        Ok((files, strange))
    }

    /// Archive files no row refers to. Young ones are left alone: a save renames its archive
    /// into place a moment before it inserts the row.
    fn sweep_orphans(
        &mut self,
        files: &HashMap<ArchiveId, ArchiveFile>,
        dry_run: bool,
        report: &mut GcReport,
    ) -> anyhow::Result<()> {
        let known = self.index.archives()?;
        for (id, f) in files {
            if known.contains(id) {
                continue;
            }
            // Only an orphan's age is needed: the scan did not read any file's times.
            // (Gone meanwhile: nothing to sweep.)
            let Some(modified) = self
                .dirs
                .modified(&layout::archive_dir(id), id.file_name(f.codec).as_bytes())
            else {
                continue;
            };
            if younger_than(Some(modified), ORPHAN_GRACE) {
                continue;
            }
            if dry_run {
                report.orphans_removed += 1;
                continue;
            }
            let mut removed = Removed::default();
            self.remove_archive(*id, f.codec, &mut removed);
            if removed.left_alone.is_empty() {
                report.orphans_removed += 1;
            }
            report.removed.left_alone.extend(removed.left_alone);
        }
        Ok(())
    }

    /// Temp files of saves that died (killed, disk full, power loss).
    fn sweep_temp(&mut self, dry_run: bool, report: &mut GcReport) {
        let found = match self.dirs.scan(&tmp()) {
            Ok(f) => f,
            Err(e) => {
                report
                    .removed
                    .left_alone
                    .push(format!("temp files not swept: {e}"));
                return;
            }
        };
        for f in found {
            let name = String::from_utf8_lossy(&f.name).into_owned();
            let Some(pid) = temp_owner(&name) else {
                report.removed.left_alone.push(format!(
                    "{}/{TMP_DIR}/{name} was not made by a save: left alone",
                    self.root().display()
                ));
                continue;
            };
            if f.kind != Kind::File {
                report.removed.left_alone.push(format!(
                    "{}/{TMP_DIR}/{name} is {}: left alone",
                    self.root().display(),
                    f.kind.describe()
                ));
                continue;
            }
            let owner_alive = Path::new(&format!("/proc/{pid}")).exists();
            // A live writer keeps touching its file; a dead one's file is stale after a short
            // grace (the pid may belong to another PID namespace), any file after a long one.
            let stale = if owner_alive {
                !younger_than(f.modified, TEMP_MAX_AGE)
            } else {
                !younger_than(f.modified, TEMP_GRACE)
            };
            if !stale {
                continue;
            }
            if dry_run || matches!(self.dirs.remove_file(&tmp(), &f.name), Ok(None)) {
                report.temp_removed += 1;
            }
        }
    }

    /// Re-hashes every archive (of `repo`, when given) against the index; returns how many
    /// were checked and the damaged ones (already removed), each with why.
    pub fn verify(&mut self, repo: Option<&str>) -> anyhow::Result<Verified> {
        let listing = self.list(&Filter {
            repo: repo.map(str::to_string),
            sort: Sort::Created,
            ..Filter::default()
        })?;
        let mut damaged = Vec::new();
        for e in &listing.entries {
            let problem = match self.open_archive(e) {
                Err(OpenError::NotFound) => Some("its archive is gone".to_string()),
                Err(err) => Some(format!("archive unusable: {err}")),
                Ok(file) if e.format == super::Format::Cas => {
                    super::cas::restore::verify(&self.dirs, &file, e).err()
                }
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
                damaged.push((e.clone(), why));
            }
        }
        let doomed: Vec<Entry> = damaged.iter().map(|(e, _)| e.clone()).collect();
        let mut removed = self.delete(&doomed, Removal::Damaged)?;
        removed.add(self.remove_bad(&listing.bad)?);
        Ok(Verified {
            checked: listing.entries.len() + listing.bad.len(),
            damaged,
            bad: listing.bad,
            left_alone: removed.left_alone,
        })
    }

    /// The lookup of `q`, step by step: every candidate seen and why it was or was not
    /// taken (`restore --explain`). Reads the index only.
    pub fn explain(&self, q: &Query) -> anyhow::Result<Trace> {
        let mut seen: Vec<(Step, Candidate)> = Vec::new();
        let found = {
            let this = self;
            this.index
                .lookup(q, None, &mut |step, row| {
                    let (candidate, taken) = match &row {
                        Ok(e) => match this.accepts(e) {
                            Ok(()) => (
                                Candidate {
                                    key: e.key.clone(),
                                    created_at: Some(e.created_at),
                                    taken: true,
                                    verdict: "taken".into(),
                                },
                                true,
                            ),
                            Err(_) => (
                                Candidate {
                                    key: e.key.clone(),
                                    created_at: Some(e.created_at),
                                    taken: false,
                                    verdict: format!(
                                        "refused: not signed with {}",
                                        crate::signing::ENV
                                    ),
                                },
                                false,
                            ),
                        },
                        Err(bad) => (
                            Candidate {
                                key: bad.key.clone(),
                                created_at: None,
                                taken: false,
                                verdict: format!("refused as damaged: {}", bad.damage),
                            },
                            false,
                        ),
                    };
                    seen.push((step, candidate));
                    taken
                })
                .context("cannot read the cache index")?
        };
        let last = found.as_ref().map(|(s, _)| *s);
        let steps = q
            .steps()
            .filter(|s| last.is_none_or(|l| *s <= l))
            .map(|step| TraceStep {
                step,
                candidates: Vec::new(),
            })
            .collect::<Vec<_>>();
        let mut steps = steps;
        let mut refused = Vec::new();
        for (step, c) in seen {
            if !c.taken {
                refused.push(Refused {
                    step,
                    key: c.key.clone(),
                    scope: q.scopes[step.scope].clone(),
                    why: if c.created_at.is_some() {
                        Refusal::Unsigned
                    } else {
                        Refusal::Damaged(c.verdict.clone())
                    },
                    tier: self.location(),
                });
            }
            if let Some(t) = steps.iter_mut().find(|t| t.step == step) {
                t.candidates.push(c);
            }
        }
        Ok(Trace {
            steps,
            found: found.map(|(_, e)| e),
            refused,
        })
    }

    /// Restores an entry in the cas format from its opened manifest (see
    /// [`super::cas::restore::unpack`]).
    pub fn cas_unpack(
        &self,
        manifest: &fs::File,
        entry: &Entry,
        paths: &crate::paths::CachePaths,
        progress: super::archive::Progress,
    ) -> Result<super::archive::Unpacked, super::archive::UnpackError> {
        super::cas::restore::unpack(&self.dirs, manifest, entry, paths, progress)
    }

    /// Saves `paths` in the cas format, staging the manifest (see [`super::cas::save`]).
    pub fn cas_save(
        &mut self,
        paths: &crate::paths::CachePaths,
        level: Option<i32>,
        progress: &super::archive::Progress,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<super::cas::save::Saved> {
        self.writable()?;
        super::cas::save::save(self, paths, level, progress, warn)
    }

    /// Writes an entry as a plain tar stream (`export`): the archive decompressed and checked
    /// against its digest, or a cas entry's stream with every blob checked. A damaged entry is
    /// an error (what was written by then is not to be trusted).
    pub fn export_tar(&self, e: &Entry, out: &mut dyn io::Write) -> anyhow::Result<()> {
        let file = self
            .open_archive(e)
            .map_err(|err| anyhow::anyhow!("cannot open the entry's file: {err}"))?;
        match e.format {
            super::Format::Cas => {
                let m = super::cas::restore::read_manifest(&file, e)
                    .map_err(|why| anyhow::anyhow!("the entry is damaged: {why}"))?;
                super::cas::restore::write_stream(&self.dirs, &m, out).map_err(
                    |err| match err {
                        super::cas::restore::StreamError::Damaged(why) => {
                            anyhow::anyhow!("the entry is damaged: {why}")
                        }
                        super::cas::restore::StreamError::Write(err) => {
                            anyhow::Error::from(err).context("cannot write the tar stream")
                        }
                    },
                )?;
            }
            super::Format::Archive => {
                use sha2::Digest as _;
                let mut hashing = super::archive::hashio::HashingReader {
                    inner: file,
                    hasher: sha2::Sha256::new(),
                    progress: super::archive::Progress::default(),
                };
                let buffered = io::BufReader::with_capacity(1 << 18, &mut hashing);
                let mut decoder = super::archive::codec::Decoder::new(buffered, e.codec)
                    .context("cannot start the decoder")?;
                io::copy(&mut decoder, out).context("cannot export the archive")?;
                // The rest of the file (the codec's trailer) counts for the digest too.
                io::copy(&mut decoder.into_inner(), &mut io::sink())
                    .context("cannot read the archive")?;
                let digest = crate::keys::hex(&hashing.hasher.finalize());
                if digest != e.digest {
                    anyhow::bail!(
                        "the entry is damaged: archive digest {digest} does not match the index ({})",
                        e.digest
                    );
                }
            }
        }
        Ok(())
    }

    /// The manifest of a cas entry, checked against the entry (`show`).
    pub fn cas_manifest(
        &self,
        file: &fs::File,
        e: &Entry,
    ) -> Result<super::cas::manifest::Manifest, String> {
        super::cas::restore::read_manifest(file, e)
    }

    /// Drops the pack leases of a cas save that did not become an entry.
    pub fn cas_release(&self, owner: ArchiveId) {
        let _ = self.index.cas_drop_refs(owner.as_str());
    }

    /// An entry's archive file, opened for reading without any other effect (`show`).
    pub fn archive_file(&self, e: &Entry) -> Result<fs::File, OpenError> {
        self.open_archive(e)
    }

    /// Opens an entry's archive (or cas manifest), which must be a regular file of the
    /// recorded size.
    fn open_archive(&self, e: &Entry) -> Result<fs::File, OpenError> {
        let dir = layout::archive_dir(&e.archive);
        let name = e.archive.file_name(e.codec);
        let file = self.dirs.open_file(&dir, name.as_bytes())?;
        let len = file
            .metadata()
            .map_err(|err| OpenError::Io(self.layout.archive_path(e.archive, e.codec), err))?
            .len();
        // A cas entry's recorded size is its manifest's plus the packs its save wrote.
        let fits = match e.format {
            super::Format::Archive => len == e.size_bytes,
            super::Format::Cas => len <= e.size_bytes,
        };
        if !fits {
            return Err(OpenError::WrongSize(
                self.layout.archive_path(e.archive, e.codec),
                len,
                e.size_bytes,
            ));
        }
        Ok(file)
    }
}

/// One candidate `restore --explain` saw.
pub struct Candidate {
    pub key: String,
    pub created_at: Option<Timestamp>,
    pub taken: bool,
    /// Why it was or was not taken, for people.
    pub verdict: String,
}

/// One step of the search, as `restore --explain` shows it.
pub struct TraceStep {
    pub step: Step,
    pub candidates: Vec<Candidate>,
}

/// The whole search of a lookup.
pub struct Trace {
    pub steps: Vec<TraceStep>,
    pub found: Option<Entry>,
    pub refused: Vec<Refused>,
}

/// A present archive file, as a scan found it.
struct ArchiveFile {
    codec: super::archive::Codec,
}

/// What `verify` found.
pub struct Verified {
    pub checked: usize,
    /// Entries whose archive was gone or did not match, with why (removed).
    pub damaged: Vec<(Entry, String)>,
    /// Rows that were not usable entries (removed, unless a newer binary's).
    pub bad: Vec<BadEntry>,
    pub left_alone: Vec<String>,
}

/// The pid in a temp file's name (`save-<pid>-<random>.partial`), when it is one of ours.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("save-")?.strip_suffix(".partial")?;
    let (pid, random) = rest.split_once('-')?;
    (!random.is_empty() && random.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| pid.parse().ok())
        .flatten()
}

fn younger_than(modified: Option<SystemTime>, age: Duration) -> bool {
    // A clock fake (WIT_CACHE_NOW) does not apply to file times: they come from the kernel.
    modified.is_some_and(|t| {
        SystemTime::now()
            .duration_since(t)
            .map_or(true, |d| d < age)
    })
}

impl Tier for LocalStore {
    fn location(&self) -> String {
        self.root().display().to_string()
    }

    fn archive_location(&self, e: &Entry) -> String {
        self.archive_path(e).display().to_string()
    }

    fn lookup(&mut self, q: &Query, until: Option<Step>) -> anyhow::Result<Lookup> {
        let mut refused = Vec::new();
        let tier = self.location();
        let found = {
            let this = &*self;
            this.index
                .lookup(q, until, &mut |step, row| {
                    let why = match &row {
                        Ok(e) => match this.accepts(e) {
                            Ok(()) => return true,
                            Err(why) => why,
                        },
                        Err(bad) => Refusal::Damaged(bad.damage.0.clone()),
                    };
                    let (key, scope) = match row {
                        Ok(e) => (e.key, e.scope),
                        Err(bad) => (bad.key, q.scopes[step.scope].clone()),
                    };
                    refused.push(Refused {
                        step,
                        key,
                        scope,
                        why,
                        tier: tier.clone(),
                    });
                    false
                })
                .context("cannot read the cache index")?
        };
        Ok(Lookup {
            found: found.map(|(step, entry)| super::tier::Found {
                entry,
                step,
                local: true,
            }),
            refused,
        })
    }

    fn find(&mut self, id: &Identity) -> anyhow::Result<Option<Entry>> {
        Ok(self
            .index
            .find(id)
            .context("cannot read the cache index")?
            .and_then(Result::ok))
    }

    fn stage(&mut self) -> anyhow::Result<Staging> {
        self.writable()?;
        let name = format!(
            "save-{}-{}.partial",
            std::process::id(),
            ArchiveId::random()
        );
        let file = self
            .dirs
            .create_file(&tmp(), name.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot create a temp file in the store: {e}"))?;
        Ok(Staging::new(
            file,
            Place::StoreTmp {
                dirs: self.dirs.clone(),
                name: name.into_bytes(),
            },
        ))
    }

    fn commit(
        &mut self,
        mut staging: Staging,
        new: NewEntry,
        mode: CommitMode,
    ) -> anyhow::Result<CommitReport> {
        self.writable()?;
        let tmp_name = match &staging.place {
            Place::StoreTmp { dirs, name } if dirs.root() == self.root() => name.clone(),
            _ => anyhow::bail!("a local commit takes an archive staged in the same store"),
        };
        let entry = new.into_entry(self.opts.signer.as_ref())?;
        staging
            .file
            .sync_all()
            .context("cannot sync the archive to disk")?;
        let dir = layout::archive_dir(&entry.archive);
        self.dirs
            .ensure_dir(&[ARCHIVES_DIR.as_bytes()], dir[1])
            .map_err(|e| anyhow::anyhow!("cannot create an archive directory: {e}"))?;
        self.dirs
            .rename_new(
                &tmp(),
                &tmp_name,
                &dir,
                entry.archive.file_name(entry.codec).as_bytes(),
            )
            .map_err(|e| anyhow::anyhow!("cannot move the archive into the store: {e}"))?;
        staging.taken = true;
        super::cas::abort_point("commit-renamed");
        let signer = self.opts.signer.as_ref();
        let keep = |row: &IndexRow| match row {
            Ok(e) => signer.is_none_or(|s| s.verify(e)),
            Err(_) => false,
        };
        let inserted = self.index.insert(&entry, mode, &keep);
        let mut cleanup = Removed::default();
        let inserted = match inserted {
            Ok(i) => i,
            Err(e) => {
                self.remove_archive(entry.archive, entry.codec, &mut cleanup);
                return Err(e).context("cannot register the cache entry in the index");
            }
        };
        let committed = match inserted {
            Inserted::AlreadyExists(existing) => {
                // Another writer registered the identity first: it won, ours goes.
                self.remove_archive(entry.archive, entry.codec, &mut cleanup);
                Committed::Existed {
                    entry: existing,
                    meanwhile: true,
                }
            }
            Inserted::New { replaced } => {
                let replaced = match replaced {
                    Some(Ok(old)) => {
                        self.remove_archive(old.archive, old.codec, &mut cleanup);
                        Some(old)
                    }
                    Some(Err(bad)) => {
                        if let Some((id, codec)) = bad.archive {
                            self.remove_archive(id, codec, &mut cleanup);
                        }
                        None
                    }
                    None => None,
                };
                let entry = self
                    .index
                    .find(&entry.identity())?
                    .and_then(Result::ok)
                    .context("the new entry vanished from the index")?;
                let mut evicted = self.enforce_size(&entry.repo, entry.archive)?;
                evicted.left_alone.extend(cleanup.left_alone);
                Committed::New {
                    entry,
                    replaced,
                    evicted,
                }
            }
        };
        Ok(CommitReport {
            committed,
            shared: None,
        })
    }

    fn open(&mut self, entry: &Entry) -> Result<Opened, OpenFailure> {
        let file = match self.open_archive(entry) {
            Ok(f) => f,
            Err(OpenError::NotFound) => {
                if !self.opts.read_only {
                    // A concurrent gc or delete, or a lost file: the row goes too.
                    let _ = self.delete(std::slice::from_ref(entry), Removal::Damaged);
                }
                return Err(OpenFailure::Vanished);
            }
            Err(e @ (OpenError::NotRegular(..) | OpenError::WrongSize(..))) => {
                return Err(OpenFailure::Damaged(e.to_string()))
            }
            Err(e @ OpenError::Io(..)) => {
                return Err(OpenFailure::Damaged(format!(
                    "its archive is unreadable ({e})"
                )))
            }
        };
        // With signing on, the row is trusted but the file might have been swapped behind
        // it: check the whole archive before a single byte is written (one extra read, from
        // the page cache; without signing the digest is checked as the archive streams).
        if self.opts.signer.is_some() {
            let checked = sha256_of(&file).and_then(|d| (&file).rewind().map(|()| d));
            match checked {
                Ok(d) if d == entry.digest => {}
                Ok(d) => {
                    return Err(OpenFailure::Damaged(format!(
                        "archive digest {d} does not match the signed index row"
                    )))
                }
                Err(e) => {
                    return Err(OpenFailure::Damaged(format!(
                        "its archive is unreadable ({e})"
                    )))
                }
            }
        }
        Ok(Opened {
            file,
            entry: entry.clone(),
        })
    }

    fn list(&mut self, filter: &Filter) -> anyhow::Result<Listing> {
        let rows = self
            .index
            .list(filter)
            .context("cannot read the cache index")?;
        let total = if filter.limit.is_some() || filter.offset > 0 {
            self.index.count(filter)?
        } else {
            rows.len() as u64
        };
        let mut listing = Listing {
            total,
            ..Listing::default()
        };
        for row in rows {
            match row {
                Ok(e) => listing.entries.push(e),
                Err(bad) => listing.bad.push(bad),
            }
        }
        Ok(listing)
    }

    fn delete(&mut self, entries: &[Entry], why: Removal) -> anyhow::Result<Removed> {
        let ids: Vec<i64> = entries
            .iter()
            .filter_map(|e| e.usage.as_ref().map(|u| u.id))
            .collect();
        self.remove_rows(&ids, why)
    }

    fn stats(&mut self, repo: Option<&str>, since: Option<Timestamp>) -> anyhow::Result<Stats> {
        let mut repos = self.index.stats(repo, since)?;
        for r in &mut repos {
            r.limit_bytes = self.opts.max_size;
        }
        Ok(Stats {
            repos,
            top_keys: self.index.top_keys(repo, since, 5)?,
            unreferenced: None,
        })
    }

    fn gc(
        &mut self,
        policy: &Policy,
        repo: Option<&str>,
        dry_run: bool,
    ) -> anyhow::Result<GcReport> {
        let listing = self.list(&Filter {
            repo: repo.map(str::to_string),
            sort: Sort::LeastRecentlyUsed,
            ..Filter::default()
        })?;
        let (files, strange) = self.scan_archives()?;
        // Rows whose archive vanished are misses waiting to happen: drop them first.
        let (present, vanished): (Vec<Entry>, Vec<Entry>) = listing
            .entries
            .into_iter()
            .partition(|e| files.get(&e.archive).is_some_and(|f| f.codec == e.codec));
        let plan = gc::plan(present, policy, None);
        let bad: Vec<BadEntry> = listing
            .bad
            .into_iter()
            .filter(|b| !b.damage.is_foreign())
            .collect();
        let mut report = GcReport {
            vanished: vanished.len(),
            damaged: bad.len(),
            dry_run,
            ..GcReport::default()
        };
        report.removed.left_alone = strange;
        report.doomed = vanished
            .iter()
            .map(|e| gc::Doomed::of(e, gc::NO_ARCHIVE))
            .chain(bad.iter().map(|b| gc::Doomed {
                repo: b.repo.clone(),
                key: b.key.clone(),
                scope: None,
                size_bytes: 0,
                why: gc::DAMAGED,
            }))
            .chain(plan.doomed())
            .collect();
        if dry_run {
            // Counted from the plan itself: copying thousands of entries to count them costs
            // more than the rest of a dry run.
            report.removed.count = plan.expired.len() + plan.evicted.len();
            report.removed.freed_bytes = plan.entries().map(|e| e.size_bytes).sum();
            report.removed.keys = plan.entries().map(|e| e.key.clone()).collect();
        } else {
            self.delete(&vanished, Removal::Damaged)?;
            self.remove_bad(&bad)?;
            report
                .removed
                .add(self.delete(&plan.expired, Removal::Expired)?);
            report
                .removed
                .add(self.delete(&plan.evicted, Removal::Evicted)?);
            let now = policy.now_ms;
            self.index
                .prune_history(now - ATTEMPT_HISTORY_MS, now - REMOVAL_HISTORY_MS)?;
        }
        if repo.is_none() {
            self.sweep_orphans(&files, dry_run, &mut report)?;
            self.sweep_temp(dry_run, &mut report);
            super::cas::restore::sweep(self, dry_run, &mut report)?;
        }
        Ok(report)
    }
}

// ---- Read-only queries of the settings page (`serve`) ----------------------------------------

impl LocalStore {
    /// Restore attempts of `repo` per UTC day, `first_day..=last_day` (see
    /// [`Index::restores_per_day`]).
    pub fn restores_per_day(
        &self,
        repo: &str,
        first_day: i64,
        last_day: i64,
    ) -> anyhow::Result<Vec<super::index::DayRestores>> {
        self.index
            .restores_per_day(repo, first_day, last_day)
            .context("cannot read the cache index")
    }

    /// Whether `repo` has an entry or a recorded restore (see [`Index::repo_known`]).
    pub fn repo_known(&self, repo: &str) -> anyhow::Result<bool> {
        self.index
            .repo_known(repo)
            .context("cannot read the cache index")
    }

    /// One repo's numbers as [`Tier::stats`] has them, without the store-wide top keys (a
    /// scan of every restore attempt that a repo's page does not show).
    pub fn repo_stats(
        &self,
        repo: &str,
        since: Option<Timestamp>,
    ) -> anyhow::Result<Option<super::tier::RepoStats>> {
        let mut stats = self.index.stats(Some(repo), since)?.pop();
        if let Some(s) = &mut stats {
            s.limit_bytes = self.opts.max_size;
        }
        Ok(stats)
    }

    /// A listing like [`Tier::list`] of the entries whose folded key contains
    /// `needle_folded`.
    pub fn list_containing(&self, filter: &Filter, needle_folded: &str) -> anyhow::Result<Listing> {
        let (rows, total) = self
            .index
            .list_containing(filter, needle_folded)
            .context("cannot read the cache index")?;
        let mut listing = Listing {
            total,
            ..Listing::default()
        };
        for row in rows {
            match row {
                Ok(e) => listing.entries.push(e),
                Err(bad) => listing.bad.push(bad),
            }
        }
        Ok(listing)
    }
}

fn no_store(root: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "no cache store at {}: nothing to restore from (set --cache-dir or WIT_CACHE_DIR)",
        root.display()
    )
}

/// The index's path through the store root's real path: SQLite's `SQLITE_OPEN_NOFOLLOW`
/// refuses a symlink anywhere in the name, and a store reached through a symlinked home or
/// cache directory is ordinary. What must not be a symlink is the index file itself.
fn index_path(root: &Path) -> anyhow::Result<std::path::PathBuf> {
    let real = root.canonicalize().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            no_store(root)
        } else {
            anyhow::anyhow!("cannot resolve the cache store {}: {e}", root.display())
        }
    })?;
    Ok(real.join(layout::INDEX_FILE))
}

/// The index and the files SQLite keeps beside it must each be absent or a regular file:
/// SQLite opens its journal without `O_NONBLOCK` (a FIFO there hangs every command) and
/// follows a symlinked journal or database into any directory, creating and deleting there.
fn check_index_files(index: &Path) -> anyhow::Result<()> {
    let name = index.as_os_str().to_owned();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = name.clone();
        path.push(suffix);
        let path = std::path::PathBuf::from(path);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => {}
            Ok(meta) => anyhow::bail!(
                "refusing the cache index: {} is {}, not a regular file (remove it)",
                path.display(),
                super::dirs::Kind::of_std(&meta).describe()
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot inspect the cache index {}: {e}", path.display()),
        }
    }
    Ok(())
}

fn write_if_missing(path: &Path, text: &str) -> io::Result<()> {
    if path.symlink_metadata().is_ok() {
        return Ok(());
    }
    // Concurrent first uses race here harmlessly: every writer writes the same bytes.
    let tmp = tempfile::NamedTempFile::new_in(path.parent().expect("store files have a parent"))?;
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
    use crate::store::archive::{self, Codec};

    fn new_entry(packed: &archive::Packed, key: &str) -> NewEntry {
        NewEntry {
            repo: "r".into(),
            scope: None,
            key: key.into(),
            version: "a".repeat(64),
            paths: vec!["dep".into()],
            codec: Codec::Zstd,
            format: crate::store::entry::Format::Archive,
            id: None,
            size_bytes: packed.size_bytes,
            unpacked_bytes: packed.unpacked_bytes,
            file_count: packed.file_count,
            digest: packed.digest.clone(),
            created_by_run: None,
            preset: None,
        }
    }

    /// A restore that opened its archive finishes even when gc deletes the entry meanwhile:
    /// unlinking an open file does not disturb its reader.
    #[test]
    fn an_open_archive_survives_its_removal() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        fs::create_dir_all(ws.join("dep")).unwrap();
        fs::write(ws.join("dep/file"), "content").unwrap();
        let mut store = LocalStore::open(&dir.path().join("store"), Options::default()).unwrap();
        let paths = CachePaths::parse(&["dep".to_string()], &ws, None).unwrap();
        let staging = store.stage().unwrap();
        let packed = archive::pack(
            &paths,
            staging.file.try_clone().unwrap(),
            Codec::Zstd,
            None,
            &archive::Progress::default(),
            &mut |_| {},
        )
        .unwrap();
        let report = store
            .commit(staging, new_entry(&packed, "k"), CommitMode::Create)
            .unwrap();
        let Committed::New { entry, .. } = report.committed else {
            panic!("a new entry")
        };
        assert!(
            fs::read_dir(dir.path().join("store/tmp"))
                .unwrap()
                .next()
                .is_none(),
            "the temp file became the archive"
        );

        let opened = store.open(&entry).unwrap();
        let removed = store
            .delete(std::slice::from_ref(&entry), Removal::Deleted)
            .unwrap();
        assert_eq!(removed.count, 1);
        assert!(!store.archive_path(&entry).exists());

        fs::remove_dir_all(ws.join("dep")).unwrap();
        let expected = archive::Expected {
            codec: Codec::Zstd,
            digest: &entry.digest,
            unpacked_bytes: entry.unpacked_bytes,
            progress: archive::Progress::default(),
            checked_first: false,
        };
        archive::unpack(opened.file, &expected, &paths).unwrap();
        assert_eq!(
            expected.progress.get(),
            entry.size_bytes,
            "every archive byte was counted"
        );
        assert_eq!(fs::read_to_string(ws.join("dep/file")).unwrap(), "content");
    }

    #[test]
    fn a_dropped_staging_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LocalStore::open(dir.path(), Options::default()).unwrap();
        let staging = store.stage().unwrap();
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 1);
        drop(staging);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn temp_names() {
        assert_eq!(temp_owner("save-42-abc.partial"), Some(42));
        assert_eq!(temp_owner("save-42-.partial"), None);
        assert_eq!(temp_owner("../save-42-a.partial"), None);
        assert_eq!(temp_owner("other"), None);
    }
}
