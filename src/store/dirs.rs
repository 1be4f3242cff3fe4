//! The store's own directories, reached without ever following a symlink.
//!
//! A job that runs as the store's Unix user can plant anything under the store: a symlinked
//! shard directory, a symlinked `tmp/`, a FIFO or a device where an archive should be. A
//! cron `gc` running as a more privileged user must still delete nothing outside the store,
//! and no command may hang on what it opens. So every path below the root is walked one
//! component at a time with `openat(…, O_NOFOLLOW)`, every file is checked with `fstat`
//! before it is read, files are opened `O_NONBLOCK` (a FIFO then opens at once, and is
//! refused), and only regular files are ever unlinked. The root itself is the user's
//! choice (`--cache-dir`) and may be a symlink.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags};

/// What is at a place where the store expected one of its own files or directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    Device,
    Unknown,
}

impl Kind {
    fn of(ft: FileType) -> Self {
        match ft {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice | FileType::BlockDevice => Kind::Device,
            FileType::Unknown => Kind::Unknown,
        }
    }

    /// The kind of what `std::fs::symlink_metadata` found.
    pub fn of_std(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self::of(FileType::from_raw_mode(meta.mode()))
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symlink",
            Kind::Fifo => "a FIFO",
            Kind::Socket => "a socket",
            Kind::Device => "a device node",
            Kind::Unknown => "of an unknown type",
        }
    }
}

/// Why a store file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("it does not exist")]
    NotFound,
    /// Something other than a regular file (or a real directory on the way) is there.
    #[error("{} is {}, not a regular file", .0.display(), .1.describe())]
    NotRegular(PathBuf, Kind),
    #[error("{}: {}", .0.display(), .1)]
    Io(PathBuf, io::Error),
    /// A regular file, of another size than recorded (read no further: a sparse file of a
    /// terabyte would keep every reader busy for an hour).
    #[error("{} holds {} bytes where {} were recorded", .0.display(), .1, .2)]
    WrongSize(PathBuf, u64, u64),
}

/// A file found by a scan, not followed.
#[derive(Debug)]
pub struct Found {
    pub name: Vec<u8>,
    pub kind: Kind,
    pub modified: Option<SystemTime>,
}

/// The root of a store, for `openat`-style access below it.
#[derive(Debug, Clone)]
pub struct StoreDirs {
    root: PathBuf,
}

fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

impl StoreDirs {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn display(&self, parts: &[&[u8]]) -> PathBuf {
        let mut p = self.root.clone();
        for part in parts {
            p.push(OsStr::from_bytes(part));
        }
        p
    }

    fn open_root(&self) -> Result<OwnedFd, OpenError> {
        rfs::open(
            &self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.fail(&[], e))
    }

    fn fail(&self, parts: &[&[u8]], e: rustix::io::Errno) -> OpenError {
        if e == rustix::io::Errno::NOENT {
            OpenError::NotFound
        } else {
            OpenError::Io(self.display(parts), errno(e))
        }
    }

    /// Opens the directory `parts` below the root, each component a real directory.
    pub fn open_dir(&self, parts: &[&[u8]]) -> Result<OwnedFd, OpenError> {
        let mut fd = self.open_root()?;
        for (i, part) in parts.iter().enumerate() {
            fd = match rfs::openat(
                &fd,
                OsStr::from_bytes(part),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(next) => next,
                Err(e) if e == rustix::io::Errno::NOTDIR || e == rustix::io::Errno::LOOP => {
                    let kind = rfs::statat(&fd, OsStr::from_bytes(part), AtFlags::SYMLINK_NOFOLLOW)
                        .map_or(Kind::Unknown, |st| {
                            Kind::of(FileType::from_raw_mode(st.st_mode))
                        });
                    return Err(OpenError::NotRegular(self.display(&parts[..=i]), kind));
                }
                Err(e) => return Err(self.fail(&parts[..=i], e)),
            };
        }
        Ok(fd)
    }

    /// Opens the regular file `dir/name` for reading. Never follows a symlink, never blocks
    /// (a FIFO is opened non-blocking and refused), never opens a device: the type is checked
    /// before the open and again on the open file.
    pub fn open_file(&self, dir: &[&[u8]], name: &[u8]) -> Result<File, OpenError> {
        let dirfd = self.open_dir(dir)?;
        let mut parts: Vec<&[u8]> = dir.to_vec();
        parts.push(name);
        let name_os = OsStr::from_bytes(name);
        let before = rfs::statat(&dirfd, name_os, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.fail(&parts, e))?;
        let kind = Kind::of(FileType::from_raw_mode(before.st_mode));
        if kind != Kind::File {
            return Err(OpenError::NotRegular(self.display(&parts), kind));
        }
        let fd = rfs::openat(
            &dirfd,
            name_os,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| self.fail(&parts, e))?;
        let after = rfs::fstat(&fd).map_err(|e| OpenError::Io(self.display(&parts), errno(e)))?;
        let kind = Kind::of(FileType::from_raw_mode(after.st_mode));
        if kind != Kind::File {
            return Err(OpenError::NotRegular(self.display(&parts), kind));
        }
        Ok(File::from(fd))
    }

    /// Removes `dir/name` when it is a regular file. `Ok(None)` when it was gone already;
    /// `Ok(Some(kind))` when something else is there, which is left alone.
    pub fn remove_file(&self, dir: &[&[u8]], name: &[u8]) -> Result<Option<Kind>, OpenError> {
        let dirfd = match self.open_dir(dir) {
            Ok(fd) => fd,
            Err(OpenError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut parts: Vec<&[u8]> = dir.to_vec();
        parts.push(name);
        let name_os = OsStr::from_bytes(name);
        match rfs::statat(&dirfd, name_os, AtFlags::SYMLINK_NOFOLLOW) {
            Err(e) if e == rustix::io::Errno::NOENT => return Ok(None),
            Err(e) => return Err(self.fail(&parts, e)),
            Ok(st) => {
                let kind = Kind::of(FileType::from_raw_mode(st.st_mode));
                if kind != Kind::File {
                    return Ok(Some(kind));
                }
            }
        }
        // Unlinking never follows the name: even if it were swapped for a symlink just now,
        // the link itself would go, inside the store, never its target.
        match rfs::unlinkat(&dirfd, name_os, AtFlags::empty()) {
            Ok(()) => Ok(None),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(None),
            Err(e) => Err(self.fail(&parts, e)),
        }
    }

    /// [`StoreDirs::scan`] without the modification times: the kind comes from the directory
    /// entry itself (one `getdents` for many files instead of a `stat` each), and a `stat`
    /// only where the file system does not say. `modified` is `None`; ask
    /// [`StoreDirs::modified`] for the few that need it.
    pub fn scan_kinds(&self, dir: &[&[u8]]) -> Result<Vec<Found>, OpenError> {
        self.read_dir(dir, false)
    }

    /// When `dir/name` was last modified (not followed); `None` when it is gone or unknown.
    pub fn modified(&self, dir: &[&[u8]], name: &[u8]) -> Option<SystemTime> {
        let dirfd = self.open_dir(dir).ok()?;
        let st = rfs::statat(&dirfd, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW).ok()?;
        u64::try_from(st.st_mtime)
            .ok()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
    }

    /// Everything directly in `dir` (not followed), without `.` and `..`. A missing `dir` is
    /// empty.
    pub fn scan(&self, dir: &[&[u8]]) -> Result<Vec<Found>, OpenError> {
        self.read_dir(dir, true)
    }

    /// The entries of `dir`; with `times`, each is `stat`ed for its modification time, else
    /// only those whose kind the directory entry does not give.
    fn read_dir(&self, dir: &[&[u8]], times: bool) -> Result<Vec<Found>, OpenError> {
        let dirfd = match self.open_dir(dir) {
            Ok(fd) => fd,
            Err(OpenError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let reader =
            rfs::Dir::read_from(&dirfd).map_err(|e| OpenError::Io(self.display(dir), errno(e)))?;
        let mut out = Vec::new();
        for item in reader {
            let item = item.map_err(|e| OpenError::Io(self.display(dir), errno(e)))?;
            let name = item.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let listed = Kind::of(item.file_type());
            let (kind, modified) = if times || listed == Kind::Unknown {
                match rfs::statat(&dirfd, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) => (
                        Kind::of(FileType::from_raw_mode(st.st_mode)),
                        u64::try_from(st.st_mtime)
                            .ok()
                            .filter(|_| times)
                            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
                    ),
                    // Removed meanwhile.
                    Err(e) if e == rustix::io::Errno::NOENT => continue,
                    Err(e) => return Err(self.fail(dir, e)),
                }
            } else {
                (listed, None)
            };
            out.push(Found {
                name: name.to_vec(),
                kind,
                modified,
            });
        }
        Ok(out)
    }

    /// Creates `dir` below the root (one level, the parent must exist) unless it is there.
    pub fn ensure_dir(&self, parent: &[&[u8]], name: &[u8]) -> Result<(), OpenError> {
        let fd = self.open_dir(parent)?;
        match rfs::mkdirat(&fd, OsStr::from_bytes(name), Mode::from_raw_mode(0o755)) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::EXIST => Ok(()),
            Err(e) => {
                let mut parts = parent.to_vec();
                parts.push(name);
                Err(self.fail(&parts, e))
            }
        }
    }

    /// Creates a new, empty file `dir/name` for writing (never following or replacing
    /// anything).
    pub fn create_file(&self, dir: &[&[u8]], name: &[u8]) -> Result<File, OpenError> {
        let fd = self.open_dir(dir)?;
        let mut parts = dir.to_vec();
        parts.push(name);
        rfs::openat(
            &fd,
            OsStr::from_bytes(name),
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map(File::from)
        .map_err(|e| OpenError::Io(self.display(&parts), errno(e)))
    }

    /// Opens `dir/name` when it is a real directory (not a symlink): `Ok(None)` when it is
    /// gone or something else.
    pub fn open_subdir(&self, dir: &[&[u8]], name: &[u8]) -> Result<Option<OwnedFd>, OpenError> {
        let mut parts = dir.to_vec();
        parts.push(name);
        match self.open_dir(&parts) {
            Ok(fd) => Ok(Some(fd)),
            Err(OpenError::NotFound | OpenError::NotRegular(..)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes the real directory `dir/name` and everything in it, never following a
    /// symlink: links inside are removed themselves, and a symlink (or anything else) at
    /// `name` is left alone (`Ok(false)`). Gives up deeper than [`MAX_TREE_DEPTH`].
    pub fn remove_tree(&self, dir: &[&[u8]], name: &[u8]) -> Result<bool, OpenError> {
        let Some(fd) = self.open_subdir(dir, name)? else {
            return Ok(false);
        };
        let parent = self.open_dir(dir)?;
        let mut parts = dir.to_vec();
        parts.push(name);
        let shown = self.display(&parts);
        empty_tree(&fd, 0).map_err(|e| OpenError::Io(shown.clone(), e))?;
        match rfs::unlinkat(&parent, OsStr::from_bytes(name), AtFlags::REMOVEDIR) {
            Ok(()) => Ok(true),
            Err(e) if e == rustix::io::Errno::NOENT => Ok(true),
            Err(e) => Err(OpenError::Io(shown, errno(e))),
        }
    }

    /// Moves `from_dir/from` to `to_dir/to`, failing when `to` exists: a store file is never
    /// replaced by a rename. Syncs the target directory so the rename survives a crash.
    pub fn rename_new(
        &self,
        from_dir: &[&[u8]],
        from: &[u8],
        to_dir: &[&[u8]],
        to: &[u8],
    ) -> Result<(), OpenError> {
        let src = self.open_dir(from_dir)?;
        let dst = self.open_dir(to_dir)?;
        let mut parts = to_dir.to_vec();
        parts.push(to);
        let moved = rfs::renameat_with(
            &src,
            OsStr::from_bytes(from),
            &dst,
            OsStr::from_bytes(to),
            RenameFlags::NOREPLACE,
        );
        match moved {
            Ok(()) => {}
            // File systems without renameat2: a hard link cannot replace anything either.
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
                rfs::linkat(
                    &src,
                    OsStr::from_bytes(from),
                    &dst,
                    OsStr::from_bytes(to),
                    AtFlags::empty(),
                )
                .map_err(|e| OpenError::Io(self.display(&parts), errno(e)))?;
                let _ = rfs::unlinkat(&src, OsStr::from_bytes(from), AtFlags::empty());
            }
            Err(e) => return Err(OpenError::Io(self.display(&parts), errno(e))),
        }
        rfs::fsync(dst.as_fd()).map_err(|e| OpenError::Io(self.display(to_dir), errno(e)))
    }
}

/// How deep [`StoreDirs::remove_tree`] goes (one open descriptor per level).
pub const MAX_TREE_DEPTH: usize = 512;

/// Removes everything inside the directory `fd`, depth first, without following anything.
fn empty_tree(fd: &OwnedFd, depth: usize) -> io::Result<()> {
    if depth > MAX_TREE_DEPTH {
        return Err(io::Error::other(format!(
            "deeper than {MAX_TREE_DEPTH} directories; left in place"
        )));
    }
    // Names first: the directory is not changed while it is being read.
    let mut names = Vec::new();
    for item in rfs::Dir::read_from(fd).map_err(errno)? {
        let item = item.map_err(errno)?;
        let name = item.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    for name in names {
        let name = OsStr::from_bytes(&name);
        let st = match rfs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) if e == rustix::io::Errno::NOENT => continue,
            Err(e) => return Err(errno(e)),
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            match rfs::openat(
                fd,
                name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(child) => empty_tree(&child, depth + 1)?,
                Err(e) if e == rustix::io::Errno::NOENT => continue,
                Err(e) => return Err(errno(e)),
            }
            match rfs::unlinkat(fd, name, AtFlags::REMOVEDIR) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::NOENT => {}
                Err(e) => return Err(errno(e)),
            }
        } else {
            match rfs::unlinkat(fd, name, AtFlags::empty()) {
                Ok(()) => {}
                Err(e) if e == rustix::io::Errno::NOENT => {}
                Err(e) => return Err(errno(e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_tree_is_removed_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir_all(outside.join("keep")).unwrap();
        fs::write(outside.join("keep/f"), "keep").unwrap();
        let t = dir.path().join("t");
        fs::create_dir_all(t.join("a/b/c")).unwrap();
        fs::write(t.join("a/b/c/f"), "x").unwrap();
        symlink(&outside, t.join("a/link")).unwrap();
        symlink(&outside, dir.path().join("lnk")).unwrap();
        let d = StoreDirs::new(dir.path());
        assert!(
            !d.remove_tree(&[], b"lnk").unwrap(),
            "a symlink is left alone"
        );
        assert!(d.remove_tree(&[], b"t").unwrap());
        assert!(!t.exists());
        assert_eq!(fs::read_to_string(outside.join("keep/f")).unwrap(), "keep");
        assert!(dir.path().join("lnk").symlink_metadata().is_ok());
        assert!(!d.remove_tree(&[], b"gone").unwrap());
    }
    use std::os::unix::fs::symlink;

    #[test]
    fn nothing_below_the_root_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("a")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("victim"), "keep").unwrap();
        symlink(&outside, root.join("a/shard")).unwrap();
        symlink(outside.join("victim"), root.join("a/link")).unwrap();
        let d = StoreDirs::new(&root);

        assert!(matches!(
            d.open_file(&[b"a", b"shard"], b"victim"),
            Err(OpenError::NotRegular(_, Kind::Symlink))
        ));
        assert!(matches!(
            d.open_file(&[b"a"], b"link"),
            Err(OpenError::NotRegular(_, Kind::Symlink))
        ));
        assert!(d.remove_file(&[b"a", b"shard"], b"victim").is_err());
        assert_eq!(
            d.remove_file(&[b"a"], b"link").unwrap(),
            Some(Kind::Symlink)
        );
        assert_eq!(fs::read_to_string(outside.join("victim")).unwrap(), "keep");
        assert!(root.join("a/link").symlink_metadata().is_ok(), "left alone");
        let kinds: Vec<Kind> = d.scan(&[b"a"]).unwrap().iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [Kind::Symlink, Kind::Symlink]);
        assert!(matches!(
            d.scan(&[b"a", b"shard"]),
            Err(OpenError::NotRegular(_, Kind::Symlink))
        ));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("fifo"))
            .status()
            .unwrap();
        assert!(status.success());
        let d = StoreDirs::new(dir.path());
        assert!(matches!(
            d.open_file(&[], b"fifo"),
            Err(OpenError::NotRegular(_, Kind::Fifo))
        ));
        assert_eq!(d.remove_file(&[], b"fifo").unwrap(), Some(Kind::Fifo));
        assert!(matches!(
            d.open_file(&[], b"gone"),
            Err(OpenError::NotFound)
        ));
    }

    #[test]
    fn renames_never_replace() {
        let dir = tempfile::tempdir().unwrap();
        let d = StoreDirs::new(dir.path());
        d.ensure_dir(&[], b"t").unwrap();
        d.ensure_dir(&[], b"t").unwrap();
        fs::write(dir.path().join("t/a"), "a").unwrap();
        fs::write(dir.path().join("t/b"), "b").unwrap();
        assert!(d.rename_new(&[b"t"], b"a", &[b"t"], b"b").is_err());
        d.rename_new(&[b"t"], b"a", &[b"t"], b"c").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("t/c")).unwrap(), "a");
        assert_eq!(fs::read_to_string(dir.path().join("t/b")).unwrap(), "b");
        assert!(d.create_file(&[b"t"], b"b").is_err(), "exclusive");
    }
}
