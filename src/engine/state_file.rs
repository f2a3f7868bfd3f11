//! Reads `--state` from disk and settles its delta against the output it was written with.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::dedup::state::{self, SeenState};
use crate::error::Error;

/// SHA-256 of a file, or `None` when it cannot be read.
fn file_sha256(path: &Path) -> Option<[u8; 32]> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(hash.finalize().into()),
            Ok(n) => hash.update(&buf[..n]),
            Err(_) => return None,
        }
    }
}

/// Reads `--state`: a missing file is a first run (empty); anything unreadable or invalid
/// is refused. The delta of the last run counts only if the output it was written with
/// is still the file at its path (see [`crate::dedup::state`]).
pub fn load(path: &Path) -> Result<SeenState, Error> {
    let open = |source| Error::Open {
        path: path.display().to_string(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SeenState::default()),
        Err(source) => return Err(open(source)),
    };
    let len = file.metadata().map_err(open)?.len();
    let mut seen =
        state::read_from(std::io::BufReader::new(file), len).map_err(|source| Error::State {
            path: path.display().to_string(),
            source,
        })?;
    match &seen.output {
        Some((hash, out)) => match file_sha256(Path::new(out)) {
            Some(now) if now != *hash => seen.reject_delta(),
            _ => seen.accept_delta(),
        },
        None => seen.accept_delta(),
    }
    Ok(seen)
}

/// Locks and loads the run's state, when it has one: the lock is held until dropped.
pub fn lock_and_load(
    config: &crate::config::Config,
) -> Result<Option<(StateLock, SeenState)>, Error> {
    let Some(path) = config.state.as_deref() else {
        return Ok(None);
    };
    let lock = lock(path, config.lock_timeout)?;
    Ok(Some((lock, load(path)?)))
}

/// An exclusive lock on a state file, held for a whole run: a lock file beside it
/// (`<state>.lock`) locked with `flock`, so that two runs sharing one state take turns
/// instead of each writing back what it read and losing the other's keys. The lock goes
/// when the process ends, however it ends.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// How often a run waiting for the state's lock tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Takes the lock on `state`, waiting for it (at most `timeout`, when given) with a
/// message on stderr.
pub fn lock(state: &Path, timeout: Option<std::time::Duration>) -> Result<StateLock, Error> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| Error::Open {
            path: lock_path.display().to_string(),
            source,
        })?;
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        if try_lock(&file) {
            return Ok(StateLock { _file: file });
        }
        super::interrupt::check()?;
        if let Some(limit) = timeout
            && started.elapsed() >= limit
        {
            return Err(Error::Config(format!(
                "{}: another run still holds its lock after {:.0} s (--lock-timeout)",
                state.display(),
                limit.as_secs_f64()
            )));
        }
        if !said {
            eprintln!(
                "tgclean: waiting for {}: another run is using this state",
                lock_path.display()
            );
            said = true;
        }
        std::thread::sleep(LOCK_POLL);
    }
}

#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this process owns; it changes no memory.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> bool {
    true
}
