//! Fuzzes the tar header reader: whatever the bytes, it never panics, never hands out a name
//! or link target past its bound, and never reads a byte it has not charged to the budget
//! first (so no claim, however large, is decoded past the budget).
//!
//! Run: `cargo fuzz run headers` (see the README's Fuzzing section).

#![no_main]

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use wit_cache::store::archive::reader::{Budget, Reader, MAX_NAME_BYTES};

/// Counts the bytes the reader pulls from the stream.
struct Counting<'a> {
    data: &'a [u8],
    read: Rc<Cell<u64>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the budget, so small and large ones are both explored.
    let (limit, data) = match data {
        [a, b, rest @ ..] => (u64::from(u16::from_le_bytes([*a, *b])) * 64, rest),
        _ => (0, data),
    };
    let read = Rc::new(Cell::new(0));
    let stream = Counting { data, read: Rc::clone(&read) };
    let mut reader = Reader::new(stream, Budget::new(limit), 10_000);
    let mut sink = Vec::new();
    loop {
        match reader.next_member() {
            Ok(Some(member)) => {
                assert!(member.name.len() <= MAX_NAME_BYTES);
                assert!(member.link.len() <= MAX_NAME_BYTES);
                sink.clear();
                // Every other member's data is left for `next_member` to skip.
                if member.name.len() % 2 == 0 {
                    let _ = reader.by_ref().take(1 << 20).read_to_end(&mut sink);
                }
            }
            Ok(None) | Err(_) => break,
        }
        assert!(read.get() <= reader.budget().charged(), "read before it was charged");
    }
    assert!(read.get() <= reader.budget().charged(), "read before it was charged");
});
