//! The coordinator's part of a shift tick: the allocator matches robots to tasks from their
//! cells and charge, then the planner moves every robot one step towards its goal.

use drover_alloc::assign::Method;
use drover_alloc::{Allocator, Event, RobotView, TargetTables};
use drover_core::{CoreConfig, FleetState, Tick, tick};
use drover_grid::{Cell, DistTable, Grid};
use drover_plan::{AgentState, Unlimited};
use rayon::prelude::*;

/// Allocation batches by how they were solved.
#[derive(Default)]
pub(super) struct Batches {
    /// Solved exactly (Hungarian method).
    pub(super) optimal: u64,
    /// Solved greedily.
    pub(super) greedy: u64,
}

/// One allocator tick over the robots at `agents` with `batteries`; returns its events.
pub(super) fn allocate(
    now: u64,
    alloc: &mut Allocator,
    agents: &[AgentState],
    batteries: &[f64],
    costs: &mut TargetTables,
    batches: &mut Batches,
) -> Vec<Event> {
    let views: Vec<RobotView> = agents
        .iter()
        .zip(batteries)
        .map(|(a, &battery)| RobotView {
            cell: a.cell,
            battery,
        })
        .collect();
    let report = alloc.tick(now, &views, costs);
    match report.method {
        Some(Method::Optimal) => batches.optimal += 1,
        Some(Method::Greedy) => batches.greedy += 1,
        None => {}
    }
    report.events
}

/// One planning step towards the allocator's goals, computing missing distance tables in
/// parallel first; returns where the robots stood before it.
pub(super) fn plan(
    now: u64,
    fleet: &mut FleetState,
    alloc: &Allocator,
    grid: &Grid,
    core: &CoreConfig,
    missing: &mut Vec<(Cell, bool)>,
) -> Vec<AgentState> {
    for r in 0..fleet.agents().len() {
        fleet.set_goal(r, alloc.goals()[r]);
        fleet.set_loaded(r, alloc.loaded(r as u32));
    }
    fleet.missing_tables(missing);
    if !missing.is_empty() {
        let tables: Vec<DistTable> = missing
            .par_iter()
            .map(|&(g, loaded)| DistTable::compute_for(grid, g, core.plan.motion, loaded))
            .collect();
        for t in tables {
            fleet.insert_table(t);
        }
    }
    let before: Vec<AgentState> = fleet.agents().to_vec();
    tick(fleet, grid, core, Tick(now), &Unlimited);
    before
}
