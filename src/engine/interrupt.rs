//! Ctrl-C and SIGTERM: a flag the phases check between batches, so a stopped run commits
//! nothing; and, for the command line, an exit within a second even while a read blocks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Error;
use crate::output::temps;

/// Set by SIGINT/SIGTERM: the run stops at the next batch and commits nothing.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Set by [`exit_on_signal`]: a signal also ends the process if the run has not stopped
/// by itself within [`GRACE`].
static EXIT_WHEN_BLOCKED: AtomicBool = AtomicBool::new(false);

/// How long a run may take to stop by itself after a signal. A run blocked in a read (a
/// FIFO nobody writes, a stalled network mount) never gets to the next batch.
const GRACE: Duration = Duration::from_millis(600);

/// Routes SIGINT and SIGTERM to the flag.
pub fn install_handler() {
    // A process runs `clean` once, but tests run it many times: only the first
    // registration succeeds, and the others need none.
    let _ = ctrlc::set_handler(|| {
        let first = !INTERRUPTED.swap(true, Ordering::SeqCst);
        if !EXIT_WHEN_BLOCKED.load(Ordering::SeqCst) {
            return;
        }
        if first {
            std::thread::spawn(|| {
                std::thread::sleep(GRACE);
                give_up()
            });
        } else {
            // A second Ctrl-C: the user does not want to wait.
            give_up()
        }
    });
}

/// For the command line: after SIGINT or SIGTERM the process ends with exit code 130
/// within a second, its temporary files removed, whatever it is doing — a library
/// caller (a Python notebook) instead gets `Error::Interrupted` from the run.
pub fn exit_on_signal() {
    EXIT_WHEN_BLOCKED.store(true, Ordering::SeqCst);
    install_handler();
}

fn give_up() -> ! {
    temps::remove_all();
    eprintln!("tgclean: interrupted; nothing was committed");
    std::process::exit(130)
}

/// Stops the runs going on at their next batch, as a signal would: for a host that keeps
/// its own signal handling (Python's `KeyboardInterrupt`) and runs with
/// `Config::handle_signals` off.
pub fn request() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Forgets an interruption: a run starts with none, even in a process (a notebook) whose
/// earlier run was stopped.
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// `Err(Interrupted)` once a signal has arrived.
pub fn check() -> Result<(), Error> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(())
}
