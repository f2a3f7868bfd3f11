//! Ctrl-C and SIGTERM: a flag the phases check between batches, so a stopped run commits
//! nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;

/// Set by SIGINT/SIGTERM: the run stops at the next batch and commits nothing.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Routes SIGINT and SIGTERM to the flag.
pub fn install_handler() {
    // A process runs `clean` once, but tests run it many times: only the first
    // registration succeeds, and the others need none.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

/// `Err(Interrupted)` once a signal has arrived.
pub fn check() -> Result<(), Error> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(())
}
