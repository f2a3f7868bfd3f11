//! Draws a run's progress on stderr while it works, when stderr is a terminal and the
//! run is not `--quiet`: bytes read of the total, MB/s, ETA for files, records written.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tgclean::Config;
use tgclean::progress::{Progress, ProgressHandle};

/// How often the counters are read; indicatif draws at most this often too.
const TICK: Duration = Duration::from_millis(100);

/// A progress line being drawn; dropping it stops and clears it.
pub struct ProgressLine {
    stop: Arc<AtomicBool>,
    bar: ProgressBar,
    drawer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
        }
        self.bar.finish_and_clear();
    }
}

/// Starts a progress line for `config`'s run, unless stderr is not a terminal or the
/// run is quiet.
pub fn start(config: &mut Config) -> Option<ProgressLine> {
    if config.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let handle = ProgressHandle::default();
    config.progress = Some(handle.clone());
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    let cleared = bar.clone();
    // The run clears the line itself before it prints its summary.
    handle.0.on_finish(move || cleared.finish_and_clear());
    let stop = Arc::new(AtomicBool::new(false));
    let drawer = {
        let (bar, stop, progress) = (bar.clone(), Arc::clone(&stop), Arc::clone(&handle.0));
        std::thread::Builder::new()
            .name("tgclean-progress".into())
            .spawn(move || draw(&bar, &stop, &progress))
            .ok()
    };
    Some(ProgressLine { stop, bar, drawer })
}

/// Redraws the line from the counters until told to stop or the bar is finished.
fn draw(bar: &ProgressBar, stop: &AtomicBool, progress: &Progress) {
    let with_total = ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    );
    let without_total =
        ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec} {msg}");
    let mut styled = None;
    while !stop.load(Ordering::Relaxed) && !bar.is_finished() {
        let (read, total) = (progress.bytes_read(), progress.bytes_total());
        let has_total = total > 0;
        if styled != Some(has_total) {
            let style = if has_total {
                &with_total
            } else {
                &without_total
            };
            if let Ok(style) = style {
                bar.set_style(style.clone());
            }
            styled = Some(has_total);
        }
        if has_total {
            // A compressed input reads more bytes than its file holds.
            bar.set_length(total.max(read));
        }
        bar.set_position(read);
        let stage = if progress.replaying() {
            "writing"
        } else {
            "read"
        };
        bar.set_message(format!("{stage}, {} records", progress.records()));
        std::thread::sleep(TICK);
    }
}
