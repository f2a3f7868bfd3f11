//! Telegram Desktop JSON export (`result.json`), single chat or whole account, streamed:
//! [`split_export`] finds the messages, and each is parsed on its own, so memory stays
//! at a few messages however large the export.

use std::borrow::Cow;
use std::io::Read;

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use super::ItemSink;
use super::export_split::{repair_escapes, split_export};
use crate::error::Error;
use crate::formats::message::{Item, Message, Skip, push_unique};
use crate::text::grammar::{Date, Time};

use super::tg_message::{Fields, Text, TextPart};

/// Telegram Desktop JSON exports: framed by the splitter, each message parsed on its own.
pub static STREAM: super::StreamFormat = super::StreamFormat {
    format: crate::config::Format::TgJson,
    read: |name, reader, _, sink| read(name, reader, sink).map(|()| 0),
    framing: Some(FRAMING),
};

/// Framing and parsing as two steps: the reader thread frames, the workers parse.
const FRAMING: super::Framing = super::Framing {
    applies: |_| true,
    split: |name, reader, frame| split_export(name, reader, frame),
    parse: |name, line, bytes, context| super::ParsedFrame {
        item: parse_message(name, line, bytes, context.channel).map(Some),
        invalid_utf8: 0,
    },
};

/// Reads a whole export from `reader`, sending every message to `sink`. A message that
/// is not valid JSON is a problem for the sink, and reading goes on.
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

/// One message of an export, from its bytes (`line` is where they start).
pub fn parse_message(
    name: &str,
    line: u64,
    bytes: &[u8],
    channel: Option<&str>,
) -> Result<Item, Error> {
    let repaired = repair_escapes(bytes);
    let fields: Fields<'_> =
        super::parse_json_frame(name, line, &repaired, "Telegram Desktop message")?;
    Ok(message_item(fields, channel))
}

/// A date-time format, parsed once (`StrftimeItems::new(…).collect()`).
pub type DateFormat = std::sync::LazyLock<Vec<chrono::format::Item<'static>>>;

/// `NaiveDateTime::parse_from_str` with the format parsed once: parsing the format
/// string again for every message was 0.7% of a `tg-json` profile.
pub fn parse_naive(s: &str, format: &DateFormat) -> Option<NaiveDateTime> {
    let mut parsed = chrono::format::Parsed::new();
    chrono::format::parse(&mut parsed, s, format.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

static EXPORT_DATE: DateFormat =
    std::sync::LazyLock::new(|| chrono::format::StrftimeItems::new("%Y-%m-%dT%H:%M:%S").collect());

/// Parses the export's local `date`; with `date_unixtime` the UTC offset is derived too.
pub fn export_date(local: &str, unixtime: Option<i64>) -> Option<Date> {
    let naive = parse_naive(local, &EXPORT_DATE)?;
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
fn flatten_parts(text: &Text<'_>, msg: &mut Message) {
    match text {
        Text::Str(s) => msg.text.push_str(s),
        Text::Parts(parts) => {
            for part in parts {
                match part {
                    TextPart::Str(s) => msg.text.push_str(s),
                    TextPart::Entity { kind, text, href } => {
                        let text = text.as_deref().unwrap_or("");
                        msg.text.push_str(text);
                        match kind.as_deref() {
                            Some("hashtag") => {
                                push_unique(&mut msg.hashtags, text.trim_start_matches('#'))
                            }
                            Some("mention") => {
                                push_unique(&mut msg.mentions, text.trim_start_matches('@'))
                            }
                            Some("link") => push_unique(&mut msg.links, text),
                            Some("text_link") => {
                                if let Some(href) = href {
                                    push_unique(&mut msg.links, href);
                                }
                            }
                            _ => {}
                        }
                    }
                    TextPart::Other => {}
                }
            }
        }
        Text::Other => {}
    }
}

/// One element of a `messages` array, from its fields.
pub fn message_item(f: Fields<'_>, channel: Option<&str>) -> Item {
    if f.kind.as_deref() == Some("service") {
        return Item::Skipped(Skip::Service);
    }
    let mut msg = Message {
        message_id: f.id,
        channel: channel.map(str::to_owned),
        ..Message::default()
    };
    // `text_entities` (newer exports) holds the same text as `text`, always as objects.
    // Converters write an empty `text_entities` beside a `text` with content: the text
    // is then taken from `text`, never lost.
    match &f.text_entities {
        e @ Text::Parts(_) => flatten_parts(e, &mut msg),
        _ => flatten_parts(&f.text, &mut msg),
    }
    if msg.text.trim().is_empty() && matches!(f.text_entities, Text::Parts(_)) {
        msg.text.clear();
        flatten_parts(&f.text, &mut msg);
    }
    if msg.text.trim().is_empty() {
        return Item::Skipped(Skip::MediaOnly);
    }
    msg.forwarded_from = f.forwarded_from.map(Cow::into_owned);
    msg.date = f
        .date
        .as_deref()
        .and_then(|d| export_date(d, f.date_unixtime));
    if let Some(r) = &f.reactions {
        msg.reactions = export_reactions(r);
    }
    Item::Message(msg)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CollectSink;

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

    /// The message as first read, from a `serde_json::Value`: the reference that the
    /// typed `Fields` must match.
    fn export_message(v: &Value, channel: Option<&str>) -> Item {
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
        if msg.text.trim().is_empty() && matches!(v.get("text_entities"), Some(Value::Array(_))) {
            msg.text.clear();
            flatten_text(v.get("text").unwrap_or(&Value::Null), &mut msg);
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

    /// JSON scalars, among them the values real message fields hold.
    fn leaf() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("1.5".to_owned()),
            Just("-7".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("\" 42 \"".to_owned()),
            Just("\"service\"".to_owned()),
            Just("\"hashtag\"".to_owned()),
            Just("\"mention\"".to_owned()),
            Just("\"link\"".to_owned()),
            Just("\"text_link\"".to_owned()),
            Just("\"2023-01-19T14:05:00\"".to_owned()),
            Just("\"1674126300\"".to_owned()),
            "\"[a-z#@ ]{0,8}\"",
            Just("\"esc\\n\\u00e9\\\"\"".to_owned()),
        ]
    }

    /// Any JSON value, nested a few levels.
    fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key_of(&["type", "text", "href", "x"]), inner), 0..4)
                    .prop_map(object),
            ]
        })
    }

    fn key_of(
        keys: &'static [&'static str],
    ) -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(keys)
    }

    fn object(members: Vec<(&str, String)>) -> String {
        let members: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        format!("{{{}}}", members.join(", "))
    }

    /// A `text` value: a string, or an array of strings and entity objects (with repeated
    /// and escaped keys, and values of any kind).
    fn text_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let entity = proptest::collection::vec(
            (
                key_of(&["type", "text", "href", "t\\u0065xt", "x"]),
                prop_oneof![4 => leaf(), 1 => json_value()],
            ),
            0..5,
        )
        .prop_map(object);
        let part = prop_oneof![leaf(), entity];
        prop_oneof![
            leaf(),
            proptest::collection::vec(part, 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            json_value(),
        ]
    }

    fn message_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let keys = &[
            "type",
            "id",
            "forwarded_from",
            "date",
            "date_unixtime",
            "reactions",
            "photo",
        ];
        let member = prop_oneof![
            2 => (key_of(&["text", "text_entities"]), text_value()),
            3 => (key_of(keys), prop_oneof![4 => leaf(), 1 => json_value()]),
        ];
        prop_oneof![
            6 => proptest::collection::vec(member, 0..8).prop_map(object),
            1 => json_value(),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// Reading the fields straight gives what reading a `Value` tree gave, for every
        /// shape of value in every field, repeated keys included.
        #[test]
        fn typed_fields_read_as_the_value_tree_did(json in message_json()) {
            let value: Value = serde_json::from_str(&json).unwrap();
            let fields: Fields<'_> = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(
                message_item(fields, Some("C")),
                export_message(&value, Some("C")),
                "{}", json
            );
        }
    }

    proptest::proptest! {
        /// The format parsed once reads dates as `parse_from_str` does, malformed ones
        /// included.
        #[test]
        fn dates_parse_as_with_the_format_string(
            s in "[ +-]?[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}[T ][0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}[.0-9Z]{0,3}"
        ) {
            for (format, spec) in [(&EXPORT_DATE, "%Y-%m-%dT%H:%M:%S"), (&SCRAPER_DATE_FOR_TEST, "%Y-%m-%d %H:%M:%S")] {
                proptest::prop_assert_eq!(
                    parse_naive(&s, format),
                    NaiveDateTime::parse_from_str(&s, spec).ok(),
                    "{} with {}", s, spec
                );
            }
        }
    }

    #[test]
    fn well_formed_dates_parse() {
        for s in [
            "2023-01-05T12:30:00",
            "2023-1-5T1:2:3",
            "2024-02-29T23:59:59",
        ] {
            let want = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok();
            assert!(want.is_some(), "{s}");
            assert_eq!(parse_naive(s, &EXPORT_DATE), want, "{s}");
        }
        assert_eq!(parse_naive("2023-02-29T12:30:00", &EXPORT_DATE), None);
    }

    static SCRAPER_DATE_FOR_TEST: DateFormat = std::sync::LazyLock::new(|| {
        chrono::format::StrftimeItems::new("%Y-%m-%d %H:%M:%S").collect()
    });

    fn read_str(s: &str) -> (CollectSink, Result<(), Error>) {
        let mut sink = CollectSink::default();
        let result = read("t.json", s.as_bytes(), &mut sink);
        (sink, result)
    }

    #[test]
    fn an_empty_text_entities_does_not_lose_the_text() {
        let (sink, result) = read_str(
            r##"{"name": "C", "type": "public_channel", "id": 1, "messages": [
              {"id": 1, "type": "message", "text": "Converted text, no entities", "text_entities": []},
              {"id": 2, "type": "message", "photo": "p.jpg", "text": "", "text_entities": []}
            ]}"##,
        );
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(sink.messages()[0].text, "Converted text, no entities");
        assert_eq!(sink.items[1], Item::Skipped(Skip::MediaOnly));
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
        /// The repair is the byte-by-byte rewrite: after a backslash that starts an
        /// escape, `x` becomes `u00`.
        #[test]
        fn escape_repair_matches_a_byte_by_byte_rewrite(
            input in proptest::collection::vec(proptest::sample::select(b"ax\\u\"".to_vec()), 0..64),
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
            proptest::prop_assert_eq!(repair_escapes(&input).into_owned(), expected);
        }
    }

    #[test]
    fn a_broken_message_is_a_problem_and_the_rest_is_read() {
        let mut sink = CollectSink::default();
        let input = b"{\"messages\": [\n{\"id\": 1, \"text\": \"one\"},\n{\"id\": 2, \"text\": \"\xff\"},\n{\"id\": 3, \"text\": \"three\"}]}";
        let result = read("t.json", &input[..], &mut sink);
        assert!(result.is_ok(), "{result:?}");
        let texts: Vec<_> = sink.messages().iter().map(|m| m.text.clone()).collect();
        assert_eq!(texts, ["one", "three"]);
        assert_eq!(sink.problems.len(), 1);
        assert!(
            sink.problems[0].starts_with("t.json:3: not a readable Telegram Desktop message"),
            "{}",
            sink.problems[0]
        );
        assert!(!sink.problems[0].contains("column"), "{}", sink.problems[0]);
    }

    #[test]
    fn escape_repair_leaves_escaped_backslashes() {
        assert_eq!(&*repair_escapes(b"a\\x41\\\\x"), b"a\\u0041\\\\x");
        assert!(matches!(repair_escapes(b"plain"), Cow::Borrowed(_)));
    }
}
