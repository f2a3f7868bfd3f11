//! Scans a JSON document as a stream for where its values start and end, without parsing
//! them: the frame readers of the exports (Telegram Desktop JSON, TGDataset) walk their
//! document's outline with it and hand each message's bytes on to be parsed elsewhere.
//!
//! Written by hand because the JSON parsers at hand (serde_json, simd-json) either parse
//! every value they pass or need the whole document in memory; here a message is only
//! crossed — strings with `memchr`, brackets counted outside them — and its bytes kept.

use std::io::Read;

use crate::error::Error;

/// Bytes read at a time.
const READ_BYTES: usize = 256 << 10;

/// The streaming scanner: a window of the input, and the line of its first byte.
pub(crate) struct Scanner<R> {
    reader: R,
    name: String,
    /// What the input is read as, for errors: "not a readable {what}: …".
    what: &'static str,
    pub(crate) buf: Vec<u8>,
    /// Next byte to read in `buf`.
    pub(crate) pos: usize,
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
    /// A scanner at the start of `reader`, read as a `what` ("Telegram Desktop JSON
    /// export") in errors.
    pub(crate) fn new(name: &str, reader: R, what: &'static str) -> Self {
        Scanner {
            reader,
            name: name.to_owned(),
            what,
            buf: Vec::with_capacity(READ_BYTES),
            pos: 0,
            line: 1,
            counted: 0,
            eof: false,
        }
    }

    /// An error at the scanner's place in the input.
    pub(crate) fn error(&mut self, what: impl Into<String>) -> Error {
        let line = self.line_at(self.pos.min(self.buf.len()));
        Error::Parse {
            path: self.name.clone(),
            line,
            what: format!("not a readable {}: {}", self.what, what.into()),
        }
    }

    /// Line of `buf[at]` (`at` not before `counted`).
    pub(crate) fn line_at(&mut self, at: usize) -> u64 {
        if at > self.counted {
            self.line += memchr::memchr_iter(b'\n', &self.buf[self.counted..at]).count() as u64;
            self.counted = at;
        }
        self.line
    }

    /// Reads more input, keeping `buf[pos..]`; false at the end of the input.
    pub(crate) fn fill(&mut self) -> Result<bool, Error> {
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
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, Error> {
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

    pub(crate) fn expect(&mut self, want: u8, what: &str) -> Result<(), Error> {
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
    pub(crate) fn take_value(&mut self) -> Result<(u64, std::ops::Range<usize>), Error> {
        let end = self.value_end()?;
        let line = self.line_at(self.pos);
        let range = self.pos..end;
        self.pos = end;
        Ok((line, range))
    }

    /// An object key, decoded.
    pub(crate) fn key(&mut self) -> Result<String, Error> {
        if self.peek()? != Some(b'"') {
            return Err(self.error("expected a key"));
        }
        let (_, range) = self.take_value()?;
        serde_json::from_slice(&self.buf[range]).map_err(|e| self.error(e.to_string()))
    }

    /// An object key as written, quotes included: its bytes in `buf`; consumed.
    pub(crate) fn raw_key(&mut self) -> Result<std::ops::Range<usize>, Error> {
        if self.peek()? != Some(b'"') {
            return Err(self.error("expected a key"));
        }
        Ok(self.take_value()?.1)
    }

    /// The line of the next byte that is not blank.
    pub(crate) fn line_here(&mut self) -> Result<u64, Error> {
        self.peek()?;
        Ok(self.line_at(self.pos.min(self.buf.len())))
    }

    /// After a member or element: true for another, false at `close`.
    pub(crate) fn next_member(&mut self, close: u8) -> Result<bool, Error> {
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
    pub(crate) fn open(&mut self, open: u8, close: u8, what: &str) -> Result<bool, Error> {
        self.expect(open, what)?;
        if self.peek()? == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }
}

/// A reader that hands its bytes over a few at a time, as a slow pipe would: the
/// scanners' tests read through it at every size.
#[cfg(test)]
pub(crate) struct Trickle<'a>(pub &'a [u8], pub usize);

#[cfg(test)]
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
