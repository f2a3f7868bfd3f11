//! Whole runs: the fused single-process run (scan, decide and emit as each batch is
//! read) and the sharded run (plan, scan every shard, decide over all, emit each), both
//! committed the same way.

use std::time::Instant;

use super::decide::{Decider, decide};
use super::emit::{DecideAndEmit, Emitter, emit};
use super::plan::Piece;
use super::plan::plan;
use super::read::{InputAt, PostSink, ShardReader, worker_pool};
use super::scan::{origin_hash, scan};
use super::spill::Spill;
use super::{commit, interrupt, state_file};
use crate::config::Config;
use crate::dedup::distinct::DistinctDigests;
use crate::error::Error;
use crate::input;
use crate::output::RecordSink;
use crate::output::stats::RunStats;
use crate::text::post::Post;

/// Notes the files passed over on stderr (media and export assets silently) and counts
/// them.
pub(super) fn note_skipped(config: &Config, skipped: &[String], media: u64, stats: &mut RunStats) {
    for s in skipped {
        if !config.quiet {
            eprintln!("tgclean: note: {s}");
        }
    }
    stats.skipped_files += skipped.len() as u64 + media;
}

/// Opens the record sink (hashed when a state will record the output's hash) and the
/// explain sink.
pub(super) fn open_sinks(config: &Config) -> Result<(RecordSink, Option<RecordSink>), Error> {
    // The output's hash is kept in the state, so it is only needed with one.
    let sink = if config.state.is_some() {
        RecordSink::open_hashed(config.output.as_deref())?
    } else {
        RecordSink::open(config.output.as_deref())?
    };
    Ok((sink, open_explain(config)?))
}

/// Opens the explain sink, when `--explain` is given.
fn open_explain(config: &Config) -> Result<Option<RecordSink>, Error> {
    match &config.explain {
        Some(path) => Ok(Some(RecordSink::open(Some(path))?)),
        None => Ok(None),
    }
}

/// Runs `clean` as configured, in one process, reading every input once. Input problems
/// are collected in `RunStats::errors` (and printed on stderr as they happen) while the
/// run goes on; only an output failure or an interruption stops it and returns `Err`.
///
/// ```no_run
/// let config = tgclean::Config {
///     inputs: vec![tgclean::InputSpec::Path("seeds".into())],
///     output: Some("clean.jsonl".into()),
///     ..tgclean::Config::default()
/// };
/// let stats = tgclean::clean(&config)?;
/// println!("{} records", stats.records_written);
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn clean(config: &Config) -> Result<RunStats, Error> {
    clean_into(config, None)
}

/// Runs `clean` as [`clean`] does, handing the records to `lines` batch by batch, in
/// output order, instead of writing `config.output`; the state, explain and stats files
/// are written as by [`clean`]. An error returned by `lines` stops the run (nothing is
/// committed). What a library caller streams records from.
///
/// ```no_run
/// let config = tgclean::Config {
///     inputs: vec![tgclean::InputSpec::Path("seeds".into())],
///     ..tgclean::Config::default()
/// };
/// let stats = tgclean::engine::clean_to(&config, |lines| {
///     for line in lines {
///         print!("{}", String::from_utf8_lossy(line));
///     }
///     Ok(())
/// })?;
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn clean_to(
    config: &Config,
    lines: impl FnMut(&[Vec<u8>]) -> std::io::Result<()> + Send + 'static,
) -> Result<RunStats, Error> {
    clean_into(config, Some(RecordSink::to_caller(lines)))
}

fn clean_into(config: &Config, records: Option<RecordSink>) -> Result<RunStats, Error> {
    let started = Instant::now();
    interrupt::clear();
    if config.handle_signals {
        interrupt::install_handler();
    }
    // The state is checked before anything is written: a bad one stops the run here.
    let (_lock, loaded) = state_file::lock_and_load(config)?.unzip();
    let pool = worker_pool(config.threads)?;
    let (mut sink, mut explain) = match records {
        Some(records) => (records, open_explain(config)?),
        None => open_sinks(config)?,
    };
    let mut decider = Decider::new(config, loaded, 0);
    let found = input::discover(&config.inputs, &config.own_files());
    let sources = &found.sources;
    let input_bytes: u64 = sources
        .iter()
        .filter_map(input::InputSource::file_len)
        .sum();
    decider.reserve_for(input_bytes);
    if let Some(progress) = &config.progress {
        progress.0.set_total(input_bytes);
    }
    // A rule over the whole run sees every post before the first is written: the first
    // pass reads and counts, keeping the posts it built in a spill that the second pass
    // replays, so no input is read (or parsed) twice and standard input needs no copy.
    let spill = if decider.counts_templates() {
        Some(Spill::new(&pool, config.pass_memory))
    } else {
        None
    };
    let emitter = Emitter::new(
        config,
        &pool,
        sources,
        &mut sink,
        explain
            .as_mut()
            .map(|e| e as &mut dyn crate::output::LineSink),
    );
    let (mut decider, emitter, mut stats) = match spill {
        Some(mut spill) => {
            let mut keys = DistinctDigests::default();
            let first = CountAndSpill {
                decider: &mut decider,
                spill: &mut spill,
                keys: &mut keys,
            };
            let stats = read_all(config, &pool, &found, first, false)?;
            decider.learn();
            decider.reserve_keys(keys.estimate());
            if let Some(progress) = &config.progress {
                progress.0.start_replay();
            }
            let sketcher = decider.sketcher();
            let mut fused = DecideAndEmit { decider, emitter };
            spill.replay(sources, &mut fused, sketcher)?;
            (fused.decider, fused.emitter, stats)
        }
        None => {
            // No boilerplate to leave out: posts are sketched as they are built.
            let sketch = decider.sketcher().is_some();
            let mut fused = DecideAndEmit { decider, emitter };
            let stats = read_all(config, &pool, &found, &mut fused, sketch)?;
            (fused.decider, fused.emitter, stats)
        }
    };
    stats.merge(&emitter.finish()?);
    interrupt::check()?;
    let state = config.state.as_ref().map(|_| decider.take_state());
    commit::commit(config, sink, explain, state, stats, started)
}

/// Reads every input found, in order, into `sink`; returns the reading half of the run
/// summary (with the files passed over and the inputs that could not be found).
fn read_all(
    config: &Config,
    pool: &rayon::ThreadPool,
    found: &input::Discovered,
    sink: impl PostSink,
    sketch_posts: bool,
) -> Result<RunStats, Error> {
    let mut reader = ShardReader::new(config, pool, sink, true);
    reader.sketch_posts = sketch_posts;
    note_skipped(config, &found.skipped, found.media, &mut reader.stats);
    for e in &found.errors {
        reader.input_error(e);
    }
    let pieces: Vec<Piece> = (0..found.sources.len())
        .map(|index| Piece {
            source: index as u32,
            range: None,
        })
        .collect();
    reader.read_pieces(&found.sources, &pieces)?;
    Ok(reader.stats)
}

/// The first pass of a two-pass run: counts each post's templates and spills the post
/// for the second.
struct CountAndSpill<'a, 'p> {
    decider: &'a mut Decider,
    spill: &'a mut Spill<'p>,
    /// The distinct paragraph keys of the posts held: about what the seen-set holds after
    /// the second pass, which is sized to them before it starts.
    keys: &'a mut DistinctDigests,
}

impl PostSink for CountAndSpill<'_, '_> {
    fn posts(&mut self, at: InputAt<'_>, mut posts: Vec<Post>) -> Result<(), Error> {
        for post in &mut posts {
            let origin = origin_hash(post, at.name);
            self.decider.count(post.id, origin, &post.paragraphs);
            for p in &post.paragraphs {
                if !self.decider.state_knows_key(&p.key) {
                    self.keys.insert(&p.key);
                }
            }
            post.id_seen_before = self.decider.id_seen_before(post.id);
        }
        self.decider.room_for_the_rest(at.read_bytes);
        self.spill.push(at, posts)
    }
}

/// Runs `clean` as [`clean`] does, through the phases: the inputs cut into at most
/// `shards` shards, each scanned, one decision over all scans, each shard emitted in
/// order. Gives the bytes and totals of [`clean`], for any shard count.
///
/// ```no_run
/// let config = tgclean::Config {
///     inputs: vec![tgclean::InputSpec::Path("seeds".into())],
///     output: Some("clean.jsonl".into()),
///     ..tgclean::Config::default()
/// };
/// let stats = tgclean::engine::clean_sharded(&config, 4)?;
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn clean_sharded(config: &Config, shards: usize) -> Result<RunStats, Error> {
    let started = Instant::now();
    interrupt::clear();
    if config.handle_signals {
        interrupt::install_handler();
    }
    let (_lock, loaded) = state_file::lock_and_load(config)?.unzip();
    let plan = plan(config, shards)?;
    let scans = plan
        .shards
        .iter()
        .map(|shard| scan(config, &plan, shard))
        .collect::<Result<Vec<_>, Error>>()?;
    interrupt::check()?;
    let decisions = decide(config, &scans, loaded);
    drop(scans);
    let (mut sink, mut explain) = open_sinks(config)?;
    let mut stats = RunStats::default();
    note_skipped(config, &plan.skipped, plan.media, &mut stats);
    for report in &plan.errors {
        eprintln!("tgclean: {report}");
        stats.errors.push(report.clone());
    }
    for (shard, decided) in plan.shards.iter().zip(decisions.shards) {
        let part = emit(
            config,
            &plan,
            shard,
            decided,
            &mut sink,
            explain
                .as_mut()
                .map(|e| e as &mut dyn crate::output::LineSink),
        )?;
        stats.merge(&part);
    }
    interrupt::check()?;
    let state = config.state.as_ref().map(|_| decisions.state);
    commit::commit(config, sink, explain, state, stats, started)
}
