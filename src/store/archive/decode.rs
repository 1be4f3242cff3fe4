//! The decompressed archive, produced on a thread of its own: reading the file, hashing it
//! and decompressing overlap with parsing and file creation on the restoring thread.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::Digest as _;

use super::codec::Decoder;
use super::hashio::{read_full, HashingReader};
use super::IO_BUFFER;
use crate::keys::hex;

/// How many decompressed chunks may wait for the coordinator.
const DECODED_CHUNKS: usize = 8;

pub type RawDecoder = Decoder<BufReader<HashingReader<File>>>;

/// The decompressed archive, produced on a thread of its own: reading the file, hashing it
/// and decompressing overlap with parsing and file creation on the coordinating thread.
/// Memory is bounded by [`DECODED_CHUNKS`] chunks of [`IO_BUFFER`] bytes.
pub struct Decoded {
    rx: Option<Receiver<io::Result<Vec<u8>>>>,
    chunk: Vec<u8>,
    pos: usize,
    handle: Option<JoinHandle<io::Result<String>>>,
    /// Set when the coordinator gives up: the thread then stops without hashing the rest.
    abandoned: Arc<AtomicBool>,
}

impl Decoded {
    pub fn spawn(mut decoder: RawDecoder) -> Self {
        let (tx, rx) = mpsc::sync_channel(DECODED_CHUNKS);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let handle = std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; IO_BUFFER];
                match read_full(&mut decoder, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        // A closed channel: the coordinator read all it wanted.
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
            drop(tx);
            if stop.load(Ordering::SeqCst) {
                return Err(io::Error::other("restore abandoned"));
            }
            // Whatever the decoder did not need still counts for the file's digest.
            let mut raw = decoder.into_inner();
            io::copy(&mut raw, &mut io::sink())?;
            Ok(hex(&raw.into_inner().hasher.finalize()))
        });
        Self {
            rx: Some(rx),
            chunk: Vec::new(),
            pos: 0,
            handle: Some(handle),
            abandoned,
        }
    }

    /// Stops decoding and returns the SHA-256 of the whole archive file.
    pub fn finish(mut self) -> io::Result<String> {
        drop(self.rx.take());
        let handle = self.handle.take().expect("finish runs once");
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.abandoned.store(true, Ordering::SeqCst);
            drop(self.rx.take());
            let _ = handle.join();
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            let Some(rx) = &self.rx else { return Ok(0) };
            match rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    self.rx = None;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
