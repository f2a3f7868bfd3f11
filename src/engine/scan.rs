//! The scan phase: reads one shard and keeps, per post, only what the decisions need —
//! its place in the input order, id, origin, paragraph keys and n-gram summaries. Pure: no seen-set, no
//! output, so the shards of a run can be scanned anywhere, in any order, at once.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::plan::{Plan, Shard};
use super::read::{InputAt, PostSink, ShardReader, worker_pool};
use crate::config::{Config, Format};
use crate::dedup::KeyedParagraph;
use crate::error::Error;
use crate::text::normalise::Digest16;
use crate::text::post::Post;
use crate::text::shingle::{Shingles, shingles};

/// Where a post was read: what `--explain` names as the first copy of a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyAt {
    /// Index of the input in the run's discovered inputs ([`super::Plan::sources`]).
    pub file: u32,
    /// The format the input was read as.
    pub format: Format,
    /// Line of the post in the input, for line-based inputs.
    pub line: Option<u64>,
    /// Message id, for exports and scrapers.
    pub message_id: Option<i64>,
}

/// One paragraph of a scanned post: what dedup compares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanParagraph {
    /// The paragraph's key digest.
    pub key: Digest16,
    /// Length of the key in characters, compared with `--min-dedup-chars`.
    pub key_chars: u32,
    /// The key without links, mentions and e-mails, as channel boilerplate counts it
    /// ([`crate::text::template::template_id`]).
    pub template: u64,
    /// Words in the paragraph (counted when near-duplicates are looked for).
    #[serde(default)]
    pub words: u32,
    /// Its word n-gram summary ([`crate::text::shingle`]): the near-duplicate sketch is
    /// made from the summaries of the paragraphs that are not boilerplate.
    #[serde(default)]
    pub shingles: Vec<u32>,
}

impl KeyedParagraph for ScanParagraph {
    fn key(&self) -> &Digest16 {
        &self.key
    }

    fn key_chars(&self) -> usize {
        self.key_chars as usize
    }

    fn template(&self) -> u64 {
        self.template
    }

    fn words(&self) -> u32 {
        self.words
    }

    fn shingles(&self) -> &[u32] {
        &self.shingles
    }
}

/// One post as the decide phase sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostScan {
    /// Place in the global input order: the shard index in the high 24 bits, the post's
    /// index within the shard in the low 40. Orders compare as the input does.
    pub order: u64,
    /// The post id (SPEC §5).
    pub id: Digest16,
    /// Index of the input in [`Plan::sources`].
    pub file: u32,
    /// The format the input was read as.
    pub format: Format,
    /// Line of the post in the input, for line-based inputs.
    pub line: Option<u64>,
    /// Message id, for exports and scrapers.
    pub message_id: Option<i64>,
    /// First 8 bytes of SHA-256 over the post's origin (SPEC §7: its forward source,
    /// else its channel, else its input file), a channel name tagged apart from a file.
    pub origin: u64,
    /// The paragraphs left after within-post dedup, in order.
    pub paragraphs: Vec<ScanParagraph>,
}

impl PostScan {
    /// Where the post was read.
    pub fn at(&self) -> CopyAt {
        CopyAt {
            file: self.file,
            format: self.format,
            line: self.line,
            message_id: self.message_id,
        }
    }
}

/// Bits of [`PostScan::order`] that number the posts of one shard.
pub const ORDER_POST_BITS: u32 = 40;

/// The scan of one shard: its posts in input order, and the input bytes it covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardScan {
    /// Index of the shard in the plan.
    pub shard: u32,
    /// Input bytes read.
    pub bytes: u64,
    /// Every post read, in input order.
    pub posts: Vec<PostScan>,
}

/// The origin of a post (SPEC §7), hashed: forward source, else channel, else file. A
/// post forwarded from a channel has the origin of that channel's own posts.
pub fn origin_hash(post: &Post, file: &str) -> u64 {
    let (tag, name): (&[u8], &str) = match (&post.forwarded_from, &post.channel) {
        (Some(f), _) => (b"c", f),
        (None, Some(c)) => (b"c", c),
        (None, None) => (b"i", file),
    };
    let digest = Sha256::new()
        .chain_update(tag)
        .chain_update(name.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(head)
}

struct ScanSink {
    shard: u32,
    posts: Vec<PostScan>,
    /// Summarise each paragraph's n-grams (the run looks for near-duplicates).
    summarise: bool,
}

impl PostSink for ScanSink {
    fn posts(&mut self, at: InputAt<'_>, posts: Vec<Post>) -> Result<(), Error> {
        for post in posts {
            let index = self.posts.len() as u64;
            self.posts.push(PostScan {
                order: (u64::from(self.shard) << ORDER_POST_BITS) | index,
                id: post.id,
                file: at.index,
                format: at.format,
                line: post.line,
                message_id: post.message_id,
                origin: origin_hash(&post, at.name),
                paragraphs: post
                    .paragraphs
                    .iter()
                    .map(|p| {
                        let summary = if self.summarise {
                            shingles(post.text_of(p))
                        } else {
                            Shingles::default()
                        };
                        ScanParagraph {
                            key: p.key,
                            key_chars: p.key_chars,
                            template: p.template,
                            words: summary.words,
                            shingles: summary.hashes,
                        }
                    })
                    .collect(),
            });
        }
        Ok(())
    }
}

/// Scans one shard of `plan`. Input problems are not reported here: the emit phase of
/// the same shard meets and reports them.
///
/// ```no_run
/// let config = tgclean::Config::default();
/// let plan = tgclean::engine::plan(&config, 4)?;
/// for shard in &plan.shards {
///     let scan = tgclean::engine::scan(&config, &plan, shard)?;
///     println!("shard {}: {} posts", scan.shard, scan.posts.len());
/// }
/// # Ok::<(), tgclean::Error>(())
/// ```
pub fn scan(config: &Config, plan: &Plan, shard: &Shard) -> Result<ShardScan, Error> {
    let pool = worker_pool(config.threads)?;
    let sink = ScanSink {
        shard: shard.index,
        posts: Vec::new(),
        summarise: config.near_dup().is_some(),
    };
    let mut reader = ShardReader::new(config, &pool, sink, false);
    reader.read_pieces(&plan.sources, &shard.pieces)?;
    Ok(ShardScan {
        shard: shard.index,
        bytes: reader.stats.bytes,
        posts: reader.sink.posts,
    })
}
