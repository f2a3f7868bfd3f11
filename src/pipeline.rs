//! Runs `clean`: inputs → lines → posts → keys (in parallel) → dedup (in input order) →
//! records. Dedup has a single owner, so the output is the same for any thread count.

use std::time::Instant;

use rayon::prelude::*;

use crate::config::{Config, Format, StatsTarget};
use crate::dedup::{Deduper, Verdict};
use crate::error::Error;
use crate::input::{self, InputSource, Sniffed};
use crate::normalise;
use crate::output::{self, RecordSink};
use crate::post::{Post, Reason, build_post};
use crate::record::{Record, Source};
use crate::segment::{PostSegmenter, RawPost};
use crate::stats::RunStats;

/// Posts handed to the worker threads at once: enough to amortise the hand-off, small
/// enough that memory stays flat.
const BATCH_POSTS: usize = 256;

/// Runs `clean` as configured. Input problems are collected in `RunStats::errors` (and
/// printed on stderr as they happen) while the run goes on; only an output failure stops
/// it and returns `Err`.
pub fn run(config: &Config) -> Result<RunStats, Error> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.max(1))
        .build()
        .map_err(|e| Error::Config(format!("cannot start worker threads: {e}")))?;
    let mut cleaner = Cleaner {
        config,
        deduper: Deduper::new(config.dedup, config.min_dedup_chars),
        sink: RecordSink::open(config.output.as_deref())?,
        stats: RunStats::default(),
        pool,
    };
    let (sources, errors) = input::discover(&config.inputs);
    for e in errors {
        cleaner.input_error(&e);
    }
    for source in &sources {
        cleaner.clean_source(source)?;
    }
    let Cleaner {
        sink, mut stats, ..
    } = cleaner;
    sink.commit()?;
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

struct Cleaner<'c> {
    config: &'c Config,
    deduper: Deduper,
    sink: RecordSink,
    stats: RunStats,
    pool: rayon::ThreadPool,
}

impl Cleaner<'_> {
    fn input_error(&mut self, e: &Error) {
        let report = e.report();
        eprintln!("tgclean: {report}");
        self.stats.errors.push(report);
    }

    /// Reads one input to the end. Returns `Err` only for output failures.
    fn clean_source(&mut self, source: &InputSource) -> Result<(), Error> {
        self.stats.inputs += 1;
        let mut reader = match source.open() {
            Ok(r) => r,
            Err(e) => {
                self.input_error(&e);
                return Ok(());
            }
        };
        let sniffed = match reader.fill_buf() {
            Ok(head) => input::sniff(head),
            Err(source_err) => {
                self.input_error(&Error::Read {
                    path: source.name.clone(),
                    line: 1,
                    source: source_err,
                });
                return Ok(());
            }
        };
        let refusal = match (sniffed, self.config.format) {
            (Sniffed::Binary, _) => Some(Error::Binary {
                path: source.name.clone(),
            }),
            (Sniffed::Json, Format::Auto) => Some(Error::UnsupportedFormat {
                path: source.name.clone(),
                guess: "JSON",
            }),
            (Sniffed::Html, Format::Auto) => Some(Error::UnsupportedFormat {
                path: source.name.clone(),
                guess: "HTML",
            }),
            _ => None,
        };
        if let Some(e) = refusal {
            self.input_error(&e);
            return Ok(());
        }

        let mut segmenter = PostSegmenter::new();
        let mut batch: Vec<RawPost> = Vec::with_capacity(BATCH_POSTS);
        let read = input::for_each_line(&source.name, &mut *reader, |line_no, line| {
            let display = normalise::display_text(line);
            segmenter.push(line_no, &display, &mut batch);
            if batch.len() >= BATCH_POSTS {
                self.process_batch(&source.name, &mut batch)?;
            }
            Ok(())
        });
        // Whatever was read before a read error is still cleaned and written.
        segmenter.finish(&mut batch);
        self.process_batch(&source.name, &mut batch)?;
        match read {
            Ok(counts) => {
                self.stats.bytes += counts.bytes;
                self.stats.invalid_utf8 += counts.invalid_utf8;
            }
            Err(e @ Error::Write { .. }) => return Err(e),
            Err(e) => self.input_error(&e),
        }
        Ok(())
    }

    fn process_batch(&mut self, file: &str, batch: &mut Vec<RawPost>) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let raws = std::mem::take(batch);
        let posts: Vec<Post> = self
            .pool
            .install(|| raws.into_par_iter().map(build_post).collect());
        for post in &posts {
            self.emit(file, post)?;
        }
        Ok(())
    }

    /// Dedups one post in input order and writes its record, keeping the accounting.
    fn emit(&mut self, file: &str, post: &Post) -> Result<(), Error> {
        self.stats.posts_read += 1;
        self.stats.paragraphs.read += post.read;
        let mut dropped = post.dropped.clone();
        let n = post.paragraphs.len();
        if n == 0 {
            self.stats.paragraphs.dropped.merge(&dropped);
            return Ok(());
        }
        let (keep, duplicate_of) = match self.deduper.judge(post) {
            Verdict::Keep { keep } => {
                let gone = keep.iter().filter(|k| !**k).count() as u64;
                dropped.add(Reason::Duplicate, gone);
                (keep, None)
            }
            Verdict::Duplicate { of } => {
                self.stats.duplicate_posts += 1;
                if !self.config.keep_duplicates {
                    dropped.add(Reason::DuplicatePost, n as u64);
                    self.stats.paragraphs.dropped.merge(&dropped);
                    return Ok(());
                }
                (vec![true; n], Some(of))
            }
        };
        self.stats.paragraphs.written += keep.iter().filter(|k| **k).count() as u64;
        self.stats.paragraphs.dropped.merge(&dropped);
        let source = Source {
            file,
            format: "text",
            line: Some(post.line),
            message_id: None,
        };
        let record = Record::new(post, &keep, source, &dropped, duplicate_of);
        self.sink.write_record(&record)?;
        self.stats.records_written += 1;
        Ok(())
    }
}
