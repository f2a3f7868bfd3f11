//! Folds text into key bytes sixteen bytes at a time (SSSE3), for the ASCII and basic
//! Cyrillic that most dumps are made of; `normalise::fold_stable_text` does the rest.
//!
//! Per block: ASCII letters are lower-cased and kept with digits, other ASCII dropped;
//! the two-byte letters U+0400–U+045F are folded to lower case (`Ѐ–Џ` and `А–Я` move to
//! `ѐ–џ` and `а–я`, which changes the lead byte of `Р–Я` and `Ѐ–Џ`) and kept. The kept
//! bytes are then packed to the front with a byte shuffle, eight lanes at a time. The
//! block ends before the first byte it cannot fold (any other non-ASCII character, or
//! a lead byte in the last lane whose second byte is in the next block); the caller
//! folds that character itself and comes back.
//!
//! The scalar loop spends about eight instructions per byte (a table lookup, a store
//! and a conditional advance); a block costs about forty for sixteen bytes.

#[cfg(target_arch = "x86_64")]
mod imp {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8,
        _mm_loadl_epi64, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_shuffle_epi8, _mm_slli_si128, _mm_srli_si128, _mm_storel_epi64,
    };

    /// For each 8-bit keep mask, the shuffle that moves the kept lanes to the front.
    static PACK: [[u8; 8]; 256] = {
        let mut table = [[0x80u8; 8]; 256];
        let mut mask = 0;
        while mask < 256 {
            let mut out = 0;
            let mut lane = 0;
            while lane < 8 {
                if mask & (1 << lane) != 0 {
                    table[mask][out] = lane as u8;
                    out += 1;
                }
                lane += 1;
            }
            mask += 1;
        }
        table
    };

    #[target_feature(enable = "ssse3")]
    fn splat(b: u8) -> __m128i {
        _mm_set1_epi8(b as i8)
    }

    /// Signed `w > b`: for lanes known to be ASCII, or to compare continuation bytes
    /// (0x80–0xBF, negative as `i8`) among themselves.
    #[target_feature(enable = "ssse3")]
    fn above(w: __m128i, b: u8) -> __m128i {
        _mm_cmpgt_epi8(w, splat(b))
    }

    #[target_feature(enable = "ssse3")]
    fn below(w: __m128i, b: u8) -> __m128i {
        _mm_cmpgt_epi8(splat(b), w)
    }

    /// Folds the block at `b[at..at + 16]` into `out[n..]`. Returns the bytes of `b`
    /// consumed (0 when the first character is not one this module folds) and the key
    /// bytes written. `at` must be a character boundary of valid UTF-8, with 16 bytes
    /// of `b` from it and at least 16 bytes of `out` from `n`.
    #[inline]
    #[target_feature(enable = "ssse3")]
    pub fn fold_block(b: &[u8], at: usize, out: &mut [u8], n: usize) -> (usize, usize) {
        let Some(block) = b.get(at..at + 16) else {
            return (0, 0);
        };
        if out.len() < n + 16 {
            return (0, 0);
        }
        // SAFETY: `block` has 16 readable bytes; the load needs no alignment.
        let x = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };

        // ASCII: upper case up by 0x20; letters and digits kept. Non-ASCII bytes are
        // negative as `i8`, so none of these tests picks them.
        let upper = _mm_and_si128(above(x, b'A' - 1), below(x, b'Z' + 1));
        let ascii = _mm_add_epi8(x, _mm_and_si128(upper, splat(0x20)));
        let digit = _mm_and_si128(above(x, b'0' - 1), below(x, b'9' + 1));
        let lower = _mm_and_si128(above(ascii, b'a' - 1), below(ascii, b'z' + 1));
        let ascii_kept = _mm_or_si128(digit, lower);

        // Cyrillic pairs: lead D0 or D1, then a continuation byte (0x80–0xBF, below
        // -0x40 as `i8`). `next` holds each lane's following byte, `prev` its preceding.
        let d0 = _mm_cmpeq_epi8(x, splat(0xD0));
        let d1 = _mm_cmpeq_epi8(x, splat(0xD1));
        let cont = below(x, 0xC0);
        let next = _mm_srli_si128::<1>(x);
        let prev = _mm_slli_si128::<1>(x);
        let high = _mm_movemask_epi8(x) as u32;
        let pair = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(d0, d1), cont)) as u32;
        // D1 A0–BF are historic letters, for the general path.
        let historic = _mm_movemask_epi8(_mm_and_si128(d1, above(next, 0x9F))) as u32;
        let lead = _mm_movemask_epi8(_mm_or_si128(d0, d1)) as u32;
        // The first lane that cannot be folded here: another non-ASCII byte, a historic
        // letter, or a lead byte in the last lane.
        let stop = (high & !pair) | historic | (lead & 0x8000) | 0x1_0000;
        let lanes = stop.trailing_zeros() as usize;
        if lanes == 0 {
            return (0, 0);
        }

        // After D0: 80–8F (Ѐ–Џ) +0x10, 90–9F (А–П) +0x20, A0–AF (Р–Я) −0x20, B0–BF
        // (а–п) unchanged. `cont` lanes compare among themselves as signed bytes.
        let after_d0 = _mm_and_si128(cont, _mm_cmpeq_epi8(prev, splat(0xD0)));
        let ge90 = above(x, 0x8F);
        let ge_a0 = above(x, 0x9F);
        let ge_b0 = above(x, 0xAF);
        let delta = _mm_or_si128(
            _mm_or_si128(
                _mm_andnot_si128(ge90, splat(0x10)),
                _mm_and_si128(_mm_andnot_si128(ge_a0, ge90), splat(0x20)),
            ),
            _mm_and_si128(_mm_andnot_si128(ge_b0, ge_a0), splat(0xE0)),
        );
        let cyrillic_cont = _mm_add_epi8(x, _mm_and_si128(after_d0, delta));
        // D0 before 80–8F or A0–AF becomes D1.
        let next_ge90 = above(next, 0x8F);
        let next_ge_a0 = above(next, 0x9F);
        let next_ge_b0 = above(next, 0xAF);
        let to_d1 = _mm_and_si128(
            d0,
            _mm_or_si128(
                _mm_andnot_si128(next_ge90, splat(0xFF)),
                _mm_andnot_si128(next_ge_b0, next_ge_a0),
            ),
        );
        let cyrillic = _mm_add_epi8(cyrillic_cont, _mm_and_si128(to_d1, splat(1)));

        // Non-ASCII lanes (all of them pair bytes, below `lanes`) take the Cyrillic
        // fold; the rest the ASCII one.
        let is_high = below(x, 0);
        let folded = _mm_or_si128(
            _mm_and_si128(is_high, cyrillic),
            _mm_andnot_si128(is_high, ascii),
        );
        let kept = (_mm_movemask_epi8(ascii_kept) as u32 | pair) & ((1 << lanes) - 1);

        // Pack each half's kept lanes to the front and store its eight bytes; the
        // bytes past the kept ones are overwritten by the next store or left as room.
        let mut written = n;
        for (half, bits) in [
            (folded, kept & 0xFF),
            (_mm_srli_si128::<8>(folded), kept >> 8),
        ] {
            let shuffle = PACK[bits as usize];
            // SAFETY: `shuffle` is 8 readable bytes; `_mm_loadl_epi64` reads only 8.
            let shuffle = unsafe { _mm_loadl_epi64(shuffle.as_ptr().cast()) };
            let packed = _mm_shuffle_epi8(half, shuffle);
            let dest = &mut out[written..written + 8];
            // SAFETY: `dest` is 8 writable bytes; `_mm_storel_epi64` writes only 8.
            unsafe { _mm_storel_epi64(dest.as_mut_ptr().cast(), packed) };
            written += bits.count_ones() as usize;
        }
        (lanes, written - n)
    }
}

/// The block fold; SSSE3 only. See [`imp::fold_block`] for the contract.
#[cfg(target_arch = "x86_64")]
pub use imp::fold_block as fold_block_ssse3;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the block fold does to one character, written plainly: `None` for a
    /// character it leaves to the caller.
    fn fold_char(c: char, key: &mut String) -> Option<()> {
        match c {
            _ if c.is_ascii_alphanumeric() => key.push(c.to_ascii_lowercase()),
            _ if c.is_ascii() => {}
            '\u{0400}'..='\u{045F}' => key.extend(c.to_lowercase()),
            _ => return None,
        }
        Some(())
    }

    fn one_block(b: &[u8], at: usize, out: &mut [u8], n: usize) -> (usize, usize) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU has SSSE3, checked just above.
            return unsafe { fold_block_ssse3(b, at, out, n) };
        }
        (0, 0)
    }

    /// Folds `text` from `at` a block at a time, as `fold_stable_text` calls it, and
    /// checks each block against [`fold_char`].
    fn check_blocks(text: &str) {
        let b = text.as_bytes();
        for at in (0..b.len()).filter(|&i| text.is_char_boundary(i)) {
            let mut out = vec![0u8; b.len() + 16];
            let (read, written) = one_block(b, at, &mut out, 3);
            if at + 16 > b.len() {
                assert_eq!((read, written), (0, 0));
                continue;
            }
            assert!(
                read <= 16 && text.is_char_boundary(at + read),
                "{text:?} at {at}"
            );
            let mut want = String::new();
            for c in text[at..at + read].chars() {
                assert!(
                    fold_char(c, &mut want).is_some(),
                    "{c:?} folded in {text:?}"
                );
            }
            assert_eq!(&out[3..3 + written], want.as_bytes(), "{text:?} at {at}");
            // The block stops only where it must: at 16 bytes, before a character it
            // leaves to the caller, or before a character that crosses the block's end.
            if read < 16 {
                let next = text[at + read..].chars().next().unwrap();
                let crosses = read + next.len_utf8() > 16;
                assert!(
                    crosses || fold_char(next, &mut String::new()).is_none(),
                    "{text:?} at {at}"
                );
            }
        }
    }

    #[test]
    fn every_two_byte_character_in_every_lane() {
        for cp in 0x80..0x800 {
            let c = char::from_u32(cp).unwrap();
            for lane in 0..16 {
                let text = format!("{}{c}{}", "a".repeat(lane), "Ж".repeat(10));
                check_blocks(&text);
            }
        }
    }

    proptest! {
        #[test]
        fn blocks_fold_as_characters_do(
            text in "[a-zA-Z0-9 ,.!\\-\\n\\u{400}-\\u{47f}é😀“]{0,80}"
        ) {
            check_blocks(&text);
        }
    }
}
