//! Why a restore failed: the archive's fault (the entry must go) or this host's.

use std::io;
use std::path::{Path, PathBuf};

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
    pub fn damaged(msg: impl Into<String>) -> Self {
        UnpackError::Damaged(msg.into())
    }
}

/// A failure to write `path` on this host.
pub fn local(path: &Path, source: io::Error) -> UnpackError {
    UnpackError::Local {
        path: path.to_path_buf(),
        source,
    }
}
