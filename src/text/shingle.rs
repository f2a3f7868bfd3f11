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

/// Words per n-gram.
pub const NGRAM_WORDS: usize = 2;
/// The size of a post's bottom-k set, the sample verification compares.
pub const BOTTOM_K: usize = 128;
/// Hash ranges of the one-permutation MinHash (a power of two: the top bits pick one).
pub const BINS: usize = 64;
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

const WORD_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const WORD_PRIME: u64 = 0x0100_0000_01b3;

/// Calls `word` with the hash of each word of `text`, in order.
pub fn for_each_word(text: &str, mut word: impl FnMut(u64)) {
    let mut h = WORD_SEED;
    let mut in_word = false;
    let feed = |h: &mut u64, c: u32| *h = (*h ^ u64::from(c)).wrapping_mul(WORD_PRIME);
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                feed(&mut h, u32::from(c.to_ascii_lowercase()));
                in_word = true;
                continue;
            }
        } else if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                feed(&mut h, u32::from(l));
            }
            in_word = true;
            continue;
        }
        if in_word {
            word(mix(h));
            h = WORD_SEED;
            in_word = false;
        }
    }
    if in_word {
        word(mix(h));
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

/// The words and n-gram summary of a paragraph's text.
pub fn shingles(text: &str) -> Shingles {
    let mut words: Vec<u64> = Vec::new();
    for_each_word(text, |w| words.push(w));
    let mut hashes: Vec<u32> = if words.is_empty() {
        Vec::new()
    } else if words.len() < NGRAM_WORDS {
        vec![ngram(&words)]
    } else {
        words.windows(NGRAM_WORDS).map(ngram).collect()
    };
    hashes.sort_unstable();
    hashes.dedup();
    summarise(&mut hashes);
    Shingles {
        words: u32::try_from(words.len()).unwrap_or(u32::MAX),
        hashes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<u64> {
        let mut v = Vec::new();
        for_each_word(text, |w| v.push(w));
        v
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
