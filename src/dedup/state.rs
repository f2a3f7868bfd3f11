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

use std::io::{self, Read, Write};

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
    #[error("cannot read the state file: {0}")]
    Read(String),
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
    /// Folds the delta into the base (the output it belongs with is in place); sorted
    /// lists stay sorted.
    pub fn accept_delta(&mut self) {
        merge_sorted(&mut self.base_keys, std::mem::take(&mut self.delta_keys));
        merge_sorted(&mut self.base_posts, std::mem::take(&mut self.delta_posts));
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

/// Merges two sorted lists into `into`, in place when `into` has room for both.
fn merge_sorted(into: &mut Vec<Digest16>, from: Vec<Digest16>) {
    if from.is_empty() {
        return;
    }
    let (mut i, mut j) = (into.len(), from.len());
    into.resize(i + j, [0; DIGEST_LEN]);
    // From the back, so no key is overwritten before it is moved.
    for k in (0..into.len()).rev() {
        let take_from = match (i.checked_sub(1), j.checked_sub(1)) {
            (Some(a), Some(b)) => from[b] > into[a],
            (None, Some(_)) => true,
            _ => break,
        };
        if take_from {
            j -= 1;
            into[k] = from[j];
        } else {
            i -= 1;
            into[k] = into[i];
        }
    }
}

/// What a state file's body goes through: the file, or the hash of its checksum.
struct Checksummed(Sha256);

impl Write for Checksummed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes everything after the header.
fn write_body(state: &SeenState, path: &[u8], out: &mut impl Write) -> io::Result<()> {
    out.write_all(&(path.len() as u16).to_le_bytes())?;
    out.write_all(path)?;
    for section in [
        &state.base_keys,
        &state.delta_keys,
        &state.base_posts,
        &state.delta_posts,
    ] {
        out.write_all(section.as_flattened())?;
    }
    out.write_all(&(state.origin_posts.len() as u64).to_le_bytes())?;
    out.write_all(&(state.templates.len() as u64).to_le_bytes())?;
    for (origin, posts) in &state.origin_posts {
        out.write_all(&origin.to_le_bytes())?;
        out.write_all(&posts.to_le_bytes())?;
    }
    for (origin, template, posts) in &state.templates {
        out.write_all(&origin.to_le_bytes())?;
        out.write_all(&template.to_le_bytes())?;
        out.write_all(&posts.to_le_bytes())?;
    }
    out.write_all(&(state.near_base.len() as u64).to_le_bytes())?;
    out.write_all(&(state.near_delta.len() as u64).to_le_bytes())?;
    for e in state.near_base.iter().chain(&state.near_delta) {
        out.write_all(&e.id)?;
        let bottom = &e.bottom[..e.bottom.len().min(usize::from(u8::MAX))];
        out.write_all(&[u8::from(e.complete), bottom.len() as u8])?;
        out.write_all(&e.signature.to_le_bytes())?;
        for b in e.bands.iter().chain(bottom) {
            out.write_all(&b.to_le_bytes())?;
        }
    }
    Ok(())
}

/// Writes a state file to `out`, each section sorted so the same seen-set gives the same
/// bytes. The body is produced twice, once for its checksum (which the header holds) and
/// once for the file, so the file is never held in memory whole.
pub fn write_to(state: &mut SeenState, out: &mut impl Write) -> io::Result<()> {
    for v in [
        &mut state.base_keys,
        &mut state.delta_keys,
        &mut state.base_posts,
        &mut state.delta_posts,
    ] {
        if !v.is_sorted() {
            v.sort_unstable();
        }
    }
    state.origin_posts.sort_unstable();
    state.templates.sort_unstable();
    let (hash, path) = match &state.output {
        Some((h, p)) => (*h, p.as_str()),
        None => ([0u8; 32], ""),
    };
    let path = &path.as_bytes()[..path.len().min(u16::MAX as usize)];
    let mut sum = Checksummed(Sha256::new());
    write_body(state, path, &mut sum)?;
    let sum = sum.0.finalize();
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&[DIGEST_LEN as u8, 0, 0, 0]);
    for n in [
        state.base_keys.len(),
        state.delta_keys.len(),
        state.base_posts.len(),
        state.delta_posts.len(),
    ] {
        header.extend_from_slice(&(n as u64).to_le_bytes());
    }
    header.extend_from_slice(&hash);
    header.extend_from_slice(&sum[..DIGEST_LEN]);
    out.write_all(&header)?;
    write_body(state, path, out)
}

/// Serialises a state into memory (see [`write_to`]).
pub fn encode(state: &mut SeenState) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_to(state, &mut out);
    out
}

/// Reads a state file in order, checking every read against the file's length before
/// it is made (so a corrupt count cannot ask for memory the file does not back) and
/// hashing what follows the header.
struct StateReader<R> {
    from: R,
    len: u64,
    at: u64,
    sum: Sha256,
}

impl<R: Read> StateReader<R> {
    /// Fails unless `n` more bytes are in the file.
    fn need(&self, n: u64) -> Result<(), StateError> {
        match self.at.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            end => Err(StateError::Size {
                expected: end.unwrap_or(u64::MAX),
                actual: self.len,
            }),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), StateError> {
        self.need(buf.len() as u64)?;
        self.from
            .read_exact(buf)
            .map_err(|e| StateError::Read(e.to_string()))?;
        if self.at >= HEADER_LEN as u64 {
            self.sum.update(&*buf);
        }
        self.at += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn u64(&mut self) -> Result<u64, StateError> {
        self.array().map(u64::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, StateError> {
        self.array().map(u32::from_le_bytes)
    }

    /// `n` digests, in a list with room for `room` more.
    fn digests(&mut self, n: u64, room: u64) -> Result<Vec<Digest16>, StateError> {
        self.need(n.saturating_mul(DIGEST_LEN as u64))?;
        let n = usize::try_from(n).map_err(|_| StateError::Size {
            expected: u64::MAX,
            actual: self.len,
        })?;
        let room = usize::try_from(room).unwrap_or(0);
        // Zeroed memory comes untouched from the system: only what is read fills it.
        let mut v = vec![[0u8; DIGEST_LEN]; n.saturating_add(room)];
        v.truncate(n);
        self.fill(v.as_flattened_mut())?;
        Ok(v)
    }
}

/// Parses and verifies a state file held in memory.
pub fn decode(bytes: &[u8]) -> Result<SeenState, StateError> {
    read_from(bytes, bytes.len() as u64)
}

/// Parses and verifies a state file of `len` bytes read from `from`, without holding the
/// file in memory: the key and id lists are read straight into place.
pub fn read_from(from: impl Read, len: u64) -> Result<SeenState, StateError> {
    let mut r = StateReader {
        from,
        len,
        at: 0,
        sum: Sha256::new(),
    };
    if len < 8 || r.array::<8>()? != *MAGIC {
        return Err(StateError::Foreign);
    }
    r.need((HEADER_LEN + 2 - 8) as u64)?;
    let version = r.u32()?;
    if ![VERSION_1, VERSION_2, VERSION].contains(&version) {
        return Err(StateError::Version(version));
    }
    let key_len = r.array::<4>()?[0];
    if usize::from(key_len) != DIGEST_LEN {
        return Err(StateError::KeyLength(key_len));
    }
    let counts = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
    let hash = r.array::<32>()?;
    let checksum = r.array::<DIGEST_LEN>()?;
    let path_len = u16::from_le_bytes(r.array()?);
    // The list sizes are checked together first: a truncated file is refused before
    // any of its lists is read.
    let digests_end = counts
        .iter()
        .try_fold(r.at + u64::from(path_len), |acc, n| {
            acc.checked_add(n.checked_mul(DIGEST_LEN as u64)?)
        })
        .unwrap_or(u64::MAX);
    if digests_end > len {
        return Err(StateError::Size {
            expected: digests_end,
            actual: len,
        });
    }
    let mut path = vec![0u8; usize::from(path_len)];
    r.fill(&mut path)?;
    let path = String::from_utf8_lossy(&path).into_owned();
    // The base has room for the delta, which is merged into it when accepted.
    let base_keys = r.digests(counts[0], counts[1])?;
    let delta_keys = r.digests(counts[1], 0)?;
    let base_posts = r.digests(counts[2], counts[3])?;
    let delta_posts = r.digests(counts[3], 0)?;
    let mut origin_posts = Vec::new();
    let mut templates = Vec::new();
    if version >= VERSION_2 {
        let (origins, n) = (r.u64()?, r.u64()?);
        r.need(
            origins
                .saturating_mul(12)
                .saturating_add(n.saturating_mul(20)),
        )?;
        for _ in 0..origins {
            origin_posts.push((r.u64()?, r.u32()?));
        }
        for _ in 0..n {
            templates.push((r.u64()?, r.u64()?, r.u32()?));
        }
    }
    let (mut near_base, mut near_delta) = (Vec::new(), Vec::new());
    if version >= VERSION {
        let (base_n, delta_n) = (r.u64()?, r.u64()?);
        r.need(
            base_n
                .saturating_add(delta_n)
                .saturating_mul(NEAR_ENTRY_HEAD as u64),
        )?;
        for i in 0..base_n.saturating_add(delta_n) {
            let entry = near_entry(&mut r)?;
            if i < base_n {
                near_base.push(entry);
            } else {
                near_delta.push(entry);
            }
        }
    }
    if r.at != len {
        return Err(StateError::Size {
            expected: r.at,
            actual: len,
        });
    }
    if r.sum.finalize()[..DIGEST_LEN] != checksum {
        return Err(StateError::Checksum);
    }
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

/// One kept post of the near-duplicate section.
fn near_entry(r: &mut StateReader<impl Read>) -> Result<NearEntry, StateError> {
    let id = r.array::<DIGEST_LEN>()?;
    let [flags, n] = r.array::<2>()?;
    let signature = r.u64()?;
    let mut bands = [0u32; BANDS];
    for b in &mut bands {
        *b = r.u32()?;
    }
    let bottom = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
    Ok(NearEntry {
        id,
        complete: flags & 1 == 1,
        signature,
        bands,
        bottom,
    })
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
    fn accepting_the_delta_merges_sorted_lists_in_place() {
        let mut s = decode(&encode(&mut sample())).unwrap();
        let room = s.base_keys.capacity();
        assert!(room >= 3, "the base was read with room for the delta");
        s.accept_delta();
        assert_eq!(s.base_keys, vec![d(1), d(3), d(9)]);
        assert_eq!(s.base_posts, vec![d(4), d(5), d(7)]);
        assert_eq!(s.base_keys.capacity(), room, "no new list");
        let mut many = SeenState {
            base_keys: (0..200u8).step_by(2).map(d).collect(),
            delta_keys: (1..200u8).step_by(3).map(d).collect(),
            ..SeenState::default()
        };
        let mut all: Vec<Digest16> = many
            .base_keys
            .iter()
            .chain(&many.delta_keys)
            .copied()
            .collect();
        all.sort_unstable();
        many.accept_delta();
        assert_eq!(many.base_keys, all);
    }

    /// Hands out its bytes a few at a time, as a slow reader would.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn read_from_a_stream_equals_decode_and_huge_counts_are_refused_before_reading() {
        let bytes = encode(&mut sample());
        assert_eq!(
            read_from(Trickle(&bytes), bytes.len() as u64),
            decode(&bytes)
        );
        // A header claiming 2^60 keys: refused by size, nothing allocated for them.
        let mut huge = bytes.clone();
        huge[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(matches!(decode(&huge), Err(StateError::Size { .. })));
        // The stream ends before the length it was said to have.
        assert!(matches!(
            read_from(&bytes[..100], bytes.len() as u64),
            Err(StateError::Read(_))
        ));
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
