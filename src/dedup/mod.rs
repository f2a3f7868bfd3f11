//! Cross-post deduplication (SPEC §4): decides, in input order, which paragraphs and posts
//! are new. It is the single owner of the seen-set, so the first copy always wins.

pub mod boilerplate;
pub mod digest_table;
pub mod distinct;
pub mod near;
pub mod sorted_digests;
pub mod state;

/// Default for `--min-dedup-chars` (SPEC §1).
pub const DEFAULT_MIN_DEDUP_CHARS: usize = 24;

use crate::dedup::digest_table::DigestTable;
use crate::dedup::sorted_digests::SortedDigests;
use crate::dedup::state::SeenState;
use crate::text::normalise::Digest16;
use crate::text::post::{Paragraph, Post};

/// A paragraph as dedup sees it: its key and the key's length in characters. Both the
/// posts of a fused run and the scans of a sharded one are judged through it, by the
/// same code.
pub trait KeyedParagraph {
    fn key(&self) -> &Digest16;
    fn key_chars(&self) -> usize;
    /// The key without links, mentions and e-mails, as channel boilerplate counts it
    /// ([`crate::text::template::template_id`]).
    fn template(&self) -> u64;
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
        self.key_chars as usize
    }

    fn template(&self) -> u64 {
        self.template
    }
}

impl<P: KeyedParagraph> KeyedParagraph for &P {
    fn key(&self) -> &Digest16 {
        (*self).key()
    }

    fn key_chars(&self) -> usize {
        (*self).key_chars()
    }

    fn template(&self) -> u64 {
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
/// this run cannot name. (`u32::MAX` marks an empty slot of the table.)
const FROM_STATE: u32 = digest_table::VACANT - 1;

/// Owner index of a key or id that occurs more than once in the run (see
/// [`Deduper::expect_repeats`]) but was not met yet: present in the table, not seen.
const NOT_YET: u32 = digest_table::VACANT - 2;

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
        let mut keys = DigestTable::new();
        let mut ids = DigestTable::new();
        let count = |table: &mut DigestTable, d: &Digest16| match table.get_mut(d) {
            Some(n) => *n = n.saturating_add(1).min(2),
            None => {
                table.insert(*d, 1);
            }
        };
        for (id, paragraph_keys) in posts {
            count(&mut ids, id);
            for k in paragraph_keys {
                count(&mut keys, k);
            }
        }
        // The table lists its keys in order: the repeats come out sorted.
        let repeated = |t: DigestTable| -> Vec<Digest16> {
            t.iter().filter(|(_, n)| *n > 1).map(|(d, _)| *d).collect()
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
    /// Paragraph key → index in `owners` of the post that kept its first copy, for the
    /// keys this run met.
    seen_keys: DigestTable,
    /// Post id → index in `owners`, for this run's posts.
    seen_posts: DigestTable,
    /// Keys and ids earlier runs saw (`--state`), as the state file lists them.
    base_keys: SortedDigests,
    base_posts: SortedDigests,
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
            seen_keys: DigestTable::new(),
            seen_posts: DigestTable::new(),
            base_keys: SortedDigests::default(),
            base_posts: SortedDigests::default(),
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
            if self.seen_keys.get(k).is_none() {
                self.seen_keys.insert(*k, NOT_YET);
            }
        }
        for p in &repeats.ids {
            if self.seen_posts.get(p).is_none() {
                self.seen_posts.insert(*p, NOT_YET);
            }
        }
        self.expecting = true;
    }

    /// The owner of a key seen before, if it was.
    fn seen_key(&self, key: &Digest16) -> Option<u32> {
        match self.seen_keys.get(key) {
            Some(NOT_YET) => None,
            Some(owner) => Some(owner),
            None => self.base_keys.contains(key).then_some(FROM_STATE),
        }
    }

    /// Remembers `key` as first kept by `owner`, unless it was seen before; whether it
    /// was new.
    fn remember_key(&mut self, key: Digest16, owner: u32) -> bool {
        match self.seen_keys.get_mut(&key) {
            Some(o) if *o == NOT_YET => {
                *o = owner;
                true
            }
            Some(_) => false,
            None if self.base_keys.contains(&key) => false,
            None => {
                if !self.expecting {
                    self.seen_keys.insert(key, owner);
                }
                true
            }
        }
    }

    /// Makes room for `keys` paragraph keys and `posts` post ids at once, so the
    /// seen-set does not grow (in small steps, a segment at a time) while the run fills
    /// it.
    pub fn reserve(&mut self, keys: usize, posts: usize) {
        self.seen_keys.reserve(keys);
        self.seen_posts.reserve(posts);
    }

    /// Makes room for `keys` paragraph keys in all, those held already included.
    pub fn reserve_in_all(&mut self, keys: usize) {
        let more = keys.saturating_sub(self.seen_keys.len());
        self.seen_keys.reserve(more);
    }

    /// Whether an earlier run (`--state`) saw `key`.
    pub fn state_knows_key(&self, key: &Digest16) -> bool {
        !self.base_keys.is_empty() && self.base_keys.contains(key)
    }

    /// Starts loading what judging a post with this id and these paragraphs will look up
    /// (see [`DigestTable::prefetch`]).
    pub fn prefetch<P: KeyedParagraph>(&self, id: &Digest16, paragraphs: &[P]) {
        self.seen_posts.prefetch(id);
        for p in paragraphs {
            self.seen_keys.prefetch(p.key());
        }
    }

    /// Whether a post with this id was seen (in this run or, via `--state`, before).
    pub fn knows_post(&self, id: &Digest16) -> bool {
        match self.seen_posts.get(id) {
            Some(owner) => owner != NOT_YET,
            None => self.base_posts.contains(id),
        }
    }

    /// Number of distinct paragraph keys remembered.
    pub fn seen_keys(&self) -> usize {
        self.base_keys.len() + self.seen_keys.iter().filter(|(_, o)| *o != NOT_YET).count()
    }

    /// Remembers what earlier runs saw: the state's base (after its delta was settled),
    /// whose keys and ids are taken, not copied.
    pub fn preload(&mut self, state: &mut SeenState) {
        self.base_keys = SortedDigests::new(std::mem::take(&mut state.base_keys));
        self.base_posts = SortedDigests::new(std::mem::take(&mut state.base_posts));
    }

    /// The seen-set to persist: what was loaded as the base, what this run added as the
    /// delta; each sorted. The base is handed over, so this deduper forgets it.
    pub fn take_state(&mut self) -> SeenState {
        let delta = |t: &DigestTable| -> Vec<Digest16> {
            t.iter()
                .filter(|(_, o)| *o != NOT_YET)
                .map(|(d, _)| *d)
                .collect()
        };
        SeenState {
            delta_keys: delta(&self.seen_keys),
            delta_posts: delta(&self.seen_posts),
            base_keys: std::mem::take(&mut self.base_keys).into_vec(),
            base_posts: std::mem::take(&mut self.base_posts).into_vec(),
            ..SeenState::default()
        }
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
        let known = self.seen_posts.get(&id);
        if let Some(i) = known.filter(|&i| i != NOT_YET) {
            return i;
        }
        if known.is_none() && self.base_posts.contains(&id) {
            return FROM_STATE;
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
        let mut state = first.take_state();
        assert_eq!(state.delta_keys.len(), 2);
        assert_eq!(state.delta_posts, vec![a.id]);
        state.accept_delta();
        let mut second = Deduper::new(DedupMode::Paragraph, 24);
        second.preload(&mut state);
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
        let next = second.take_state();
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
