//! Reads TGDataset files (SPEC §2): one JSON object keyed by channel id, each channel
//! `{username, title, text_messages: {message_id: {message, date, is_forwarded,
//! forwarded_from_id, …}}, generic_media: {message_id: …}, …}`.
//!
//! The files are large (the published dataset is hundreds of GB in a few hundred
//! files), so they are framed, not parsed, as they are read ([`split_channels`], on the
//! [`super::json_scan`] scanner): a channel's text messages are kept as bytes until the
//! channel's object ends — its name may come after its messages — and then handed on,
//! each to be parsed on its own ([`parse_message`], on the worker threads). A frame with
//! no bytes stands for a media entry with no text message of the same id.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;

use super::ItemSink;
use super::export_split::RawMessage;
use super::json_scan::Scanner;
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip};
use crate::text::grammar::Date;

/// How the engine reads TGDataset: framed channel by channel on the reader thread, each
/// message parsed on the workers.
pub static STREAM: super::StreamFormat = super::StreamFormat {
    format: crate::config::Format::TgDataset,
    read: |name, reader, _, sink| read(name, reader, sink).map(|()| 0),
    framing: Some(FRAMING),
};

/// Framing and parsing as two steps: the reader thread frames, the workers parse.
const FRAMING: super::Framing = super::Framing {
    applies: |_| true,
    split: |name, reader, frame| split_channels(name, reader, frame),
    parse: |name, line, bytes, context| super::ParsedFrame {
        item: parse_message(name, line, bytes, context.channel).map(Some),
        invalid_utf8: 0,
    },
};

/// One text message as TGDataset stores it; fields not listed are passed over.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextMessage<'a> {
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    /// Seconds since the epoch, UTC, as a float.
    date: Option<f64>,
    is_forwarded: Option<bool>,
    forwarded_from_id: Option<serde_json::Value>,
}

/// The message's date: the float epoch as a UTC date-time, whole seconds.
fn epoch_date(seconds: f64) -> Option<Date> {
    if !seconds.is_finite() {
        return None;
    }
    let utc = chrono::DateTime::from_timestamp(seconds.floor() as i64, 0)?;
    let mut date = super::tg_json::date_from_naive(&utc.naive_utc())?;
    if let Some(time) = date.time.as_mut() {
        time.offset_minutes = Some(0);
    }
    Some(date)
}

/// The forward source of a forwarded message, as `channel_id:<id>`.
fn forward_source(id: &serde_json::Value) -> Option<String> {
    match id {
        serde_json::Value::Number(n) => Some(format!("channel_id:{n}")),
        serde_json::Value::String(s) if !s.trim().is_empty() => {
            Some(format!("channel_id:{}", s.trim()))
        }
        _ => None,
    }
}

/// An object key as written (with its quotes), decoded; borrowed when nothing in it is
/// escaped.
fn decoded_key(raw: &[u8]) -> Result<Cow<'_, str>, serde_json::Error> {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    match std::str::from_utf8(inner) {
        Ok(key) if !key.contains('\\') => Ok(Cow::Borrowed(key)),
        _ => serde_json::from_slice::<String>(raw).map(Cow::Owned),
    }
}

/// A message id as written, decoded as well as it can be.
fn id_of(raw: &[u8]) -> Cow<'_, str> {
    decoded_key(raw).unwrap_or_else(|_| String::from_utf8_lossy(raw))
}

/// The end of the string that opens `bytes` (just past its closing quote).
fn string_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i + k] == b'"' {
            return Some(i + k + 1);
        }
        i += k + 2;
    }
}

/// One framed message: `"<id>":{…}` as [`split_channels`] hands it on, or no bytes for a
/// media entry without text. `line` is the line of the message's object.
pub fn parse_message(
    name: &str,
    line: u64,
    bytes: &[u8],
    channel: Option<&str>,
) -> Result<Item, Error> {
    if bytes.is_empty() {
        return Ok(Item::Skipped(Skip::MediaOnly));
    }
    let unreadable = |what: String| Error::Parse {
        path: name.to_owned(),
        line,
        what: format!("not a readable TGDataset message: {what}"),
    };
    let key_end = string_end(bytes).ok_or_else(|| unreadable("no message id".into()))?;
    let id = decoded_key(&bytes[..key_end]).map_err(|e| unreadable(e.to_string()))?;
    let value = bytes.get(key_end + 1..).unwrap_or_default();
    let m: TextMessage<'_> = super::parse_json_frame(name, line, value, "TGDataset message")?;
    let text = m.message.unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(Item::Skipped(Skip::MediaOnly));
    }
    let forwarded_from = if m.is_forwarded == Some(true) {
        m.forwarded_from_id.as_ref().and_then(forward_source)
    } else {
        None
    };
    Ok(Item::Message(Message {
        message_id: id.trim().parse().ok(),
        channel: channel.map(str::to_owned),
        forwarded_from,
        date: m.date.and_then(epoch_date),
        text: text.into_owned(),
        ..Message::default()
    }))
}

/// A channel read so far: its name's parts and its messages' bytes, kept until the
/// channel's object ends.
#[derive(Default)]
struct HeldChannel {
    line: u64,
    title: Option<String>,
    username: Option<String>,
    /// The text messages, each as `"<id>":{…}`, one after another.
    bytes: Vec<u8>,
    /// Line of each text message's object, its bytes in `bytes`, and its id's length.
    texts: Vec<(u64, Range<usize>, usize)>,
    /// The ids of the media entries, as written, one after another.
    media_keys: Vec<u8>,
    media: Vec<Range<usize>>,
}

impl HeldChannel {
    fn clear(&mut self, line: u64) {
        self.line = line;
        self.title = None;
        self.username = None;
        self.bytes.clear();
        self.texts.clear();
        self.media_keys.clear();
        self.media.clear();
    }

    /// Hands on the channel's text messages in file order, then a media-only frame for
    /// each media entry with no text message of the same id.
    fn hand_on(
        &self,
        on_message: &mut dyn FnMut(RawMessage<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // The title wins over the username; an empty one does not count.
        let channel: Option<Arc<str>> = [&self.title, &self.username]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .map(Arc::from);
        for (line, range, _) in &self.texts {
            on_message(RawMessage {
                line: *line,
                bytes: &self.bytes[range.clone()],
                channel: channel.as_ref(),
            })?;
        }
        if self.media.is_empty() {
            return Ok(());
        }
        let texts: HashSet<Cow<'_, str>> = self
            .texts
            .iter()
            .map(|(_, range, key_len)| id_of(&self.bytes[range.start..range.start + key_len]))
            .collect();
        for media in &self.media {
            if !texts.contains(&id_of(&self.media_keys[media.clone()])) {
                on_message(RawMessage {
                    line: self.line,
                    bytes: &[],
                    channel: channel.as_ref(),
                })?;
            }
        }
        Ok(())
    }
}

/// `null`, or a string (the channel's `username` or `title`).
fn optional_string<R: Read>(s: &mut Scanner<R>, field: &str) -> Result<Option<String>, Error> {
    let (_, range) = s.take_value()?;
    match serde_json::from_slice::<Option<String>>(&s.buf[range]) {
        Ok(value) => Ok(value),
        Err(e) => Err(s.error(format!("`{field}`: {e}"))),
    }
}

/// Whether the next value is `null` (then consumed) rather than an object.
fn null_or_object<R: Read>(s: &mut Scanner<R>, what: &str) -> Result<bool, Error> {
    match s.peek()? {
        Some(b'{') => Ok(false),
        Some(b'n') => {
            let (_, range) = s.take_value()?;
            if &s.buf[range] == b"null" {
                Ok(true)
            } else {
                Err(s.error(format!("expected {what}")))
            }
        }
        _ => Err(s.error(format!("expected {what}"))),
    }
}

/// text_messages = null / "{" *(message-id ":" message) "}"
fn text_messages<R: Read>(s: &mut Scanner<R>, held: &mut HeldChannel) -> Result<(), Error> {
    const WHAT: &str = "an object keyed by message id";
    if null_or_object(s, WHAT)? || !s.open(b'{', b'}', WHAT)? {
        return Ok(());
    }
    loop {
        let start = held.bytes.len();
        let key = s.raw_key()?;
        held.bytes.extend_from_slice(&s.buf[key.clone()]);
        held.bytes.push(b':');
        s.expect(b':', "`:`")?;
        let (line, value) = s.take_value()?;
        held.bytes.extend_from_slice(&s.buf[value]);
        held.texts
            .push((line, start..held.bytes.len(), key.end - key.start));
        if !s.next_member(b'}')? {
            return Ok(());
        }
    }
}

/// generic_media = null / "{" *(message-id ":" value) "}"
fn generic_media<R: Read>(s: &mut Scanner<R>, held: &mut HeldChannel) -> Result<(), Error> {
    const WHAT: &str = "an object keyed by message id";
    if null_or_object(s, WHAT)? || !s.open(b'{', b'}', WHAT)? {
        return Ok(());
    }
    loop {
        let key = s.raw_key()?;
        let start = held.media_keys.len();
        held.media_keys.extend_from_slice(&s.buf[key]);
        held.media.push(start..held.media_keys.len());
        s.expect(b':', "`:`")?;
        s.take_value()?;
        if !s.next_member(b'}')? {
            return Ok(());
        }
    }
}

/// channel = "{" *(("username" / "title") ":" (string / null) / "text_messages" ":"
/// text_messages / "generic_media" ":" generic_media / key ":" value) "}"
fn channel<R: Read>(s: &mut Scanner<R>, held: &mut HeldChannel) -> Result<(), Error> {
    if !s.open(b'{', b'}', "a channel object")? {
        return Ok(());
    }
    loop {
        let key = s.key()?;
        s.expect(b':', "`:`")?;
        match key.as_str() {
            "username" => held.username = optional_string(s, "username")?,
            "title" => held.title = optional_string(s, "title")?,
            "text_messages" => text_messages(s, held)?,
            "generic_media" => generic_media(s, held)?,
            _ => {
                s.take_value()?;
            }
        }
        if !s.next_member(b'}')? {
            return Ok(());
        }
    }
}

/// Streams the TGDataset file in `reader` and hands every message to `on_message`, in
/// file order, each channel's once its object has ended.
///
/// tgdataset = "{" *(channel-id ":" channel) "}"
///
/// An error from `on_message` stops the split and is returned. A file that is not such
/// an object is an error at the line where that was seen; the channels before it have
/// been handed on.
pub fn split_channels(
    name: &str,
    reader: impl Read,
    on_message: &mut dyn FnMut(RawMessage<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut s = Scanner::new(name, reader, "TGDataset file");
    let mut held = HeldChannel::default();
    if s.open(b'{', b'}', "an object keyed by channel id")? {
        loop {
            s.key()?;
            s.expect(b':', "`:`")?;
            let line = s.line_here()?;
            held.clear(line);
            channel(&mut s, &mut held)?;
            held.hand_on(on_message)?;
            if !s.next_member(b'}')? {
                break;
            }
        }
    }
    if s.peek()?.is_some() {
        return Err(s.error("trailing characters after the object"));
    }
    Ok(())
}

/// Reads a TGDataset file from `reader`, sending every channel's messages to `sink`. A
/// message that cannot be read is a problem for the sink, and reading goes on; a file
/// that is not a TGDataset object stops with an error at its line.
pub fn read(name: &str, mut reader: impl Read, sink: &mut dyn ItemSink) -> Result<(), Error> {
    super::read_framed(
        name,
        &mut reader,
        &super::ReadOptions::default(),
        sink,
        FRAMING.split,
        FRAMING.parse,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;
    use crate::formats::json_scan::Trickle;

    const TWO_CHANNELS: &str = r#"{
  "1001": {
    "_id": 1001,
    "text_messages": {
      "7": {"message": "First post\n\nBody line", "date": 1672531200.5, "author": null,
            "is_forwarded": false, "forwarded_from_id": null},
      "8": {"message": "", "date": 1672531300.0, "is_forwarded": false},
      "9": {"message": "Forwarded news", "date": 1672617600.0, "is_forwarded": true,
            "forwarded_from_id": 1234567, "forwarded_message_date": 1672600000.0}
    },
    "generic_media": {"9": {"type": "photo"}, "10": {"type": "video"}},
    "username": "chan_one",
    "title": "Channel One"
  },
  "-1002": {"username": "second", "title": "", "text_messages": {"1": {"message": "Hi there"}}}
}"#;

    #[test]
    fn channels_are_read_in_order_with_their_names_dates_and_forwards() {
        let mut sink = CollectSink::default();
        read("d.json", TWO_CHANNELS.as_bytes(), &mut sink).unwrap();
        assert!(sink.problems.is_empty(), "{:?}", sink.problems);
        let msgs = sink.messages();
        assert_eq!(msgs.len(), 3);
        // The title wins, although it comes after the messages.
        assert_eq!(msgs[0].channel.as_deref(), Some("Channel One"));
        assert_eq!(msgs[0].message_id, Some(7));
        assert_eq!(msgs[0].text, "First post\n\nBody line");
        let date = msgs[0].date.unwrap();
        assert_eq!((date.year, date.month, date.day), (2023, 1, 1));
        let time = date.time.unwrap();
        assert_eq!(
            (time.hour, time.minute, time.second, time.offset_minutes),
            (0, 0, Some(0), Some(0))
        );
        assert_eq!(msgs[0].forwarded_from, None);
        assert_eq!(
            msgs[1].forwarded_from.as_deref(),
            Some("channel_id:1234567")
        );
        // An empty title falls back to the username.
        assert_eq!(msgs[2].channel.as_deref(), Some("second"));
        assert_eq!(msgs[2].message_id, Some(1));
        assert_eq!(msgs[2].date, None);
    }

    #[test]
    fn empty_messages_and_media_without_text_are_media_only() {
        let mut sink = CollectSink::default();
        read("d.json", TWO_CHANNELS.as_bytes(), &mut sink).unwrap();
        let media_only = sink
            .items
            .iter()
            .filter(|i| matches!(i, Item::Skipped(Skip::MediaOnly)))
            .count();
        // Message 8 has no text; media 10 has no message; media 9 has one.
        assert_eq!(media_only, 2);
    }

    #[test]
    fn a_broken_file_is_an_error_at_its_line_after_the_channels_before_it() {
        let broken = "{\"1\": {\"title\": \"A\", \"text_messages\": {\"1\": {\"message\": \"ok\"}}},\n\"2\": {\"title\": oops}}";
        let mut sink = CollectSink::default();
        let e = read("d.json", broken.as_bytes(), &mut sink).unwrap_err();
        assert_eq!(sink.messages().len(), 1);
        let report = e.report();
        assert!(
            report.starts_with("d.json:2: not a readable TGDataset file"),
            "{report}"
        );
    }

    #[test]
    fn epoch_dates_are_utc_and_bad_ones_none() {
        let d = epoch_date(86_400.0 * 365.0).unwrap();
        assert_eq!((d.year, d.month, d.day), (1971, 1, 1));
        assert_eq!(epoch_date(f64::NAN), None);
        assert_eq!(epoch_date(1e300), None);
    }

    /// Reads `input` handed over `chunk` bytes at a time, as a slow pipe would.
    fn read_in_chunks(input: &str, chunk: usize) -> (CollectSink, Result<(), Error>) {
        let mut sink = CollectSink::default();
        let result = read("d.json", Trickle(input.as_bytes(), chunk), &mut sink);
        (sink, result)
    }

    #[test]
    fn framing_finds_the_same_messages_whatever_the_read_size() {
        let (whole, result) = read_in_chunks(TWO_CHANNELS, 1 << 20);
        result.unwrap();
        for chunk in [1, 2, 3, 7, 64] {
            let (sink, result) = read_in_chunks(TWO_CHANNELS, chunk);
            result.unwrap();
            assert_eq!(sink.items, whole.items, "reads of {chunk}");
        }
    }

    #[test]
    fn frames_are_the_id_and_the_message_object() {
        let mut frames = Vec::new();
        split_channels("d.json", TWO_CHANNELS.as_bytes(), &mut |m| {
            frames.push((m.line, String::from_utf8(m.bytes.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            frames.len(),
            5,
            "three text messages, one media-only, one more"
        );
        assert_eq!(
            frames[1],
            (
                7,
                "\"8\":{\"message\": \"\", \"date\": 1672531300.0, \"is_forwarded\": false}".into()
            )
        );
        assert_eq!(frames[3].1, "", "media 10 has no text message");
    }

    #[test]
    fn escaped_ids_null_maps_and_bad_messages() {
        let input = r#"{"1": {"text_messages": {"\u0039": {"message": "nine"}, "10": {"message": 5},
            "11": null, "12": {"message": "twelve"}},
            "generic_media": {"9": {}, "13": {}}, "title": "T"},
          "2": {"text_messages": null, "generic_media": null, "username": null},
          "3": {}}"#;
        let (sink, result) = read_in_chunks(input, 5);
        result.unwrap();
        let texts: Vec<_> = sink
            .messages()
            .iter()
            .map(|m| (m.message_id, m.text.clone(), m.channel.clone()))
            .collect();
        assert_eq!(
            texts,
            [
                (Some(9), "nine".to_owned(), Some("T".to_owned())),
                (Some(12), "twelve".to_owned(), Some("T".to_owned()))
            ]
        );
        // Media 9 has the (escaped) text id 9; media 13 has none.
        let media_only = sink
            .items
            .iter()
            .filter(|i| matches!(i, Item::Skipped(Skip::MediaOnly)))
            .count();
        assert_eq!(media_only, 1);
        assert_eq!(sink.problems.len(), 2, "{:?}", sink.problems);
        assert!(sink.problems[0].starts_with("d.json:1: not a readable TGDataset message"));
        assert!(sink.problems[1].starts_with("d.json:2: not a readable TGDataset message"));
    }

    /// A channel as the property test writes it.
    #[derive(Debug, Clone)]
    struct GenChannel {
        title: Option<String>,
        username: Option<String>,
        name_first: bool,
        messages: Vec<(u16, String, Option<u32>)>,
        media: Vec<u16>,
    }

    fn gen_channel() -> impl proptest::strategy::Strategy<Value = GenChannel> {
        use proptest::prelude::*;
        let name = proptest::option::of(prop::sample::select(vec![
            "",
            " ",
            "News ]}\"",
            "Канал",
            "x\\y",
        ]))
        .prop_map(|n| n.map(str::to_owned));
        let text = prop::sample::select(vec![
            "",
            "  ",
            "Hello",
            "a }] \" {[",
            "строка\nвторая",
            "\\n",
        ])
        .prop_map(str::to_owned);
        (
            name.clone(),
            name,
            any::<bool>(),
            prop::collection::vec((0u16..20, text, proptest::option::of(1u32..4)), 0..6),
            prop::collection::vec(0u16..20, 0..4),
        )
            .prop_map(
                |(title, username, name_first, messages, media)| GenChannel {
                    title,
                    username,
                    name_first,
                    messages,
                    media,
                },
            )
    }

    proptest::proptest! {
        /// Whatever the channels, their key order and the read size, the items are those
        /// the file describes: each channel's text messages in order with the channel's
        /// name, then one media-only item per media entry without a text message.
        #[test]
        fn framed_reading_gives_the_items_the_file_describes(
            channels in proptest::collection::vec(gen_channel(), 0..5),
            chunk in 1usize..40,
        ) {
            use serde_json::json;
            let mut input = String::from("{");
            let mut expected = Vec::new();
            for (c, ch) in channels.iter().enumerate() {
                let names = format!(
                    "\"title\": {}, \"username\": {}",
                    json!(ch.title), json!(ch.username)
                );
                let texts: Vec<String> = ch.messages.iter().map(|(id, text, fwd)| {
                    let m = json!({"message": text, "date": 1.0e9, "is_forwarded": fwd.is_some(),
                                   "forwarded_from_id": fwd});
                    format!("\"{id}\":\n {m}")
                }).collect();
                let media: Vec<String> = ch.media.iter().map(|id| format!("\"{id}\": {{\"x\": [1]}}")).collect();
                let body = format!("\"text_messages\": {{{}}}, \"generic_media\": {{{}}}", texts.join(", "), media.join(","));
                let (first, second) = if ch.name_first { (&names, &body) } else { (&body, &names) };
                if c > 0 { input.push(','); }
                input.push_str(&format!("\n\"{c}\": {{\"_id\": {c}, {first}, \"extra\": {{\"a\": [\"}}\"]}}, {second}}}"));
                let name = [&ch.title, &ch.username].into_iter().flatten()
                    .map(|s| s.trim()).find(|s| !s.is_empty()).map(str::to_owned);
                for (id, text, fwd) in &ch.messages {
                    if text.trim().is_empty() {
                        expected.push(Item::Skipped(Skip::MediaOnly));
                        continue;
                    }
                    expected.push(Item::Message(Message {
                        message_id: Some(i64::from(*id)),
                        channel: name.clone(),
                        forwarded_from: fwd.map(|f| format!("channel_id:{f}")),
                        date: epoch_date(1.0e9),
                        text: text.clone(),
                        ..Message::default()
                    }));
                }
                for id in &ch.media {
                    if !ch.messages.iter().any(|(t, _, _)| t == id) {
                        expected.push(Item::Skipped(Skip::MediaOnly));
                    }
                }
            }
            input.push_str("\n}\n");
            let (sink, result) = read_in_chunks(&input, chunk);
            proptest::prop_assert!(result.is_ok(), "{:?}", result);
            proptest::prop_assert!(sink.problems.is_empty(), "{:?}", sink.problems);
            proptest::prop_assert_eq!(sink.items, expected);
        }
    }
}
