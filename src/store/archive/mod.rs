//! Archives: POSIX tar (ustar headers, pax records for long names) compressed with one of
//! the [`codec`]s, so `tar -tvf` reads them.
//!
//! * [`codec`] — the codec table, the one place a compression format is added;
//! * [`pack`] — a save: the path lines into a compressed, hashed, synced archive;
//! * [`extract`] — a restore: the verified, checked unpack (its policy), with
//!   [`decode`] (decompression on its own thread), [`writers`] (small files written by worker
//!   threads) and [`create`] (the one function that creates a restored file);
//! * [`hashio`] — hashing readers and writers, the progress counter;
//! * [`writeback`] — the archive file synced in the background while a save goes on.

pub mod codec;
mod create;
mod decode;
mod error;
mod extract;
pub mod hashio;
mod pack;
mod writeback;
mod writers;

use std::fs::File;
use std::io::{self, BufReader};

pub use codec::Codec;
pub use error::UnpackError;
pub use extract::{unpack, Expected, Unpacked};
pub use hashio::{sha256_of, Progress};
pub(crate) use pack::{append, walk, with_path};
pub use pack::{pack, Packed};

/// Read and write buffers of archive I/O.
const IO_BUFFER: usize = 256 * 1024;

/// Lists an archive's members without extracting (`show`); `f` gets each header.
pub fn list(file: File, codec: Codec, mut f: impl FnMut(&tar::Header, &[u8])) -> io::Result<()> {
    let decoder = codec::Decoder::new(BufReader::with_capacity(IO_BUFFER, file), codec)?;
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path_bytes().into_owned();
        f(entry.header(), &name);
    }
    Ok(())
}
