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
//! new names instead of an in-place migration. Where an archive lives is derived from its
//! [`ArchiveId`] and codec alone; the index's `archive` column must be exactly that name.

use std::path::{Path, PathBuf};

use super::archive::Codec;
use super::entry::ArchiveId;

pub const INDEX_FILE: &str = "index-v1.sqlite";
pub const ARCHIVES_DIR: &str = "archives-v1";
pub const TMP_DIR: &str = "tmp";
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by wit-cache.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// `archives-v1/<shard>/<id>.<ext>`: the `archive` column of an entry (store-relative, so a
/// store can be moved).
pub fn archive_column(id: ArchiveId, codec: Codec) -> String {
    format!("{ARCHIVES_DIR}/{}/{}", id.shard(), id.file_name(codec))
}

/// The file name part of an `archive` column, when the column is exactly a name
/// [`archive_column`] makes (the right directory, the id's own shard, `<id>.<ext>`).
pub fn archive_file_of_column(column: &str) -> Option<&str> {
    let rest = column.strip_prefix(ARCHIVES_DIR)?.strip_prefix('/')?;
    let (shard, file) = rest.split_once('/')?;
    let (id, _) = ArchiveId::parse_file_name(file)?;
    (id.shard() == shard).then_some(file)
}

/// The directory parts of an archive below the store root, for [`super::dirs::StoreDirs`].
pub fn archive_dir(id: &ArchiveId) -> [&[u8]; 2] {
    [ARCHIVES_DIR.as_bytes(), id.shard().as_bytes()]
}

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

    /// The absolute path of an archive (for messages and `list`).
    pub fn archive_path(&self, id: ArchiveId, codec: Codec) -> PathBuf {
        self.root.join(archive_column(id, codec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_columns_round_trip_and_nothing_else_parses() {
        let id = ArchiveId::random();
        let col = archive_column(id, Codec::Gzip);
        assert_eq!(
            archive_file_of_column(&col),
            Some(id.file_name(Codec::Gzip).as_str())
        );
        let z = "0".repeat(32);
        for bad in [
            format!("/etc/{z}.tar"),
            format!("archives-v1/11/{z}.tar"),
            format!("archives-v1/00/../{z}.tar"),
            format!("archives-v1/00/{z}.tar/x"),
            format!("archives-v1//{z}.tar"),
            format!("./archives-v1/00/{z}.tar"),
            format!("archives-v1/00/{z}.exe"),
            format!("archives-v1/00/{}.tar", "0".repeat(31)),
        ] {
            assert_eq!(archive_file_of_column(&bad), None, "{bad}");
        }
    }
}
