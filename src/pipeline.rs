//! Runs `clean`: inputs → lines or messages → posts → keys (in parallel) → dedup (in
//! input order) → records. Dedup has a single owner, so the output is the same for any
//! thread count.

use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sha2::{Digest, Sha256};

use rayon::prelude::*;

use crate::config::{Config, Format, StatsTarget};
use crate::dedup::{Deduper, Verdict};
use crate::error::Error;
use crate::formats::export_split::split_export as tg_json_split;
use crate::formats::{ItemSink, jsonl, tg_html::TgHtmlReader, tg_json, tme_html::TmeHtmlReader};
use crate::input::{self, CountingReader, InputSource, Sniffed};
use crate::message::{Item, Message, Skip, message_post};
use crate::normalise;
use crate::normalise::Digest16;
use crate::output::{self, RecordSink};
use crate::post::{Post, Reason, build_post};
use crate::record::{ExplainRecord, FirstCopy, Hex16, Source, write_record};
use crate::segment::{self, PostSegmenter};
use crate::state::{self, SeenState};
use crate::stats::RunStats;

/// Set by SIGINT/SIGTERM: the run stops at the next batch and commits nothing.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn install_interrupt_handler() {
    // A process runs `run` once, but tests run it many times: only the first
    // registration succeeds, and the others need none.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

fn check_interrupt() -> Result<(), Error> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(())
}

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
/// is still the file at its path (see `state`).
fn load_state(path: &Path) -> Result<SeenState, Error> {
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

/// Room is made in the seen-set for one paragraph key per this many bytes of input, at
/// the start. Dumps have more (the generated one 1.55 per KiB, the real samples in
/// ../shared/realdata 1.6 to 2.9), so the set still grows on most inputs, but from near
/// its final size. An input of nothing but repeats gets room it does not use: about 4%
/// of its size in address space, of which only the table's control bytes (about 0.1% of
/// the input) are written.
const INPUT_BYTES_PER_KEY: u64 = 1024;

/// Posts handed to the worker threads at once: enough to amortise the hand-off, small
/// enough that memory stays flat.
const BATCH_POSTS: usize = 256;

/// Runs `clean` as configured. Input problems are collected in `RunStats::errors` (and
/// printed on stderr as they happen) while the run goes on; only an output failure stops
/// it and returns `Err`.
pub fn run(config: &Config) -> Result<RunStats, Error> {
    let started = Instant::now();
    install_interrupt_handler();
    // The state is checked before anything is written: a bad one stops the run here.
    let loaded = match &config.state {
        Some(path) => Some(load_state(path)?),
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.max(1))
        .thread_name(|i| format!("tgclean-worker-{i}"))
        // A job that panics drops its result channel; the run then reports the failed
        // batch as an error instead of aborting.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| Error::Config(format!("cannot start worker threads: {e}")))?;
    let mut deduper = Deduper::new(config.dedup, config.min_dedup_chars);
    if let Some(seen) = &loaded {
        deduper.preload(seen);
    }
    let explain = match &config.explain {
        Some(path) => Some(RecordSink::open(Some(path))?),
        None => None,
    };
    let mut cleaner = Cleaner {
        config,
        deduper,
        explain,
        first_copies: std::collections::HashMap::new(),
        explained_files: Vec::new(),
        // The output's hash is kept in the state, so it is only needed with one.
        sink: if config.state.is_some() {
            RecordSink::open_hashed(config.output.as_deref())?
        } else {
            RecordSink::open(config.output.as_deref())?
        },
        stats: RunStats::default(),
        pool,
        serialising: std::collections::VecDeque::new(),
        batch: Vec::with_capacity(BATCH_POSTS),
        file: String::new(),
        format: Format::Text,
        tg_html: None,
    };
    let (sources, errors) = input::discover(&config.inputs);
    for e in errors {
        cleaner.input_error(&e);
    }
    let input_bytes: u64 = sources.iter().filter_map(InputSource::file_len).sum();
    cleaner
        .deduper
        .reserve_keys(usize::try_from(input_bytes / INPUT_BYTES_PER_KEY).unwrap_or(0));
    for source in &sources {
        cleaner.clean_source(source)?;
    }
    cleaner.write_serialised(0)?;
    check_interrupt()?;
    let Cleaner {
        sink,
        mut stats,
        deduper,
        explain,
        ..
    } = cleaner;
    let output = sink.finish()?;
    let explain = match explain {
        Some(e) => e.finish()?,
        None => None,
    };
    if let Some(path) = &config.state {
        let mut seen = deduper.to_state();
        if let Some(out) = &output
            && let Some(hash) = out.sha256
        {
            let target = std::path::absolute(out.target()).unwrap_or(out.target().to_path_buf());
            seen.output = Some((hash, target.display().to_string()));
        }
        // The state goes first: if the run dies between the two renames, the state's
        // delta does not match the (old) output and is ignored on the next load.
        output::prepare_file(path, &state::encode(&mut seen))?.install()?;
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

/// Where a written record came from, for naming first copies in `--explain`; the file
/// is an index into `Cleaner::explained_files`, so a big run does not keep a name per
/// record.
struct WrittenAt {
    file: u32,
    format: &'static str,
    line: Option<u64>,
    message_id: Option<i64>,
}

/// Bytes read per block when looking for a cut: about one parallel task's worth of text.
/// Measured on a 1 GB dump with 2 threads: 256 KiB is as fast as 1 MiB (a little faster:
/// a chunk and its posts stay in cache) with about half the peak memory.
const CHUNK_BLOCK_BYTES: usize = 256 << 10;

/// A chunk in which no cut turns up (a long text without headers) is handed on at this
/// size and continued by the same segmenter, so memory stays bounded.
const MAX_CHUNK_BYTES: usize = 16 << 20;

/// Block and maximum chunk sizes. The integration tests shrink them through
/// `TGCLEAN_CHUNK_BYTES` and `TGCLEAN_MAX_CHUNK_BYTES` to check that chunking never
/// changes the output; nothing else should set them.
fn chunk_sizes() -> (usize, usize) {
    let var = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("TGCLEAN_CHUNK_BYTES", CHUNK_BLOCK_BYTES),
        var("TGCLEAN_MAX_CHUNK_BYTES", MAX_CHUNK_BYTES),
    )
}

/// Chunks segmented in parallel at once, per worker thread: enough that one slow chunk
/// does not leave the other workers idle, few enough that batches in flight stay small.
const CHUNKS_PER_THREAD: usize = 2;

/// What one chunk of text gave.
struct ChunkPosts {
    posts: Vec<Post>,
    counts: input::FileCounts,
    splits: Vec<u64>,
    /// The segmenter, still holding the chunk's last post open, when the next chunk
    /// continues it.
    open: Option<PostSegmenter>,
}

/// Segments one chunk (lines → display text → posts) and computes its posts' keys. The
/// last post is closed unless `keep_open`.
fn segment_chunk(
    name: &str,
    chunk: &input::Chunk,
    mut segmenter: PostSegmenter,
    keep_open: bool,
) -> ChunkPosts {
    let mut raws = Vec::new();
    let first = chunk.first_line;
    // Reading from memory cannot fail, and `push` never returns an error.
    let counts = input::for_each_line_in(name, chunk.bytes(), |n, line| {
        segmenter.push(first - 1 + n, &normalise::display_text(line), &mut raws);
        Ok(())
    })
    .unwrap_or_default();
    if !keep_open {
        segmenter.finish(&mut raws);
    }
    let splits = std::mem::take(&mut segmenter.splits);
    ChunkPosts {
        posts: raws.into_iter().map(build_post).collect(),
        counts,
        splits,
        open: keep_open.then_some(segmenter),
    }
}

/// What the JSON reader thread hands over, in input order.
enum ReaderEvent {
    Items(Vec<Item>),
    /// Messages of a Telegram Desktop export, still to be parsed.
    Raw(RawMessages),
    Problem(Error),
}

/// Messages of an export as found by the splitter, in one buffer, parsed later on the
/// workers.
#[derive(Default)]
struct RawMessages {
    bytes: Vec<u8>,
    /// Line, byte range in `bytes`, and chat name of each message.
    messages: Vec<(u64, std::ops::Range<usize>, Option<std::sync::Arc<str>>)>,
}

/// Bytes of raw messages handed over at once.
const RAW_BATCH_BYTES: usize = 512 << 10;

/// What a message of an export became on a worker.
enum Parsed {
    Post(Box<Post>),
    Skipped(Skip),
    Problem(Error),
}

/// The reader thread's sink: batches items for the queue to the judging thread.
struct ChannelSink {
    tx: std::sync::mpsc::SyncSender<ReaderEvent>,
    batch: Vec<Item>,
}

impl ChannelSink {
    fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let items = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_POSTS));
        // A closed queue means the judging side stopped (output failed, or interrupted).
        self.tx
            .send(ReaderEvent::Items(items))
            .map_err(|_| Error::Interrupted)
    }
}

impl ItemSink for ChannelSink {
    fn item(&mut self, item: Item) -> Result<(), Error> {
        self.batch.push(item);
        if self.batch.len() >= BATCH_POSTS {
            self.flush()?;
        }
        Ok(())
    }

    fn problem(&mut self, error: Error) {
        // Problems keep their place among the items.
        if self.flush().is_ok() {
            let _ = self.tx.send(ReaderEvent::Problem(error));
        }
    }
}

/// The reader thread's side of an export: splits it into messages and queues them in
/// batches. Stops with `Interrupted` when the judging side has gone.
fn split_to_queue(
    name: &str,
    reader: impl Read,
    tx: &std::sync::mpsc::SyncSender<ReaderEvent>,
) -> Result<(), Error> {
    // A batch is sent once it passes `RAW_BATCH_BYTES`; room for that and a typical
    // message more is made up front rather than grown by doubling.
    let fresh = || RawMessages {
        bytes: Vec::with_capacity(RAW_BATCH_BYTES + (16 << 10)),
        messages: Vec::new(),
    };
    let mut batch = fresh();
    let send = |batch: &mut RawMessages| {
        let full = std::mem::replace(batch, fresh());
        tx.send(ReaderEvent::Raw(full))
            .map_err(|_| Error::Interrupted)
    };
    let result = tg_json_split(name, reader, &mut |m| {
        let start = batch.bytes.len();
        batch.bytes.extend_from_slice(m.bytes);
        batch
            .messages
            .push((m.line, start..batch.bytes.len(), m.channel.cloned()));
        if batch.bytes.len() >= RAW_BATCH_BYTES {
            send(&mut batch)?;
        }
        Ok(())
    });
    // What was split before an error still comes before it.
    if !batch.messages.is_empty() {
        send(&mut batch)?;
    }
    result
}

/// The state of one plain-text input between chunks.
struct TextChunks<'n> {
    name: &'n str,
    /// Fresh chunks waiting to be segmented in parallel.
    pending: Vec<input::Chunk>,
    /// The segmenter of a post that goes on in the next chunk.
    open: Option<PostSegmenter>,
    /// Lines where over-long posts were split.
    splits: Vec<u64>,
    /// Batches of chunks being segmented on the workers, in input order.
    segmenting: std::collections::VecDeque<std::sync::mpsc::Receiver<Vec<ChunkPosts>>>,
    /// Where segmented chunks' buffers go back to the reader, to be read into again.
    spare: std::sync::mpsc::Sender<Vec<u8>>,
}

/// Batches handed to the workers and not yet taken back, per stage: one is worked on
/// while this thread judges or writes the one before it.
const BATCHES_IN_FLIGHT: usize = 1;

fn worker_failed(what: &str) -> Error {
    Error::Config(format!("{what}: a worker thread failed"))
}

struct Cleaner<'c> {
    config: &'c Config,
    deduper: Deduper,
    sink: RecordSink,
    explain: Option<RecordSink>,
    /// Sources of the records written, by post id (only while explaining).
    first_copies: std::collections::HashMap<Digest16, WrittenAt>,
    explained_files: Vec<String>,
    stats: RunStats,
    pool: rayon::ThreadPool,
    /// Records of judged batches, being serialised on the workers, in output order.
    serialising: std::collections::VecDeque<std::sync::mpsc::Receiver<Vec<Vec<u8>>>>,
    /// Messages read but not yet turned into posts; all from `file`.
    batch: Vec<Message>,
    file: String,
    format: Format,
    /// Kept across consecutive HTML export pages: a page may continue the previous one.
    tg_html: Option<TgHtmlReader>,
}

impl ItemSink for Cleaner<'_> {
    fn item(&mut self, item: Item) -> Result<(), Error> {
        match item {
            Item::Message(msg) => {
                self.batch.push(msg);
                if self.batch.len() >= BATCH_POSTS {
                    self.process_batch()?;
                }
            }
            Item::Skipped(Skip::Service) => self.stats.skipped_messages.service += 1,
            Item::Skipped(Skip::MediaOnly) => self.stats.skipped_messages.media_only += 1,
        }
        Ok(())
    }

    fn problem(&mut self, error: Error) {
        self.input_error(&error);
    }
}

impl Cleaner<'_> {
    fn input_error(&mut self, e: &Error) {
        let report = e.report();
        eprintln!("tgclean: {report}");
        self.stats.errors.push(report);
    }

    /// The format to read `source` with: the one asked for, or what its content shows.
    fn choose_format(&mut self, source: &InputSource, reader: &mut dyn BufRead) -> Option<Format> {
        let sniffed = match reader.fill_buf() {
            Ok(head) => input::sniff(head),
            Err(e) => {
                self.input_error(&Error::Read {
                    path: source.name.clone(),
                    line: 1,
                    source: e,
                });
                return None;
            }
        };
        if sniffed == Sniffed::Binary {
            self.input_error(&Error::Binary {
                path: source.name.clone(),
            });
            return None;
        }
        Some(match (self.config.format, sniffed) {
            (Format::Auto, Sniffed::Text) => Format::Text,
            (Format::Auto, Sniffed::JsonExport) => Format::TgJson,
            (Format::Auto, Sniffed::JsonRecords) => Format::Jsonl,
            // HTML is told apart after reading it whole (see `clean_html`).
            (Format::Auto, Sniffed::Html) => Format::Auto,
            (forced, _) => forced,
        })
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
        let Some(format) = self.choose_format(source, &mut *reader) else {
            return Ok(());
        };
        self.file.clone_from(&source.name);
        if !matches!(format, Format::TgHtml | Format::Auto) {
            self.tg_html = None;
        }
        let result = match format {
            Format::Text => self.clean_text(source, reader),
            Format::TgJson | Format::Jsonl => self.clean_json(source, reader, format),
            Format::TgHtml | Format::TmeHtml | Format::Auto => {
                self.clean_html(source, &mut *reader, format)
            }
        };
        // Whatever was read before an input error is still cleaned and written.
        self.process_batch()?;
        match result {
            Ok(()) => Ok(()),
            Err(e @ (Error::Write { .. } | Error::Interrupted)) => Err(e),
            Err(e) => {
                self.input_error(&e);
                Ok(())
            }
        }
    }

    /// Plain text: a reader thread cuts the input into chunks that start where a post
    /// must start ([`segment::find_cut`]); the workers segment chunks and compute keys in
    /// parallel; this thread judges the posts in input order and writes them.
    fn clean_text(
        &mut self,
        source: &InputSource,
        reader: Box<dyn BufRead + Send>,
    ) -> Result<(), Error> {
        self.format = Format::Text;
        let name = source.name.as_str();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<input::Chunk, Error>>(
            CHUNKS_PER_THREAD * self.config.threads.max(1),
        );
        let (spare, spare_rx) = std::sync::mpsc::channel();
        let mut text = TextChunks {
            name,
            pending: Vec::new(),
            open: None,
            splits: Vec::new(),
            segmenting: std::collections::VecDeque::new(),
            spare,
        };
        let (read_error, processed) = std::thread::scope(|scope| {
            // Named, so that profiles show the reading apart from the rest.
            let producer = std::thread::Builder::new()
                .name("tgclean-reader".into())
                .spawn_scoped(scope, move || {
                    let (block, max) = chunk_sizes();
                    let mut chunks = input::ChunkReader::new(reader, segment::find_cut, block, max)
                        .recycling(spare_rx);
                    loop {
                        let next = match chunks.next_chunk() {
                            Ok(Some(chunk)) => Ok(chunk),
                            Ok(None) => return,
                            // What was read before the error still comes after it.
                            Err(e) => Err(Error::Read {
                                path: name.to_owned(),
                                line: chunks.lines_read() + 1,
                                source: e,
                            }),
                        };
                        if tx.send(next).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::Config(format!("cannot start the reader thread: {e}")))?;
            let mut read_error = None;
            let mut processed = Ok(());
            for next in &rx {
                processed = match next {
                    Ok(chunk) => self.take_chunk(&mut text, chunk),
                    Err(e) => {
                        read_error = Some(e);
                        Ok(())
                    }
                };
                if processed.is_err() {
                    break;
                }
            }
            if processed.is_ok() {
                // Either chunks wait, or a post left open by the last chunk does.
                processed = self
                    .flush_chunks(&mut text, false)
                    .and_then(|()| self.take_segmented(&mut text, 0))
                    .and_then(|()| self.close_open_post(&mut text));
            }
            // Dropping the queue stops a reader that is still going (after an error here).
            drop(rx);
            if producer.join().is_err() {
                read_error = Some(Error::Config(format!("{name}: the reader thread failed")));
            }
            Ok::<_, Error>((read_error, processed))
        })?;
        processed?;
        for line in std::mem::take(&mut text.splits) {
            self.stats.split_posts += 1;
            eprintln!(
                "tgclean: {}:{line}: post longer than {} bytes, split here (--max-post-bytes)",
                source.name, self.config.max_post_bytes
            );
        }
        match read_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn text_segmenter(&self, input_start: bool) -> PostSegmenter {
        let segmenter = if input_start {
            PostSegmenter::new()
        } else {
            PostSegmenter::after_cut()
        };
        segmenter
            .explaining(self.config.explain.is_some())
            .max_post_bytes(self.config.max_post_bytes)
    }

    /// Queues a fresh chunk for parallel segmentation, or continues the open post with a
    /// chunk that is not fresh.
    fn take_chunk(&mut self, text: &mut TextChunks<'_>, chunk: input::Chunk) -> Result<(), Error> {
        if chunk.fresh {
            self.close_open_post(text)?;
            text.pending.push(chunk);
            if text.pending.len() >= CHUNKS_PER_THREAD * self.config.threads.max(1) {
                self.flush_chunks(text, false)?;
            }
            return Ok(());
        }
        if text.open.is_none() {
            self.flush_chunks(text, true)?;
            // The last of those chunks leaves open the post this one continues.
            self.take_segmented(text, 0)?;
        }
        let segmenter = match text.open.take() {
            Some(s) => s,
            None => self.text_segmenter(chunk.first_line == 1),
        };
        let done = segment_chunk(text.name, &chunk, segmenter, true);
        self.take_chunk_posts(text, vec![done])
    }

    /// Closes the post a continued chunk left open, if any, and judges it.
    fn close_open_post(&mut self, text: &mut TextChunks<'_>) -> Result<(), Error> {
        let Some(mut open) = text.open.take() else {
            return Ok(());
        };
        let mut raws = Vec::new();
        open.finish(&mut raws);
        text.splits.append(&mut open.splits);
        self.judge_and_write(raws.into_iter().map(build_post).collect())
    }

    /// Hands the queued chunks to the workers to segment in parallel, and judges the
    /// batches segmented before them, in order, down to [`BATCHES_IN_FLIGHT`]. With
    /// `keep_last_open`, the last chunk's open post is kept for the chunk that continues
    /// it.
    fn flush_chunks(
        &mut self,
        text: &mut TextChunks<'_>,
        keep_last_open: bool,
    ) -> Result<(), Error> {
        if text.pending.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut text.pending);
        let last = chunks.len() - 1;
        let segmenters: Vec<PostSegmenter> = chunks
            .iter()
            .map(|c| self.text_segmenter(c.first_line == 1))
            .collect();
        let name = text.name.to_owned();
        let spare = text.spare.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let done: Vec<ChunkPosts> = chunks
                .par_iter()
                .zip(segmenters)
                .enumerate()
                .map(|(i, (chunk, seg))| {
                    segment_chunk(&name, chunk, seg, keep_last_open && i == last)
                })
                .collect();
            for chunk in chunks {
                // A reader that has finished no longer takes them.
                let _ = spare.send(chunk.into_buffer());
            }
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(done);
        });
        text.segmenting.push_back(rx);
        self.take_segmented(text, BATCHES_IN_FLIGHT)
    }

    /// Judges segmented batches in order until at most `keep` are left in flight.
    fn take_segmented(&mut self, text: &mut TextChunks<'_>, keep: usize) -> Result<(), Error> {
        while text.segmenting.len() > keep {
            let Some(batch) = text.segmenting.pop_front() else {
                break;
            };
            let done = batch.recv().map_err(|_| worker_failed(text.name))?;
            self.take_chunk_posts(text, done)?;
        }
        Ok(())
    }

    /// Counts what the chunks read, keeps a post left open, and judges their posts in
    /// order.
    fn take_chunk_posts(
        &mut self,
        text: &mut TextChunks<'_>,
        done: Vec<ChunkPosts>,
    ) -> Result<(), Error> {
        let mut posts = Vec::new();
        for mut d in done {
            posts.append(&mut d.posts);
            self.stats.bytes += d.counts.bytes;
            self.stats.invalid_utf8 += d.counts.invalid_utf8;
            text.splits.append(&mut d.splits);
            if d.open.is_some() {
                text.open = d.open;
            }
        }
        self.judge_and_write(posts)
    }

    /// JSON exports and JSON Lines: parsed on a reader thread of their own, which hands
    /// messages over in batches, in order; posts are then built in parallel.
    fn clean_json(
        &mut self,
        source: &InputSource,
        reader: Box<dyn BufRead + Send>,
        format: Format,
    ) -> Result<(), Error> {
        self.format = format;
        let name = source.name.as_str();
        let field = self.config.text_field.clone();
        let one_worker = self.config.threads <= 1;
        let (tx, rx) = std::sync::mpsc::sync_channel::<ReaderEvent>(4);
        std::thread::scope(|scope| {
            let producer = std::thread::Builder::new()
                .name("tgclean-reader".into())
                .spawn_scoped(scope, move || {
                    let mut counted = CountingReader::new(reader);
                    let mut sink = ChannelSink {
                        tx,
                        batch: Vec::with_capacity(BATCH_POSTS),
                    };
                    // With one worker, the reader thread parses the messages too, so that
                    // the two threads share the work; with more, the workers parse.
                    let result = if format == Format::TgJson && one_worker {
                        tg_json::read(name, &mut counted, &mut sink).map(|()| 0)
                    } else if format == Format::TgJson {
                        split_to_queue(name, &mut counted, &sink.tx).map(|()| 0)
                    } else {
                        jsonl::read(name, &mut counted, field.as_deref(), &mut sink)
                    };
                    let _ = sink.flush();
                    (result, counted.bytes)
                })
                .map_err(|e| Error::Config(format!("cannot start the reader thread: {e}")))?;
            let mut processed = Ok(());
            for event in &rx {
                processed = match event {
                    ReaderEvent::Items(items) => items.into_iter().try_for_each(|i| self.item(i)),
                    ReaderEvent::Raw(raw) => self.parse_and_judge(name, raw),
                    ReaderEvent::Problem(e) => {
                        self.input_error(&e);
                        Ok(())
                    }
                };
                if processed.is_err() {
                    break;
                }
            }
            // Dropping the queue stops a reader that is still going (after an error here).
            drop(rx);
            let (result, bytes) = producer.join().unwrap_or((
                Err(Error::Config(format!("{name}: the reader thread failed"))),
                0,
            ));
            self.stats.bytes += bytes;
            processed?;
            // A reader stopped by a closed queue reports `Interrupted`; only a real
            // interruption gets here with the queue open, and then the run stops anyway.
            let invalid = result?;
            self.stats.invalid_utf8 += invalid;
            Ok(())
        })
    }

    fn clean_html(
        &mut self,
        source: &InputSource,
        reader: &mut dyn BufRead,
        format: Format,
    ) -> Result<(), Error> {
        let (html, bytes, invalid) = input::read_all_lossy(reader).map_err(|e| Error::Read {
            path: source.name.clone(),
            line: 1,
            source: e,
        })?;
        self.stats.bytes += bytes;
        self.stats.invalid_utf8 += invalid;
        let format = match format {
            Format::Auto if html.contains("tgme_widget_message") => Format::TmeHtml,
            Format::Auto if html.contains("class=\"message ") && html.contains("history") => {
                Format::TgHtml
            }
            Format::Auto => {
                return Err(Error::UnknownFormat {
                    path: source.name.clone(),
                    what: "HTML, but neither a Telegram Desktop export nor a t.me/s page".into(),
                });
            }
            f => f,
        };
        self.format = format;
        if format == Format::TmeHtml {
            self.tg_html = None;
            return TmeHtmlReader::new()?.read(&html, self);
        }
        let mut reader = match self.tg_html.take() {
            Some(r) => r,
            None => TgHtmlReader::new()?,
        };
        let result = reader.read(&html, self);
        self.tg_html = Some(reader);
        result
    }

    /// Parses a batch of export messages and builds their posts on the workers, then
    /// judges them in order.
    fn parse_and_judge(&mut self, name: &str, raw: RawMessages) -> Result<(), Error> {
        check_interrupt()?;
        let explaining = self.config.explain.is_some();
        let parsed: Vec<Parsed> = self.pool.install(|| {
            raw.messages
                .par_iter()
                .map(|(line, range, channel)| {
                    let bytes = raw.bytes.get(range.clone()).unwrap_or_default();
                    match tg_json::parse_message(name, *line, bytes, channel.as_deref()) {
                        Ok(Item::Message(m)) => {
                            Parsed::Post(Box::new(build_post(message_post(m, explaining))))
                        }
                        Ok(Item::Skipped(skip)) => Parsed::Skipped(skip),
                        Err(e) => Parsed::Problem(e),
                    }
                })
                .collect()
        });
        let mut posts = Vec::with_capacity(parsed.len());
        for p in parsed {
            match p {
                Parsed::Post(post) => posts.push(*post),
                Parsed::Skipped(Skip::Service) => self.stats.skipped_messages.service += 1,
                Parsed::Skipped(Skip::MediaOnly) => self.stats.skipped_messages.media_only += 1,
                Parsed::Problem(e) => self.input_error(&e),
            }
        }
        self.judge_and_write(posts)
    }

    fn process_batch(&mut self) -> Result<(), Error> {
        check_interrupt()?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let messages = std::mem::take(&mut self.batch);
        let explaining = self.config.explain.is_some();
        let posts: Vec<Post> = self.pool.install(|| {
            messages
                .into_par_iter()
                .map(|m| build_post(message_post(m, explaining)))
                .collect()
        });
        self.judge_and_write(posts)
    }

    /// Judges `posts` in input order, then hands the records that are written to the
    /// workers, which detect languages and serialise them in parallel; writes the
    /// batches serialised before, in order, down to [`BATCHES_IN_FLIGHT`].
    fn judge_and_write(&mut self, mut posts: Vec<Post>) -> Result<(), Error> {
        check_interrupt()?;
        // Dedup needs input order; language and serialisation do not, and run only for
        // the records that are written.
        let mut decisions = Vec::with_capacity(posts.len());
        for post in &posts {
            decisions.push(self.judge(post)?);
        }
        let file = self.file.clone();
        let format = self.format.name();
        let lang = self.config.lang;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let lines: Vec<Vec<u8>> = posts
                .par_iter_mut()
                .zip(decisions.par_iter())
                .filter_map(|(post, d)| d.as_ref().map(|d| (post, d)))
                .map(|(post, d)| {
                    post.lang = lang.detect(post);
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
                        &mut line,
                        post,
                        &d.keep,
                        &source,
                        &d.dropped,
                        d.duplicate_of,
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
            self.sink.write_lines(&lines)?;
            self.stats.records_written += lines.len() as u64;
        }
        Ok(())
    }

    fn first_copy(&self, id: Option<Digest16>) -> FirstCopy<'_> {
        FirstCopy {
            id: id.map(Hex16),
            source: id.and_then(|i| self.first_copies.get(&i)).map(|w| Source {
                file: self
                    .explained_files
                    .get(w.file as usize)
                    .map_or("", String::as_str),
                format: w.format,
                line: w.line,
                message_id: w.message_id,
            }),
        }
    }

    /// Writes the `--explain` lines of one post.
    fn explain_post(
        &mut self,
        post: &Post,
        keep: &[bool],
        duplicate_post: Option<Option<Digest16>>,
    ) -> Result<(), Error> {
        let Some(mut sink) = self.explain.take() else {
            return Ok(());
        };
        let result = (|| {
            let source = |line| Source {
                file: &self.file,
                format: self.format.name(),
                line,
                message_id: post.message_id,
            };
            let post_id = (!post.paragraphs.is_empty()).then_some(Hex16(post.id));
            for e in &post.explain {
                sink.write_record(&ExplainRecord {
                    reason: e.reason.name(),
                    source: source(e.line),
                    post: post_id,
                    text: &e.text,
                    duplicate_of: None,
                })?;
            }
            if let Some(of) = duplicate_post {
                let text: Vec<&str> = post.paragraphs.iter().map(|p| post.text_of(p)).collect();
                return sink.write_record(&ExplainRecord {
                    reason: Reason::DuplicatePost.name(),
                    source: source(post.line),
                    post: post_id,
                    text: &text.join("\n"),
                    duplicate_of: Some(self.first_copy(of)),
                });
            }
            for (p, _) in post.paragraphs.iter().zip(keep).filter(|(_, k)| !**k) {
                sink.write_record(&ExplainRecord {
                    reason: Reason::Duplicate.name(),
                    source: source(p.line),
                    post: post_id,
                    text: post.text_of(p),
                    duplicate_of: Some(self.first_copy(self.deduper.first_owner_of_key(&p.key))),
                })?;
            }
            Ok(())
        })();
        self.explain = Some(sink);
        result
    }

    /// Dedups one post in input order and keeps the accounting; returns what to write,
    /// or `None` when the post gives no record.
    fn judge(&mut self, post: &Post) -> Result<Option<Decision>, Error> {
        self.stats.posts_read += 1;
        self.stats.paragraphs.read += post.read;
        let mut dropped = post.dropped.clone();
        let n = post.paragraphs.len();
        if n == 0 {
            self.stats.paragraphs.dropped.merge(&dropped);
            self.explain_post(post, &[], None)?;
            return Ok(None);
        }
        let (keep, duplicate_of) = match self.deduper.judge(post) {
            Verdict::Keep { keep } => {
                let gone = keep.iter().filter(|k| !**k).count() as u64;
                dropped.add(Reason::Duplicate, gone);
                self.explain_post(post, &keep, None)?;
                (keep, None)
            }
            Verdict::Duplicate { of } => {
                self.stats.duplicate_posts += 1;
                if !self.config.keep_duplicates {
                    dropped.add(Reason::DuplicatePost, n as u64);
                    self.stats.paragraphs.dropped.merge(&dropped);
                    self.explain_post(post, &[], Some(of))?;
                    return Ok(None);
                }
                self.explain_post(post, &[], None)?;
                (vec![true; n], of)
            }
        };
        self.stats.paragraphs.written += keep.iter().filter(|k| **k).count() as u64;
        self.stats.paragraphs.dropped.merge(&dropped);
        if self.explain.is_some() && duplicate_of.is_none() {
            if self.explained_files.last() != Some(&self.file) {
                self.explained_files.push(self.file.clone());
            }
            let file = u32::try_from(self.explained_files.len() - 1).unwrap_or(u32::MAX);
            self.first_copies.entry(post.id).or_insert(WrittenAt {
                file,
                format: self.format.name(),
                line: post.line,
                message_id: post.message_id,
            });
        }
        Ok(Some(Decision {
            keep,
            duplicate_of,
            dropped,
        }))
    }
}

/// What dedup decided for a post that is written.
struct Decision {
    keep: Vec<bool>,
    duplicate_of: Option<Digest16>,
    dropped: crate::post::DropCounts,
}
