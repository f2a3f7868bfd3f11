//! Cross-post deduplication (SPEC §4): decides, in input order, which paragraphs and posts
//! are new. It is the single owner of the seen-set, so the first copy always wins.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::normalise::Digest16;
use crate::post::Post;

/// Which cross-post deduplication runs (within-post repeats are always removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DedupMode {
    /// Drop paragraphs seen earlier in the run; drop posts with nothing new.
    #[default]
    Paragraph,
    /// Drop only whole posts whose id was seen before.
    Post,
    /// Keep everything.
    Off,
}

/// Hasher for keys that already are SHA-256 prefixes: their first 8 bytes are uniformly
/// distributed, so hashing them again would only cost time.
#[derive(Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 16]` hashes as one write of its bytes; fold all of them in so the hasher
        // stays correct for any input, with the fast path for a digest.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

type DigestMap<V> = HashMap<Digest16, V, BuildHasherDefault<DigestHasher>>;

/// The decision for one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Write the post; `keep[i]` tells whether paragraph `i` is written.
    Keep { keep: Vec<bool> },
    /// The post repeats an earlier one, whose id is given.
    Duplicate { of: Digest16 },
}

/// The seen-set and the rules that use it.
#[derive(Debug)]
pub struct Deduper {
    mode: DedupMode,
    min_chars: usize,
    /// Paragraph key → index in `owners` of the post that kept its first copy.
    seen_keys: DigestMap<u32>,
    /// Post id → index in `owners`.
    seen_posts: DigestMap<u32>,
    owners: Vec<Digest16>,
}

impl Deduper {
    pub fn new(mode: DedupMode, min_chars: usize) -> Self {
        Deduper {
            mode,
            min_chars,
            seen_keys: DigestMap::default(),
            seen_posts: DigestMap::default(),
            owners: Vec::new(),
        }
    }

    /// Number of distinct paragraph keys remembered.
    pub fn seen_keys(&self) -> usize {
        self.seen_keys.len()
    }

    fn owner_index(&mut self, id: Digest16) -> u32 {
        if let Some(&i) = self.seen_posts.get(&id) {
            return i;
        }
        let i = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
        self.owners.push(id);
        self.seen_posts.insert(id, i);
        i
    }

    /// Judges one post and records what it adds to the seen-set. Call in input order.
    pub fn judge(&mut self, post: &Post) -> Verdict {
        let all = || Verdict::Keep {
            keep: vec![true; post.paragraphs.len()],
        };
        match self.mode {
            DedupMode::Off => all(),
            DedupMode::Post => {
                if self.seen_posts.contains_key(&post.id) {
                    return Verdict::Duplicate { of: post.id };
                }
                self.owner_index(post.id);
                all()
            }
            DedupMode::Paragraph => self.judge_paragraphs(post),
        }
    }

    fn judge_paragraphs(&mut self, post: &Post) -> Verdict {
        if self.seen_posts.contains_key(&post.id) {
            return Verdict::Duplicate { of: post.id };
        }
        let min_chars = self.min_chars;
        let long = move |chars: usize| chars >= min_chars;
        let mut first_seen_owner = None;
        let mut any_long_new = false;
        for p in post.paragraphs.iter().filter(|p| long(p.key_chars)) {
            match self.seen_keys.get(&p.key) {
                Some(&owner) => {
                    first_seen_owner.get_or_insert(owner);
                }
                None => any_long_new = true,
            }
        }
        if let (Some(owner), false) = (first_seen_owner, any_long_new) {
            return Verdict::Duplicate {
                of: self.owners[owner as usize],
            };
        }
        let me = self.owner_index(post.id);
        let keep = post
            .paragraphs
            .iter()
            .map(|p| {
                if !long(p.key_chars) {
                    return true;
                }
                match self.seen_keys.entry(p.key) {
                    std::collections::hash_map::Entry::Occupied(_) => false,
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(me);
                        true
                    }
                }
            })
            .collect();
        Verdict::Keep { keep }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::build_post;
    use crate::segment::{ParagraphKind, RawParagraph, RawPost};

    fn post(texts: &[&str]) -> Post {
        build_post(RawPost {
            read: texts.len() as u64,
            paragraphs: texts
                .iter()
                .map(|t| RawParagraph {
                    kind: ParagraphKind::Text,
                    marker: None,
                    t: None,
                    text: (*t).to_owned(),
                })
                .collect(),
            ..RawPost::default()
        })
    }

    const LONG_A: &str = "A paragraph that is long enough to be deduplicated.";
    const LONG_B: &str = "Another paragraph, also long enough to count here.";
    const LONG_C: &str = "A third long paragraph that nobody has seen so far.";

    #[test]
    fn paragraph_mode_drops_seen_paragraphs_but_keeps_short_ones() {
        let mut d = Deduper::new(DedupMode::Paragraph, 24);
        let first = post(&["Key points:", LONG_A, LONG_B]);
        assert_eq!(
            d.judge(&first),
            Verdict::Keep {
                keep: vec![true, true, true]
            }
        );
        let second = post(&["Key points:", LONG_A, LONG_C]);
        assert_eq!(
            d.judge(&second),
            Verdict::Keep {
                keep: vec![true, false, true]
            }
        );
        assert_eq!(d.seen_keys(), 3);
    }

    #[test]
    fn a_post_with_nothing_long_and_new_is_a_duplicate_of_the_first_owner() {
        let mut d = Deduper::new(DedupMode::Paragraph, 24);
        let first = post(&[LONG_A]);
        let second = post(&[LONG_B]);
        d.judge(&first);
        d.judge(&second);
        let third = post(&["Short", LONG_B, LONG_A]);
        assert_eq!(d.judge(&third), Verdict::Duplicate { of: second.id });
    }

    #[test]
    fn same_id_is_a_duplicate_even_when_short() {
        let mut d = Deduper::new(DedupMode::Paragraph, 24);
        let short = post(&["Видео"]);
        assert!(matches!(d.judge(&short), Verdict::Keep { .. }));
        assert_eq!(d.judge(&short), Verdict::Duplicate { of: short.id });
    }

    #[test]
    fn post_mode_only_drops_identical_posts() {
        let mut d = Deduper::new(DedupMode::Post, 24);
        let a = post(&[LONG_A, LONG_B]);
        let b = post(&[LONG_A]);
        assert!(matches!(d.judge(&a), Verdict::Keep { .. }));
        assert_eq!(d.judge(&b), Verdict::Keep { keep: vec![true] });
        assert_eq!(d.judge(&a), Verdict::Duplicate { of: a.id });
    }

    #[test]
    fn off_keeps_everything() {
        let mut d = Deduper::new(DedupMode::Off, 24);
        let a = post(&[LONG_A]);
        assert!(matches!(d.judge(&a), Verdict::Keep { .. }));
        assert!(matches!(d.judge(&a), Verdict::Keep { .. }));
    }

    #[test]
    fn min_chars_threshold_applies_to_key_length() {
        let mut d = Deduper::new(DedupMode::Paragraph, 5);
        let a = post(&["Hello world", "abcd"]);
        let b = post(&["Hello world", "abcd", "fresh text"]);
        d.judge(&a);
        assert_eq!(
            d.judge(&b),
            Verdict::Keep {
                keep: vec![false, true, true]
            }
        );
    }
}
