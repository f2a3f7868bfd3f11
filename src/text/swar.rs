//! Byte tests on many lanes at once, for the scans that run over every byte of the input
//! and find nothing most of the time: sixteen lanes of an SSE2 register on x86-64 (every
//! x86-64 CPU has SSE2, so no run-time detection is needed), eight lanes of a `u64`
//! (SIMD within a register) elsewhere. Callers write their test once, with the functions
//! below, and get the same answers on both.

use std::ops::{BitAnd, BitOr, Not};

/// A test result or a loaded block: one lane per byte.
#[derive(Clone, Copy)]
pub struct Lanes(imp::Reg);

/// Bytes per block.
pub const WIDTH: usize = imp::WIDTH;

impl BitOr for Lanes {
    type Output = Lanes;
    fn bitor(self, other: Lanes) -> Lanes {
        Lanes(imp::or(self.0, other.0))
    }
}

impl BitAnd for Lanes {
    type Output = Lanes;
    fn bitand(self, other: Lanes) -> Lanes {
        Lanes(imp::and(self.0, other.0))
    }
}

impl Not for Lanes {
    type Output = Lanes;
    fn not(self) -> Lanes {
        Lanes(imp::not(self.0))
    }
}

/// Lanes of `w` equal to `b`.
pub fn lanes_equal(w: Lanes, b: u8) -> Lanes {
    Lanes(imp::equal(w.0, b))
}

/// Lanes of `w` below `n` (unsigned; `n` at least 1).
pub fn lanes_below(w: Lanes, n: u8) -> Lanes {
    Lanes(imp::below(w.0, n))
}

/// Lanes of `w` at or above `n` (unsigned; `n` at least 0x80).
pub fn lanes_at_least(w: Lanes, n: u8) -> Lanes {
    Lanes(imp::at_least(w.0, n))
}

/// Index of the first byte of `bytes` for which `lanes_hit` (on a loaded block) or `hit`
/// (on one byte, for the tail) says yes. Both must agree.
pub fn find(
    bytes: &[u8],
    lanes_hit: impl Fn(Lanes) -> Lanes,
    hit: impl Fn(u8) -> bool,
) -> Option<usize> {
    let (blocks, tail) = bytes.as_chunks::<WIDTH>();
    for (n, block) in blocks.iter().enumerate() {
        let hits = lanes_hit(Lanes(imp::load(block)));
        if let Some(lane) = imp::first(hits.0) {
            return Some(WIDTH * n + lane);
        }
    }
    let at = WIDTH * blocks.len();
    if tail.is_empty() {
        return None;
    }
    // The last WIDTH bytes are tested as one block: one block test instead of up to
    // WIDTH - 1 byte tests at the end of each line. Its lanes before `at` were tested
    // already and had no hit, so they have none now.
    if let Some(start) = bytes.len().checked_sub(WIDTH)
        && let Some(last) = bytes.get(start..).and_then(<[u8]>::first_chunk::<WIDTH>)
    {
        let hits = lanes_hit(Lanes(imp::load(last)));
        return imp::first(hits.0).map(|lane| start + lane);
    }
    tail.iter().position(|&b| hit(b)).map(|i| at + i)
}

/// The first hit of `lanes_hit` on the block at `start`, with its successors loaded
/// from one byte on; `None` when `bytes` has fewer than WIDTH + 1 bytes from `start`.
#[inline(always)]
fn window_hit(
    bytes: &[u8],
    start: usize,
    lanes_hit: &impl Fn(Lanes, Lanes) -> Lanes,
) -> Option<Option<usize>> {
    let window = bytes.get(start..start + WIDTH + 1)?;
    let block = window.first_chunk::<WIDTH>()?;
    let next = window.get(1..)?.first_chunk::<WIDTH>()?;
    Some(imp::first(
        lanes_hit(Lanes(imp::load(block)), Lanes(imp::load(next))).0,
    ))
}

/// As [`find`], where both tests also see the byte after each one (0 after the last).
pub fn find_with_next(
    bytes: &[u8],
    lanes_hit: impl Fn(Lanes, Lanes) -> Lanes,
    hit: impl Fn(u8, u8) -> bool,
) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = window_hit(bytes, at, &lanes_hit) {
        if let Some(lane) = found {
            return Some(at + lane);
        }
        at += WIDTH;
    }
    // Fewer than WIDTH + 1 bytes are left. The last window is tested as one block (its
    // lanes before `at` had no hit before, and have none now); only the last byte,
    // followed by 0, is tested alone.
    let last = bytes.len().saturating_sub(1);
    if at < last
        && let Some(start) = last.checked_sub(WIDTH)
        && let Some(found) = window_hit(bytes, start, &lanes_hit)
    {
        if let Some(lane) = found {
            return Some(start + lane);
        }
        at = last;
    }
    (at..bytes.len()).find(|&i| hit(bytes[i], bytes.get(i + 1).copied().unwrap_or(0)))
}

/// Characters in UTF-8 `bytes`: the bytes that are not continuation bytes (0x80–0xBF).
pub fn char_count(bytes: &[u8]) -> usize {
    bytes.len() - imp::continuation_bytes(bytes)
}

// The intrinsics are `unsafe` to call only because the CPU might lack the feature; this
// module is compiled only when SSE2 is enabled for the target, which x86-64 always is.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod imp {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cvtsi128_si64, _mm_loadu_si128,
        _mm_max_epu8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_sad_epu8, _mm_set1_epi8,
        _mm_setzero_si128, _mm_srli_si128, _mm_sub_epi8, _mm_xor_si128,
    };

    pub type Reg = __m128i;
    pub const WIDTH: usize = 16;

    fn splat(b: u8) -> Reg {
        // SAFETY: SSE2 is enabled (see the module's cfg).
        unsafe { _mm_set1_epi8(b as i8) }
    }

    pub fn load(block: &[u8; WIDTH]) -> Reg {
        // SAFETY: SSE2 is enabled; the pointer is to 16 readable bytes, and the load
        // needs no alignment.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    pub fn or(a: Reg, b: Reg) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_or_si128(a, b) }
    }

    pub fn and(a: Reg, b: Reg) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_and_si128(a, b) }
    }

    pub fn not(a: Reg) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_xor_si128(a, splat(0xFF)) }
    }

    pub fn equal(w: Reg, b: u8) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_cmpeq_epi8(w, splat(b)) }
    }

    /// SSE2 has no unsigned byte comparison: `w < n` is `min(w, n - 1) == w`.
    pub fn below(w: Reg, n: u8) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe {
            match n.checked_sub(1) {
                Some(top) => _mm_cmpeq_epi8(_mm_min_epu8(w, splat(top)), w),
                None => _mm_setzero_si128(),
            }
        }
    }

    /// `w >= n` is `max(w, n) == w`.
    pub fn at_least(w: Reg, n: u8) -> Reg {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_cmpeq_epi8(_mm_max_epu8(w, splat(n)), w) }
    }

    /// One bit per lane, lane 0 lowest.
    pub fn mask(h: Reg) -> u32 {
        // SAFETY: SSE2 is enabled.
        unsafe { _mm_movemask_epi8(h) as u32 }
    }

    pub fn first(h: Reg) -> Option<usize> {
        let m = mask(h);
        (m != 0).then(|| m.trailing_zeros() as usize)
    }

    /// Continuation bytes are those below -0x40 as signed bytes. Each block's are
    /// counted into sixteen byte-wide counters (a compare gives -1 per hit, subtracted),
    /// summed across lanes every 255 blocks, before a counter could wrap.
    pub fn continuation_bytes(bytes: &[u8]) -> usize {
        let (blocks, tail) = bytes.as_chunks::<WIDTH>();
        let mut total = 0usize;
        for group in blocks.chunks(255) {
            // SAFETY: SSE2 is enabled.
            let lanes = unsafe {
                let mut counters = _mm_setzero_si128();
                let below = splat(0xC0); // -0x40
                for block in group {
                    counters = _mm_sub_epi8(counters, _mm_cmpgt_epi8(below, load(block)));
                }
                // Sums of each 8-lane half, in the low bits of each 64-bit half.
                let sums = _mm_sad_epu8(counters, _mm_setzero_si128());
                _mm_cvtsi128_si64(sums) + _mm_cvtsi128_si64(_mm_srli_si128::<8>(sums))
            };
            total += lanes as usize;
        }
        total + tail.iter().filter(|&&b| (b as i8) < -0x40).count()
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod imp {
    pub type Reg = u64;
    pub const WIDTH: usize = 8;

    /// A word with every byte set to `b`.
    const fn lanes(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }

    /// The high bit of each lane: a lane is a hit when its high bit is set.
    const HIGH: u64 = lanes(0x80);

    /// The first byte in the lowest lane.
    pub fn load(block: &[u8; WIDTH]) -> Reg {
        u64::from_le_bytes(*block)
    }

    pub fn or(a: Reg, b: Reg) -> Reg {
        a | b
    }

    pub fn and(a: Reg, b: Reg) -> Reg {
        a & b
    }

    pub fn not(a: Reg) -> Reg {
        !a & HIGH
    }

    /// High bit set in exactly the lanes of `word` that are zero. Unlike the borrow
    /// trick, no lane affects another, so every set bit is exact.
    fn zero_lanes(word: u64) -> u64 {
        !(((word & !HIGH).wrapping_add(!HIGH)) | word) & HIGH
    }

    pub fn equal(w: Reg, b: u8) -> Reg {
        zero_lanes(w ^ lanes(b))
    }

    /// A lane is below n when its low seven bits plus (0x80 - n) do not reach the high
    /// bit, and its own high bit is clear. The sum stays inside the lane. Only `n` up to
    /// 0x80 is exact.
    pub fn below(w: Reg, n: u8) -> Reg {
        !(((w & !HIGH).wrapping_add(lanes(0x80 - n))) | w) & HIGH
    }

    /// `n` at least 0x80.
    pub fn at_least(w: Reg, n: u8) -> Reg {
        (((w & !HIGH).wrapping_add(lanes(0x100u16.wrapping_sub(u16::from(n)) as u8))) & w) & HIGH
    }

    /// One bit per lane, lane 0 lowest.
    pub fn mask(h: Reg) -> u32 {
        (0..WIDTH).fold(0, |m, i| m | (((h >> (8 * i + 7)) & 1) as u32) << i)
    }

    pub fn first(h: Reg) -> Option<usize> {
        (h != 0).then(|| (h.trailing_zeros() / 8) as usize)
    }

    /// Continuation bytes have the high bit set and the next one clear: one bit per lane,
    /// counted.
    pub fn continuation_bytes(bytes: &[u8]) -> usize {
        let (words, tail) = bytes.as_chunks::<WIDTH>();
        let whole: usize = words
            .iter()
            .map(|w| {
                let w = load(w);
                (w & !(w << 1) & HIGH).count_ones() as usize
            })
            .sum();
        whole + tail.iter().filter(|&&b| (b as i8) < -0x40).count()
    }
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
                for lane in 0..WIDTH {
                    let mut bytes = [fill; WIDTH];
                    bytes[lane] = b;
                    let block = Lanes(imp::load(&bytes));
                    let expect = |f: &dyn Fn(u8) -> bool| {
                        bytes
                            .iter()
                            .enumerate()
                            .filter(|(_, x)| f(**x))
                            .fold(0u32, |m, (i, _)| m | 1 << i)
                    };
                    let got = |l: Lanes| imp::mask(l.0);
                    assert_eq!(got(lanes_equal(block, 0)), expect(&|x| x == 0));
                    assert_eq!(got(lanes_equal(block, 0xd0)), expect(&|x| x == 0xd0));
                    for n in [0x01, 0x20, 0x21, 0x7f, 0x80] {
                        assert_eq!(
                            got(lanes_below(block, n)),
                            expect(&|x| x < n),
                            "{b:#x} < {n:#x}"
                        );
                        assert_eq!(
                            got(!lanes_below(block, n)),
                            expect(&|x| x >= n),
                            "!({b:#x} < {n:#x})"
                        );
                    }
                    for n in [0x80, 0xc2, 0xcc, 0xff] {
                        assert_eq!(
                            got(lanes_at_least(block, n)),
                            expect(&|x| x >= n),
                            "{b:#x} >= {n:#x}"
                        );
                    }
                    let mixed = lanes_below(block, 0x20) | lanes_equal(block, 0xd0);
                    assert_eq!(got(mixed), expect(&|x| x < 0x20 || x == 0xd0));
                    let both = lanes_at_least(block, 0xcc) & !lanes_equal(block, 0xd0);
                    assert_eq!(got(both), expect(&|x| x >= 0xcc && x != 0xd0));
                }
            }
        }
    }

    #[test]
    fn char_count_agrees_with_chars_count() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push(['a', 'ж', '€', '🇷', 'é'][i % 5]);
            let all = char_count(text.as_bytes());
            assert_eq!(all, text.chars().count(), "{i}");
        }
        // Every byte value, in every lane, beside every other.
        let bytes: Vec<u8> = (0..=255u8).cycle().take(256 * 300).collect();
        let plain = bytes.iter().filter(|&&b| (b as i8) >= -0x40).count();
        assert_eq!(char_count(&bytes), plain);
        assert_eq!(char_count(&[]), 0);
    }

    #[test]
    fn find_returns_the_first_hit_at_any_offset() {
        for len in 0..3 * WIDTH + 3 {
            for at in 0..=len {
                let mut bytes = vec![b'a'; len];
                if at < len {
                    bytes[at] = b'"';
                    // A later hit must not win.
                    if at + 1 < len {
                        bytes[len - 1] = b'"';
                    }
                }
                let found = find(&bytes, |w| lanes_equal(w, b'"'), |c| c == b'"');
                assert_eq!(found, (at < len).then_some(at), "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn find_with_next_sees_the_following_byte_across_blocks() {
        // A pair "xy" placed at every offset, a lone "x" before it that must not count,
        // and "x" as the last byte (its successor is 0, so no hit).
        for len in 0..3 * WIDTH + 3 {
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                if at >= 2 {
                    bytes[at - 2] = b'x';
                }
                bytes[at] = b'x';
                if at + 1 < len {
                    bytes[at + 1] = b'y';
                }
                let found = find_with_next(
                    &bytes,
                    |w, next| lanes_equal(w, b'x') & lanes_equal(next, b'y'),
                    |c, next| c == b'x' && next == b'y',
                );
                assert_eq!(found, (at + 1 < len).then_some(at), "len {len}, at {at}");
            }
        }
    }
}
