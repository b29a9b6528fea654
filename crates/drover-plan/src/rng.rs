//! The seeded random stream drover uses wherever equal seeds must give equal runs.

/// A small, fast, seedable generator (Steele et al.'s SplitMix64). The planner needs only
/// tie-breaking noise and the simulator only reproducible choices, and this keeps the crates
/// free of a dependency whose stream could change under them.
///
/// The field is the state: a generator made as `SplitMix64(seed)` starts at `seed`, and
/// copying the state out and back rewinds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits of [`SplitMix64::next_u64`].
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer below `bound` (`bound > 0`): [`SplitMix64::next_u64`] modulo `bound`. The
    /// modulo bias is far below anything a run could notice.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// Uniform in `lo..=hi`, scaled from [`SplitMix64::next_f64`] (so it draws a different
    /// value than [`SplitMix64::below`] would from the same state).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + (self.next_f64() * (hi - lo + 1) as f64) as u64
    }
}
