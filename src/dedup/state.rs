//! The persistent seen-set of `--state`: a versioned, checksummed binary file of paragraph
//! keys and post ids, 16 bytes each.
//!
//! Layout (integers little-endian):
//!
//! ```text
//!  0  magic        b"TGCLSEEN"
//!  8  version      u32 = 1
//! 12  key length   u8 = 16, then 3 zero bytes
//! 16  counts       u64 × 4: base keys, delta keys, base posts, delta posts
//! 48  output hash  32 bytes: SHA-256 of the output file the delta was written with (zeros: none)
//! 80  checksum     16 bytes: SHA-256 prefix of every byte after the header
//! 96  path length  u16, then the output path (UTF-8)
//!     body         base keys, delta keys, base posts, delta posts; each section sorted
//!     boilerplate  (version ≥ 2) u64 origins, u64 templates, then per origin its hash
//!                  (u64) and distinct posts (u32), then per template its origin hash
//!                  (u64), hash (u64) and distinct posts (u32); both sorted
//!     near-dup     (version 3) u64 base posts, u64 delta posts, then per kept post its
//!                  id (16 bytes), flags (u8: 1 = its n-grams are all there), n-gram
//!                  count (u8), signature (u64), 20 band hashes (u32) and its smallest
//!                  n-gram hashes (u32), in the order the posts were kept
//! ```
//!
//! A template costs 20 bytes in the file, an origin 12, a kept post of near-duplicate
//! detection 106 + 4 per n-gram kept (at most 128): 226 to 618 bytes for a post of 30
//! words or more. Version 1 and 2
//! files are read: their keys, ids (and templates) are kept, and what they lack starts
//! from nothing.
//!
//! *Delta* is what the last run added. It counts only if the output written with it is
//! the file at that path now: when a run is killed after renaming the state but before
//! renaming its output, the next run sees the old output and falls back to the base,
//! so the seen-set and the output can never be out of step.

use sha2::{Digest as _, Sha256};

use crate::dedup::near::{BANDS, NearEntry};
use crate::text::normalise::{DIGEST_LEN, Digest16};

pub const MAGIC: &[u8; 8] = b"TGCLSEEN";
pub const VERSION: u32 = 3;
/// The first version, without channel boilerplate counts: still read (its keys and ids
/// kept, no templates), rewritten as the current version.
pub const VERSION_1: u32 = 1;
/// The version without near-duplicate sketches: still read.
pub const VERSION_2: u32 = 2;
const HEADER_LEN: usize = 96;

/// Why a state file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("not a tgclean state file (bad magic bytes)")]
    Foreign,
    #[error("state file version {0} is not supported (this tgclean reads version {VERSION})")]
    Version(u32),
    #[error("state file has {0}-byte keys, this tgclean uses {DIGEST_LEN}")]
    KeyLength(u8),
    #[error(
        "state file is truncated or has trailing bytes: {actual} bytes, header says {expected}"
    )]
    Size { expected: u64, actual: u64 },
    #[error("state file checksum does not match: the file is corrupt")]
    Checksum,
}

/// The two generations of a state file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenState {
    pub base_keys: Vec<Digest16>,
    pub delta_keys: Vec<Digest16>,
    pub base_posts: Vec<Digest16>,
    pub delta_posts: Vec<Digest16>,
    /// SHA-256 of the output written together with the delta, and its path.
    pub output: Option<([u8; 32], String)>,
    /// Channel boilerplate counts: distinct posts per origin (origin hash, posts).
    pub origin_posts: Vec<(u64, u32)>,
    /// Distinct posts per (origin hash, template hash).
    pub templates: Vec<(u64, u64, u32)>,
    /// The kept posts near-duplicates are judged against, earlier runs' then the last
    /// run's, each in the order they were kept.
    pub near_base: Vec<NearEntry>,
    pub near_delta: Vec<NearEntry>,
}

impl SeenState {
    /// Folds the delta into the base (the output it belongs with is in place).
    pub fn accept_delta(&mut self) {
        self.base_keys.append(&mut self.delta_keys);
        self.base_posts.append(&mut self.delta_posts);
        self.near_base.append(&mut self.near_delta);
        self.output = None;
    }

    /// Drops the delta (its output never landed).
    pub fn reject_delta(&mut self) {
        self.delta_keys.clear();
        self.delta_posts.clear();
        self.near_delta.clear();
        self.output = None;
        // The counts are not kept in generations: the run whose output never landed
        // counted into them, and its posts will be counted again. Channel boilerplate
        // is learned afresh from the next run's inputs.
        self.origin_posts.clear();
        self.templates.clear();
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn digests(body: &[u8]) -> Vec<Digest16> {
    body.chunks_exact(DIGEST_LEN)
        .map(|c| {
            let mut d = [0u8; DIGEST_LEN];
            d.copy_from_slice(c);
            d
        })
        .collect()
}

/// Serialises a state; each section is sorted so the same seen-set gives the same bytes.
pub fn encode(state: &mut SeenState) -> Vec<u8> {
    for v in [
        &mut state.base_keys,
        &mut state.delta_keys,
        &mut state.base_posts,
        &mut state.delta_posts,
    ] {
        v.sort_unstable();
    }
    let (hash, path) = match &state.output {
        Some((h, p)) => (*h, p.as_str()),
        None => ([0u8; 32], ""),
    };
    let path = &path.as_bytes()[..path.len().min(u16::MAX as usize)];
    let body_len = 2
        + path.len()
        + DIGEST_LEN
            * (state.base_keys.len()
                + state.delta_keys.len()
                + state.base_posts.len()
                + state.delta_posts.len());
    let mut out = Vec::with_capacity(HEADER_LEN + body_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&[DIGEST_LEN as u8, 0, 0, 0]);
    for n in [
        state.base_keys.len(),
        state.delta_keys.len(),
        state.base_posts.len(),
        state.delta_posts.len(),
    ] {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    out.extend_from_slice(&hash);
    out.extend_from_slice(&[0u8; DIGEST_LEN]); // checksum, filled in below
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(path);
    for section in [
        &state.base_keys,
        &state.delta_keys,
        &state.base_posts,
        &state.delta_posts,
    ] {
        for d in section.iter() {
            out.extend_from_slice(d);
        }
    }
    state.origin_posts.sort_unstable();
    state.templates.sort_unstable();
    out.extend_from_slice(&(state.origin_posts.len() as u64).to_le_bytes());
    out.extend_from_slice(&(state.templates.len() as u64).to_le_bytes());
    for (origin, posts) in &state.origin_posts {
        out.extend_from_slice(&origin.to_le_bytes());
        out.extend_from_slice(&posts.to_le_bytes());
    }
    for (origin, template, posts) in &state.templates {
        out.extend_from_slice(&origin.to_le_bytes());
        out.extend_from_slice(&template.to_le_bytes());
        out.extend_from_slice(&posts.to_le_bytes());
    }
    out.extend_from_slice(&(state.near_base.len() as u64).to_le_bytes());
    out.extend_from_slice(&(state.near_delta.len() as u64).to_le_bytes());
    for e in state.near_base.iter().chain(&state.near_delta) {
        out.extend_from_slice(&e.id);
        out.push(u8::from(e.complete));
        let bottom = &e.bottom[..e.bottom.len().min(usize::from(u8::MAX))];
        out.push(bottom.len() as u8);
        out.extend_from_slice(&e.signature.to_le_bytes());
        for b in e.bands.iter().chain(bottom) {
            out.extend_from_slice(&b.to_le_bytes());
        }
    }
    let sum = Sha256::digest(&out[HEADER_LEN..]);
    out[80..96].copy_from_slice(&sum[..DIGEST_LEN]);
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

/// Parses and verifies a state file.
pub fn decode(bytes: &[u8]) -> Result<SeenState, StateError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(StateError::Foreign);
    }
    if bytes.len() < HEADER_LEN + 2 {
        return Err(StateError::Size {
            expected: (HEADER_LEN + 2) as u64,
            actual: bytes.len() as u64,
        });
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if ![VERSION_1, VERSION_2, VERSION].contains(&version) {
        return Err(StateError::Version(version));
    }
    if bytes[12] as usize != DIGEST_LEN {
        return Err(StateError::KeyLength(bytes[12]));
    }
    let counts = [
        u64_at(bytes, 16),
        u64_at(bytes, 24),
        u64_at(bytes, 32),
        u64_at(bytes, 40),
    ];
    let path_len = u16::from_le_bytes([bytes[96], bytes[97]]) as u64;
    let digests_end = counts
        .iter()
        .try_fold(HEADER_LEN as u64 + 2 + path_len, |acc, n| {
            acc.checked_add(n.checked_mul(DIGEST_LEN as u64)?)
        })
        .unwrap_or(u64::MAX);
    let counts_at = |at: u64| {
        usize::try_from(at)
            .ok()
            .and_then(|at| bytes.get(at..at.checked_add(16)?))
            .map_or((u64::MAX, u64::MAX), |b| (u64_at(b, 0), u64_at(b, 8)))
    };
    // Version 2 on: the boilerplate section's two counts, then its entries.
    let boilerplate_counts = (version >= VERSION_2).then(|| counts_at(digests_end));
    let boilerplate_end = match boilerplate_counts {
        None => digests_end,
        Some((origins, templates)) => origins
            .checked_mul(12)
            .and_then(|o| templates.checked_mul(20).and_then(|t| o.checked_add(t)))
            .and_then(|b| b.checked_add(16))
            .and_then(|b| b.checked_add(digests_end))
            .unwrap_or(u64::MAX),
    };
    // Version 3: the near-duplicate section, entries of their own length each.
    let near = (version >= VERSION).then(|| near_entries(bytes, boilerplate_end));
    let expected = match &near {
        None => boilerplate_end,
        Some((_, _, end)) => *end,
    };
    if expected != bytes.len() as u64 {
        return Err(StateError::Size {
            expected,
            actual: bytes.len() as u64,
        });
    }
    let sum = Sha256::digest(&bytes[HEADER_LEN..]);
    if sum[..DIGEST_LEN] != bytes[80..96] {
        return Err(StateError::Checksum);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[48..80]);
    let path_end = HEADER_LEN + 2 + path_len as usize;
    let path = String::from_utf8_lossy(&bytes[HEADER_LEN + 2..path_end]).into_owned();
    let mut at = path_end;
    let mut section = |n: u64| {
        let len = n as usize * DIGEST_LEN;
        let v = digests(&bytes[at..at + len]);
        at += len;
        v
    };
    let base_keys = section(counts[0]);
    let delta_keys = section(counts[1]);
    let base_posts = section(counts[2]);
    let delta_posts = section(counts[3]);
    let mut origin_posts = Vec::new();
    let mut templates = Vec::new();
    if let Some((origins, n)) = boilerplate_counts {
        let mut at = at + 16;
        for _ in 0..origins {
            origin_posts.push((u64_at(bytes, at), u32_at(bytes, at + 8)));
            at += 12;
        }
        for _ in 0..n {
            templates.push((
                u64_at(bytes, at),
                u64_at(bytes, at + 8),
                u32_at(bytes, at + 16),
            ));
            at += 20;
        }
    }
    let (near_base, near_delta) = match near {
        Some((base, delta, _)) => (base, delta),
        None => (Vec::new(), Vec::new()),
    };
    Ok(SeenState {
        base_keys,
        delta_keys,
        base_posts,
        delta_posts,
        output: (hash != [0u8; 32]).then_some((hash, path)),
        origin_posts,
        templates,
        near_base,
        near_delta,
    })
}

/// Bytes of a near-duplicate entry before its n-gram hashes.
const NEAR_ENTRY_HEAD: usize = DIGEST_LEN + 2 + 8 + 4 * BANDS;

/// The near-duplicate section starting at `at`: its base and delta entries and where it
/// ends (`u64::MAX` when it runs past the file).
fn near_entries(bytes: &[u8], at: u64) -> (Vec<NearEntry>, Vec<NearEntry>, u64) {
    let overrun = (Vec::new(), Vec::new(), u64::MAX);
    let Some(mut at) = usize::try_from(at).ok() else {
        return overrun;
    };
    let Some(head) = bytes.get(at..at.saturating_add(16)) else {
        return overrun;
    };
    let (base_n, delta_n) = (u64_at(head, 0), u64_at(head, 8));
    at += 16;
    let mut entries = Vec::new();
    let total = base_n.saturating_add(delta_n);
    for _ in 0..total {
        let Some(head) = bytes.get(at..at.saturating_add(NEAR_ENTRY_HEAD)) else {
            return overrun;
        };
        let n = usize::from(head[DIGEST_LEN + 1]);
        let Some(body) = bytes.get(at..at.saturating_add(NEAR_ENTRY_HEAD + 4 * n)) else {
            return overrun;
        };
        let mut id = [0u8; DIGEST_LEN];
        id.copy_from_slice(&body[..DIGEST_LEN]);
        let word = |i: usize| u32_at(body, DIGEST_LEN + 10 + 4 * i);
        let mut bands = [0u32; BANDS];
        for (i, b) in bands.iter_mut().enumerate() {
            *b = word(i);
        }
        entries.push(NearEntry {
            id,
            complete: body[DIGEST_LEN] & 1 == 1,
            signature: u64_at(body, DIGEST_LEN + 2),
            bands,
            bottom: (0..n).map(|i| word(BANDS + i)).collect(),
        });
        at += body.len();
    }
    let delta = entries.split_off(
        usize::try_from(base_n)
            .unwrap_or(usize::MAX)
            .min(entries.len()),
    );
    (entries, delta, at as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest16 {
        [n; 16]
    }

    fn sample() -> SeenState {
        SeenState {
            base_keys: vec![d(3), d(1)],
            delta_keys: vec![d(9)],
            base_posts: vec![d(4)],
            delta_posts: vec![d(7), d(5)],
            output: Some(([0xAB; 32], "out/clean.jsonl".into())),
            origin_posts: vec![(7, 40), (2, 3)],
            templates: vec![(7, 99, 12), (2, 5, 2), (7, 1, 40)],
            near_base: vec![NearEntry {
                id: d(8),
                complete: true,
                signature: 0xF0F0,
                bands: [5; BANDS],
                bottom: vec![1, 2, 3],
            }],
            near_delta: vec![NearEntry {
                id: d(6),
                complete: false,
                signature: u64::MAX,
                bands: [9; BANDS],
                bottom: (0..128).collect(),
            }],
        }
    }

    /// Bytes of the sample's near-duplicate section.
    const SAMPLE_NEAR: usize = 16 + 2 * NEAR_ENTRY_HEAD + 4 * (3 + 128);

    /// `bytes` cut at `end`, as `version` wrote it.
    fn as_version(bytes: &[u8], end: usize, version: u32) -> Vec<u8> {
        let mut old = bytes[..end].to_vec();
        old[8..12].copy_from_slice(&version.to_le_bytes());
        let sum = Sha256::digest(&old[HEADER_LEN..]);
        old[80..96].copy_from_slice(&sum[..DIGEST_LEN]);
        old
    }

    #[test]
    fn a_version_2_file_is_read_without_sketches() {
        let mut s = sample();
        let v3 = encode(&mut s);
        let v2 = as_version(&v3, v3.len() - SAMPLE_NEAR, VERSION_2);
        let back = decode(&v2).unwrap();
        assert_eq!(back.templates.len(), 3);
        assert_eq!(back.base_keys, s.base_keys);
        assert!(back.near_base.is_empty() && back.near_delta.is_empty());
    }

    #[test]
    fn a_version_1_file_is_read_without_templates() {
        let mut s = sample();
        let v3 = encode(&mut s);
        // The same state as version 1 wrote it: no boilerplate section, version 1.
        let keys_end = v3.len() - SAMPLE_NEAR - 16 - 2 * 12 - 3 * 20;
        let mut v1 = v3[..keys_end].to_vec();
        v1[8..12].copy_from_slice(&VERSION_1.to_le_bytes());
        let sum = Sha256::digest(&v1[HEADER_LEN..]);
        v1[80..96].copy_from_slice(&sum[..DIGEST_LEN]);
        let back = decode(&v1).unwrap();
        assert_eq!(back.base_keys, s.base_keys);
        assert_eq!(back.delta_posts, s.delta_posts);
        assert!(back.templates.is_empty() && back.origin_posts.is_empty());
    }

    fn back_templates(bytes: &[u8]) -> Vec<(u64, u64, u32)> {
        decode(bytes).unwrap().templates
    }

    #[test]
    fn round_trip_sorts_sections() {
        let mut s = sample();
        let bytes = encode(&mut s);
        // Header, path, six digests, then the boilerplate counts: two origins (12 bytes
        // each) and three templates (20 bytes each) after their two counts, then the two
        // kept posts' sketches (106 bytes and 4 per n-gram hash) after theirs.
        assert_eq!(
            bytes.len(),
            HEADER_LEN + 2 + 15 + 6 * 16 + 16 + 2 * 12 + 3 * 20 + 16 + 2 * 106 + 4 * 131
        );
        assert_eq!(
            back_templates(&bytes),
            vec![(2, 5, 2), (7, 1, 40), (7, 99, 12)]
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(back.base_keys, vec![d(1), d(3)]);
        assert_eq!(back.delta_posts, vec![d(5), d(7)]);
        assert_eq!(back.output, Some(([0xAB; 32], "out/clean.jsonl".into())));
        assert_eq!(back.near_base, s.near_base);
        assert_eq!(back.near_delta, s.near_delta);
        assert_eq!(encode(&mut back.clone()), bytes, "same set, same bytes");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let bytes = encode(&mut sample());
        assert_eq!(decode(b"{\"not\": \"state\"}"), Err(StateError::Foreign));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(StateError::Size { .. })
        ));
        assert!(matches!(decode(&bytes[..40]), Err(StateError::Size { .. })));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(decode(&flipped), Err(StateError::Checksum));
        let mut v4 = bytes.clone();
        v4[8] = 4;
        assert_eq!(decode(&v4), Err(StateError::Version(4)));
        // A near-duplicate entry claiming more hashes than the file holds.
        let mut long = bytes.clone();
        let last_count = long.len() - 4 * 128 - 4 * BANDS - 8 - 1;
        long[last_count] = 200;
        assert!(matches!(decode(&long), Err(StateError::Size { .. })));
        let mut k = bytes;
        k[12] = 8;
        assert_eq!(decode(&k), Err(StateError::KeyLength(8)));
    }

    #[test]
    fn delta_is_accepted_or_rejected() {
        let mut a = sample();
        a.accept_delta();
        assert_eq!(a.base_keys.len(), 3);
        assert!(a.delta_keys.is_empty() && a.output.is_none());
        let mut r = sample();
        r.reject_delta();
        assert_eq!(r.base_keys.len(), 2);
        assert_eq!(r.base_posts.len(), 1);
        assert_eq!((r.near_base.len(), r.near_delta.len()), (1, 0));
        assert_eq!((a.near_base.len(), a.near_delta.len()), (2, 0));
    }
}
