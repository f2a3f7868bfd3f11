//! Streams the lines of one input with a reused buffer, repairing invalid UTF-8.

use std::io::BufRead;

use crate::error::Error;

/// What reading one input cost and found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub bytes: u64,
    /// Invalid UTF-8 sequences replaced by U+FFFD.
    pub invalid_utf8: u64,
    pub lines: u64,
}

/// Calls `on_line(line_number, text)` for every line of `reader`, numbering from 1.
/// Lines end at LF, CRLF or a lone CR; the terminator is not passed. Invalid UTF-8 is
/// replaced by U+FFFD and counted. Memory stays at the longest line. An error from
/// `on_line` stops reading and is returned.
pub fn for_each_line(
    name: &str,
    reader: &mut dyn BufRead,
    mut on_line: impl FnMut(u64, &str) -> Result<(), Error>,
) -> Result<FileCounts, Error> {
    let mut counts = FileCounts::default();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut repaired = String::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| Error::Read {
                path: name.to_owned(),
                line: counts.lines + 1,
                source,
            })?;
        if n == 0 {
            return Ok(counts);
        }
        counts.bytes += n as u64;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let text: &str = match std::str::from_utf8(&buf) {
            Ok(s) => s,
            Err(_) => {
                repaired.clear();
                counts.invalid_utf8 += super::push_lossy(&buf, &mut repaired);
                &repaired
            }
        };
        // CRLF leaves one CR at the end; a CR-only file has CRs inside the "line".
        let text = text.strip_suffix('\r').unwrap_or(text);
        for part in text.split('\r') {
            counts.lines += 1;
            on_line(counts.lines, part)?;
        }
    }
}

/// `for_each_line` over text already in memory. Valid UTF-8 (the usual case) is checked
/// once for the whole buffer, with SIMD, and its lines are passed without copying.
pub fn for_each_line_in(
    name: &str,
    bytes: &[u8],
    mut on_line: impl FnMut(u64, &str) -> Result<(), Error>,
) -> Result<FileCounts, Error> {
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return for_each_line(name, &mut &bytes[..], on_line);
    };
    let mut counts = FileCounts {
        bytes: bytes.len() as u64,
        ..FileCounts::default()
    };
    // Most files have no CR at all: one search over the whole buffer spares a search
    // of every line.
    let has_cr = memchr::memchr(b'\r', bytes).is_some();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        if !has_cr {
            counts.lines += 1;
            on_line(counts.lines, line)?;
            continue;
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        for part in line.split('\r') {
            counts.lines += 1;
            on_line(counts.lines, part)?;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_lines_match_streamed_lines() {
        for input in [
            &b""[..],
            b"a",
            b"a\n",
            b"\n\n",
            b"a\r\nb\nc\rd",
            b"x\r\n\ry\r",
            b"ok\nbad \xFF\xFE here\n",
        ] {
            let mut streamed = Vec::new();
            let a = for_each_line("t", &mut &input[..], |n, l| {
                streamed.push((n, l.to_owned()));
                Ok(())
            })
            .unwrap();
            let mut in_memory = Vec::new();
            let b = for_each_line_in("t", input, |n, l| {
                in_memory.push((n, l.to_owned()));
                Ok(())
            })
            .unwrap();
            assert_eq!((streamed, a), (in_memory, b), "{input:?}");
        }
    }

    fn collect(input: &[u8]) -> (Vec<(u64, String)>, FileCounts) {
        let mut lines = Vec::new();
        let mut reader: &[u8] = input;
        let counts = for_each_line("t", &mut reader, |n, l| {
            lines.push((n, l.to_owned()));
            Ok(())
        })
        .unwrap();
        (lines, counts)
    }

    #[test]
    fn lf_crlf_and_cr_endings() {
        let (lines, counts) = collect(b"a\r\nb\nc\rd");
        let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
        assert_eq!(lines.last().unwrap().0, 4);
        assert_eq!(counts.bytes, 8);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_counted() {
        let (lines, counts) = collect(b"ok\nbad \xFF\xFE here\n");
        assert_eq!(lines[1].1, "bad \u{FFFD}\u{FFFD} here");
        assert_eq!(counts.invalid_utf8, 2);
    }

    #[test]
    fn empty_input_has_no_lines() {
        let (lines, counts) = collect(b"");
        assert!(lines.is_empty());
        assert_eq!(counts, FileCounts::default());
    }
}
