//! Restoring, verifying and collecting the garbage of entries in the cas format.
//!
//! A restore turns the manifest into the tar stream the entry stands for, on a thread of its
//! own, and feeds it through a pipe to the archive format's extractor: every path-safety rule
//! of a restore is the same code for both formats. Each blob is hashed as it is streamed; a
//! bad blob ends the stream early, so the extractor fails, removes what it wrote, and the
//! restore reports the blob's damage.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::manifest::{self, Blob, Hash, Kind, Manifest};
use super::stream::TarStream;
use super::{abort_point, pack_dir, pack_file, CAS_DIR, LEASE_GRACE, MAX_FRAME_RAW, PACKS_DIR};
use crate::keys::hex;
use crate::paths::CachePaths;
use crate::store::archive::{self, Codec, Expected, Progress, UnpackError, Unpacked};
use crate::store::dirs::{Kind as FileKind, OpenError, StoreDirs};
use crate::store::entry::{Entry, Timestamp};
use crate::store::tier::GcReport;
use crate::store::LocalStore;

/// Largest manifest file read.
const MAX_MANIFEST_FILE: u64 = 512 << 20;
/// Decompressed frames kept for blobs that come back to one (an entry whose files are spread
/// over the packs of several saves).
const FRAME_CACHE: usize = 4;

/// Reads the manifest file, checks it against the entry's digest and parses it.
pub fn read_manifest(file: &File, entry: &Entry) -> Result<Manifest, String> {
    let mut bytes = Vec::new();
    (&mut &*file)
        .take(MAX_MANIFEST_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("its manifest is unreadable ({e})"))?;
    if bytes.len() as u64 > MAX_MANIFEST_FILE {
        return Err(format!(
            "its manifest is larger than {MAX_MANIFEST_FILE} bytes"
        ));
    }
    let digest = hex(&Sha256::digest(&bytes));
    if digest != entry.digest {
        return Err(format!(
            "manifest digest {digest} does not match the index ({})",
            entry.digest
        ));
    }
    manifest::parse(&bytes).map_err(|e| format!("its manifest is damaged: {e}"))
}

/// A frame: its pack's index in the manifest and its offset in the pack.
type FrameKey = (u32, u64);

/// Reads blobs out of packs, checking each against its hash.
pub struct Blobs<'a> {
    dirs: &'a StoreDirs,
    packs: &'a [Hash],
    files: HashMap<u32, File>,
    frames: VecDeque<(FrameKey, Arc<Vec<u8>>)>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl<'a> Blobs<'a> {
    pub fn new(dirs: &'a StoreDirs, packs: &'a [Hash]) -> io::Result<Self> {
        Ok(Self {
            dirs,
            packs,
            files: HashMap::new(),
            frames: VecDeque::new(),
            decompressor: zstd::bulk::Decompressor::new()?,
        })
    }

    /// The blob's bytes, checked; the error says why the blob is unusable.
    pub fn get(&mut self, b: &Blob) -> Result<Arc<Vec<u8>>, String> {
        let frame = self.frame(b.pack, b.frame_offset, b.frame_len)?;
        let (start, end) = (b.offset as usize, b.offset as usize + b.len as usize);
        let Some(data) = frame.get(start..end) else {
            return Err(format!(
                "blob {} lies outside its frame ({} bytes)",
                hex(&b.hash),
                frame.len()
            ));
        };
        let got: Hash = Sha256::digest(data).into();
        if got != b.hash {
            return Err(format!(
                "blob {} does not match its content (sha256 {})",
                hex(&b.hash),
                hex(&got)
            ));
        }
        Ok(if start == 0 && end == frame.len() {
            frame
        } else {
            Arc::new(data.to_vec())
        })
    }

    fn frame(&mut self, pack: u32, offset: u64, len: u32) -> Result<Arc<Vec<u8>>, String> {
        if let Some((_, f)) = self.frames.iter().find(|(k, _)| *k == (pack, offset)) {
            return Ok(f.clone());
        }
        let name = hex(&self.packs[pack as usize]);
        if !self.files.contains_key(&pack) {
            let f = self
                .dirs
                .open_file(&pack_dir(&name), pack_file(&name).as_bytes())
                .map_err(|e| match e {
                    OpenError::NotFound => format!("its pack {name} is missing"),
                    e => format!("its pack {name} is unusable: {e}"),
                })?;
            self.files.insert(pack, f);
        }
        let file = &self.files[&pack];
        let mut data = vec![0u8; len as usize];
        file.read_exact_at(&mut data, offset)
            .map_err(|e| format!("its pack {name} is truncated or unreadable ({e})"))?;
        let raw = self
            .decompressor
            .decompress(&data, MAX_FRAME_RAW)
            .map_err(|e| format!("a frame of pack {name} is corrupt ({e})"))?;
        let raw = Arc::new(raw);
        if self.frames.len() >= FRAME_CACHE {
            self.frames.pop_front();
        }
        self.frames.push_back(((pack, offset), raw.clone()));
        Ok(raw)
    }
}

/// Why writing the stream stopped.
pub enum StreamError {
    /// A blob (or the manifest) is bad: the entry is damaged.
    Damaged(String),
    /// The writer failed (the reader went away, a full disk for `export`).
    Write(io::Error),
}

/// Writes the tar stream of `m` into `out`, every blob checked.
pub fn write_stream<W: io::Write>(
    dirs: &StoreDirs,
    m: &Manifest,
    out: W,
) -> Result<W, StreamError> {
    let mut blobs = Blobs::new(dirs, &m.packs).map_err(StreamError::Write)?;
    let mut ts = TarStream::new(out);
    for member in &m.members {
        ts.header(member)
            .map_err(|e| StreamError::Damaged(format!("a member cannot be written as tar: {e}")))?;
        if let Kind::File { size, blobs: list } = &member.kind {
            for &i in list {
                let data = blobs
                    .get(&m.blobs[i as usize])
                    .map_err(StreamError::Damaged)?;
                ts.data(&data).map_err(StreamError::Write)?;
            }
            ts.pad(*size).map_err(StreamError::Write)?;
        }
    }
    ts.finish().map_err(StreamError::Write)
}

/// Restores an entry in the cas format from its opened manifest.
pub fn unpack(
    dirs: &StoreDirs,
    manifest_file: &File,
    entry: &Entry,
    paths: &CachePaths,
    progress: Progress,
) -> Result<Unpacked, UnpackError> {
    let m = read_manifest(manifest_file, entry).map_err(UnpackError::Damaged)?;
    // Merging into files that exist: every blob is checked before the first write, so a
    // damaged pack changes nothing there (a new target is staged instead).
    let merges = archive::merges(paths);
    if merges {
        check_blobs(dirs, &m).map_err(UnpackError::Damaged)?;
    }
    let (reader, writer) = rustix::pipe::pipe()
        .map_err(|e| UnpackError::damaged(format!("cannot make a pipe: {e}")))?;
    let digest = hex(&m.stream_digest);
    let expected = Expected {
        codec: Codec::None,
        digest: &digest,
        unpacked_bytes: entry.unpacked_bytes,
        progress,
        checked_first: merges,
    };
    std::thread::scope(|s| {
        let m = &m;
        let producer = s.spawn(move || {
            let out = BufWriter::with_capacity(256 * 1024, File::from(writer));
            write_stream(dirs, m, out).and_then(|mut w| w.flush().map_err(StreamError::Write))
        });
        let unpacked = archive::unpack(File::from(reader), &expected, paths);
        let written = producer
            .join()
            .unwrap_or_else(|_| Err(StreamError::Damaged("the stream writer panicked".into())));
        match (unpacked, written) {
            (_, Err(StreamError::Damaged(why))) => Err(UnpackError::Damaged(format!(
                "{why}; the files it had written were removed"
            ))),
            (r, _) => r,
        }
    })
}

/// Checks an entry's manifest and every blob it needs; the error says what is wrong.
pub fn verify(dirs: &StoreDirs, manifest_file: &File, entry: &Entry) -> Result<(), String> {
    let m = read_manifest(manifest_file, entry)?;
    check_blobs(dirs, &m)
}

/// Reads every blob `m` needs, in pack order, checking each against its hash.
fn check_blobs(dirs: &StoreDirs, m: &Manifest) -> Result<(), String> {
    let mut order: Vec<&Blob> = m.blobs.iter().collect();
    order.sort_by_key(|b| (b.pack, b.frame_offset));
    let mut blobs = Blobs::new(dirs, &m.packs).map_err(|e| e.to_string())?;
    for b in order {
        blobs.get(b)?;
    }
    Ok(())
}

/// gc's part for the cas format: leases of saves that died, packs no lease names (their
/// rows first, then their files), and pack files without a row once they are old.
pub fn sweep(local: &mut LocalStore, dry_run: bool, report: &mut GcReport) -> anyhow::Result<()> {
    let now = Timestamp::now().ms();
    if !dry_run {
        let known = local.index_ref().archives()?;
        local
            .index_ref()
            .cas_expire_leases(&known, now - LEASE_GRACE.as_millis() as i64)?;
    }
    let dead = local.index_ref().cas_dead_packs()?;
    for (name, size) in dead {
        if dry_run {
            report.packs_removed += 1;
            report.removed.freed_bytes += size;
            continue;
        }
        if !local.index_mut().cas_unregister_pack(&name)? {
            continue;
        }
        abort_point("gc-pack-unregistered");
        match local
            .dirs()
            .remove_file(&pack_dir(&name), pack_file(&name).as_bytes())
        {
            Ok(None) => {
                report.packs_removed += 1;
                report.removed.freed_bytes += size;
            }
            Ok(Some(kind)) => report.removed.left_alone.push(format!(
                "{}/{CAS_DIR}/{PACKS_DIR}/{}/{} is {}, not a pack: left alone",
                local.root().display(),
                &name[..2],
                pack_file(&name),
                kind.describe()
            )),
            Err(OpenError::NotFound) => {}
            Err(e) => report
                .removed
                .left_alone
                .push(format!("cannot remove a pack: {e}")),
        }
    }
    sweep_unregistered(local, dry_run, report)
}

/// Pack files no row names: a save killed between the rename and the registration, or gc
/// killed between the unregistration and the unlink. Young ones are a save about to register.
fn sweep_unregistered(
    local: &mut LocalStore,
    dry_run: bool,
    report: &mut GcReport,
) -> anyhow::Result<()> {
    let packs_dir = [CAS_DIR.as_bytes(), PACKS_DIR.as_bytes()];
    let shards = match local.dirs().scan(&packs_dir) {
        Ok(s) => s,
        Err(OpenError::NotFound) => return Ok(()),
        Err(e) => anyhow::bail!("cannot read the pack directory: {e}"),
    };
    let known: HashSet<String> = local.index_ref().cas_packs()?;
    for shard in shards {
        if shard.kind != FileKind::Dir {
            continue;
        }
        let dir = [
            CAS_DIR.as_bytes(),
            PACKS_DIR.as_bytes(),
            shard.name.as_slice(),
        ];
        let Ok(found) = local.dirs().scan(&dir) else {
            continue;
        };
        for f in found {
            let Some(name) = std::str::from_utf8(&f.name)
                .ok()
                .and_then(|n| n.strip_suffix(".pack"))
                .filter(|n| {
                    n.len() == 64
                        && n.as_bytes()[..2] == shard.name[..]
                        && n.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                })
            else {
                continue;
            };
            let old = f.modified.is_some_and(|m| {
                m.elapsed()
                    .is_ok_and(|age| age > crate::store::local::ORPHAN_GRACE)
            });
            if known.contains(name) || !old || f.kind != FileKind::File {
                continue;
            }
            if dry_run || matches!(local.dirs().remove_file(&dir, &f.name), Ok(None)) {
                report.packs_removed += 1;
            }
        }
    }
    Ok(())
}
