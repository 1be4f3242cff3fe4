//! A save in the cas format: the tree walked exactly as the archive format walks it, files
//! read and hashed in parallel in bounded batches, only the blobs the store lacks compressed
//! into new packs, and the manifest staged for the ordinary commit.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::PathBuf;

use anyhow::Context as _;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use super::manifest::{Blob, Hash, Kind, Manifest, Member};
use super::stream::TarStream;
use super::{
    abort_point, pack_dir, pack_file, CAS_DIR, CHUNK, FRAME_TARGET, PACKS_DIR, PACK_TARGET,
};
use crate::keys::hex;
use crate::paths::CachePaths;
use crate::store::archive::Progress;
use crate::store::dirs::OpenError;
use crate::store::entry::ArchiveId;
use crate::store::index::BlobRow;
use crate::store::layout::TMP_DIR;
use crate::store::tier::{Place, Staging, Tier as _};
use crate::store::LocalStore;

/// Bytes of file content read ahead of the sequential part of a save.
const BATCH_BYTES: u64 = 16 << 20;
const BATCH_UNITS: usize = 8192;

/// What a cas save staged.
pub struct Saved {
    /// The manifest, in the store's `tmp/`, to commit as the entry.
    pub staging: Staging,
    /// The entry's archive id: its packs are leased under it.
    pub owner: ArchiveId,
    pub members: u64,
    pub file_count: u64,
    pub unpacked_bytes: u64,
    /// The manifest plus the packs this save wrote.
    pub size_bytes: u64,
    pub digest: String,
    pub new_blobs: u64,
    pub reused_blobs: u64,
    pub pack_bytes: u64,
}

/// A piece of a file to read: member index, offset, length.
#[derive(Clone, Copy)]
struct Unit {
    member: usize,
    offset: u64,
    len: usize,
}

struct Read {
    data: Vec<u8>,
    hash: Hash,
    short: bool,
}

/// A frame being filled: the blobs' bytes back to back, and which blob is where.
#[derive(Default)]
struct Frame {
    raw: Vec<u8>,
    blobs: Vec<(u32, u32, u32)>,
}

struct PackWriter {
    staging: Staging,
    index: u32,
    size: u64,
    hasher: Sha256,
    rows: Vec<BlobRow>,
}

struct Saver<'a> {
    local: &'a mut LocalStore,
    owner: String,
    level: i32,
    manifest: Manifest,
    seen: HashMap<Hash, u32>,
    /// Packs of the store this save leased (or wrote), by name: their manifest index.
    packs: HashMap<String, u32>,
    frame: Frame,
    closed: Vec<Frame>,
    /// What the store has of the current batch's blobs (looked up once per batch).
    known: HashMap<String, BlobRow>,
    pack: Option<PackWriter>,
    new_blobs: u64,
    reused_blobs: u64,
    pack_bytes: u64,
}

/// Saves `paths` as blobs and stages the manifest. On an error, the leases taken so far are
/// dropped; the packs written stay for gc.
pub fn save(
    local: &mut LocalStore,
    paths: &CachePaths,
    level: Option<i32>,
    progress: &Progress,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Saved> {
    let owner = ArchiveId::random();
    let result = save_as(local, owner, paths, level.unwrap_or(3), progress, warn);
    if result.is_err() {
        let _ = local.index_ref().cas_drop_refs(owner.as_str());
    }
    result
}

fn save_as(
    local: &mut LocalStore,
    owner: ArchiveId,
    paths: &CachePaths,
    level: i32,
    progress: &Progress,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Saved> {
    let mut members: Vec<Member> = Vec::new();
    let mut sources: Vec<Option<PathBuf>> = Vec::new();
    let count = crate::store::archive::walk(paths, warn, &mut |path, name, meta, warn| {
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_file() {
            Kind::File {
                size: meta.len(),
                blobs: Vec::new(),
            }
        } else if ft.is_symlink() {
            let target =
                std::fs::read_link(path).map_err(|e| crate::store::archive::with_path(&e, path))?;
            Kind::Symlink {
                target: std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).to_vec(),
            }
        } else {
            warn(format!(
                "{} is not a file, directory or symlink; skipped",
                path.display()
            ));
            return Ok(false);
        };
        sources.push(matches!(kind, Kind::File { .. }).then(|| path.to_path_buf()));
        members.push(Member {
            name,
            mode: meta.mode() & 0o7777,
            mtime: meta.mtime().max(0) as u64,
            kind,
        });
        Ok(true)
    })?;
    let mut units = Vec::new();
    for (i, m) in members.iter().enumerate() {
        if let Kind::File { size, .. } = m.kind {
            let mut offset = 0;
            while offset < size {
                let len = (size - offset).min(CHUNK as u64) as usize;
                units.push(Unit {
                    member: i,
                    offset,
                    len,
                });
                offset += len as u64;
            }
        }
    }
    let mut saver = Saver {
        owner: owner.as_str().to_string(),
        local,
        level,
        manifest: Manifest::default(),
        seen: HashMap::new(),
        packs: HashMap::new(),
        frame: Frame::default(),
        closed: Vec::new(),
        known: HashMap::new(),
        pack: None,
        new_blobs: 0,
        reused_blobs: 0,
        pack_bytes: 0,
    };
    let mut stream = TarStream::new(HashSink(Sha256::new()));
    let mut next = 0usize; // the next unit to consume
    let mut batch: Vec<Read> = Vec::new();
    let mut batch_start = 0usize;
    let mut file_count = 0u64;
    let mut unpacked = 0u64;
    let mut warned_short: Option<usize> = None;
    for (mi, m) in members.iter_mut().enumerate() {
        stream.header(m)?;
        match &mut m.kind {
            Kind::File { size, blobs } => {
                file_count += 1;
                unpacked += *size;
                while next < units.len() && units[next].member == mi {
                    if next >= batch_start + batch.len() {
                        saver.flush_frames()?;
                        batch_start = next;
                        batch = read_batch(&units, next, &sources, progress)?;
                        saver.prefetch(&batch)?;
                    }
                    let r = &batch[next - batch_start];
                    if r.short && warned_short != Some(mi) {
                        warned_short = Some(mi);
                        if let Some(p) = &sources[mi] {
                            warn(format!(
                                "{} shrank while it was archived; its tail was stored as zeros",
                                p.display()
                            ));
                        }
                    }
                    stream.data(&r.data)?;
                    blobs.push(saver.blob(r.hash, &r.data)?);
                    next += 1;
                }
                stream.pad(*size)?;
            }
            Kind::Symlink { .. } => file_count += 1,
            Kind::Dir => {}
        }
    }
    drop(batch);
    if !saver.frame.raw.is_empty() {
        let f = std::mem::take(&mut saver.frame);
        saver.closed.push(f);
    }
    saver.flush_frames()?;
    saver.finish_pack()?;
    let digest = stream.finish()?.0.finalize();
    saver.manifest.stream_digest = digest.into();
    saver.manifest.members = members;
    let bytes = saver.manifest.to_file_bytes()?;
    let mut staging = saver.local.stage()?;
    staging
        .file
        .write_all(&bytes)
        .and_then(|()| staging.file.sync_all())
        .context("cannot write the manifest")?;
    abort_point("save-manifest-staged");
    Ok(Saved {
        staging,
        owner,
        members: count,
        file_count,
        unpacked_bytes: unpacked,
        size_bytes: bytes.len() as u64 + saver.pack_bytes,
        digest: hex(&Sha256::digest(&bytes)),
        new_blobs: saver.new_blobs,
        reused_blobs: saver.reused_blobs,
        pack_bytes: saver.pack_bytes,
    })
}

/// Reads and hashes the units of one batch in parallel.
fn read_batch(
    units: &[Unit],
    start: usize,
    sources: &[Option<PathBuf>],
    progress: &Progress,
) -> io::Result<Vec<Read>> {
    let mut end = start;
    let mut bytes = 0u64;
    while end < units.len() && end - start < BATCH_UNITS && (end == start || bytes < BATCH_BYTES) {
        bytes += units[end].len as u64;
        end += 1;
    }
    units[start..end]
        .par_iter()
        .map(|u| {
            let path = sources[u.member]
                .as_ref()
                .expect("units are of regular files");
            let file = crate::store::archive::open_member(path)?.ok_or_else(|| {
                io::Error::other(format!(
                    "{} stopped being a regular file while it was saved",
                    path.display()
                ))
            })?;
            let mut data = vec![0u8; u.len];
            let mut got = 0;
            while got < u.len {
                match file.read_at(&mut data[got..], u.offset + got as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(crate::store::archive::with_path(&e, path)),
                }
            }
            // A file that shrank is padded with zeros, as the archive format does: the size in
            // the header was decided when the tree was walked.
            progress.add(u.len as u64);
            let hash = Sha256::digest(&data).into();
            Ok(Read {
                data,
                hash,
                short: got < u.len,
            })
        })
        .collect()
}

struct HashSink(Sha256);

impl io::Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Saver<'_> {
    /// The manifest's blob index for this content: one this save has, one the store has (its
    /// pack leased first), or a new one in the current frame.
    fn blob(&mut self, hash: Hash, data: &[u8]) -> anyhow::Result<u32> {
        if let Some(&i) = self.seen.get(&hash) {
            return Ok(i);
        }
        let index = self.local.index_ref();
        if let Some(row) = index
            .cas_blob(&hex(&hash))
            .context("cannot read the cache index")?
        {
            let leased = match self.packs.get(&row.pack) {
                Some(&i) => Some(i),
                None if index
                    .cas_lease(&self.owner, &row.pack)
                    .context("cannot lease a pack in the cache index")? =>
                {
                    let i = self.manifest.packs.len() as u32;
                    let mut name = [0u8; 32];
                    decode_hex(&row.pack, &mut name);
                    self.manifest.packs.push(name);
                    self.packs.insert(row.pack.clone(), i);
                    Some(i)
                }
                // gc unregistered the pack meanwhile: the blob is written again.
                None => None,
            };
            if let Some(pack) = leased {
                let i = self.push(Blob {
                    hash,
                    pack,
                    frame_offset: row.frame_offset,
                    frame_len: row.frame_len,
                    offset: row.offset,
                    len: row.len,
                });
                self.reused_blobs += 1;
                return Ok(i);
            }
        }
        // The location is filled in when the frame is written.
        let i = self.push(Blob {
            hash,
            pack: u32::MAX,
            frame_offset: 0,
            frame_len: 0,
            offset: self.frame.raw.len() as u32,
            len: data.len() as u32,
        });
        self.frame
            .blobs
            .push((i, self.frame.raw.len() as u32, data.len() as u32));
        self.frame.raw.extend_from_slice(data);
        self.new_blobs += 1;
        if self.frame.raw.len() >= FRAME_TARGET {
            let f = std::mem::take(&mut self.frame);
            self.closed.push(f);
        }
        Ok(i)
    }

    /// Looks up which of a batch's blobs the store has, in one read transaction.
    fn prefetch(&mut self, batch: &[Read]) -> anyhow::Result<()> {
        let wanted: Vec<String> = batch
            .iter()
            .filter(|r| !self.seen.contains_key(&r.hash))
            .map(|r| hex(&r.hash))
            .collect();
        self.known = self
            .local
            .index_mut()
            .cas_blobs(&wanted)
            .context("cannot read the cache index")?;
        Ok(())
    }

    fn push(&mut self, b: Blob) -> u32 {
        let i = self.manifest.blobs.len() as u32;
        self.seen.insert(b.hash, i);
        self.manifest.blobs.push(b);
        i
    }

    /// Compresses the closed frames in parallel and appends them to the current pack.
    fn flush_frames(&mut self) -> anyhow::Result<()> {
        let frames = std::mem::take(&mut self.closed);
        let level = self.level;
        let compressed: Vec<Vec<u8>> = frames
            .par_iter()
            .map(|f| zstd::bulk::compress(&f.raw, level))
            .collect::<io::Result<_>>()?;
        for (frame, data) in frames.iter().zip(compressed) {
            if self.pack.is_none() {
                let staging = self.local.stage()?;
                let index = self.manifest.packs.len() as u32;
                self.manifest.packs.push([0; 32]);
                self.pack = Some(PackWriter {
                    staging,
                    index,
                    size: 0,
                    hasher: Sha256::new(),
                    rows: Vec::new(),
                });
            }
            let pack = self.pack.as_mut().expect("opened above");
            pack.staging
                .file
                .write_all(&data)
                .context("cannot write a pack")?;
            pack.hasher.update(&data);
            for &(blob, offset, len) in &frame.blobs {
                let b = &mut self.manifest.blobs[blob as usize];
                b.pack = pack.index;
                b.frame_offset = pack.size;
                b.frame_len = data.len() as u32;
                b.offset = offset;
                b.len = len;
                pack.rows.push(BlobRow {
                    hash: hex(&b.hash),
                    pack: String::new(),
                    frame_offset: pack.size,
                    frame_len: data.len() as u32,
                    offset,
                    len,
                });
            }
            pack.size += data.len() as u64;
            if pack.size >= PACK_TARGET {
                self.finish_pack()?;
            }
        }
        Ok(())
    }

    /// Syncs the current pack, renames it to its hash (create-only) and registers it.
    fn finish_pack(&mut self) -> anyhow::Result<()> {
        let Some(mut pack) = self.pack.take() else {
            return Ok(());
        };
        pack.staging
            .file
            .sync_all()
            .context("cannot sync a pack to disk")?;
        let hash: Hash = pack.hasher.finalize().into();
        let name = hex(&hash);
        for r in &mut pack.rows {
            r.pack.clone_from(&name);
        }
        install_pack(
            self.local,
            &self.owner,
            &mut pack.staging,
            &name,
            pack.size,
            &pack.rows,
        )?;
        abort_point("save-pack-registered");
        self.manifest.packs[pack.index as usize] = hash;
        self.packs.insert(name, pack.index);
        self.pack_bytes += pack.size;
        Ok(())
    }
}

/// Moves a complete, synced pack from the store's `tmp/` to its name (create-only: a file of
/// that name has the same bytes) and registers it with its blobs, leased for `owner`.
pub fn install_pack(
    local: &mut LocalStore,
    owner: &str,
    staging: &mut Staging,
    name: &str,
    size: u64,
    rows: &[BlobRow],
) -> anyhow::Result<()> {
    let dirs = local.dirs().clone();
    let shard = &name[..2];
    for (parent, dir) in [
        (vec![], CAS_DIR),
        (vec![CAS_DIR.as_bytes()], PACKS_DIR),
        (vec![CAS_DIR.as_bytes(), PACKS_DIR.as_bytes()], shard),
    ] {
        dirs.ensure_dir(&parent, dir.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot create a pack directory: {e}"))?;
    }
    let Place::StoreTmp { name: tmp_name, .. } = &staging.place else {
        anyhow::bail!("a pack is installed from the store's tmp/")
    };
    let tmp_name = tmp_name.clone();
    match dirs.rename_new(
        &[TMP_DIR.as_bytes()],
        &tmp_name,
        &pack_dir(name),
        pack_file(name).as_bytes(),
    ) {
        Ok(()) => staging.taken = true,
        // The same bytes are there already (another save wrote the same pack); ours goes
        // when the staging drops.
        Err(OpenError::Io(_, e)) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!("cannot move a pack into the store: {e}"),
    }
    abort_point("save-pack-renamed");
    local
        .index_mut()
        .cas_register_pack(owner, name, size, rows)
        .context("cannot register a pack in the cache index")
}

fn decode_hex(text: &str, out: &mut [u8; 32]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
}
