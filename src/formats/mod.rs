//! Readers for the inputs (SPEC §2): each turns one input into messages, which then go
//! through the same grammar, dedup and records as plain text.
//!
//! [`route`] is the one table of the formats: it says how the engine reads each one —
//! as text lines, as a stream of messages (framed on a reader thread and parsed on the
//! workers when the format can be framed apart), or as whole documents. A new format is
//! a module here and one line in that table; the engine does not change.

pub mod export_split;
pub mod html;
pub mod html_tokens;
pub mod json_scan;
pub mod jsonl;
pub mod markdown;
pub mod message;
pub mod tg_html;
pub mod tg_json;
pub mod tg_message;
pub mod tgdataset;
pub mod tme_html;

use std::io::{BufRead, Read};

use crate::config::Format;
use crate::error::Error;
use crate::formats::message::Item;
use crate::input::Sniffed;

pub use export_split::RawMessage as Frame;

/// What every reader may be told.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// For `jsonl`: the field holding the text, instead of `text`/`message`/`content`.
    pub text_field: Option<&'a str>,
}

/// Reads every message of an input into a sink; returns how many invalid UTF-8
/// sequences were replaced.
pub type ReadStream =
    fn(&str, &mut dyn BufRead, &ReadOptions<'_>, &mut dyn ItemSink) -> Result<u64, Error>;

/// Finds each message's bytes and hands them on, in input order.
pub type SplitFrames =
    fn(&str, &mut dyn Read, &mut dyn FnMut(Frame<'_>) -> Result<(), Error>) -> Result<(), Error>;

/// What parsing one framed message is told besides its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameContext<'a> {
    /// The chat the message belongs to, when the framing found one.
    pub channel: Option<&'a str>,
    pub options: ReadOptions<'a>,
}

/// What one framed message became: a message or a skipped one (`None`: nothing, a
/// blank line), or a problem with it; and the invalid UTF-8 sequences replaced in it.
#[derive(Debug)]
pub struct ParsedFrame {
    pub item: Result<Option<Item>, Error>,
    pub invalid_utf8: u64,
}

/// Parses one framed message: input name, line of its first byte, its bytes.
pub type ParseFrame = fn(&str, u64, &[u8], &FrameContext<'_>) -> ParsedFrame;

/// Parses one framed JSON message as `T`. serde_json checks the UTF-8 of every string it
/// reads, a byte at a time; one SIMD pass over the whole message is several times cheaper,
/// and then strings are borrowed. Invalid UTF-8 is read as bytes, so that the error names
/// it. A failure is an error at its line in the input (`line`: where the message starts),
/// reading "not a readable {what}: …".
pub fn parse_json_frame<'a, T: serde::Deserialize<'a>>(
    name: &str,
    line: u64,
    bytes: &'a [u8],
    what: &str,
) -> Result<T, Error> {
    let parsed = match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => serde_json::from_str::<T>(text),
        Err(_) => serde_json::from_slice::<T>(bytes),
    };
    parsed.map_err(|e| Error::Parse {
        path: name.to_owned(),
        line: line + (e.line().max(1) as u64 - 1),
        // serde's own position is within the message; `line` already says where it is.
        what: format!(
            "not a readable {what}: {}",
            e.to_string()
                .rsplit_once(" at line ")
                .map_or_else(|| e.to_string(), |(what, _)| what.to_owned())
        ),
    })
}

/// Reads an input on this thread by framing it and parsing each frame in turn: the same
/// two steps as on the workers, so that a run gives the same items either way. Returns
/// how many invalid UTF-8 sequences were replaced.
pub fn read_framed(
    name: &str,
    reader: &mut dyn Read,
    options: &ReadOptions<'_>,
    sink: &mut dyn ItemSink,
    split: SplitFrames,
    parse: ParseFrame,
) -> Result<u64, Error> {
    let mut invalid_utf8 = 0;
    split(name, reader, &mut |frame| {
        let context = FrameContext {
            channel: frame.channel.map(|c| &**c),
            options: *options,
        };
        let parsed = parse(name, frame.line, frame.bytes, &context);
        invalid_utf8 += parsed.invalid_utf8;
        match parsed.item {
            Ok(Some(item)) => sink.item(item),
            Ok(None) => Ok(()),
            Err(e) => {
                sink.problem(e);
                Ok(())
            }
        }
    })?;
    Ok(invalid_utf8)
}

/// A format read as a stream of messages.
pub struct StreamFormat {
    pub format: Format,
    pub read: ReadStream,
    /// For a format whose messages can be found without parsing them: the reader thread
    /// only frames, and the workers parse.
    pub framing: Option<Framing>,
}

/// Framing and parsing as two steps.
pub struct Framing {
    /// Whether an input starting with these bytes is framed (else read as a stream).
    pub applies: fn(&[u8]) -> bool,
    pub split: SplitFrames,
    pub parse: ParseFrame,
}

/// One page of a paged export, read on its own (on a worker thread): its items, and
/// what it takes from the page before it, resolved in page order by [`DocumentCarry`].
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Problems with parts of the page, as reported; the rest of it was read.
    pub problems: Vec<String>,
    pub continues: Continuation,
}

/// How a page continues the one before it.
#[derive(Debug, Default, PartialEq)]
pub enum Continuation {
    /// Not at all (a t.me/s page).
    #[default]
    Standalone,
    /// A Telegram Desktop page: a `joined` message forwarded from the same source as the
    /// one before it names no source, and the one before may be on the page before.
    Forwards {
        /// The items (indices) that take the source the page before ended with.
        inherit: Vec<usize>,
        /// The source this page ends with (`Some(None)`: its last message was not
        /// forwarded), unless every forwarded message on it inherited one.
        last_forward: Option<Option<String>>,
    },
}

/// What the pages read so far leave for the next page of the same export.
#[derive(Debug, Default)]
pub struct DocumentCarry {
    last_forward: Option<String>,
}

impl DocumentCarry {
    /// Forgets the previous page: an input of another kind came between.
    pub fn reset(&mut self) {
        self.last_forward = None;
    }

    /// Completes `page` with what the pages before it left, and takes what it leaves.
    pub fn continue_into(&mut self, page: &mut Page) {
        match &mut page.continues {
            Continuation::Standalone => self.reset(),
            Continuation::Forwards {
                inherit,
                last_forward,
            } => {
                for &i in inherit.iter() {
                    if let Some(Item::Message(m)) = page.items.get_mut(i) {
                        m.forwarded_from.clone_from(&self.last_forward);
                    }
                }
                if let Some(last) = last_forward.take() {
                    self.last_forward = last;
                }
            }
        }
    }
}

/// A format read as whole documents (pages).
pub struct DocumentFormat {
    /// The format a document is read as, or why it is none that this reads.
    pub detect: fn(&str) -> Result<Format, String>,
    /// Reads one page on its own.
    pub read: fn(&str) -> Result<Page, Error>,
}

/// How the engine reads a format.
pub enum Route {
    /// Plain-text lines, cut into chunks where posts start and segmented in parallel.
    Lines,
    Stream(&'static StreamFormat),
    Document(&'static DocumentFormat),
}

/// The formats: how each is read. `Auto` here means an input sniffed as HTML, told
/// apart by its content.
pub fn route(format: Format) -> Route {
    match format {
        Format::Text => Route::Lines,
        Format::TgJson => Route::Stream(&tg_json::STREAM),
        Format::Jsonl => Route::Stream(&jsonl::STREAM),
        Format::TgDataset => Route::Stream(&tgdataset::STREAM),
        Format::TgHtml => Route::Document(&tg_html::DOCUMENT),
        Format::TmeHtml => Route::Document(&tme_html::DOCUMENT),
        Format::Auto => Route::Document(&html::ANY_PAGE),
    }
}

/// The format `--format auto` reads an input as, from what its start looks like
/// (`Auto` for HTML, told apart after reading it whole); `None` for a binary file.
pub fn sniffed_format(sniffed: Sniffed) -> Option<Format> {
    match sniffed {
        Sniffed::Text => Some(Format::Text),
        Sniffed::JsonExport => Some(Format::TgJson),
        Sniffed::JsonRecords => Some(Format::Jsonl),
        Sniffed::TgDataset => Some(Format::TgDataset),
        Sniffed::Html => Some(Format::Auto),
        Sniffed::Binary => None,
    }
}

/// Where a reader sends what it finds.
pub trait ItemSink {
    /// One message (or a skipped one). An error here is fatal for the run (output failed)
    /// and the reader must stop and return it.
    fn item(&mut self, item: Item) -> Result<(), Error>;
    /// A problem with one part of the input (a bad JSON line); the reader goes on.
    fn problem(&mut self, error: Error);
}

/// Collects items and problems in memory; used by tests.
#[derive(Debug, Default)]
pub struct CollectSink {
    pub items: Vec<Item>,
    pub problems: Vec<String>,
}

impl ItemSink for CollectSink {
    fn item(&mut self, item: Item) -> Result<(), Error> {
        self.items.push(item);
        Ok(())
    }

    fn problem(&mut self, error: Error) {
        self.problems.push(error.report());
    }
}

impl CollectSink {
    /// The messages collected, skipping skipped items.
    pub fn messages(&self) -> Vec<&crate::formats::message::Message> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Message(m) => Some(m),
                Item::Skipped(_) => None,
            })
            .collect()
    }
}
