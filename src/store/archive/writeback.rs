//! The archive file of a save, written back to disk while the save goes on.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The archive's pages are sent to disk in the background every this many bytes.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// The archive file, written back to disk while the save goes on: every
/// [`WRITEBACK_EVERY`] bytes a helper thread runs `fdatasync`, so the one `fsync` a save
/// needs at the end (before the rename) finds little left to write instead of the whole
/// archive. A failure of a background sync is kept and returned by [`Writeback::sync_all`]
/// (the kernel reports a write-back error only once per open file).
pub struct Writeback {
    file: File,
    since: u64,
    kick: Option<mpsc::SyncSender<()>>,
    syncer: Option<JoinHandle<io::Result<()>>>,
}

impl Writeback {
    pub fn new(file: File) -> io::Result<Self> {
        let clone = file.try_clone()?;
        let (kick, rx) = mpsc::sync_channel::<()>(1);
        let syncer = std::thread::spawn(move || {
            let mut result = Ok(());
            for () in rx {
                if result.is_ok() {
                    result = clone.sync_data();
                }
            }
            result
        });
        Ok(Self {
            file,
            since: 0,
            kick: Some(kick),
            syncer: Some(syncer),
        })
    }

    pub fn sync_all(mut self) -> io::Result<()> {
        drop(self.kick.take());
        if let Some(syncer) = self.syncer.take() {
            syncer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        }
        self.file.sync_all()
    }
}

impl Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.since += n as u64;
        if self.since >= WRITEBACK_EVERY {
            self.since = 0;
            if let Some(kick) = &self.kick {
                // Busy syncing: the next kick will do.
                let _ = kick.try_send(());
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.kick.take());
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}
