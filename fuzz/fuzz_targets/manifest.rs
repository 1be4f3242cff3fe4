//! Fuzzes the cas manifest parser: whatever the bytes (raw or zstd-compressed), parsing
//! returns a manifest or an error, never panics or allocates without bound, and a manifest it
//! accepts encodes back to the same bytes.
//!
//! Run: `cargo fuzz run manifest` (see the README's Fuzzing section).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wit_cache::store::cas::manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = manifest::parse_raw(data) {
        assert_eq!(m.encode(), data, "an accepted manifest has one encoding");
        assert_eq!(manifest::parse(&m.to_file_bytes().expect("compress")).as_ref(), Ok(&m));
    }
    let _ = manifest::parse(data);
});
