//! Lifelong multi-agent path planning on a grid, one step at a time.
//!
//! [`Planner::step`] advances every agent by one action: under [`Motion::Grid4`] a move to a
//! neighbour or a wait, under [`Motion::Rotate`] forward, a quarter turn or a wait. It runs
//! PIBT (priority inheritance with backtracking) over exact per-goal distances from
//! [`drover_grid::DistanceOracle`], so it respects one-way edges and the cost of turning;
//! each agent looks three actions ahead (EPIBT), and agents stuck in knots are planned by
//! plain PIBT. Optionally ([`Planner::set_repair`]) each step is then repaired over a window
//! by LNS: small groups replanned by space-time A* around everyone else's paths, over one or
//! more rollouts and, if asked, last step's window carried on ([`RepairConfig`]).
//!
//! The planner never fails: an agent that cannot move gets [`Move::Wait`] with a
//! [`WaitReason`]. Every step is checked by the independent [`verify`] (the same checker the
//! tests use) before it is returned. It is deterministic for a given seed. It does no IO,
//! reads no clock and spawns nothing; a time budget arrives as a [`Budget`] the caller owns.
//!
//! ```text
//! let mut planner = Planner::new(&grid, agents.len(), &PlanConfig::for_tests(Motion::Grid4));
//! let plan = planner.step(&grid, &mut oracle, &agents, &goals, &Unlimited);
//! agents = plan.next;
//! ```

mod pibt;
mod rng;
mod verify;

pub use drover_grid::Motion;
pub use pibt::Planner;
pub use rng::SplitMix64;
pub use verify::{Violation, apply, verify};

use drover_grid::{Cell, Heading};

/// An agent (robot) by its index in the agent list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub u32);

/// Where an agent stands and which way it faces (the heading is kept but unused in `Grid4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AgentState {
    /// The cell.
    pub cell: Cell,
    /// The heading.
    pub heading: Heading,
}

/// A quarter turn in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Turn {
    /// 90° clockwise (LoRR `R`).
    Clockwise,
    /// 90° counter-clockwise (LoRR `C`).
    CounterClockwise,
}

/// One agent's action for one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Move {
    /// `Grid4`: move one cell towards the heading.
    Go(Heading),
    /// `Rotate`: move one cell in the facing direction (LoRR `F`).
    Forward,
    /// `Rotate`: turn in place.
    Turn(Turn),
    /// Stay, and why.
    Wait(WaitReason),
}

/// Why an agent waits this step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitReason {
    /// It stands on its goal.
    AtGoal,
    /// It has no goal.
    Idle,
    /// Its goal cannot be reached from here (one-way edges, walls).
    NoPath,
    /// The cell it wants is taken by another agent this step.
    CellTaken {
        /// The agent holding the cell.
        by: AgentId,
    },
    /// It yields: every cell it could take is reserved or would block a higher-priority agent.
    Blocked,
    /// The executor holds it: its robot lags behind the plan.
    Held,
}

/// Planner settings. No `Default`: the caller picks them.
#[derive(Clone, Debug)]
pub struct PlanConfig {
    /// The motion model.
    pub motion: Motion,
    /// Seed for tie-breaking; equal seeds give equal plans.
    pub seed: u64,
}

impl PlanConfig {
    /// Settings for tests: the given motion model, seed 1.
    pub fn for_tests(motion: Motion) -> PlanConfig {
        PlanConfig { motion, seed: 1 }
    }
}

/// Windowed repair settings ([`Planner::set_repair`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepairConfig {
    /// Steps per window; 0 turns the repair off.
    pub window: usize,
    /// Groups (neighbourhoods) replanned per rollout.
    pub iterations: u32,
    /// Agents per group.
    pub group: usize,
    /// Rollouts per step, each repaired on its own; the one with the lowest summed cost is
    /// executed. More than one pays on light traffic with long windows, where a rollout's
    /// early choices decide what the groups can reach.
    pub restarts: u32,
    /// Steps an agent that reaches its goal inside the window keeps the goal cell afterwards
    /// (under `Rotate` it usually turns there before it leaves for its next goal). 0 frees
    /// the cell at once.
    pub hold: usize,
    /// Also continue last step's chosen window (one step on, agents that deviated or got a
    /// new goal replanned by A*) as a candidate, so the search carries over from step to
    /// step as well as restarting.
    pub warm: bool,
}

impl RepairConfig {
    /// `iterations` groups of `group` agents over `window` steps, one rollout, no hold.
    pub fn new(window: usize, iterations: u32, group: usize) -> RepairConfig {
        RepairConfig {
            window,
            iterations,
            group,
            restarts: 1,
            hold: 0,
            warm: false,
        }
    }
}

/// The time a step may take, owned by the caller (this crate reads no clock).
pub trait Budget {
    /// Whether optional work must stop now. The basic step is always completed.
    fn exhausted(&self) -> bool;
}

/// A budget that never runs out.
pub struct Unlimited;

impl Budget for Unlimited {
    fn exhausted(&self) -> bool {
        false
    }
}

/// One planned step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPlan {
    /// One move per agent.
    pub moves: Vec<Move>,
    /// The states after the moves.
    pub next: Vec<AgentState>,
}

#[cfg(test)]
mod tests;
