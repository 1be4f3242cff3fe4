//! Tar + codec: pack a [`CachePaths`] into an archive, and the verified, checked unpack.
//!
//! Archives are POSIX tar (ustar headers, pax records for long names) compressed with zstd,
//! gzip or nothing, so `tar -tvf` reads them. Members are named `<root index>/<relative path>`
//! (see [`crate::paths`]).
//!
//! The unpack trusts nothing in the archive. Every member's final path must stay under its
//! own root; nothing is ever written through a symlink (existing ones in the way are replaced,
//! ones the archive made are an attack); hard links and device nodes are never created; the
//! bytes written are capped by the entry's recorded unpacked size; and the SHA-256 of the file
//! is checked as it streams. On any problem the files written so far are removed.
//!
//! One thread (the coordinator) decompresses, parses, resolves and checks every member and
//! makes every directory and symlink; small files' contents go to [`super::writers`] threads,
//! because creating files, not decompressing, is what a restore waits for. Every decision
//! stays on the coordinator; before it changes or removes anything a queued write depends
//! on, it waits for the queued writes ([`Extractor::settle`]).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};
use walkdir::WalkDir;

use crate::cli::Compression;
use crate::keys::hex;
use crate::paths::{CachePaths, Root, RootKind};
use crate::store::writers::{Job, Writers};

/// Largest zstd window a restore accepts (2^27 = 128 MiB, zstd's own default cap): a hostile
/// frame cannot make the decoder allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Caps on what one archive may hold.
const MAX_MEMBERS: u64 = 10_000_000;
const MAX_PATH_BYTES: usize = 4096;
const MAX_DEPTH: usize = 256;
const IO_BUFFER: usize = 256 * 1024;
/// Files up to this size are written by worker threads from a copy of their content; larger
/// ones stream straight from the archive on the coordinating thread.
const SMALL_FILE: u64 = 1 << 20;

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
            Compression::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "zstd" => Some(Compression::Zstd),
            "gzip" => Some(Compression::Gzip),
            "none" => Some(Compression::None),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zstd => "tar.zst",
            Compression::Gzip => "tar.gz",
            Compression::None => "tar",
        }
    }
}

/// What a pack wrote.
#[derive(Debug, Default)]
pub struct Packed {
    /// Archive members (files, directories, symlinks).
    pub members: u64,
    /// Regular files and symlinks.
    pub file_count: u64,
    /// Bytes of regular file content.
    pub unpacked_bytes: u64,
    /// Size of the compressed archive file.
    pub size_bytes: u64,
    /// SHA-256 of the archive file, hex.
    pub digest: String,
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Encoder<W: Write> {
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Gzip(flate2::write::GzEncoder<W>),
    None(W),
}

impl<W: Write> Encoder<W> {
    fn new(w: W, codec: Compression, level: Option<i32>) -> io::Result<Self> {
        Ok(match codec {
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(w, level.unwrap_or(3))?;
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
                enc.multithread(threads)?;
                // zstd's own job size at level 3 is 8 MiB, and it keeps a few jobs' input
                // and output in memory per worker; 4 MiB jobs keep a save well under 100 MB
                // of memory at the same ratio (jobs overlap their windows).
                enc.set_parameter(zstd::zstd_safe::CParameter::JobSize(ZSTD_JOB_SIZE))?;
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
            Compression::Gzip => {
                let level = flate2::Compression::new(level.unwrap_or(6) as u32);
                Encoder::Gzip(flate2::write::GzEncoder::new(w, level))
            }
            Compression::None => Encoder::None(w),
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zstd(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::None(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zstd(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::None(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zstd(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::None(w) => w.flush(),
        }
    }
}

/// Packs the paths into `file` (a fresh temp file) and syncs it to disk. `warn` receives
/// one line per skipped path.
pub fn pack(
    paths: &CachePaths,
    file: File,
    codec: Compression,
    level: Option<i32>,
    progress: &Progress,
    warn: &mut dyn FnMut(String),
) -> io::Result<Packed> {
    let sink = HashingWriter {
        inner: BufWriter::with_capacity(IO_BUFFER, Writeback::new(file)?),
        hasher: Sha256::new(),
        count: 0,
    };
    // tar writes 512-byte headers and 8 KiB pieces of content: batch them for the encoder.
    let encoder = BufWriter::with_capacity(ENCODER_BUFFER, Encoder::new(sink, codec, level)?);
    let mut packer = Packer {
        builder: tar::Builder::new(encoder),
        paths,
        progress,
        stats: Packed::default(),
        warn,
    };
    for (index, root) in paths.roots.iter().enumerate() {
        packer.add_root(index, root)?;
    }
    let Packer {
        builder, mut stats, ..
    } = packer;
    let sink = builder
        .into_inner()?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()?;
    let HashingWriter {
        inner,
        hasher,
        count,
    } = sink;
    inner
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    stats.size_bytes = count;
    stats.digest = hex(&hasher.finalize());
    Ok(stats)
}

/// Bytes per zstd compression job (see `Encoder::new`).
const ZSTD_JOB_SIZE: u32 = 4 << 20;
/// Buffer between tar and the encoder.
const ENCODER_BUFFER: usize = 1 << 20;
/// The archive's pages are sent to disk in the background every this many bytes.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// The archive file, written back to disk while the save goes on: every
/// [`WRITEBACK_EVERY`] bytes a helper thread runs `fdatasync`, so the one `fsync` a save
/// needs at the end (before the rename) finds little left to write instead of the whole
/// archive. A failure of a background sync is kept and returned by [`Writeback::sync_all`]
/// (the kernel reports a write-back error only once per open file).
struct Writeback {
    file: File,
    since: u64,
    kick: Option<mpsc::SyncSender<()>>,
    syncer: Option<JoinHandle<io::Result<()>>>,
}

impl Writeback {
    fn new(file: File) -> io::Result<Self> {
        let clone = file.try_clone()?;
        let (kick, rx) = mpsc::sync_channel::<()>(1);
        let syncer = std::thread::spawn(move || {
            let mut result = Ok(());
            for () in rx {
                if result.is_ok() {
                    result = clone.sync_data();
                }
            }
            result
        });
        Ok(Self {
            file,
            since: 0,
            kick: Some(kick),
            syncer: Some(syncer),
        })
    }

    fn sync_all(mut self) -> io::Result<()> {
        drop(self.kick.take());
        if let Some(syncer) = self.syncer.take() {
            syncer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        }
        self.file.sync_all()
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= WRITEBACK_EVERY {
            self.since = 0;
            if let Some(kick) = &self.kick {
                // Busy syncing: the next kick will do.
                let _ = kick.try_send(());
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.kick.take());
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}

struct Packer<'a, W: Write> {
    builder: tar::Builder<W>,
    paths: &'a CachePaths,
    progress: &'a Progress,
    stats: Packed,
    warn: &'a mut dyn FnMut(String),
}

impl<W: Write> Packer<'_, W> {
    fn add_root(&mut self, index: usize, root: &Root) -> io::Result<()> {
        match &root.kind {
            RootKind::Literal { name } => {
                let path = root.literal_path().expect("a literal root has a path");
                if self.paths.is_excluded(&path) {
                    return Ok(());
                }
                match fs::symlink_metadata(&path) {
                    Ok(_) => {
                        self.add_tree(index, &path, Path::new(std::ffi::OsStr::from_bytes(name)))
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        (self.warn)(format!(
                            "path '{}' does not exist ({}); skipped",
                            root.spec,
                            path.display()
                        ));
                        Ok(())
                    }
                    Err(e) => Err(with_path(&e, &path)),
                }
            }
            RootKind::Glob { matcher, depth } => {
                let before = self.stats.members;
                let mut walk = WalkDir::new(&root.base)
                    .min_depth(1)
                    .sort_by_file_name()
                    .into_iter();
                while let Some(item) = walk.next() {
                    let entry = match item {
                        Ok(e) => e,
                        Err(e)
                            if e.io_error()
                                .is_some_and(|io| io.kind() == io::ErrorKind::NotFound) =>
                        {
                            continue
                        }
                        Err(e) => return Err(walk_error(e)),
                    };
                    let rel = entry
                        .path()
                        .strip_prefix(&root.base)
                        .expect("walkdir stays under its root");
                    if matcher.is_match(rel) {
                        self.add_tree(index, entry.path(), rel)?;
                        if entry.file_type().is_dir() {
                            walk.skip_current_dir();
                        }
                    } else if entry.file_type().is_dir()
                        && depth.is_some_and(|d| entry.depth() >= d)
                    {
                        walk.skip_current_dir();
                    }
                }
                if self.stats.members == before {
                    (self.warn)(format!("path '{}' matched nothing; skipped", root.spec));
                }
                Ok(())
            }
        }
    }

    /// Adds `path` (stored as `<index>/<rel>`) and, for a directory, everything below it.
    fn add_tree(&mut self, index: usize, path: &Path, rel: &Path) -> io::Result<()> {
        // A path line that names a symlink stores the link, as tar does: walkdir would
        // otherwise follow a root link and store `name` (link) plus `name/…` (its target).
        let mut walk = WalkDir::new(path)
            .follow_root_links(false)
            .sort_by_file_name()
            .into_iter();
        while let Some(item) = walk.next() {
            let entry = item.map_err(walk_error)?;
            if entry.depth() > 0 && self.paths.is_excluded(entry.path()) {
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                continue;
            }
            let sub = entry
                .path()
                .strip_prefix(path)
                .expect("walkdir stays under its root");
            let mut name = format!("{index}/").into_bytes();
            name.extend_from_slice(rel.join(sub).as_os_str().as_bytes());
            let meta = entry.metadata().map_err(walk_error)?;
            self.add_member(entry.path(), name, &meta)?;
        }
        Ok(())
    }

    fn add_member(
        &mut self,
        path: &Path,
        mut name: Vec<u8>,
        meta: &fs::Metadata,
    ) -> io::Result<()> {
        let mut header = Header::new_ustar();
        header.set_mode(meta.mode() & 0o7777);
        header.set_mtime(meta.mtime().max(0) as u64);
        header.set_uid(0);
        header.set_gid(0);
        let ft = meta.file_type();
        if ft.is_dir() {
            header.set_entry_type(EntryType::Directory);
            header.set_size(0);
            name.push(b'/');
            append(&mut self.builder, &mut header, &name, None, io::empty())?;
        } else if ft.is_file() {
            header.set_entry_type(EntryType::Regular);
            header.set_size(meta.len());
            let file = File::open(path).map_err(|e| with_path(&e, path))?;
            let mut data = ExactReader {
                inner: file,
                remaining: meta.len(),
                short: false,
            };
            append(&mut self.builder, &mut header, &name, None, &mut data)?;
            self.progress.add(meta.len());
            if data.short {
                (self.warn)(format!(
                    "{} shrank while it was archived; its tail was stored as zeros",
                    path.display()
                ));
            }
            self.stats.file_count += 1;
            self.stats.unpacked_bytes += meta.len();
        } else if ft.is_symlink() {
            let target = fs::read_link(path).map_err(|e| with_path(&e, path))?;
            header.set_entry_type(EntryType::Symlink);
            header.set_size(0);
            append(
                &mut self.builder,
                &mut header,
                &name,
                Some(target.as_os_str().as_bytes()),
                io::empty(),
            )?;
            self.stats.file_count += 1;
        } else {
            (self.warn)(format!(
                "{} is not a file, directory or symlink; skipped",
                path.display()
            ));
            return Ok(());
        }
        self.stats.members += 1;
        Ok(())
    }
}

/// Reads exactly `remaining` bytes: a file that grows is cut, one that shrinks is padded with
/// zeros, so the tar stream always matches the size already written in the header.
struct ExactReader<R> {
    inner: R,
    remaining: u64,
    short: bool,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = if self.short {
            0
        } else {
            self.inner.read(&mut buf[..want])?
        };
        let n = if n == 0 {
            self.short = true;
            buf[..want].fill(0);
            want
        } else {
            n
        };
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Appends a member, with a pax extended header for a name or link target that does not
/// fit the ustar fields.
fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    header: &mut Header,
    name: &[u8],
    link: Option<&[u8]>,
    data: impl Read,
) -> io::Result<()> {
    let mut pax = Vec::new();
    if header.set_path(std::ffi::OsStr::from_bytes(name)).is_err() {
        pax_record(&mut pax, "path", name);
        header
            .set_path(std::ffi::OsStr::from_bytes(&name[..name.len().min(99)]))
            .or_else(|_| header.set_path("long-name"))?;
    }
    if let Some(link) = link {
        if header.set_link_name_literal(link).is_err() {
            pax_record(&mut pax, "linkpath", link);
            header.set_link_name_literal(&link[..link.len().min(99)])?;
        }
    }
    if !pax.is_empty() {
        let mut ext = Header::new_ustar();
        ext.set_entry_type(EntryType::XHeader);
        ext.set_path("PaxHeaders/long-name")?;
        ext.set_mode(0o644);
        ext.set_size(pax.len() as u64);
        ext.set_cksum();
        builder.append(&ext, pax.as_slice())?;
    }
    header.set_cksum();
    builder.append(header, data)
}

/// One pax record: "<len> <key>=<value>\n", where <len> counts the whole record.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + body.to_string().len();
    if len.to_string().len() != body.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn with_path(err: &io::Error, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

fn walk_error(err: walkdir::Error) -> io::Error {
    let path = err.path().map(Path::to_path_buf);
    let io: io::Error = err.into();
    match path {
        Some(p) => with_path(&io, &p),
        None => io,
    }
}

// ---------------------------------------------------------------------------------------------
// Unpack

/// Why a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The archive itself is bad (hostile, corrupt, truncated, wrong digest): the entry must go.
    #[error("{0}")]
    Damaged(String),
    /// Writing the files failed here (disk full, permissions): the entry is fine.
    #[error("{path}: {source}")]
    Local { path: PathBuf, source: io::Error },
}

impl UnpackError {
    fn damaged(msg: impl Into<String>) -> Self {
        UnpackError::Damaged(msg.into())
    }
}

/// Bytes processed so far, shared with whoever draws a progress bar (the store never
/// prints). Save counts file bytes read, restore counts archive bytes read.
#[derive(Debug, Clone, Default)]
pub struct Progress(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Progress {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// What a restore wrote.
#[derive(Debug, Default)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
}

/// What the index says about the archive being restored.
pub struct Expected<'a> {
    pub compression: Compression,
    pub digest: &'a str,
    pub unpacked_bytes: u64,
    /// Counts the archive bytes read.
    pub progress: Progress,
}

/// A reader that hashes and counts everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    progress: Progress,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.progress.add(n as u64);
        Ok(n)
    }
}

enum Decoder<R: BufRead> {
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    None(R),
}

impl<R: BufRead> Decoder<R> {
    fn new(r: R, codec: Compression) -> io::Result<Self> {
        Ok(match codec {
            Compression::Zstd => {
                let mut d = zstd::stream::read::Decoder::with_buffer(r)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Decoder::Zstd(d)
            }
            Compression::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(r)),
            Compression::None => Decoder::None(r),
        })
    }

    fn into_inner(self) -> R {
        match self {
            Decoder::Zstd(d) => d.finish(),
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::None(r) => r,
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::None(r) => r.read(buf),
        }
    }
}

/// How many decompressed chunks may wait for the coordinator.
const DECODED_CHUNKS: usize = 8;

type RawDecoder = Decoder<BufReader<HashingReader<File>>>;

/// The decompressed archive, produced on a thread of its own: reading the file, hashing it
/// and decompressing overlap with parsing and file creation on the coordinating thread.
/// Memory is bounded by [`DECODED_CHUNKS`] chunks of [`IO_BUFFER`] bytes.
struct Decoded {
    rx: Option<Receiver<io::Result<Vec<u8>>>>,
    chunk: Vec<u8>,
    pos: usize,
    handle: Option<JoinHandle<io::Result<String>>>,
    /// Set when the coordinator gives up: the thread then stops without hashing the rest.
    abandoned: Arc<AtomicBool>,
}

impl Decoded {
    fn spawn(mut decoder: RawDecoder) -> Self {
        let (tx, rx) = mpsc::sync_channel(DECODED_CHUNKS);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let handle = std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; IO_BUFFER];
                match read_full(&mut decoder, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        // A closed channel: the coordinator read all it wanted.
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
            drop(tx);
            if stop.load(Ordering::SeqCst) {
                return Err(io::Error::other("restore abandoned"));
            }
            // Whatever the decoder did not need still counts for the file's digest.
            let mut raw = decoder.into_inner();
            io::copy(&mut raw, &mut io::sink())?;
            Ok(hex(&raw.into_inner().hasher.finalize()))
        });
        Self {
            rx: Some(rx),
            chunk: Vec::new(),
            pos: 0,
            handle: Some(handle),
            abandoned,
        }
    }

    /// Stops decoding and returns the SHA-256 of the whole archive file.
    fn finish(mut self) -> io::Result<String> {
        drop(self.rx.take());
        let handle = self.handle.take().expect("finish runs once");
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.abandoned.store(true, Ordering::SeqCst);
            drop(self.rx.take());
            let _ = handle.join();
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            let Some(rx) = &self.rx else { return Ok(0) };
            match rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    self.rx = None;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the stream ends.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Restores an archive into the roots of `paths`, verifying it as it streams.
pub fn unpack(
    file: File,
    expected: &Expected<'_>,
    paths: &CachePaths,
) -> Result<Unpacked, UnpackError> {
    let raw = BufReader::with_capacity(
        IO_BUFFER,
        HashingReader {
            inner: file,
            hasher: Sha256::new(),
            progress: expected.progress.clone(),
        },
    );
    let decoder = Decoder::new(raw, expected.compression)
        .map_err(|e| UnpackError::damaged(format!("cannot start the decoder: {e}")))?;
    // Recorded size plus a little slack: a bomb stops here, not when the disk is full.
    let budget = expected.unpacked_bytes + expected.unpacked_bytes / 100 + (1 << 20);
    let mut ex = Extractor::new(paths, budget);
    let mut archive = tar::Archive::new(Decoded::spawn(decoder));
    let result = ex.run(&mut archive).and_then(|()| {
        // Read what follows the end-of-archive blocks, so the codec checks its trailer
        // (zstd's frame checksum); the decoding thread hashes every byte of the file.
        let mut rest = archive.into_inner();
        io::copy(&mut (&mut rest).take(1 << 20), &mut io::sink())
            .map_err(|e| UnpackError::damaged(format!("archive is corrupt: {e}")))?;
        let digest = rest
            .finish()
            .map_err(|e| UnpackError::damaged(format!("archive unreadable: {e}")))?;
        if digest == expected.digest {
            Ok(())
        } else {
            Err(UnpackError::damaged(format!(
                "archive digest {digest} does not match the index ({})",
                expected.digest
            )))
        }
    });
    // Every queued write ends (or is dropped, after a failure) before directories get their
    // final modes or anything is cleaned up.
    // The coordinator's error wins: a damaged archive must be reported as such.
    let (written, worker_error) = ex.writers.finish(result.is_err());
    match result.and_then(|()| worker_error.map_or(Ok(()), Err)) {
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
}

impl<'a> Extractor<'a> {
    fn new(paths: &'a CachePaths, budget: u64) -> Self {
        Self {
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

    fn run<R: Read>(&mut self, archive: &mut tar::Archive<R>) -> Result<(), UnpackError> {
        let corrupt = |e: io::Error| UnpackError::damaged(format!("archive is corrupt: {e}"));
        let mut members = 0u64;
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            members += 1;
            if members > MAX_MEMBERS {
                return Err(UnpackError::damaged(format!(
                    "archive has more than {MAX_MEMBERS} members"
                )));
            }
            let name = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&name).into_owned();
            let kind = entry.header().entry_type();
            if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
                continue;
            }
            let (root, target) = self
                .resolve(&name)
                .map_err(|why| UnpackError::damaged(format!("hostile member '{shown}': {why}")))?;
            let mtime = entry.header().mtime().unwrap_or(0);
            let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
            self.prepare_parents(root, &target, &shown)?;
            match kind {
                EntryType::Directory => self.make_dir(&target, mode, mtime)?,
                EntryType::Regular | EntryType::Continuous => {
                    // The size the data really has: a pax `size` record overrides the header
                    // field, and the reader follows the record.
                    let size = entry.size();
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
                        self.queue_file(&mut entry, target, mode, mtime, size)?;
                    } else {
                        self.write_file(&mut entry, &target, mode, mtime, size)?;
                    }
                }
                EntryType::Symlink => {
                    let link = entry
                        .link_name_bytes()
                        .ok_or_else(|| {
                            UnpackError::damaged(format!("symlink '{shown}' has no target"))
                        })?
                        .into_owned();
                    self.make_symlink(&target, &link, mtime)?;
                }
                EntryType::Link => {
                    return Err(UnpackError::damaged(format!(
                        "hostile member '{shown}': hard links are never restored"
                    )))
                }
                // wit-cache never archives these: an archive holding one was not made by us.
                EntryType::Char | EntryType::Block | EntryType::Fifo => {
                    return Err(UnpackError::damaged(format!(
                        "hostile member '{shown}': device nodes and FIFOs are never created"
                    )))
                }
                other => {
                    return Err(UnpackError::damaged(format!(
                        "member '{shown}' has an unsupported type {other:?}"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Maps a member name to its root and absolute target, or says why it is hostile.
    fn resolve(&self, name: &[u8]) -> Result<(&'a Root, PathBuf), String> {
        if name.len() > MAX_PATH_BYTES {
            return Err(format!("name longer than {MAX_PATH_BYTES} bytes"));
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
        Ok((root, root.base.join(rel)))
    }

    /// Makes sure every directory between the root's base and `target` is a real directory:
    /// missing ones are created, a file or symlink in the way is replaced — unless this
    /// restore made it, which means the archive tries to write through its own symlink.
    fn prepare_parents(
        &mut self,
        root: &Root,
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
        if !self.verified.contains(&root.base) {
            fs::create_dir_all(&root.base).map_err(|e| local(&root.base, e))?;
            self.verified.insert(root.base.clone());
        }
        let rel = parent
            .strip_prefix(&root.base)
            .expect("a target is below its base");
        let mut dir = root.base.clone();
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
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(path)
        };
        let mut file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear(path)?;
                open().map_err(|e| local(path, e))?
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
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| local(path, e))?;
        let mtime = filetime::FileTime::from_unix_time(mtime as i64, 0);
        filetime::set_file_handle_times(&file, None, Some(mtime)).map_err(|e| local(path, e))?;
        self.report.files += 1;
        self.report.bytes += size;
        Ok(())
    }

    fn make_symlink(&mut self, path: &Path, target: &[u8], mtime: u64) -> Result<(), UnpackError> {
        // Members of another path line are written below its base; a link at (or above) that
        // base would send them elsewhere. (`--path a` with `--path 'a/b/*'`: a symlink
        // member `0/a/b` must not redirect line 1.)
        if let Some(root) = self.paths.roots.iter().find(|r| r.base.starts_with(path)) {
            return Err(UnpackError::damaged(format!(
                "hostile member: a symlink at {} would redirect the path '{}'",
                path.display(),
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
        self.dirs.par_iter().for_each(|(path, mode, mtime)| {
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

fn local(path: &Path, source: io::Error) -> UnpackError {
    UnpackError::Local {
        path: path.to_path_buf(),
        source,
    }
}

/// Lists an archive's members without extracting (`show`); `f` gets each header.
#[allow(dead_code)]
pub fn list(
    file: File,
    codec: Compression,
    mut f: impl FnMut(&tar::Header, &[u8]),
) -> io::Result<()> {
    let decoder = Decoder::new(BufReader::with_capacity(IO_BUFFER, file), codec)?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path_bytes().into_owned();
        f(entry.header(), &name);
    }
    Ok(())
}
