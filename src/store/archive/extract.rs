//! The verified, checked unpack: extraction policy, member by member.
//!
//! The unpack trusts nothing in the archive. Every member's final path must stay under its
//! own root; nothing is ever written through a symlink (existing ones in the way are replaced,
//! ones the archive made are an attack); hard links and device nodes are never created; the
//! bytes decoded are capped by the entry's recorded unpacked size ([`super::reader`] bounds
//! every header and charges every claim); and the SHA-256 of the file is checked as it
//! streams. On any problem the files written so far are removed.
//!
//! What was there before is never lost to a bad archive. A path line whose target does not
//! exist is built in a staging directory next to it and renamed into place only once the
//! archive checked out ([`super::staging`]). When a target exists already (the restore then
//! merges into it, as tar and actions/cache do), the archive's digest is checked in a pass
//! of its own before the first write, so a mismatch writes nothing.
//!
//! One thread (the coordinator) parses, resolves and checks every member and makes every
//! directory and symlink; small files' contents go to [`super::writers`] threads, because
//! creating files, not decompressing, is what a restore waits for. Every decision stays on
//! the coordinator; before it changes or removes anything a queued write depends on, it waits
//! for the queued writes ([`Extractor::settle`]).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::codec::{Codec, Decoder};
use super::create;
use super::decode::Decoded;
use super::error::{local, UnpackError};
use super::hashio::{HashingReader, Progress};
use super::reader::{self, Budget, Kind, Reader};
use super::staging::{self, Stage};
use super::writers::{Job, Writers};
use super::IO_BUFFER;
use crate::paths::{CachePaths, RootKind};

/// Caps on what one archive may hold (header blocks, extensions included).
pub const MAX_MEMBERS: u64 = 10_000_000;
const MAX_DEPTH: usize = 256;
/// Files up to this size are written by worker threads from a copy of their content; larger
/// ones stream straight from the archive on the coordinating thread.
const SMALL_FILE: u64 = 1 << 20;

/// What a restore wrote.
#[derive(Debug, Default)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
}

/// What the index says about the archive being restored.
pub struct Expected<'a> {
    pub codec: Codec,
    pub digest: &'a str,
    pub unpacked_bytes: u64,
    /// Counts the archive bytes read.
    pub progress: Progress,
    /// Whether the caller checked the content before the call (a stream that cannot be read
    /// twice, such as a cas entry's): the digest-first pass before a merge is then skipped.
    pub checked_first: bool,
}

/// Whether a restore of `paths` merges into something that exists (or overlapping lines),
/// so that the content must be checked before the first write.
pub fn merges(paths: &CachePaths) -> bool {
    plan(paths).iter().any(Option::is_none)
}

/// The byte budget of a restore: the recorded size plus a little slack. A bomb stops here,
/// not when the disk is full.
pub fn budget_for(unpacked_bytes: u64) -> u64 {
    unpacked_bytes
        .saturating_add(unpacked_bytes / 100)
        .saturating_add(1 << 20)
}

/// Restores an archive into the roots of `paths`, verifying it as it streams.
pub fn unpack(
    mut file: File,
    expected: &Expected<'_>,
    paths: &CachePaths,
) -> Result<Unpacked, UnpackError> {
    let plan = plan(paths);
    if !expected.checked_first && plan.iter().any(Option::is_none) {
        // Something will be merged into what is there: nothing is written before the
        // archive is known to be the one the index recorded.
        verify_digest(&mut file, expected.digest)?;
    }
    let raw = BufReader::with_capacity(
        IO_BUFFER,
        HashingReader {
            inner: file,
            hasher: Sha256::new(),
            progress: expected.progress.clone(),
        },
    );
    let decoder = Decoder::new(raw, expected.codec)
        .map_err(|e| UnpackError::damaged(format!("cannot start the decoder: {e}")))?;
    let budget = budget_for(expected.unpacked_bytes);
    let mut ex = Extractor::new(paths, budget, plan);
    let mut archive = Reader::new(Decoded::spawn(decoder), Budget::new(budget), MAX_MEMBERS);
    let result = ex.run(&mut archive).and_then(|()| {
        // Read what follows the end-of-archive blocks, so the codec checks its trailer
        // (zstd's frame checksum); the decoding thread hashes every byte of the file.
        let mut rest = archive.into_inner();
        io::copy(&mut (&mut rest).take(1 << 20), &mut io::sink())
            .map_err(|e| UnpackError::damaged(format!("archive is corrupt: {e}")))?;
        let digest = rest
            .finish()
            .map_err(|e| UnpackError::damaged(format!("archive unreadable: {e}")))?;
        check_digest(&digest, expected.digest)
    });
    // Every queued write ends (or is dropped, after a failure) before directories get their
    // final modes or anything is cleaned up.
    // The coordinator's error wins: a damaged archive must be reported as such.
    let (written, worker_error) = ex.writers.finish(result.is_err());
    match result
        .and_then(|()| worker_error.map_or(Ok(()), Err))
        .and_then(|()| ex.commit_stages())
    {
        Ok(()) => {
            ex.finish_dirs();
            Ok(ex.report)
        }
        Err(e) => {
            ex.clean_up(&written);
            Err(e)
        }
    }
}

fn check_digest(digest: &str, expected: &str) -> Result<(), UnpackError> {
    if digest == expected {
        Ok(())
    } else {
        Err(UnpackError::damaged(format!(
            "archive digest {digest} does not match the index ({expected})"
        )))
    }
}

/// Hashes the whole archive file and rewinds it.
fn verify_digest(file: &mut File, expected: &str) -> Result<(), UnpackError> {
    use std::io::{Seek, SeekFrom};
    let unreadable = |e: io::Error| UnpackError::damaged(format!("archive unreadable: {e}"));
    let digest = super::hashio::sha256_of(file).map_err(unreadable)?;
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    check_digest(&digest, expected)
}

/// Which roots are built in a staging directory: `Some((base, name))` for a literal path
/// line whose target does not exist and whose members no other line writes among (nor it
/// among theirs); `None` for the rest, which are merged into what is there. Stale staging
/// directories of every literal target are swept on the way.
fn plan(paths: &CachePaths) -> Vec<Option<(PathBuf, Vec<u8>)>> {
    // Where each line writes: a literal line only at and below its target, a glob line
    // anywhere below its base.
    let areas: Vec<PathBuf> = paths
        .roots
        .iter()
        .map(|r| r.literal_path().unwrap_or_else(|| r.base.clone()))
        .collect();
    paths
        .roots
        .iter()
        .enumerate()
        .map(|(i, root)| {
            let RootKind::Literal { name } = &root.kind else {
                return None;
            };
            if name.is_empty() {
                return None;
            }
            if root.base.is_dir() {
                staging::sweep(&root.base, name);
            }
            let target = &areas[i];
            let overlaps = areas
                .iter()
                .enumerate()
                .any(|(j, a)| j != i && (a.starts_with(target) || target.starts_with(a)));
            let absent = matches!(fs::symlink_metadata(target),
                Err(e) if e.kind() == io::ErrorKind::NotFound);
            (absent && !overlaps).then(|| (root.base.clone(), name.clone()))
        })
        .collect()
}

struct Extractor<'a> {
    paths: &'a CachePaths,
    budget: u64,
    report: Unpacked,
    /// Directories known to be real directories (not symlinks) during this restore.
    verified: HashSet<PathBuf>,
    /// Everything this restore created, in order, for clean-up after a failure.
    created: Vec<PathBuf>,
    /// Symlinks this restore created: writing through one of them is an attack.
    our_links: HashSet<PathBuf>,
    /// Directory modes and mtimes, applied at the end (a read-only directory would stop its
    /// own children from being written).
    dirs: Vec<(PathBuf, u32, u64)>,
    buf: Vec<u8>,
    /// Writes small files' contents; they record what they create themselves.
    writers: Writers,
    /// Paths handed to `writers` since the last flush (they may not exist yet).
    pending: HashSet<PathBuf>,
    /// Directories this restore created, and (hashes of) every path it put anything at: a
    /// name in a fresh directory that is not in `made` does not exist, so it needs no `lstat`
    /// before it is created (a restore into an empty directory then costs one syscall per
    /// member). `made` only ever errs towards "maybe there" (a hash collision, a path since
    /// removed), which costs an `lstat`, never a wrong answer; hashes keep it small.
    fresh: HashSet<PathBuf>,
    made: HashSet<u64>,
    /// Per root: `(base, name)` when its target is built in a staging directory.
    plan: Vec<Option<(PathBuf, Vec<u8>)>>,
    /// Per root: its staging directory, once its first member arrived.
    stages: Vec<Option<Stage>>,
}

impl<'a> Extractor<'a> {
    fn new(paths: &'a CachePaths, budget: u64, plan: Vec<Option<(PathBuf, Vec<u8>)>>) -> Self {
        Self {
            stages: plan.iter().map(|_| None).collect(),
            plan,
            paths,
            budget,
            report: Unpacked::default(),
            verified: HashSet::new(),
            created: Vec::new(),
            our_links: HashSet::new(),
            dirs: Vec::new(),
            buf: vec![0; IO_BUFFER],
            writers: Writers::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            ),
            pending: HashSet::new(),
            fresh: HashSet::new(),
            made: HashSet::new(),
        }
    }

    /// Whether nothing can be at `path`: its parent is a directory this restore created
    /// and nothing was put at `path` since.
    fn surely_absent(&self, path: &Path) -> bool {
        path.parent().is_some_and(|p| self.fresh.contains(p))
            && !self.made.contains(&path_hash(path))
    }

    fn mark_made(&mut self, path: &Path) {
        self.made.insert(path_hash(path));
    }

    /// Waits for the queued writes when one of them is for `path`: it may not exist yet,
    /// so looking at or changing `path` now would race with the worker.
    fn settle(&mut self, path: &Path) -> Result<(), UnpackError> {
        if self.pending.contains(path) {
            self.flush()?;
        }
        Ok(())
    }

    /// Waits for the queued writes when one of them is at or below `dir`, before `dir` is
    /// removed: a worker must never open a path whose parent is gone or became a symlink.
    fn settle_tree(&mut self, dir: &Path) -> Result<(), UnpackError> {
        if self.pending.iter().any(|p| p.starts_with(dir)) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), UnpackError> {
        self.writers.flush()?;
        self.pending.clear();
        Ok(())
    }

    fn run<R: Read>(&mut self, archive: &mut Reader<R>) -> Result<(), UnpackError> {
        while let Some(member) = archive
            .next_member()
            .map_err(|d| UnpackError::damaged(d.0))?
        {
            let shown = reader::shown(&member.name);
            let (index, rel) = self
                .resolve(&member.name)
                .map_err(|why| UnpackError::damaged(format!("hostile member '{shown}': {why}")))?;
            let final_path = self.paths.roots[index].base.join(&rel);
            let base = self.write_base(index)?;
            let target = base.join(&rel);
            let mtime = member.mtime.unwrap_or(0);
            let mode = member.mode.unwrap_or(0o644) & 0o777;
            self.prepare_parents(&base, &target, &shown)?;
            match member.kind {
                Kind::Directory => self.make_dir(&target, mode, mtime)?,
                Kind::Regular => {
                    // The size the data really has: a pax `size` record overrides the header
                    // field, and the reader follows the record.
                    let size = member.size;
                    if self
                        .report
                        .bytes
                        .checked_add(size)
                        .is_none_or(|total| total > self.budget)
                    {
                        return Err(UnpackError::damaged(format!(
                            "member '{shown}' would take the restore past the recorded size ({} bytes); \
                             stopped as a decompression bomb",
                            self.budget
                        )));
                    }
                    if size <= SMALL_FILE {
                        self.queue_file(archive, target, mode, mtime, size)?;
                    } else {
                        self.write_file(archive, &target, mode, mtime, size)?;
                    }
                }
                Kind::Symlink => {
                    if member.link.is_empty() {
                        return Err(UnpackError::damaged(format!(
                            "symlink '{shown}' has no target"
                        )));
                    }
                    self.make_symlink(&target, &final_path, &member.link, mtime)?;
                }
                Kind::HardLink => {
                    return Err(UnpackError::damaged(format!(
                        "hostile member '{shown}': hard links are never restored"
                    )))
                }
                // wit-cache never archives these: an archive holding one was not made by us.
                Kind::Char | Kind::Block | Kind::Fifo => {
                    return Err(UnpackError::damaged(format!(
                        "hostile member '{shown}': device nodes and FIFOs are never created"
                    )))
                }
                Kind::Other(flag) => {
                    return Err(UnpackError::damaged(format!(
                        "member '{shown}' has an unsupported type {}",
                        std::ascii::escape_default(flag)
                    )))
                }
            }
        }
        Ok(())
    }

    /// Where root `index`'s members are written: its base, or the staging directory its
    /// target is built in (created with the root's first member).
    fn write_base(&mut self, index: usize) -> Result<PathBuf, UnpackError> {
        if let Some(stage) = &self.stages[index] {
            return Ok(stage.dir.clone());
        }
        let Some((base, name)) = &self.plan[index] else {
            return Ok(self.paths.roots[index].base.clone());
        };
        if !self.verified.contains(base) {
            fs::create_dir_all(base).map_err(|e| local(base, e))?;
            self.verified.insert(base.clone());
        }
        let stage = Stage::create(base, name).map_err(|e| local(base, e))?;
        let dir = stage.dir.clone();
        self.verified.insert(dir.clone());
        self.fresh.insert(dir.clone());
        self.stages[index] = Some(stage);
        Ok(dir)
    }

    /// Renames every staged target into place (the archive checked out).
    fn commit_stages(&mut self) -> Result<(), UnpackError> {
        crate::store::abort_point("restore-before-rename");
        for stage in self.stages.iter().flatten() {
            stage.commit().map_err(|e| local(&stage.target(), e))?;
        }
        Ok(())
    }

    /// Maps a path written in a staging directory to where it is after the commit.
    fn final_path(&self, path: &Path) -> PathBuf {
        for stage in self.stages.iter().flatten() {
            if let Ok(rest) = path.strip_prefix(&stage.dir) {
                return stage.base.join(rest);
            }
        }
        path.to_path_buf()
    }

    /// Maps a member name to its root's index and its path relative to the root's base, or
    /// says why it is hostile.
    fn resolve(&self, name: &[u8]) -> Result<(usize, PathBuf), String> {
        if name.len() > reader::MAX_NAME_BYTES {
            return Err(format!("name longer than {} bytes", reader::MAX_NAME_BYTES));
        }
        if name.first() == Some(&b'/') {
            return Err("absolute path".into());
        }
        let mut parts = name
            .split(|b| *b == b'/')
            .filter(|p| !p.is_empty() && *p != b".");
        let index = parts.next().ok_or("empty name")?;
        let index: usize = std::str::from_utf8(index)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("not under a cached path")?;
        let root = self
            .paths
            .roots
            .get(index)
            .ok_or("refers to a path that is not in --path")?;
        let mut rel = PathBuf::new();
        for (depth, part) in parts.enumerate() {
            if part == b".." {
                return Err("contains a '..' component".into());
            }
            if depth >= MAX_DEPTH {
                return Err(format!("deeper than {MAX_DEPTH} directories"));
            }
            rel.push(std::ffi::OsStr::from_bytes(part));
        }
        if rel.as_os_str().is_empty() {
            return Err("names a path root itself".into());
        }
        if !root.allows(&rel) {
            return Err(format!("lies outside the path '{}'", root.spec));
        }
        if self.paths.is_protected(index, &rel) {
            let store = self
                .paths
                .protected
                .first()
                .map(|p| p.display().to_string());
            return Err(format!(
                "lies inside the cache store {}, which a restore never writes",
                store.unwrap_or_default()
            ));
        }
        Ok((index, rel))
    }

    /// Makes sure every directory between the root's base and `target` is a real directory:
    /// missing ones are created, a file or symlink in the way is replaced — unless this
    /// restore made it, which means the archive tries to write through its own symlink.
    fn prepare_parents(
        &mut self,
        base: &Path,
        target: &Path,
        shown: &str,
    ) -> Result<(), UnpackError> {
        let parent = target.parent().expect("a target is below its base");
        if self.verified.contains(parent) {
            return Ok(());
        }
        // Below a verified parent nothing can be a link of ours (making one over a directory
        // clears it from `verified`), so only the slow path looks up the ancestors.
        if let Some(link) = target
            .ancestors()
            .skip(1)
            .find(|a| !self.our_links.is_empty() && self.our_links.contains(*a))
        {
            return Err(UnpackError::damaged(format!(
                "hostile member '{shown}': it would be written through the symlink {} that the \
                 archive made",
                link.display()
            )));
        }
        if !self.verified.contains(base) {
            fs::create_dir_all(base).map_err(|e| local(base, e))?;
            self.verified.insert(base.to_path_buf());
        }
        let rel = parent
            .strip_prefix(base)
            .expect("a target is below its base");
        let mut dir = base.to_path_buf();
        for part in rel.components() {
            dir.push(part);
            if self.verified.contains(&dir) {
                continue;
            }
            if self.surely_absent(&dir) {
                self.create_dir(&dir)?;
                self.verified.insert(dir.clone());
                continue;
            }
            // A queued file here (the archive has `a` as a file, then `a/b`) must exist
            // before it is replaced by a directory.
            self.settle(&dir)?;
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) if self.our_links.contains(&dir) => {
                    return Err(UnpackError::damaged(format!(
                        "hostile member '{shown}': it would be written through the symlink {} \
                         that the archive made",
                        dir.display()
                    )))
                }
                Ok(_) => {
                    fs::remove_file(&dir).map_err(|e| local(&dir, e))?;
                    self.create_dir(&dir)?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.create_dir(&dir)?,
                Err(e) => return Err(local(&dir, e)),
            }
            self.verified.insert(dir.clone());
        }
        Ok(())
    }

    fn create_dir(&mut self, dir: &Path) -> Result<(), UnpackError> {
        fs::create_dir(dir).map_err(|e| local(dir, e))?;
        self.created.push(dir.to_path_buf());
        self.fresh.insert(dir.to_path_buf());
        self.mark_made(dir);
        Ok(())
    }

    /// Removes whatever is at `path` (never following it).
    fn clear(&mut self, path: &Path) -> Result<(), UnpackError> {
        self.settle(path)?;
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                self.settle_tree(path)?;
                fs::remove_dir_all(path).map_err(|e| local(path, e))?;
                self.verified.retain(|d| !d.starts_with(path));
                self.fresh.retain(|d| !d.starts_with(path));
                // The directory is gone: its final mode and mtime must not land on whatever
                // takes its place (a symlink to somewhere else).
                self.dirs.retain(|(d, _, _)| !d.starts_with(path));
            }
            Ok(_) => fs::remove_file(path).map_err(|e| local(path, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(local(path, e)),
        }
        self.our_links.remove(path);
        Ok(())
    }

    fn make_dir(&mut self, path: &Path, mode: u32, mtime: u64) -> Result<(), UnpackError> {
        self.settle(path)?;
        let found = if self.surely_absent(path) {
            Err(io::ErrorKind::NotFound.into())
        } else {
            fs::symlink_metadata(path)
        };
        match found {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                self.clear(path)?;
                self.create_dir(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.create_dir(path)?,
            Err(e) => return Err(local(path, e)),
        }
        self.verified.insert(path.to_path_buf());
        self.dirs.push((path.to_path_buf(), mode, mtime));
        Ok(())
    }

    /// Reads a small file's content and queues it for a worker, once nothing is in its way.
    fn queue_file(
        &mut self,
        data: &mut impl Read,
        path: PathBuf,
        mode: u32,
        mtime: u64,
        size: u64,
    ) -> Result<(), UnpackError> {
        self.settle(&path)?;
        if !self.surely_absent(&path) {
            match fs::symlink_metadata(&path) {
                Ok(_) => self.clear(&path)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(local(&path, e)),
            }
        }
        let mut content = Vec::with_capacity(size as usize);
        data.read_to_end(&mut content).map_err(|e| {
            UnpackError::damaged(format!("archive is corrupt at {}: {e}", path.display()))
        })?;
        if content.len() as u64 != size {
            return Err(UnpackError::damaged(format!(
                "archive is truncated at {}",
                path.display()
            )));
        }
        // Bounds `pending` (and so the cost of `settle_tree`): an occasional wait for the
        // writers, one per PENDING_MAX files.
        if self.pending.len() >= PENDING_MAX {
            self.flush()?;
        }
        self.mark_made(&path);
        self.pending.insert(path.clone());
        self.writers.submit(Job {
            path,
            data: content,
            mode,
            mtime,
        })?;
        self.report.files += 1;
        self.report.bytes += size;
        Ok(())
    }

    fn write_file(
        &mut self,
        data: &mut impl Read,
        path: &Path,
        mode: u32,
        mtime: u64,
        size: u64,
    ) -> Result<(), UnpackError> {
        self.settle(path)?;
        let mut file = match create::create_new(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear(path)?;
                create::create_new(path).map_err(|e| local(path, e))?
            }
            Err(e) => return Err(local(path, e)),
        };
        self.created.push(path.to_path_buf());
        self.mark_made(path);
        // Read errors are the archive's fault, write errors (a full disk) are ours.
        let mut written = 0u64;
        loop {
            let n = data.read(&mut self.buf).map_err(|e| {
                UnpackError::damaged(format!("archive is corrupt at {}: {e}", path.display()))
            })?;
            if n == 0 {
                break;
            }
            file.write_all(&self.buf[..n]).map_err(|e| local(path, e))?;
            written += n as u64;
        }
        if written != size {
            return Err(UnpackError::damaged(format!(
                "archive is truncated at {}",
                path.display()
            )));
        }
        create::finish(&file, mode, mtime).map_err(|e| local(path, e))?;
        self.report.files += 1;
        self.report.bytes += size;
        Ok(())
    }

    /// Makes a symlink at `path`, which is `final_path` once a staged target is in place.
    fn make_symlink(
        &mut self,
        path: &Path,
        final_path: &Path,
        target: &[u8],
        mtime: u64,
    ) -> Result<(), UnpackError> {
        // Members of another path line are written below its base; a link at (or above) that
        // base would send them elsewhere. (`--path a` with `--path 'a/b/*'`: a symlink
        // member `0/a/b` must not redirect line 1.)
        if let Some(root) = self
            .paths
            .roots
            .iter()
            .find(|r| r.base.starts_with(final_path))
        {
            return Err(UnpackError::damaged(format!(
                "hostile member: a symlink at {} would redirect the path '{}'",
                final_path.display(),
                root.spec
            )));
        }
        self.settle(path)?;
        let target = Path::new(std::ffi::OsStr::from_bytes(target));
        let link = || std::os::unix::fs::symlink(target, path);
        match link() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear(path)?;
                link().map_err(|e| local(path, e))?;
            }
            Err(e) => return Err(local(path, e)),
        }
        self.created.push(path.to_path_buf());
        self.mark_made(path);
        self.our_links.insert(path.to_path_buf());
        let mtime = filetime::FileTime::from_unix_time(mtime as i64, 0);
        // Best effort: not every file system keeps symlink times.
        let _ = filetime::set_symlink_file_times(path, mtime, mtime);
        self.report.files += 1;
        Ok(())
    }

    /// Applies directory modes and mtimes once every child is in place (and every write has
    /// ended), in parallel: neither changes the parent directory. Each directory is opened
    /// without following a symlink, so a mode never lands outside the restore.
    fn finish_dirs(&mut self) {
        use rayon::prelude::*;
        let dirs: Vec<_> = self
            .dirs
            .iter()
            .map(|(path, mode, mtime)| (self.final_path(path), *mode, *mtime))
            .collect();
        dirs.par_iter().for_each(|(path, mode, mtime)| {
            let t = filetime::FileTime::from_unix_time(*mtime as i64, 0);
            let perm = fs::Permissions::from_mode(*mode);
            match File::options()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(path)
            {
                Ok(dir) => {
                    let _ = dir.set_permissions(perm);
                    let _ = filetime::set_file_handle_times(&dir, None, Some(t));
                }
                // An existing directory we may not read (mode 0): by path, still never
                // through a symlink.
                Err(_) if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) => {
                    let _ = fs::set_permissions(path, perm);
                    let _ = filetime::set_file_mtime(path, t);
                }
                Err(_) => {}
            }
        });
    }

    /// Removes what this restore created: the files the workers wrote (`written`), then
    /// what the coordinator made, newest first; directories only when empty.
    fn clean_up(&mut self, written: &[PathBuf]) {
        for path in written.iter().chain(self.created.iter().rev()) {
            match fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => {
                    let _ = fs::remove_dir(path);
                }
                Ok(_) => {
                    let _ = fs::remove_file(path);
                }
                Err(_) => {}
            }
        }
        for stage in self.stages.iter().flatten() {
            stage.discard();
        }
    }
}

/// Most paths queued to the writers between two flushes.
const PENDING_MAX: usize = 4096;

fn path_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    path.as_os_str().as_bytes().hash(&mut h);
    h.finish()
}
