//! Near-duplicate posts (SPEC §8): a post's sketch, the index of the kept posts' band
//! hashes, and the similarity that verifies a candidate before a post is dropped.
//!
//! - **Similarity**: Jaccard of the sets of word 2-grams ([`crate::text::shingle`]) of
//!   the paragraphs left after within-post dedup and channel boilerplate.
//! - **Candidates**: one-permutation MinHash over [`BINS`] hash ranges (empty ranges
//!   filled from the next non-empty one, rotated), cut into [`BANDS`] bands of [`ROWS`]
//!   rows; a post is a candidate of every kept post it shares a band hash with. A pair
//!   of similarity s becomes a candidate with probability `1 - (1 - s^ROWS)^BANDS`.
//! - **Verification**: each post keeps its [`BOTTOM_K`] smallest n-gram hashes. When both
//!   posts have fewer distinct n-grams than that, these are the whole sets and the
//!   similarity is exact; otherwise it is the bottom-k estimate (the share of the k
//!   smallest hashes of the union found in both), whose standard error at 0.8 is 0.035.
//!
//! The sketch is made in the decide phase from the paragraphs' n-gram summaries, so that
//! boilerplate learned over the whole run is left out of it. The MinHash crates on
//! crates.io sketch whole documents and keep no bounded, mergeable summary per
//! paragraph, hence this module.

use hashbrown::HashTable;

use crate::text::normalise::Digest16;
use crate::text::shingle::{BINS, BOTTOM_K, bin_of, push_ngrams};

thread_local! {
    /// The n-gram hashes of the post being sketched, reused from post to post.
    static UNION: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Default of `--near-dup`.
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// Posts with fewer words (after boilerplate) are judged by the exact rules only.
pub const MIN_WORDS: u32 = 30;
/// Bands of the LSH index.
pub const BANDS: usize = 20;
/// MinHash values per band (the bands use `BANDS × ROWS` of the `BINS` values).
pub const ROWS: usize = 6;
const _: () = assert!(BANDS * ROWS <= BINS);
/// Bits of a post's signature: the lowest bit of each of its first 64 MinHash values.
const SIGNATURE_BITS: u32 = 64;
/// Kept posts a band hash leads to, at most: the earliest ones. A band shared by more
/// posts is a phrase many posts repeat (a formulaic channel, a tiny vocabulary), which
/// says little about any one pair; without the cap every later post with that phrase
/// would verify against all of them, and the run slowed down with the square of its
/// posts (1 GB of short posts drawn from 60 words: 222 s, and 33 s with it). A real
/// near-duplicate shares most of its 20 bands with its original and is still found
/// through the others.
const MAX_POSTS_PER_BAND: usize = 8;
/// A candidate whose signature matches in fewer bits is not verified: matching bits
/// estimate the similarity as `2 × share − 1`, and 36 of 64 is 0.125, more than four
/// standard deviations below what a pair at 0.8 shows even on a post of 30 words.
const SIGNATURE_MIN_MATCHES: u32 = 36;

/// The probability that a pair of posts with similarity `s` becomes a candidate.
pub fn candidate_probability(s: f64) -> f64 {
    1.0 - (1.0 - s.powi(ROWS as i32)).powi(BANDS as i32)
}

/// What near-duplicate detection keeps of a post: its band hashes for the index and
/// its bottom-k n-gram hashes for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSketch {
    /// Words in the paragraphs sketched.
    pub words: u32,
    /// The band hashes, band index mixed in.
    pub bands: [u32; BANDS],
    /// The lowest bit of each of the first 64 MinHash values: a cheap filter before
    /// verification.
    pub signature: u64,
    /// The smallest n-gram hashes, ascending (at most [`BOTTOM_K`]).
    pub bottom: Vec<u32>,
    /// Whether `bottom` is every n-gram of the post.
    pub complete: bool,
}

fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl PostSketch {
    /// The sketch of a post whose paragraphs have these texts, or `None` when they have
    /// fewer than `MIN_WORDS` words.
    pub fn of_texts<'t>(texts: impl Iterator<Item = &'t str>) -> Option<PostSketch> {
        UNION.with_borrow_mut(|union| {
            union.clear();
            let words = texts
                .map(|t| push_ngrams(t, union))
                .fold(0, u32::saturating_add);
            if words < MIN_WORDS {
                return None;
            }
            union.sort_unstable();
            union.dedup();
            PostSketch::of_union(words, union)
        })
    }

    /// The sketch of a post whose paragraphs have these n-gram summaries (words, hashes),
    /// or `None` when they have fewer than `MIN_WORDS` words.
    pub fn of<'p>(summaries: impl Iterator<Item = (u32, &'p [u32])> + Clone) -> Option<PostSketch> {
        let words: u32 = summaries
            .clone()
            .map(|(w, _)| w)
            .fold(0, u32::saturating_add);
        if words < MIN_WORDS {
            return None;
        }
        let mut union: Vec<u32> = Vec::new();
        for (_, hashes) in summaries {
            union.extend_from_slice(hashes);
        }
        union.sort_unstable();
        union.dedup();
        PostSketch::of_union(words, &union)
    }

    /// The sketch of a post of `words` words with these n-gram hashes (sorted, distinct).
    fn of_union(words: u32, union: &[u32]) -> Option<PostSketch> {
        let mut bins = [None::<u32>; BINS];
        for &h in union {
            bins[bin_of(h)].get_or_insert(h);
        }
        let filled = densify(&bins)?;
        let mut bands = [0u32; BANDS];
        for (b, band) in bands.iter_mut().enumerate() {
            let mut h = mix64(b as u64 + 1);
            for &v in &filled[b * ROWS..(b + 1) * ROWS] {
                h = mix64(h ^ u64::from(v));
            }
            *band = (h >> 32) as u32;
        }
        let signature = filled
            .iter()
            .take(SIGNATURE_BITS as usize)
            .enumerate()
            .fold(0u64, |sig, (i, v)| sig | (u64::from(v & 1) << i));
        Some(PostSketch {
            words,
            bands,
            signature,
            bottom: union[..union.len().min(BOTTOM_K)].to_vec(),
            complete: union.len() < BOTTOM_K,
        })
    }
}

/// Fills each empty range from the next non-empty one (wrapping), mixed with the
/// distance, so that two posts agree on an empty range as often as on a full one
/// (rotation densification, Shrivastava and Li 2014). `None` when all are empty.
fn densify(bins: &[Option<u32>; BINS]) -> Option<[u32; BINS]> {
    let mut out = [0u32; BINS];
    // Walk backwards twice round, so that each range knows the next full one after it.
    let mut next: Option<(usize, u32)> = None;
    for step in (0..2 * BINS).rev() {
        let i = step % BINS;
        if let Some(v) = bins[i] {
            next = Some((step, v));
        }
        if step < BINS {
            let (at, value) = next?;
            let distance = (at - step) as u64;
            out[i] = if distance == 0 {
                value
            } else {
                (mix64(u64::from(value) ^ (distance << 32)) >> 32) as u32
            };
        }
    }
    Some(out)
}

/// The Jaccard similarity of two posts from their bottom-k hashes: exact when both are
/// complete, else the share of the union's k smallest found in both.
pub fn similarity(a: &[u32], a_complete: bool, b: &[u32], b_complete: bool) -> f64 {
    let exact = a_complete && b_complete;
    let (mut i, mut j) = (0, 0);
    let (mut both, mut seen) = (0usize, 0usize);
    while (i < a.len() || j < b.len()) && (exact || seen < BOTTOM_K) {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                both += 1;
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => i += 1,
            (Some(_), None) => i += 1,
            _ => j += 1,
        }
        seen += 1;
    }
    if seen == 0 {
        return 0.0;
    }
    both as f64 / seen as f64
}

/// [`similarity`] when it is at least `threshold`, else `None` — often found before the
/// merge starts or after a fraction of it: at the start and every 16 steps the most the
/// similarity can still reach is checked against `threshold`. What a candidate is
/// verified with; most candidates share a phrase and little else.
///
/// The bound: of the hashes left, at most `min(left in a, left in b)` can still match,
/// and the union still grows by at least `max(left in a, left in b)` steps (at most to
/// the estimate's `BOTTOM_K`). At the start it is the ratio of the two sizes, which
/// turns most candidates of a different length away without reading their hashes.
pub fn similarity_at_least(
    a: &[u32],
    a_complete: bool,
    b: &[u32],
    b_complete: bool,
    threshold: f64,
) -> Option<f64> {
    const CHECK_EVERY: usize = 16;
    let cap = merge_steps(a_complete, b_complete);
    let (mut i, mut j) = (0, 0);
    let (mut both, mut seen) = (0usize, 0usize);
    loop {
        if most_similarity(both, seen, a.len() - i, b.len() - j, cap) < threshold {
            return None;
        }
        let check_at = seen + CHECK_EVERY;
        while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
            if seen >= cap || seen >= check_at {
                break;
            }
            // Counts instead of branches: which list moves is a coin toss.
            both += usize::from(x == y);
            i += usize::from(x <= y);
            j += usize::from(y <= x);
            seen += 1;
        }
        if i >= a.len() || j >= b.len() || seen >= cap {
            break;
        }
    }
    // One list is done (or the estimate is): each hash left in the other is a step
    // without a match.
    let rest = (a.len() - i) + (b.len() - j);
    seen += rest.min(cap - seen);
    let s = if seen == 0 {
        0.0
    } else {
        both as f64 / seen as f64
    };
    (s >= threshold).then_some(s)
}

/// Steps the merge of two posts' hashes takes at most: the estimate stops after
/// `BOTTOM_K`, the exact similarity (both sets complete) goes to the end.
fn merge_steps(a_complete: bool, b_complete: bool) -> usize {
    if a_complete && b_complete {
        usize::MAX
    } else {
        BOTTOM_K
    }
}

/// The most the similarity can reach after `seen` steps of the merge with `both`
/// matches, `left_a` and `left_b` hashes left and the merge stopping at `cap` steps
/// (see [`similarity_at_least`]). Infinite when nothing is left at all.
fn most_similarity(both: usize, seen: usize, left_a: usize, left_b: usize, cap: usize) -> f64 {
    let steps = left_a.max(left_b).min(cap - seen);
    let matches = left_a.min(left_b).min(steps);
    if seen + steps == 0 {
        return f64::INFINITY;
    }
    (both + matches) as f64 / (seen + steps) as f64
}

/// A kept post as the index remembers it, but for its [`Filter`].
#[derive(Debug, Clone)]
struct Kept {
    id: Digest16,
    /// Where its bottom-k hashes start in [`NearIndex::bottoms`].
    start: u64,
}

/// What a candidate is turned away by before anything else of its kept post is read:
/// every candidate's is read and few get further, so these lie apart, 16 bytes a kept
/// post (a cache line holds four), instead of among the ids.
#[derive(Debug, Clone, Copy)]
struct Filter {
    signature: u64,
    /// Its bottom-k hashes.
    len: u16,
    complete: bool,
}

/// A kept post as `--state` keeps it: enough to be found and verified by a later run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearEntry {
    pub id: Digest16,
    pub complete: bool,
    pub signature: u64,
    pub bands: [u32; BANDS],
    pub bottom: Vec<u32>,
}

/// The earlier post a near-duplicate repeats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearMatch {
    /// The kept post's id.
    pub of: Digest16,
    /// Their similarity.
    pub similarity: f64,
}

/// The kept posts of a run (and of earlier runs, from `--state`), findable by band.
#[derive(Debug, Default)]
pub struct NearIndex {
    threshold: f64,
    /// (band hash, index in `kept`).
    table: HashTable<(u32, u32)>,
    kept: Vec<Kept>,
    /// Each kept post's filter, by the same index.
    filters: Vec<Filter>,
    /// The kept posts' bottom-k hashes, one after another.
    bottoms: Vec<u32>,
    /// Each kept post's bands, only when they will be saved in a state.
    bands: Option<Vec<[u32; BANDS]>>,
    /// Kept posts loaded from the state's base (the rest are this run's).
    from_state: usize,
}

fn table_hash(band: u32) -> u64 {
    u64::from(band).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl NearIndex {
    /// An empty index judging at `threshold`; `saving` keeps what a state needs.
    pub fn new(threshold: f64, saving: bool) -> Self {
        NearIndex {
            threshold,
            bands: saving.then(Vec::new),
            ..NearIndex::default()
        }
    }

    /// Number of kept posts remembered.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether no post is remembered.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The earliest kept post whose similarity to `sketch` is at least the threshold.
    pub fn find(&self, sketch: &PostSketch) -> Option<NearMatch> {
        let mut candidates: Vec<u32> = Vec::new();
        for &band in &sketch.bands {
            candidates.extend(
                self.table
                    .iter_hash(table_hash(band))
                    .filter(|e| e.0 == band)
                    .map(|e| e.1),
            );
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().find_map(|c| {
            let filter = self.filters.get(c as usize)?;
            let matches = SIGNATURE_BITS - (filter.signature ^ sketch.signature).count_ones();
            if matches < SIGNATURE_MIN_MATCHES {
                return None;
            }
            // The merge's first check, made before the kept post's hashes are read.
            let (a, b) = (sketch.bottom.len(), usize::from(filter.len));
            let cap = merge_steps(sketch.complete, filter.complete);
            if most_similarity(0, 0, a, b, cap) < self.threshold {
                return None;
            }
            let kept = self.kept.get(c as usize)?;
            let start = usize::try_from(kept.start).ok()?;
            let bottom = self.bottoms.get(start..start + b)?;
            let s = similarity_at_least(
                &sketch.bottom,
                sketch.complete,
                bottom,
                filter.complete,
                self.threshold,
            )?;
            Some(NearMatch {
                of: kept.id,
                similarity: s,
            })
        })
    }

    /// Remembers a kept post.
    pub fn insert(&mut self, id: Digest16, sketch: &PostSketch) {
        self.insert_parts(
            id,
            sketch.complete,
            sketch.signature,
            &sketch.bands,
            &sketch.bottom,
        );
    }

    fn insert_parts(
        &mut self,
        id: Digest16,
        complete: bool,
        signature: u64,
        bands: &[u32; BANDS],
        bottom: &[u32],
    ) {
        let index = u32::try_from(self.kept.len()).unwrap_or(u32::MAX);
        let bottom = &bottom[..bottom.len().min(BOTTOM_K)];
        self.kept.push(Kept {
            id,
            start: self.bottoms.len() as u64,
        });
        self.filters.push(Filter {
            signature,
            len: bottom.len() as u16,
            complete,
        });
        self.bottoms.extend_from_slice(bottom);
        for &band in bands {
            let hash = table_hash(band);
            let crowded = self
                .table
                .iter_hash(hash)
                .filter(|e| e.0 == band)
                .nth(MAX_POSTS_PER_BAND - 1)
                .is_some();
            if !crowded {
                self.table
                    .insert_unique(hash, (band, index), |e| table_hash(e.0));
            }
        }
        if let Some(saved) = &mut self.bands {
            saved.push(*bands);
        }
    }

    /// Remembers the kept posts of earlier runs.
    pub fn preload(&mut self, entries: &[NearEntry]) {
        for e in entries {
            self.insert_parts(e.id, e.complete, e.signature, &e.bands, &e.bottom);
        }
        self.from_state = self.kept.len();
    }

    /// The kept posts to persist: those loaded (base), then this run's (delta), each in
    /// input order. Empty unless the index was made `saving`.
    pub fn to_entries(&self) -> (Vec<NearEntry>, Vec<NearEntry>) {
        let Some(bands) = &self.bands else {
            return (Vec::new(), Vec::new());
        };
        let entry = |((k, f), b): ((&Kept, &Filter), &[u32; BANDS])| {
            let start = k.start as usize;
            NearEntry {
                id: k.id,
                complete: f.complete,
                signature: f.signature,
                bands: *b,
                bottom: self.bottoms[start..start + usize::from(f.len)].to_vec(),
            }
        };
        let all: Vec<NearEntry> = self
            .kept
            .iter()
            .zip(&self.filters)
            .zip(bands)
            .map(entry)
            .collect();
        let mut base = all;
        let delta = base.split_off(self.from_state.min(base.len()));
        (base, delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// Sorted distinct hashes from a small range, so that two sets share many.
    fn hash_set() -> impl proptest::strategy::Strategy<Value = Vec<u32>> {
        proptest::collection::btree_set(0u32..400, 0..300).prop_map(|s| s.into_iter().collect())
    }

    proptest::proptest! {
        #[test]
        fn similarity_at_least_is_the_similarity_when_it_reaches_the_threshold(
            a in hash_set(),
            b in hash_set(),
            a_complete: bool,
            b_complete: bool,
            threshold in 0.0f64..=1.0,
        ) {
            let s = similarity(&a, a_complete, &b, b_complete);
            let expected = (s >= threshold).then_some(s);
            proptest::prop_assert_eq!(
                similarity_at_least(&a, a_complete, &b, b_complete, threshold),
                expected
            );
        }

        #[test]
        fn near_copies_reach_the_threshold_as_they_did(
            a in hash_set(),
            drop_every in 2usize..40,
            complete: bool,
        ) {
            // b is a with every drop_every-th hash left out: similarity near 1.
            let b: Vec<u32> = a.iter().enumerate().filter(|(i, _)| i % drop_every != 0).map(|(_, &h)| h).collect();
            let s = similarity(&a, complete, &b, complete);
            proptest::prop_assert_eq!(similarity_at_least(&a, complete, &b, complete, s), Some(s));
            proptest::prop_assert_eq!(similarity_at_least(&a, complete, &b, complete, 0.8), (s >= 0.8).then_some(s));
        }
    }

    fn sketch(paragraphs: &[&str]) -> Option<PostSketch> {
        PostSketch::of_texts(paragraphs.iter().copied())
    }

    const BODY: &str = "The central bank raised its key rate by two percentage points on \
        Friday, to sixteen percent, the highest level in almost a year, citing faster \
        inflation, a weaker rouble and a labour market that remains tight across most \
        regions of the country according to its own survey";

    #[test]
    fn short_posts_have_no_sketch() {
        assert!(sketch(&["only a few words here"]).is_none());
        assert!(sketch(&[BODY]).is_some());
    }

    #[test]
    fn the_same_words_are_similarity_one_and_a_title_lowers_it_a_little() {
        let a = sketch(&[BODY]).unwrap();
        let title = "⚡️ Breaking news from Moscow";
        let b = sketch(&[title, BODY]).unwrap();
        assert!(a.complete && b.complete);
        assert_eq!(similarity(&a.bottom, true, &a.bottom, true), 1.0);
        let s = similarity(&a.bottom, true, &b.bottom, true);
        // The body's n-grams over those and the title's (paragraphs share none).
        let (body, extra) = (
            a.bottom.len(),
            crate::text::shingle::shingles(title).hashes.len(),
        );
        // 47 words: 46 2-grams; the title's 4 words: 3.
        assert_eq!((body, extra), (46, 3));
        assert!(
            (s - body as f64 / (body + extra) as f64).abs() < 1e-9,
            "{s}"
        );
    }

    #[test]
    fn exact_similarity_counts_shared_ngrams_over_the_union() {
        let a = [1, 2, 3, 4];
        let b = [2, 3, 4, 5, 6];
        assert_eq!(similarity(&a, true, &b, true), 3.0 / 6.0);
        assert_eq!(similarity(&[], true, &b, true), 0.0);
    }

    #[test]
    fn the_estimate_looks_at_the_k_smallest_of_the_union_only() {
        let a: Vec<u32> = (0..BOTTOM_K as u32).map(|x| 2 * x).collect();
        let b: Vec<u32> = (0..BOTTOM_K as u32).map(|x| 2 * x).collect();
        assert_eq!(similarity(&a, false, &b, false), 1.0);
        // Every other hash of b shifted: of the union's 128 smallest, half are in both.
        let c: Vec<u32> = (0..BOTTOM_K as u32)
            .map(|x| if x % 2 == 0 { 2 * x } else { 2 * x + 1 })
            .collect();
        let s = similarity(&a, false, &c, false);
        assert!(s > 0.3 && s < 0.6, "{s}");
    }

    #[test]
    fn a_crowded_band_keeps_its_earliest_posts_only() {
        let mut index = NearIndex::new(0.8, true);
        let a = sketch(&[BODY]).unwrap();
        // Posts whose bands all equal `a`'s but whose n-grams share nothing with it:
        // every one a candidate of `a`, none similar.
        let decoy = |i: u32| PostSketch {
            bottom: (0..40).map(|x| 1_000_000 + i * 100 + x).collect(),
            complete: true,
            ..a.clone()
        };
        for i in 0..20u32 {
            index.insert([i as u8; 16], &decoy(i));
        }
        index.insert([99; 16], &a);
        let per_band = |band: u32| {
            index
                .table
                .iter_hash(table_hash(band))
                .filter(|e| e.0 == band)
                .count()
        };
        assert!(a.bands.iter().all(|&b| per_band(b) == MAX_POSTS_PER_BAND));
        assert_eq!(
            index.find(&a),
            None,
            "a shares only full bands: not indexed"
        );
        assert_eq!(index.len(), 21, "still kept, and saved in a state");
        // The earliest posts are the ones found.
        assert_eq!(index.find(&decoy(3)).map(|m| m.of), Some([3; 16]));
    }

    #[test]
    fn the_index_finds_the_earliest_kept_post_above_the_threshold() {
        let mut index = NearIndex::new(0.8, true);
        let a = sketch(&[BODY]).unwrap();
        let other = sketch(&["A completely different story about football, the league \
            table and the coach who left the club after a long run of defeats, with fans \
            protesting outside the stadium for the third weekend in a row now"])
        .unwrap();
        assert_eq!(index.find(&a), None);
        index.insert([1; 16], &a);
        index.insert([2; 16], &other);
        let edited = sketch(&["🔥 Срочно", BODY]).unwrap();
        let found = index.find(&edited).unwrap();
        assert_eq!(found.of, [1; 16]);
        assert!(found.similarity >= 0.8);
        assert_eq!(index.find(&other).map(|m| m.of), Some([2; 16]));
        let (base, delta) = index.to_entries();
        assert!(base.is_empty());
        assert_eq!(delta.len(), 2);
        let mut again = NearIndex::new(0.8, true);
        again.preload(&delta);
        assert_eq!(again.find(&edited).map(|m| m.of), Some([1; 16]));
        assert_eq!(again.to_entries().0, delta);
    }

    #[test]
    fn the_s_curve_passes_most_pairs_at_the_threshold_and_few_far_below() {
        assert!(candidate_probability(0.8) > 0.997);
        assert!(candidate_probability(0.85) > 0.9999);
        assert!(candidate_probability(0.5) < 0.3);
        assert!(candidate_probability(0.3) < 0.02);
    }
}
