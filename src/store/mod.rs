//! The store: cache entries in tiers behind one interface ([`Tier`]).
//!
//! * [`local`] — this host's store: a SQLite [`index`] next to the archives, laid out by
//!   [`layout`] and reached through [`dirs`] without following symlinks;
//! * [`object`] — a shared store in object storage (`s3://`, `gs://`, `az://`, `file://`);
//! * [`tiered`] — the read-through pair (local in front of shared) that `restore` and
//!   `save` use;
//! * [`entry`] — what an entry is, and the one gate every row and object read passes;
//! * [`archive`] — tar + codec: pack, and the verified, checked unpack;
//! * [`cas`] — the content-addressed format: manifests plus blobs shared in packs;
//! * [`gc`] — which entries a garbage collection removes (a pure function).
//!
//! Commands talk to a [`Tier`] and never to an index, an archive file or a bucket
//! directly; every protocol (commit, lookup, removal, eviction) and its clean-up in every
//! outcome lives in the tier.

pub mod archive;
pub mod cas;
pub mod dirs;
pub mod entry;
pub mod gc;
pub mod index;
pub mod layout;
pub mod local;
pub mod misses;
pub mod object;
pub mod tier;
pub mod tiered;

pub use entry::{Entry, Format, Identity, Timestamp};
pub use local::LocalStore;
pub use object::{ObjectTier, StoreUrl};
pub use tier::{Filter, GcReport, Removed, Sort, Tier};
pub use tiered::ReadThrough;

/// Crash tests: `WIT_CACHE_TEST_ABORT=<point>` makes the process abort at that named point
/// (no destructors, no clean-up: what a `kill -9` or a power cut leaves).
pub fn abort_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("WIT_CACHE_TEST_ABORT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("wit-cache: aborting at {name} (WIT_CACHE_TEST_ABORT)");
        std::process::abort();
    }
}
