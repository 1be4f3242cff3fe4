//! Pack: a [`CachePaths`] into a tar stream, compressed, hashed and synced to disk.
//!
//! Members are named `<root index>/<path relative to the root's base>` (see
//! [`crate::paths`]); names and link targets too long for ustar get pax records, so GNU tar
//! reads every archive. Only regular files, directories and symlinks are stored.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use tar::{EntryType, Header};
use walkdir::WalkDir;

use super::codec::{Codec, Encoder};
use super::hashio::{HashingWriter, Progress};
use super::writeback::Writeback;
use super::IO_BUFFER;
use crate::keys::hex;
use crate::paths::{CachePaths, Root, RootKind};
use sha2::Digest as _;

/// Buffer between tar and the encoder.
const ENCODER_BUFFER: usize = 1 << 20;
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

/// Packs the paths into `file` (a fresh temp file) and syncs it to disk. `warn` receives
/// one line per skipped path.
pub fn pack(
    paths: &CachePaths,
    file: File,
    codec: Codec,
    level: Option<i32>,
    progress: &Progress,
    warn: &mut dyn FnMut(String),
) -> io::Result<Packed> {
    let sink = HashingWriter::new(BufWriter::with_capacity(IO_BUFFER, Writeback::new(file)?));
    // tar writes 512-byte headers and 8 KiB pieces of content: batch them for the encoder.
    let encoder = BufWriter::with_capacity(ENCODER_BUFFER, Encoder::new(sink, codec, level)?);
    let mut builder = tar::Builder::new(encoder);
    let mut stats = Packed::default();
    walk(paths, warn, &mut |path, name, meta, warn| {
        add_member(&mut builder, &mut stats, progress, path, name, meta, warn)
    })?;
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

/// What [`walk`] calls for each file, directory or symlink it finds: the path, the member
/// name (`<index>/<rel>`, a directory's without its trailing `/`), its metadata, and the
/// warning sink; returns whether it became a member (false: skipped with a warning).
pub(crate) type Visit<'a> =
    dyn FnMut(&Path, Vec<u8>, &fs::Metadata, &mut dyn FnMut(String)) -> io::Result<bool> + 'a;

/// Walks the roots of `paths` in archive order (path lines in order, names sorted, excluded
/// paths skipped), calling `visit` per member: the one definition of what an entry holds,
/// whatever its format.
pub(crate) fn walk(
    paths: &CachePaths,
    warn: &mut dyn FnMut(String),
    visit: &mut Visit<'_>,
) -> io::Result<u64> {
    // The store is known by its directory's identity, not its name: the workspace may reach
    // it through another path (a symlinked workspace, a bind mount).
    let protected = paths
        .protected
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let mut walker = Walker {
        paths,
        protected,
        warn,
        visit,
        members: 0,
    };
    for (index, root) in paths.roots.iter().enumerate() {
        walker.add_root(index, root)?;
    }
    Ok(walker.members)
}

struct Walker<'a, 'v> {
    paths: &'a CachePaths,
    /// Device and inode of the store's directory, which is never archived.
    protected: Vec<(u64, u64)>,
    warn: &'a mut dyn FnMut(String),
    visit: &'a mut Visit<'v>,
    members: u64,
}

impl Walker<'_, '_> {
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
                let before = self.members;
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
                if self.members == before {
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
        // A line that is its own base (the workspace reached through a symlink) has no name
        // to store a link under, so its link is followed.
        let mut walk = WalkDir::new(path)
            .follow_root_links(rel.as_os_str().is_empty())
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
            let member = rel.join(sub);
            // A line that is its own base (`.`): the directory itself is not a member.
            if member.as_os_str().is_empty() {
                continue;
            }
            let mut name = format!("{index}/").into_bytes();
            name.extend_from_slice(member.as_os_str().as_bytes());
            let meta = entry.metadata().map_err(walk_error)?;
            if meta.is_dir() && self.protected.contains(&(meta.dev(), meta.ino())) {
                (self.warn)(format!(
                    "left out {}: it is the cache store, which is never archived",
                    entry.path().display()
                ));
                walk.skip_current_dir();
                continue;
            }
            if (self.visit)(entry.path(), name, &meta, &mut *self.warn)? {
                self.members += 1;
            }
        }
        Ok(())
    }
}

fn add_member<W: Write>(
    builder: &mut tar::Builder<W>,
    stats: &mut Packed,
    progress: &Progress,
    path: &Path,
    mut name: Vec<u8>,
    meta: &fs::Metadata,
    warn: &mut dyn FnMut(String),
) -> io::Result<bool> {
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
        append(builder, &mut header, &name, None, io::empty())?;
    } else if ft.is_file() {
        header.set_entry_type(EntryType::Regular);
        header.set_size(meta.len());
        let Some(file) = open_member(path)? else {
            warn(format!(
                "{} stopped being a regular file while it was archived; skipped",
                path.display()
            ));
            return Ok(false);
        };
        let mut data = ExactReader {
            inner: file,
            remaining: meta.len(),
            short: false,
        };
        append(builder, &mut header, &name, None, &mut data)?;
        progress.add(meta.len());
        if data.short {
            warn(format!(
                "{} shrank while it was archived; its tail was stored as zeros",
                path.display()
            ));
        } else if data
            .inner
            .metadata()
            .is_ok_and(|now| now.len() > meta.len())
        {
            warn(format!(
                "{} grew while it was archived; only its first {} bytes were stored",
                path.display(),
                meta.len()
            ));
        }
        stats.file_count += 1;
        stats.unpacked_bytes += meta.len();
    } else if ft.is_symlink() {
        let target = fs::read_link(path).map_err(|e| with_path(&e, path))?;
        header.set_entry_type(EntryType::Symlink);
        header.set_size(0);
        append(
            builder,
            &mut header,
            &name,
            Some(target.as_os_str().as_bytes()),
            io::empty(),
        )?;
        stats.file_count += 1;
    } else {
        warn(format!(
            "{} is not a file, directory or symlink; skipped",
            path.display()
        ));
        return Ok(false);
    }
    stats.members += 1;
    Ok(true)
}

/// Opens a file the walk saw as a regular file, for reading its content; `None` when it is
/// something else by now. A FIFO swapped in after the walk's lstat must not block a save:
/// the open follows no symlink and waits for no writer (`O_NOFOLLOW | O_NONBLOCK`), and what
/// was opened is checked with fstat.
pub(crate) fn open_member(path: &Path) -> io::Result<Option<File>> {
    let flags = (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32;
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        // ELOOP: a symlink swapped in.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Ok(None)
        }
        Err(e) => return Err(with_path(&e, path)),
    };
    Ok(file.metadata().is_ok_and(|m| m.is_file()).then_some(file))
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
pub(crate) fn append<W: Write>(
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

pub(crate) fn with_path(err: &io::Error, path: &Path) -> io::Error {
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
