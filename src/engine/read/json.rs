//! The JSON route of the reader: exports and JSON Lines are framed (or, when they cannot
//! be, parsed) on a reader thread of their own; framed messages are parsed and posts
//! built on the workers, and handed on in input order.

use std::io::{BufRead, Read};
use std::sync::Arc;

use rayon::prelude::*;

use super::{BATCH_POSTS, PostSink, ShardReader};
use crate::engine::interrupt;
use crate::error::Error;
use crate::formats::message::{Item, Skip, message_post};
use crate::formats::{FrameContext, Framing, ItemSink, ReadOptions, StreamFormat};
use crate::input::CountingReader;
use crate::text::post::{Post, build_post};

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

/// Bytes of raw messages handed over at once: about what a batch of text chunks holds
/// (two 256 KiB chunks per worker). Half of it left the workers short of work: a
/// `result.json` of 120,000 posts took 4 % longer (5 interleaved pairs); twice it gained
/// nothing.
const RAW_BATCH_BYTES: usize = 1 << 20;

/// Batches of framed messages left parsing while this thread hands on the one before
/// them: the workers parse the next batch while this one is judged.
const PARSING_IN_FLIGHT: usize = 2;

/// What a framed message became on a worker, and the invalid UTF-8 sequences replaced in
/// it.
pub(super) type ParsedMessage = (Parsed, u64);

/// What a framed message became on a worker.
pub(super) enum Parsed {
    Post(Box<Post>),
    Skipped(Skip),
    /// A blank line of JSON Lines.
    Nothing,
    Problem(Error),
}

/// What a worker made of a small JSON input read whole: its messages in order (problems
/// in their place), the bytes read, and the reader's end (invalid UTF-8 sequences
/// replaced, or the error that stopped it).
pub(super) struct WholeStream {
    parsed: Vec<ParsedMessage>,
    bytes: u64,
    end: Result<u64, Error>,
}

/// What an item read from a message becomes on a worker.
fn parsed_item(item: Item, explaining: bool, sketching: bool) -> Parsed {
    match item {
        Item::Message(m) => {
            let mut raw = message_post(m, explaining);
            raw.sketching = sketching;
            Parsed::Post(Box::new(build_post(raw)))
        }
        Item::Skipped(skip) => Parsed::Skipped(skip),
    }
}

/// A worker's sink for a small input read whole: builds each post as it is read.
struct BuildingSink {
    parsed: Vec<ParsedMessage>,
    explaining: bool,
    sketching: bool,
}

impl ItemSink for BuildingSink {
    fn item(&mut self, item: Item) -> Result<(), Error> {
        let parsed = parsed_item(item, self.explaining, self.sketching);
        self.parsed.push((parsed, 0));
        Ok(())
    }

    fn problem(&mut self, error: Error) {
        self.parsed.push((Parsed::Problem(error), 0));
    }
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
    reader: &mut dyn Read,
    framing: &Framing,
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
    let result = (framing.split)(name, reader, &mut |m| {
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

impl<S: PostSink> ShardReader<'_, S> {
    /// JSON exports and JSON Lines: parsed on a reader thread of their own, which hands
    /// messages over in batches, in order; posts are then built in parallel.
    pub(super) fn read_stream(
        &mut self,
        reader: Box<dyn BufRead + Send>,
        stream: &'static StreamFormat,
    ) -> Result<(), Error> {
        self.format = stream.format;
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
                    let options = ReadOptions {
                        text_field: field.as_deref(),
                    };
                    // With one worker, the reader thread parses the messages too, so that
                    // the two threads share the work; with more, the workers parse.
                    let framed = stream.framing.as_ref().filter(|framing| {
                        !one_worker && counted.fill_buf().is_ok_and(|head| (framing.applies)(head))
                    });
                    let result = match framed {
                        Some(framing) => {
                            split_to_queue(name, &mut counted, framing, &sink.tx).map(|()| 0)
                        }
                        _ => (stream.read)(name, &mut counted, &options, &mut sink),
                    };
                    let _ = sink.flush();
                    (result, counted.bytes)
                })
                .map_err(|e| Error::Config(format!("cannot start the reader thread: {e}")))?;
            let mut processed = Ok(());
            for event in &rx {
                processed = match event {
                    ReaderEvent::Items(items) => items.into_iter().try_for_each(|i| self.item(i)),
                    ReaderEvent::Raw(raw) => self.parse_messages(name, raw, stream),
                    // Problems keep their place after the messages before them.
                    ReaderEvent::Problem(e) => self.take_worked(0).map(|_| self.input_error(&e)),
                };
                if processed.is_err() {
                    break;
                }
            }
            if processed.is_ok() {
                // The reader's own error, if any, comes after every message it framed.
                processed = self.take_worked(0).map(|_| ());
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

    /// Hands a batch of framed messages to the workers to parse and build posts from,
    /// and hands on the batches parsed before it, in order, down to
    /// [`PARSING_IN_FLIGHT`].
    fn parse_messages(
        &mut self,
        name: &str,
        raw: RawMessages,
        stream: &'static StreamFormat,
    ) -> Result<(), Error> {
        let Some(framing) = &stream.framing else {
            return Ok(());
        };
        interrupt::check()?;
        let explaining = self.config.explain.is_some();
        let sketching = self.sketch_posts;
        let text_field = self.config.text_field.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let worker_name: Arc<str> = name.into();
        let parse_name = Arc::clone(&worker_name);
        self.pool.spawn(move || {
            let parsed: Vec<ParsedMessage> = raw
                .messages
                .par_iter()
                .map(|(line, range, channel)| {
                    let bytes = raw.bytes.get(range.clone()).unwrap_or_default();
                    let context = FrameContext {
                        channel: channel.as_deref(),
                        options: ReadOptions {
                            text_field: text_field.as_deref(),
                        },
                    };
                    let frame = (framing.parse)(&parse_name, *line, bytes, &context);
                    let parsed = match frame.item {
                        Ok(Some(item)) => parsed_item(item, explaining, sketching),
                        Ok(None) => Parsed::Nothing,
                        Err(e) => Parsed::Problem(e),
                    };
                    (parsed, frame.invalid_utf8)
                })
                .collect();
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(parsed);
        });
        self.working.push_back(super::Working {
            batch: super::Batch::Messages(rx),
            file: self.file,
            name: worker_name,
            format: stream.format,
        });
        self.take_worked(PARSING_IN_FLIGHT).map(|_| ())
    }

    /// A small JSON input of several (see [`super::INLINE_READ_BLOCKS`]): read, parsed
    /// and built into posts whole by one worker while this thread goes on to the next
    /// input, handed on in order with the batches around it. Framing it for all the
    /// workers would buy no parallelism that the inputs after it do not give, and would
    /// start a reader thread and wait for the workers at its end.
    pub(super) fn read_small_stream(
        &mut self,
        reader: Box<dyn BufRead + Send>,
        stream: &'static StreamFormat,
    ) -> Result<(), Error> {
        self.format = stream.format;
        let name: Arc<str> = self.name.as_str().into();
        let job_name = Arc::clone(&name);
        let explaining = self.config.explain.is_some();
        let sketching = self.sketch_posts;
        let text_field = self.config.text_field.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pool.spawn(move || {
            let mut counted = CountingReader::new(reader);
            let mut sink = BuildingSink {
                parsed: Vec::new(),
                explaining,
                sketching,
            };
            let options = ReadOptions {
                text_field: text_field.as_deref(),
            };
            let end = (stream.read)(&job_name, &mut counted, &options, &mut sink);
            // The receiver is gone only when the run has stopped.
            let _ = tx.send(WholeStream {
                parsed: sink.parsed,
                bytes: counted.bytes,
                end,
            });
        });
        self.working.push_back(super::Working {
            batch: super::Batch::WholeStream(rx),
            file: self.file,
            name,
            format: stream.format,
        });
        self.take_worked(PARSING_IN_FLIGHT).map(|_| ())
    }

    /// Counts what a small input read whole gave; its posts in order, and the error that
    /// stopped its reading, if any, to be reported after them.
    pub(super) fn count_whole_stream(
        &mut self,
        done: WholeStream,
    ) -> Result<(Vec<Post>, Option<Error>), Error> {
        self.stats.bytes += done.bytes;
        let posts = self.count_messages(done.parsed);
        match done.end {
            Ok(invalid) => {
                self.stats.invalid_utf8 += invalid;
                Ok((posts, None))
            }
            Err(e @ (Error::Write { .. } | Error::Interrupted)) => Err(e),
            Err(e) => Ok((posts, Some(e))),
        }
    }

    /// Counts what a parsed batch skipped and reports its problems; its posts in order.
    pub(super) fn count_messages(&mut self, parsed: Vec<ParsedMessage>) -> Vec<Post> {
        let mut posts = Vec::with_capacity(parsed.len());
        for (p, invalid_utf8) in parsed {
            self.stats.invalid_utf8 += invalid_utf8;
            match p {
                Parsed::Post(post) => posts.push(*post),
                Parsed::Skipped(Skip::Service) => self.stats.skipped_messages.service += 1,
                Parsed::Skipped(Skip::MediaOnly) => self.stats.skipped_messages.media_only += 1,
                Parsed::Nothing => {}
                Parsed::Problem(e) => self.input_error(&e),
            }
        }
        posts
    }
}
