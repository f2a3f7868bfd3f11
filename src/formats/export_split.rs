//! Splits a Telegram Desktop JSON export into the raw bytes of its messages, streaming
//! and without parsing them, so that they can be parsed on the worker threads.
//!
//! Only the frame of the export is read here: the chat objects, their `name`, their
//! `messages` arrays, and the `chats` / `left_chats` lists of a whole-account export.
//! Every other value, and every message, is only scanned for where it ends
//! ([`super::json_scan`]).

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use super::json_scan::Scanner;
use crate::error::Error;

/// One message of a `messages` array, as it is in the file.
pub struct RawMessage<'a> {
    /// 1-based line of its first byte.
    pub line: u64,
    pub bytes: &'a [u8],
    /// The `name` of the chat it belongs to, when given before `messages`.
    pub channel: Option<&'a Arc<str>>,
}

/// What the splitter hands on, in input order.
struct Split<'f> {
    on_message: &'f mut dyn FnMut(RawMessage<'_>) -> Result<(), Error>,
    messages_seen: bool,
}

impl<R: Read> Scanner<R> {
    /// chat = "{" *(key ":" value) "}" with `name`, `messages`, `chats`, `left_chats`
    fn chat(&mut self, split: &mut Split<'_>) -> Result<(), Error> {
        let mut channel: Option<Arc<str>> = None;
        if !self.open(b'{', b'}', "a chat object")? {
            return Ok(());
        }
        loop {
            let key = self.key()?;
            self.expect(b':', "`:`")?;
            match key.as_str() {
                "name" => {
                    let (_, range) = self.take_value()?;
                    let repaired = repair_escapes(&self.buf[range]);
                    let name: Option<String> = serde_json::from_slice(&repaired)
                        .map_err(|e| self.error(format!("`name`: {e}")))?;
                    channel = name.map(Arc::from);
                }
                "messages" => {
                    split.messages_seen = true;
                    self.messages(channel.as_ref(), split)?;
                }
                "chats" | "left_chats" => self.chat_list(split)?,
                _ => {
                    self.take_value()?;
                }
            }
            if !self.next_member(b'}')? {
                return Ok(());
            }
        }
    }

    /// messages = "[" *message "]"
    fn messages(&mut self, channel: Option<&Arc<str>>, split: &mut Split<'_>) -> Result<(), Error> {
        if !self.open(b'[', b']', "an array of messages")? {
            return Ok(());
        }
        loop {
            let (line, range) = self.take_value()?;
            (split.on_message)(RawMessage {
                line,
                bytes: &self.buf[range],
                channel,
            })?;
            if !self.next_member(b']')? {
                return Ok(());
            }
        }
    }

    /// chat_list = "{" *("list" ":" "[" *chat "]" / key ":" value) "}"
    fn chat_list(&mut self, split: &mut Split<'_>) -> Result<(), Error> {
        if !self.open(b'{', b'}', "an object with a `list` of chats")? {
            return Ok(());
        }
        loop {
            let key = self.key()?;
            self.expect(b':', "`:`")?;
            if key == "list" {
                if self.open(b'[', b']', "an array of chats")? {
                    loop {
                        self.chat(split)?;
                        if !self.next_member(b']')? {
                            break;
                        }
                    }
                }
            } else {
                self.take_value()?;
            }
            if !self.next_member(b'}')? {
                return Ok(());
            }
        }
    }
}

/// Streams the export in `reader` and hands every message to `on_message`, in order.
/// An error from `on_message` stops the split and is returned. A frame that is not an
/// export, or input that ends inside it, is an error with the line where it was seen;
/// the messages before it have been handed on.
pub fn split_export(
    name: &str,
    reader: impl Read,
    on_message: &mut dyn FnMut(RawMessage<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut scanner = Scanner::new(name, reader, "Telegram Desktop JSON export");
    let mut split = Split {
        on_message,
        messages_seen: false,
    };
    if scanner.peek()? != Some(b'{') {
        return Err(scanner.error("expected an object"));
    }
    scanner.chat(&mut split)?;
    if scanner.peek()?.is_some() {
        return Err(scanner.error("trailing characters after the export"));
    }
    if !split.messages_seen {
        let what = "JSON without a `messages` array or `chats` list: not a Telegram Desktop export";
        return Err(Error::Parse {
            path: name.to_owned(),
            line: 1,
            what: what.into(),
        });
    }
    Ok(())
}

/// Rewrites the invalid `\xHH` escapes some exports contain into JSON's `\u00HH`, so the
/// message still parses. Only a backslash that starts an escape is looked at: `\\x` (an
/// escaped backslash followed by `x`) is left alone. Borrowed when there is none.
pub fn repair_escapes(bytes: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memmem::find(bytes, b"\\x").is_none() {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    // Each step copies up to and including a backslash, then the byte it escapes.
    while let Some(k) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..=k]);
        match rest.get(k + 1) {
            Some(b'x') => out.extend_from_slice(b"u00"),
            Some(&b) => out.push(b),
            None => {}
        }
        rest = rest.get(k + 2..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::json_scan::Trickle;

    /// Line, text and channel of a message.
    type Found = (u64, String, Option<String>);

    /// Every message found, reading `chunk` bytes at a time.
    fn split_all(input: &str, chunk: usize) -> (Vec<Found>, Result<(), Error>) {
        let mut got = Vec::new();
        let result = split_export("t.json", Trickle(input.as_bytes(), chunk), &mut |m| {
            got.push((
                m.line,
                String::from_utf8(m.bytes.to_vec()).unwrap(),
                m.channel.map(|c| c.to_string()),
            ));
            Ok(())
        });
        (got, result)
    }

    #[test]
    fn messages_come_out_whole_whatever_the_read_size() {
        let input = "{\"name\": \"A \\\"q\\\"\", \"id\": 7, \"messages\": [\n  {\"id\": 1, \"text\": \"a ] } \\\" [ {\"},\n  {\"id\": 2, \"text\": [\"x\", {\"type\": \"bold\", \"text\": \"y\"}]}, 3, \"s\", null\n]}\n";
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            let (got, result) = split_all(input, chunk);
            assert!(result.is_ok(), "{result:?}");
            let channel = Some("A \"q\"".to_owned());
            assert_eq!(
                got,
                vec![
                    (
                        2,
                        "{\"id\": 1, \"text\": \"a ] } \\\" [ {\"}".into(),
                        channel.clone()
                    ),
                    (
                        3,
                        "{\"id\": 2, \"text\": [\"x\", {\"type\": \"bold\", \"text\": \"y\"}]}"
                            .into(),
                        channel.clone()
                    ),
                    (3, "3".into(), channel.clone()),
                    (3, "\"s\"".into(), channel.clone()),
                    (3, "null".into(), channel.clone()),
                ],
                "reads of {chunk}"
            );
        }
    }

    #[test]
    fn whole_account_exports_give_each_chat_its_name() {
        let input = r#"{"about": {"x": [1, {"y": "}"}]}, "chats": {"about": "y", "list": [
            {"name": "One", "messages": [{"id": 1}]},
            {"messages": [{"id": 2}], "name": "late"}]},
            "left_chats": {"list": [{"name": null, "messages": []}, {"name": "Three", "messages": [{"id": 9}]}]}}"#;
        let (got, result) = split_all(input, 5);
        assert!(result.is_ok(), "{result:?}");
        let names: Vec<_> = got
            .iter()
            .map(|(_, m, c)| (m.as_str(), c.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("{\"id\": 1}", Some("One")),
                ("{\"id\": 2}", None),
                ("{\"id\": 9}", Some("Three"))
            ]
        );
    }

    #[test]
    fn broken_frames_are_errors_at_their_line() {
        let report = |input: &str| split_all(input, 4).1.unwrap_err().report();
        assert!(report("[1, 2]").starts_with("t.json:1: not a readable"));
        assert!(report("{\"name\": \"x\"}").contains("without a `messages` array"));
        assert!(
            report("{\"messages\": [\n{\"id\": 1},\n{\"id\": 2, \"text\": ")
                .starts_with("t.json:3: ")
        );
        assert!(report("{\"messages\": []} x").contains("trailing characters"));
        assert!(report("{\"messages\": [1 2]}").contains("expected `,` or `]`"));
        assert!(report("").starts_with("t.json:1: "));
        let (got, result) = split_all("{\"messages\": [\n{\"id\": 1},\n{\"id\": 2", 3);
        assert_eq!(got.len(), 1, "messages before the cut are handed on");
        assert!(result.is_err());
    }
}
