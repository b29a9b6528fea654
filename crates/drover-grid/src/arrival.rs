//! Arrival-heading guidance for `Rotate`: what arriving on a cell facing each way costs the next trip.

use crate::dist::{DistTable, Motion};
use crate::grid::{Cell, Grid, Heading, UNREACHABLE};

impl Grid {
    /// Guidance for `Rotate`: a robot that reaches a goal facing the wrong way starts its next
    /// trip with turns in place, and under LoRR's rules it learns that next goal only on
    /// arrival. Here the cost of arriving on a cell facing a heading becomes the expected
    /// extra steps of the next trip, over next goals drawn from `likely_goals` (a sample of
    /// the goals seen so far; duplicates weigh more): the mean of the trip from that heading
    /// less the trip from the best heading, rounded to whole steps. Distance tables then lead
    /// robots to arrive facing the way they will probably leave, when that costs less than
    /// the turns it saves. Computed on this grid's edges and guidance costs; replaces earlier
    /// arrival costs. Returns the number of (cell, heading) states given a cost.
    pub fn weigh_arrival_headings(&mut self, likely_goals: &[Cell]) -> usize {
        self.set_arrival_costs(Vec::new());
        let n = self.n_free();
        let mut sum = vec![0u32; n * 4];
        let mut count = vec![0u32; n];
        for &goal in likely_goals {
            if !self.is_free(goal) {
                continue;
            }
            let table = DistTable::compute(self, goal, Motion::Rotate);
            for (fi, cell) in self.free_cells().iter().enumerate() {
                let d = Heading::ALL.map(|h| table.get_free(fi, h));
                let best = d.iter().copied().min().unwrap_or(UNREACHABLE);
                if best == UNREACHABLE || *cell == goal {
                    continue;
                }
                // At most 2: two turns face any way.
                for h in 0..4 {
                    sum[fi * 4 + h] += d[h] - best;
                }
                count[fi] += 1;
            }
        }
        let mut costs = vec![0u8; self.n_cells() * 4];
        let mut weighted = 0;
        for (fi, cell) in self.free_cells().iter().enumerate() {
            if count[fi] == 0 {
                continue;
            }
            for h in 0..4 {
                // Rounded mean, in whole steps.
                let c = (2 * sum[fi * 4 + h] + count[fi]) / (2 * count[fi]);
                if c > 0 {
                    costs[cell.index() * 4 + h] = c as u8;
                    weighted += 1;
                }
            }
        }
        if weighted > 0 {
            self.set_arrival_costs(costs);
        }
        weighted
    }
}
