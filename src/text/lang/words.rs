//! Counts a sample's function words against every language's list at once: what tells
//! a Latin-script text's language after `whichlang`, or that it has none.

use super::function_words::{LISTED, function_words};
use super::{LATIN_SAMPLE_BYTES, head_of};

/// The longest list of function words (a test checks each list against it): a list's
/// words seen are one bit each of a `u128`.
pub(super) const MAX_LISTED_WORDS: usize = 128;

/// The languages `whichlang` names, in the order of [`PACKED`]'s first lists.
pub(super) const WHICHLANG_CODES: [&str; 10] =
    ["en", "de", "fr", "es", "pt", "it", "nl", "sv", "tr", "vi"];

/// How many languages have a list of function words: whichlang's, then [`LISTED`].
const LANGUAGES: usize = WHICHLANG_CODES.len() + LISTED.len();

/// How many of a text's words are function words of one language.
pub(super) struct Hits {
    pub(super) words: usize,
    pub(super) hits: usize,
    pub(super) distinct: usize,
}

impl Hits {
    /// Real text of a language always has its function words: two different ones (one
    /// in a text of eight words or fewer), and at least one word in eight (every news
    /// sentence of the bench has more).
    pub(super) fn reads_as_language(&self) -> bool {
        (self.distinct >= 2 || (self.hits >= 1 && self.words <= 8)) && self.hits * 8 >= self.words
    }
}

/// A function word in eight bytes (lower case, zero-padded), or 0 for a longer word:
/// no function word is longer, and comparing one integer beats comparing strings.
pub(super) fn pack(word: &[u8]) -> u64 {
    if word.len() > 8 {
        return 0;
    }
    let mut bytes = [0u8; 8];
    bytes[..word.len()].copy_from_slice(word);
    u64::from_le_bytes(bytes)
}

/// Every list of function words, packed once: whichlang's languages, then [`LISTED`].
pub(super) static PACKED: std::sync::LazyLock<Vec<(&'static str, Vec<u64>)>> =
    std::sync::LazyLock::new(|| {
        WHICHLANG_CODES
            .into_iter()
            .map(|code| (code, function_words(code)))
            .chain(LISTED)
            .map(|(code, list)| (code, list.iter().map(|w| pack(w.as_bytes())).collect()))
            .collect()
    });

/// A function word of one list: the packed word, the list's place in [`PACKED`] and the
/// word's place in the list.
type Entry = (u64, u8, u8);

/// Every packed function word of every list, sorted: one binary search finds every list
/// a word is in, where a search per list cost twelve.
static INDEX: std::sync::LazyLock<Vec<Entry>> = std::sync::LazyLock::new(|| {
    let mut index: Vec<Entry> = PACKED
        .iter()
        .enumerate()
        .flat_map(|(language, (_, list))| {
            list.iter()
                .enumerate()
                .take(MAX_LISTED_WORDS)
                .filter_map(move |(at, &word)| {
                    Some((word, u8::try_from(language).ok()?, u8::try_from(at).ok()?))
                })
        })
        .collect();
    index.sort_unstable();
    index
});

/// Function words counted per language over some of a text's words.
#[derive(Clone, Copy)]
pub(super) struct Tally {
    hits: [u32; LANGUAGES],
    /// The words of each list seen, a bit each.
    seen: [u128; LANGUAGES],
}

impl Tally {
    pub(super) const EMPTY: Tally = Tally {
        hits: [0; LANGUAGES],
        seen: [0; LANGUAGES],
    };

    pub(super) fn add(&mut self, code: u64) {
        if code == 0 {
            return;
        }
        let from = INDEX.partition_point(|&(word, _, _)| word < code);
        for &(word, language, at) in INDEX.get(from..).unwrap_or_default() {
            if word != code {
                break;
            }
            let language = usize::from(language);
            if let (Some(hits), Some(seen)) =
                (self.hits.get_mut(language), self.seen.get_mut(language))
            {
                *hits += 1;
                *seen |= 1u128 << at;
            }
        }
    }

    /// What `words` words held of the list of `language`.
    pub(super) fn of(&self, language: usize, words: usize) -> Hits {
        Hits {
            words,
            hits: self.hits.get(language).map_or(0, |&h| h as usize),
            distinct: self
                .seen
                .get(language)
                .map_or(0, |s| s.count_ones() as usize),
        }
    }
}

/// The words at the head of a sample, counted against every list of function words.
pub(super) struct Words {
    /// Over the words in the first [`LATIN_SAMPLE_BYTES`], what `whichlang` reads.
    first: Tally,
    in_first: usize,
    /// Over every word of the head.
    all: Tally,
    count: usize,
}

impl Words {
    /// The words of the first `2 × LATIN_SAMPLE_BYTES` of `sample`. Words are split at
    /// ASCII bytes only (a non-ASCII character is taken as a letter), so no character
    /// is decoded: a Unicode table lookup per character was most of the cost on
    /// mixed-script posts. Only a word short enough to be a function word is
    /// lower-cased.
    pub(super) fn of(sample: &str) -> Words {
        let head = head_of(sample, 2 * LATIN_SAMPLE_BYTES).as_bytes();
        let mut all = Tally::EMPTY;
        let mut first = None;
        let mut in_first = 0;
        let mut count = 0;
        let mut lowered = String::new();
        let mut at = 0;
        for word in head.split(|&b| b.is_ascii() && !b.is_ascii_alphanumeric()) {
            let end = at + word.len();
            at = end + 1;
            if word.is_empty() {
                continue;
            }
            if end > LATIN_SAMPLE_BYTES && first.is_none() {
                first = Some(all);
            }
            let code = if word.len() > 16 {
                0
            } else if word.iter().all(|b| !b.is_ascii_uppercase()) && word.is_ascii() {
                pack(word)
            } else {
                match std::str::from_utf8(word) {
                    Ok(w) => {
                        lowered.clear();
                        lowered.extend(w.chars().flat_map(char::to_lowercase));
                        pack(lowered.as_bytes())
                    }
                    Err(_) => 0,
                }
            };
            all.add(code);
            count += 1;
            if end <= LATIN_SAMPLE_BYTES {
                in_first = count;
            }
        }
        Words {
            first: first.unwrap_or(all),
            in_first,
            all,
            count,
        }
    }

    /// Whether the words read as `language` (a place in [`PACKED`]): judged on what
    /// `whichlang` reads, and on twice that when that is not enough (a headline of names
    /// has few function words).
    pub(super) fn read_as(&self, language: usize) -> bool {
        self.first.of(language, self.in_first).reads_as_language()
            || (self.count > self.in_first && self.all.of(language, self.count).reads_as_language())
    }

    /// The language of [`LISTED`] the words read as, the one with the most distinct
    /// function words (then the most, then the later one).
    pub(super) fn listed_language(&self) -> Option<&'static str> {
        LISTED
            .iter()
            .enumerate()
            .map(|(i, (code, _))| (*code, self.all.of(WHICHLANG_CODES.len() + i, self.count)))
            .filter(|(_, hits)| hits.reads_as_language())
            .max_by_key(|(_, hits)| (hits.distinct, hits.hits))
            .map(|(code, _)| code)
    }

    /// Whether any answer the Latin-script rules could give after `whichlang` would stand.
    pub(super) fn read_as_any(&self) -> bool {
        (0..WHICHLANG_CODES.len()).any(|language| self.read_as(language))
            || self.listed_language().is_some()
    }
}
