//! Writes JSON values into a byte buffer, byte for byte as `serde_json` writes them, with
//! the scan for characters that need escaping done many bytes at a time (`swar`).
//!
//! `serde_json` looks every byte of a string up in a table. Records are mostly long
//! paragraphs with nothing to escape, so finding the next `"`, `\` or control character
//! a block at a time makes writing them several times cheaper.

use crate::text::swar;

/// Index of the first byte of `bytes` that JSON strings must escape.
pub fn find_escape(bytes: &[u8]) -> Option<usize> {
    swar::find(
        bytes,
        |w| swar::lanes_below(w, 0x20) | swar::lanes_equal(w, b'"') | swar::lanes_equal(w, b'\\'),
        |b| b < 0x20 || b == b'"' || b == b'\\',
    )
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` escaped, without the surrounding quotes.
pub fn write_str_contents(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    while let Some(i) = find_escape(rest) {
        out.extend_from_slice(&rest[..i]);
        let b = rest[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(b >> 4)],
                HEX_DIGITS[usize::from(b & 0xf)],
            ]),
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends `s` as a JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_contents(out, s);
    out.push(b'"');
}

/// Appends `s` as a JSON string, or `null`.
pub fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an integer (`u32`, `u64`, `i64`…) in decimal.
pub fn write_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends an integer, or `null`.
pub fn write_opt_int(out: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
    match n {
        Some(n) => write_int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends 16 bytes as a string of 32 lower-case hex digits.
pub fn write_hex16(out: &mut Vec<u8>, digest: &[u8; 16]) {
    // Built on the stack and appended at once: a `push` per digit checked the capacity
    // 34 times.
    let mut quoted = [b'"'; 34];
    for (pair, b) in quoted[1..33].chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0xf)];
    }
    out.extend_from_slice(&quoted);
}

/// Appends `"key":`.
pub fn write_key(out: &mut Vec<u8>, key: &str) {
    write_str(out, key);
    out.push(b':');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_ascii_byte_is_escaped_as_serde_json_does() {
        for b in 0u8..=0x7f {
            let s = char::from(b).to_string();
            assert_eq!(
                ours(&s),
                serde_json::to_string(&s).unwrap(),
                "byte {b:#04x}"
            );
        }
    }

    #[test]
    fn the_first_escape_is_found_in_every_lane_after_any_byte() {
        // A borrow from an earlier lane must not hide or fake the first hit.
        let specials = [0u8, 0x1f, b'"', b'\\', b'\n'];
        let plain = [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff, b'a'];
        for len in 1..=20 {
            for at in 0..len {
                for &before in &plain {
                    for &special in &specials {
                        let mut bytes = vec![before; len];
                        bytes[at] = special;
                        assert_eq!(find_escape(&bytes), Some(at), "{bytes:?}");
                    }
                }
            }
            for &before in &plain {
                assert_eq!(find_escape(&vec![before; len]), None);
            }
        }
    }

    #[test]
    fn numbers_and_digests() {
        let mut out = Vec::new();
        write_int(&mut out, u64::MAX);
        out.push(b',');
        write_int(&mut out, i64::MIN);
        out.push(b',');
        write_opt_int(&mut out, None::<u32>);
        out.push(b',');
        write_hex16(&mut out, &[0xab; 16]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{},{},null,\"{}\"", u64::MAX, i64::MIN, "ab".repeat(16))
        );
    }

    proptest! {
        #[test]
        fn digests_are_quoted_lower_case_hex_in_order(d in any::<[u8; 16]>()) {
            let mut out = b"x".to_vec();
            write_hex16(&mut out, &d);
            prop_assert_eq!(out, format!("x\"{}\"", hex::encode(d)).into_bytes());
        }

        #[test]
        fn strings_match_serde_json(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn mostly_plain_strings_match_serde_json(
            s in "([a-zа-я ]{0,20}[\"\\\\\\x00-\\x1f\\x7fé😀]?){0,6}"
        ) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
