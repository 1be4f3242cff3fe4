//! Archives: POSIX tar (ustar headers, pax records for long names) compressed with one of
//! the [`codec`]s, so `tar -tvf` reads them.
//!
//! * [`codec`] — the codec table, the one place a compression format is added;
//! * [`pack`] — a save: the path lines into a compressed, hashed, synced archive;
//! * [`extract`] — a restore: the verified, checked unpack (its policy), with
//!   [`decode`] (decompression on its own thread), [`writers`] (small files written by worker
//!   threads) and [`create`] (the one function that creates a restored file);
//! * [`reader`] — the tar header stream, parsed with every extension bounded and every byte
//!   counted against a budget;
//! * [`staging`] — staging directories, which make a restore of a new target all or nothing;
//! * [`hashio`] — hashing readers and writers, the progress counter;
//! * [`writeback`] — the archive file synced in the background while a save goes on.

pub mod codec;
mod create;
mod decode;
mod error;
mod extract;
pub mod hashio;
mod pack;
pub mod reader;
mod staging;
mod writeback;
mod writers;

use std::fs::File;
use std::io::{self, BufReader};

pub use codec::Codec;
pub use error::UnpackError;
pub use extract::{merges, unpack, Expected, Unpacked};
pub use hashio::{sha256_of, Progress};
pub(crate) use pack::{append, open_member, walk, with_path};
pub use pack::{pack, Packed};

/// Read and write buffers of archive I/O.
const IO_BUFFER: usize = 256 * 1024;

/// Lists an archive's members without extracting (`show`); `f` gets each member. The
/// headers are bounded and the bytes decoded are capped as in a restore (`unpacked_bytes`
/// is the entry's recorded size).
pub fn list(
    file: File,
    codec: Codec,
    unpacked_bytes: u64,
    mut f: impl FnMut(&reader::Member),
) -> io::Result<()> {
    let decoder = codec::Decoder::new(BufReader::with_capacity(IO_BUFFER, file), codec)?;
    let budget = reader::Budget::new(extract::budget_for(unpacked_bytes));
    let mut archive = reader::Reader::new(decoder, budget, extract::MAX_MEMBERS);
    while let Some(member) = archive.next_member().map_err(|d| io::Error::other(d.0))? {
        f(&member);
    }
    Ok(())
}
