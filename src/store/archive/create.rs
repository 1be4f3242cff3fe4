//! The one way a restore creates a regular file: exclusively, never through a symlink.
//!
//! `O_CREAT | O_EXCL | O_NOFOLLOW` means the open fails rather than write through a symlink
//! or over something already there, whatever the caller checked before; the file starts
//! private (0600) and gets its archived mode and mtime only once its content is complete.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `path`, which must not exist.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Gives a finished file its archived mode and modification time.
pub fn finish(file: &File, mode: u32, mtime: u64) -> io::Result<()> {
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    let mtime = filetime::FileTime::from_unix_time(mtime as i64, 0);
    filetime::set_file_handle_times(file, None, Some(mtime))
}
