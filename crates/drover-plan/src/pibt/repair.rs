//! Windowed repair (LNS): roll the step out a few steps, then replan small groups by A*.
//!
//! After the step is planned, the planner plans `window - 1` more on copies of the states
//! (goals fixed), which gives every agent a collision-free path through the window. Then,
//! as in WPPL (the LoRR 2023 winner), it repeatedly takes a delayed agent and the agents
//! standing in its way, removes their paths, replans them one by one by space-time A* around
//! everyone else's, and keeps the new paths when their summed cost did not rise (drifting
//! across equal plans is what pays on dense floors). An agent's cost is the step it reaches
//! its goal (it leaves the window there, or keeps the cell `hold` more steps) plus its
//! table's value there (the cost of its arrival heading, 0 unless the grid weighs them), or
//! the window plus its distance left. Only the first step of each path is executed.
//!
//! A step may repair several candidate windows and execute the cheapest: `restarts` rollouts
//! (their ties fall differently and the LNS draws other groups) and, with `warm`, last step's
//! chosen window one step on (paths kept where the agent made its planned move and kept its
//! goal; the others planned by A* around them), so the search carries over between steps.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use drover_grid::{Cell, DistanceOracle, Grid, Heading, Motion, TableRef, UNREACHABLE};

use super::{FAR, NONE, Planner};
use crate::{AgentState, Budget, Move, RepairConfig, SplitMix64, StepPlan, Turn, WaitReason};

/// States one A* search may expand before it gives up (the group keeps its old paths).
const EXPANSIONS: usize = 4_000;

/// Windowed repair settings and buffers.
pub(super) struct Repair {
    /// The settings (window, group and restarts at least 1).
    config: RepairConfig,
    /// The window chosen last step (paths from that step's states; a path that ends on its
    /// goal arrived there) and the goals it was planned for; empty when there is none to
    /// continue.
    prev: Vec<Vec<AgentState>>,
    prev_goals: Vec<Option<Cell>>,
    /// The best candidate's window so far this step.
    best: Vec<Vec<AgentState>>,
    /// Per agent: its states from step 0; an agent that reaches its goal ends there.
    paths: Vec<Vec<AgentState>>,
    /// Per agent: whether its path reached the goal (and it leaves the window).
    arrived: Vec<bool>,
    /// Per agent: replanned by the repair (has a goal it can reach, not held).
    free: Vec<bool>,
    /// Per (step, cell): the agent there, or `NONE`.
    occ: Vec<u32>,
    /// A* closed set per (step, cell, heading), by search epoch.
    seen: Vec<u32>,
    epoch: u32,
    nodes: Vec<Node>,
    heap: BinaryHeap<Reverse<(u32, u32, u32)>>,
}

#[derive(Clone, Copy)]
struct Node {
    state: AgentState,
    t: u32,
    parent: u32,
}

impl Repair {
    pub(super) fn new(config: &RepairConfig) -> Repair {
        Repair {
            config: RepairConfig {
                window: config.window.max(1),
                group: config.group.max(1),
                restarts: config.restarts.max(1),
                ..*config
            },
            prev: Vec::new(),
            prev_goals: Vec::new(),
            best: Vec::new(),
            paths: Vec::new(),
            arrived: Vec::new(),
            free: Vec::new(),
            occ: Vec::new(),
            seen: Vec::new(),
            epoch: 0,
            nodes: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }
}

/// Where a candidate window comes from.
#[derive(Clone, Copy)]
enum Start {
    /// Planned afresh by the planner, step by step.
    Rollout,
    /// Last step's chosen window, one step on.
    Warm,
}

/// What one step's repair reads: the floor, this step's goal tables and the agents.
struct Step<'a> {
    grid: &'a Grid,
    oracle: &'a DistanceOracle,
    tables: &'a [Option<TableRef>],
    agents: &'a [AgentState],
    goals: &'a [Option<Cell>],
    /// Cells of the floor: the stride of the reservation table.
    cells: usize,
}

/// The planner state a rollout changes and must give back.
struct Saved {
    priority: Vec<f64>,
    last_goal: Vec<Option<Cell>>,
    stuck: Vec<u32>,
    fallback_left: Vec<u32>,
    rng: SplitMix64,
}

impl Planner {
    /// Improves `plan` (the step just planned for `agents`) by windowed repair.
    pub(super) fn repair_step(
        &mut self,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        plan: StepPlan,
        budget: &dyn Budget,
    ) -> StepPlan {
        let Some(mut rep) = self.repair.take() else {
            return plan;
        };
        // Candidates: last step's window continued (warm), then each restart rolled out
        // afresh (the rollout's ties fall another way, the LNS draws other groups); the
        // repaired window with the lowest summed cost is kept.
        // The tables of this step's goals: the rollouts plan for the same goals, so they
        // keep these handles. The agents the repair plans: a goal they can reach.
        let tables = self.tables.clone();
        rep.free.clear();
        rep.free.extend((0..agents.len()).map(|i| {
            goals[i].is_some()
                && tables[i].is_some_and(|t| {
                    oracle.table(t).get(grid, agents[i].cell, agents[i].heading) != UNREACHABLE
                })
        }));
        let mut best: Option<(StepPlan, u64)> = None;
        let warm = rep.config.warm && !rep.prev.is_empty();
        for candidate in 0..rep.config.restarts + u32::from(warm) {
            if candidate > 0 && budget.exhausted() {
                break;
            }
            let start = if warm && candidate == 0 {
                Start::Warm
            } else {
                Start::Rollout
            };
            if let Some((p, c)) = self.repair_with(
                &mut rep, grid, oracle, &tables, agents, goals, &plan, budget, start,
            ) && best.as_ref().is_none_or(|(_, bc)| c < *bc)
            {
                best = Some((p, c));
                if rep.config.warm {
                    // Keep the window; the next candidate refills `paths` from scratch.
                    std::mem::swap(&mut rep.best, &mut rep.paths);
                }
            }
        }
        rep.prev.clear();
        if rep.config.warm && best.is_some() {
            std::mem::swap(&mut rep.prev, &mut rep.best);
            rep.prev_goals.clear();
            rep.prev_goals.extend_from_slice(goals);
        }
        self.repair = Some(rep);
        best.map_or(plan, |(p, _)| p)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the step's inputs and the repair's buffers, all distinct"
    )]
    fn repair_with(
        &mut self,
        rep: &mut Repair,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        tables: &[Option<TableRef>],
        agents: &[AgentState],
        goals: &[Option<Cell>],
        plan: &StepPlan,
        budget: &dyn Budget,
        start: Start,
    ) -> Option<(StepPlan, u64)> {
        let n = agents.len();
        let w = rep.config.window;
        let cells = (grid.width() * grid.height()) as usize;
        if let Start::Rollout = start {
            self.rollout(rep, grid, oracle, agents, goals, plan, budget);
        }
        let oracle: &DistanceOracle = oracle;
        let step = Step {
            grid,
            oracle,
            tables,
            agents,
            goals,
            cells,
        };
        if let Start::Warm = start
            && !self.continue_window(rep, &step)
        {
            return None;
        }

        rep.arrived.clear();
        rep.arrived.resize(n, false);
        for (i, goal) in goals.iter().enumerate() {
            let Some(goal) = *goal else { continue };
            if let Some(k) = (1..=w).find(|&k| rep.paths[i][k].cell == goal) {
                rep.paths[i].truncate(k + 1);
                rep.arrived[i] = true;
            }
        }
        rep.occ.clear();
        rep.occ.resize((w + 1) * cells, NONE);
        for i in 0..n {
            reserve(rep, cells, i, true);
        }

        let cost = |rep: &Repair, i: usize| -> u32 {
            let p = &rep.paths[i];
            let last = p[p.len() - 1];
            // Arrived: the arrival step plus the cost of the heading it arrives in (0 unless
            // the grid weighs arrival headings); else the window plus the distance left.
            let steps = if rep.arrived[i] { p.len() - 1 } else { w } as u32;
            match tables[i] {
                Some(t) => match oracle.table(t).get(grid, last.cell, last.heading) {
                    UNREACHABLE => FAR as u32,
                    d => steps + d,
                },
                None => 0,
            }
        };
        let ideal = |i: usize| -> u32 {
            let a = agents[i];
            match tables[i] {
                Some(t) => match oracle.table(t).get(grid, a.cell, a.heading) {
                    UNREACHABLE => FAR as u32,
                    d => d.max(1),
                },
                None => 0,
            }
        };

        let mut group: Vec<usize> = Vec::with_capacity(rep.config.group);
        let mut old: Vec<(usize, Vec<AgentState>, bool)> = Vec::with_capacity(rep.config.group);
        let candidates: Vec<usize> = (0..n).filter(|&i| rep.free[i]).collect();
        if candidates.is_empty() {
            return None;
        }
        for _ in 0..rep.config.iterations {
            if budget.exhausted() {
                break;
            }
            // A delayed agent, and the agents on its way.
            let mut seed = NONE as usize;
            for _ in 0..8 {
                let i = candidates[(self.rng.next_u64() % candidates.len() as u64) as usize];
                if cost(rep, i) > ideal(i) {
                    seed = i;
                    break;
                }
            }
            if seed == NONE as usize {
                continue;
            }
            group.clear();
            group.push(seed);
            self.blockers(rep, &step, seed, &mut group);
            if group.len() < 2 {
                continue;
            }
            let before: u32 = group.iter().map(|&i| cost(rep, i)).sum();
            old.clear();
            for &i in &group {
                reserve(rep, cells, i, false);
                old.push((i, std::mem::take(&mut rep.paths[i]), rep.arrived[i]));
            }
            // Replan in a random order.
            for k in (1..group.len()).rev() {
                let j = (self.rng.next_u64() % (k as u64 + 1)) as usize;
                group.swap(k, j);
            }
            let mut ok = true;
            let mut done = 0;
            for &i in &group {
                if !self.replan(rep, &step, i) {
                    ok = false;
                    break;
                }
                done += 1;
            }
            let after: u32 = if ok {
                group.iter().map(|&i| cost(rep, i)).sum()
            } else {
                u32::MAX
            };
            if after > before {
                // Put the old paths back.
                for &i in group.iter().take(done) {
                    reserve(rep, cells, i, false);
                }
                for (i, path, arrived) in old.drain(..) {
                    rep.paths[i] = path;
                    rep.arrived[i] = arrived;
                    reserve(rep, cells, i, true);
                }
            }
        }

        let mut moves = plan.moves.clone();
        for i in 0..n {
            if !rep.free[i] {
                continue;
            }
            let (a, b) = (rep.paths[i][0], rep.paths[i][1]);
            moves[i] = if a.cell != b.cell {
                match self.motion {
                    Motion::Rotate => Move::Forward,
                    Motion::Grid4 => Move::Go(grid.heading_between(a.cell, b.cell)?),
                }
            } else if a.heading != b.heading && self.motion == Motion::Rotate {
                if a.heading.clockwise() == b.heading {
                    Move::Turn(Turn::Clockwise)
                } else {
                    Move::Turn(Turn::CounterClockwise)
                }
            } else {
                match plan.moves[i] {
                    Move::Wait(r) => Move::Wait(r),
                    _ if goals[i] == Some(a.cell) => Move::Wait(WaitReason::AtGoal),
                    _ => Move::Wait(WaitReason::Blocked),
                }
            };
        }
        let total: u64 = (0..n)
            .filter(|&i| rep.free[i])
            .map(|i| u64::from(cost(rep, i)))
            .sum();
        match crate::verify(grid, self.motion, agents, &moves) {
            Ok(next) => Some((StepPlan { moves, next }, total)),
            Err(violations) => {
                debug_assert!(false, "repair produced an invalid step: {violations:?}");
                None
            }
        }
    }

    /// Rolls the step out: the rest of the window planned as the planner would, goals
    /// fixed, on copies of the states (the planner's own state is given back).
    #[allow(
        clippy::too_many_arguments,
        reason = "the step's inputs and the repair's buffers, all distinct"
    )]
    fn rollout(
        &mut self,
        rep: &mut Repair,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        plan: &StepPlan,
        budget: &dyn Budget,
    ) {
        let saved = Saved {
            priority: self.priority.clone(),
            last_goal: self.last_goal.clone(),
            stuck: self.stuck.clone(),
            fallback_left: self.fallback_left.clone(),
            rng: self.rng.clone(),
        };
        let n = agents.len();
        let w = rep.config.window;
        rep.paths.resize_with(n, Vec::new);
        for (i, p) in rep.paths.iter_mut().enumerate() {
            p.clear();
            p.push(agents[i]);
            p.push(plan.next[i]);
        }
        let mut states = plan.next.clone();
        for _ in 2..=w {
            let next = self
                .plan(grid, oracle, &states, goals, &[], false, budget)
                .next;
            for (i, p) in rep.paths.iter_mut().enumerate() {
                p.push(next[i]);
            }
            states = next;
        }
        self.priority = saved.priority;
        self.last_goal = saved.last_goal;
        self.stuck = saved.stuck;
        self.fallback_left = saved.fallback_left;
        self.rng = saved.rng;
    }

    /// Last step's window continued: each agent that made the move it planned and kept its
    /// goal keeps the rest of its path (waiting at the end); the others are planned by A*
    /// around them. False if there is nothing to continue or an agent finds no path.
    fn continue_window(&self, rep: &mut Repair, step: &Step<'_>) -> bool {
        let (agents, goals, cells) = (step.agents, step.goals, step.cells);
        let n = agents.len();
        let w = rep.config.window;
        // Every agent must be one the repair plans (a goal it can reach): the others keep
        // the planner's move, which the continued window did not plan around.
        if rep.prev.len() != n || !rep.free.iter().all(|f| *f) {
            return false;
        }
        rep.paths.resize_with(n, Vec::new);
        rep.arrived.clear();
        rep.arrived.resize(n, false);
        rep.occ.clear();
        rep.occ.resize((w + 1) * cells, NONE);
        let mut broken: Vec<usize> = Vec::new();
        for i in 0..n {
            let prev = &rep.prev[i];
            let kept = prev.len() >= 3 && prev[1] == agents[i] && rep.prev_goals[i] == goals[i];
            let path = &mut rep.paths[i];
            path.clear();
            if !kept {
                broken.push(i);
                continue;
            }
            path.extend_from_slice(&prev[1..]);
            if Some(path[path.len() - 1].cell) == goals[i] {
                rep.arrived[i] = true;
            } else {
                let last = path[path.len() - 1];
                path.resize(w + 1, last);
            }
            reserve(rep, cells, i, true);
        }
        broken.into_iter().all(|i| self.replan(rep, step, i))
    }

    /// Plans agent `i` (which has a goal table) by A* around the reserved paths and reserves
    /// the new path; false if the search gave up.
    fn replan(&self, rep: &mut Repair, step: &Step<'_>, i: usize) -> bool {
        let table = step
            .oracle
            .table(step.tables[i].expect("replanned agents have a goal"));
        let (start, goal) = (step.agents[i], step.goals[i]);
        match self.space_time_astar(rep, step.grid, table, start, goal, i, step.cells) {
            Some(arrived) => {
                rep.arrived[i] = arrived;
                reserve(rep, step.cells, i, true);
                true
            }
            None => false,
        }
    }

    /// Adds to `group` the agents standing on `seed`'s shortest way through the window.
    fn blockers(&self, rep: &Repair, step: &Step<'_>, seed: usize, group: &mut Vec<usize>) {
        let (grid, cells) = (step.grid, step.cells);
        let Some(table) = step.tables[seed] else {
            return;
        };
        let table = step.oracle.table(table);
        let mut s = step.agents[seed];
        for t in 1..=rep.config.window {
            // The successor that brings it closest, ignoring everyone.
            let mut best: Option<(u32, AgentState)> = None;
            for next in successors(grid, self.motion, s) {
                if self.loaded[seed] && !grid.loaded_may_enter(next.cell, self.last_goal[seed]) {
                    continue;
                }
                let d = table.get(grid, next.cell, next.heading);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, next));
                }
            }
            let Some((d, next)) = best else { return };
            for k in [t - 1, t] {
                let j = rep.occ[k * cells + next.cell.index()];
                if j != NONE && j as usize != seed && rep.free[j as usize] {
                    let j = j as usize;
                    if !group.contains(&j) && group.len() < rep.config.group {
                        group.push(j);
                    }
                }
            }
            if d == 0 || group.len() >= rep.config.group {
                return;
            }
            s = next;
        }
    }

    /// Space-time A* for agent `i` from `start` around the reserved paths; writes its path and
    /// returns whether it reaches the goal inside the window, or `None` if the search gave up.
    #[allow(
        clippy::too_many_arguments,
        reason = "the search's read-only context, all distinct"
    )]
    fn space_time_astar(
        &self,
        rep: &mut Repair,
        grid: &Grid,
        table: &drover_grid::DistTable,
        start: AgentState,
        goal: Option<Cell>,
        i: usize,
        cells: usize,
    ) -> Option<bool> {
        let w = rep.config.window as u32;
        let headings = if self.motion == Motion::Rotate { 4 } else { 1 };
        let size = (rep.config.window + 1) * cells * headings;
        if rep.seen.len() < size {
            rep.seen.resize(size, 0);
        }
        rep.epoch = rep.epoch.wrapping_add(1);
        if rep.epoch == 0 {
            rep.seen.fill(0);
            rep.epoch = 1;
        }
        let key = |s: AgentState, t: u32| -> usize {
            let h = if headings == 4 { s.heading.index() } else { 0 };
            ((t as usize * cells) + s.cell.index()) * headings + h
        };
        let h = |s: AgentState| table.get(grid, s.cell, s.heading);
        rep.nodes.clear();
        rep.heap.clear();
        rep.nodes.push(Node {
            state: start,
            t: 0,
            parent: NONE,
        });
        rep.heap.push(Reverse((h(start), w, 0)));
        let mut expanded = 0;
        while let Some(Reverse((_, _, idx))) = rep.heap.pop() {
            let node = rep.nodes[idx as usize];
            let k = key(node.state, node.t);
            if rep.seen[k] == rep.epoch {
                continue;
            }
            rep.seen[k] = rep.epoch;
            let at_goal = node.t >= 1
                && Some(node.state.cell) == goal
                && (node.t as usize + 1
                    ..=(node.t as usize + rep.config.hold).min(rep.config.window))
                    .all(|t| rep.occ[t * cells + node.state.cell.index()] == NONE);
            if at_goal || node.t == w {
                let path = &mut rep.paths[i];
                path.clear();
                let mut at = idx;
                while at != NONE {
                    path.push(rep.nodes[at as usize].state);
                    at = rep.nodes[at as usize].parent;
                }
                path.reverse();
                return Some(at_goal);
            }
            expanded += 1;
            if expanded > EXPANSIONS {
                return None;
            }
            let t = node.t as usize;
            for next in successors(grid, self.motion, node.state) {
                if next.cell != node.state.cell
                    && self.loaded[i]
                    && !grid.loaded_may_enter(next.cell, goal)
                {
                    continue;
                }
                // Vertex: nobody there next step; swap: nobody coming the other way.
                if rep.occ[(t + 1) * cells + next.cell.index()] != NONE {
                    continue;
                }
                if next.cell != node.state.cell {
                    let j = rep.occ[t * cells + next.cell.index()];
                    if j != NONE && rep.occ[(t + 1) * cells + node.state.cell.index()] == j {
                        continue;
                    }
                }
                let d = h(next);
                if d == UNREACHABLE || rep.seen[key(next, node.t + 1)] == rep.epoch {
                    continue;
                }
                rep.nodes.push(Node {
                    state: next,
                    t: node.t + 1,
                    parent: idx,
                });
                let f = node.t + 1 + d;
                rep.heap
                    .push(Reverse((f, w - node.t - 1, rep.nodes.len() as u32 - 1)));
            }
        }
        None
    }
}

/// The states reachable in one action (waiting included).
fn successors(grid: &Grid, motion: Motion, s: AgentState) -> impl Iterator<Item = AgentState> {
    let mut out = [None; 5];
    out[0] = Some(s);
    match motion {
        Motion::Rotate => {
            out[1] = Some(AgentState {
                cell: s.cell,
                heading: s.heading.clockwise(),
            });
            out[2] = Some(AgentState {
                cell: s.cell,
                heading: s.heading.counter_clockwise(),
            });
            out[3] = grid.neighbor(s.cell, s.heading).map(|cell| AgentState {
                cell,
                heading: s.heading,
            });
        }
        Motion::Grid4 => {
            for (k, h) in Heading::ALL.into_iter().enumerate() {
                out[k + 1] = grid
                    .neighbor(s.cell, h)
                    .map(|cell| AgentState { cell, heading: h });
            }
        }
    }
    out.into_iter().flatten()
}

/// Writes (`on`) or clears agent `i`'s path in the reservation table.
fn reserve(rep: &mut Repair, cells: usize, i: usize, on: bool) {
    let value = if on { i as u32 } else { NONE };
    for (t, s) in rep.paths[i].iter().enumerate() {
        rep.occ[t * cells + s.cell.index()] = value;
    }
    if rep.arrived[i] {
        // An arrived agent still stands on its goal while it turns towards the next one.
        let k = rep.paths[i].len() - 1;
        let cell = rep.paths[i][k].cell.index();
        for t in k + 1..=(k + rep.config.hold).min(rep.config.window) {
            let slot = &mut rep.occ[t * cells + cell];
            if on && *slot == NONE {
                *slot = value;
            } else if !on && *slot == i as u32 {
                *slot = NONE;
            }
        }
    }
}
