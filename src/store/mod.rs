//! The per-host store: [`Store::open`] is the one entry point commands use.
//!
//! A store is a directory holding the SQLite [`index`] and the archives ([`archive`]) laid out
//! by [`layout`]. Archives are written to a temp file in the store, synced, renamed into
//! place, and only then registered in the index; rows are deleted before their files. So a
//! crash at any instant leaves either no entry or a complete one, plus at most a stray file
//! that `gc` sweeps.
//!
//! Archive files are reached only through [`ArchiveBackend`], so that a second backend
//! (object storage) can sit behind the same index later.

pub mod archive;
pub mod index;
pub mod layout;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tempfile::NamedTempFile;

use crate::cli::Compression;
use crate::error::UsageError;
pub use index::{Entry, Index};
use layout::Layout;

/// Where archive bytes live. The local directory is the only backend today.
pub trait ArchiveBackend {
    /// A new, empty temp file on the same file system as the archives.
    fn create_temp(&self) -> io::Result<NamedTempFile>;
    /// Moves a finished, synced temp file to its final, store-relative name.
    fn publish(&self, temp: NamedTempFile, codec: Compression) -> io::Result<String>;
    /// Opens a stored archive for reading.
    fn open(&self, name: &str) -> io::Result<File>;
    /// Deletes a stored archive; a missing file is not an error.
    fn remove(&self, name: &str) -> io::Result<()>;
}

pub struct Store {
    layout: Layout,
    pub index: Index,
}

impl Store {
    /// Opens the store at `root`, creating its scaffolding on first use.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        if root.exists() && !root.is_dir() {
            return Err(UsageError::new(format!(
                "cache dir {} is not a directory: set --cache-dir or WIT_CACHE_DIR to a directory",
                root.display()
            ))
            .into());
        }
        let layout = Layout::new(root);
        for dir in [layout.root().to_path_buf(), layout.archives(), layout.tmp()] {
            fs::create_dir_all(&dir).map_err(|e| not_writable(root, &e))?;
        }
        write_if_missing(&root.join("CACHEDIR.TAG"), layout::CACHEDIR_TAG)
            .map_err(|e| not_writable(root, &e))?;
        write_if_missing(&root.join(".gitignore"), "*\n").map_err(|e| not_writable(root, &e))?;
        let index = Index::open(&layout.index())
            .with_context(|| format!("cannot open the cache index {}", layout.index().display()))?;
        Ok(Self { layout, index })
    }

    pub fn root(&self) -> &Path {
        self.layout.root()
    }

    /// The absolute path of an entry's archive (for messages and `list`).
    pub fn archive_path(&self, entry: &Entry) -> PathBuf {
        self.layout.resolve(&entry.archive)
    }
}

impl ArchiveBackend for Store {
    fn create_temp(&self) -> io::Result<NamedTempFile> {
        tempfile::Builder::new()
            .prefix(&format!("save-{}-", std::process::id()))
            .suffix(".partial")
            .tempfile_in(self.layout.tmp())
    }

    fn publish(&self, temp: NamedTempFile, codec: Compression) -> io::Result<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = Layout::archive_name(&id, codec.extension());
        let path = self.layout.resolve(&name);
        let dir = path.parent().expect("archive names have a directory");
        fs::create_dir_all(dir)?;
        temp.persist(&path).map_err(|e| e.error)?;
        // Make the rename itself durable before the index row points at it.
        File::open(dir)?.sync_all()?;
        Ok(name)
    }

    fn open(&self, name: &str) -> io::Result<File> {
        File::open(self.layout.resolve(name))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.layout.resolve(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn write_if_missing(path: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    // Concurrent first uses race here harmlessly: every writer writes the same bytes.
    let tmp = NamedTempFile::new_in(path.parent().expect("store files have a parent"))?;
    fs::write(tmp.path(), text)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn not_writable(root: &Path, err: &io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cache dir {} is not writable ({err}): set --cache-dir or WIT_CACHE_DIR to a writable directory",
        root.display()
    )
}
