//! Where things live inside a store directory, and nothing else.
//!
//! ```text
//! <store>/CACHEDIR.TAG        marks the directory as a cache for backup tools
//! <store>/.gitignore          "*", so a store inside a checkout is never committed
//! <store>/index-v1.sqlite     the index (plus -wal and -shm beside it)
//! <store>/archives-v1/ab/<id>.tar.zst   archives, named by a random id, never by a key
//! <store>/tmp/                saves in progress (same file system, so rename is atomic)
//! ```
//!
//! The `-v1` suffixes version the on-disk format: a change that old binaries cannot read gets
//! new names instead of an in-place migration.

use std::path::{Path, PathBuf};

pub const INDEX_FILE: &str = "index-v1.sqlite";
pub const ARCHIVES_DIR: &str = "archives-v1";
pub const TMP_DIR: &str = "tmp";
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by wit-cache.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn index(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    pub fn archives(&self) -> PathBuf {
        self.root.join(ARCHIVES_DIR)
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    /// The store-relative name of a new archive: a random id, sharded by its first two hex
    /// digits so no directory grows huge.
    pub fn archive_name(id: &str, extension: &str) -> String {
        format!("{ARCHIVES_DIR}/{}/{id}.{extension}", &id[..2])
    }

    /// The absolute path of a store-relative archive name as kept in the index.
    pub fn resolve(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}
