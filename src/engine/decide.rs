//! The decide phase: judges posts in input order against everything seen before them
//! (in the run and in `--state`) and says which posts and paragraphs are written.
//!
//! [`Decider`] is the one implementation of the decisions: the fused run calls it on
//! each post as it is read, [`decide`] on the scans of all shards in shard order.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::scan::{CopyAt, ShardScan};
use crate::config::BoilerplateRule;
use crate::config::Config;
use crate::dedup::boilerplate::{Boilerplate, TemplateCounts};
use crate::dedup::digest_table::DigestTable;
use crate::dedup::near::{NearIndex, PostSketch};
use crate::dedup::state::SeenState;
use crate::dedup::{Deduper, KeyedParagraph, Repeats, Verdict};
use crate::text::normalise::Digest16;
use crate::text::post::Post;

/// The post that kept the first copy of something dropped: its id and where it was,
/// each `None` when an earlier run (`--state`) kept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FirstCopyAt {
    /// The kept post's id.
    pub id: Option<Digest16>,
    /// Where it was read.
    pub at: Option<CopyAt>,
}

/// A paragraph dropped as channel boilerplate: its index in the post, and the number of
/// its origin's posts its template occurs in.
pub type BoilerplateAt = (u32, u32);

/// What becomes of one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PostDecision {
    /// The post has no paragraph left after reading: nothing to judge or write.
    Empty,
    /// Every paragraph of the post is channel boilerplate: nothing is written.
    AllBoilerplate {
        /// Each paragraph, with its template's post count.
        boilerplate: Vec<BoilerplateAt>,
    },
    /// The post is written without the paragraphs at `dropped` (indices into its
    /// paragraphs, ascending), which were seen before, and without its boilerplate. With
    /// `--explain`, `first_copies` names, for each of `dropped`, the post that kept it;
    /// otherwise it is empty.
    Keep {
        /// Indices of the paragraphs seen before, ascending.
        dropped: Vec<u32>,
        /// With `--explain`, the first copy of each of `dropped`, in the same order.
        first_copies: Vec<FirstCopyAt>,
        /// The paragraphs dropped as channel boilerplate, ascending.
        boilerplate: Vec<BoilerplateAt>,
    },
    /// The post is a near-duplicate of an earlier kept post (SPEC §8).
    NearDuplicate {
        /// The kept post's id.
        of: Digest16,
        /// Their similarity, in thousandths (rounded).
        similarity_milli: u16,
        /// With `--explain`: where the kept post was read.
        first_copy: Option<FirstCopyAt>,
        /// The paragraphs dropped as channel boilerplate, ascending.
        boilerplate: Vec<BoilerplateAt>,
    },
    /// The post repeats an earlier one: `of` is that post's id (`None` when an earlier
    /// run kept it); `first_copy` is filled with `--explain` only.
    Duplicate {
        /// The id of the post repeated.
        of: Option<Digest16>,
        /// With `--explain`: where that post was read.
        first_copy: Option<FirstCopyAt>,
        /// The paragraphs dropped as channel boilerplate, ascending.
        boilerplate: Vec<BoilerplateAt>,
    },
}

/// The indices of a post's `n` paragraphs that are not among `boilerplate` (ascending).
fn not_boilerplate(n: usize, boilerplate: &[BoilerplateAt]) -> Vec<usize> {
    let mut gone = boilerplate.iter().map(|b| b.0 as usize).peekable();
    (0..n)
        .filter(|i| {
            if gone.peek() == Some(i) {
                gone.next();
                false
            } else {
                true
            }
        })
        .collect()
}

/// Where a post's near-duplicate sketch comes from.
#[derive(Debug, Clone, Copy)]
pub enum Sketch<'a> {
    /// Made already, without the post's channel boilerplate (on a worker); `None` for a
    /// post too short to have one, or in a run that does not look for near-duplicates.
    Made(Option<&'a PostSketch>),
    /// To be made from the n-gram summaries of its paragraphs that are not boilerplate
    /// (a scan's posts).
    FromSummaries,
    /// Not made on a worker because an earlier post had the same id
    /// ([`Post::id_seen_before`]); made here from the post, read from the input named by
    /// the `&str`, in the rare case it is needed.
    Unmade(&'a Post, &'a str),
}

/// Judges posts in input order. Holds the seen-set and, with `--explain`, where each
/// written post was read.
pub struct Decider {
    deduper: Deduper,
    explaining: bool,
    keep_duplicates: bool,
    /// The channel boilerplate rule, its counts (from `--state`, then from this run's
    /// first pass) and what was learned from them.
    rule: Option<BoilerplateRule>,
    counts: TemplateCounts,
    boilerplate: Arc<Boilerplate>,
    /// The kept posts near-duplicates are judged against; `None` when the rule is off.
    near: Option<NearIndex>,
    /// Where the written records came from, by post id (only while explaining).
    first_copies: HashMap<Digest16, CopyAt>,
    /// The run writes `--state`.
    keeps_state: bool,
    /// The ids of the posts a two-pass run's first pass saw, when posts get sketches.
    first_pass_ids: DigestTable,
    /// What the first pass's tables were last sized for.
    first_pass_room: FirstPassRoom,
}

/// The input a two-pass run's first-pass tables (template counts, posts counted, post
/// ids) were sized for, and the entries they were sized to hold. Sized up front from
/// [`INPUT_BYTES_PER_KEY`] and [`INPUT_BYTES_PER_POST`], they are sized again from what
/// the input read so far held once they outgrow that: a table left to grow by itself
/// grows a 32nd at a time, rewriting a segment each time (about 30 moves a key), and the
/// `cyrillic-short` dump holds 4.5 times the templates first made room for.
#[derive(Debug, Default, Clone, Copy)]
struct FirstPassRoom {
    input_bytes: u64,
    templates: usize,
    posts: usize,
}

impl FirstPassRoom {
    /// The entries to make room for when `len` have been counted from `read_bytes` of the
    /// input, if `len` is past the room `room` made: as many more per byte for the rest of
    /// the input as there were so far, and never more than one per 64 bytes of the input.
    /// `None` until a 64th of the input is read (a projection from less is noise) and
    /// once all of it is.
    fn projected(&self, len: usize, room: usize, read_bytes: u64) -> Option<usize> {
        let total = self.input_bytes;
        if len < room || read_bytes < total / 64 || read_bytes >= total || read_bytes == 0 {
            return None;
        }
        let at_this_rate = u128::from(total) * len as u128 / u128::from(read_bytes);
        let at_most = u128::from(total / 64);
        let projected = usize::try_from(at_this_rate.min(at_most)).unwrap_or(usize::MAX);
        (projected > len).then_some(projected)
    }
}

/// Room is made in the seen-set for one paragraph key per this many bytes of input, at
/// the start. Dumps have more (the generated one 1.55 per KiB, the real samples in
/// ../shared/realdata 1.6 to 2.9), so the set still grows on most inputs, but from near
/// its final size. An input of nothing but repeats gets room it does not use: about 2 %
/// of its size (23 bytes a slot per KiB).
const INPUT_BYTES_PER_KEY: u64 = 1024;

/// Room is made for one post id (and, with the channel boilerplate rule, one counted
/// post and one template) per this many bytes of input. The generated dump has a post
/// per 3.5 KiB, the real samples one per 0.6 to 3 KiB, so the tables mostly start at
/// their final size instead of growing to it a 32nd at a time (each growth rewrites a
/// segment: about 30 moves per key in all).
const INPUT_BYTES_PER_POST: u64 = 2048;

impl Decider {
    /// A decider for `config`, remembering what `state` saw (its keys and ids are taken
    /// over, not copied), with room for the keys of `input_bytes` of input.
    pub fn new(config: &Config, mut state: Option<SeenState>, input_bytes: u64) -> Self {
        let mut deduper = Deduper::new(config.dedup, config.min_dedup_chars);
        let mut counts = TemplateCounts::default();
        if let Some(seen) = &mut state {
            deduper.preload(seen);
            counts = TemplateCounts::from_entries(&seen.origin_posts, &seen.templates);
        }
        let near = config.near_dup().map(|threshold| {
            let mut index = NearIndex::new(threshold, config.state.is_some());
            if let Some(seen) = &state {
                index.preload(&seen.near_base);
            }
            index
        });
        let mut decider = Decider {
            deduper,
            explaining: config.explain.is_some(),
            keep_duplicates: config.keep_duplicates,
            rule: config.boilerplate,
            counts,
            boilerplate: Arc::default(),
            near,
            first_copies: HashMap::new(),
            keeps_state: config.state.is_some(),
            first_pass_ids: DigestTable::new(),
            first_pass_room: FirstPassRoom::default(),
        };
        decider.reserve_for(input_bytes);
        decider
    }

    /// Makes room in the seen-set and the template counts for the keys and posts of
    /// `input_bytes` of input.
    pub fn reserve_for(&mut self, input_bytes: u64) {
        let per = |bytes: u64| usize::try_from(input_bytes / bytes).unwrap_or(0);
        let (keys, posts) = (per(INPUT_BYTES_PER_KEY), per(INPUT_BYTES_PER_POST));
        self.deduper.reserve(keys, posts);
        if self.rule.is_some() {
            self.counts.reserve(keys, posts);
            if self.near.is_some() {
                self.first_pass_ids.reserve(posts);
            }
            self.first_pass_room = FirstPassRoom {
                input_bytes,
                templates: self.counts.len() + keys,
                posts: self.counts.posts_counted() + posts,
            };
        }
    }

    /// First pass, between batches: sizes the template counts, the posts counted and
    /// the first pass's post ids again, from what `read_bytes` of the input held, once
    /// they outgrow the room made for them (see `FirstPassRoom`).
    pub fn room_for_the_rest(&mut self, read_bytes: u64) {
        if self.rule.is_none() {
            return;
        }
        let room = self.first_pass_room;
        let templates = self.counts.len();
        if let Some(projected) = room.projected(templates, room.templates, read_bytes) {
            self.counts.reserve(projected - templates, 0);
            self.first_pass_room.templates = projected;
        }
        let posts = self.counts.posts_counted();
        if let Some(projected) = room.projected(posts, room.posts, read_bytes) {
            self.counts.reserve(0, projected - posts);
            if self.near.is_some() {
                let ids = self.first_pass_ids.len();
                self.first_pass_ids.reserve(projected.saturating_sub(ids));
            }
            self.first_pass_room.posts = projected;
        }
    }

    /// Remembers only the run's `repeats` (counted before the run is judged): the
    /// decisions are the same, the seen-set holds the repeats instead of every key. Does
    /// nothing in a run with `--state`, which keeps every key.
    pub fn expect_repeats(&mut self, repeats: &Repeats) {
        if !self.keeps_state {
            self.deduper.expect_repeats(repeats);
        }
    }

    /// Whether the boilerplate rule needs a first pass over the whole run.
    pub fn counts_templates(&self) -> bool {
        self.rule.is_some()
    }

    /// First pass: counts the templates of a post of `origin`. A post an earlier run saw
    /// (`--state`) was counted then.
    pub fn count<P: KeyedParagraph>(&mut self, id: Digest16, origin: u64, paragraphs: &[P]) {
        if self.rule.is_none() || paragraphs.is_empty() || self.deduper.knows_post(&id) {
            return;
        }
        self.counts
            .add_post(origin, id, paragraphs.iter().map(|p| p.template()));
    }

    /// First pass, in input order: whether an earlier post of the run or of `--state` has
    /// the id `id` (see [`Post::id_seen_before`]). Always `false` in a run that makes no
    /// near-duplicate sketches.
    pub fn id_seen_before(&mut self, id: Digest16) -> bool {
        self.near.is_some()
            && (self.deduper.knows_post(&id) || self.first_pass_ids.insert(id, 0).is_some())
    }

    /// Makes room in the seen-set for `keys` new paragraph keys in all (those it holds
    /// included): a two-pass run's estimate of what its second pass remembers.
    pub fn reserve_keys(&mut self, keys: usize) {
        self.deduper.reserve_in_all(keys);
    }

    /// Whether an earlier run (`--state`) saw the paragraph key `key`: such a key is
    /// never added to the seen-set again.
    pub fn state_knows_key(&self, key: &Digest16) -> bool {
        self.deduper.state_knows_key(key)
    }

    /// Starts loading what judging the post with id `id` and these paragraphs will look
    /// up in the seen-set: call a post ahead.
    pub fn prefetch<P: KeyedParagraph>(&self, id: &Digest16, paragraphs: &[P]) {
        self.deduper.prefetch(id, paragraphs);
    }

    /// Learns the boilerplate from what was counted; call between the passes.
    pub fn learn(&mut self) {
        if let Some(rule) = &self.rule {
            self.boilerplate = Arc::new(self.counts.learn(rule));
        }
        // Only the first pass asks for them.
        self.first_pass_ids = DigestTable::new();
    }

    /// What was learned, for the workers that sketch posts without their boilerplate;
    /// `None` when no post needs a sketch.
    pub fn sketcher(&self) -> Option<PostSketcher> {
        self.near.as_ref()?;
        Some(PostSketcher {
            boilerplate: Arc::clone(&self.boilerplate),
        })
    }

    fn first_copy(&self, id: Option<Digest16>) -> FirstCopyAt {
        FirstCopyAt {
            id,
            at: id.and_then(|i| self.first_copies.get(&i)).copied(),
        }
    }

    /// Judges the post with id `id`, of `origin`, with these paragraphs, read at `at`,
    /// and near-duplicate sketch `sketch`: first its channel boilerplate, then exact
    /// and near-duplicate posts, then dedup over the rest. Call in input order.
    pub fn decide<P: KeyedParagraph>(
        &mut self,
        id: Digest16,
        origin: u64,
        paragraphs: &[P],
        at: CopyAt,
        sketch: Sketch<'_>,
    ) -> PostDecision {
        if paragraphs.is_empty() {
            return PostDecision::Empty;
        }
        let boilerplate: Vec<BoilerplateAt> = if self.boilerplate.is_empty() {
            Vec::new()
        } else {
            paragraphs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let posts = self.boilerplate.posts_of(origin, p.template())?;
                    Some((u32::try_from(i).unwrap_or(u32::MAX), posts))
                })
                .collect()
        };
        if boilerplate.len() == paragraphs.len() {
            return PostDecision::AllBoilerplate { boilerplate };
        }
        if let Some(mut near) = self.near_duplicate(id, paragraphs, &boilerplate, at, sketch) {
            if let PostDecision::NearDuplicate { boilerplate: b, .. } = &mut near {
                *b = boilerplate;
            }
            return near;
        }
        // The paragraphs dedup judges, and their indices in the post.
        let (verdict, judged): (Verdict, Vec<usize>) = if boilerplate.is_empty() {
            (
                self.deduper.judge_keys(id, paragraphs),
                (0..paragraphs.len()).collect(),
            )
        } else {
            let judged = not_boilerplate(paragraphs.len(), &boilerplate);
            let rest: Vec<&P> = judged.iter().filter_map(|&i| paragraphs.get(i)).collect();
            (self.deduper.judge_keys(id, &rest), judged)
        };
        let decision = match verdict {
            Verdict::Keep { keep } => {
                let dropped: Vec<u32> = keep
                    .iter()
                    .zip(&judged)
                    .filter(|(k, _)| !**k)
                    .map(|(_, &i)| u32::try_from(i).unwrap_or(u32::MAX))
                    .collect();
                let first_copies = if self.explaining {
                    dropped
                        .iter()
                        .filter_map(|&i| paragraphs.get(i as usize))
                        .map(|p| self.first_copy(self.deduper.first_owner_of_key(p.key())))
                        .collect()
                } else {
                    Vec::new()
                };
                PostDecision::Keep {
                    dropped,
                    first_copies,
                    boilerplate,
                }
            }
            Verdict::Duplicate { of } => PostDecision::Duplicate {
                of,
                first_copy: self.explaining.then(|| self.first_copy(of)),
                boilerplate,
            },
        };
        // A written record is the first copy of its id from here on: a kept post, or a
        // duplicate written (`--keep-duplicates`) whose first copy no record names.
        let written_first = match &decision {
            PostDecision::Keep { .. } => true,
            PostDecision::Duplicate { of, .. } => self.keep_duplicates && of.is_none(),
            PostDecision::Empty
            | PostDecision::AllBoilerplate { .. }
            | PostDecision::NearDuplicate { .. } => false,
        };
        if self.explaining && written_first {
            self.first_copies.entry(id).or_insert(at);
        }
        decision
    }

    /// Rule 2 of SPEC §8 for a post whose id was not seen: the near-duplicate decision
    /// (its boilerplate left for the caller to fill in), or `None` after remembering
    /// the post as kept when it is not one. Posts too short for a sketch are neither.
    fn near_duplicate<P: KeyedParagraph>(
        &mut self,
        id: Digest16,
        paragraphs: &[P],
        boilerplate: &[BoilerplateAt],
        at: CopyAt,
        sketch: Sketch<'_>,
    ) -> Option<PostDecision> {
        if self.near.is_none() || self.deduper.knows_post(&id) {
            return None;
        }
        let made;
        let sketch = match sketch {
            Sketch::Made(sketch) => sketch?,
            Sketch::Unmade(post, file) => {
                made = sketch_without_boilerplate(&self.boilerplate, post, file)?;
                &made
            }
            Sketch::FromSummaries => {
                let rest: Vec<(u32, &[u32])> = not_boilerplate(paragraphs.len(), boilerplate)
                    .into_iter()
                    .filter_map(|i| paragraphs.get(i))
                    .map(|p| (p.words(), p.shingles()))
                    .collect();
                made = PostSketch::of(rest.iter().copied())?;
                &made
            }
        };
        let found = self.near.as_ref()?.find(sketch);
        match found {
            Some(found) => Some(PostDecision::NearDuplicate {
                of: found.of,
                similarity_milli: (found.similarity * 1000.0).round() as u16,
                first_copy: self.explaining.then(|| self.first_copy(Some(found.of))),
                boilerplate: Vec::new(),
            }),
            None => {
                if let Some(near) = self.near.as_mut() {
                    near.insert(id, sketch);
                }
                if self.explaining {
                    self.first_copies.entry(id).or_insert(at);
                }
                None
            }
        }
    }

    /// First pass over a scan: counts its posts' templates (see [`Decider::count`]).
    pub fn count_scan(&mut self, scan: &ShardScan) {
        for p in &scan.posts {
            self.count(p.id, p.origin, &p.paragraphs);
        }
    }

    /// Judges a scan's posts, in order; call on the scans in shard order.
    pub fn decide_scan(&mut self, scan: &ShardScan) -> ShardDecisions {
        ShardDecisions {
            shard: scan.shard,
            posts: scan
                .posts
                .iter()
                .map(|p| self.decide(p.id, p.origin, &p.paragraphs, p.at(), Sketch::FromSummaries))
                .collect(),
        }
    }

    /// The seen-set, template counts and kept posts' sketches to persist after the run.
    /// The keys loaded from the state are handed over: call once, at the end.
    pub fn take_state(&mut self) -> SeenState {
        let mut state = self.deduper.take_state();
        if self.rule.is_some() {
            (state.origin_posts, state.templates) = self.counts.to_entries();
        }
        if let Some(near) = &self.near {
            (state.near_base, state.near_delta) = near.to_entries();
        }
        state
    }
}

/// Makes posts' near-duplicate sketches on a worker, leaving out each post's channel
/// boilerplate as the decider learned it.
#[derive(Debug, Clone)]
pub struct PostSketcher {
    boilerplate: Arc<Boilerplate>,
}

impl PostSketcher {
    /// Gives `post`, read from the input named `file`, its sketch, unless an earlier
    /// post had its id (the decider makes it then, if it needs it).
    pub fn sketch(&self, post: &mut Post, file: &str) {
        if !post.id_seen_before {
            post.sketch = sketch_without_boilerplate(&self.boilerplate, post, file).map(Box::new);
        }
    }
}

/// The sketch of `post`, read from the input named `file`, without its channel
/// boilerplate; `None` for a post too short to have one.
fn sketch_without_boilerplate(
    boilerplate: &Boilerplate,
    post: &Post,
    file: &str,
) -> Option<PostSketch> {
    let origin = super::scan::origin_hash(post, file);
    let kept = post
        .paragraphs
        .iter()
        .filter(|p| boilerplate.posts_of(origin, p.template).is_none())
        .map(|p| post.text_of(p));
    PostSketch::of_texts(kept)
}

/// The decisions for one shard's posts, in the order of its scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDecisions {
    /// The shard these decisions are for.
    pub shard: u32,
    /// One decision per scanned post, in scan order.
    pub posts: Vec<PostDecision>,
}

/// What [`decide`] gives: each shard's decisions, and the seen-set to persist.
#[derive(Debug, Default)]
pub struct Decisions {
    /// One entry per shard, in shard order.
    pub shards: Vec<ShardDecisions>,
    /// The seen-set to persist after the run (`--state`).
    pub state: SeenState,
}

/// Decides over the scans of all shards, in shard order, after what `state` saw.
///
/// ```
/// use tgclean::engine::{decide, PostDecision, PostScan, ScanParagraph, ShardScan};
/// let para = ScanParagraph { key: [7; 16], key_chars: 40, template: 7, ..ScanParagraph::default() };
/// let post = |order| PostScan { order, id: [1; 16], paragraphs: vec![para.clone()], ..PostScan::default() };
/// let scan = ShardScan { shard: 0, posts: vec![post(0), post(1)], ..ShardScan::default() };
/// let d = decide(&tgclean::Config::default(), &[scan], None);
/// assert!(matches!(d.shards[0].posts[0], PostDecision::Keep { .. }));
/// assert!(matches!(d.shards[0].posts[1], PostDecision::Duplicate { .. }));
/// ```
pub fn decide(config: &Config, scans: &[ShardScan], state: Option<SeenState>) -> Decisions {
    decide_expecting(config, scans, state, None)
}

/// [`decide`], told the run's `repeats` when they were counted apart (by a cluster's
/// aggregation): the same decisions, with a seen-set of the repeats only (in runs without
/// `--state`).
pub fn decide_expecting(
    config: &Config,
    scans: &[ShardScan],
    state: Option<SeenState>,
    repeats: Option<&Repeats>,
) -> Decisions {
    // A seen-set told the repeats holds those only: no room for every key.
    let input_bytes = match repeats {
        Some(_) if config.state.is_none() => 0,
        _ => scans.iter().map(|s| s.bytes).sum(),
    };
    let mut decider = Decider::new(config, state, input_bytes);
    if let Some(repeats) = repeats {
        decider.expect_repeats(repeats);
    }
    if decider.counts_templates() {
        scans.iter().for_each(|scan| decider.count_scan(scan));
        decider.learn();
    }
    let shards = scans.iter().map(|scan| decider.decide_scan(scan)).collect();
    Decisions {
        shards,
        state: decider.take_state(),
    }
}

#[cfg(test)]
mod tests {
    use super::FirstPassRoom;

    const ROOM: FirstPassRoom = FirstPassRoom {
        input_bytes: 64_000,
        templates: 100,
        posts: 10,
    };

    #[test]
    fn room_is_projected_once_outgrown_at_the_rate_read_so_far() {
        // 200 templates in a quarter of the input: 800 at that rate.
        assert_eq!(ROOM.projected(200, 100, 16_000), Some(800));
        // Within the room made: nothing to do.
        assert_eq!(ROOM.projected(99, 100, 16_000), None);
    }

    #[test]
    fn no_projection_from_too_little_or_all_of_the_input() {
        assert_eq!(ROOM.projected(200, 100, 999), None, "under a 64th read");
        assert_eq!(ROOM.projected(200, 100, 64_000), None, "all of it read");
        assert_eq!(
            ROOM.projected(200, 100, 90_000),
            None,
            "more than announced"
        );
        let empty = FirstPassRoom::default();
        assert_eq!(empty.projected(5, 0, 0), None, "no input size known");
    }

    #[test]
    fn projection_is_capped_at_one_entry_per_64_bytes() {
        // 900 entries from 2,000 bytes would project 28,800; the cap is 1,000.
        assert_eq!(ROOM.projected(900, 100, 2_000), Some(1_000));
        // At the cap already: nothing more.
        assert_eq!(ROOM.projected(1_000, 100, 2_000), None);
    }
}
