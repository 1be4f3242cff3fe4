//! The one interface every store tier implements, and the types it speaks.
//!
//! A tier is the local store (SQLite index + archives, [`super::local`]), an object store
//! ([`super::object`]: `s3://`, `gs://`, `az://`, `file://`), or the read-through pair of
//! both ([`super::tiered`]). Commands hold a `dyn Tier` (or the pair) and never know which
//! one they talk to: the same flags and output formats work on every tier. A capability a
//! tier lacks is modelled, never faked: the shared store records no use, so its entries have
//! no [`Usage`](super::entry::Usage) and its statistics no restore counts.

use std::fs::File;

use super::entry::{ArchiveId, BadEntry, Entry, Format, Identity, RawEntry, Timestamp};
use super::gc::Policy;
use crate::signing::Signer;
use crate::store::archive::Codec;

/// What a restore looks for: GitHub's lookup order is every scope in turn (own, then
/// fallbacks), and in each every key in turn (primary, then restore keys), first exactly,
/// then as a prefix.
#[derive(Debug, Clone)]
pub struct Query {
    pub repo: String,
    pub scopes: Vec<Option<String>>,
    pub version: String,
    /// Folded keys, the primary key first.
    pub keys: Vec<String>,
}

/// One step of the lookup order. Steps compare in search order, so "found at an earlier
/// step" is `<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    pub scope: usize,
    pub key: usize,
    pub prefix: bool,
}

impl Query {
    /// Every step, in search order.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        (0..self.scopes.len()).flat_map(move |scope| {
            (0..self.keys.len())
                .flat_map(move |key| [false, true].map(|prefix| Step { scope, key, prefix }))
        })
    }

    /// The identity the primary key has in the own scope.
    pub fn primary(&self) -> Identity {
        Identity {
            repo: self.repo.clone(),
            scope: self.scopes.first().cloned().flatten(),
            version: self.version.clone(),
            key_folded: self.keys.first().cloned().unwrap_or_default(),
        }
    }
}

/// Why a candidate of a lookup was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A signing key is set and the entry carries no valid signature.
    Unsigned,
    /// The row or object is not a usable entry.
    Damaged(String),
}

/// A candidate the lookup looked at and passed over.
#[derive(Debug, Clone)]
pub struct Refused {
    pub step: Step,
    pub key: String,
    pub scope: Option<String>,
    pub why: Refusal,
    /// Where it was (a tier's location).
    pub tier: String,
}

/// What a lookup found.
#[derive(Debug, Default)]
pub struct Lookup {
    pub found: Option<Found>,
    /// Candidates seen and refused on the way, in search order.
    pub refused: Vec<Refused>,
}

/// An entry a lookup found, and where in the search.
#[derive(Debug, Clone)]
pub struct Found {
    pub entry: Entry,
    pub step: Step,
    /// Whether it is in this host's local store (else it must be downloaded first).
    pub local: bool,
}

/// Where a staged archive is written before its commit.
pub enum Place {
    /// In the local store's `tmp/`, removed on drop unless committed.
    StoreTmp {
        dirs: super::dirs::StoreDirs,
        name: Vec<u8>,
    },
    /// A temp file anywhere (removed on drop).
    Temp(tempfile::NamedTempFile),
    /// A file the caller owns (nothing is removed).
    Borrowed,
}

/// An archive being written (or a finished one to upload), before its commit.
pub struct Staging {
    pub file: File,
    pub place: Place,
    /// Set once the commit took the file.
    pub(super) taken: bool,
}

impl Staging {
    pub fn new(file: File, place: Place) -> Self {
        Self {
            file,
            place,
            taken: false,
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let (false, Place::StoreTmp { dirs, name }) = (self.taken, &self.place) {
            let _ = dirs.remove_file(&[super::layout::TMP_DIR.as_bytes()], name);
        }
    }
}

/// A finished archive's description, to commit as an entry.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub repo: String,
    pub scope: Option<String>,
    pub key: String,
    pub version: String,
    pub paths: Vec<String>,
    pub codec: Codec,
    pub format: Format,
    /// The archive id to register under, when the writer chose it before the commit (a cas
    /// save leases the packs it reuses under its entry's id); else a fresh one.
    pub id: Option<ArchiveId>,
    pub size_bytes: u64,
    pub unpacked_bytes: u64,
    pub file_count: u64,
    pub digest: String,
    pub created_by_run: Option<String>,
    /// For a copy of an entry from another tier: its archive id, creation time and
    /// signature stay what they were (so "newest wins" and signatures agree on every host).
    pub preset: Option<Preset>,
}

#[derive(Debug, Clone)]
pub struct Preset {
    pub archive: ArchiveId,
    pub created_at: Timestamp,
    pub signature: Option<String>,
}

impl NewEntry {
    /// A copy of `e`, for another tier.
    pub fn copy_of(e: &Entry) -> Self {
        Self {
            repo: e.repo.clone(),
            scope: e.scope.clone(),
            key: e.key.clone(),
            version: e.version.clone(),
            paths: e.paths.clone(),
            codec: e.codec,
            format: e.format,
            id: None,
            size_bytes: e.size_bytes,
            unpacked_bytes: e.unpacked_bytes,
            file_count: e.file_count,
            digest: e.digest.clone(),
            created_by_run: e.created_by_run.clone(),
            preset: Some(Preset {
                archive: e.archive,
                created_at: e.created_at,
                signature: e.signature.clone(),
            }),
        }
    }

    pub fn identity(&self) -> Identity {
        Identity {
            repo: self.repo.clone(),
            scope: self.scope.clone(),
            version: self.version.clone(),
            key_folded: crate::keys::fold(&self.key),
        }
    }

    /// The entry a commit registers: a fresh archive id and creation time (or the preset
    /// ones), signed with `signer` unless it carries its signature already. It passes the
    /// same gate as every entry read, so what is written always reads back.
    pub fn into_entry(self, signer: Option<&Signer>) -> anyhow::Result<Entry> {
        let (archive, created_at, signature, fresh) = match self.preset {
            Some(p) => (p.archive, p.created_at, p.signature, false),
            None => (
                self.id.unwrap_or_else(ArchiveId::random),
                Timestamp::now(),
                None,
                true,
            ),
        };
        let raw = RawEntry {
            repo: self.repo,
            scope: self.scope,
            key: self.key,
            version: self.version,
            paths: self.paths,
            codec: super::entry::compression_name(self.format, self.codec).to_string(),
            archive: archive.file_name(self.codec),
            size_bytes: i128::from(self.size_bytes),
            unpacked_bytes: i128::from(self.unpacked_bytes),
            file_count: i128::from(self.file_count),
            digest: self.digest,
            created_at: i128::from(created_at.ms()),
            created_by_run: self.created_by_run,
            signature,
        };
        let mut e = Entry::check(raw, None).map_err(|d| anyhow::anyhow!("cannot commit: {d}"))?;
        if fresh {
            if let Some(signer) = signer {
                e.signature = Some(signer.sign(&e));
            }
        }
        Ok(e)
    }
}

/// How a commit treats an entry that already has the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// First writer wins: an existing entry stays, the new archive goes.
    Create,
    /// `--overwrite`: the new entry replaces the old one atomically.
    Replace,
    /// A copy from another tier: an existing entry this tier would restore stays; one it
    /// would refuse (unsigned, damaged) is replaced.
    Adopt,
}

/// What a commit did. (Made once per save: the size of `New` costs nothing.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Committed {
    New {
        entry: Entry,
        /// The entry `Replace` (or `Adopt`) displaced; its archive is gone.
        replaced: Option<Entry>,
        /// Entries evicted afterwards to keep the repo under its size limit.
        evicted: Removed,
    },
    /// Another writer committed the identity first; nothing of ours was kept. `meanwhile`:
    /// it appeared while this commit was under way (not before it started).
    Existed { entry: Entry, meanwhile: bool },
}

/// What the read-through pair did with the shared store after a local commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    Uploaded,
    /// The shared store had the entry already (from another host).
    Existed,
    /// The upload failed (the reason, one line); the entry stays local.
    Failed(String),
}

/// What a commit through a tier did, with the shared store's part when there is one.
#[derive(Debug)]
pub struct CommitReport {
    pub committed: Committed,
    pub shared: Option<Shared>,
}

/// An entry opened for a restore.
pub struct Opened {
    pub file: File,
    /// The entry as the tier now has it (a shared entry, once downloaded, is local).
    pub entry: Entry,
}

/// Why an entry could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    /// Its archive is gone (removed meanwhile, or lost); its record is gone now too.
    #[error("its archive is gone")]
    Vanished,
    /// It is damaged (its archive is not a regular file, or does not match its record).
    #[error("{0}")]
    Damaged(String),
    /// Something here failed (a full disk, the network): the entry may be fine.
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

/// Which entries `list`, `show` and `delete` act on; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A local row id (only the local tier has them).
    pub id: Option<i64>,
    pub repo: Option<String>,
    pub scope: Option<String>,
    pub version: Option<String>,
    pub key_folded: Option<String>,
    pub prefix_folded: Option<String>,
    pub sort: Sort,
    pub limit: Option<u64>,
    pub offset: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    #[default]
    LastUsed,
    /// Per repo, least recently used first: the eviction order.
    LeastRecentlyUsed,
    Size,
    /// Most restored first.
    Hits,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<Entry>,
    /// How many entries match the filter without its limit and offset.
    pub total: u64,
    /// Rows or objects that are not usable entries (reported, never acted on).
    pub bad: Vec<BadEntry>,
}

/// What a removal did.
#[derive(Debug, Default, Clone)]
pub struct Removed {
    pub count: usize,
    pub freed_bytes: u64,
    pub keys: Vec<String>,
    /// Things that were in the way and left alone (a symlink where an archive was), each a
    /// message.
    pub left_alone: Vec<String>,
}

impl Removed {
    pub fn add(&mut self, other: Removed) {
        self.count += other.count;
        self.freed_bytes += other.freed_bytes;
        self.keys.extend(other.keys);
        self.left_alone.extend(other.left_alone);
    }

    /// What removing `entries` would do (a dry run).
    pub fn would(entries: &[Entry]) -> Self {
        Self {
            count: entries.len(),
            freed_bytes: entries.iter().map(|e| e.size_bytes).sum(),
            keys: entries.iter().map(|e| e.key.clone()).collect(),
            left_alone: Vec::new(),
        }
    }
}

/// Why entries are removed (kept for the "why did it miss" hints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// `delete`, or the web page.
    Deleted,
    /// `gc`: not used for the max age.
    Expired,
    /// `gc` or a save: over the repo's size limit.
    Evicted,
    /// Found damaged (by a restore or `verify`).
    Damaged,
    /// Replaced by `save --overwrite`.
    Replaced,
}

/// Restore counts of one repo, where a tier records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restores {
    pub hits: u64,
    pub partial_hits: u64,
    pub misses: u64,
    pub bytes_restored: u64,
    pub restore_ms: u64,
}

impl Restores {
    /// (hits + partial hits) / attempts, 0 when there were none.
    pub fn hit_rate(&self) -> f64 {
        let attempts = self.hits + self.partial_hits + self.misses;
        if attempts == 0 {
            0.0
        } else {
            (self.hits + self.partial_hits) as f64 / attempts as f64
        }
    }

    pub fn add(&mut self, o: &Restores) {
        self.hits += o.hits;
        self.partial_hits += o.partial_hits;
        self.misses += o.misses;
        self.bytes_restored += o.bytes_restored;
        self.restore_ms += o.restore_ms;
    }
}

/// What the cache was worth to one repo, where a tier records it (the local one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Worth {
    /// Archive bytes written by saves (that made an entry), and how many.
    pub bytes_saved: u64,
    pub saves: u64,
    /// Entries removed by gc (idle or over the size limit) that no restore ever used: the
    /// sign of a size limit too small for the repo (the cache thrashes).
    pub evicted_unused: u64,
    /// Entries in the store now that no restore has used yet.
    pub never_restored: u64,
    /// Of restores `run` measured: their time, and the time of the commands after them.
    pub measured_restore_ms: u64,
    pub command_ms: u64,
    /// Misses by the kind of their first reason (`version`, `scope`, …; `none` when no
    /// reason was found).
    pub miss_reasons: std::collections::BTreeMap<String, u64>,
}

impl Worth {
    pub fn add(&mut self, o: &Worth) {
        self.bytes_saved += o.bytes_saved;
        self.saves += o.saves;
        self.evicted_unused += o.evicted_unused;
        self.never_restored += o.never_restored;
        self.measured_restore_ms += o.measured_restore_ms;
        self.command_ms += o.command_ms;
        for (k, n) in &o.miss_reasons {
            *self.miss_reasons.entry(k.clone()).or_default() += n;
        }
    }
}

/// One repo's numbers for `stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepoStats {
    pub repo: String,
    pub entries: u64,
    pub size_bytes: u64,
    /// `None` in a tier that records no restores (the shared store).
    pub restores: Option<Restores>,
    /// `None` in a tier that records no use.
    pub worth: Option<Worth>,
    /// The repo's size limit, where the tier enforces one.
    pub limit_bytes: Option<u64>,
}

/// What `stats` reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub repos: Vec<RepoStats>,
    /// The most restored keys: (repo, key, restores); empty where restores are not recorded.
    pub top_keys: Vec<(String, String, u64)>,
    /// Archives no entry refers to (uploads in progress or dead ones), where a tier can tell.
    pub unreferenced: Option<u64>,
}

/// What `gc` did (or, with `dry_run`, would do).
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed: Removed,
    /// Entries whose archive had vanished.
    pub vanished: usize,
    /// Rows or objects that were not usable entries, removed.
    pub damaged: usize,
    pub orphans_removed: usize,
    pub temp_removed: usize,
    /// Pack files of the cas format no entry needed any more, removed.
    pub packs_removed: usize,
    pub dry_run: bool,
    /// The entries removed (or, dry, that would be), each with why.
    pub doomed: Vec<super::gc::Doomed>,
}

/// The interface of a store tier. Every method reads or acts on this tier only; the
/// read-through pair composes two.
pub trait Tier {
    /// Where the tier is, for messages: a directory or a URL.
    fn location(&self) -> String;

    /// Where an entry's archive is, for `list --json` and `show`: a path or a URL.
    fn archive_location(&self, e: &Entry) -> String;

    /// Searches in GitHub's order (see [`Query`]), stopping at the first acceptable entry;
    /// steps after `until` are not searched.
    fn lookup(&mut self, q: &Query, until: Option<Step>) -> anyhow::Result<Lookup>;

    /// The usable entry with exactly this identity, if there is one.
    fn find(&mut self, id: &Identity) -> anyhow::Result<Option<Entry>>;

    /// A new temp file to write an archive into.
    fn stage(&mut self) -> anyhow::Result<Staging>;

    /// Makes a staged archive an entry: publish, register, and clean up in every outcome.
    fn commit(
        &mut self,
        staging: Staging,
        new: NewEntry,
        mode: CommitMode,
    ) -> anyhow::Result<CommitReport>;

    /// Opens an entry's archive for a restore.
    fn open(&mut self, entry: &Entry) -> Result<Opened, OpenFailure>;

    fn list(&mut self, filter: &Filter) -> anyhow::Result<Listing>;

    /// Removes entries (record first, then archive); ones already gone are not counted.
    fn delete(&mut self, entries: &[Entry], why: Removal) -> anyhow::Result<Removed>;

    fn stats(&mut self, repo: Option<&str>, since: Option<Timestamp>) -> anyhow::Result<Stats>;

    fn gc(
        &mut self,
        policy: &Policy,
        repo: Option<&str>,
        dry_run: bool,
    ) -> anyhow::Result<GcReport>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_in_githubs_order() {
        let q = Query {
            repo: "r".into(),
            scopes: vec![Some("feature".into()), Some("main".into())],
            version: "v".into(),
            keys: vec!["k".into(), "k-".into()],
        };
        let steps: Vec<(usize, usize, bool)> =
            q.steps().map(|s| (s.scope, s.key, s.prefix)).collect();
        assert_eq!(
            steps,
            [
                (0, 0, false),
                (0, 0, true),
                (0, 1, false),
                (0, 1, true),
                (1, 0, false),
                (1, 0, true),
                (1, 1, false),
                (1, 1, true)
            ]
        );
        let sorted = {
            let mut v: Vec<Step> = q.steps().collect();
            v.sort();
            v
        };
        assert_eq!(sorted, q.steps().collect::<Vec<_>>());
    }
}
