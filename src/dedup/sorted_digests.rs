//! A fixed, sorted set of digests (what earlier runs saw, as `--state` stores it): 16 bytes
//! a key plus a bucket index of about one byte a key, so a state of 10 M keys is held in
//! the memory its file takes and is ready as soon as it is read.
//!
//! The digests are uniformly spread, so their top bits find the few keys a lookup has to
//! compare: the index stores where each bucket of the top bits starts.

use crate::text::normalise::Digest16;

/// Keys per bucket of the index, on average.
const KEYS_PER_BUCKET: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct SortedDigests {
    digests: Vec<Digest16>,
    /// `starts[b]..starts[b + 1]` are the digests whose top `bits` bits are `b`.
    starts: Vec<usize>,
    bits: u32,
}

fn top_bits(digest: &Digest16, bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    let head = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (head >> (64 - bits)) as usize
}

impl SortedDigests {
    /// The set of `digests` (sorted and deduplicated here if they are not already).
    pub fn new(mut digests: Vec<Digest16>) -> Self {
        if !digests.is_sorted() {
            digests.sort_unstable();
        }
        digests.dedup();
        let buckets = (digests.len() / KEYS_PER_BUCKET).max(1);
        let bits = buckets.ilog2().min(48);
        let mut starts = Vec::with_capacity((1usize << bits) + 1);
        let mut at = 0;
        for bucket in 0..(1usize << bits) {
            while digests.get(at).is_some_and(|d| top_bits(d, bits) < bucket) {
                at += 1;
            }
            starts.push(at);
        }
        starts.push(digests.len());
        SortedDigests {
            digests,
            starts,
            bits,
        }
    }

    pub fn contains(&self, digest: &Digest16) -> bool {
        let bucket = top_bits(digest, self.bits);
        let (Some(&from), Some(&to)) = (self.starts.get(bucket), self.starts.get(bucket + 1))
        else {
            return false;
        };
        self.digests
            .get(from..to)
            .is_some_and(|keys| keys.binary_search(digest).is_ok())
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The digests, sorted, given back (for the next state file).
    pub fn into_vec(self) -> Vec<Digest16> {
        self.digests
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.digests.capacity() * std::mem::size_of::<Digest16>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_members_only() {
        let mut keys: Vec<Digest16> = (0..1000u32)
            .map(|i| {
                let mut d = [0u8; 16];
                d[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                d[15] = (i % 7) as u8;
                d
            })
            .collect();
        let absent: Vec<Digest16> = keys.split_off(600);
        let set = SortedDigests::new(keys.clone());
        assert_eq!(set.len(), 600);
        assert!(keys.iter().all(|k| set.contains(k)));
        assert!(absent.iter().all(|k| !set.contains(k)));
        assert!(set.heap_bytes() < 600 * 18);
    }

    #[test]
    fn empty_and_extreme_digests() {
        let empty = SortedDigests::new(Vec::new());
        assert!(!empty.contains(&[0; 16]));
        let set = SortedDigests::new(vec![[0xFF; 16], [0; 16], [0xFF; 16]]);
        assert_eq!(set.len(), 2, "sorted and deduplicated");
        assert!(set.contains(&[0; 16]) && set.contains(&[0xFF; 16]));
        assert!(!set.contains(&[0x80; 16]));
        assert_eq!(set.into_vec(), vec![[0; 16], [0xFF; 16]]);
    }

    proptest! {
        #[test]
        fn agrees_with_a_btree_set(
            keys in proptest::collection::vec(any::<[u8; 16]>(), 0..300),
            probes in proptest::collection::vec(any::<[u8; 16]>(), 0..50),
        ) {
            let reference: std::collections::BTreeSet<Digest16> = keys.iter().copied().collect();
            let set = SortedDigests::new(keys.clone());
            for k in keys.iter().chain(&probes) {
                prop_assert_eq!(set.contains(k), reference.contains(k));
            }
            prop_assert_eq!(set.into_vec(), reference.into_iter().collect::<Vec<_>>());
        }
    }
}
