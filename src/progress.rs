//! Counters a run keeps up to date as it goes (bytes read, records written), so that a
//! caller can show progress while the run works; drawing it is the caller's business.

use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Called once when the run has finished working, before it prints its summary.
type FinishHook = Box<dyn FnOnce() + Send>;

/// How far a run is. Read from any thread while the run updates it.
#[derive(Default)]
pub struct Progress {
    read: AtomicU64,
    total: AtomicU64,
    records: AtomicU64,
    replaying: AtomicBool,
    on_finish: Mutex<Option<FinishHook>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("read", &self.bytes_read())
            .field("total", &self.bytes_total())
            .field("records", &self.records())
            .field("replaying", &self.replaying())
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Runs `hook` when the run has finished working and before it prints anything
    /// more (so that a progress line can be cleared first).
    pub fn on_finish(&self, hook: impl FnOnce() + Send + 'static) {
        if let Ok(mut slot) = self.on_finish.lock() {
            *slot = Some(Box::new(hook));
        }
    }

    /// Calls the hook given to [`Progress::on_finish`], once.
    pub fn finish(&self) {
        let hook = self.on_finish.lock().ok().and_then(|mut slot| slot.take());
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Input bytes read so far (after decompression).
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Bytes of the run's input files (compressed sizes for compressed files; standard
    /// input counts 0), known once the inputs are found.
    pub fn bytes_total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// True once every input is read and a second pass writes the records.
    pub fn replaying(&self) -> bool {
        self.replaying.load(Ordering::Relaxed)
    }

    pub(crate) fn set_total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn start_replay(&self) {
        self.replaying.store(true, Ordering::Relaxed);
    }
}

/// A shared [`Progress`], compared by identity so that a `Config` holding one stays
/// comparable.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(pub Arc<Progress>);

impl PartialEq for ProgressHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A reader that adds what is taken from it to a run's [`Progress`].
pub(crate) struct CountedReader<R> {
    inner: R,
    progress: Arc<Progress>,
}

impl<R> CountedReader<R> {
    pub(crate) fn new(inner: R, progress: Arc<Progress>) -> Self {
        CountedReader { inner, progress }
    }
}

impl<R: Read> Read for CountedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountedReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.progress.read.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_consumes_are_counted_once_each() {
        let progress = Arc::new(Progress::default());
        let mut r = CountedReader::new(&b"hello\nworld\n"[..], Arc::clone(&progress));
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(progress.bytes_read(), 6);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(progress.bytes_read(), 12);
    }

    #[test]
    fn the_finish_hook_runs_once() {
        let progress = Progress::default();
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        progress.on_finish(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        progress.finish();
        progress.finish();
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn handles_are_equal_only_to_themselves() {
        let a = ProgressHandle::default();
        assert_eq!(a, a.clone());
        assert_ne!(a, ProgressHandle::default());
    }
}
