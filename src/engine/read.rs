//! Reads the pieces of a shard into posts, in input order, and hands them in batches to a
//! [`PostSink`]: the one reading path under scan, emit and the fused run.
//!
//! Plain text is cut into chunks by a reader thread and segmented on the workers; JSON
//! exports and JSON Lines are split or parsed on a reader thread and built into posts on
//! the workers; HTML pages are read whole. Whatever the route, the sink sees the posts of
//! the shard in input order, so everything after reading is format-agnostic.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use rayon::prelude::*;

use super::interrupt;
use super::plan::Piece;
use crate::config::{Config, Format};
use crate::error::Error;
use crate::formats::export_split::split_export as tg_json_split;
use crate::formats::{ItemSink, jsonl, tg_html::TgHtmlReader, tg_json, tme_html::TmeHtmlReader};
use crate::input::{self, CountingReader, InputSource, Sniffed};
use crate::message::{Item, Message, Skip, message_post};
use crate::normalise;
use crate::post::{Post, build_post};
use crate::segment::{self, PostSegmenter};
use crate::stats::RunStats;

/// The input that a batch of posts came from.
#[derive(Debug, Clone, Copy)]
pub struct InputAt<'a> {
    /// Index of the input in the run's discovered inputs.
    pub index: u32,
    pub name: &'a str,
    pub format: Format,
}

/// Takes the posts of a shard, batch by batch, in input order.
pub trait PostSink {
    /// Posts read from `at`, in input order. An error stops the reading (output failed,
    /// or interrupted).
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error>;
}

/// Posts handed to the worker threads at once: enough to amortise the hand-off, small
/// enough that memory stays flat.
const BATCH_POSTS: usize = 256;

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
pub(crate) fn chunk_sizes() -> (usize, usize) {
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

/// Batches handed to the workers and not yet taken back: one is worked on while this
/// thread judges or writes the one before it.
pub(crate) const BATCHES_IN_FLIGHT: usize = 1;

/// Read buffer of a piece of a file.
const PIECE_READ_BUFFER: usize = 256 << 10;

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
    messages: Vec<(u64, std::ops::Range<usize>, Option<Arc<str>>)>,
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

pub(crate) fn worker_failed(what: &str) -> Error {
    Error::Config(format!("{what}: a worker thread failed"))
}

/// Reads inputs into posts for a [`PostSink`], and counts what reading sees: inputs,
/// bytes, invalid UTF-8, skipped messages, split posts and input errors.
pub struct ShardReader<'c, S> {
    config: &'c Config,
    pool: &'c rayon::ThreadPool,
    pub sink: S,
    /// The reading half of the run summary.
    pub stats: RunStats,
    /// Whether input problems are printed on stderr as they are met (they are always
    /// collected in `stats.errors`). A scan leaves them to the emit of the same shard.
    report: bool,
    /// Messages read but not yet turned into posts; all from `file`.
    batch: Vec<Message>,
    file: u32,
    name: String,
    format: Format,
    /// Kept across consecutive HTML export pages: a page may continue the previous one.
    tg_html: Option<TgHtmlReader>,
}

impl<S: PostSink> ItemSink for ShardReader<'_, S> {
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

impl<'c, S: PostSink> ShardReader<'c, S> {
    pub fn new(config: &'c Config, pool: &'c rayon::ThreadPool, sink: S, report: bool) -> Self {
        ShardReader {
            config,
            pool,
            sink,
            stats: RunStats::default(),
            report,
            batch: Vec::with_capacity(BATCH_POSTS),
            file: 0,
            name: String::new(),
            format: Format::Text,
            tg_html: None,
        }
    }

    /// Counts an input problem (and prints it, when reporting).
    pub fn input_error(&mut self, e: &Error) {
        self.input_problem(e.report());
    }

    /// [`ShardReader::input_error`] for a problem already reported as text.
    pub fn input_problem(&mut self, report: String) {
        if self.report {
            eprintln!("tgclean: {report}");
        }
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
            // HTML is told apart after reading it whole (see `read_html`).
            (Format::Auto, Sniffed::Html) => Format::Auto,
            (forced, _) => forced,
        })
    }

    /// Opens a piece: the whole input, or a byte range of an uncompressed text file.
    fn open_piece(
        &mut self,
        source: &InputSource,
        piece: &Piece,
    ) -> Option<Box<dyn BufRead + Send>> {
        let opened = match (&piece.range, &source.path) {
            (Some(range), Some(path)) => std::fs::File::open(path)
                .and_then(|mut f| {
                    f.seek(SeekFrom::Start(range.start))?;
                    Ok(Box::new(BufReader::with_capacity(
                        PIECE_READ_BUFFER,
                        f.take(range.end - range.start),
                    )) as Box<dyn BufRead + Send>)
                })
                .map_err(|source_err| Error::Open {
                    path: source.name.clone(),
                    source: source_err,
                }),
            _ => source.open(),
        };
        match opened {
            Ok(r) => Some(r),
            Err(e) => {
                self.input_error(&e);
                None
            }
        }
    }

    /// Reads one piece of an input to its end. Returns `Err` only for output failures
    /// and interruptions; input problems are counted and the run goes on.
    pub fn read_piece(&mut self, sources: &[InputSource], piece: &Piece) -> Result<(), Error> {
        let Some(source) = sources.get(piece.source as usize) else {
            return Err(Error::Config(format!(
                "a shard names input {} of {}",
                piece.source,
                sources.len()
            )));
        };
        let continued = piece.range.as_ref().is_some_and(|r| r.start > 0);
        if !continued {
            self.stats.inputs += 1;
        }
        let Some(mut reader) = self.open_piece(source, piece) else {
            return Ok(());
        };
        let format = if continued {
            // The plan cuts text files only, after sniffing their start.
            Format::Text
        } else {
            match self.choose_format(source, &mut *reader) {
                Some(f) => f,
                None => return Ok(()),
            }
        };
        self.file = piece.source;
        self.name.clone_from(&source.name);
        if !matches!(format, Format::TgHtml | Format::Auto) {
            self.tg_html = None;
        }
        let first_line = piece.range.as_ref().map_or(1, |r| r.first_line);
        let result = match format {
            Format::Text => self.read_text(reader, first_line),
            Format::TgJson | Format::Jsonl => self.read_json(reader, format),
            Format::TgHtml | Format::TmeHtml | Format::Auto => {
                self.read_html(source, &mut *reader, format)
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
    /// parallel; this thread hands the posts on in input order.
    fn read_text(&mut self, reader: Box<dyn BufRead + Send>, first_line: u64) -> Result<(), Error> {
        self.format = Format::Text;
        let name = self.name.clone();
        let name = name.as_str();
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
                        .starting_at_line(first_line)
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
            if self.report {
                eprintln!(
                    "tgclean: {name}:{line}: post longer than {} bytes, split here (--max-post-bytes)",
                    self.config.max_post_bytes
                );
            }
        }
        match read_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A segmenter for a chunk: one that starts an input, or one that starts at a cut.
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

    /// Closes the post a continued chunk left open, if any, and hands it on.
    fn close_open_post(&mut self, text: &mut TextChunks<'_>) -> Result<(), Error> {
        let Some(mut open) = text.open.take() else {
            return Ok(());
        };
        let mut raws = Vec::new();
        open.finish(&mut raws);
        text.splits.append(&mut open.splits);
        self.hand_on(raws.into_iter().map(build_post).collect())
    }

    /// Hands the queued chunks to the workers to segment in parallel, and hands on the
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

    /// Hands on segmented batches in order until at most `keep` are left in flight.
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

    /// Counts what the chunks read, keeps a post left open, and hands their posts on in
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
        self.hand_on(posts)
    }

    /// JSON exports and JSON Lines: parsed on a reader thread of their own, which hands
    /// messages over in batches, in order; posts are then built in parallel.
    fn read_json(&mut self, reader: Box<dyn BufRead + Send>, format: Format) -> Result<(), Error> {
        self.format = format;
        let name = self.name.clone();
        let name = name.as_str();
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
                    ReaderEvent::Raw(raw) => self.parse_messages(name, raw),
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

    fn read_html(
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
    /// hands them on in order.
    fn parse_messages(&mut self, name: &str, raw: RawMessages) -> Result<(), Error> {
        interrupt::check()?;
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
        self.hand_on(posts)
    }

    fn process_batch(&mut self) -> Result<(), Error> {
        interrupt::check()?;
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
        self.hand_on(posts)
    }

    fn hand_on(&mut self, posts: Vec<Post>) -> Result<(), Error> {
        interrupt::check()?;
        let at = InputAt {
            index: self.file,
            name: &self.name,
            format: self.format,
        };
        self.sink.posts(at, posts)
    }
}

/// Starts the worker threads of a phase.
pub fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("tgclean-worker-{i}"))
        // A job that panics drops its result channel; the run then reports the failed
        // batch as an error instead of aborting.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| Error::Config(format!("cannot start worker threads: {e}")))
}
