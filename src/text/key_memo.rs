//! Remembers the keys of recently seen paragraph texts, so that a text seen again is
//! looked up instead of folded and hashed again.
//!
//! Dumps repeat paragraphs word for word: a post's preview and its expanded copy, a
//! channel's footer under every post, a re-forward of a recent post. Folding a text to
//! its key and hashing it is the most expensive step per byte, and a repeat costs only a
//! hash of its bytes and a comparison. The memo stores each text it answers for and
//! compares it in full, so it never gives a key for a text it has not folded; it only
//! saves time, and the keys are the same with it or without it.

use hashbrown::HashTable;

use crate::text::normalise::{self, Digest16};

/// Bytes of text the memo keeps before it starts afresh: the paragraphs of a thousand or
/// so posts, which holds the repeats near each other (most are within a hundred lines),
/// and a few MB per worker with its table. 512 KiB found fewer repeats (1.8% more
/// instructions on a 20 MB dump) without a measurable saving in memory.
const MEMO_TEXT_BYTES: usize = 2 << 20;

/// Texts shorter than this are folded every time: hashing and comparing them costs about
/// as much as folding them.
const MEMO_MIN_BYTES: usize = 24;

/// Texts longer than this are folded every time: a repeat of a long text is rare, and it
/// would push many short ones out.
const MEMO_MAX_BYTES: usize = 4 << 10;

/// The key of a paragraph text: its digest (`None` when the key has no letters or
/// digits) and its length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOf {
    pub digest: Option<Digest16>,
    pub chars: usize,
}

struct Entry {
    hash: u64,
    start: u32,
    len: u32,
    key: KeyOf,
}

/// A bounded memo from paragraph text to its key, and the scratch buffer keys are folded
/// into.
pub struct KeyMemo {
    table: HashTable<Entry>,
    texts: Vec<u8>,
    hasher: foldhash::fast::FixedState,
    scratch: Vec<u8>,
}

impl Default for KeyMemo {
    fn default() -> Self {
        KeyMemo {
            table: HashTable::new(),
            texts: Vec::new(),
            hasher: foldhash::fast::FixedState::default(),
            scratch: Vec::new(),
        }
    }
}

impl KeyMemo {
    /// Folds and hashes `text`, with no memo.
    fn compute(&mut self, text: &str) -> KeyOf {
        normalise::key_text_into(text, &mut self.scratch);
        KeyOf {
            digest: (!self.scratch.is_empty()).then(|| normalise::digest(&self.scratch)),
            chars: normalise::key_chars(&self.scratch),
        }
    }

    /// The key of `text`, as [`normalise::key_text`] and [`normalise::digest`] give it.
    pub fn key_of(&mut self, text: &str) -> KeyOf {
        let bytes = text.as_bytes();
        if !(MEMO_MIN_BYTES..=MEMO_MAX_BYTES).contains(&bytes.len()) {
            return self.compute(text);
        }
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, bytes);
        let texts = &self.texts;
        let same = |e: &Entry| {
            e.hash == hash && texts.get(e.start as usize..(e.start + e.len) as usize) == Some(bytes)
        };
        if let Some(e) = self.table.find(hash, same) {
            return e.key;
        }
        let key = self.compute(text);
        if self.texts.len() + bytes.len() > MEMO_TEXT_BYTES {
            self.table.clear();
            self.texts.clear();
        }
        let start = self.texts.len() as u32;
        self.texts.extend_from_slice(bytes);
        self.table.insert_unique(
            hash,
            Entry {
                hash,
                start,
                len: bytes.len() as u32,
                key,
            },
            |e| e.hash,
        );
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> KeyOf {
        let key = normalise::key_text(text);
        KeyOf {
            digest: (!key.is_empty()).then(|| normalise::digest(&key)),
            chars: key.chars().count(),
        }
    }

    #[test]
    fn a_repeat_gets_the_key_of_its_first_fold() {
        let mut memo = KeyMemo::default();
        let text = "Встреча министров иностранных дел прошла в Москве.";
        let first = memo.key_of(text);
        assert_eq!(first, plain(text));
        assert_eq!(memo.table.len(), 1);
        assert_eq!(memo.key_of(text), first);
        // Answered from the memo: nothing new stored.
        assert_eq!(memo.table.len(), 1);
        assert_eq!(memo.texts.len(), text.len());
    }

    #[test]
    fn short_long_and_keyless_texts() {
        let mut memo = KeyMemo::default();
        let long = "word ".repeat(1000);
        for text in ["Видео", long.as_str(), "🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹"]
        {
            assert_eq!(memo.key_of(text), plain(text), "{text}");
            assert_eq!(memo.key_of(text), plain(text), "{text}");
        }
        // Only the emoji line is in the memo's range; it has no key.
        assert_eq!(memo.table.len(), 1);
        assert_eq!(plain("🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹🔹").digest, None);
    }

    #[test]
    fn starts_afresh_when_full() {
        let mut memo = KeyMemo::default();
        let mut n = 0;
        while memo.texts.len() + 100 <= MEMO_TEXT_BYTES {
            let text = format!("{n:0>100}");
            memo.key_of(&text);
            n += 1;
        }
        let before = memo.table.len();
        assert_eq!(before, n);
        memo.key_of(&format!("{:0>100}", n + 1));
        assert_eq!(memo.table.len(), 1);
        assert_eq!(memo.texts.len(), 100);
        // Texts stored before the reset are folded again, and right.
        let text = format!("{:0>100}", 3);
        assert_eq!(memo.key_of(&text), plain(&text));
    }

    proptest::proptest! {
        /// Whatever the order of texts and repeats, the memo gives the plain key.
        #[test]
        fn memo_never_changes_a_key(
            picks in proptest::collection::vec(0usize..12, 1..60),
            texts in proptest::collection::vec("[a-zA-Zа-яА-Я0-9 ,.!🔹\u{0301}\u{00C5}\u{FB01}]{0,60}", 12),
        ) {
            let mut memo = KeyMemo::default();
            for i in picks {
                let text = &texts[i];
                proptest::prop_assert_eq!(memo.key_of(text), plain(text));
            }
        }
    }
}
