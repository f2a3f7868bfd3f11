//! A run driven from outside: a cluster scans, decides and emits in tasks of its own,
//! and the driver starts the run (state lock, plan) and finishes it (the shards' parts
//! joined in shard order, then output, state and summary committed as
//! [`clean`](super::clean) commits them).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::decide::ShardDecisions;
use super::plan::{Plan, Shard, plan};
use super::run::{note_skipped, open_sinks};
use super::state_file::{self, StateLock};
use super::{commit, emit, interrupt};
use crate::config::Config;
use crate::dedup::state::SeenState;
use crate::error::Error;
use crate::output::stats::RunStats;
use crate::output::{LineSink, WriterSink};

/// A run whose phases run elsewhere, as its driver holds it: the configuration, the
/// plan, and the state's lock until the run is finished or dropped.
#[derive(Debug)]
pub struct DrivenRun {
    config: Config,
    plan: Plan,
    _lock: Option<StateLock>,
    started: Instant,
}

impl DrivenRun {
    /// Starts a run of `config` cut into at most `shards` shards: takes the state's lock
    /// (the tasks that decide read the state; only [`DrivenRun::finish`] writes it).
    pub fn start(config: Config, shards: usize) -> Result<DrivenRun, Error> {
        let started = Instant::now();
        interrupt::clear();
        let lock = match &config.state {
            Some(path) => Some(state_file::lock(path, config.lock_timeout)?),
            None => None,
        };
        let plan = plan(&config, shards)?;
        Ok(DrivenRun {
            config,
            plan,
            _lock: lock,
            started,
        })
    }

    /// The run's plan, for the tasks (see [`super::wire::encode_plan`]).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Finishes the run: joins the shards' `parts` (and `explain_parts`, with
    /// `--explain`) in shard order into the output, adds up the shards' stats, and
    /// commits output, `state` and summary. A missing part is an error naming its
    /// shard, and nothing is committed.
    pub fn finish(
        self,
        parts: &[PathBuf],
        explain_parts: &[PathBuf],
        shard_stats: &[RunStats],
        state: Option<SeenState>,
    ) -> Result<RunStats, Error> {
        let shards = self.plan.shards.len();
        if parts.len() != shards || shard_stats.len() != shards {
            return Err(Error::Config(format!(
                "the run has {shards} shards, but {} parts and {} stats came back",
                parts.len(),
                shard_stats.len()
            )));
        }
        let (mut sink, mut explain) = open_sinks(&self.config)?;
        let mut stats = RunStats::default();
        note_skipped(
            &self.config,
            &self.plan.skipped,
            self.plan.media,
            &mut stats,
        );
        for report in &self.plan.errors {
            if !self.config.quiet {
                eprintln!("tgclean: {report}");
            }
            stats.errors.push(report.clone());
        }
        for (shard, (part, part_stats)) in parts.iter().zip(shard_stats).enumerate() {
            copy_part(shard, part, &mut sink)?;
            if let Some(explain) = explain.as_mut() {
                let part = explain_parts.get(shard).ok_or_else(|| {
                    Error::Config(format!("shard {shard}: no explain part came back"))
                })?;
                copy_part(shard, part, explain)?;
            }
            stats.merge(part_stats);
            interrupt::check()?;
        }
        let state = self.config.state.as_ref().and(state);
        commit::commit(&self.config, sink, explain, state, stats, self.started)
    }
}

/// Appends the part of shard `shard` at `path` to `sink`.
fn copy_part(shard: usize, path: &Path, sink: &mut dyn LineSink) -> Result<(), Error> {
    let open_error = |source| Error::Open {
        path: format!("part of shard {shard}: {}", path.display()),
        source,
    };
    let mut file = File::open(path).map_err(open_error)?;
    let mut chunk = vec![0u8; PART_CHUNK];
    loop {
        let n = file.read(&mut chunk).map_err(open_error)?;
        if n == 0 {
            return Ok(());
        }
        // A sink takes whole lines in the one-process run; here a chunk ends anywhere,
        // which a file sink does not mind (it writes and hashes bytes).
        let mut piece = std::mem::take(&mut chunk);
        piece.truncate(n);
        sink.write_lines(std::slice::from_ref(&piece))?;
        chunk = piece;
        chunk.resize(PART_CHUNK, 0);
    }
}

/// Bytes copied from a part at a time.
const PART_CHUNK: usize = 1 << 20;

/// Emits `shard` of `plan` with its `decisions` into the file `part` (and its explain
/// lines into `explain_part`, with `--explain`); the shard's stats. Run in a task.
pub fn emit_part(
    config: &Config,
    plan: &Plan,
    shard: &Shard,
    decisions: ShardDecisions,
    part: &Path,
    explain_part: Option<&Path>,
) -> Result<RunStats, Error> {
    let create = |path: &Path| -> Result<WriterSink<BufWriter<File>>, Error> {
        let file = File::create(path).map_err(|source| Error::Open {
            path: path.display().to_string(),
            source,
        })?;
        Ok(WriterSink {
            writer: BufWriter::with_capacity(1 << 20, file),
            name: path.display().to_string(),
        })
    };
    let mut out = create(part)?;
    let mut explain = explain_part.map(create).transpose()?;
    let stats = emit(
        config,
        plan,
        shard,
        decisions,
        &mut out,
        explain.as_mut().map(|e| e as &mut dyn LineSink),
    )?;
    for sink in std::iter::once(&mut out).chain(explain.as_mut()) {
        sink.writer.flush().map_err(|source| Error::Write {
            target: sink.name.clone(),
            source,
        })?;
    }
    Ok(stats)
}
