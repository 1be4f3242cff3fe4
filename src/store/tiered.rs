//! The read-through pair: this host's [`LocalStore`] in front of a shared [`ObjectTier`].
//!
//! It answers a lookup as one store holding both tiers would: the first step of GitHub's
//! order at which either tier has an acceptable entry wins, and within a prefix step the
//! newest entry of the two. So a local restore-key match never hides an exact match of the
//! primary key in the bucket, and a local miss falls through to the bucket. The shared store
//! is asked only for the steps up to the local match (nothing at all after a local exact hit
//! of the primary key).
//!
//! A shared hit is downloaded into the local store (verified, staged, renamed, registered
//! with the bucket's archive id, creation time and signature) and restored from there, so
//! the next job on this host restores locally and every host agrees on "newest". A commit
//! registers locally, then uploads; for `restore` and `save` the shared store is best
//! effort: an outage, a timeout or a refused credential is one warning line in
//! [`ReadThrough::take_notes`], and the job goes on with the local store.
//!
//! Management commands (`list`, `delete`, `stats`, `gc`) act on one tier: the local one
//! through this pair, the shared one with `--remote` ([`ObjectTier`] itself).

use std::time::Instant;

use anyhow::Context as _;

use super::entry::{Entry, Identity, Timestamp};
use super::gc::Policy;
use super::local::LocalStore;
use super::object::{ObjectTier, StoreUrl};
use super::tier::{
    CommitMode, CommitReport, Committed, Filter, GcReport, Listing, Lookup, NewEntry, OpenFailure,
    Opened, Place, Query, Removal, Removed, Shared, Staging, Stats, Step, Tier,
};
use crate::signing::Signer;
use crate::units::{human_duration, human_size};

/// How loud a note is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What happened (stderr, unless `-q`).
    Status,
    /// Something went wrong but the job goes on.
    Warn,
    /// Only with `-v`: the whole cause chain.
    Detail,
}

/// A line for the person reading the log.
#[derive(Debug, Clone)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

/// The shared tier: connected on first use, so that a local hit never touches it.
enum SharedTier {
    None,
    Pending(Box<(StoreUrl, Option<Signer>)>),
    Ready(Box<ObjectTier>),
    /// The configured shared store cannot be used at all; said once.
    Broken,
}

pub struct ReadThrough {
    pub local: LocalStore,
    shared: SharedTier,
    notes: Vec<Note>,
}

/// One line about a shared-store failure: what failed and the root cause (object_store's
/// errors repeat the whole request chain; the detail note keeps it).
fn brief(e: &anyhow::Error) -> String {
    let root = e.root_cause().to_string();
    let root = root.lines().next().unwrap_or_default();
    let top = e.to_string();
    if top == root || top.len() > 80 {
        root.to_string()
    } else {
        format!("{top}: {root}")
    }
}

impl ReadThrough {
    /// The local store, with the shared one behind it when `shared` is set. A read-only
    /// local store never consults the shared one (it could not keep what it downloads).
    pub fn new(local: LocalStore, shared: Option<&StoreUrl>, signer: Option<Signer>) -> Self {
        let mut this = Self {
            local,
            shared: SharedTier::None,
            notes: Vec::new(),
        };
        let Some(url) = shared else {
            return this;
        };
        if this.local.read_only() {
            this.note(
                Level::Detail,
                "--read-only: the shared store is not consulted".to_string(),
            );
            return this;
        }
        this.shared = SharedTier::Pending(Box::new((url.clone(), signer)));
        this
    }

    fn note(&mut self, level: Level, text: String) {
        self.notes.push(Note { level, text });
    }

    fn warn_shared(&mut self, e: &anyhow::Error, what: &str, then: &str) {
        self.note(Level::Detail, format!("shared store error: {e:#}"));
        self.note(Level::Warn, format!("{what} ({}); {then}", brief(e)));
    }

    /// What happened since the last call, for the command to print.
    pub fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// Whether a shared store is configured (usable or not).
    pub fn has_shared(&self) -> bool {
        !matches!(self.shared, SharedTier::None)
    }

    fn shared(&mut self) -> Option<&mut ObjectTier> {
        if let SharedTier::Pending(..) = self.shared {
            let SharedTier::Pending(pending) =
                std::mem::replace(&mut self.shared, SharedTier::Broken)
            else {
                unreachable!("matched just now")
            };
            let (url, signer) = *pending;
            match ObjectTier::new(&url, signer) {
                Ok(t) => self.shared = SharedTier::Ready(Box::new(t)),
                Err(e) => self.warn_shared(
                    &e,
                    &format!("the shared store {url} is not usable"),
                    "using the local store only",
                ),
            }
        }
        match &mut self.shared {
            SharedTier::Ready(t) => Some(t),
            _ => None,
        }
    }

    /// Uploads a just-committed local entry.
    fn upload(&mut self, entry: &Entry, mode: CommitMode) -> Option<Shared> {
        if !self.has_shared() {
            return None;
        }
        let started = Instant::now();
        if entry.format == super::Format::Cas {
            // The packs the bucket lacks first, then the manifest as an entry: a manifest in
            // the bucket always finds its packs there.
            if let Err(e) = self.upload_packs(entry) {
                let why = brief(&e);
                self.warn_shared(
                    &e,
                    &format!("cannot upload the packs of cache entry '{}'", entry.key),
                    "it is kept in the local store only",
                );
                return Some(Shared::Failed(why));
            }
        }
        let opened = self.local.open(entry);
        let Some(shared) = self.shared() else {
            return Some(Shared::Failed("the shared store is not usable".into()));
        };
        let url = shared.url().to_string();
        let result = opened
            .map_err(|e| anyhow::anyhow!("cannot reopen the archive: {e}"))
            .and_then(|opened| {
                let staging = Staging::new(opened.file, Place::Borrowed);
                let mode = if mode == CommitMode::Replace {
                    CommitMode::Replace
                } else {
                    CommitMode::Create
                };
                shared.commit(staging, NewEntry::copy_of(entry), mode)
            });
        Some(match result {
            Ok(r) => match r.committed {
                Committed::New { .. } => {
                    self.note(
                        Level::Status,
                        format!(
                            "Uploaded cache entry '{}' ({}) to {url} in {}",
                            entry.key,
                            human_size(entry.size_bytes),
                            human_duration(started.elapsed().as_millis() as u64)
                        ),
                    );
                    Shared::Uploaded
                }
                Committed::Existed { meanwhile, .. } => {
                    let text = if meanwhile {
                        format!(
                            "Cache entry for key '{}' was saved to {url} by another host meanwhile; keeping theirs",
                            entry.key
                        )
                    } else {
                        format!(
                            "Cache entry for key '{}' already exists in {url}; not uploading",
                            entry.key
                        )
                    };
                    self.note(Level::Status, text);
                    Shared::Existed
                }
            },
            Err(e) => {
                let why = brief(&e);
                self.warn_shared(
                    &e,
                    &format!(
                        "cannot upload cache entry '{}' to the shared store {url}",
                        entry.key
                    ),
                    "it is kept in the local store only",
                );
                Shared::Failed(why)
            }
        })
    }

    /// Uploads the packs of a local cas entry that the bucket lacks.
    fn upload_packs(&mut self, entry: &Entry) -> anyhow::Result<()> {
        let file = self
            .local
            .archive_file(entry)
            .map_err(|e| anyhow::anyhow!("cannot open the manifest: {e}"))?;
        let m = self
            .local
            .cas_manifest(&file, entry)
            .map_err(|why| anyhow::anyhow!("the local entry is damaged: {why}"))?;
        let mut packs = Vec::new();
        for p in &m.packs {
            let name = crate::keys::hex(p);
            let f = self
                .local
                .dirs()
                .open_file(
                    &super::cas::pack_dir(&name),
                    super::cas::pack_file(&name).as_bytes(),
                )
                .map_err(|e| anyhow::anyhow!("cannot open the pack {name}: {e}"))?;
            packs.push((name, f));
        }
        let shared = self
            .shared()
            .ok_or_else(|| anyhow::anyhow!("the shared store is not usable"))?;
        let (mut sent, mut bytes) = (0u64, 0u64);
        for (name, mut f) in packs {
            if shared.has_pack(&name)? {
                continue;
            }
            let size = f.metadata().context("cannot read a pack")?.len();
            if shared.put_pack(&name, &mut f, size)? {
                sent += 1;
                bytes += size;
            }
        }
        self.note(
            Level::Status,
            format!(
                "Uploaded {sent} of {} packs ({}) of cache entry '{}'",
                m.packs.len(),
                human_size(bytes),
                entry.key
            ),
        );
        Ok(())
    }

    /// Downloads the packs of a shared cas entry that the local store lacks (its manifest is
    /// in `manifest`, checked), each checked against its name and leased for the entry.
    fn download_packs(&mut self, entry: &Entry, manifest: &std::fs::File) -> anyhow::Result<()> {
        let m = self
            .local
            .cas_manifest(manifest, entry)
            .map_err(|why| anyhow::anyhow!("the shared entry is damaged: {why}"))?;
        let owner = entry.archive.as_str().to_string();
        let (mut got, mut bytes) = (0u64, 0u64);
        for (i, p) in m.packs.iter().enumerate() {
            let name = crate::keys::hex(p);
            if self.local.index_ref().cas_lease(&owner, &name)? {
                continue;
            }
            let mut staging = self.local.stage()?;
            let shared = self
                .shared()
                .ok_or_else(|| anyhow::anyhow!("the shared store is not usable"))?;
            let size = shared.get_pack(&name, &mut staging.file)?;
            let rows: Vec<super::index::BlobRow> = m
                .blobs
                .iter()
                .filter(|b| b.pack as usize == i)
                .map(|b| super::index::BlobRow {
                    hash: crate::keys::hex(&b.hash),
                    pack: name.clone(),
                    frame_offset: b.frame_offset,
                    frame_len: b.frame_len,
                    offset: b.offset,
                    len: b.len,
                })
                .collect();
            super::cas::save::install_pack(
                &mut self.local,
                &owner,
                &mut staging,
                &name,
                size,
                &rows,
            )?;
            got += 1;
            bytes += size;
        }
        self.note(
            Level::Status,
            format!(
                "Downloaded {got} of {} packs ({}) of cache entry '{}'",
                m.packs.len(),
                human_size(bytes),
                entry.key
            ),
        );
        Ok(())
    }

    /// Downloads a shared entry into the local store and returns it as registered there.
    fn download(&mut self, entry: &Entry) -> anyhow::Result<Entry> {
        let started = Instant::now();
        let mut staging = self.local.stage()?;
        let shared = self
            .shared()
            .ok_or_else(|| anyhow::anyhow!("the shared store is not usable"))?;
        shared.download_into(entry, &mut staging.file)?;
        let url = shared.url().to_string();
        if entry.format == super::Format::Cas {
            use std::io::Seek as _;
            staging
                .file
                .rewind()
                .context("cannot reread the manifest")?;
            let result = self.download_packs(entry, &staging.file);
            if let Err(e) = result {
                self.local.cas_release(entry.archive);
                return Err(e);
            }
        }
        let report = self
            .local
            .commit(staging, NewEntry::copy_of(entry), CommitMode::Adopt)?;
        let local = match report.committed {
            Committed::New { entry, .. } | Committed::Existed { entry, .. } => entry,
        };
        self.note(
            Level::Status,
            format!(
                "Downloaded cache entry '{}' ({}) from {url} in {}",
                local.key,
                human_size(local.size_bytes),
                human_duration(started.elapsed().as_millis() as u64)
            ),
        );
        Ok(local)
    }
}

/// Which of two finds a single store holding both would have returned.
fn prefer_shared(local: &super::tier::Found, shared: &super::tier::Found) -> bool {
    shared.step < local.step
        || (shared.step == local.step
            && local.step.prefix
            && shared.entry.created_at > local.entry.created_at)
}

impl Tier for ReadThrough {
    fn location(&self) -> String {
        self.local.location()
    }

    fn archive_location(&self, e: &Entry) -> String {
        self.local.archive_location(e)
    }

    fn lookup(&mut self, q: &Query, until: Option<Step>) -> anyhow::Result<Lookup> {
        let mut local = self.local.lookup(q, until)?;
        let first = q.steps().next();
        if local.found.as_ref().map(|f| f.step) == first {
            return Ok(local);
        }
        let limit = local.found.as_ref().map(|f| f.step).or(until);
        let Some(shared) = self.shared() else {
            return Ok(local);
        };
        let url = shared.url().to_string();
        match shared.lookup(q, limit) {
            Ok(remote) => {
                local.refused.extend(remote.refused);
                let take_remote = match (&local.found, &remote.found) {
                    (None, Some(_)) => true,
                    (Some(l), Some(r)) => prefer_shared(l, r),
                    _ => false,
                };
                if take_remote {
                    local.found = remote.found;
                }
            }
            Err(e) => self.warn_shared(
                &e,
                &format!("cannot look the keys up in the shared store {url}"),
                "using the local store only",
            ),
        }
        Ok(local)
    }

    fn find(&mut self, id: &Identity) -> anyhow::Result<Option<Entry>> {
        self.local.find(id)
    }

    fn stage(&mut self) -> anyhow::Result<Staging> {
        self.local.stage()
    }

    fn commit(
        &mut self,
        staging: Staging,
        new: NewEntry,
        mode: CommitMode,
    ) -> anyhow::Result<CommitReport> {
        let mut report = self.local.commit(staging, new, mode)?;
        if let Committed::New { entry, .. } = &report.committed {
            let entry = entry.clone();
            report.shared = self.upload(&entry, mode);
        }
        Ok(report)
    }

    fn open(&mut self, entry: &Entry) -> Result<Opened, OpenFailure> {
        if entry.usage.is_some() {
            return self.local.open(entry);
        }
        let url = self
            .shared()
            .map(|s| s.url().to_string())
            .unwrap_or_default();
        match self.download(entry) {
            Ok(local) => self.local.open(&local),
            Err(e) => {
                self.warn_shared(
                    &e,
                    &format!("cannot download cache entry '{}' from {url}", entry.key),
                    "using the local store only",
                );
                Err(OpenFailure::Failed(e))
            }
        }
    }

    fn list(&mut self, filter: &Filter) -> anyhow::Result<Listing> {
        self.local.list(filter)
    }

    fn delete(&mut self, entries: &[Entry], why: Removal) -> anyhow::Result<Removed> {
        self.local.delete(entries, why)
    }

    fn stats(&mut self, repo: Option<&str>, since: Option<Timestamp>) -> anyhow::Result<Stats> {
        self.local.stats(repo, since)
    }

    fn gc(
        &mut self,
        policy: &Policy,
        repo: Option<&str>,
        dry_run: bool,
    ) -> anyhow::Result<GcReport> {
        self.local.gc(policy, repo, dry_run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entry::{ArchiveId, Timestamp};
    use crate::store::tier::Found;

    fn found(scope: usize, key: usize, prefix: bool, created: i64) -> Found {
        Found {
            entry: Entry {
                repo: "r".into(),
                scope: None,
                key: "k".into(),
                version: "v".into(),
                paths: vec![],
                codec: crate::store::archive::Codec::Zstd,
                format: crate::store::entry::Format::Archive,
                archive: ArchiveId::random(),
                size_bytes: 0,
                unpacked_bytes: 0,
                file_count: 0,
                digest: String::new(),
                created_at: Timestamp::from_ms(created).unwrap(),
                created_by_run: None,
                signature: None,
                usage: None,
            },
            step: Step { scope, key, prefix },
            local: false,
        }
    }

    #[test]
    fn the_pair_answers_as_one_store() {
        // An exact primary-key match in the bucket beats a local restore-key match.
        assert!(prefer_shared(&found(0, 1, true, 9), &found(0, 0, false, 1)));
        // The own scope beats a fallback scope, wherever it is.
        assert!(prefer_shared(&found(1, 0, false, 9), &found(0, 1, true, 1)));
        assert!(!prefer_shared(
            &found(0, 1, true, 1),
            &found(1, 0, false, 9)
        ));
        // Within one prefix step, the newest wins; a tie stays local.
        assert!(prefer_shared(&found(0, 1, true, 1), &found(0, 1, true, 2)));
        assert!(!prefer_shared(&found(0, 1, true, 2), &found(0, 1, true, 2)));
        // The same exact step: the local copy, no download.
        assert!(!prefer_shared(
            &found(0, 1, false, 1),
            &found(0, 1, false, 5)
        ));
    }
}
