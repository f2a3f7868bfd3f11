//! A compact map from 16-byte digests to `u32` (the seen-set's keys and ids): 20 bytes a
//! slot, 20–24 bytes a key, grown one small segment at a time.
//!
//! Written by hand because no general-purpose table fits the seen-set's budget: std's and
//! hashbrown's maps keep a power-of-two number of buckets (plus a control byte each) and
//! double when full, so a key costs 21 bytes at best and 42 right after a growth, with old
//! and new tables both alive while it moves (10 M keys measured 91 bytes a key resident).
//! Here the keys are SHA-256 prefixes, uniformly spread already, so the digest itself
//! places the key:
//!
//! - the top [`SEGMENT_BITS`] bits choose one of 256 segments, each an array of slots of
//!   any length (not a power of two);
//! - within a segment, a key's home slot is its next 64 bits scaled to the segment's
//!   capacity, so homes grow with the digest, and keys are kept in digest order with
//!   linear probing (an *ordered* hash table: a lookup stops at the first larger digest
//!   or an empty slot, an insert shifts the run of keys after it by one slot);
//! - a segment that is [`MAX_LOAD`] full grows by a 32nd of its size, rebuilt in one
//!   forward pass, so the whole table stays 85–88 % full and growing costs one segment's
//!   worth of memory at a time, never a second copy of the table.
//!
//! Iteration yields the keys in digest order, which is the order a state file stores them.

use crate::text::normalise::Digest16;

/// The value of an empty slot: never stored.
pub const VACANT: u32 = u32::MAX;

/// Bits of the digest that choose a segment.
const SEGMENT_BITS: u32 = 8;
const SEGMENTS: usize = 1 << SEGMENT_BITS;

/// A segment grows once more than this share of its capacity is used.
const MAX_LOAD: (usize, usize) = (7, 8);

/// A segment's first capacity.
const FIRST_CAPACITY: usize = 16;

/// Slots after a segment's capacity that the last run of keys may spill into; an insert
/// that finds no empty slot before the end grows the segment.
fn spill(capacity: usize) -> usize {
    (capacity / 64).clamp(4, 64)
}

/// The capacity a segment grows to: a 32nd more.
fn grown(capacity: usize) -> usize {
    capacity + (capacity / 32).max(4)
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Slot {
    digest: Digest16,
    value: u32,
}

const EMPTY: Slot = Slot {
    digest: [0; 16],
    value: VACANT,
};

/// Asks the CPU to bring the cache line at `at` in (a hint: nothing else happens, and
/// nothing at all off x86-64).
#[inline]
fn prefetch_line(at: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault, whatever the
    // address; SSE, which it needs, is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// The digest as one number: its order is the digest's byte order.
fn order_of(digest: &Digest16) -> u128 {
    u128::from_be_bytes(*digest)
}

/// The slot a key would take in a segment of `capacity` slots with nothing before it.
fn home(order: u128, capacity: usize) -> usize {
    let within = ((order >> 64) as u64) << SEGMENT_BITS;
    ((u128::from(within) * capacity as u128) >> 64) as usize
}

fn segment_of(order: u128) -> usize {
    (order >> (128 - SEGMENT_BITS)) as usize
}

#[derive(Debug, Clone, Default)]
struct Segment {
    /// `capacity` slots and their [`spill`], or none before the first insert.
    slots: Vec<Slot>,
    capacity: usize,
    len: usize,
}

impl Segment {
    /// Where `order` is, or where it would be inserted.
    fn find(&self, order: u128) -> Result<usize, usize> {
        let mut i = home(order, self.capacity);
        while let Some(slot) = self.slots.get(i) {
            if slot.value == VACANT {
                return Err(i);
            }
            let here = order_of(&slot.digest);
            if here == order {
                return Ok(i);
            }
            if here > order {
                return Err(i);
            }
            i += 1;
        }
        Err(i)
    }

    /// Puts a key at `at` (from [`Segment::find`]), shifting the run after it; `false`
    /// when the run reaches the end of the slots (the segment must grow first).
    fn insert_at(&mut self, at: usize, slot: Slot) -> bool {
        let Some(gap) = self.slots[at.min(self.slots.len())..]
            .iter()
            .position(|s| s.value == VACANT)
        else {
            return false;
        };
        self.slots.copy_within(at..at + gap, at + 1);
        self.slots[at] = slot;
        self.len += 1;
        true
    }

    fn full(&self) -> bool {
        (self.len + 1) * MAX_LOAD.1 > self.capacity * MAX_LOAD.0
    }

    /// Rebuilds the segment with room for at least `capacity` slots (and more, should its
    /// keys not fit in their homes' order).
    fn rebuild(&mut self, mut capacity: usize) {
        loop {
            let mut slots = vec![EMPTY; capacity + spill(capacity)];
            let mut next = 0;
            let mut fits = true;
            for slot in self.slots.iter().filter(|s| s.value != VACANT) {
                let at = home(order_of(&slot.digest), capacity).max(next);
                if at >= slots.len() {
                    fits = false;
                    break;
                }
                slots[at] = *slot;
                next = at + 1;
            }
            if fits {
                self.slots = slots;
                self.capacity = capacity;
                return;
            }
            capacity = grown(capacity);
        }
    }

    fn grow(&mut self) {
        self.rebuild(grown(self.capacity));
    }
}

/// A map from digests to `u32` values (any but [`VACANT`]), kept in digest order.
#[derive(Debug, Clone)]
pub struct DigestTable {
    segments: Vec<Segment>,
    len: usize,
}

impl Default for DigestTable {
    fn default() -> Self {
        DigestTable {
            segments: vec![Segment::default(); SEGMENTS],
            len: 0,
        }
    }
}

impl DigestTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of `digest`, if present.
    pub fn get(&self, digest: &Digest16) -> Option<u32> {
        let order = order_of(digest);
        let segment = &self.segments[segment_of(order)];
        segment.find(order).ok().map(|i| segment.slots[i].value)
    }

    /// Starts loading the slot where `digest` would be into the cache, for a look-up
    /// that comes a little later. A table bigger than the caches costs a trip to memory
    /// per look-up; asked for a post ahead, the trip overlaps the judging of the post
    /// before it.
    pub fn prefetch(&self, digest: &Digest16) {
        let order = order_of(digest);
        let segment = &self.segments[segment_of(order)];
        if let Some(slot) = segment.slots.get(home(order, segment.capacity)) {
            prefetch_line(std::ptr::from_ref(slot).cast());
        }
    }

    /// The value of `digest`, if present, to change in place (never to [`VACANT`]).
    pub fn get_mut(&mut self, digest: &Digest16) -> Option<&mut u32> {
        let order = order_of(digest);
        let segment = &mut self.segments[segment_of(order)];
        match segment.find(order) {
            Ok(i) => Some(&mut segment.slots[i].value),
            Err(_) => None,
        }
    }

    /// Sets `digest`'s value; the value it had, if it was present. `value` must not be
    /// [`VACANT`] (it would read as an empty slot), and is stored as `VACANT - 1` if it is.
    pub fn insert(&mut self, digest: Digest16, value: u32) -> Option<u32> {
        debug_assert_ne!(value, VACANT, "VACANT marks an empty slot");
        let value = value.min(VACANT - 1);
        let order = order_of(&digest);
        let segment = &mut self.segments[segment_of(order)];
        if segment.slots.is_empty() {
            segment.rebuild(FIRST_CAPACITY);
        }
        loop {
            match segment.find(order) {
                Ok(i) => return Some(std::mem::replace(&mut segment.slots[i].value, value)),
                Err(at) => {
                    if !segment.full() && segment.insert_at(at, Slot { digest, value }) {
                        self.len += 1;
                        return None;
                    }
                    segment.grow();
                }
            }
        }
    }

    /// Makes room for `additional` more keys at once, spread as digests spread: a table
    /// sized up front grows only where chance put more keys than the mean.
    pub fn reserve(&mut self, additional: usize) {
        if additional == 0 {
            return;
        }
        let per_segment = (self.len + additional).div_ceil(SEGMENTS);
        let capacity = (per_segment * MAX_LOAD.1).div_ceil(MAX_LOAD.0) + 1;
        for segment in &mut self.segments {
            if segment.capacity < capacity {
                segment.rebuild(capacity.max(FIRST_CAPACITY));
            }
        }
    }

    /// Every key and its value, in digest order.
    pub fn iter(&self) -> impl Iterator<Item = (&Digest16, u32)> + '_ {
        self.segments.iter().flat_map(|s| {
            s.slots
                .iter()
                .filter(|slot| slot.value != VACANT)
                .map(|slot| (&slot.digest, slot.value))
        })
    }

    /// Bytes the table holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|s| s.slots.capacity() * std::mem::size_of::<Slot>())
            .sum::<usize>()
            + self.segments.capacity() * std::mem::size_of::<Segment>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Uniformly spread digests, like SHA-256 prefixes (splitmix64).
    fn digests(seed: u64, n: usize) -> Vec<Digest16> {
        let mut x = seed;
        let mut next = move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..n)
            .map(|_| {
                let mut d = [0u8; 16];
                d[..8].copy_from_slice(&next().to_le_bytes());
                d[8..].copy_from_slice(&next().to_le_bytes());
                d
            })
            .collect()
    }

    #[test]
    fn a_slot_is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 20);
    }

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let keys = digests(1, 20_000);
        let mut t = DigestTable::new();
        for (i, k) in keys[..10_000].iter().enumerate() {
            assert_eq!(t.insert(*k, i as u32), None);
        }
        assert_eq!(t.len(), 10_000);
        for (i, k) in keys[..10_000].iter().enumerate() {
            assert_eq!(t.get(k), Some(i as u32));
        }
        for k in &keys[10_000..] {
            assert_eq!(t.get(k), None);
        }
        assert_eq!(t.insert(keys[7], 70), Some(7), "the old value comes back");
        *t.get_mut(&keys[8]).unwrap() = 80;
        assert_eq!((t.get(&keys[7]), t.get(&keys[8])), (Some(70), Some(80)));
        assert_eq!(t.len(), 10_000);
    }

    #[test]
    fn iterates_in_digest_order() {
        let mut keys = digests(2, 5_000);
        let mut t = DigestTable::new();
        for k in &keys {
            t.insert(*k, 1);
        }
        keys.sort_unstable();
        let seen: Vec<Digest16> = t.iter().map(|(k, _)| *k).collect();
        assert_eq!(seen, keys);
    }

    #[test]
    fn keys_that_crowd_one_home_still_fit() {
        // Digests equal in their first 15 bytes share a segment and a home: the worst
        // case for ordered probing.
        let mut t = DigestTable::new();
        for i in 0..=255u8 {
            let mut d = [0xAB; 16];
            d[15] = 255 - i;
            t.insert(d, u32::from(i));
        }
        for i in 0..=255u8 {
            let mut d = [0xAB; 16];
            d[15] = 255 - i;
            assert_eq!(t.get(&d), Some(u32::from(i)));
        }
        let all: Vec<u8> = t.iter().map(|(k, _)| k[15]).collect();
        assert_eq!(all, (0..=255).collect::<Vec<u8>>());
    }

    #[test]
    fn stays_compact_as_it_grows() {
        let keys = digests(3, 400_000);
        let mut t = DigestTable::new();
        for (n, k) in keys.iter().enumerate() {
            t.insert(*k, 0);
            let n = n + 1;
            if n % 50_000 == 0 && n >= 100_000 {
                let per_key = t.heap_bytes() as f64 / n as f64;
                assert!(per_key <= 24.0, "{per_key:.1} bytes a key at {n} keys");
            }
        }
    }

    #[test]
    fn sized_up_front_it_hardly_grows() {
        let keys = digests(4, 200_000);
        let mut t = DigestTable::new();
        t.reserve(keys.len());
        let before = t.heap_bytes();
        for k in &keys {
            t.insert(*k, 0);
        }
        // Segments are sized for the mean; those that get more than their share (by
        // chance, a few per cent) grow a little.
        let after = t.heap_bytes();
        assert!(after as f64 <= before as f64 * 1.05, "{before} → {after}");
        assert!((after as f64 / keys.len() as f64) <= 24.0);
    }

    #[test]
    fn vacant_is_never_stored() {
        let mut t = DigestTable::new();
        let k = [5u8; 16];
        if cfg!(debug_assertions) {
            return; // the debug build refuses VACANT outright
        }
        t.insert(k, VACANT);
        assert_eq!(t.get(&k), Some(VACANT - 1));
    }

    proptest! {
        #[test]
        fn behaves_as_a_hash_map(
            ops in proptest::collection::vec((0u8..64, any::<u8>(), 0u32..1000), 0..600),
            seed in any::<u64>(),
        ) {
            // Few distinct keys so that inserts overwrite; some share their first bytes.
            let pool = digests(seed, 48);
            let key = |i: u8, low: u8| {
                let mut d = pool[usize::from(i) % pool.len()];
                if i >= 48 {
                    d[14] = 0;
                    d[15] = low % 4;
                }
                d
            };
            let mut t = DigestTable::new();
            let mut reference: HashMap<Digest16, u32> = HashMap::new();
            for (i, low, v) in ops {
                let k = key(i, low);
                prop_assert_eq!(t.insert(k, v), reference.insert(k, v));
                prop_assert_eq!(t.len(), reference.len());
            }
            for (k, v) in &reference {
                prop_assert_eq!(t.get(k), Some(*v));
            }
            let mut sorted: Vec<(Digest16, u32)> = reference.into_iter().collect();
            sorted.sort_unstable();
            let listed: Vec<(Digest16, u32)> = t.iter().map(|(k, v)| (*k, v)).collect();
            prop_assert_eq!(listed, sorted);
        }
    }
}
