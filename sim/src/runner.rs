//! The benchmark loop: tick the fleet, feed arrivals to the task semantics, time every step.

use std::time::Instant;

use drover_core::{CoreConfig, FleetState, Tick, tick};
use drover_grid::{Cell, DistTable, Grid};
use drover_plan::{AgentState, Move, RepairConfig, Unlimited};
use rayon::prelude::*;

use crate::bound::Bound;
use crate::task_event::TaskEvent;
use crate::tasks::{TaskSource, Unit};

/// A benchmark scenario ready to run.
pub struct Scenario {
    /// Short name for reports (instance or map file).
    pub name: String,
    /// The floor.
    pub grid: Grid,
    /// Start states.
    pub starts: Vec<AgentState>,
    /// Where goals come from.
    pub source: TaskSource,
    /// The throughput bound to compare with.
    pub bound: Bound,
    /// Seconds spent computing the bound.
    pub bound_seconds: f64,
}

/// How to run a scenario.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Steps to simulate.
    pub steps: u64,
    /// Coordinator settings (motion model, seed, table cache).
    pub core: CoreConfig,
    /// Keep every move and event for a LoRR output file.
    pub record: bool,
    /// Plan on a copy of the floor whose 1-wide corridors are one-way
    /// ([`drover_grid::Grid::orient_corridors`]). The moves stay valid on the real floor,
    /// and the bound is still computed on the real floor.
    pub traffic_rules: bool,
    /// Guidance: the planner's distances count a move between two cells of open floor as
    /// this many steps ([`drover_grid::Grid::weigh_open_areas`]); 1 is off. The bound
    /// still counts plain steps.
    pub open_cost: u8,
    /// Soft traffic rules: a move against a one-way corridor costs this many steps in the
    /// planner's distances instead of being forbidden ([`drover_grid::Grid::soften_rules`]);
    /// 0 keeps the rules hard.
    pub corridor_cost: u8,
    /// Plan three actions ahead (EPIBT); off: plain PIBT.
    pub lookahead: bool,
    /// Windowed repair ([`drover_plan::Planner::set_repair`]): steps per window, `None` for
    /// the default ([`default_repair`]), 0 off.
    pub repair_window: Option<usize>,
    /// Groups of robots the repair replans per step, `None` for the default
    /// ([`default_repair`]).
    pub repair_iterations: Option<u32>,
    /// Rollouts the repair repairs per step, keeping the best ([`RepairConfig::restarts`]).
    pub repair_restarts: u32,
    /// Steps a robot that reaches its goal in the window keeps the cell
    /// ([`RepairConfig::hold`]).
    pub repair_hold: usize,
    /// Also continue last step's repaired window as a candidate
    /// ([`RepairConfig::warm`]).
    pub repair_warm: bool,
    /// LoRR 2023 errands under hard traffic rules: also compute the chain bound on the
    /// planning graph ([`Report::rules_bound`]).
    pub bound_under_rules: bool,
    /// Under `Rotate`: weigh arrival headings by the turns the next trip will probably need
    /// ([`drover_grid::Grid::weigh_arrival_headings`]), over the goals handed out at step 0
    /// (at most [`ARRIVAL_SAMPLE`] distinct ones).
    pub arrival_headings: bool,
}

/// Goals of step 0 the arrival-heading guidance samples (the first distinct ones).
pub const ARRIVAL_SAMPLE: usize = 128;

/// Robots per group the windowed repair replans (warehouse_small rotate 100 / 200: 3 gave
/// 2,603 / 5,055 errands, 4 gave 2,617 / 5,067, 8 gave 2,602 / 5,054).
pub const REPAIR_GROUP: usize = 4;

/// Fleets up to this size get the long repair window; larger ones a short one.
pub const SMALL_FLEET: usize = 2_000;

/// The repair window and groups per step for a fleet of `agents`. Up to [`SMALL_FLEET`]
/// robots: 10 steps and 5 groups per robot. A replanned group whose arrivals come no later is
/// kept, so the search drifts across equal plans, and on denser floors more groups pay:
/// warehouse_small rotate 400 gave 6,452 / 6,960 / 8,211 / 8,524 / 8,523 errands at 100 /
/// 300 / 1,000 / 2,000 / 4,000 groups per step (100 robots: 2,600 to 2,620 throughout).
/// Larger fleets: 4 steps and 1 group per robot, since the rollout costs a planner step per
/// window step (MR23-I-10, 10,000 robots: 157,460 → 179,821 errands at 31 → 125 ms per step).
pub fn default_repair(agents: usize) -> (usize, u32) {
    let n = agents as u32;
    if agents <= SMALL_FLEET {
        (10, 5 * n)
    } else {
        (4, n)
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Units finished.
    pub finished: u64,
    /// What a unit is.
    pub unit: Unit,
    /// Steps simulated.
    pub steps: u64,
    /// Agents.
    pub agents: usize,
    /// The bound.
    pub bound: Bound,
    /// Seconds spent computing the bound.
    pub bound_seconds: f64,
    /// The chain bound on the planning graph (traffic rules applied), when asked for.
    pub rules_bound: Option<f64>,
    /// Wall time of each step in ms (planning, distance tables and task bookkeeping).
    pub step_ms: Vec<f64>,
    /// Start states.
    pub starts: Vec<AgentState>,
    /// Per step, per agent moves (only with `record`).
    pub moves: Vec<Vec<Move>>,
    /// Task events (only with `record`).
    pub events: Vec<TaskEvent>,
    /// Distance tables computed.
    pub tables_computed: u64,
    /// Steps per repair window (0: no repair).
    pub repair_window: usize,
}

impl Report {
    /// Units per step.
    pub fn throughput(&self) -> f64 {
        self.finished as f64 / self.steps.max(1) as f64
    }

    /// Throughput as a percentage of the bound.
    pub fn pct_of_bound(&self) -> f64 {
        100.0 * self.throughput() / self.bound.per_step
    }

    /// Mean, 95th percentile and maximum step time in ms.
    pub fn step_ms_stats(&self) -> (f64, f64, f64) {
        if self.step_ms.is_empty() {
            return (0.0, 0.0, 0.0);
        }
        let mut sorted = self.step_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        let p95 = sorted[((sorted.len() as f64 * 0.95).ceil() as usize).clamp(1, sorted.len()) - 1];
        (mean, p95, *sorted.last().expect("not empty"))
    }
}

/// Runs a scenario. `progress` is called after every step with (step, finished so far).
pub fn run(
    mut scenario: Scenario,
    options: &RunOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Report {
    let mut planning_grid = {
        let mut grid = scenario.grid.clone();
        if options.traffic_rules {
            grid.orient_corridors();
            if options.corridor_cost > 0 {
                grid.soften_rules(&scenario.grid, options.corridor_cost);
            }
        }
        if options.open_cost > 1 {
            grid.weigh_open_areas(options.open_cost);
        }
        grid
    };
    let motion = options.core.plan.motion;
    let rules_bound = match &scenario.source {
        TaskSource::RoundRobin { tasks, .. }
            if options.bound_under_rules && options.traffic_rules && options.corridor_cost == 0 =>
        {
            // The most the rules leave reachable: plain steps on the oriented floor.
            let mut ruled = planning_grid.clone();
            ruled.clear_edge_costs();
            let b =
                crate::bound::chain_bound(&ruled, motion, &scenario.starts, tasks, options.steps);
            Some(b.per_step)
        }
        _ => None,
    };
    let mut fleet = FleetState::new(&planning_grid, &options.core, scenario.starts.clone());
    fleet.set_lookahead(options.lookahead);
    let (window, iterations) = default_repair(scenario.starts.len());
    let repair_window = options.repair_window.unwrap_or(window);
    let repair_iterations = options.repair_iterations.unwrap_or(iterations);
    fleet.set_repair(&RepairConfig {
        restarts: options.repair_restarts,
        hold: options.repair_hold,
        warm: options.repair_warm,
        ..RepairConfig::new(repair_window, repair_iterations, REPAIR_GROUP)
    });
    let mut events = Vec::new();
    let mut moves = Vec::new();
    let mut step_ms = Vec::with_capacity(options.steps as usize);
    let mut finished = 0;
    let mut missing: Vec<(Cell, bool)> = Vec::new();
    let n = scenario.starts.len();
    if let Some((_, goals)) = scenario.source.batch_step(&scenario.starts, 0, &mut events) {
        for (agent, goal) in goals.into_iter().enumerate() {
            fleet.set_goal(agent, goal);
        }
    } else {
        for agent in 0..n {
            let goal = scenario.source.assign(
                &planning_grid,
                agent,
                scenario.starts[agent],
                0,
                &mut events,
            );
            fleet.set_goal(agent, goal);
        }
    }
    if options.arrival_headings && motion == drover_grid::Motion::Rotate {
        // No table has been computed yet, so every table will start from these costs.
        let mut sample: Vec<Cell> = Vec::with_capacity(ARRIVAL_SAMPLE);
        for goal in fleet.goals().iter().flatten() {
            if sample.len() < ARRIVAL_SAMPLE && !sample.contains(goal) {
                sample.push(*goal);
            }
        }
        planning_grid.weigh_arrival_headings(&sample);
    }
    let grid = &planning_grid;
    for t in 0..options.steps {
        let started = Instant::now();
        // Distance tables for new goals, in parallel: the pure core spawns nothing itself.
        fleet.missing_tables(&mut missing);
        if missing.len() > 1 {
            let tables: Vec<DistTable> = missing
                .par_iter()
                .map(|&(g, loaded)| DistTable::compute_for(grid, g, motion, loaded))
                .collect();
            for table in tables {
                fleet.insert_table(table);
            }
        }
        let out = tick(&mut fleet, grid, &options.core, Tick(t), &Unlimited);
        if let Some((done, goals)) = scenario
            .source
            .batch_step(fleet.agents(), t + 1, &mut events)
        {
            finished += done;
            for (agent, goal) in goals.into_iter().enumerate() {
                fleet.set_goal(agent, goal);
            }
        } else {
            for agent in &out.arrived {
                let agent = agent.0 as usize;
                finished += scenario.source.arrive(agent, t + 1, &mut events);
                fleet.set_goal(agent, None);
            }
            for agent in 0..n {
                if fleet.goals()[agent].is_none() {
                    let goal = scenario.source.assign(
                        grid,
                        agent,
                        fleet.agents()[agent],
                        t + 1,
                        &mut events,
                    );
                    fleet.set_goal(agent, goal);
                }
            }
        }
        step_ms.push(started.elapsed().as_secs_f64() * 1e3);
        if options.record {
            moves.push(out.moves);
        } else {
            events.clear();
        }
        progress(t + 1, finished);
    }
    Report {
        name: scenario.name,
        finished,
        unit: scenario.source.unit(),
        steps: options.steps,
        agents: n,
        bound: scenario.bound,
        bound_seconds: scenario.bound_seconds,
        rules_bound,
        step_ms,
        starts: scenario.starts,
        moves,
        events,
        tables_computed: fleet.oracle().stats().computed,
        repair_window,
    }
}
