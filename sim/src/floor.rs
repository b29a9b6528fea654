//! A drover floor made ready for a simulated run: pods stocked with SKUs of Zipf popularity,
//! where robots start, and the allocator's settings and distance tables. The shift, the
//! in-process and MQTT floors and the allocation benchmark all start from here.

use drover_alloc::{AllocConfig, TargetTables};
use drover_grid::load::Floor;
use drover_grid::{Cell, CellKind, DistTable, Motion};
use drover_plan::SplitMix64;
use rayon::prelude::*;

/// The allocator settings the simulator uses (documented in README's shift section).
pub fn alloc_config() -> AllocConfig {
    AllocConfig::fulfilment_centre()
}

/// SKUs a floor carries: four per pod, at least ten.
pub fn sku_count(floor: &Floor) -> usize {
    (floor.pods.len() * 4).max(10)
}

/// Fills pods that have no contents: each holds a handful of SKUs drawn by popularity.
pub fn stock_floor(floor: &mut Floor, n_skus: usize, rng: &mut SplitMix64) {
    let zipf = Zipf::new(n_skus, 0.9);
    for pod in floor.pods.iter_mut().filter(|p| p.contents.is_empty()) {
        for _ in 0..8 {
            let sku = zipf.sample(rng);
            *pod.contents.entry(sku_name(sku)).or_insert(0) += 10 + rng.below(21) as u32;
        }
    }
}

/// The name of the SKU of popularity rank `k`.
pub(crate) fn sku_name(k: usize) -> String {
    format!("SKU-{k:05}")
}

/// Zipf-like popularity over `n` items (rank k has weight 1/(k+1)^s).
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let cdf = (0..n.max(1))
            .map(|k| {
                acc += 1.0 / ((k + 1) as f64).powf(s);
                acc
            })
            .collect::<Vec<_>>();
        let total = acc;
        Zipf {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
        }
    }

    pub(crate) fn sample(&self, rng: &mut SplitMix64) -> usize {
        let u = uniform(rng);
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Uniform in [0, 1) at 30 bits, drawn with [`SplitMix64::below`]: seeded runs depend on
/// exactly this draw.
pub(crate) fn uniform(rng: &mut SplitMix64) -> f64 {
    rng.below(1 << 30) as f64 / (1u64 << 30) as f64
}

/// The floor's plain travel cells (no storage, lanes, chargers or park cells).
pub fn travel_cells(floor: &Floor) -> Vec<Cell> {
    let grid = &floor.grid;
    grid.free_cells()
        .iter()
        .copied()
        .filter(|&c| grid.kind(c) == CellKind::Travel)
        .collect()
}

/// Where robots start: park cells, then chargers, then plain travel cells.
pub fn start_cells(floor: &Floor, n: usize) -> anyhow::Result<Vec<Cell>> {
    let mut cells: Vec<Cell> = floor.park.clone();
    cells.extend(floor.chargers.iter().map(|c| c.1));
    cells.extend(travel_cells(floor));
    anyhow::ensure!(
        cells.len() >= n,
        "the floor has room for {} robots off storage and lanes, not {n}",
        cells.len()
    );
    cells.truncate(n);
    Ok(cells)
}

/// Allocation tables for `cells` of `floor`, computed in parallel.
pub(crate) fn tables_for(floor: &Floor, cells: &[Cell]) -> TargetTables {
    let mut t = TargetTables::new(&floor.grid);
    let grid = &floor.grid;
    for table in t
        .missing(cells)
        .par_iter()
        .map(|&c| DistTable::compute(grid, c, Motion::Grid4))
        .collect::<Vec<_>>()
    {
        t.insert(table);
    }
    t
}
