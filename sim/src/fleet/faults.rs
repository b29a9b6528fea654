//! Seeded fault injection: units that stop on a node for a while, and messages lost either
//! way.

/// Seeded fault injection.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Probability that a unit stops on reaching a node.
    pub delay_prob: f64,
    /// How long it stops, milliseconds (uniform in this range).
    pub delay_ms: (u64, u64),
    /// Probability that any one message (either way) is lost.
    pub drop_prob: f64,
    /// Seed.
    pub seed: u64,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults {
            delay_prob: 0.0,
            delay_ms: (0, 0),
            drop_prob: 0.0,
            seed: 0,
        }
    }
}
