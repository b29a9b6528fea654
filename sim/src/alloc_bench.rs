//! Allocation timings: where the Hungarian method stops paying off, and one full allocator
//! tick that matches thousands of idle robots to as many tasks.

use std::time::Instant;

use drover_alloc::assign::{greedy, optimal, total};
use drover_alloc::{Allocator, Costs, Errand, ErrandAction, RobotView, TaskKind};
use drover_grid::Cell;
use drover_grid::load::Floor;
use drover_plan::SplitMix64;
use serde::Serialize;

use crate::floor::{alloc_config, tables_for, travel_cells};

/// One batch size measured.
#[derive(Clone, Debug, Serialize)]
pub struct AssignRow {
    /// Robots = tasks.
    pub n: usize,
    /// Milliseconds to fill the cost matrix from the tables.
    pub matrix_ms: f64,
    /// Hungarian method, ms (`None` above the size limit).
    pub optimal_ms: Option<f64>,
    /// Greedy, ms.
    pub greedy_ms: f64,
    /// Greedy's total cost over the optimum, % (`None` without the optimum).
    pub greedy_excess_pct: Option<f64>,
}

/// A full allocator tick.
#[derive(Clone, Debug, Serialize)]
pub struct TickRow {
    /// Idle robots.
    pub robots: usize,
    /// Queued tasks.
    pub tasks: usize,
    /// Tasks assigned in the tick.
    pub assigned: usize,
    /// Median milliseconds for the tick over the repeats (tables already computed).
    pub tick_ms: f64,
    /// Fastest repeat.
    pub tick_ms_min: f64,
    /// Slowest repeat.
    pub tick_ms_max: f64,
    /// How the batch was solved.
    pub method: String,
}

fn sample(cells: &[Cell], n: usize, rng: &mut SplitMix64) -> Vec<Cell> {
    let mut pool = cells.to_vec();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.min(pool.len()) {
        let k = rng.below(pool.len());
        out.push(pool.swap_remove(k));
    }
    out
}

/// Robots on travel cells, tasks on storage slots: times matrix, Hungarian and greedy.
pub fn assign_sweep(
    floor: &Floor,
    sizes: &[usize],
    optimal_limit: usize,
    seed: u64,
) -> Vec<AssignRow> {
    let mut rng = crate::sim_rng(seed);
    let travel = travel_cells(floor);
    let max = sizes.iter().copied().max().unwrap_or(0);
    let targets = sample(&floor.storage, max, &mut rng);
    let mut costs = tables_for(floor, &targets);
    sizes
        .iter()
        .map(|&n| {
            let robots = sample(&travel, n, &mut rng);
            let tasks = &targets[..n.min(targets.len())];
            let (rows, cols) = (robots.len(), tasks.len());
            let started = Instant::now();
            // Target-major (tasks × robots), the way the allocator fills it from these tables.
            let mut m = vec![0u32; rows * cols];
            costs.fill(&robots, tasks, &mut m);
            let (rows, cols) = (cols, rows);
            let matrix_ms = ms(started);
            let started = Instant::now();
            let g = greedy(rows, cols, &m);
            let greedy_ms = ms(started);
            let (optimal_ms, greedy_excess_pct) = if n <= optimal_limit {
                let started = Instant::now();
                let o = optimal(rows, cols, &m);
                let t = ms(started);
                let best = total(cols, &m, &o) as f64;
                let excess = 100.0 * (total(cols, &m, &g) as f64 - best) / best.max(1.0);
                (Some(t), Some((excess * 10.0).round() / 10.0))
            } else {
                (None, None)
            };
            AssignRow {
                n,
                matrix_ms,
                optimal_ms,
                greedy_ms,
                greedy_excess_pct,
            }
        })
        .collect()
}

/// `n` idle robots and `n` queued transports on the floor: times one allocator tick, `repeat`
/// times on fresh allocators.
pub fn full_tick(floor: &Floor, n: usize, seed: u64, repeat: usize) -> anyhow::Result<TickRow> {
    let mut rng = crate::sim_rng(seed ^ 0xA11C);
    let travel = travel_cells(floor);
    anyhow::ensure!(
        travel.len() >= n,
        "{n} robots do not fit on the floor's travel cells"
    );
    let robots = sample(&travel, n, &mut rng);
    let targets = sample(&floor.storage, n, &mut rng);
    let mut costs = tables_for(floor, &targets);
    let mut config = alloc_config();
    config.battery = None;
    config.park_idle = false;
    config.transport_window = 1;
    config.max_batch = n;
    let views: Vec<RobotView> = robots
        .iter()
        .map(|&cell| RobotView { cell, battery: 1.0 })
        .collect();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let mut alloc = Allocator::new(floor, &robots, config.clone());
        for &cell in &targets {
            let errands = vec![Errand {
                cell,
                action: ErrandAction::Lift,
            }];
            alloc.submit(TaskKind::Transport { errands }, 0, None)?;
        }
        let started = Instant::now();
        let report = alloc.tick(1, &views, &mut costs);
        times.push(ms(started));
        last = Some((n - alloc.free_robots().len(), report.method));
    }
    times.sort_by(f64::total_cmp);
    let (assigned, method) = last.expect("at least one repeat");
    Ok(TickRow {
        robots: n,
        tasks: targets.len(),
        assigned,
        tick_ms: times[times.len() / 2],
        tick_ms_min: times[0],
        tick_ms_max: times[times.len() - 1],
        method: format!("{method:?}"),
    })
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e5).round() / 100.0
}
