//! The word n-grams of a paragraph (SPEC §8), hashed, and the bounded summary of them a
//! post's near-duplicate sketch is made from.
//!
//! Words are the runs of letters and digits of the text, lower-cased character by
//! character: the words of the key form without its NFKC and full case folding, which
//! move no word boundary and change few words, and would double the cost of the step
//! that is most of a run's CPU. N-grams do not cross paragraphs, so a post's n-grams are
//! the union of its paragraphs' and a paragraph dropped as channel boilerplate takes
//! exactly its own n-grams away; a paragraph shorter than n words is one n-gram.
//!
//! A paragraph keeps its n-gram hashes (32-bit, sorted, distinct) when it has at most
//! [`SUMMARY_ALL`] of them. A longer one keeps the [`BOTTOM_K`] smallest and the
//! smallest of each of the [`BINS`] hash ranges: everything a post's bottom-k set and
//! its one-permutation MinHash need, since the k smallest of a union are among the k
//! smallest of its parts and the minimum of a range over a union is the minimum of the
//! parts' minima. No library does this split (the MinHash crates hash whole documents),
//! hence the hand-written module.

use crate::text::swar::{self, Lanes, lanes_below};

/// Words per n-gram.
pub const NGRAM_WORDS: usize = 2;
/// The size of a post's bottom-k set, the sample verification compares.
pub const BOTTOM_K: usize = 128;
/// Hash ranges of the one-permutation MinHash (a power of two: the top bits pick one).
pub const BINS: usize = 128;
/// Bits of a 32-bit hash that pick its range.
pub const BIN_SHIFT: u32 = 32 - BINS.trailing_zeros();
/// A paragraph with at most this many distinct n-grams keeps them all.
pub const SUMMARY_ALL: usize = BOTTOM_K;

/// The n-grams of one paragraph as near-duplicate detection keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shingles {
    /// Words in the paragraph.
    pub words: u32,
    /// Distinct n-gram hashes, ascending: all of them, or (more than [`SUMMARY_ALL`])
    /// the bottom [`BOTTOM_K`] and each range's minimum.
    pub hashes: Vec<u32>,
}

/// A 64-bit finaliser (splitmix64): spreads the bits of a word sequence's running hash
/// over the whole word, so that the top bits pick a range uniformly.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The lanes of `w` that are not ASCII letters or digits (the end of an ASCII word), as
/// [`u8::is_ascii_alphanumeric`] tells one byte: sixteen at a time, since most words are ASCII.
fn not_ascii_alnum_lanes(w: Lanes) -> Lanes {
    let within = |low: u8, high: u8| !lanes_below(w, low) & lanes_below(w, high + 1);
    !(within(b'0', b'9') | within(b'A', b'Z') | within(b'a', b'z'))
}

/// The index in [`CYRILLIC_LOWER`] of the letter whose UTF-8 is `lead` (0xD0 or 0xD1)
/// then `trail`.
fn cyrillic_index(lead: u8, trail: u8) -> usize {
    (usize::from(lead & 1) << 6) | usize::from(trail & 0x3F)
}

/// The lower case of each letter of U+0400–U+047F as its two UTF-8 bytes (first byte
/// low), by [`cyrillic_index`]: capitals of U+0410–U+042F are 0x20 on, those of
/// U+0400–U+040F 0x50 on, and the historic letters of U+0460–U+047F pair an even capital
/// with the odd letter after it. Lower case stays in U+0430–U+047F, two bytes.
const CYRILLIC_LOWER: [u16; 128] = {
    let mut t = [0u16; 128];
    let mut k = 0;
    while k < 128 {
        let cp = 0x400 + k as u32;
        let lower = match cp {
            0x410..=0x42F => cp + 0x20,
            0x400..=0x40F => cp + 0x50,
            0x460..=0x47F => cp | 1,
            _ => cp,
        };
        let utf8 = [0xC0 | (lower >> 6) as u8, 0x80 | (lower & 0x3F) as u8];
        t[k] = u16::from_le_bytes(utf8);
        k += 1;
    }
    t
};

/// The hash of a word as its lower-cased UTF-8 bytes come, eight bytes at a time: no
/// buffer, and one multiplication per eight bytes on the dependency chain.
struct WordHasher {
    h: u64,
    pending: u64,
    pending_len: u32,
    len: u64,
}

const WORD_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const WORD_PRIME: u64 = 0x9e37_79b9_7f4a_7c15;

impl WordHasher {
    const NEW: WordHasher = WordHasher {
        h: WORD_SEED,
        pending: 0,
        pending_len: 0,
        len: 0,
    };

    fn byte(&mut self, b: u8) {
        self.pending |= u64::from(b) << (8 * self.pending_len);
        self.pending_len += 1;
        self.len += 1;
        if self.pending_len == 8 {
            self.absorb();
        }
    }

    /// A run of ASCII letters and digits, lower-cased on the way in: for those bytes
    /// lower case is setting bit 5, eight at a time.
    fn ascii_alnum(&mut self, run: &[u8]) {
        let mut rest = run;
        if self.pending_len == 0 {
            let mut chunks = run.chunks_exact(8);
            for chunk in &mut chunks {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(chunk);
                self.pending = u64::from_le_bytes(eight) | 0x2020_2020_2020_2020;
                self.len += 8;
                self.absorb();
            }
            rest = chunks.remainder();
        }
        for &b in rest {
            self.byte(b | 0x20);
        }
    }

    /// Two bytes, the first in the low half of `bytes`.
    fn pair(&mut self, bytes: u16) {
        if self.pending_len <= 6 {
            self.pending |= u64::from(bytes) << (8 * self.pending_len);
            self.pending_len += 2;
            self.len += 2;
            if self.pending_len == 8 {
                self.absorb();
            }
        } else {
            let [first, second] = bytes.to_le_bytes();
            self.byte(first);
            self.byte(second);
        }
    }

    fn char(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            self.byte(b);
        }
    }

    fn absorb(&mut self) {
        self.h = (self.h ^ self.pending)
            .wrapping_mul(WORD_PRIME)
            .rotate_left(29);
        self.pending = 0;
        self.pending_len = 0;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The word's hash; the hasher is ready for the next word.
    fn finish(&mut self) -> u64 {
        if self.pending_len > 0 {
            self.absorb();
        }
        let h = mix(self.h ^ self.len);
        *self = WordHasher::NEW;
        h
    }
}

/// The hash of one word (its lower-cased UTF-8), as [`for_each_word`] gives it.
pub fn word_hash(lower_utf8: &[u8]) -> u64 {
    let mut w = WordHasher::NEW;
    for &b in lower_utf8 {
        w.byte(b);
    }
    w.finish()
}

/// Calls `word` with the hash of each word of `text`, in order.
///
/// ASCII (a word's end found sixteen bytes at a time), the Cyrillic letters of
/// U+0400–U+047F (two bytes, lower-cased through a table) and the common separators of news text (general
/// punctuation and spaces, emoji, variation selectors) are told apart from their
/// bytes; only other characters are looked up in Unicode's tables, which cost more than
/// the rest of the scan on a text with an emoji or a dash per line.
pub fn for_each_word(text: &str, mut word: impl FnMut(u64)) {
    let b = text.as_bytes();
    let mut w = WordHasher::NEW;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let letter = if c < 0x80 {
            if c.is_ascii_alphanumeric() {
                let rest = b.get(i..).unwrap_or_default();
                let end = swar::find(rest, not_ascii_alnum_lanes, |x| !x.is_ascii_alphanumeric())
                    .map_or(b.len(), |n| i + n);
                w.ascii_alnum(&b[i..end]);
                i = end;
                true
            } else {
                i += 1;
                false
            }
        } else if let (0xD0 | 0xD1, Some(&next)) = (c, b.get(i + 1)) {
            // A run of letters of U+0400–U+047F, two bytes each, lower-cased through a
            // table and taken in two bytes at a time.
            let (mut lead, mut trail) = (c, next);
            loop {
                w.pair(CYRILLIC_LOWER[cyrillic_index(lead, trail)]);
                i += 2;
                match (b.get(i), b.get(i + 1)) {
                    (Some(&l @ (0xD0 | 0xD1)), Some(&t)) => (lead, trail) = (l, t),
                    _ => break,
                }
            }
            true
        } else if let (0xE2, Some(0x80)) | (0xEF, Some(0xB8)) = (c, b.get(i + 1)) {
            // U+2000–U+203F (spaces, dashes, quotes, bullets), U+FE00–U+FE3F
            // (variation selectors): never letters.
            i += 3;
            false
        } else if let (0xF0, Some(0x9F), Some(0x8C..=0xAD)) = (c, b.get(i + 1), b.get(i + 2)) {
            // U+1F300–U+1FB7F: emoji and pictographs (the segmented digits after them
            // are digits).
            i += 4;
            false
        } else {
            let Some(ch) = text.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            i += ch.len_utf8();
            let alnum = ch.is_alphanumeric();
            if alnum {
                for l in ch.to_lowercase() {
                    w.char(l);
                }
            }
            alnum
        };
        if !letter && !w.is_empty() {
            word(w.finish());
        }
    }
    if !w.is_empty() {
        word(w.finish());
    }
}

/// The hash of an n-gram of word hashes.
fn ngram(words: &[u64]) -> u32 {
    let mut h = 0x9e37_79b9_7f4a_7c15_u64;
    for &w in words {
        h = mix(h ^ w);
    }
    (h >> 32) as u32
}

/// The range of the one-permutation MinHash a hash falls in.
pub fn bin_of(hash: u32) -> usize {
    (hash >> BIN_SHIFT) as usize
}

/// Keeps, of sorted distinct `hashes`, the bottom [`BOTTOM_K`] and each range's minimum.
fn summarise(hashes: &mut Vec<u32>) {
    if hashes.len() <= SUMMARY_ALL {
        return;
    }
    let mut seen = [false; BINS];
    let mut kept = 0;
    hashes.retain(|&h| {
        let bin = &mut seen[bin_of(h)];
        let keep = kept < BOTTOM_K || !*bin;
        *bin = true;
        kept += 1;
        keep
    });
}

/// Appends the n-gram hashes of `text` (unsorted, repeats included) to `out`; returns
/// its number of words. Words are hashed as they are found, n at a time, with no list
/// of them.
pub fn push_ngrams(text: &str, out: &mut Vec<u32>) -> u32 {
    let mut window = [0u64; NGRAM_WORDS];
    let mut words = 0usize;
    for_each_word(text, |w| {
        window.copy_within(1.., 0);
        window[NGRAM_WORDS - 1] = w;
        words += 1;
        if words >= NGRAM_WORDS {
            out.push(ngram(&window));
        }
    });
    if (1..NGRAM_WORDS).contains(&words) {
        out.push(ngram(&window[NGRAM_WORDS - words..]));
    }
    u32::try_from(words).unwrap_or(u32::MAX)
}

/// The words and n-gram summary of a paragraph's text.
pub fn shingles(text: &str) -> Shingles {
    let mut hashes = Vec::new();
    let words = push_ngrams(text, &mut hashes);
    hashes.sort_unstable();
    hashes.dedup();
    summarise(&mut hashes);
    Shingles { words, hashes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<u64> {
        let mut v = Vec::new();
        for_each_word(text, |w| v.push(w));
        v
    }

    /// The rule the byte scan implements, one character at a time: runs of letters and
    /// digits, lower-cased.
    fn reference_words(text: &str) -> Vec<u64> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                word_hash(
                    w.chars()
                        .flat_map(char::to_lowercase)
                        .collect::<String>()
                        .as_bytes(),
                )
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_byte_scan_finds_the_words_of_the_character_rule(
            text in "([a-zA-Z0-9 .,]|[\u{400}-\u{4ff}]|[\u{2000}-\u{2040}]|[\u{fe00}-\u{fe3f}]|[\u{1f300}-\u{1fbff}]|[ÀßİΣ🄀-🄊]|\\PC){0,40}"
        ) {
            proptest::prop_assert_eq!(words(&text), reference_words(&text));
        }
    }

    proptest::proptest! {
        #[test]
        fn long_ascii_and_cyrillic_runs_are_the_words_of_the_character_rule(
            text in "([a-zA-Z0-9]{0,40}[ .,\u{2014}\u{451}]?|[\u{400}-\u{47f}]{0,24}[ a1]?){0,10}"
        ) {
            proptest::prop_assert_eq!(words(&text), reference_words(&text));
        }
    }

    #[test]
    fn the_cyrillic_table_is_the_lower_case_of_each_letter() {
        for cp in 0x400..0x480u32 {
            let c = char::from_u32(cp).unwrap_or_default();
            let mut utf8 = [0u8; 4];
            let [lead, trail] =
                <[u8; 2]>::try_from(c.encode_utf8(&mut utf8).as_bytes()).unwrap_or_default();
            let lower: String = c.to_lowercase().collect();
            let entry = CYRILLIC_LOWER[cyrillic_index(lead, trail)].to_le_bytes();
            assert_eq!(&entry[..], lower.as_bytes(), "U+{cp:04X}");
        }
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_and_digits() {
        assert_eq!(words("Hello, WORLD! 2024"), words("hello world 2024"));
        assert_eq!(words("Москва — ГОРОД"), words("москва город"));
        assert_eq!(words("⚡️ Срочно: 5 км/ч").len(), 4);
        assert_eq!(words("  ... "), Vec::<u64>::new());
        assert_ne!(words("ab"), words("ba"));
    }

    #[test]
    fn a_paragraph_shorter_than_n_words_is_one_ngram() {
        let s = shingles("Москва");
        assert_eq!((s.words, s.hashes.len()), (1, 1));
        // Word pairs: "один два", "два три", "три четыре".
        assert_eq!(NGRAM_WORDS, 2);
        let s = shingles("один два три четыре");
        assert_eq!((s.words, s.hashes.len()), (4, 3));
        assert!(shingles("—").hashes.is_empty());
    }

    #[test]
    fn repeated_ngrams_count_once_and_hashes_are_sorted() {
        let s = shingles("a b c a b c a b c");
        assert_eq!(s.words, 9);
        // Three distinct n-grams whatever n: "a b (c)", "b c (a)", "c a (b)".
        assert_eq!(s.hashes.len(), 3);
        assert!(s.hashes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_long_paragraph_keeps_its_bottom_k_and_every_range_minimum() {
        let text: String = (0..2000).map(|i| format!("w{i} ")).collect();
        let all = {
            let mut w = Vec::new();
            for_each_word(&text, |x| w.push(x));
            // The n-grams from the list of words, as the definition says.
            let mut h: Vec<u32> = w.windows(NGRAM_WORDS).map(ngram).collect();
            h.sort_unstable();
            h.dedup();
            h
        };
        let s = shingles(&text);
        assert_eq!(s.words, 2000);
        assert_eq!(&s.hashes[..BOTTOM_K], &all[..BOTTOM_K]);
        for bin in 0..BINS {
            let min = all.iter().find(|&&h| bin_of(h) == bin);
            assert_eq!(min, s.hashes.iter().find(|&&h| bin_of(h) == bin));
        }
        assert!(s.hashes.len() <= BOTTOM_K + BINS);
    }
}
