//! Channel boilerplate (SPEC §7): counts, per origin, the distinct posts each paragraph
//! template occurs in, and learns from the counts which templates are the origin's
//! repeated blocks.
//!
//! Templates and origins are kept as 8-byte prefixes of their SHA-256 digests: a count
//! costs 20 bytes of payload (origin, template, count), 20–24 resident in a
//! [`DigestTable`]; each post counted costs as much again (its origin and id, to count an
//! exact repeat once).

use std::collections::HashMap;

use crate::dedup::digest_table::{self, DigestTable};
use crate::text::normalise::Digest16;

/// Default of `--boilerplate-min-posts`.
pub const DEFAULT_MIN_POSTS: u32 = 5;
/// Default of `--boilerplate-min-share`.
pub const DEFAULT_MIN_SHARE: f64 = 0.01;

/// When a template is boilerplate of its origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoilerplateRule {
    /// Distinct posts of the origin it must occur in (at least 2).
    pub min_posts: u32,
    /// Share of the origin's distinct posts it must occur in.
    pub min_share: f64,
}

impl Default for BoilerplateRule {
    fn default() -> Self {
        BoilerplateRule {
            min_posts: DEFAULT_MIN_POSTS,
            min_share: DEFAULT_MIN_SHARE,
        }
    }
}

impl BoilerplateRule {
    /// Whether a template found in `count` of an origin's `posts` distinct posts is
    /// boilerplate: always at ≥ 30 % and ≥ 10 posts (SPEC §7), never in one post, and
    /// in between when it passes both thresholds of the rule.
    pub fn is_boilerplate(&self, count: u32, posts: u32) -> bool {
        if count < 2 {
            return false;
        }
        let share = f64::from(count) / f64::from(posts.max(1));
        (count >= 10 && share >= 0.3) || (count >= self.min_posts.max(2) && share >= self.min_share)
    }
}

/// An origin's hash and its distinct posts.
pub type OriginPosts = (u64, u32);
/// An origin's hash, a template's hash, and the distinct posts of the origin it is in.
pub type TemplatePosts = (u64, u64, u32);

/// A (origin, template) pair as a table key: the template first, whose bits are spread
/// evenly (the table places keys by their first bits).
fn template_key(origin: u64, template: u64) -> Digest16 {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&template.to_be_bytes());
    key[8..].copy_from_slice(&origin.to_be_bytes());
    key
}

/// The (origin, template) pair of a table key.
fn template_of(key: &Digest16) -> (u64, u64) {
    let half = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&key[i..i + 8]);
        u64::from_be_bytes(b)
    };
    (half(8), half(0))
}

/// A (origin, post id) pair as a table key: the id with its first half mixed with the
/// origin. The same id under two origins gives two keys (the mix is a bijection of the
/// origin); two different ids collide only if their last 8 bytes are equal as well.
fn counted_key(origin: u64, id: &Digest16) -> Digest16 {
    let mut key = *id;
    let mix = origin.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes();
    for (k, m) in key.iter_mut().zip(mix) {
        *k ^= m;
    }
    key
}

/// Counts of distinct posts per origin and per (origin, template).
#[derive(Debug, Clone, Default)]
pub struct TemplateCounts {
    posts: HashMap<u64, u32>,
    /// (origin, template) pairs ([`template_key`]) → distinct posts.
    templates: DigestTable,
    /// (origin, post id) pairs ([`counted_key`]) counted in this run: an exact duplicate
    /// post counts once.
    counted: DigestTable,
}

impl TemplateCounts {
    /// Counts a post of `origin` with id `id` and these paragraph templates, unless the
    /// same post of the same origin was counted before.
    pub fn add_post(
        &mut self,
        origin: u64,
        id: Digest16,
        templates: impl IntoIterator<Item = u64>,
    ) {
        if self.counted.insert(counted_key(origin, &id), 0).is_some() {
            return;
        }
        *self.posts.entry(origin).or_default() += 1;
        let mut distinct: Vec<u64> = templates.into_iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        for t in distinct {
            let key = template_key(origin, t);
            match self.templates.get_mut(&key) {
                Some(n) => *n = n.saturating_add(1).min(digest_table::VACANT - 1),
                None => {
                    self.templates.insert(key, 1);
                }
            }
        }
    }

    /// Makes room for `templates` more (origin, template) pairs and `posts` more posts
    /// counted.
    pub fn reserve(&mut self, templates: usize, posts: usize) {
        self.templates.reserve(templates);
        self.counted.reserve(posts);
    }

    /// The templates that `rule` makes boilerplate, with their counts.
    pub fn learn(&self, rule: &BoilerplateRule) -> Boilerplate {
        let templates = self
            .templates
            .iter()
            .map(|(key, count)| (template_of(key), count))
            .filter(|((origin, _), count)| {
                rule.is_boilerplate(*count, self.posts.get(origin).copied().unwrap_or(0))
            })
            .collect();
        Boilerplate { templates }
    }

    /// Distinct posts counted (an exact repeat of a post of the same origin once).
    pub fn posts_counted(&self) -> usize {
        self.counted.len()
    }

    /// Distinct templates counted.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The counts to persist: per origin its posts, per template its posts; both sorted.
    pub fn to_entries(&self) -> (Vec<OriginPosts>, Vec<TemplatePosts>) {
        let mut posts: Vec<(u64, u32)> = self.posts.iter().map(|(o, c)| (*o, *c)).collect();
        posts.sort_unstable();
        let mut templates: Vec<(u64, u64, u32)> = self
            .templates
            .iter()
            .map(|(key, c)| {
                let (o, t) = template_of(key);
                (o, t, c)
            })
            .collect();
        templates.sort_unstable();
        (posts, templates)
    }

    /// Counts read back from a state (the posts they came from are not known any more).
    pub fn from_entries(posts: &[(u64, u32)], templates: &[(u64, u64, u32)]) -> Self {
        let mut table = DigestTable::new();
        table.reserve(templates.len());
        for (o, t, c) in templates {
            table.insert(template_key(*o, *t), *c);
        }
        TemplateCounts {
            posts: posts.iter().copied().collect(),
            templates: table,
            counted: DigestTable::new(),
        }
    }
}

/// The learned boilerplate: (origin, template) → the distinct posts it occurs in.
#[derive(Debug, Clone, Default)]
pub struct Boilerplate {
    templates: HashMap<(u64, u64), u32>,
}

impl Boilerplate {
    /// The post count of `template` in `origin` when it is boilerplate there.
    pub fn posts_of(&self, origin: u64, template: u64) -> Option<u32> {
        if self.templates.is_empty() {
            return None;
        }
        self.templates.get(&(origin, template)).copied()
    }

    /// Templates learned.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether none was learned.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_obligations_hold_for_any_rule() {
        let strict = BoilerplateRule {
            min_posts: 1000,
            min_share: 1.0,
        };
        let loose = BoilerplateRule {
            min_posts: 2,
            min_share: 0.0,
        };
        for rule in [strict, loose, BoilerplateRule::default()] {
            assert!(rule.is_boilerplate(10, 33), "≥ 30 % and ≥ 10");
            assert!(!rule.is_boilerplate(1, 1), "one post only");
            assert!(!rule.is_boilerplate(1, 3), "one post only");
        }
        assert!(!strict.is_boilerplate(9, 10));
        assert!(loose.is_boilerplate(2, 1000));
    }

    #[test]
    fn default_rule_between_the_obligations() {
        let rule = BoilerplateRule::default();
        // Naked Science's podcast list: 18 of 967 posts.
        assert!(rule.is_boilerplate(18, 967));
        assert!(!rule.is_boilerplate(4, 40), "below the post minimum");
        assert!(!rule.is_boilerplate(5, 1000), "below the share minimum");
        assert!(rule.is_boilerplate(5, 40));
    }

    #[test]
    fn table_keys_give_back_their_pairs() {
        for (o, t) in [
            (0, 0),
            (u64::MAX, 1),
            (7, u64::MAX),
            (0x0123_4567, 0x89AB_CDEF),
        ] {
            assert_eq!(template_of(&template_key(o, t)), (o, t));
        }
        let id = [3u8; 16];
        assert_ne!(counted_key(1, &id), counted_key(2, &id));
        assert_eq!(counted_key(0, &id), id);
    }

    #[test]
    fn a_post_counts_once_and_a_template_once_per_post() {
        let mut c = TemplateCounts::default();
        let footer = 9u64;
        let body = |i: u8| u64::from(i);
        for i in 0..6u8 {
            // Each post has the footer twice and its own body.
            c.add_post(1, [i; 16], [footer, body(i), footer]);
        }
        // The same post again (an exact repeat) and another origin's post.
        c.add_post(1, [0; 16], [footer]);
        c.add_post(2, [0; 16], [footer]);
        let learned = c.learn(&BoilerplateRule::default());
        assert_eq!(learned.posts_of(1, footer), Some(6));
        assert_eq!(learned.posts_of(2, footer), None, "one post in origin 2");
        assert_eq!(learned.posts_of(1, body(3)), None);
        let (posts, templates) = c.to_entries();
        let back = TemplateCounts::from_entries(&posts, &templates);
        assert_eq!(back.learn(&BoilerplateRule::default()).len(), learned.len());
    }
}
