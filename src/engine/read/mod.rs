//! Reads the pieces of a shard into posts, in input order, and hands them in batches to a
//! [`PostSink`]: the one reading path under scan, emit and the fused run.
//!
//! Plain text is cut into chunks by a reader thread and segmented on the workers; JSON
//! exports and JSON Lines are split or parsed on a reader thread and built into posts on
//! the workers; HTML pages are read whole. Whatever the route, the sink sees the posts of
//! the shard in input order, so everything after reading is format-agnostic.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use rayon::prelude::*;

use super::interrupt;

mod json;
mod text;

use super::plan::Piece;
use crate::config::{Config, Format};
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip, message_post};
use crate::formats::{self, DocumentCarry, ItemSink, Route};
use crate::input::{self, InputSource, Sniffed};
use crate::output::stats::RunStats;
use crate::text::post::{Post, build_post};
use crate::text::segment::PostSegmenter;

/// The input that a batch of posts came from.
#[derive(Debug, Clone, Copy)]
pub struct InputAt<'a> {
    /// Index of the input in the run's discovered inputs.
    pub index: u32,
    /// Name used in records and messages.
    pub name: &'a str,
    /// The format it is read as.
    pub format: Format,
    /// Bytes of input the run has read so far, this batch's included (0 when the posts
    /// are not read from the input, as when replayed): what a first pass extrapolates
    /// the size of its tables from.
    pub read_bytes: u64,
}

/// Takes the posts of a shard, batch by batch, in input order.
pub trait PostSink {
    /// Posts read from `at`, in input order. An error stops the reading (output failed,
    /// or interrupted).
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error>;
}

impl<T: PostSink + ?Sized> PostSink for &mut T {
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
        (**self).posts(at, posts)
    }
}

/// Posts handed to the worker threads at once: enough to amortise the hand-off, small
/// enough that memory stays flat.
const BATCH_POSTS: usize = 256;

/// Batches handed to the workers and not yet taken back: one is worked on while this
/// thread judges or writes the one before it.
pub(crate) const BATCHES_IN_FLIGHT: usize = 1;

/// Blocks at the start of a text input (8 MB of the default 256 KB blocks) that are cut
/// into chunks on the thread that hands their posts on. A file of several inputs no
/// bigger than this (as stored), of any format read as a stream, is instead read whole by
/// one worker while this thread goes on to the next input: for a folder of small files,
/// reading them here made this thread, which also judges every post, the one the run
/// waited on.
const INLINE_READ_BLOCKS: usize = 32;

/// Whether an input of `whole_len` bytes (given for a whole file of several inputs) is
/// read whole by one worker; see [`INLINE_READ_BLOCKS`].
fn read_whole(whole_len: Option<u64>) -> bool {
    let (block, _) = crate::input::chunk_sizes();
    let limit = block.saturating_mul(INLINE_READ_BLOCKS) as u64;
    whole_len.is_some_and(|len| len <= limit)
}

/// Read buffer of a piece of a file.
const PIECE_READ_BUFFER: usize = 256 << 10;

pub(crate) fn worker_failed(what: &str) -> Error {
    Error::Config(format!("{what}: a worker thread failed"))
}

/// Reads inputs into posts for a [`PostSink`], and counts what reading sees: inputs,
/// bytes, invalid UTF-8, skipped messages, split posts and input errors.
pub struct ShardReader<'c, S> {
    config: &'c Config,
    pool: &'c rayon::ThreadPool,
    /// Where the posts go.
    pub sink: S,
    /// Give each post its near-duplicate sketch as it is built: set by a run that judges
    /// posts as they are read, with no channel boilerplate to leave out of the sketch.
    pub sketch_posts: bool,
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
    carry: DocumentCarry,
    /// Pages read but not yet parsed, and problems met after the first of them (they keep
    /// their place in the report); parsed together on the workers.
    pending: Vec<Pending>,
    pending_bytes: usize,
    /// The group of pages before, being parsed on the workers while this thread reads
    /// the next group and hands on the posts of the one before that.
    in_flight: Option<std::sync::mpsc::Receiver<ParsedPages>>,
    /// Batches being worked on (text chunks segmented, framed messages parsed), in input
    /// order; the last of a text input may still be when the next input starts.
    working: std::collections::VecDeque<Working>,
    /// The queue on which segmented chunks' buffers come back to the text reader, kept
    /// from one text input to the next.
    #[allow(clippy::type_complexity)]
    spare_buffers: Option<(
        std::sync::mpsc::Sender<Vec<u8>>,
        std::sync::mpsc::Receiver<Vec<u8>>,
    )>,
}

/// A batch handed to the workers and not yet handed on, and the input it is from.
struct Working {
    batch: Batch,
    file: u32,
    name: std::sync::Arc<str>,
    format: Format,
}

/// What the workers make of a batch.
enum Batch {
    /// Text chunks, segmented.
    Chunks(std::sync::mpsc::Receiver<Vec<text::ChunkPosts>>),
    /// Framed messages, parsed and built.
    Messages(std::sync::mpsc::Receiver<Vec<json::ParsedMessage>>),
    /// A small text input, read and segmented whole on one worker, and the error that
    /// stopped its reading, if any.
    Whole(std::sync::mpsc::Receiver<(text::ChunkPosts, Option<Error>)>),
    /// A small JSON input, read and parsed whole on one worker.
    WholeStream(std::sync::mpsc::Receiver<json::WholeStream>),
}

/// A group of pages (and problems between them) with what each page became.
type ParsedPages = (Vec<Pending>, Vec<Option<Result<formats::Page, Error>>>);

/// A page waiting to be parsed, or a problem that came after one.
enum Pending {
    Page {
        file: u32,
        name: String,
        format: Format,
        document: &'static formats::DocumentFormat,
        html: String,
    },
    Problem(String),
}

/// Bytes of HTML pages parsed at once: a few Telegram Desktop pages (about 4 MB each for
/// 1,000 messages), or a few hundred t.me/s pages.
const PENDING_PAGE_BYTES: usize = 16 << 20;

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
    /// A reader for `config`, building posts on `pool` and handing them to `sink`; `report` prints input problems as they are met.
    pub fn new(config: &'c Config, pool: &'c rayon::ThreadPool, sink: S, report: bool) -> Self {
        ShardReader {
            config,
            pool,
            sink,
            sketch_posts: false,
            stats: RunStats::default(),
            report,
            batch: Vec::with_capacity(BATCH_POSTS),
            file: 0,
            name: String::new(),
            format: Format::Text,
            carry: DocumentCarry::default(),
            pending: Vec::new(),
            pending_bytes: 0,
            in_flight: None,
            working: std::collections::VecDeque::new(),
            spare_buffers: None,
        }
    }

    /// Counts an input problem (and prints it, when reporting).
    pub fn input_error(&mut self, e: &Error) {
        self.input_problem(e.report());
    }

    /// [`ShardReader::input_error`] for a problem already reported as text.
    pub fn input_problem(&mut self, report: String) {
        if !self.pending.is_empty() || self.in_flight.is_some() {
            self.pending.push(Pending::Problem(report));
            return;
        }
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
        match self.config.format {
            Format::Auto => formats::sniffed_format(sniffed),
            forced => Some(forced),
        }
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
            Ok(r) => match &self.config.progress {
                Some(progress) => Some(Box::new(crate::progress::CountedReader::new(
                    r,
                    std::sync::Arc::clone(&progress.0),
                ))),
                None => Some(r),
            },
            Err(e) => {
                self.input_error(&e);
                None
            }
        }
    }

    /// Reads the pieces of a shard, in order, to their end. Returns `Err` only for output
    /// failures and interruptions; input problems are counted and the run goes on.
    pub fn read_pieces<'p>(
        &mut self,
        sources: &[InputSource],
        pieces: impl IntoIterator<Item = &'p Piece>,
    ) -> Result<(), Error> {
        for piece in pieces {
            self.read_piece(sources, piece)?;
        }
        self.take_worked(0)?;
        self.parse_pages()?;
        self.finish_pages()
    }

    /// Reads one piece of an input to its end (an HTML page is only read, and parsed
    /// with the pages after it).
    fn read_piece(&mut self, sources: &[InputSource], piece: &Piece) -> Result<(), Error> {
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
        let first_line = piece.range.as_ref().map_or(1, |r| r.first_line);
        // The stored size of a whole file input (not of a piece of one) among others: one
        // small file alone is still cut or framed so that every worker has part of it.
        let whole_len = (piece.range.is_none() && sources.len() > 1)
            .then(|| source.file_len())
            .flatten();
        let result = match formats::route(format) {
            Route::Lines => {
                self.parse_pages()?;
                self.finish_pages()?;
                self.carry.reset();
                self.read_text(reader, first_line, whole_len)
            }
            Route::Stream(stream) if read_whole(whole_len) => {
                self.parse_pages()?;
                self.finish_pages()?;
                self.carry.reset();
                self.read_small_stream(reader, stream)
            }
            Route::Stream(stream) => {
                self.take_worked(0)?;
                self.parse_pages()?;
                self.finish_pages()?;
                self.carry.reset();
                self.read_stream(reader, stream)
            }
            Route::Document(document) => {
                self.take_worked(0)?;
                self.read_page(source, &mut *reader, document)
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

    /// Reads a whole page and tells its format; it is parsed with the pages after it.
    fn read_page(
        &mut self,
        source: &InputSource,
        reader: &mut dyn BufRead,
        document: &'static formats::DocumentFormat,
    ) -> Result<(), Error> {
        let (html, bytes, invalid) = input::read_all_lossy(reader).map_err(|e| Error::Read {
            path: source.name.clone(),
            line: 1,
            source: e,
        })?;
        self.stats.bytes += bytes;
        self.stats.invalid_utf8 += invalid;
        let format = (document.detect)(&html).map_err(|what| Error::UnknownFormat {
            path: source.name.clone(),
            what,
        })?;
        self.pending_bytes += html.len();
        self.pending.push(Pending::Page {
            file: self.file,
            name: source.name.clone(),
            format,
            document,
            html,
        });
        if self.pending_bytes >= PENDING_PAGE_BYTES {
            self.parse_pages()?;
        }
        Ok(())
    }

    /// Starts parsing the pages read so far on the workers, each on its own, and hands
    /// on the group before it (whose parsing overlapped the reading of these).
    fn parse_pages(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        interrupt::check()?;
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let parsed = pending
                .par_iter()
                .map(|p| match p {
                    Pending::Page { document, html, .. } => Some((document.read)(html)),
                    Pending::Problem(_) => None,
                })
                .collect();
            // A closed queue: the reading stopped (output failed), nothing to hand on.
            let _ = tx.send((pending, parsed));
        });
        let before = self.in_flight.replace(rx);
        match before {
            Some(before) => self.hand_on_pages(before),
            None => Ok(()),
        }
    }

    /// Waits for the pages being parsed and hands them on.
    fn finish_pages(&mut self) -> Result<(), Error> {
        match self.in_flight.take() {
            Some(group) => self.hand_on_pages(group),
            None => Ok(()),
        }
    }

    /// Completes each parsed page with what the page before left and hands its messages
    /// on, in page order, with the problems met between the pages in their place.
    fn hand_on_pages(
        &mut self,
        group: std::sync::mpsc::Receiver<ParsedPages>,
    ) -> Result<(), Error> {
        let (pending, parsed) = group.recv().map_err(|_| worker_failed("HTML pages"))?;
        // The input being read when the pages are handed on is taken up again after them.
        let reading = (self.file, std::mem::take(&mut self.name), self.format);
        // Problems of these pages are reported now, not queued behind the next group.
        let queued = std::mem::take(&mut self.pending);
        let in_flight = self.in_flight.take();
        let result = self.hand_on_parsed(pending, parsed);
        self.pending = queued;
        self.in_flight = in_flight;
        (self.file, self.name, self.format) = reading;
        result
    }

    fn hand_on_parsed(
        &mut self,
        pending: Vec<Pending>,
        parsed: Vec<Option<Result<formats::Page, Error>>>,
    ) -> Result<(), Error> {
        for (entry, page) in pending.into_iter().zip(parsed) {
            match (entry, page) {
                (
                    Pending::Page {
                        file, name, format, ..
                    },
                    Some(page),
                ) => {
                    self.file = file;
                    self.name = name;
                    self.format = format;
                    match page {
                        Ok(mut page) => {
                            self.carry.continue_into(&mut page);
                            for item in page.items {
                                ItemSink::item(self, item)?;
                            }
                            self.process_batch()?;
                            for problem in page.problems {
                                self.input_problem(problem);
                            }
                        }
                        Err(e) => self.input_error(&e),
                    }
                }
                (Pending::Problem(report), _) => self.input_problem(report),
                (Pending::Page { .. }, None) => {}
            }
        }
        Ok(())
    }

    fn process_batch(&mut self) -> Result<(), Error> {
        interrupt::check()?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let messages = std::mem::take(&mut self.batch);
        let explaining = self.config.explain.is_some();
        let sketching = self.sketch_posts;
        let posts: Vec<Post> = self.pool.install(|| {
            messages
                .into_par_iter()
                .map(|m| {
                    let mut raw = message_post(m, explaining);
                    raw.sketching = sketching;
                    build_post(raw)
                })
                .collect()
        });
        self.hand_on(posts)
    }

    /// Hands on the batches the workers finished, in order, each with the name of its
    /// input, until at most `keep` are left in flight; returns the post the last text
    /// batch left open, if any.
    fn take_worked(&mut self, keep: usize) -> Result<Option<PostSegmenter>, Error> {
        let mut open = None;
        while self.working.len() > keep {
            let Some(next) = self.working.pop_front() else {
                break;
            };
            let (posts, problem) = match next.batch {
                Batch::Chunks(batch) => {
                    let done = batch.recv().map_err(|_| worker_failed(&next.name))?;
                    let (posts, left_open) = self.count_chunks(&next.name, done);
                    open = left_open;
                    (posts, None)
                }
                Batch::Messages(batch) => {
                    let parsed = batch.recv().map_err(|_| worker_failed(&next.name))?;
                    (self.count_messages(parsed), None)
                }
                Batch::Whole(batch) => {
                    let (done, read_error) = batch.recv().map_err(|_| worker_failed(&next.name))?;
                    (self.count_chunks(&next.name, vec![done]).0, read_error)
                }
                Batch::WholeStream(batch) => {
                    let done = batch.recv().map_err(|_| worker_failed(&next.name))?;
                    self.count_whole_stream(done)?
                }
            };
            let at = InputAt {
                index: next.file,
                name: &next.name,
                format: next.format,
                read_bytes: self.stats.bytes,
            };
            interrupt::check()?;
            self.sink.posts(at, posts)?;
            // What was read before an input error is handed on before it is reported.
            if let Some(e) = problem {
                self.input_error(&e);
            }
        }
        Ok(open)
    }

    fn hand_on(&mut self, posts: Vec<Post>) -> Result<(), Error> {
        // Text of the inputs before goes first.
        self.take_worked(0)?;
        interrupt::check()?;
        let at = InputAt {
            index: self.file,
            name: &self.name,
            format: self.format,
            read_bytes: self.stats.bytes,
        };
        self.sink.posts(at, posts)
    }
}

/// How much lower the workers' scheduling priority is than the thread that starts them
/// (a `nice` value, added to theirs). That thread judges every post in input order and
/// writes the records: the one thread a run waits on. With as many workers as cores, it
/// shared its core with a worker and waited for its turn; at a lower priority the workers
/// take the CPU time it leaves. The workers still fill what is idle, so a run alone on
/// the machine loses nothing. Measured on the 200 MB dumps (2 threads, to a file,
/// interleaved): `+10` 0.93–0.95× the wall time, `+5` no change, `+19` as `+10` (0.99×, 11 pairs).
#[cfg(target_os = "linux")]
const WORKER_NICE: libc::c_int = 10;

/// Lowers the calling worker thread's priority by [`WORKER_NICE`] (Linux only: elsewhere
/// the call would change the whole process's).
fn yield_to_the_judging_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread (on Linux `PRIO_PROCESS` with
        // id 0 names the calling thread, not the process). A failure leaves the priority
        // as it was, which is only slower.
        unsafe {
            let now = libc::getpriority(libc::PRIO_PROCESS, 0);
            libc::setpriority(libc::PRIO_PROCESS, 0, now + WORKER_NICE);
        }
    }
}

/// Starts the worker threads of a phase.
pub fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("tgclean-worker-{i}"))
        .start_handler(|_| yield_to_the_judging_thread())
        // A job that panics drops its result channel; the run then reports the failed
        // batch as an error instead of aborting.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| Error::Config(format!("cannot start worker threads: {e}")))
}
