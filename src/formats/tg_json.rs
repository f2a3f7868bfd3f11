//! Telegram Desktop JSON export (`result.json`), single chat or whole account, streamed:
//! the `messages` arrays are deserialised one message at a time, so memory stays at one
//! message however large the export.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDateTime};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::ItemSink;
use crate::error::Error;
use crate::grammar::{Date, Time};
use crate::message::{Item, Message, Skip, push_unique};

/// Rewrites the invalid `\xHH` escapes some exports contain into JSON's `\u00HH`, so the
/// rest of the file still parses. Only a backslash that starts an escape is looked at;
/// `\\x` (an escaped backslash followed by `x`) is left alone.
pub struct EscapeRepair<R> {
    inner: R,
    after_backslash: bool,
    /// Bytes of a replacement that did not fit in the caller's buffer.
    carry: Vec<u8>,
    /// Escapes rewritten so far.
    pub repaired: u64,
}

impl<R: BufRead> EscapeRepair<R> {
    pub fn new(inner: R) -> Self {
        EscapeRepair {
            inner,
            after_backslash: false,
            carry: Vec::new(),
            repaired: 0,
        }
    }
}

impl<R: BufRead> Read for EscapeRepair<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.carry.is_empty() {
            let n = self.carry.len().min(out.len());
            out[..n].copy_from_slice(&self.carry[..n]);
            self.carry.drain(..n);
            return Ok(n);
        }
        let input = self.inner.fill_buf()?;
        if input.is_empty() {
            return Ok(0);
        }
        let (mut n, mut used) = (0, 0);
        while used < input.len() && n < out.len() {
            if self.after_backslash {
                self.after_backslash = false;
                let b = input[used];
                used += 1;
                if b == b'x' {
                    self.repaired += 1;
                    for &c in b"u00" {
                        if n < out.len() {
                            out[n] = c;
                            n += 1;
                        } else {
                            self.carry.push(c);
                        }
                    }
                } else {
                    out[n] = b;
                    n += 1;
                }
                continue;
            }
            // Up to and including the next backslash, copied whole.
            let room = (input.len() - used).min(out.len() - n);
            let run = &input[used..used + room];
            let take = match memchr::memchr(b'\\', run) {
                Some(k) => {
                    self.after_backslash = true;
                    k + 1
                }
                None => room,
            };
            out[n..n + take].copy_from_slice(&run[..take]);
            n += take;
            used += take;
        }
        self.inner.consume(used);
        Ok(n)
    }
}

/// State shared by the nested visitors: where messages go, and the sink's own error
/// when it asked to stop (serde only carries its own error type).
struct Ctx<'s> {
    sink: &'s mut dyn ItemSink,
    stopped: Option<Error>,
    messages_seen: bool,
}

/// A chat object: `name`, `messages`, or (at the top of a whole-account export) `chats`
/// and `left_chats` holding lists of chats.
struct ChatSeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
}

impl<'de> DeserializeSeed<'de> for ChatSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChatSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Telegram Desktop export object with `messages` or `chats`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut name: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value::<Option<String>>()?,
                "messages" => {
                    self.ctx.messages_seen = true;
                    map.next_value_seed(MessagesSeed {
                        ctx: &mut *self.ctx,
                        channel: name.as_deref(),
                    })?;
                }
                "chats" | "left_chats" => map.next_value_seed(ChatListSeed {
                    ctx: &mut *self.ctx,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `{"about": …, "list": [chat, …]}` of a whole-account export.
struct ChatListSeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
}

impl<'de> DeserializeSeed<'de> for ChatListSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ChatListSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a `list` of chats")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "list" {
                map.next_value_seed(ChatArraySeed {
                    ctx: &mut *self.ctx,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ChatArraySeed<'c, 's> {
    ctx: &'c mut Ctx<'s>,
}

impl<'de> DeserializeSeed<'de> for ChatArraySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChatArraySeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of chats")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ChatSeed {
                ctx: &mut *self.ctx,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// The `messages` array: each element is read as a `Value` (which tolerates duplicated
/// keys and numeric or string ids) and handed on before the next is read.
struct MessagesSeed<'c, 's, 'n> {
    ctx: &'c mut Ctx<'s>,
    channel: Option<&'n str>,
}

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            let item = export_message(&value, self.channel);
            if let Err(e) = self.ctx.sink.item(item) {
                self.ctx.stopped = Some(e);
                return Err(de::Error::custom("stopped by the output"));
            }
        }
        Ok(())
    }
}

/// Reads a whole export from `reader`, sending every message to `sink`.
pub fn read(name: &str, reader: impl BufRead, sink: &mut dyn ItemSink) -> Result<(), Error> {
    let repair = BufReader::with_capacity(64 * 1024, EscapeRepair::new(reader));
    let mut de = serde_json::Deserializer::from_reader(repair);
    let mut ctx = Ctx {
        sink,
        stopped: None,
        messages_seen: false,
    };
    let result = ChatSeed { ctx: &mut ctx }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = ctx.stopped {
        return Err(e);
    }
    let parse_error = |line: usize, what: String| Error::Parse {
        path: name.to_owned(),
        line: line.max(1) as u64,
        what,
    };
    match result {
        Err(e) => Err(parse_error(
            e.line(),
            format!("not a readable Telegram Desktop JSON export: {e}"),
        )),
        Ok(()) if !ctx.messages_seen => Err(parse_error(
            1,
            "JSON without a `messages` array or `chats` list: not a Telegram Desktop export".into(),
        )),
        Ok(()) => Ok(()),
    }
}

/// Parses the export's local `date`; with `date_unixtime` the UTC offset is derived too.
pub fn export_date(local: &str, unixtime: Option<i64>) -> Option<Date> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").ok()?;
    let mut date = date_from_naive(&naive)?;
    if let (Some(t), Some(unix)) = (date.time.as_mut(), unixtime) {
        let offset_s = naive.and_utc().timestamp() - unix;
        // Real offsets are whole quarter hours and within ±14 h; anything else means the
        // two fields disagree, and then no offset is claimed.
        if offset_s % 900 == 0 && offset_s.abs() <= 14 * 3600 {
            t.offset_minutes = i16::try_from(offset_s / 60).ok();
        }
    }
    Some(date)
}

/// A `Date` from chrono's naive date-time (seconds kept, no offset).
pub fn date_from_naive(n: &NaiveDateTime) -> Option<Date> {
    use chrono::{Datelike, Timelike};
    let year = u16::try_from(n.year()).ok()?;
    Date::new(year, n.month() as u8, n.day() as u8)?.at(
        n.hour() as u8,
        n.minute() as u8,
        Some(n.second() as u8),
    )
}

/// A `Date` from an RFC 3339 string such as `2024-12-04T08:55:19+00:00`.
pub fn rfc3339_date(s: &str) -> Option<Date> {
    let dt = DateTime::parse_from_rfc3339(s).ok()?;
    let mut date = date_from_naive(&dt.naive_local())?;
    if let Some(Time { offset_minutes, .. }) = date.time.as_mut() {
        *offset_minutes = i16::try_from(dt.offset().local_minus_utc() / 60).ok();
    }
    Some(date)
}

/// An integer given as a JSON number or a string of digits.
pub fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Text and entities of a `text` / `text_entities` value: a string, or an array of
/// strings and `{type, text, href?}` objects.
fn flatten_text(v: &Value, msg: &mut Message) {
    match v {
        Value::String(s) => msg.text.push_str(s),
        Value::Array(parts) => {
            for part in parts {
                match part {
                    Value::String(s) => msg.text.push_str(s),
                    Value::Object(o) => {
                        let text = o.get("text").and_then(Value::as_str).unwrap_or("");
                        msg.text.push_str(text);
                        match o.get("type").and_then(Value::as_str) {
                            Some("hashtag") => {
                                push_unique(&mut msg.hashtags, text.trim_start_matches('#'))
                            }
                            Some("mention") => {
                                push_unique(&mut msg.mentions, text.trim_start_matches('@'))
                            }
                            Some("link") => push_unique(&mut msg.links, text),
                            Some("text_link") => {
                                if let Some(href) = o.get("href").and_then(Value::as_str) {
                                    push_unique(&mut msg.links, href);
                                }
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// `{"type": "emoji", "emoji": "👍", "count": 5}`; custom emoji are counted under
/// `custom:<document_id>`, paid (star) reactions under `⭐`.
fn export_reactions(v: &Value) -> Vec<(String, u64)> {
    let Some(list) = v.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            let count = r.get("count").and_then(Value::as_u64)?;
            let emoji = match r.get("type").and_then(Value::as_str) {
                Some("custom_emoji") => format!(
                    "custom:{}",
                    r.get("document_id")
                        .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned))?
                ),
                Some("paid") => "⭐".to_owned(),
                _ => r.get("emoji").and_then(Value::as_str)?.to_owned(),
            };
            Some((emoji, count))
        })
        .collect()
}

/// One element of a `messages` array.
pub fn export_message(v: &Value, channel: Option<&str>) -> Item {
    if v.get("type").and_then(Value::as_str) == Some("service") {
        return Item::Skipped(Skip::Service);
    }
    let mut msg = Message {
        message_id: v.get("id").and_then(int_of),
        channel: channel.map(str::to_owned),
        ..Message::default()
    };
    // `text_entities` (newer exports) holds the same text as `text`, always as objects.
    match v.get("text_entities") {
        Some(e @ Value::Array(_)) => flatten_text(e, &mut msg),
        _ => flatten_text(v.get("text").unwrap_or(&Value::Null), &mut msg),
    }
    if msg.text.trim().is_empty() {
        return Item::Skipped(Skip::MediaOnly);
    }
    msg.forwarded_from = v
        .get("forwarded_from")
        .and_then(Value::as_str)
        .map(str::to_owned);
    msg.date = v
        .get("date")
        .and_then(Value::as_str)
        .and_then(|d| export_date(d, v.get("date_unixtime").and_then(int_of)));
    if let Some(r) = v.get("reactions") {
        msg.reactions = export_reactions(r);
    }
    Item::Message(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

    fn read_str(s: &str) -> (CollectSink, Result<(), Error>) {
        let mut sink = CollectSink::default();
        let result = read("t.json", s.as_bytes(), &mut sink);
        (sink, result)
    }

    #[test]
    fn single_chat_with_entities_reactions_and_service() {
        let (sink, result) = read_str(
            r##"{"name": "MFA", "type": "public_channel", "id": 1, "messages": [
              {"id": 1, "type": "service", "action": "create_channel", "text": ""},
              {"id": 2, "type": "message", "date": "2023-01-19T14:05:00", "date_unixtime": "1674126300",
               "from_id": "channel1", "forwarded_from": "Russian MFA",
               "text": ["See ", {"type": "hashtag", "text": "#OSCE"}, " and ",
                        {"type": "text_link", "text": "this", "href": "https://x.org/a"}],
               "reactions": [{"type": "emoji", "count": 5, "emoji": "👍"},
                             {"type": "custom_emoji", "count": 2, "document_id": "538"}]},
              {"id": 3, "type": "message", "from_id": 12345, "photo": "p.jpg", "text": ""}
            ]}"##,
        );
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(sink.items.len(), 3);
        assert_eq!(sink.items[0], Item::Skipped(Skip::Service));
        assert_eq!(sink.items[2], Item::Skipped(Skip::MediaOnly));
        let m = &sink.messages()[0];
        assert_eq!(m.text, "See #OSCE and this");
        assert_eq!(m.hashtags, ["OSCE"]);
        assert_eq!(m.links, ["https://x.org/a"]);
        assert_eq!(m.channel.as_deref(), Some("MFA"));
        assert_eq!(m.forwarded_from.as_deref(), Some("Russian MFA"));
        assert_eq!(m.message_id, Some(2));
        assert_eq!(m.date.unwrap().iso(), "2023-01-19T14:05:00+03:00");
        assert_eq!(
            m.reactions,
            vec![("👍".to_owned(), 5), ("custom:538".to_owned(), 2)]
        );
    }

    #[test]
    fn whole_account_export_reads_every_chat() {
        let (sink, result) = read_str(
            r#"{"about": "x", "personal_information": {"first_name": "A"},
                "chats": {"about": "y", "list": [
                  {"name": "One", "messages": [{"id": 1, "type": "message", "text": "first"}]},
                  {"name": "Two", "messages": [{"id": 1, "type": "message", "text": "second"}]}]},
                "left_chats": {"list": [{"name": "Three", "messages": [
                  {"id": 9, "type": "message", "text": "third"}]}]}}"#,
        );
        assert!(result.is_ok(), "{result:?}");
        let chans: Vec<_> = sink
            .messages()
            .iter()
            .map(|m| (m.channel.clone().unwrap(), m.text.clone()))
            .collect();
        assert_eq!(
            chans,
            [
                ("One".into(), "first".into()),
                ("Two".into(), "second".into()),
                ("Three".into(), "third".into())
            ]
        );
    }

    #[test]
    fn quirks_are_tolerated() {
        let (sink, result) = read_str(
            r#"{"name": "Q", "messages": [
               {"id": 1, "type": "message", "text": "caf\xe9 \\x41", "text": "dup key wins last"},
               {"id": "2", "type": "message", "from_id": 77, "text": "caf\xe9"}]}"#,
        );
        assert!(result.is_ok(), "{result:?}");
        let texts: Vec<_> = sink.messages().iter().map(|m| m.text.clone()).collect();
        assert_eq!(texts, ["dup key wins last", "café"]);
        assert_eq!(sink.messages()[1].message_id, Some(2));
    }

    #[test]
    fn wrong_shapes_are_errors_with_a_line() {
        let (_, r) = read_str("[1, 2]");
        assert!(
            r.unwrap_err()
                .report()
                .starts_with("t.json:1: not a readable")
        );
        let (_, r) = read_str("{\"name\": \"x\"}");
        assert!(
            r.unwrap_err()
                .report()
                .contains("without a `messages` array")
        );
        let (sink, r) = read_str(
            "{\"messages\": [\n{\"id\": 1, \"type\": \"message\", \"text\": \"ok\"},\n{\"id\": 2, \"text\": ",
        );
        assert_eq!(sink.messages().len(), 1, "messages before the cut are kept");
        assert!(r.unwrap_err().report().starts_with("t.json:3: "));
    }

    proptest::proptest! {
        /// Whatever the read sizes, the repair is the byte-by-byte rewrite of the whole.
        #[test]
        fn escape_repair_matches_a_byte_by_byte_rewrite(
            input in proptest::collection::vec(proptest::sample::select(b"ax\\u\"".to_vec()), 0..64),
            buf_len in 1usize..9,
        ) {
            let mut expected = Vec::new();
            let mut after_backslash = false;
            for &b in &input {
                if after_backslash {
                    after_backslash = false;
                    if b == b'x' {
                        expected.extend_from_slice(b"u00");
                        continue;
                    }
                } else if b == b'\\' {
                    after_backslash = true;
                }
                expected.push(b);
            }
            let mut r = EscapeRepair::new(std::io::BufReader::with_capacity(3, &input[..]));
            let mut out = Vec::new();
            let mut buf = vec![0u8; buf_len];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            proptest::prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn escape_repair_handles_split_reads() {
        let mut r = EscapeRepair::new(&b"a\\x41\\\\x"[..]);
        let mut out = Vec::new();
        let mut buf = [0u8; 2];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"a\\u0041\\\\x");
        assert_eq!(r.repaired, 1);
    }
}
