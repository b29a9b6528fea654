//! What the floor is asked for over a shift: orders released by credit against a backlog cap,
//! stow waves every hour, and each order's cycle time from release to its last line picked.

use std::collections::BTreeMap;

use drover_alloc::{Allocator, PodSel, TaskId, TaskKind};
use drover_grid::load::{Floor, StationKind};
use drover_plan::SplitMix64;

use crate::floor::{Zipf, sku_name};

/// Orders and stow waves, and the orders' progress.
pub(super) struct Demand {
    /// Orders released per tick on average.
    orders_per_tick: f64,
    /// Queued tasks above which the WMS holds orders back.
    backlog_cap: usize,
    /// SKU popularity.
    zipf: Zipf,
    /// Orders owed but not yet released (Poisson-like arrivals, by credit).
    credit: f64,
    /// Every order released, by index.
    orders: Vec<Order>,
    /// The order of each open pick line.
    line_order: BTreeMap<TaskId, usize>,
    /// Cycle times of the orders done, ticks, in the order they finished.
    pub(super) cycle: Vec<u64>,
}

struct Order {
    released: u64,
    open_lines: u32,
}

impl Demand {
    /// Demand at `demand` times the pick stations' nominal rate, where an average picker
    /// needs `seconds_per_unit`, over `n_skus` SKUs.
    pub(super) fn new(floor: &Floor, n_skus: usize, demand: f64, seconds_per_unit: f64) -> Demand {
        let pick_stations = floor
            .stations
            .iter()
            .filter(|s| s.kind == StationKind::Pick)
            .count();
        let units_per_tick = demand * pick_stations as f64 / seconds_per_unit;
        let mean_line_units = 1.5;
        let mean_lines_per_order = 2.0;
        Demand {
            orders_per_tick: units_per_tick / (mean_line_units * mean_lines_per_order),
            backlog_cap: 60 * pick_stations.max(1),
            zipf: Zipf::new(n_skus, 0.9),
            credit: 0.0,
            orders: Vec::new(),
            line_order: BTreeMap::new(),
            cycle: Vec::new(),
        }
    }

    /// Orders released so far.
    pub(super) fn released(&self) -> usize {
        self.orders.len()
    }

    /// Orders arrive (Poisson-like, by credit); the WMS holds them back past a backlog cap.
    /// Each has one to three lines of one or two units, of SKUs in stock.
    pub(super) fn release_orders(&mut self, now: u64, alloc: &mut Allocator, rng: &mut SplitMix64) {
        self.credit += self.orders_per_tick;
        while self.credit >= 1.0 {
            self.credit -= 1.0;
            let queued_picks = alloc.queued();
            if queued_picks > self.backlog_cap {
                continue;
            }
            let lines = 1 + rng.below(3) as u32;
            let id = self.orders.len();
            let mut open = 0;
            for _ in 0..lines {
                let units = 1 + rng.below(2) as u32;
                // The WMS only releases lines it has stock for.
                let Some(sku) = (0..20)
                    .map(|_| self.zipf.sample(rng))
                    .find_map(|k| alloc.sku(&sku_name(k)))
                else {
                    continue;
                };
                let kind = TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    station: None,
                    units,
                };
                if let Ok(t) = alloc.submit(kind, 0, None) {
                    self.line_order.insert(t, id);
                    open += 1;
                }
            }
            self.orders.push(Order {
                released: now,
                open_lines: open,
            });
        }
    }

    /// Stow waves ten minutes into every hour: inbound totes for each stow station.
    pub(super) fn stow_wave(
        &self,
        now: u64,
        floor: &Floor,
        alloc: &mut Allocator,
        rng: &mut SplitMix64,
    ) {
        if now % 3600 != 600 {
            return;
        }
        let stow_stations = floor
            .stations
            .iter()
            .filter(|s| s.kind == StationKind::Stow)
            .count();
        for _ in 0..stow_stations * 30 {
            if let Some(sku) = alloc.sku(&sku_name(self.zipf.sample(rng))) {
                let kind = TaskKind::Stow {
                    pod: PodSel::Sku(sku),
                    station: None,
                    units: 6,
                };
                let _ = alloc.submit(kind, 1, None);
            }
        }
    }

    /// Task `task` is done at `now`: if it was an order's last open line, the order is done.
    pub(super) fn task_done(&mut self, task: TaskId, now: u64) {
        if let Some(o) = self.line_order.remove(&task) {
            let order = &mut self.orders[o];
            order.open_lines -= 1;
            if order.open_lines == 0 {
                self.cycle.push(now - order.released);
            }
        }
    }
}
