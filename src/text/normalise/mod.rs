//! Turns raw paragraph text into its display form and its dedup key (SPEC §4).
//!
//! The display form is what users read, so it only removes what no reader can see or
//! wants (invisible characters, odd spaces, control codes). The key is deliberately
//! lossy: it keeps letters and digits of the NFKC, case-folded text, so copies that
//! differ only in punctuation, emoji, quotes, spacing or case hash the same.

use std::borrow::Cow;

use caseless::Caseless;

use crate::text::{block_fold, swar};
use sha2::{Digest, Sha256};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick, is_nfkc_quick};

/// Length in bytes of a paragraph key digest and of a post id.
pub const DIGEST_LEN: usize = 16;

/// First 16 bytes of a SHA-256 digest: the identity of a paragraph key or of a post.
pub type Digest16 = [u8; DIGEST_LEN];

/// Zero-width and invisible format characters removed from display text.
/// ZWJ (U+200D) is handled separately because it is meaningful inside emoji sequences.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{180E}' // Mongolian vowel separator
            | '\u{200B}' // zero width space
            | '\u{200C}' // zero width non-joiner
            | '\u{200E}' // left-to-right mark
            | '\u{200F}' // right-to-left mark
            | '\u{2060}' // word joiner
            | '\u{2061}'
            ..='\u{2064}' // invisible operators
            | '\u{FEFF}' // byte order mark / zero width no-break space
    )
}

/// True for characters that can sit on either side of a ZWJ in an emoji ZWJ sequence
/// (👨‍👩‍👧, 🏳️‍🌈): pictographs, variation selector 16, skin-tone modifiers.
fn joins_emoji(c: char) -> bool {
    use unicode_properties::UnicodeEmoji;
    c == '\u{FE0F}' || (c != '\u{200D}' && !c.is_ascii() && c.is_emoji_char_or_emoji_component())
}

/// What [`scan_line`] found that `display_text` must do to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineScan {
    /// Nothing: the line is its own display form.
    Clean,
    /// No rewrite, but a character that is not plainly NFC: NFC must be checked.
    CheckNfc,
    /// A character the rewrite touches: ASCII controls, a space at either end or
    /// doubled, C1 controls, NBSP, soft hyphen, U+1680, U+180E, U+2000–U+200F, U+2028,
    /// U+2029, U+202F, U+205F–U+2064, U+3000, U+FEFF. Quotes, dashes and bullets of
    /// General Punctuation are not among them.
    Rewrite,
}

/// One pass over a line for everything `display_text` needs to know. Only ASCII
/// controls, DEL, a space before a space, the lead byte 0xC2 and lead bytes from 0xCC
/// up (other than Cyrillic's 0xD0, 0xD1 and 0xD3) can matter; the bytes between them
/// are passed over a block at a time. Before, a line took five passes (ASCII test, controls, doubled spaces, two
/// searches for rewritten characters) and a sixth for NFC. The exhaustive tests check
/// it against those passes on every code point.
fn scan_line(raw: &str) -> LineScan {
    let b = raw.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return LineScan::Rewrite;
    }
    let mut found = LineScan::Clean;
    let mut i = 0;
    while let Some(at) = next_display_candidate(b, i) {
        let next = (b.get(at + 1).copied(), b.get(at + 2).copied());
        match (b[at], next) {
            // A space is a candidate only before another.
            (0..0x20 | b' ' | 0x7F, _)
            | (0xC2, (Some(0x80..=0xA0 | 0xAD), _))
            | (0xE1, (Some(0x9A), Some(0x80)) | (Some(0xA0), Some(0x8E)))
            | (0xE2, (Some(0x80), Some(0x80..=0x8F | 0xA8 | 0xA9 | 0xAF)))
            | (0xE2, (Some(0x81), Some(0x9F..=0xA4)))
            | (0xE3, (Some(0x80), Some(0x80)))
            | (0xEF, (Some(0xBB), Some(0xBF))) => return LineScan::Rewrite,
            // U+0080–U+00BF otherwise: plainly NFC.
            (0xC2, _) => i = at + 2,
            _ => {
                // A lead byte, so `at` is a character boundary.
                let Some(c) = raw.get(at..).and_then(|rest| rest.chars().next()) else {
                    return LineScan::Rewrite;
                };
                if !is_plainly_nfc(c) {
                    found = LineScan::CheckNfc;
                }
                i = at + c.len_utf8();
            }
        }
    }
    found
}

/// Lanes where both display scans stop: ASCII controls, DEL, the lead byte 0xC2 (C1
/// controls, NBSP, soft hyphen) and a space before a space.
fn lanes_control_or_doubled_space(w: swar::Lanes, next: swar::Lanes) -> swar::Lanes {
    swar::lanes_below(w, 0x20)
        | swar::lanes_equal(w, 0x7F)
        | swar::lanes_equal(w, 0xC2)
        | (swar::lanes_equal(w, b' ') & swar::lanes_equal(next, b' '))
}

/// [`lanes_control_or_doubled_space`] for one byte and the one after it.
fn is_control_or_doubled_space(c: u8, next: u8) -> bool {
    c < 0x20 || c == 0x7F || c == 0xC2 || (c == b' ' && next == b' ')
}

/// The first byte of `b` from `from` on that [`scan_line`] must look at: those above, and
/// lead bytes from 0xCC up other than Cyrillic's.
fn next_display_candidate(b: &[u8], from: usize) -> Option<usize> {
    let found = swar::find_with_next(
        b.get(from..)?,
        |w, next| {
            lanes_control_or_doubled_space(w, next)
                | (swar::lanes_at_least(w, 0xCC)
                    & !(swar::lanes_equal(w, 0xD0)
                        | swar::lanes_equal(w, 0xD1)
                        | swar::lanes_equal(w, 0xD3)))
        },
        |c, next| {
            is_control_or_doubled_space(c, next) || (c >= 0xCC && !matches!(c, 0xD0 | 0xD1 | 0xD3))
        },
    );
    found.map(|i| from + i)
}

/// Characters of the scripts and symbol blocks dumps are made of that are NFC whatever
/// surrounds them (NFC quick check Yes, combining class 0), known without a table
/// lookup. The exhaustive test checks the claim against the Unicode tables.
fn is_plainly_nfc(c: char) -> bool {
    matches!(c as u32,
        0..=0x2FF
        | 0x400..=0x482
        | 0x48A..=0x52F
        | 0x2010..=0x2027
        | 0x2030..=0x205E
        | 0x2190..=0x2328
        | 0x232B..=0x23FF
        | 0x2500..=0x27BF
        | 0xFE0F
        | 0x1F000..=0x1FAFF)
}

/// True when every character of `s` is plainly NFC. Bytes below U+0300 (lead bytes up to
/// 0xCB, and all continuation bytes) and the Cyrillic lead bytes 0xD0, 0xD1 and 0xD3 are
/// passed over a block at a time (`swar`); only other characters are decoded and looked at.
fn is_plainly_nfc_text(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(at) = next_lead_to_check(b, i) {
        // A byte from 0xCC up is a lead byte, so `at` is a character boundary.
        let Some(c) = s.get(at..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        if !is_plainly_nfc(c) {
            return false;
        }
        i = at + c.len_utf8();
    }
    true
}

/// The first byte of `b` from `from` on that is 0xCC or above, other than 0xD0, 0xD1 and
/// 0xD3.
fn next_lead_to_check(b: &[u8], from: usize) -> Option<usize> {
    let cyrillic =
        |w| swar::lanes_equal(w, 0xD0) | swar::lanes_equal(w, 0xD1) | swar::lanes_equal(w, 0xD3);
    let found = swar::find(
        b.get(from..)?,
        |w| swar::lanes_at_least(w, 0xCC) & !cyrillic(w),
        |c| c >= 0xCC && !matches!(c, 0xD0 | 0xD1 | 0xD3),
    );
    found.map(|i| from + i)
}

/// Every display rewrite (the slow path of `display_text`). Only characters whose first
/// byte is below 0x20, DEL, or 0xC2, 0xE1, 0xE2, 0xE3, 0xEF can be spaces (other than
/// the plain one), invisibles, controls or ZWJ, and a plain space matters only when
/// another follows it; the runs between such characters are copied whole, with their
/// single spaces, and the spaces at their edges are settled as they are joined.
fn full_rewrite(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    // A space is owed before whatever is written next (never at the start of `out`,
    // never after a space).
    let mut pending_space = false;
    let mut i = 0;
    while i < b.len() {
        let end = next_rewrite_candidate(b, i).unwrap_or(b.len());
        // Candidates are ASCII or lead bytes, so `end` is a character boundary.
        if let Some(run) = raw.get(i..end).filter(|r| !r.is_empty()) {
            // A run starts with at most one space: it is the owed one, or, at the start
            // or after a space already written, nothing.
            let run = match run.strip_prefix(' ') {
                Some(rest) if out.is_empty() || out.ends_with(' ') => rest,
                Some(_) => run,
                None if pending_space => {
                    out.push(' ');
                    run
                }
                None => run,
            };
            pending_space = false;
            out.push_str(run);
            i = end;
        }
        let Some(c) = raw.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        i += c.len_utf8();
        if c == '\u{200D}' {
            // Kept only inside an emoji sequence: between two characters that join.
            let next = raw.get(i..).and_then(|rest| rest.chars().next());
            let keep =
                out.chars().next_back().is_some_and(joins_emoji) && next.is_some_and(joins_emoji);
            if keep && !pending_space {
                out.push(c);
            }
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty() && !out.ends_with(' ');
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    // A run may have ended the text with its space.
    if out.ends_with(' ') {
        out.pop();
    }
    if !is_plainly_nfc_text(&out) && is_nfc_quick(out.chars()) != IsNormalized::Yes {
        out = out.nfc().collect();
    }
    out
}

/// The first byte from `from` on that may start a character `full_rewrite` changes: a
/// byte below 0x20, DEL, one of the lead bytes above, or a space before a space.
fn next_rewrite_candidate(b: &[u8], from: usize) -> Option<usize> {
    let found = swar::find_with_next(
        b.get(from..)?,
        |w, next| {
            lanes_control_or_doubled_space(w, next)
                | swar::lanes_equal(w, 0xE1)
                | swar::lanes_equal(w, 0xE2)
                | swar::lanes_equal(w, 0xE3)
                | swar::lanes_equal(w, 0xEF)
        },
        |c, next| is_control_or_doubled_space(c, next) || matches!(c, 0xE1 | 0xE2 | 0xE3 | 0xEF),
    );
    found.map(|i| from + i)
}

/// The display form of one line (SPEC §4): invisible characters and soft hyphens
/// removed (ZWJ kept between two emoji); every Unicode space and tab becomes a space;
/// runs of spaces collapse; control characters vanish; the result is trimmed and NFC.
///
/// NFC comes last: removing an invisible character can bring a base letter and a
/// combining mark together, and the result must still be composed (normalising twice
/// must change nothing). A line never contains a line break here: the reader splits on
/// LF, CRLF and CR.
pub fn display_text(raw: &str) -> Cow<'_, str> {
    match scan_line(raw) {
        LineScan::Clean => return Cow::Borrowed(raw),
        LineScan::CheckNfc if is_nfc_quick(raw.chars()) == IsNormalized::Yes => {
            return Cow::Borrowed(raw);
        }
        LineScan::CheckNfc => return Cow::Owned(raw.nfc().collect()),
        LineScan::Rewrite => {}
    }
    let out = full_rewrite(raw);
    if out == raw {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(out)
    }
}

/// Characters that are neither letters nor digits whatever NFKC makes of them, and
/// that cannot combine with their neighbours: General Punctuation (dashes, quotes,
/// bullets), arrows, mathematical and technical symbols, box drawing, geometric shapes,
/// miscellaneous symbols and dingbats up to the circled digits (❗ ✅ ☝), variation
/// selector 16, and the pictograph blocks from U+1F300 (not the enclosed alphanumerics
/// just before them). They are the most common non-letters of dumps, so the key skips
/// them without any property lookup. The exhaustive test checks every one of them.
fn never_in_key(cp: u32) -> bool {
    matches!(cp, 0x2000..=0x206F | 0x2190..=0x23FF | 0x2500..=0x2775 | 0x2794..=0x27BF | 0xFE0F | 0x1F1E6..=0x1F1FF | 0x1F300..=0x1FAFF)
}

/// Appends the full case folding of `c`, keeping only letters and digits.
///
/// Below U+0370 (except `ß`, `ǰ` and U+0345) and in the Cyrillic block, full case folding is
/// exactly `to_lowercase`, which std answers from a fast table; everything else goes
/// through `caseless`. An exhaustive test over every code point pins this to
/// `caseless` alone.
fn push_folded_alnum(c: char, key: &mut Vec<u8>) {
    let mut push = |f: char| key.extend_from_slice(f.encode_utf8(&mut [0; 4]).as_bytes());
    let cp = c as u32;
    if never_in_key(cp) {
        return;
    }
    let lowercase_is_fold = (cp < 0x0370 && !matches!(c, '\u{00DF}' | '\u{01F0}' | '\u{0345}'))
        || (0x0400..0x0530).contains(&cp);
    if lowercase_is_fold {
        // А–я and Ё/ё are letters; skip the general property lookup for them.
        if (0x0410..=0x044F).contains(&cp) || cp == 0x0401 || cp == 0x0451 {
            c.to_lowercase().for_each(&mut push);
        } else {
            c.to_lowercase()
                .filter(|f| f.is_alphanumeric())
                .for_each(&mut push);
        }
    } else {
        std::iter::once(c)
            .default_case_fold()
            .filter(|f| f.is_alphanumeric())
            .for_each(&mut push);
    }
}

/// ASCII byte → its key byte: lower-case letters and digits, 0 for everything dropped.
const ASCII_KEY: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_digit() || c.is_ascii_lowercase() {
            c
        } else if c.is_ascii_uppercase() {
            c.to_ascii_lowercase()
        } else {
            0
        };
        b += 1;
    }
    t
};

/// True when `c` alone is already NFKC and cannot take part in any composition or
/// reordering with its neighbours (quick check Yes, combining class 0). A text made only
/// of such characters is its own NFKC, so it can be folded character by character.
fn is_nfkc_stable(c: char) -> bool {
    unicode_normalization::char::canonical_combining_class(c) == 0
        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// Basic Cyrillic, byte to byte: Ѐ–Џ and А–Я fold to ѐ–џ and а–я (a fixed offset), а–я
/// and ѐ–џ stay. Indexed by the low bit of the lead byte (0xD0 or 0xD1) and bits 4–5 of
/// the continuation byte (0x80–0xBF): the folded lead byte (0 when the pair is not
/// folded here) and what to add to the continuation byte.
const CYRILLIC_FOLD: [(u8, u8); 8] = [
    (0xD1, 0x10),                  // D0 80–8F: Ѐ–Џ → ѐ–џ
    (0xD0, 0x20),                  // D0 90–9F: А–П → а–п
    (0xD1, 0x20u8.wrapping_neg()), // D0 A0–AF: Р–Я → р–я
    (0xD0, 0),                     // D0 B0–BF: а–п
    (0xD1, 0),                     // D1 80–8F: р–я
    (0xD1, 0),                     // D1 90–9F: ѐ–џ
    (0, 0),                        // D1 A0–BF: historic letters, the general path
    (0, 0),
];

/// The key of a text whose characters are all NFKC-stable, folded byte by byte for ASCII,
/// Latin-1 letters and basic Cyrillic. `false` (with `key` partly written) at the first
/// character that may change under NFKC: the caller then takes the general path.
///
/// ASCII and Cyrillic never fold to more bytes than they take, so they are written into
/// room made up front, with no capacity check per byte; every ASCII byte is stored and
/// the write position moves on only for letters and digits, so there is no branch on
/// what the byte is.
fn fold_stable_text(display: &str, key: &mut Vec<u8>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3, checked just above.
        return unsafe { fold_stable_text_ssse3(display, key) };
    }
    fold_stable_text_with(display, key, |_, _, _, _| (0, 0))
}

/// [`fold_stable_text`] compiled for SSSE3, so that the block fold is inlined into its
/// loop rather than called per block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn fold_stable_text_ssse3(display: &str, key: &mut Vec<u8>) -> bool {
    // The closure inherits this function's target features, so the call is safe.
    fold_stable_text_with(display, key, |b, at, out, n| {
        block_fold::fold_block_ssse3(b, at, out, n)
    })
}

/// The loop of [`fold_stable_text`], with `blocks` folding what it can sixteen bytes at
/// a time (see `block_fold`).
#[inline(always)]
fn fold_stable_text_with(
    display: &str,
    key: &mut Vec<u8>,
    blocks: impl Fn(&[u8], usize, &mut [u8], usize) -> (usize, usize),
) -> bool {
    let b = display.as_bytes();
    let mut n = key.len();
    key.resize(n + b.len(), 0);
    let mut i = 0;
    loop {
        // ASCII and basic Cyrillic, into the room made up front. Through a slice, not
        // the `Vec`, so that its pointer and length stay in registers across the stores.
        let out = key.as_mut_slice();
        while let Some(&lead) = b.get(i) {
            // Sixteen bytes at a time while they are ASCII and basic Cyrillic; one
            // character below when the block starts with another one.
            let (read, written) = blocks(b, i, out, n);
            if read > 0 {
                i += read;
                n += written;
                continue;
            }
            if lead < 0x80 {
                let k = ASCII_KEY[usize::from(lead)];
                out[n] = k;
                n += usize::from(k != 0);
                i += 1;
                continue;
            }
            if lead & 0xFE == 0xD0
                && let Some(&second) = b.get(i + 1)
            {
                // Table-driven, without a branch per case: Cyrillic words mix the D0
                // and D1 halves of the block at random.
                let (folded_lead, delta) =
                    CYRILLIC_FOLD[usize::from(lead & 1) << 2 | usize::from((second >> 4) & 3)];
                if folded_lead != 0 {
                    out[n] = folded_lead;
                    out[n + 1] = second.wrapping_add(delta);
                    n += 2;
                    i += 2;
                    continue;
                }
            }
            break;
        }
        if i >= b.len() {
            break;
        }
        let Some(c) = display.get(i..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        i += c.len_utf8();
        // Other characters may fold to more bytes: append them, then make room again.
        key.truncate(n);
        let cp = c as u32;
        // Latin-1 letters: case folding is a fixed offset.
        let folded = match cp {
            0x00C0..=0x00D6 | 0x00D8..=0x00DE => char::from_u32(cp + 0x20),
            0x00E0..=0x00F6 | 0x00F8..=0x00FF => Some(c),
            _ => None,
        };
        if let Some(f) = folded {
            key.extend_from_slice(f.encode_utf8(&mut [0; 4]).as_bytes());
        } else if !never_in_key(cp) {
            if !is_nfkc_stable(c) {
                return false;
            }
            push_folded_alnum(c, key);
        }
        n = key.len();
        key.resize(n + (b.len() - i), 0);
    }
    key.truncate(n);
    true
}

/// The dedup key of a display text (SPEC §4): NFKC, full case folding, then only
/// letters and digits. Emoji, punctuation, quotes and spaces vanish; digits stay
/// because in news numbers are facts.
pub fn key_text(display: &str) -> String {
    let mut key = Vec::with_capacity(display.len());
    key_text_into(display, &mut key);
    // Only whole characters are ever appended, so the key is valid UTF-8.
    String::from_utf8_lossy(&key).into_owned()
}

/// `key_text` as UTF-8 bytes into a reused buffer (cleared first).
pub fn key_text_into(display: &str, key: &mut Vec<u8>) {
    key.clear();
    if fold_stable_text(display, key) {
        return;
    }
    key.clear();
    let nfkc: Cow<'_, str> = if is_nfkc_quick(display.chars()) == IsNormalized::Yes {
        Cow::Borrowed(display)
    } else {
        Cow::Owned(display.nfkc().collect())
    };
    for c in nfkc.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                key.push(c.to_ascii_lowercase() as u8);
            }
        } else {
            push_folded_alnum(c, key);
        }
    }
}

/// Characters in a UTF-8 key (its bytes that start a character).
pub fn key_chars(key: &[u8]) -> usize {
    swar::char_count(key)
}

/// SHA-256 of the key's UTF-8, first 16 bytes.
pub fn digest(key: impl AsRef<[u8]>) -> Digest16 {
    let full = Sha256::digest(key.as_ref());
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

/// Lower-case hex of a 16-byte digest, as written in records.
pub fn hex16(d: &Digest16) -> String {
    hex::encode(d)
}

#[cfg(test)]
mod tests;
