//! A shift on a sortable-FC floor: orders and stow waves create tasks, simulated associates
//! work the stations, the allocator and planner run the robots, and the KPIs of DOMAIN.md §7
//! come out at the end. In-process, tick-driven (one tick = one second), seeded.
//!
//! [`run_shift`] sets the floor up, then runs each tick's phases in order, one file each:
//! demand arrives (`demand`), the associates work their stations (`associates`, filling tote
//! carts in `carts`), the allocator and the planner move the robots (`dispatch`), the drive
//! units spend energy and time (`robots`), and the stations count how their staffed time went
//! (`stations`). `report` turns the counts into KPIs. A seed replays a shift because the
//! phases run, and draw from the one random stream, in this order.

mod associates;
mod carts;
mod demand;
mod dispatch;
mod report;
mod robots;
mod stations;

use std::time::Instant;

use drover_alloc::{Allocator, BatteryConfig, TargetTables, floor_targets};
use drover_core::{CoreConfig, FleetState};
use drover_grid::load::Floor;
use drover_grid::{Cell, Heading, Motion};
use drover_plan::{AgentState, PlanConfig, SplitMix64};

pub use report::{RobotSplit, ShiftReport, StationKpi};

use crate::floor::{alloc_config, sku_count, start_cells, stock_floor, tables_for};
use associates::Associate;
use carts::Carts;
use demand::Demand;
use dispatch::Batches;
use robots::Robots;
use stations::StationStats;

/// How to run a shift.
#[derive(Clone, Debug)]
pub struct ShiftConfig {
    /// Robots on the floor.
    pub robots: usize,
    /// Shift length in hours.
    pub hours: f64,
    /// Seed for orders, associates and stock.
    pub seed: u64,
    /// Motion model for the planner.
    pub motion: Motion,
    /// Memory cap for the planner's distance tables.
    pub table_cache_bytes: usize,
    /// Order demand as a share of the pick stations' nominal capacity (1.0 = just enough).
    pub demand: f64,
}

/// Runs a shift. `progress(tick, total)` is called every simulated minute.
pub fn run_shift(
    floor: Floor,
    config: &ShiftConfig,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<ShiftReport> {
    let mut rng = crate::sim_rng(config.seed);
    let mut shift = Shift::set_up(floor, config, &mut rng)?;
    let total_ticks = shift.total_ticks;
    let mut step_ms: Vec<f64> = Vec::with_capacity(total_ticks as usize);
    for now in 1..=total_ticks {
        let started = Instant::now();
        let Shift {
            floor,
            alloc,
            costs,
            core,
            fleet,
            battery,
            missing,
            demand,
            associates,
            carts,
            robots,
            stats,
            batches,
            ..
        } = &mut shift;
        // The coordinator's time per tick is timed from here to the end of planning.
        demand.release_orders(now, alloc, &mut rng);
        demand.stow_wave(now, floor, alloc, &mut rng);
        associates::work(now, floor, alloc, associates, demand, carts, &mut rng);
        let events = dispatch::allocate(
            now,
            alloc,
            fleet.agents(),
            robots.batteries(),
            costs,
            batches,
        );
        robots.start_trips(now, &events, alloc);
        carts.count_done(&events);
        let before = dispatch::plan(now, fleet, alloc, &floor.grid, core, missing);
        step_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        robots.after_step(now, &before, fleet.agents(), alloc, battery);
        stations::observe(now, floor, alloc, associates, fleet.agents(), stats);
        if now % 60 == 0 {
            progress(now, total_ticks);
        }
    }
    Ok(report::build(
        &shift.floor,
        &shift.alloc,
        config.robots,
        config.hours,
        config.seed,
        shift.staffed_stations,
        total_ticks,
        &shift.associates,
        &shift.stats,
        &shift.robots,
        &shift.demand,
        &shift.carts,
        &shift.batches,
        &step_ms,
    ))
}

/// Everything a shift keeps from tick to tick.
struct Shift {
    floor: Floor,
    total_ticks: u64,
    staffed_stations: usize,
    alloc: Allocator,
    /// Allocation costs: one 4-connected table per target.
    costs: TargetTables,
    core: CoreConfig,
    fleet: FleetState,
    battery: BatteryConfig,
    /// Distance tables the planner lacks, reused from tick to tick.
    missing: Vec<(Cell, bool)>,
    demand: Demand,
    associates: Vec<Associate>,
    carts: Carts,
    robots: Robots,
    stats: Vec<StationStats>,
    batches: Batches,
}

impl Shift {
    /// Stocks the floor, places the robots at mixed charge, hires and staffs the associates,
    /// and builds the allocator, its tables and the planner.
    fn set_up(
        mut floor: Floor,
        config: &ShiftConfig,
        rng: &mut SplitMix64,
    ) -> anyhow::Result<Shift> {
        let n_skus = sku_count(&floor);
        stock_floor(&mut floor, n_skus, rng);
        let starts = start_cells(&floor, config.robots)?;
        let aconf = alloc_config();
        let battery = aconf.battery.clone().expect("the shift models batteries");
        let mut alloc = Allocator::new(&floor, &starts, aconf);
        // Computed up front, in parallel.
        let costs = tables_for(&floor, &floor_targets(&floor));
        let core = CoreConfig {
            plan: PlanConfig {
                motion: config.motion,
                seed: config.seed,
            },
            table_cache_bytes: config.table_cache_bytes,
        };
        let agents: Vec<AgentState> = starts
            .iter()
            .map(|&cell| AgentState {
                cell,
                heading: Heading::East,
            })
            .collect();
        let mut fleet = FleetState::new(&floor.grid, &core, agents);
        // Plain PIBT: lookahead (EPIBT) measured no better here (fc-large, 5 per station:
        // starvation 10.74% against 10.85%) at 1.6x the planning time per tick.
        fleet.set_lookahead(false);
        let robots = Robots::new(config.robots, rng);
        let total_ticks = (config.hours * 3600.0).round() as u64;
        let associates = associates::hire(floor.stations.len(), total_ticks, rng);
        let staffed_stations = associates::staff_all(&floor, &mut alloc);
        let demand = Demand::new(
            &floor,
            n_skus,
            config.demand,
            associates::nominal_seconds_per_unit(),
        );
        Ok(Shift {
            total_ticks,
            staffed_stations,
            alloc,
            costs,
            core,
            fleet,
            battery,
            missing: Vec::new(),
            demand,
            carts: Carts::new(&floor),
            stats: (0..associates.len())
                .map(|_| StationStats::default())
                .collect(),
            associates,
            robots,
            batches: Batches::default(),
            floor,
        })
    }
}
