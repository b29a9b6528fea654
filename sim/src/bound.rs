//! Throughput upper bounds (PLANNING.md section 5), computed exactly by BFS on the real graph:
//! directed edges respected, turning time included under `Rotate`.

use std::collections::BTreeMap;

use drover_grid::{Cell, DistTable, Grid, Heading, Motion, UNREACHABLE};
use drover_plan::AgentState;
use rayon::prelude::*;

/// Which bound a run is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundKind {
    /// Fixed errand sequences walked collision-free (LoRR 2023).
    Chain,
    /// Agents over mean trip length.
    Trip,
}

impl BoundKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            BoundKind::Chain => "chain",
            BoundKind::Trip => "trip",
        }
    }
}

/// A throughput upper bound per step.
#[derive(Clone, Debug)]
pub struct Bound {
    /// Which bound.
    pub kind: BoundKind,
    /// Units per step.
    pub per_step: f64,
    /// Mean trip length per unit, where that is what the bound is made of.
    pub mean_trip: Option<f64>,
}

/// Leg costs into one task index: (task index, cost from the previous errand, and
/// (agent, cost from its start) for agents whose first errand it is).
type LegCosts = (usize, u32, Vec<(usize, u32)>);

/// Steps from `from` (facing `heading` if given, else the best heading) along `table`.
fn leg(grid: &Grid, table: &DistTable, from: Cell, heading: Option<Heading>) -> u32 {
    match (table.motion(), heading) {
        (Motion::Grid4, _) => table.get(grid, from, Heading::East),
        (Motion::Rotate, Some(h)) => table.get(grid, from, h),
        (Motion::Rotate, None) => table.get_any_heading(grid, from),
    }
}

/// The chain bound of LoRR 2023's round-robin rule: each agent walks its fixed errand sequence
/// (`tasks[(c*n + k) mod m]`) from its start, each leg costing max(1, d); the errands done by
/// step `steps`, summed over agents, divided by `steps`. The first leg starts facing east; later
/// legs may depart in any heading.
pub fn chain_bound(
    grid: &Grid,
    motion: Motion,
    starts: &[AgentState],
    tasks: &[Cell],
    steps: u64,
) -> Bound {
    let n = starts.len();
    let m = tasks.len();
    // Every leg ends at a task index j and starts at task (j - n) mod m (or the agent's start,
    // for c = 0), so one BFS per distinct errand cell gives every leg cost.
    let mut by_goal: BTreeMap<Cell, Vec<usize>> = BTreeMap::new();
    for (j, cell) in tasks.iter().enumerate() {
        by_goal.entry(*cell).or_default().push(j);
    }
    let groups: Vec<(Cell, Vec<usize>)> = by_goal.into_iter().collect();
    let costs: Vec<Vec<LegCosts>> = groups
        .par_iter()
        .map(|(goal, indices)| {
            let table = DistTable::compute(grid, *goal, motion);
            indices
                .iter()
                .map(|&j| {
                    let prev = tasks[(j + m - n % m) % m];
                    let later = leg(grid, &table, prev, None);
                    // Agents whose first errand is task j.
                    let firsts = (j..n)
                        .step_by(m)
                        .map(|k| {
                            (
                                k,
                                leg(grid, &table, starts[k].cell, Some(starts[k].heading)),
                            )
                        })
                        .collect();
                    (j, later, firsts)
                })
                .collect()
        })
        .collect();
    let mut later_leg = vec![UNREACHABLE; m];
    let mut first_leg = vec![UNREACHABLE; n];
    for group in costs {
        for (j, later, firsts) in group {
            later_leg[j] = later;
            for (k, cost) in firsts {
                first_leg[k] = cost;
            }
        }
    }
    let mut total: u64 = 0;
    for k in 0..n {
        let mut t: u64 = 0;
        let mut c: u64 = 0;
        loop {
            let cost = if c == 0 {
                first_leg[k]
            } else {
                later_leg[((c * n as u64 + k as u64) % m as u64) as usize]
            };
            if cost == UNREACHABLE {
                break;
            }
            t += u64::from(cost.max(1));
            if t > steps {
                break;
            }
            total += 1;
            c += 1;
        }
    }
    Bound {
        kind: BoundKind::Chain,
        per_step: total as f64 / steps as f64,
        mean_trip: None,
    }
}

/// n over the mean trip: the free-flow bound when goals are drawn from a distribution.
pub fn trip_bound(n_agents: usize, mean_trip: f64) -> Bound {
    Bound {
        kind: BoundKind::Trip,
        per_step: n_agents as f64 / mean_trip.max(1.0),
        mean_trip: Some(mean_trip),
    }
}

/// Mean distance from a uniformly random cell of `from` to a uniformly random other cell of
/// `to`, over all pairs (one BFS per target).
pub fn mean_pair_distance(grid: &Grid, motion: Motion, from: &[Cell], to: &[Cell]) -> f64 {
    let sums: Vec<(f64, u64)> = to
        .par_iter()
        .map(|goal| {
            let table = DistTable::compute(grid, *goal, motion);
            let mut sum = 0.0;
            let mut count = 0;
            for cell in from {
                if cell == goal {
                    continue;
                }
                let d = leg(grid, &table, *cell, None);
                if d != UNREACHABLE {
                    sum += f64::from(d.max(1));
                    count += 1;
                }
            }
            (sum, count)
        })
        .collect();
    let (sum, count) = sums
        .iter()
        .fold((0.0, 0), |(s, c), (s2, c2)| (s + s2, c + c2));
    if count == 0 {
        f64::INFINITY
    } else {
        sum / count as f64
    }
}

/// RHCR sorting: per two goals, an agent at a random eject goes to some induct and then to a
/// random eject. The minimum over the induct choice, averaged over ejects, is a rigorous lower
/// bound on the cycle length (PLANNING.md: 58.74 on sorting_map). `to_induct` holds one
/// distance table per induct, as the sorting task source uses them too.
pub fn sorting_cycle(grid: &Grid, motion: Motion, to_induct: &[DistTable], ejects: &[Cell]) -> f64 {
    let inducts: Vec<Cell> = to_induct.iter().map(DistTable::goal).collect();
    // Mean distance from each induct to a random eject.
    let from_induct: Vec<f64> = {
        let tables: Vec<DistTable> = ejects
            .par_iter()
            .map(|e| DistTable::compute(grid, *e, motion))
            .collect();
        inducts
            .iter()
            .map(|i| {
                let sum: f64 = tables
                    .iter()
                    .map(|t| f64::from(leg(grid, t, *i, None).max(1)))
                    .sum();
                sum / tables.len() as f64
            })
            .collect()
    };
    let total: f64 = ejects
        .iter()
        .map(|e| {
            to_induct
                .iter()
                .zip(&from_induct)
                .map(|(t, rest)| f64::from(leg(grid, t, *e, None).max(1)) + rest)
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    total / ejects.len() as f64
}

/// LoRR 2024: mean over tasks of (the errand chain) plus the hop from the last errand to the
/// nearest first errand of any task. A free-flow estimate, not a strict bound (the scheduler may
/// prefer short tasks); `sample` caps the tasks looked at.
pub fn reveal_trip(grid: &Grid, motion: Motion, tasks: &[Vec<Cell>], sample: usize) -> f64 {
    let sampled: Vec<&Vec<Cell>> = tasks.iter().take(sample).collect();
    let mut firsts: Vec<Cell> = tasks.iter().map(|t| t[0]).collect();
    firsts.sort_unstable();
    firsts.dedup();
    // Errand legs need one BFS per leg goal; the hop from any cell to the nearest first
    // errand is one multi-source BFS.
    let legs: Vec<f64> = sampled
        .par_iter()
        .map(|task| {
            let mut sum = 0.0;
            for pair in task.windows(2) {
                let table = DistTable::compute(grid, pair[1], motion);
                sum += f64::from(leg(grid, &table, pair[0], None).max(1));
            }
            sum
        })
        .collect();
    let to_first = DistTable::compute_to_nearest(grid, &firsts, motion);
    let hops: f64 = sampled
        .iter()
        .map(|t| {
            f64::from(
                leg(
                    grid,
                    &to_first,
                    *t.last().expect("tasks have errands"),
                    None,
                )
                .max(1),
            )
        })
        .sum();
    (legs.iter().sum::<f64>() + hops) / sampled.len().max(1) as f64
}
