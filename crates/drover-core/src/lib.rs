//! Fleet state and the coordinator tick: goals in, one conflict-free step out.
//!
//! [`FleetState`] holds where every robot stands, its current goal, the planner's memory and
//! the distance cache. [`tick`] advances the fleet by one step and reports which robots
//! reached their goal, so the caller (the simulator's task semantics today, the allocator
//! later) can hand out the next goal. Time arrives as a [`Tick`]; this crate does no IO, reads
//! no clock and spawns nothing. Missing distance tables can be computed by the caller in
//! parallel ([`FleetState::missing_tables`], [`FleetState::insert_table`]) before the tick.
//!
//! ```
//! use drover_core::{CoreConfig, FleetState, Tick, tick};
//! use drover_grid::{Cell, Heading, load::parse_movingai_map};
//! use drover_plan::{AgentState, Motion, PlanConfig, Unlimited};
//!
//! // A 1 x 4 corridor; one robot at the west end must reach the east end.
//! let grid = parse_movingai_map("corridor.map", "type octile\nheight 1\nwidth 4\nmap\n....\n").unwrap();
//! let config = CoreConfig { plan: PlanConfig { motion: Motion::Grid4, seed: 7 }, table_cache_bytes: 1 << 20 };
//! let robots = vec![AgentState { cell: Cell(0), heading: Heading::East }];
//! let mut fleet = FleetState::new(&grid, &config, robots);
//! fleet.set_goal(0, Some(Cell(3)));
//! let mut arrivals = 0;
//! for now in 0..3 {
//!     arrivals += tick(&mut fleet, &grid, &config, Tick(now), &Unlimited).arrived.len();
//! }
//! assert_eq!(fleet.agents()[0].cell, Cell(3));
//! assert_eq!(arrivals, 1);
//! ```

pub mod coord;
mod error;
pub mod exec;
#[cfg(test)]
mod exec_tests;
pub mod health;
pub mod orders;
pub mod session;
#[cfg(test)]
mod session_tests;

use drover_grid::{Cell, DistTable, DistanceOracle, Grid};
use drover_plan::{AgentId, AgentState, Budget, Move, PlanConfig, Planner, RepairConfig};

pub use error::CoreError;

/// A point in coordinator time: one planning step per tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tick(pub u64);

/// Coordinator settings. No `Default`: the caller picks them.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Planner settings, including the motion model.
    pub plan: PlanConfig,
    /// Memory cap for cached distance tables, in bytes.
    pub table_cache_bytes: usize,
}

/// Everything the coordinator keeps between ticks.
pub struct FleetState {
    agents: Vec<AgentState>,
    goals: Vec<Option<Cell>>,
    /// Per robot: carries a pod (plans around stored pods).
    loaded: Vec<bool>,
    planner: Planner,
    oracle: DistanceOracle,
}

/// What one tick produced.
#[derive(Clone, Debug)]
pub struct Outputs {
    /// The tick these moves belong to.
    pub now: Tick,
    /// One move per robot.
    pub moves: Vec<Move>,
    /// Robots that stand on their goal after the moves.
    pub arrived: Vec<AgentId>,
}

impl FleetState {
    /// A fleet standing at `agents`, with no goals yet.
    ///
    /// # Panics
    /// If two robots share a cell or one stands on an obstacle.
    pub fn new(grid: &Grid, config: &CoreConfig, agents: Vec<AgentState>) -> FleetState {
        let mut seen = vec![false; grid.n_cells()];
        for a in &agents {
            assert!(grid.is_free(a.cell), "robot on blocked cell {:?}", a.cell);
            assert!(
                !std::mem::replace(&mut seen[a.cell.index()], true),
                "two robots on {:?}",
                a.cell
            );
        }
        let n = agents.len();
        FleetState {
            planner: Planner::new(grid, n, &config.plan),
            oracle: DistanceOracle::new(grid, config.plan.motion, config.table_cache_bytes),
            goals: vec![None; n],
            loaded: vec![false; n],
            agents,
        }
    }

    /// Plan three actions ahead (EPIBT, the default) or one cell (plain PIBT); see
    /// [`Planner::set_lookahead`].
    pub fn set_lookahead(&mut self, on: bool) {
        self.planner.set_lookahead(on);
    }

    /// Windowed repair after each step; see [`Planner::set_repair`] (`window` 0: off).
    pub fn set_repair(&mut self, config: &RepairConfig) {
        self.planner.set_repair(config);
    }

    /// Robot states.
    pub fn agents(&self) -> &[AgentState] {
        &self.agents
    }

    /// Current goals.
    pub fn goals(&self) -> &[Option<Cell>] {
        &self.goals
    }

    /// Gives robot `agent` a new goal (`None`: idle).
    pub fn set_goal(&mut self, agent: usize, goal: Option<Cell>) {
        self.goals[agent] = goal;
    }

    /// Marks robot `agent` as carrying a pod or not: a loaded robot never drives under
    /// stored pods (see [`Planner::set_loaded`]).
    pub fn set_loaded(&mut self, agent: usize, loaded: bool) {
        self.loaded[agent] = loaded;
    }

    /// Goals (with the loaded flag of the robots heading there) whose distance tables are not
    /// cached yet, without duplicates; compute them with [`DistTable::compute_for`].
    pub fn missing_tables(&self, out: &mut Vec<(Cell, bool)>) {
        out.clear();
        out.extend(
            self.goals
                .iter()
                .zip(&self.loaded)
                .filter_map(|(g, l)| g.map(|g| (g, *l)))
                .filter(|(g, l)| !self.oracle.contains_for(*g, *l)),
        );
        out.sort_unstable();
        out.dedup();
    }

    /// Adds a table computed by the caller (see [`DistTable::compute`]).
    pub fn insert_table(&mut self, table: DistTable) {
        self.oracle.insert(table);
    }

    /// The distance cache, for reports.
    pub fn oracle(&self) -> &DistanceOracle {
        &self.oracle
    }
}

/// Advances the fleet by one step: plans, applies the moves, reports arrivals.
pub fn tick(
    state: &mut FleetState,
    grid: &Grid,
    config: &CoreConfig,
    now: Tick,
    budget: &dyn Budget,
) -> Outputs {
    debug_assert_eq!(
        state.oracle.motion(),
        config.plan.motion,
        "config changed motion model"
    );
    state.planner.set_loaded(&state.loaded);
    let plan = state
        .planner
        .step(grid, &mut state.oracle, &state.agents, &state.goals, budget);
    state.agents = plan.next;
    let arrived = state
        .agents
        .iter()
        .zip(&state.goals)
        .enumerate()
        .filter(|(_, (a, g))| **g == Some(a.cell))
        .map(|(i, _)| AgentId(i as u32))
        .collect();
    Outputs {
        now,
        moves: plan.moves,
        arrived,
    }
}
