//! Scraper output: JSON Lines, or one JSON array of objects, streamed. Text comes from
//! `text`, `message` or `content` (or a field the user names); Telethon Markdown is
//! reduced to plain text.

use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ItemSink;
use super::markdown;
use super::tg_json::{DateFormat, date_from_naive, int_of, parse_naive, rfc3339_date};
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip, push_unique};
use crate::input::for_each_line;

/// Fields tried, in order, for the text of a record.
const TEXT_FIELDS: [&str; 3] = ["text", "message", "content"];

static SCRAPER_DATE: DateFormat =
    std::sync::LazyLock::new(|| chrono::format::StrftimeItems::new("%Y-%m-%d %H:%M:%S").collect());

/// A date given as RFC 3339, as `YYYY-MM-DD HH:MM:SS`, or as Unix seconds.
fn scraper_date(v: &Value) -> Option<crate::text::grammar::Date> {
    match v {
        Value::String(s) => rfc3339_date(s)
            .or_else(|| parse_naive(s, &SCRAPER_DATE).and_then(|n| date_from_naive(&n))),
        Value::Number(n) => {
            let dt = chrono::DateTime::from_timestamp(n.as_i64()?, 0)?;
            let mut d = date_from_naive(&dt.naive_utc())?;
            if let Some(t) = d.time.as_mut() {
                t.offset_minutes = Some(0);
            }
            Some(d)
        }
        _ => None,
    }
}

/// A forward source from Telethon's `fwd_from` (`from_name`, or the id inside
/// `from_id`), TGDataset's `forwarded_from_id`, or a plain `forwarded_from` string.
fn forward_source(o: &Map<String, Value>) -> Option<String> {
    if let Some(fwd) = o.get("fwd_from") {
        match fwd {
            Value::String(s) if !s.is_empty() => return Some(s.clone()),
            Value::Object(f) => {
                if let Some(name) = f.get("from_name").and_then(Value::as_str) {
                    return Some(name.to_owned());
                }
                match f.get("from_id") {
                    Some(Value::Object(peer)) => {
                        for key in ["channel_id", "user_id", "chat_id"] {
                            if let Some(id) = peer.get(key).and_then(int_of) {
                                return Some(format!("{key}:{id}"));
                            }
                        }
                    }
                    Some(v) => {
                        if let Some(id) = int_of(v) {
                            return Some(id.to_string());
                        }
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
    if let Some(id) = o.get("forwarded_from_id").and_then(int_of) {
        return Some(id.to_string());
    }
    o.get("forwarded_from")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Telethon `reactions.results[].{reaction.emoticon, count}` or a plain list of
/// `{emoji, count}`.
fn scraper_reactions(v: &Value) -> Vec<(String, u64)> {
    let list = v
        .get("results")
        .and_then(Value::as_array)
        .or_else(|| v.as_array());
    let Some(list) = list else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            let count = r.get("count").and_then(Value::as_u64)?;
            let emoji = r
                .get("reaction")
                .and_then(|x| x.get("emoticon"))
                .or_else(|| r.get("emoji"))
                .and_then(Value::as_str)?;
            Some((emoji.to_owned(), count))
        })
        .collect()
}

/// One scraper record. `None` when it is not a JSON object.
pub fn scraper_message(v: &Value, text_field: Option<&str>, line: Option<u64>) -> Option<Item> {
    let o = v.as_object()?;
    let raw_text = match text_field {
        Some(f) => o.get(f).and_then(Value::as_str),
        None => TEXT_FIELDS
            .iter()
            .find_map(|f| o.get(*f).and_then(Value::as_str)),
    };
    let Some(raw_text) = raw_text.filter(|t| !t.trim().is_empty()) else {
        return Some(Item::Skipped(Skip::MediaOnly));
    };
    let mut msg = Message {
        line,
        message_id: o.get("message_id").or_else(|| o.get("id")).and_then(int_of),
        channel: ["channel", "channel_name", "chat"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .map(str::to_owned),
        forwarded_from: forward_source(o),
        date: o.get("date").and_then(scraper_date),
        views: o.get("views").and_then(Value::as_u64),
        ..Message::default()
    };
    msg.text = markdown::reduce(raw_text, &mut msg.links);
    if let Some(r) = o.get("reactions") {
        msg.reactions = scraper_reactions(r);
    }
    if let Some(tags) = o.get("hashtags").and_then(Value::as_array) {
        for t in tags.iter().filter_map(Value::as_str) {
            push_unique(&mut msg.hashtags, t.trim_start_matches('#'));
        }
    }
    Some(Item::Message(msg))
}

struct ArraySeed<'s> {
    sink: &'s mut dyn ItemSink,
    text_field: Option<&'s str>,
    stopped: Option<Error>,
    not_objects: u64,
}

impl<'de> DeserializeSeed<'de> for &mut ArraySeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut ArraySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            match scraper_message(&v, self.text_field, None) {
                Some(item) => {
                    if let Err(e) = self.sink.item(item) {
                        self.stopped = Some(e);
                        return Err(de::Error::custom("stopped by the output"));
                    }
                }
                None => self.not_objects += 1,
            }
        }
        Ok(())
    }
}

/// Scraper JSON Lines and JSON arrays, parsed on the reader thread.
pub static STREAM: super::StreamFormat = super::StreamFormat {
    format: crate::config::Format::Jsonl,
    read: |name, reader, options, sink| read(name, reader, options.text_field, sink),
    framing: Some(super::Framing {
        applies: |head| !starts_array(head),
        split: split_lines,
        parse: parse_line,
    }),
};

/// Whether the input is one JSON array (read as a stream) rather than JSON Lines
/// (framed: the reader thread finds the lines, the workers parse them).
fn starts_array(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// What one line of JSON Lines (line `n`, its text without the terminator) gives: its
/// item, a problem, or `None` for a blank line. Both ways of reading share it.
fn line_item(
    name: &str,
    n: u64,
    line: &str,
    text_field: Option<&str>,
) -> Option<Result<Item, Error>> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    let problem = |what: String| Error::Parse {
        path: name.to_owned(),
        line: n,
        what,
    };
    Some(match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => scraper_message(&v, text_field, Some(n))
            .ok_or_else(|| problem("not a JSON object, skipped".into())),
        Err(e) => Err(problem(format!("invalid JSON, line skipped: {e}"))),
    })
}

/// Bytes read from the input at a time when framing lines.
const SPLIT_READ: usize = 256 << 10;

/// Frames JSON Lines: each line (ended by LF, CRLF or a lone CR, as
/// [`for_each_line`] ends them) with its number, blank lines passed over.
fn split_lines(
    name: &str,
    reader: &mut dyn std::io::Read,
    frame: &mut dyn FnMut(super::Frame<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut buf: Vec<u8> = Vec::with_capacity(SPLIT_READ * 2);
    let mut line_no = 0u64;
    let mut eof = false;
    let mut start = 0usize;
    while !eof || start < buf.len() {
        let end = match memchr::memchr(b'\n', &buf[start..]) {
            Some(i) => start + i,
            None if eof => buf.len(),
            None => {
                buf.drain(..start);
                start = 0;
                let old = buf.len();
                buf.resize(old + SPLIT_READ, 0);
                let n = reader.read(&mut buf[old..]).map_err(|source| Error::Read {
                    path: name.to_owned(),
                    line: line_no + 1,
                    source,
                })?;
                buf.truncate(old + n);
                eof = n == 0;
                continue;
            }
        };
        let line = &buf[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A lone CR ends a line too; searched for with SIMD, as most lines have none.
        let mut rest = Some(line);
        while let Some(part_and_more) = rest {
            let part = match memchr::memchr(b'\r', part_and_more) {
                Some(cr) => {
                    rest = part_and_more.get(cr + 1..);
                    &part_and_more[..cr]
                }
                None => {
                    rest = None;
                    part_and_more
                }
            };
            line_no += 1;
            if !is_blank(part) {
                frame(super::Frame {
                    line: line_no,
                    bytes: part,
                    channel: None,
                })?;
            }
        }
        start = end + 1;
    }
    Ok(())
}

/// Whether a line is blank as [`line_item`] sees it (whitespace once its invalid UTF-8
/// is replaced), looking past ASCII whitespace at the first other byte only.
fn is_blank(line: &[u8]) -> bool {
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(b) if b.is_ascii() => false,
        Some(_) => String::from_utf8_lossy(line).trim().is_empty(),
    }
}

/// Parses one framed line: its invalid UTF-8 replaced (and counted), then read as
/// [`read`] reads a line.
fn parse_line(
    name: &str,
    line: u64,
    bytes: &[u8],
    context: &super::FrameContext<'_>,
) -> super::ParsedFrame {
    let text_field = context.options.text_field;
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => super::ParsedFrame {
            item: line_item(name, line, text, text_field).transpose(),
            invalid_utf8: 0,
        },
        Err(_) => {
            let mut repaired = String::with_capacity(bytes.len() + 8);
            let invalid_utf8 = crate::input::push_lossy(bytes, &mut repaired);
            super::ParsedFrame {
                item: line_item(name, line, &repaired, text_field).transpose(),
                invalid_utf8,
            }
        }
    }
}

/// Reads JSON Lines (one object per line; a bad line is reported and skipped) or, when
/// the input starts with `[`, one JSON array of objects. Returns how many invalid UTF-8
/// sequences were replaced (JSON Lines only: an array with invalid UTF-8 is an error).
pub fn read(
    name: &str,
    mut reader: impl BufRead,
    text_field: Option<&str>,
    sink: &mut dyn ItemSink,
) -> Result<u64, Error> {
    let head = reader.fill_buf().map_err(|source| Error::Read {
        path: name.to_owned(),
        line: 1,
        source,
    })?;
    if starts_array(head) {
        let mut seed = ArraySeed {
            sink,
            text_field,
            stopped: None,
            not_objects: 0,
        };
        let mut de = serde_json::Deserializer::from_reader(reader);
        let result = (&mut seed).deserialize(&mut de).and_then(|()| de.end());
        if let Some(e) = seed.stopped {
            return Err(e);
        }
        if seed.not_objects > 0 {
            seed.sink.problem(Error::Parse {
                path: name.to_owned(),
                line: 1,
                what: format!(
                    "{} array element(s) are not objects, skipped",
                    seed.not_objects
                ),
            });
        }
        return result.map(|()| 0).map_err(|e| Error::Parse {
            path: name.to_owned(),
            line: e.line().max(1) as u64,
            what: format!("invalid JSON array: {e}"),
        });
    }
    let mut output_error = None;
    for_each_line(name, &mut reader, |n, line| {
        match line_item(name, n, line, text_field) {
            None => {}
            Some(Ok(item)) => {
                if let Err(e) = sink.item(item) {
                    output_error = Some(e);
                    return Err(Error::Interrupted);
                }
            }
            Some(Err(problem)) => sink.problem(problem),
        }
        Ok(())
    })
    .map(|counts| counts.invalid_utf8)
    .map_err(|e| output_error.take().unwrap_or(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

    /// Reads `input` framed (in reads of `chunk` bytes) then parsed frame by frame, as
    /// the workers do: the items, the problems and the invalid UTF-8 count.
    fn framed(input: &[u8], chunk: usize, text_field: Option<&str>) -> (CollectSink, u64) {
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
        split_lines("in.jsonl", &mut Trickle(input, chunk), &mut |f| {
            frames.push((f.line, f.bytes.to_vec()));
            Ok(())
        })
        .unwrap();
        let mut sink = CollectSink::default();
        let mut invalid = 0;
        let context = crate::formats::FrameContext {
            channel: None,
            options: crate::formats::ReadOptions { text_field },
        };
        for (line, bytes) in frames {
            let parsed = parse_line("in.jsonl", line, &bytes, &context);
            invalid += parsed.invalid_utf8;
            match parsed.item {
                Ok(Some(item)) => sink.item(item).unwrap(),
                Ok(None) => {}
                Err(e) => sink.problem(e),
            }
        }
        (sink, invalid)
    }

    #[test]
    fn framed_lines_give_what_the_stream_gives() {
        let input: &[u8] = b"{\"id\": 1, \"text\": \"one\"}\r\n\r\n  \t \n\
            {\"id\": 2, \"text\": \"two\"}\r{\"id\": 3, \"body\": \"three\", \"text\": \"t\"}\n\
            \xC2\xA0\n{\"id\": 4, \"text\": \"bad \xFF byte\"}\nnot json \xFE\n[1]\n\
            {\"id\": 5, \"photo\": true}\n\xEF\xBB\xBF{\"id\": 6}\n{\"id\": 7, \"text\": \"last\"}";
        for text_field in [None, Some("body")] {
            let mut streamed = CollectSink::default();
            let invalid = read("in.jsonl", input, text_field, &mut streamed).unwrap();
            assert!(!streamed.messages().is_empty(), "{streamed:?}");
            for chunk in [1, 3, 7, 64, 1 << 20] {
                let (sink, framed_invalid) = framed(input, chunk, text_field);
                assert_eq!(
                    format!("{:?}", sink.items),
                    format!("{:?}", streamed.items),
                    "{chunk}"
                );
                assert_eq!(
                    sink.problems, streamed.problems,
                    "read {chunk} bytes at a time"
                );
                assert_eq!(framed_invalid, invalid);
            }
        }
        assert!(starts_array(b"\xEF\xBB\xBF \n [{}]"));
        assert!(!starts_array(b"{\"id\": 1}"));
    }

    #[test]
    fn json_lines_with_telethon_fields() {
        let input = concat!(
            r#"{"message_id": 7, "text": "**Bold** [site](https://x.org)", "date": "2024-12-04T08:55:19+00:00", "channel": "РИА", "fwd_from": {"from_id": {"channel_id": 42}}, "views": 10}"#,
            "\n\nnot json\n[1]\n",
            r#"{"id": "8", "message": "second", "forwarded_from_id": 99, "reactions": {"results": [{"reaction": {"emoticon": "👍"}, "count": 3}]}}"#,
            "\n",
            r#"{"id": 9, "photo": true}"#,
            "\n"
        );
        let mut sink = CollectSink::default();
        read("s.jsonl", input.as_bytes(), None, &mut sink).unwrap();
        let m = sink.messages();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].text, "Bold site");
        assert_eq!(m[0].links, ["https://x.org"]);
        assert_eq!(m[0].line, Some(1));
        assert_eq!(m[0].message_id, Some(7));
        assert_eq!(m[0].channel.as_deref(), Some("РИА"));
        assert_eq!(m[0].forwarded_from.as_deref(), Some("channel_id:42"));
        assert_eq!(m[0].date.unwrap().iso(), "2024-12-04T08:55:19Z");
        assert_eq!(m[0].views, Some(10));
        assert_eq!(m[1].message_id, Some(8));
        assert_eq!(m[1].forwarded_from.as_deref(), Some("99"));
        assert_eq!(m[1].reactions, vec![("👍".to_owned(), 3)]);
        assert_eq!(sink.items.last(), Some(&Item::Skipped(Skip::MediaOnly)));
        assert_eq!(sink.problems.len(), 2);
        assert!(sink.problems[0].starts_with("s.jsonl:3: invalid JSON"));
        assert!(sink.problems[1].starts_with("s.jsonl:4: not a JSON object"));
    }

    #[test]
    fn invalid_utf8_in_a_line_is_replaced_and_counted() {
        let mut sink = CollectSink::default();
        let invalid = read(
            "b.jsonl",
            &b"{\"text\": \"caf\xE9 ok\"}\n"[..],
            None,
            &mut sink,
        )
        .unwrap();
        assert_eq!(invalid, 1);
        assert_eq!(sink.messages()[0].text, "caf\u{FFFD} ok");
    }

    #[test]
    fn json_array_and_text_field() {
        let input = r#"[{"body": "from body", "text": "ignored"}, {"body": "two"}]"#;
        let mut sink = CollectSink::default();
        read("a.json", input.as_bytes(), Some("body"), &mut sink).unwrap();
        let texts: Vec<_> = sink.messages().iter().map(|m| m.text.clone()).collect();
        assert_eq!(texts, ["from body", "two"]);
        assert_eq!(sink.messages()[0].line, None);
    }

    #[test]
    fn truncated_array_keeps_what_was_read() {
        let mut sink = CollectSink::default();
        let err = read(
            "a.json",
            &b"[{\"text\": \"one\"},\n{\"text\": "[..],
            None,
            &mut sink,
        )
        .unwrap_err();
        assert_eq!(sink.messages().len(), 1);
        assert!(err.report().starts_with("a.json:2: invalid JSON array"));
    }
}
