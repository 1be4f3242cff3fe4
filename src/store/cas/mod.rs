//! The cas entry format: a manifest (the tree) plus content blobs in pack files shared by
//! every entry of the store, so a save writes only what the store lacks. The design — format,
//! commit protocol, gc, crash safety, what is verified when — is docs/cas.md.
//!
//! * [`manifest`] — the manifest's encoding and its bounded, total parser;
//! * [`stream`] — the tar stream an entry restores as (hashed by a save, written by a restore);
//! * [`save`] — walk, hash in parallel, write only the missing blobs, stage the manifest;
//! * [`restore`] — the blobs read and checked, fed to the archive format's own extractor;
//!   `verify`; gc's sweep of packs no entry needs.

pub mod manifest;
pub mod restore;
pub mod save;
pub mod stream;

use std::time::Duration;

/// Largest blob: a file is cut into chunks of this size.
pub const CHUNK: usize = 2 << 20;
/// A frame is closed once it holds this much (so it holds less than this plus one chunk).
pub const FRAME_TARGET: usize = 1 << 20;
/// Largest decompressed frame a restore accepts.
pub const MAX_FRAME_RAW: usize = FRAME_TARGET + CHUNK;
/// A pack is closed once it holds this much compressed data.
pub const PACK_TARGET: u64 = 16 << 20;
/// A lease whose save never committed is dropped after this long.
pub const LEASE_GRACE: Duration = Duration::from_secs(24 * 3600);

pub const CAS_DIR: &str = "cas-v1";
pub const PACKS_DIR: &str = "packs";

/// The directory parts of a pack below the store root.
pub fn pack_dir(name_hex: &str) -> [&[u8]; 3] {
    [
        CAS_DIR.as_bytes(),
        PACKS_DIR.as_bytes(),
        &name_hex.as_bytes()[..2],
    ]
}

/// `<sha256>.pack`.
pub fn pack_file(name_hex: &str) -> String {
    format!("{name_hex}.pack")
}

pub use super::abort_point;
