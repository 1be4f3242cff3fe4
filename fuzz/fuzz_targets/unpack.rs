//! Fuzzes archive extraction: whatever the bytes, a restore writes nothing outside the
//! workspace's path lines and never panics.
//!
//! Run: `cargo fuzz run unpack` (see the README's Fuzzing section).

#![no_main]

use std::fs::{self, File};

use libfuzzer_sys::fuzz_target;
use sha2::Digest as _;
use wit_cache::store::archive::Codec;
use wit_cache::paths::CachePaths;
use wit_cache::store::archive::{unpack, Expected};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let ws = root.join("ws");
    let outside = root.join("outside");
    fs::create_dir_all(&ws).expect("workspace");
    fs::create_dir_all(&outside).expect("outside");
    fs::write(outside.join("victim"), "original").expect("victim");
    let archive = root.join("archive.tar");
    fs::write(&archive, data).expect("archive");

    let lines = vec!["dep".to_string(), "pkgs/*/dist".to_string(), "../outside/victim".to_string()];
    let paths = CachePaths::parse(&lines, &ws, None).expect("valid path lines");
    let digest = wit_cache::keys::hex(&sha2::Sha256::digest(data));
    let expected = Expected {
        codec: Codec::None,
        digest: &digest,
        unpacked_bytes: 1 << 20,
        progress: Default::default(),
    };
    let _ = unpack(File::open(&archive).expect("open"), &expected, &paths);

    // The only writable places: the workspace, and the one file the third path line names.
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.expect("walk");
        let p = entry.path();
        let allowed = p == root
            || p.starts_with(&ws)
            || p == archive
            || p == outside
            || p == outside.join("victim");
        assert!(allowed, "extraction wrote outside its path lines: {}", p.display());
    }
    let victim = outside.join("victim");
    if let Ok(meta) = fs::symlink_metadata(&victim) {
        // The path line `../outside/victim` may legitimately restore that file, but never as
        // a way to write somewhere else.
        assert!(!meta.file_type().is_symlink() || fs::read_link(&victim).is_ok());
    }
});
