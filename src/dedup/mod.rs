//! Cross-post deduplication (SPEC §4): decides, in input order, which paragraphs and posts
//! are new. It is the single owner of the seen-set, so the first copy always wins.

pub mod boilerplate;
pub mod near;
pub mod state;

/// Default for `--min-dedup-chars` (SPEC §1).
pub const DEFAULT_MIN_DEDUP_CHARS: usize = 24;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::dedup::state::SeenState;
use crate::text::normalise::Digest16;
use crate::text::post::{Paragraph, Post};

/// A paragraph as dedup sees it: its key and the key's length in characters. Both the
/// posts of a fused run and the scans of a sharded one are judged through it, by the
/// same code.
pub trait KeyedParagraph {
    fn key(&self) -> &Digest16;
    fn key_chars(&self) -> usize;
    /// The key without links, mentions and e-mails (channel boilerplate counts these).
    fn template(&self) -> &Digest16;
    /// Words in the paragraph, when its n-grams were summarised (a scan's paragraphs).
    fn words(&self) -> u32 {
        0
    }
    /// The paragraph's n-gram summary ([`crate::text::shingle`]), when it was made (a
    /// scan's paragraphs; a post's sketch is made from its text instead).
    fn shingles(&self) -> &[u32] {
        &[]
    }
}

impl KeyedParagraph for Paragraph {
    fn key(&self) -> &Digest16 {
        &self.key
    }

    fn key_chars(&self) -> usize {
        self.key_chars
    }

    fn template(&self) -> &Digest16 {
        &self.template
    }
}

impl<P: KeyedParagraph> KeyedParagraph for &P {
    fn key(&self) -> &Digest16 {
        (*self).key()
    }

    fn key_chars(&self) -> usize {
        (*self).key_chars()
    }

    fn template(&self) -> &Digest16 {
        (*self).template()
    }

    fn words(&self) -> u32 {
        (*self).words()
    }

    fn shingles(&self) -> &[u32] {
        (*self).shingles()
    }
}

/// Owner index of keys and ids loaded from `--state`: seen in an earlier run, by a post
/// this run cannot name.
const FROM_STATE: u32 = u32::MAX;

/// Owner index of a key or id that occurs more than once in the run (see
/// [`Deduper::expect_repeats`]) but was not met yet: present in the table, not seen.
const NOT_YET: u32 = u32::MAX - 1;

/// Digests that occur more than once in a run, counted before it is judged (by a
/// cluster's aggregation, see [`Deduper::expect_repeats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repeats {
    /// Paragraph keys found in more than one post.
    pub keys: Vec<Digest16>,
    /// Post ids found more than once.
    pub ids: Vec<Digest16>,
}

impl Repeats {
    /// The repeats among these posts, each given as its id and its paragraphs' keys: what
    /// a cluster's `count() by digest` aggregation gives, done in one process.
    pub fn among<'k, I, K>(posts: I) -> Repeats
    where
        I: IntoIterator<Item = (&'k Digest16, K)>,
        K: IntoIterator<Item = &'k Digest16>,
    {
        let mut keys: DigestMap<u32> = DigestMap::default();
        let mut ids: DigestMap<u32> = DigestMap::default();
        for (id, paragraph_keys) in posts {
            *ids.entry(*id).or_default() += 1;
            for k in paragraph_keys {
                *keys.entry(*k).or_default() += 1;
            }
        }
        let repeated = |m: DigestMap<u32>| {
            let mut v: Vec<Digest16> = m
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(d, _)| d)
                .collect();
            v.sort_unstable();
            v
        };
        Repeats {
            keys: repeated(keys),
            ids: repeated(ids),
        }
    }
}

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
    /// The post repeats an earlier one: that post's id, or `None` when its paragraphs were
    /// first seen in a previous run (`--state`), by a post this run cannot name.
    Duplicate { of: Option<Digest16> },
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
    /// Only keys and ids already in the tables (as [`NOT_YET`]) are remembered: the run's
    /// repeats were counted before it was judged.
    expecting: bool,
}

impl Deduper {
    pub fn new(mode: DedupMode, min_chars: usize) -> Self {
        Deduper {
            mode,
            min_chars,
            seen_keys: DigestMap::default(),
            seen_posts: DigestMap::default(),
            owners: Vec::new(),
            expecting: false,
        }
    }

    /// Remembers from now on only these keys and ids, the ones that occur more than once
    /// in the run: a key or id met once can never be met again, so only its first copy's
    /// verdict (new) matters, and the seen-set holds the run's repeats instead of all its
    /// keys. Only for runs without `--state`, which must remember every key.
    pub fn expect_repeats(&mut self, repeats: &Repeats) {
        self.seen_keys.reserve(repeats.keys.len());
        self.seen_posts.reserve(repeats.ids.len());
        for k in &repeats.keys {
            self.seen_keys.entry(*k).or_insert(NOT_YET);
        }
        for p in &repeats.ids {
            self.seen_posts.entry(*p).or_insert(NOT_YET);
        }
        self.expecting = true;
    }

    /// The owner of a key seen before, if it was.
    fn seen_key(&self, key: &Digest16) -> Option<u32> {
        self.seen_keys.get(key).copied().filter(|&o| o != NOT_YET)
    }

    /// Remembers `key` as first kept by `owner`, unless it was seen before; whether it
    /// was new.
    fn remember_key(&mut self, key: Digest16, owner: u32) -> bool {
        match self.seen_keys.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if *o.get() == NOT_YET {
                    o.insert(owner);
                    true
                } else {
                    false
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                if !self.expecting {
                    v.insert(owner);
                }
                true
            }
        }
    }

    /// Makes room for `keys` paragraph keys at once. A seen-set that grows is rebuilt at
    /// every doubling, each time moving all its keys into fresh memory: on a 1 GB dump
    /// that was 2.4% of the run's CPU, on the thread that judges.
    pub fn reserve_keys(&mut self, keys: usize) {
        self.seen_keys.reserve(keys);
    }

    /// Whether a post with this id was seen (in this run or, via `--state`, before).
    pub fn knows_post(&self, id: &Digest16) -> bool {
        self.seen_posts.get(id).is_some_and(|&o| o != NOT_YET)
    }

    /// Number of distinct paragraph keys remembered.
    pub fn seen_keys(&self) -> usize {
        self.seen_keys.values().filter(|&&o| o != NOT_YET).count()
    }

    /// Remembers what earlier runs saw (the state's base, after its delta was settled).
    pub fn preload(&mut self, state: &SeenState) {
        self.seen_keys.reserve(state.base_keys.len());
        self.seen_posts.reserve(state.base_posts.len());
        for k in &state.base_keys {
            self.seen_keys.insert(*k, FROM_STATE);
        }
        for p in &state.base_posts {
            self.seen_posts.insert(*p, FROM_STATE);
        }
    }

    /// The seen-set to persist: what was loaded as the base, what this run added as the
    /// delta.
    pub fn to_state(&self) -> SeenState {
        let mut state = SeenState::default();
        for (k, owner) in &self.seen_keys {
            if *owner == NOT_YET {
                continue;
            } else if *owner == FROM_STATE {
                state.base_keys.push(*k);
            } else {
                state.delta_keys.push(*k);
            }
        }
        for (p, owner) in &self.seen_posts {
            if *owner == NOT_YET {
                continue;
            } else if *owner == FROM_STATE {
                state.base_posts.push(*p);
            } else {
                state.delta_posts.push(*p);
            }
        }
        state
    }

    /// The post that kept the first copy of a paragraph key; `None` when the key came
    /// from `--state` (or was never seen).
    pub fn first_owner_of_key(&self, key: &Digest16) -> Option<Digest16> {
        self.seen_key(key).and_then(|owner| self.owner_of(owner))
    }

    fn owner_of(&self, index: u32) -> Option<Digest16> {
        if index == FROM_STATE || index == NOT_YET {
            return None;
        }
        self.owners.get(index as usize).copied()
    }

    fn owner_index(&mut self, id: Digest16) -> u32 {
        let known = self.seen_posts.get(&id).copied();
        if let Some(i) = known.filter(|&i| i != NOT_YET) {
            return i;
        }
        // Owners beyond u32::MAX - 2 posts would collide with NOT_YET and FROM_STATE;
        // they are remembered as seen, just without a name for `duplicate_of`.
        let i = u32::try_from(self.owners.len())
            .unwrap_or(NOT_YET)
            .min(NOT_YET - 1);
        self.owners.push(id);
        if known.is_some() || !self.expecting {
            self.seen_posts.insert(id, i);
        }
        i
    }

    /// Remembers the keys of the paragraphs written (first owner wins).
    fn remember_keys<P: KeyedParagraph>(&mut self, paragraphs: &[P], keep: &[bool], owner: u32) {
        for (p, k) in paragraphs.iter().zip(keep) {
            if *k {
                self.remember_key(*p.key(), owner);
            }
        }
    }

    /// A post whose id was seen: the earlier copy had the same id, in this run or before.
    fn seen_post(&self, id: &Digest16) -> Option<Verdict> {
        self.knows_post(id)
            .then_some(Verdict::Duplicate { of: Some(*id) })
    }

    /// Judges one post and records what it adds to the seen-set. Call in input order.
    pub fn judge(&mut self, post: &Post) -> Verdict {
        self.judge_keys(post.id, &post.paragraphs)
    }

    /// Judges the post with this id and these paragraphs, as [`Deduper::judge`] does.
    pub fn judge_keys<P: KeyedParagraph>(&mut self, id: Digest16, paragraphs: &[P]) -> Verdict {
        let all = || Verdict::Keep {
            keep: vec![true; paragraphs.len()],
        };
        match self.mode {
            DedupMode::Off => {
                let me = self.owner_index(id);
                let verdict = all();
                if let Verdict::Keep { keep } = &verdict {
                    self.remember_keys(paragraphs, keep, me);
                }
                verdict
            }
            DedupMode::Post => {
                if let Some(dup) = self.seen_post(&id) {
                    return dup;
                }
                let me = self.owner_index(id);
                let verdict = all();
                if let Verdict::Keep { keep } = &verdict {
                    self.remember_keys(paragraphs, keep, me);
                }
                verdict
            }
            DedupMode::Paragraph => self.judge_paragraphs(id, paragraphs),
        }
    }

    fn judge_paragraphs<P: KeyedParagraph>(&mut self, id: Digest16, paragraphs: &[P]) -> Verdict {
        if let Some(dup) = self.seen_post(&id) {
            return dup;
        }
        let min_chars = self.min_chars;
        let long = move |chars: usize| chars >= min_chars;
        let mut first_seen_owner = None;
        let mut any_long_new = false;
        for p in paragraphs.iter().filter(|p| long(p.key_chars())) {
            match self.seen_key(p.key()) {
                Some(owner) => {
                    first_seen_owner.get_or_insert(owner);
                }
                None => any_long_new = true,
            }
        }
        if let (Some(owner), false) = (first_seen_owner, any_long_new) {
            return Verdict::Duplicate {
                of: self.owner_of(owner),
            };
        }
        let me = self.owner_index(id);
        // Short paragraphs are kept and remembered (for the state) but never judged.
        let keep = paragraphs
            .iter()
            .map(|p| self.remember_key(*p.key(), me) || !long(p.key_chars()))
            .collect();
        Verdict::Keep { keep }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::post::build_post;
    use crate::text::segment::{ParagraphKind, RawPost};

    fn post(texts: &[&str]) -> Post {
        let mut raw = RawPost {
            read: texts.len() as u64,
            ..RawPost::default()
        };
        for t in texts {
            raw.push_paragraph(ParagraphKind::Text, None, None, None, t);
        }
        build_post(raw)
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
        assert_eq!(d.seen_keys(), 4, "short keys are remembered too");
    }

    #[test]
    fn told_the_repeats_it_judges_the_same_and_remembers_only_them() {
        let posts = [
            post(&[
                "Key points:",
                LONG_A,
                LONG_B,
                "A paragraph found in one post only.",
            ]),
            post(&[LONG_C]),
            post(&["Key points:", LONG_A, LONG_C]),
            post(&[LONG_B]),
            post(&[LONG_C]),
        ];
        let repeats = Repeats::among(
            posts
                .iter()
                .map(|p| (&p.id, p.paragraphs.iter().map(|q| &q.key))),
        );
        // "Key points:", A, B and C occur twice or more; [C] is posted twice.
        assert_eq!(repeats.keys.len(), 4);
        assert_eq!(repeats.ids, vec![posts[1].id]);
        for mode in [DedupMode::Paragraph, DedupMode::Post, DedupMode::Off] {
            let mut all = Deduper::new(mode, 24);
            let mut told = Deduper::new(mode, 24);
            told.expect_repeats(&repeats);
            assert_eq!(told.seen_keys(), 0, "{mode:?}: nothing seen before the run");
            for (i, p) in posts.iter().enumerate() {
                assert_eq!(told.judge(p), all.judge(p), "{mode:?}: post {i}");
                // Owners are asked for dropped paragraphs only, which are repeats.
                for k in &repeats.keys {
                    assert_eq!(told.first_owner_of_key(k), all.first_owner_of_key(k));
                }
            }
            assert_eq!(
                (all.seen_keys(), told.seen_keys()),
                (5, 4),
                "{mode:?}: the paragraph found once is not remembered"
            );
        }
    }

    #[test]
    fn state_round_trip_separates_base_and_delta() {
        let mut first = Deduper::new(DedupMode::Paragraph, 24);
        let a = post(&[LONG_A, "Short"]);
        first.judge(&a);
        let mut state = first.to_state();
        assert_eq!(state.delta_keys.len(), 2);
        assert_eq!(state.delta_posts, vec![a.id]);
        state.accept_delta();
        let mut second = Deduper::new(DedupMode::Paragraph, 24);
        second.preload(&state);
        assert_eq!(second.judge(&a), Verdict::Duplicate { of: Some(a.id) });
        let reworded = post(&["Other short", LONG_A]);
        assert_eq!(second.judge(&reworded), Verdict::Duplicate { of: None });
        let b = post(&[LONG_A, LONG_B]);
        assert_eq!(
            second.judge(&b),
            Verdict::Keep {
                keep: vec![false, true]
            }
        );
        let next = second.to_state();
        assert_eq!(next.base_keys.len(), 2);
        assert_eq!(next.delta_keys.len(), 1);
        assert_eq!(next.delta_posts, vec![b.id]);
    }

    #[test]
    fn a_post_with_nothing_long_and_new_is_a_duplicate_of_the_first_owner() {
        let mut d = Deduper::new(DedupMode::Paragraph, 24);
        let first = post(&[LONG_A]);
        let second = post(&[LONG_B]);
        d.judge(&first);
        d.judge(&second);
        let third = post(&["Short", LONG_B, LONG_A]);
        assert_eq!(
            d.judge(&third),
            Verdict::Duplicate {
                of: Some(second.id)
            }
        );
    }

    #[test]
    fn same_id_is_a_duplicate_even_when_short() {
        let mut d = Deduper::new(DedupMode::Paragraph, 24);
        let short = post(&["Видео"]);
        assert!(matches!(d.judge(&short), Verdict::Keep { .. }));
        assert_eq!(d.judge(&short), Verdict::Duplicate { of: Some(short.id) });
    }

    #[test]
    fn post_mode_only_drops_identical_posts() {
        let mut d = Deduper::new(DedupMode::Post, 24);
        let a = post(&[LONG_A, LONG_B]);
        let b = post(&[LONG_A]);
        assert!(matches!(d.judge(&a), Verdict::Keep { .. }));
        assert_eq!(d.judge(&b), Verdict::Keep { keep: vec![true] });
        assert_eq!(d.judge(&a), Verdict::Duplicate { of: Some(a.id) });
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
