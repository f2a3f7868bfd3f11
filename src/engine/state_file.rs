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
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SeenState::default()),
        Err(source) => {
            return Err(Error::Open {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let mut seen = state::decode(&bytes).map_err(|source| Error::State {
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

/// [`load`] when the run has a state.
pub fn load_if_any(path: Option<&Path>) -> Result<Option<SeenState>, Error> {
    path.map(load).transpose()
}
