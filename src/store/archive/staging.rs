//! Staging directories: how a restore of a path line whose target does not exist yet becomes
//! all or nothing.
//!
//! Such a target is built inside a hidden directory next to it, on the same file system
//! (`<base>/.<name>.wit-cache-staging-<16 hex digits>/<name>`), and renamed into place only
//! when the whole archive has checked out, digest included. A failed restore removes the
//! staging directory; a killed one (`kill -9`, a power cut) leaves only that directory, never
//! a half tree at the target, and the next restore of the path sweeps it.
//!
//! A restore holds an exclusive `flock` on its staging directory for as long as it runs, so a
//! sweep by a concurrent restore of the same path skips a staging directory that is still in
//! use and removes only abandoned ones (the kernel drops the lock of a killed process).
//! Sweeping touches only real directories (never a symlink) whose name is exactly the pattern
//! above for this target, and removes them without following anything inside.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FlockOperation, Mode, OFlags, RenameFlags};

use crate::store::dirs::StoreDirs;

const MARK: &[u8] = b".wit-cache-staging-";
const RANDOM_HEX: usize = 16;

/// The staging directory of one target, locked by this process while it exists.
#[derive(Debug)]
pub struct Stage {
    /// The directory the target is in.
    pub base: PathBuf,
    /// The target's name in `base`.
    pub name: Vec<u8>,
    /// The staging directory, `base/.<name>.wit-cache-staging-<random>`.
    pub dir: PathBuf,
    dir_name: Vec<u8>,
    /// The staging directory, open and `flock`ed.
    lock: OwnedFd,
}

/// `.<name>.wit-cache-staging-<random>`.
fn staging_name(name: &[u8], random: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + name.len() + MARK.len() + random.len());
    out.push(b'.');
    out.extend_from_slice(name);
    out.extend_from_slice(MARK);
    out.extend_from_slice(random.as_bytes());
    out
}

/// Whether `candidate` is exactly a staging directory name for the target `name`.
pub fn is_staging_name(candidate: &[u8], name: &[u8]) -> bool {
    let Some(rest) = candidate.strip_prefix(b".") else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(name) else {
        return false;
    };
    let Some(random) = rest.strip_prefix(MARK) else {
        return false;
    };
    random.len() == RANDOM_HEX
        && random
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from(e)
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)
}

impl Stage {
    /// Creates and locks a fresh staging directory for `base/name`; `base` must exist.
    pub fn create(base: &Path, name: &[u8]) -> io::Result<Self> {
        for _ in 0..8 {
            let random = uuid::Uuid::new_v4().simple().to_string();
            let dir_name = staging_name(name, &random[..RANDOM_HEX]);
            let dir = base.join(OsStr::from_bytes(&dir_name));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
            let lock = open_dir(&dir)?;
            // A sweep may have found the directory between its creation and this lock, and
            // holds the lock or removed the directory already: start over with a new name.
            if rfs::flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err()
                || rfs::fstat(&lock).map_err(errno)?.st_nlink == 0
            {
                continue;
            }
            return Ok(Self {
                base: base.to_path_buf(),
                name: name.to_vec(),
                dir,
                dir_name,
                lock,
            });
        }
        Err(io::Error::other(format!(
            "cannot create a staging directory in {}",
            base.display()
        )))
    }

    /// Where the target is built.
    #[cfg(test)]
    pub fn inner(&self) -> PathBuf {
        self.dir.join(OsStr::from_bytes(&self.name))
    }

    /// The target's final path.
    pub fn target(&self) -> PathBuf {
        self.base.join(OsStr::from_bytes(&self.name))
    }

    /// Renames the built target into place (never over something that appeared there
    /// meanwhile) and removes the staging directory. `Ok(false)` when nothing was built.
    pub fn commit(&self) -> io::Result<bool> {
        let name = OsStr::from_bytes(&self.name);
        match rfs::statat(&self.lock, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => {}
            Err(e) if e == rustix::io::Errno::NOENT => {
                self.discard();
                return Ok(false);
            }
            Err(e) => return Err(errno(e)),
        }
        let base = rfs::open(
            &self.base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let exists = || {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "something else was put there during the restore",
            )
        };
        match rfs::renameat_with(&self.lock, name, &base, name, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::EXIST => return Err(exists()),
            // File systems without renameat2: look first (a rename can still not replace a
            // non-empty directory).
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
                if rfs::statat(&base, name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    return Err(exists());
                }
                rfs::renameat(&self.lock, name, &base, name).map_err(errno)?;
            }
            Err(e) => return Err(errno(e)),
        }
        // Empty now; if it cannot go, the next sweep takes it.
        let _ = rfs::unlinkat(&base, OsStr::from_bytes(&self.dir_name), AtFlags::REMOVEDIR);
        Ok(true)
    }

    /// Removes the staging directory and whatever was built in it.
    pub fn discard(&self) {
        let _ = StoreDirs::new(&self.base).remove_tree(&[], &self.dir_name);
    }
}

/// Removes the abandoned staging directories of `base/name` (see the module documentation);
/// returns how many. Best effort: what cannot be removed stays for a later sweep.
pub fn sweep(base: &Path, name: &[u8]) -> usize {
    let dirs = StoreDirs::new(base);
    let Ok(found) = dirs.scan(&[]) else {
        return 0;
    };
    let mut removed = 0;
    for f in found {
        if f.kind != crate::store::dirs::Kind::Dir || !is_staging_name(&f.name, name) {
            continue;
        }
        let Ok(Some(fd)) = dirs.open_subdir(&[], &f.name) else {
            continue;
        };
        // In use by a restore that is still running.
        if rfs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
            continue;
        }
        if dirs.remove_tree(&[], &f.name).unwrap_or(false) {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_exactly() {
        let n = staging_name(b"dep", "0123456789abcdef");
        assert_eq!(n, b".dep.wit-cache-staging-0123456789abcdef");
        assert!(is_staging_name(&n, b"dep"));
        assert!(!is_staging_name(&n, b"de"));
        assert!(!is_staging_name(&n, b"dep2"));
        assert!(!is_staging_name(
            b".dep.wit-cache-staging-0123456789abcde",
            b"dep"
        ));
        assert!(!is_staging_name(
            b".dep.wit-cache-staging-0123456789abcdeF",
            b"dep"
        ));
        assert!(!is_staging_name(
            b".dep.wit-cache-staging-0123456789abcdef0",
            b"dep"
        ));
        assert!(!is_staging_name(
            b"dep.wit-cache-staging-0123456789abcdef",
            b"dep"
        ));
    }

    #[test]
    fn a_sweep_removes_abandoned_stages_only() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let outside = base.join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("victim"), "keep").unwrap();

        // Abandoned: a stage whose process is gone (no lock), with a link out inside.
        let stale = base.join(".dep.wit-cache-staging-00000000000000aa");
        fs::create_dir_all(stale.join("dep/a")).unwrap();
        std::os::unix::fs::symlink(&outside, stale.join("dep/out")).unwrap();
        // Live: held by a stage of this process.
        let live = Stage::create(base, b"dep").unwrap();
        fs::create_dir_all(live.inner()).unwrap();
        // Lookalikes that are not ours to remove.
        let link = base.join(".dep.wit-cache-staging-00000000000000bb");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let other = base.join(".dep2.wit-cache-staging-00000000000000cc");
        fs::create_dir_all(&other).unwrap();

        assert_eq!(sweep(base, b"dep"), 1);
        assert!(!stale.exists());
        assert!(live.dir.is_dir(), "a stage in use stays");
        assert!(link.symlink_metadata().is_ok() && other.is_dir());
        assert_eq!(fs::read_to_string(outside.join("victim")).unwrap(), "keep");

        assert!(live.commit().unwrap());
        assert!(base.join("dep").is_dir());
        assert!(!live.dir.exists());
        // Never over something that is there.
        let again = Stage::create(base, b"dep").unwrap();
        fs::create_dir_all(again.inner()).unwrap();
        assert_eq!(
            again.commit().unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        again.discard();
        assert!(!again.dir.exists());
    }
}
