//! The emit phase: turns posts and their decisions into records, `--explain` lines and
//! the judging half of the run summary. The fused run and the sharded emit both write
//! through [`Emitter`].

use std::collections::VecDeque;
use std::sync::mpsc::Receiver;

use rayon::prelude::*;

use super::decide::{Decider, FirstCopyAt, PostDecision, ShardDecisions};
use super::plan::{Plan, Shard};
use super::read::{BATCHES_IN_FLIGHT, InputAt, PostSink, ShardReader, worker_failed, worker_pool};
use crate::config::Config;
use crate::error::Error;
use crate::input::InputSource;
use crate::output::LineSink;
use crate::output::record::{
    ExplainRecord, Field, FirstCopy, Hex16, Repeats, Similarity, Source, write_record,
};
use crate::output::stats::RunStats;
use crate::text::post::{DropCounts, Post, Reason};

/// What a written post looks like in its record.
struct Written {
    keep: Vec<bool>,
    repeats: Repeats,
    dropped: DropCounts,
}

/// Writes records and explain lines in input order, serialising on the workers.
pub struct Emitter<'a, 's> {
    config: &'a Config,
    pool: &'a rayon::ThreadPool,
    sources: &'a [InputSource],
    out: &'s mut dyn LineSink,
    explain: Option<&'s mut dyn LineSink>,
    /// The judging half of the run summary.
    pub stats: RunStats,
    /// Records of batches being serialised on the workers, in output order.
    serialising: VecDeque<Receiver<Vec<Vec<u8>>>>,
}

impl<'a, 's> Emitter<'a, 's> {
    /// An emitter writing records to `out` and explain lines to `explain`, naming first copies by `sources`.
    pub fn new(
        config: &'a Config,
        pool: &'a rayon::ThreadPool,
        sources: &'a [InputSource],
        out: &'s mut dyn LineSink,
        explain: Option<&'s mut dyn LineSink>,
    ) -> Self {
        Emitter {
            config,
            pool,
            sources,
            out,
            explain,
            stats: RunStats::default(),
            serialising: VecDeque::new(),
        }
    }

    /// Accounts for, explains and writes a batch of posts read from `at`, each with its
    /// decision.
    pub fn emit(
        &mut self,
        at: InputAt<'_>,
        mut posts: Vec<Post>,
        decisions: Vec<PostDecision>,
    ) -> Result<(), Error> {
        let mut written = Vec::with_capacity(posts.len());
        for (post, decision) in posts.iter().zip(decisions) {
            written.push(self.account(at, post, decision)?);
        }
        let file = at.name.to_owned();
        let format = at.format.name();
        let lang = self.config.lang;
        let fields = self.config.record_fields();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let lines: Vec<Vec<u8>> = posts
                .par_iter_mut()
                .zip(written.par_iter())
                .filter_map(|(post, w)| w.as_ref().map(|w| (post, w)))
                .map(|(post, w)| {
                    if fields.has(Field::Lang) {
                        post.lang = lang.detect(post);
                    }
                    let source = Source {
                        file: &file,
                        format,
                        line: post.line,
                        message_id: post.message_id,
                    };
                    // Text is written about twice (joined, then per paragraph).
                    let text: usize = post.paragraphs.iter().map(|p| p.text.len()).sum();
                    let mut line =
                        Vec::with_capacity(2 * text + 128 * post.paragraphs.len() + 1024);
                    write_record(
                        &mut line, post, &w.keep, &source, &w.dropped, w.repeats, fields,
                    );
                    line
                })
                .collect();
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(lines);
        });
        self.serialising.push_back(rx);
        self.write_serialised(BATCHES_IN_FLIGHT)
    }

    /// Writes serialised batches in order until at most `keep` are left in flight.
    fn write_serialised(&mut self, keep: usize) -> Result<(), Error> {
        while self.serialising.len() > keep {
            let Some(batch) = self.serialising.pop_front() else {
                break;
            };
            let lines = batch.recv().map_err(|_| worker_failed("records"))?;
            self.out.write_lines(&lines)?;
            self.stats.records_written += lines.len() as u64;
            if let Some(progress) = &self.config.progress {
                progress.0.add_records(lines.len() as u64);
            }
        }
        Ok(())
    }

    /// Writes what is still being serialised; returns the judging half of the summary.
    pub fn finish(mut self) -> Result<RunStats, Error> {
        self.write_serialised(0)?;
        Ok(self.stats)
    }

    /// Counts one post's paragraphs under what became of them, writes its explain lines,
    /// and says how its record looks, or `None` when it gives no record.
    fn account(
        &mut self,
        at: InputAt<'_>,
        post: &Post,
        decision: PostDecision,
    ) -> Result<Option<Written>, Error> {
        self.stats.posts_read += 1;
        self.stats.paragraphs.read += post.read;
        let mut dropped = post
            .dropped
            .clone()
            .with_channel_rule(self.config.boilerplate.is_some())
            .with_near_rule(self.config.near_dup().is_some());
        let n = post.paragraphs.len();
        let mut keep = vec![true; n];
        let mut explained = Explaining::default();
        let repeats = match decision {
            PostDecision::Empty => Repeats::default(),
            PostDecision::AllBoilerplate { boilerplate } => {
                explained.boilerplate = boilerplate;
                keep.fill(false);
                self.stats.boilerplate_posts += 1;
                Repeats::default()
            }
            PostDecision::Keep {
                dropped: gone,
                first_copies,
                boilerplate,
            } => {
                for &i in gone.iter().chain(boilerplate.iter().map(|b| &b.0)) {
                    if let Some(k) = keep.get_mut(i as usize) {
                        *k = false;
                    }
                }
                dropped.add(Reason::Duplicate, gone.len() as u64);
                explained.duplicates = gone;
                explained.first_copies = first_copies;
                explained.boilerplate = boilerplate;
                Repeats::default()
            }
            PostDecision::NearDuplicate {
                of,
                similarity_milli,
                first_copy,
                boilerplate,
            } => {
                self.stats.near_duplicate_posts += 1;
                let similarity = Similarity::near(f64::from(similarity_milli) / 1000.0);
                let first = first_copy.unwrap_or(FirstCopyAt {
                    id: Some(of),
                    at: None,
                });
                let repeat = WholeRepeat {
                    reason: Reason::NearDuplicate,
                    first,
                    similarity,
                    boilerplate,
                };
                self.repeat(repeat, &mut keep, &mut dropped, &mut explained);
                Repeats {
                    of: Some(of),
                    similarity: Some(similarity),
                }
            }
            PostDecision::Duplicate {
                of,
                first_copy,
                boilerplate,
            } => {
                self.stats.duplicate_posts += 1;
                let repeat = WholeRepeat {
                    reason: Reason::DuplicatePost,
                    first: first_copy.unwrap_or(FirstCopyAt { id: of, at: None }),
                    similarity: Similarity::Exact,
                    boilerplate,
                };
                self.repeat(repeat, &mut keep, &mut dropped, &mut explained);
                Repeats {
                    of,
                    similarity: Some(Similarity::Exact),
                }
            }
        };
        dropped.add(
            Reason::ChannelBoilerplate,
            explained.boilerplate.len() as u64,
        );
        self.explain_post(at, post, &explained)?;
        let written = keep.iter().filter(|k| **k).count() as u64;
        self.stats.paragraphs.written += written;
        self.stats.paragraphs.dropped.merge(&dropped);
        // No paragraph left (an empty post, all boilerplate, a duplicate not kept): no
        // record. Dedup always leaves a written post at least one paragraph.
        if written == 0 {
            return Ok(None);
        }
        Ok(Some(Written {
            keep,
            repeats,
            dropped,
        }))
    }

    /// A post that repeats an earlier one as a whole: its boilerplate goes, and unless
    /// `--keep-duplicates` the rest goes too, counted under the repeat's reason.
    fn repeat(
        &self,
        repeat: WholeRepeat,
        keep: &mut Vec<bool>,
        dropped: &mut DropCounts,
        explained: &mut Explaining,
    ) {
        for b in &repeat.boilerplate {
            if let Some(k) = keep.get_mut(b.0 as usize) {
                *k = false;
            }
        }
        explained.boilerplate = repeat.boilerplate;
        if !self.config.keep_duplicates {
            let rest = keep.iter().filter(|k| **k).count() as u64;
            dropped.add(repeat.reason, rest);
            explained.duplicate_post = Some(repeat.first);
            explained.similarity =
                (repeat.reason == Reason::NearDuplicate).then_some(repeat.similarity);
            explained.duplicate_post_keep = std::mem::take(keep);
        }
    }

    /// The source of a first copy, named for `--explain`.
    fn first_copy(&self, first: &FirstCopyAt) -> FirstCopy<'_> {
        FirstCopy {
            id: first.id.map(Hex16),
            source: first.at.map(|w| Source {
                file: self
                    .sources
                    .get(w.file as usize)
                    .map_or("", |s| s.name.as_str()),
                format: w.format.name(),
                line: w.line,
                message_id: w.message_id,
            }),
        }
    }

    /// Writes the `--explain` lines of one post: what reading dropped, its channel
    /// boilerplate, then the post as a duplicate or its paragraphs seen before.
    fn explain_post(
        &mut self,
        at: InputAt<'_>,
        post: &Post,
        what: &Explaining,
    ) -> Result<(), Error> {
        if self.explain.is_none() {
            return Ok(());
        }
        let mut lines = Vec::new();
        let source = |line| Source {
            file: at.name,
            format: at.format.name(),
            line,
            message_id: post.message_id,
        };
        let post_id = (!post.paragraphs.is_empty()).then_some(Hex16(post.id));
        for e in &post.explain {
            lines.push(explain_line(&ExplainRecord {
                reason: e.reason.name(),
                source: source(e.line),
                post: post_id,
                text: &e.text,
                duplicate_of: None,
                template_posts: None,
                similarity: None,
            })?);
        }
        for &(i, posts) in &what.boilerplate {
            let Some(p) = post.paragraphs.get(i as usize) else {
                continue;
            };
            lines.push(explain_line(&ExplainRecord {
                reason: Reason::ChannelBoilerplate.name(),
                source: source(p.line_number()),
                post: post_id,
                text: post.text_of(p),
                duplicate_of: None,
                template_posts: Some(posts),
                similarity: None,
            })?);
        }
        if let Some(first) = &what.duplicate_post {
            let text: Vec<&str> = post
                .paragraphs
                .iter()
                .zip(&what.duplicate_post_keep)
                .filter(|(_, k)| **k)
                .map(|(p, _)| post.text_of(p))
                .collect();
            let reason = match what.similarity {
                Some(_) => Reason::NearDuplicate,
                None => Reason::DuplicatePost,
            };
            lines.push(explain_line(&ExplainRecord {
                reason: reason.name(),
                source: source(post.line),
                post: post_id,
                text: &text.join("\n"),
                duplicate_of: Some(self.first_copy(first)),
                template_posts: None,
                similarity: what.similarity,
            })?);
        } else {
            for (&i, first) in what.duplicates.iter().zip(&what.first_copies) {
                let Some(p) = post.paragraphs.get(i as usize) else {
                    continue;
                };
                lines.push(explain_line(&ExplainRecord {
                    reason: Reason::Duplicate.name(),
                    source: source(p.line_number()),
                    post: post_id,
                    text: post.text_of(p),
                    duplicate_of: Some(self.first_copy(first)),
                    template_posts: None,
                    similarity: None,
                })?);
            }
        }
        match self.explain.as_mut() {
            Some(sink) => sink.write_lines(&lines),
            None => Ok(()),
        }
    }
}

/// A post found to repeat an earlier post as a whole.
struct WholeRepeat {
    /// `duplicate_post` or `near_duplicate`.
    reason: Reason,
    /// The earlier post.
    first: FirstCopyAt,
    similarity: Similarity,
    boilerplate: Vec<super::decide::BoilerplateAt>,
}

/// What `--explain` says of one post beyond what reading dropped.
#[derive(Default)]
struct Explaining {
    /// Paragraphs seen before, and the first copy of each.
    duplicates: Vec<u32>,
    first_copies: Vec<FirstCopyAt>,
    boilerplate: Vec<super::decide::BoilerplateAt>,
    /// The first copy of a duplicate post that is not written (the kept post, for a
    /// near-duplicate), and which of its paragraphs were not boilerplate.
    duplicate_post: Option<FirstCopyAt>,
    duplicate_post_keep: Vec<bool>,
    /// A near-duplicate's similarity to the kept post.
    similarity: Option<Similarity>,
}

fn explain_line(record: &ExplainRecord<'_>) -> Result<Vec<u8>, Error> {
    let mut line = serde_json::to_vec(record).map_err(|e| Error::Write {
        target: "explain".into(),
        source: e.into(),
    })?;
    line.push(b'\n');
    Ok(line)
}

/// The fused run's sink: decides each post as it comes, then emits it.
pub struct DecideAndEmit<'a, 's> {
    /// Judges each post as it comes.
    pub decider: Decider,
    /// Writes it.
    pub emitter: Emitter<'a, 's>,
}

impl PostSink for DecideAndEmit<'_, '_> {
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
        let decisions = posts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if let Some(next) = posts.get(i + 1) {
                    self.decider.prefetch(&next.id, &next.paragraphs);
                }
                let copy = super::scan::CopyAt {
                    file: at.index,
                    format: at.format,
                    line: p.line,
                    message_id: p.message_id,
                };
                let origin = super::scan::origin_hash(p, at.name);
                let sketch = if p.id_seen_before {
                    super::decide::Sketch::Unmade(p, at.name)
                } else {
                    super::decide::Sketch::Made(p.sketch.as_deref())
                };
                self.decider
                    .decide(p.id, origin, &p.paragraphs, copy, sketch)
            })
            .collect();
        self.emitter.emit(at, posts, decisions)
    }
}

/// The sharded emit's sink: takes the decisions made for the shard, in order.
struct EmitDecided<'a, 's> {
    decisions: std::vec::IntoIter<PostDecision>,
    emitter: Emitter<'a, 's>,
    shard: u32,
}

impl PostSink for EmitDecided<'_, '_> {
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
        let decisions: Vec<PostDecision> = self.decisions.by_ref().take(posts.len()).collect();
        if decisions.len() != posts.len() {
            return Err(Error::Config(format!(
                "shard {}: more posts read than were scanned (the input changed between scan \
                 and emit?)",
                self.shard
            )));
        }
        self.emitter.emit(at, posts, decisions)
    }
}

/// Emits one shard: reads it again, writes its records to `out` and its explain lines
/// to `explain`, and returns its part of the run summary. Input problems are reported
/// on stderr and counted.
///
/// ```no_run
/// use tgclean::engine::{decide, emit, plan, scan};
/// use tgclean::output::WriterSink;
/// let config = tgclean::Config::default();
/// let plan = plan(&config, 2)?;
/// let scans: Vec<_> = plan.shards.iter().map(|s| scan(&config, &plan, s)).collect::<Result<_, _>>()?;
/// let decisions = decide(&config, &scans, None);
/// for (shard, decided) in plan.shards.iter().zip(decisions.shards) {
///     let file = std::fs::File::create(format!("part-{}.jsonl", shard.index)).unwrap();
///     let mut part = WriterSink { writer: std::io::BufWriter::new(file), name: "part".into() };
///     let stats = emit(&config, &plan, shard, decided, &mut part, None)?;
///     eprintln!("shard {}: {} records", shard.index, stats.records_written);
/// }
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn emit<'s>(
    config: &Config,
    plan: &Plan,
    shard: &Shard,
    decisions: ShardDecisions,
    out: &'s mut dyn LineSink,
    explain: Option<&'s mut dyn LineSink>,
) -> Result<RunStats, Error> {
    let pool = worker_pool(config.threads)?;
    let expected = decisions.posts.len();
    let sink = EmitDecided {
        decisions: decisions.posts.into_iter(),
        emitter: Emitter::new(config, &pool, &plan.sources, out, explain),
        shard: shard.index,
    };
    let mut reader = ShardReader::new(config, &pool, sink, true);
    reader.read_pieces(&plan.sources, &shard.pieces)?;
    let ShardReader {
        sink, mut stats, ..
    } = reader;
    if sink.decisions.len() != 0 {
        return Err(Error::Config(format!(
            "shard {}: {} posts were scanned but {} read (the input changed between scan and \
             emit?)",
            shard.index,
            expected,
            expected - sink.decisions.len()
        )));
    }
    stats.merge(&sink.emitter.finish()?);
    Ok(stats)
}
