//! Ends a run: installs the output, the state and the explain file in the order that
//! keeps them consistent after a crash, then writes the run summary.

use std::time::Instant;

use crate::config::{Config, StatsTarget};
use crate::dedup::state::{self, SeenState};
use crate::error::Error;
use crate::output::stats::RunStats;
use crate::output::{self, RecordSink};

/// Commits a finished run's files and writes its summary.
pub fn commit(
    config: &Config,
    sink: RecordSink,
    explain: Option<RecordSink>,
    state: Option<SeenState>,
    mut stats: RunStats,
    started: Instant,
) -> Result<RunStats, Error> {
    if let Some(progress) = &config.progress {
        progress.0.finish();
    }
    let output = sink.finish()?;
    let explain = match explain {
        Some(e) => e.finish()?,
        None => None,
    };
    if let (Some(path), Some(mut seen)) = (&config.state, state) {
        if let Some(out) = &output
            && let Some(hash) = out.sha256
        {
            let target = std::path::absolute(out.target()).unwrap_or(out.target().to_path_buf());
            seen.output = Some((hash, target.display().to_string()));
        }
        // The state goes first: if the run dies between the two renames, the state's
        // delta does not match the (old) output and is ignored on the next load.
        output::prepare_file_with(path, |out| state::write_to(&mut seen, out))?.install()?;
    }
    if let Some(out) = output {
        out.install()?;
    }
    if let Some(e) = explain {
        e.install()?;
    }
    stats.set_elapsed(started.elapsed().as_secs_f64());
    write_stats(config, &stats)?;
    Ok(stats)
}

fn write_stats(config: &Config, stats: &RunStats) -> Result<(), Error> {
    let json = serde_json::to_string(stats).map_err(|e| Error::Write {
        target: "stats".into(),
        source: e.into(),
    })?;
    match &config.stats {
        None => {}
        Some(StatsTarget::Stderr) => eprintln!("{json}"),
        Some(StatsTarget::File(path)) => {
            output::write_file_atomically(path, format!("{json}\n").as_bytes())?
        }
    }
    if !config.quiet {
        eprintln!("{}", stats.summary_line());
    }
    Ok(())
}
