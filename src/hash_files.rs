//! GitHub's `hashFiles()`: placeholder until the real implementation lands.

use std::path::Path;

pub struct HashOptions {
    pub follow_symbolic_links: bool,
}

pub struct HashResult {
    pub hash: String,
    pub files: usize,
}

pub fn hash_files(
    _workspace: &Path,
    _patterns: &[String],
    _options: &HashOptions,
) -> anyhow::Result<HashResult> {
    anyhow::bail!("hash-files is not implemented yet")
}
