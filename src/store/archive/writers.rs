//! Worker threads that write small files' contents for the unpack.
//!
//! A restore of a `node_modules` tree is bound by creating tens of thousands of files (the
//! kernel's inode allocation), not by zstd. So the unpack's coordinating thread decompresses,
//! parses, checks and hashes, and hands each small file — its final path, its whole content
//! already read from the archive, mode and mtime — to these workers, which create, write and
//! close it while the coordinator moves on.
//!
//! The workers decide nothing: every path they get was resolved and checked by the
//! coordinator, its parents are directories this restore verified, and nothing is in the
//! way (the coordinator cleared it). They open with `O_CREAT|O_EXCL|O_NOFOLLOW`, so even if
//! that were not so they would fail rather than write through a symlink or over a file.
//! The coordinator must call [`Writers::flush`] before it changes anything a pending job
//! depends on (see `Extractor::settle` in `extract.rs`).
//!
//! Memory is bounded: [`Writers::submit`] blocks while more than [`MAX_IN_FLIGHT`] bytes are
//! queued or being written.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::create;
use super::error::{local, UnpackError};

/// Most bytes of file content queued or being written at once.
pub const MAX_IN_FLIGHT: u64 = 8 << 20;
/// What a job counts for beyond its content (path, bookkeeping), so that a stream of empty
/// files is bounded too.
const JOB_OVERHEAD: u64 = 1024;
/// Jobs go to the workers in batches of this many (or fewer, on a flush): one wake-up per
/// batch instead of one per file.
const BATCH_JOBS: usize = 32;
/// …or of this many bytes of content.
const BATCH_BYTES: u64 = 1 << 20;

/// One file for a worker to create.
pub struct Job {
    pub path: PathBuf,
    pub data: Vec<u8>,
    pub mode: u32,
    pub mtime: u64,
}

impl Job {
    fn cost(&self) -> u64 {
        self.data.len() as u64 + JOB_OVERHEAD
    }
}

fn cost(batch: &[Job]) -> u64 {
    batch.iter().map(Job::cost).sum()
}

#[derive(Default)]
struct State {
    /// Batches sent and not yet finished.
    jobs: usize,
    /// Their cost.
    bytes: u64,
    /// The first failure of a worker.
    error: Option<UnpackError>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// Set with `error`: later jobs are dropped unwritten.
    failed: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks a job finished even if writing it panics, so the coordinator never waits forever.
struct Done<'a> {
    shared: &'a Shared,
    cost: u64,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.jobs -= 1;
        state.bytes -= self.cost;
        drop(state);
        self.shared.changed.notify_all();
    }
}

pub struct Writers {
    tx: Option<Sender<Vec<Job>>>,
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<Vec<PathBuf>>>,
    /// Jobs not yet sent.
    batch: Vec<Job>,
    batch_bytes: u64,
}

impl Writers {
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<Job>>();
        let rx = Arc::new(Mutex::new(rx));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            failed: AtomicBool::new(false),
        });
        let handles = (0..threads.max(1))
            .map(|_| {
                let rx = Arc::clone(&rx);
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || work(&rx, &shared))
            })
            .collect();
        Self {
            tx: Some(tx),
            shared,
            handles,
            batch: Vec::with_capacity(BATCH_JOBS),
            batch_bytes: 0,
        }
    }

    /// Queues a job. Fails with a worker's error once one has failed.
    pub fn submit(&mut self, job: Job) -> Result<(), UnpackError> {
        self.batch_bytes += job.data.len() as u64;
        self.batch.push(job);
        if self.batch.len() >= BATCH_JOBS || self.batch_bytes >= BATCH_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the current batch, first waiting until it fits in the in-flight budget.
    fn send(&mut self) -> Result<(), UnpackError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_JOBS));
        self.batch_bytes = 0;
        let cost = cost(&batch);
        let mut state = self.shared.lock();
        while state.jobs > 0 && state.bytes + cost > MAX_IN_FLIGHT && state.error.is_none() {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        state.jobs += 1;
        state.bytes += cost;
        drop(state);
        self.tx
            .as_ref()
            .expect("no job is submitted after finish")
            .send(batch)
            .expect("workers live until finish");
        Ok(())
    }

    /// Waits until every submitted job is finished; fails with a worker's error.
    pub fn flush(&mut self) -> Result<(), UnpackError> {
        self.send()?;
        let mut state = self.shared.lock();
        while state.jobs > 0 {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match state.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Finishes the queued jobs (or drops them unwritten when `abandon`), stops the workers
    /// and returns every file they created plus the first error, if any.
    pub fn finish(&mut self, abandon: bool) -> (Vec<PathBuf>, Option<UnpackError>) {
        if abandon {
            self.shared.failed.store(true, Ordering::SeqCst);
            self.batch.clear();
        } else if let Err(e) = self.send() {
            self.shared.lock().error.get_or_insert(e);
        }
        drop(self.tx.take());
        let mut created = Vec::new();
        for handle in self.handles.drain(..) {
            match handle.join() {
                Ok(paths) => created.extend(paths),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (created, self.shared.lock().error.take())
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            let _ = self.finish(true);
        }
    }
}

fn work(rx: &Mutex<Receiver<Vec<Job>>>, shared: &Shared) -> Vec<PathBuf> {
    let mut created = Vec::new();
    loop {
        // The lock is held only while waiting for the next batch.
        let Ok(batch) = rx.lock().unwrap_or_else(PoisonError::into_inner).recv() else {
            return created;
        };
        let _done = Done {
            shared,
            cost: cost(&batch),
        };
        for job in &batch {
            if shared.failed.load(Ordering::SeqCst) {
                break;
            }
            if let Err(e) = write(job, &mut created) {
                let mut state = shared.lock();
                state.error.get_or_insert(e);
                shared.failed.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Creates one file; `created` gets its path as soon as it exists, for clean-up.
fn write(job: &Job, created: &mut Vec<PathBuf>) -> Result<(), UnpackError> {
    let mut file = create::create_new(&job.path).map_err(|e| local(&job.path, e))?;
    created.push(job.path.clone());
    file.write_all(&job.data)
        .and_then(|()| create::finish(&file, job.mode, job.mtime))
        .map_err(|e| local(&job.path, e))
}
