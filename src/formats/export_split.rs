//! Splits a Telegram Desktop JSON export into the raw bytes of its messages, streaming
//! and without parsing them, so that they can be parsed on the worker threads.
//!
//! Only the frame of the export is read here: the chat objects, their `name`, their
//! `messages` arrays, and the `chats` / `left_chats` lists of a whole-account export.
//! Every other value, and every message, is only scanned for where it ends: strings are
//! crossed with `memchr`, and brackets counted outside them.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use crate::error::Error;

/// Bytes read at a time.
const READ_BYTES: usize = 256 << 10;

/// One message of a `messages` array, as it is in the file.
pub struct RawMessage<'a> {
    /// 1-based line of its first byte.
    pub line: u64,
    pub bytes: &'a [u8],
    /// The `name` of the chat it belongs to, when given before `messages`.
    pub channel: Option<&'a Arc<str>>,
}

/// The streaming scanner: a window of the input, and the line of its first byte.
struct Scanner<R> {
    reader: R,
    name: String,
    buf: Vec<u8>,
    /// Next byte to read in `buf`.
    pos: usize,
    /// Line of `buf[counted]`; bytes before `counted` have had their newlines counted.
    line: u64,
    counted: usize,
    eof: bool,
}

/// Where the end of a value is looked for, kept across reads so a value that spans many
/// reads is scanned once.
#[derive(Default)]
struct ValueScan {
    scanned: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl<R: Read> Scanner<R> {
    fn error(&mut self, what: impl Into<String>) -> Error {
        let line = self.line_at(self.pos.min(self.buf.len()));
        Error::Parse {
            path: self.name.clone(),
            line,
            what: format!(
                "not a readable Telegram Desktop JSON export: {}",
                what.into()
            ),
        }
    }

    /// Line of `buf[at]` (`at` not before `counted`).
    fn line_at(&mut self, at: usize) -> u64 {
        if at > self.counted {
            self.line += memchr::memchr_iter(b'\n', &self.buf[self.counted..at]).count() as u64;
            self.counted = at;
        }
        self.line
    }

    /// Reads more input, keeping `buf[pos..]`; false at the end of the input.
    fn fill(&mut self) -> Result<bool, Error> {
        if self.eof {
            return Ok(false);
        }
        self.line_at(self.pos);
        self.buf.drain(..self.pos);
        self.counted -= self.pos;
        self.pos = 0;
        // `read_to_end` on a `Take` appends without zeroing the room first, and goes on
        // reading until it has the block or the input ends.
        let n = (&mut self.reader)
            .take(READ_BYTES as u64)
            .read_to_end(&mut self.buf)
            .map_err(|source| Error::Read {
                path: self.name.clone(),
                line: self.line,
                source,
            })?;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// The next byte that is not JSON whitespace, not consumed; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, Error> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<(), Error> {
        match self.peek()? {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.error(format!("expected {what}"))),
            None => Err(self.error(format!("the input ends where {what} was expected"))),
        }
    }

    /// The value that starts at the next non-blank byte: its bytes stay in `buf` from
    /// `pos` to the returned end.
    fn value_end(&mut self) -> Result<usize, Error> {
        let Some(first) = self.peek()? else {
            return Err(self.error("the input ends where a value was expected"));
        };
        let mut scan = ValueScan::default();
        loop {
            if let Some(end) = self.scan_value(first, &mut scan) {
                return Ok(end);
            }
            if !self.fill()? {
                // A number or literal may end with the input; nothing else may.
                if !matches!(first, b'{' | b'[' | b'"') && scan.scanned > 0 {
                    return Ok(self.pos + scan.scanned);
                }
                return Err(self.error("the input ends inside a value"));
            }
        }
    }

    /// Scans on from where `scan` stopped; the end of the value when it is in `buf`.
    fn scan_value(&self, first: u8, scan: &mut ValueScan) -> Option<usize> {
        let bytes = &self.buf[self.pos..];
        let mut i = scan.scanned;
        if !matches!(first, b'{' | b'[' | b'"') {
            // A number or a literal: up to the next delimiter.
            let end = bytes[i..]
                .iter()
                .position(|b| matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'));
            scan.scanned = bytes.len();
            return end.map(|e| self.pos + i + e);
        }
        while i < bytes.len() {
            if scan.in_string {
                if scan.escaped {
                    scan.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    Some(k) if bytes[i + k] == b'\\' => {
                        scan.escaped = true;
                        i += k + 1;
                    }
                    Some(k) => {
                        scan.in_string = false;
                        i += k + 1;
                        if scan.depth == 0 {
                            return Some(self.pos + i);
                        }
                    }
                    None => i = bytes.len(),
                }
                continue;
            }
            match bytes[i] {
                b'"' => scan.in_string = true,
                b'{' | b'[' => scan.depth += 1,
                b'}' | b']' => {
                    scan.depth = scan.depth.saturating_sub(1);
                    if scan.depth == 0 {
                        scan.scanned = i + 1;
                        return Some(self.pos + i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        scan.scanned = i;
        None
    }

    /// The next value's bytes and its line; consumed.
    fn take_value(&mut self) -> Result<(u64, std::ops::Range<usize>), Error> {
        let end = self.value_end()?;
        let line = self.line_at(self.pos);
        let range = self.pos..end;
        self.pos = end;
        Ok((line, range))
    }

    /// An object key, decoded.
    fn key(&mut self) -> Result<String, Error> {
        if self.peek()? != Some(b'"') {
            return Err(self.error("expected a key"));
        }
        let (_, range) = self.take_value()?;
        serde_json::from_slice(&self.buf[range]).map_err(|e| self.error(e.to_string()))
    }

    /// After a member or element: true for another, false at `close`.
    fn next_member(&mut self, close: u8) -> Result<bool, Error> {
        match self.peek()? {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            Some(_) => Err(self.error(format!("expected `,` or `{}`", close as char))),
            None => Err(self.error("the input ends inside an object or array")),
        }
    }

    /// `{` then a first member, or `}` at once: true when there is a member.
    fn open(&mut self, open: u8, close: u8, what: &str) -> Result<bool, Error> {
        self.expect(open, what)?;
        if self.peek()? == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }
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
    let mut scanner = Scanner {
        reader,
        name: name.to_owned(),
        buf: Vec::with_capacity(READ_BYTES),
        pos: 0,
        line: 1,
        counted: 0,
        eof: false,
    };
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

    /// Line, text and channel of a message.
    type Found = (u64, String, Option<String>);

    /// Every message found, reading `chunk` bytes at a time.
    fn split_all(input: &str, chunk: usize) -> (Vec<Found>, Result<(), Error>) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
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
