//! Estimates how many distinct digests a pass sees, so that the table the next pass
//! fills is sized once instead of growing to its size.
//!
//! A two-pass run judges every paragraph in its second pass and remembers each new key
//! in the seen-set ([`crate::dedup::digest_table::DigestTable`]), which grows a 32nd of a
//! segment at a time to stay compact: about 30 moves a key by the end. The first pass
//! already sees every key, so a HyperLogLog++ sketch of them (`hyperloglogplus`, 16 KiB,
//! a standard error of 0.8 %) tells the size before the second pass starts.

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};

use crate::text::normalise::Digest16;

/// Registers of the sketch: 2^14, a standard error of 1.04 / √(2^14) = 0.8 %.
const PRECISION: u8 = 14;

/// The number of distinct digests seen, estimated.
pub struct DistinctDigests {
    sketch: HyperLogLogPlus<Digest16, foldhash::fast::FixedState>,
}

impl Default for DistinctDigests {
    fn default() -> Self {
        DistinctDigests {
            // A fixed seed: the same input gives the same estimate (and table sizes).
            sketch: match HyperLogLogPlus::new(PRECISION, foldhash::fast::FixedState::with_seed(0))
            {
                Ok(sketch) => sketch,
                // PRECISION is within the crate's 4..=18.
                Err(_) => unreachable!("precision {PRECISION} is valid"),
            },
        }
    }
}

impl DistinctDigests {
    /// Counts `digest` (again, if it was seen).
    pub fn insert(&mut self, digest: &Digest16) {
        self.sketch.insert(digest);
    }

    /// The estimated number of distinct digests inserted.
    pub fn estimate(&mut self) -> usize {
        self.sketch.count().round() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalise::digest;

    #[test]
    fn repeats_count_once_and_large_counts_are_within_three_percent() {
        let mut d = DistinctDigests::default();
        assert_eq!(d.estimate(), 0);
        for _ in 0..3 {
            for i in 0..1000 {
                d.insert(&digest(format!("paragraph {i}")));
            }
        }
        // Small counts are nearly exact (HyperLogLog++ keeps them sparse).
        assert!((990..=1010).contains(&d.estimate()), "{}", d.estimate());
        for i in 1000..300_000 {
            d.insert(&digest(format!("paragraph {i}")));
        }
        let e = d.estimate() as f64;
        assert!((e / 300_000.0 - 1.0).abs() < 0.03, "{e}");
    }
}
