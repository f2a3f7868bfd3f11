//! Byte tests eight lanes at a time on a `u64` (SWAR), for the scans that run over every
//! byte of the input and find nothing most of the time.

/// A word with every byte set to `b`.
pub const fn lanes(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The high bit of each lane.
pub const HIGH: u64 = lanes(0x80);

/// Loads eight bytes, the first in the lowest lane.
pub fn load(bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*bytes)
}

/// Index of the first byte of `bytes` for which `lanes_hit` (on a loaded word) or `hit`
/// (on one byte, for the tail) says yes. Both must agree.
pub fn find(
    bytes: &[u8],
    lanes_hit: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let (words, tail) = bytes.as_chunks::<8>();
    for (n, word) in words.iter().enumerate() {
        let hits = lanes_hit(load(word));
        if hits != 0 {
            return Some(8 * n + first_lane(hits));
        }
    }
    let at = 8 * words.len();
    tail.iter().position(|&b| hit(b)).map(|i| at + i)
}

/// High bit set in exactly the lanes of `word` that are zero. Unlike the borrow trick,
/// no lane affects another, so every set bit is exact.
pub fn zero_lanes(word: u64) -> u64 {
    !(((word & !HIGH).wrapping_add(!HIGH)) | word) & HIGH
}

/// High bit set in exactly the lanes of `word` equal to `b`.
pub fn lanes_equal(word: u64, b: u8) -> u64 {
    zero_lanes(word ^ lanes(b))
}

/// High bit set in exactly the lanes of `word` below `n` (`n` at most 0x80).
pub fn lanes_below(word: u64, n: u8) -> u64 {
    // A lane is below n when its low seven bits plus (0x80 - n) do not reach the high
    // bit, and its own high bit is clear. The sum stays inside the lane.
    !(((word & !HIGH).wrapping_add(lanes(0x80 - n))) | word) & HIGH
}

/// High bit set in exactly the lanes of `word` at or above `n` (`n` at least 0x80).
pub fn lanes_at_least(word: u64, n: u8) -> u64 {
    (((word & !HIGH).wrapping_add(lanes(0x100u16.wrapping_sub(u16::from(n)) as u8))) & word) & HIGH
}

/// Index of the first lane whose high bit is set in `hits` (not zero).
pub fn first_lane(hits: u64) -> usize {
    (hits.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every lane test against the plain comparison, for every byte value in every lane
    /// beside neighbours that would carry or borrow.
    #[test]
    fn lane_tests_are_exact() {
        for b in 0..=255u8 {
            for fill in [0x00u8, 0x7f, 0x80, 0xff, b] {
                for lane in 0..8 {
                    let mut bytes = [fill; 8];
                    bytes[lane] = b;
                    let word = load(&bytes);
                    let expect = |f: &dyn Fn(u8) -> bool| {
                        bytes
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| f(**x))
                            .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i))
                    };
                    assert_eq!(zero_lanes(word), expect(&|x| x == 0));
                    assert_eq!(lanes_equal(word, 0xd0), expect(&|x| x == 0xd0));
                    for n in [0x01, 0x20, 0x7f, 0x80] {
                        assert_eq!(lanes_below(word, n), expect(&|x| x < n), "{b:#x} < {n:#x}");
                    }
                    for n in [0x80, 0xc2, 0xcc, 0xff] {
                        assert_eq!(
                            lanes_at_least(word, n),
                            expect(&|x| x >= n),
                            "{b:#x} >= {n:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn first_lane_is_the_lowest_address() {
        assert_eq!(first_lane(0x80), 0);
        assert_eq!(first_lane(0x8000_0000_0000_8000), 1);
        assert_eq!(first_lane(HIGH & !(HIGH >> 8)), 7);
    }
}
