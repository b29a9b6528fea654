//! PIBT, one step for every agent: priority inheritance with backtracking over cells, then
//! (under `Rotate`) turning the chosen cells into forward/turn/wait actions.
//!
//! Okumura et al., "Priority Inheritance with Backtracking for Iterative Multi-agent Path
//! Finding" (IJCAI 2019, AIJ 2022). Agents go in priority order (priority grows every step an
//! agent is away from its goal); each takes its best free neighbour by exact goal distance.
//! If that cell's occupant has not moved yet, it inherits the priority and must move first
//! (never into the cell of the agent that pushed it); if it cannot, the pusher tries its next
//! candidate. An agent with nowhere to go stays.
//!
//! Under `Rotate` the chosen cell is an intention: an agent facing it moves forward, any other
//! turns towards it. A forward move is then kept only if the cell ahead is free or its
//! occupant moves forward too (LoRR Start-Kit's `moveCheck`), so nobody drives into a robot
//! that is still turning.

use drover_grid::{Cell, DistanceOracle, Grid, Heading, Motion, TableRef, UNREACHABLE};

use crate::{
    AgentId, AgentState, Budget, Move, PlanConfig, RepairConfig, SplitMix64, StepPlan, Turn,
    WaitReason,
};

mod epibt;
mod repair;

const NONE: u32 = u32::MAX;

/// The distance a sort key gives a state the goal cannot be reached from.
const FAR: u64 = 1 << 20;

/// Steps an agent may wait in a row (away from its goal) under lookahead before plain PIBT
/// plans it. Three actions ahead cannot untangle a knot that needs a longer chain of robots
/// to turn and give way; PIBT's cell claims do, over several steps. Under `Rotate` the
/// fallback pays almost at once: on LoRR 2024 WAREHOUSE (5,000 steps) 2 / 5 waits gave
/// 125,720 / 120,905 tasks, and the whole step handed to PIBT after 20 gave 112,693. Under
/// `Grid4` the lookahead itself makes way well, and 2 cost sorting 800 3.4% (20: +0.5%).
fn stuck_steps(motion: Motion) -> u32 {
    match motion {
        Motion::Rotate => 2,
        Motion::Grid4 => 20,
    }
}

/// Steps of plain PIBT for a stuck agent after that.
const FALLBACK_STEPS: u32 = 10;

/// The lifelong planner: keeps priorities and reusable buffers between steps.
pub struct Planner {
    motion: Motion,
    rng: SplitMix64,
    /// Steps since the agent's goal last changed or was reached, plus a tie-breaker in [0, 1).
    priority: Vec<f64>,
    last_goal: Vec<Option<Cell>>,
    /// Per agent: carries a pod, so it may not pass under stored pods ([`Planner::set_loaded`]).
    loaded: Vec<bool>,
    /// Per agent, this step: its goal cannot be reached from where it stands.
    no_path: Vec<bool>,
    /// Per cell: the agent standing there now, or `NONE`.
    occupied_now: Vec<u32>,
    /// Per cell: the agent that reserved it for the next step, or `NONE`.
    occupied_next: Vec<u32>,
    /// Per agent: the reserved next cell, or `NONE` while undecided.
    next_cell: Vec<u32>,
    tables: Vec<Option<TableRef>>,
    order: Vec<u32>,
    /// `moveCheck` memo: 0 unknown, 1 in progress, 2 moves, 3 waits.
    check: Vec<u8>,
    /// Plan three actions ahead (EPIBT) instead of one cell.
    use_lookahead: bool,
    lookahead: epibt::Lookahead,
    /// Per agent: steps in a row it waited away from its goal.
    stuck: Vec<u32>,
    /// Per agent: steps left in which plain PIBT plans it, before the lookahead plans the
    /// rest (it waited [`stuck_steps`] in a row).
    fallback_left: Vec<u32>,
    /// Windowed repair after each step ([`Planner::set_repair`]), off by default.
    repair: Option<repair::Repair>,
}

/// A candidate next cell with its sort key.
#[derive(Clone, Copy)]
struct Candidate {
    key: u64,
    cell: Cell,
}

impl Planner {
    /// A planner for `n_agents` agents on `grid`.
    pub fn new(grid: &Grid, n_agents: usize, config: &PlanConfig) -> Planner {
        let mut planner = Planner {
            motion: config.motion,
            rng: SplitMix64(config.seed),
            priority: Vec::new(),
            last_goal: Vec::new(),
            loaded: Vec::new(),
            no_path: Vec::new(),
            occupied_now: vec![NONE; grid.n_cells()],
            occupied_next: vec![NONE; grid.n_cells()],
            next_cell: Vec::new(),
            tables: Vec::new(),
            order: Vec::new(),
            check: Vec::new(),
            use_lookahead: true,
            // Built on the first lookahead step.
            lookahead: epibt::Lookahead::default(),
            stuck: Vec::new(),
            fallback_left: Vec::new(),
            repair: None,
        };
        planner.resize(n_agents);
        planner
    }

    fn resize(&mut self, n: usize) {
        while self.priority.len() < n {
            let tie = self.rng.next_f64();
            self.priority.push(tie);
        }
        self.priority.truncate(n);
        self.last_goal.resize(n, None);
        self.loaded.resize(n, false);
        self.no_path.resize(n, false);
        self.next_cell.resize(n, NONE);
        self.tables.resize(n, None);
        self.check.resize(n, 0);
        self.stuck.resize(n, 0);
        self.fallback_left.resize(n, 0);
    }

    /// Whether agents plan three actions ahead (EPIBT, the default) or one cell (plain PIBT;
    /// under `Rotate`, then turn towards it).
    pub fn set_lookahead(&mut self, on: bool) {
        self.use_lookahead = on;
    }

    /// Windowed repair (LNS, as in WPPL): after each step, roll it out `config.window` steps
    /// and replan groups of agents by space-time A*, keeping new paths whose summed arrival
    /// times are no later ([`RepairConfig`]). `window` 0 turns it off (the default). Only
    /// [`Planner::step`] repairs; [`Planner::step_for_execution`] never does.
    pub fn set_repair(&mut self, config: &RepairConfig) {
        self.repair = (config.window > 0).then(|| repair::Repair::new(config));
    }

    /// Marks which agents carry a pod (`loaded[i]`; missing entries are empty). A loaded agent
    /// never moves into a storage cell other than its goal: the pods stored there would
    /// collide with the one it carries (empty robots drive under stored pods). Kept until
    /// changed.
    pub fn set_loaded(&mut self, loaded: &[bool]) {
        let n = self.loaded.len().max(loaded.len());
        self.loaded.clear();
        self.loaded.extend_from_slice(loaded);
        self.loaded.resize(n, false);
    }

    /// Plans one step for every agent. `goals[i]` is agent i's current goal (`None`: idle).
    ///
    /// Never fails: an agent that cannot move gets `Move::Wait` with a reason. Missing distance
    /// tables are computed through `oracle`; a caller with threads can insert them first.
    ///
    /// # Panics
    /// If `agents` and `goals` differ in length, or an agent stands off the map or two agents
    /// share a cell (the caller's state is corrupt).
    pub fn step(
        &mut self,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        budget: &dyn Budget,
    ) -> StepPlan {
        let plan = self.plan(grid, oracle, agents, goals, &[], false, budget);
        self.repair_step(grid, oracle, agents, goals, plan, budget)
    }

    /// Plans one step for execution on real robots: agents with `held[i]` set wait (their
    /// robot lags behind the plan), and no group of agents rotates in a cycle. A robot may
    /// enter a cell only after its occupant has left, which never happens in a cycle, so the
    /// step must not contain one: every agent in or behind a cycle waits instead.
    ///
    /// # Panics
    /// As [`Planner::step`], and if `held` is not one flag per agent.
    pub fn step_for_execution(
        &mut self,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        held: &[bool],
        budget: &dyn Budget,
    ) -> StepPlan {
        assert_eq!(held.len(), agents.len(), "one hold flag per agent");
        self.plan(grid, oracle, agents, goals, held, true, budget)
    }

    fn plan(
        &mut self,
        grid: &Grid,
        oracle: &mut DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        held: &[bool],
        acyclic: bool,
        _budget: &dyn Budget,
    ) -> StepPlan {
        assert_eq!(agents.len(), goals.len(), "one goal slot per agent");
        assert_eq!(
            oracle.motion(),
            self.motion,
            "oracle built for another motion model"
        );
        let n = agents.len();
        self.resize(n);
        oracle.begin_epoch();
        for i in 0..n {
            let loaded = self.loaded[i];
            self.tables[i] = goals[i].map(|g| oracle.ensure_for(grid, g, loaded));
            self.no_path[i] = self.tables[i].is_some_and(|t| {
                oracle.table(t).get(grid, agents[i].cell, agents[i].heading) == UNREACHABLE
            });
            let at_goal = goals[i] == Some(agents[i].cell);
            if goals[i] != self.last_goal[i] || at_goal || goals[i].is_none() {
                self.priority[i] = self.priority[i].fract();
            } else {
                self.priority[i] += 1.0;
            }
            self.last_goal[i] = goals[i];
        }
        for (i, a) in agents.iter().enumerate() {
            let slot = &mut self.occupied_now[a.cell.index()];
            assert_eq!(*slot, NONE, "two agents on cell {:?}", a.cell);
            *slot = i as u32;
            self.next_cell[i] = NONE;
        }
        self.order.clear();
        self.order.extend(0..n as u32);
        let priority = &self.priority;
        self.order
            .sort_unstable_by(|a, b| priority[*b as usize].total_cmp(&priority[*a as usize]));
        let lookahead = self.use_lookahead;
        for (i, a) in agents.iter().enumerate() {
            if held.get(i).copied().unwrap_or(false) {
                self.occupied_next[a.cell.index()] = i as u32;
                self.next_cell[i] = a.cell.0;
            }
        }
        // Plain PIBT plans everyone, or under lookahead the stuck agents (and whoever they
        // push); their moves stand, and the lookahead plans the rest around them.
        for k in 0..n {
            let i = self.order[k];
            let by_pibt = !lookahead || self.fallback_left[i as usize] > 0;
            if by_pibt && self.next_cell[i as usize] == NONE {
                self.pibt(grid, oracle, agents, i, NONE);
            }
        }
        let pibt_moves = match self.motion {
            Motion::Grid4 => self.grid4_moves(grid, oracle, agents, goals),
            Motion::Rotate => self.rotate_moves(grid, oracle, agents, goals),
        };
        // Anytime improvements will go here, checking `_budget`; the step above is the
        // guaranteed fallback and is never skipped.

        let mut moves = if lookahead {
            self.plan_operations(grid, oracle, agents, &pibt_moves);
            let mut moves = self.operation_moves(n);
            for (i, mv) in moves.iter_mut().enumerate() {
                if matches!(mv, Move::Wait(_)) {
                    *mv = Move::Wait(self.wait_reason(grid, oracle, agents, goals, i));
                }
            }
            moves
        } else {
            pibt_moves
        };
        for (i, mv) in moves.iter_mut().enumerate() {
            if held.get(i).copied().unwrap_or(false) {
                *mv = Move::Wait(WaitReason::Held);
            }
        }
        if acyclic {
            self.break_cycles(grid, agents, &mut moves);
        }
        // An agent that waited away from its goal `stuck_steps` in a row goes to plain PIBT
        // for `FALLBACK_STEPS`.
        if self.use_lookahead {
            let stuck = stuck_steps(self.motion);
            for (i, mv) in moves.iter().enumerate() {
                let waiting = matches!(
                    mv,
                    Move::Wait(WaitReason::Blocked | WaitReason::CellTaken { .. })
                );
                self.stuck[i] = if waiting { self.stuck[i] + 1 } else { 0 };
                self.fallback_left[i] = self.fallback_left[i].saturating_sub(1);
                if self.stuck[i] >= stuck {
                    self.fallback_left[i] = FALLBACK_STEPS;
                }
            }
        }

        for (i, a) in agents.iter().enumerate() {
            self.occupied_now[a.cell.index()] = NONE;
            let next = self.next_cell[i];
            if next != NONE {
                self.occupied_next[next as usize] = NONE;
            }
        }
        match crate::verify(grid, self.motion, agents, &moves) {
            Ok(next) => StepPlan { moves, next },
            Err(violations) => {
                // A planner bug must not move robots into each other: in release builds
                // everyone waits this step (LoRR does the same with an invalid step).
                debug_assert!(false, "planner produced an invalid step: {violations:?}");
                let moves = vec![Move::Wait(WaitReason::Blocked); agents.len()];
                StepPlan {
                    moves,
                    next: agents.to_vec(),
                }
            }
        }
    }

    /// Sort key of moving agent `i` to `to` (via `heading`, `None` = stay): lower is better.
    fn key(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        i: usize,
        to: Cell,
        heading: Option<Heading>,
    ) -> u64 {
        let state = agents[i];
        // An agent that cannot reach its goal from here moves only when pushed, like an
        // idle one (wandering would not bring it closer).
        let table = self.tables[i].filter(|_| !self.no_path[i]);
        let cost: u64 = match table {
            None => match heading {
                None => 0,
                Some(_) => 2,
            },
            Some(table) => {
                let table = oracle.table(table);
                let fi = grid.free_index(to).expect("candidates are free cells");
                let d = match (self.motion, heading) {
                    (Motion::Grid4, _) => table.get_free(fi, state.heading),
                    (Motion::Rotate, None) => table.get_free(fi, state.heading),
                    (Motion::Rotate, Some(h)) => match table.get_free(fi, h) {
                        UNREACHABLE => UNREACHABLE,
                        d => d + 1 + state.heading.turns_to(h),
                    },
                };
                let d = if d == UNREACHABLE { FAR } else { d as u64 };
                // Staying ranks after a move of equal cost, so an agent that must turn
                // first still claims the cell it is turning towards.
                2 * d + u64::from(heading.is_none())
            }
        };
        let occupied = {
            let o = self.occupied_now[to.index()];
            u64::from(o != NONE && o as usize != i)
        };
        (cost << 40) | (occupied << 32) | (self.rng.next_u64() & 0xFFFF_FFFF)
    }

    fn pibt(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        i: u32,
        parent: u32,
    ) -> bool {
        let iu = i as usize;
        let cur = agents[iu].cell;
        let mut candidates = [Candidate {
            key: u64::MAX,
            cell: cur,
        }; 5];
        let mut n_candidates = 0;
        let loaded = self.loaded[iu];
        // Never into a cell the goal cannot be reached from (a loaded robot pushed past its
        // slot into a pocket behind it would be trapped there), unless already in one.
        let can_reach = self.tables[iu].is_some() && !self.no_path[iu];
        for heading in Heading::ALL {
            if let Some(next) = grid.neighbor(cur, heading) {
                if loaded && !grid.loaded_may_enter(next, self.last_goal[iu]) {
                    continue;
                }
                let key = self.key(grid, oracle, agents, iu, next, Some(heading));
                if can_reach && key >> 40 >= 2 * FAR {
                    continue;
                }
                candidates[n_candidates] = Candidate { key, cell: next };
                n_candidates += 1;
            }
        }
        let key = self.key(grid, oracle, agents, iu, cur, None);
        candidates[n_candidates] = Candidate { key, cell: cur };
        n_candidates += 1;
        let candidates = &mut candidates[..n_candidates];
        candidates.sort_unstable_by_key(|c| c.key);

        for c in candidates.iter() {
            let cell = c.cell.index();
            if self.occupied_next[cell] != NONE {
                continue;
            }
            if parent != NONE && agents[parent as usize].cell == c.cell {
                continue;
            }
            self.occupied_next[cell] = i;
            self.next_cell[iu] = c.cell.0;
            let occupant = self.occupied_now[cell];
            if occupant != NONE
                && occupant != i
                && self.next_cell[occupant as usize] == NONE
                && !self.pibt(grid, oracle, agents, occupant, i)
            {
                self.boxed_in_goes_first(occupant as usize, iu);
                continue;
            }
            return true;
        }
        self.occupied_next[cur.index()] = i;
        self.next_cell[iu] = cur.0;
        false
    }

    /// Agent `o` could not make way for `pusher`. A loaded robot boxed in by stored pods
    /// (just lifted, say) can leave only through the cell of the robot that wants its cell:
    /// it goes first next step and pushes that robot aside, or the two would wait forever.
    fn boxed_in_goes_first(&mut self, o: usize, pusher: usize) {
        if self.loaded[o] {
            self.priority[o] = self.priority[o].max(self.priority[pusher].floor() + 1.0);
        }
    }

    fn grid4_moves(
        &self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
    ) -> Vec<Move> {
        agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if self.next_cell[i] == NONE {
                    return Move::Wait(WaitReason::Idle); // planned by the lookahead
                }
                let next = Cell(self.next_cell[i]);
                match grid.heading_between(a.cell, next) {
                    Some(h) if next != a.cell => Move::Go(h),
                    _ => Move::Wait(self.wait_reason(grid, oracle, agents, goals, i)),
                }
            })
            .collect()
    }

    fn rotate_moves(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
    ) -> Vec<Move> {
        let n = agents.len();
        let mut moves: Vec<Move> = Vec::with_capacity(n);
        for (i, a) in agents.iter().enumerate() {
            if self.next_cell[i] == NONE {
                moves.push(Move::Wait(WaitReason::Idle)); // planned by the lookahead
                continue;
            }
            let next = Cell(self.next_cell[i]);
            let mv = if next == a.cell {
                self.turn_in_place(grid, oracle, i, *a)
                    .unwrap_or(Move::Wait(WaitReason::Blocked))
            } else {
                let h = grid
                    .heading_between(a.cell, next)
                    .expect("PIBT picks neighbours");
                if h == a.heading {
                    Move::Forward
                } else if a.heading.clockwise() == h {
                    Move::Turn(Turn::Clockwise)
                } else if a.heading.counter_clockwise() == h {
                    Move::Turn(Turn::CounterClockwise)
                } else {
                    // A U-turn: start it on the side that leaves the agent better placed.
                    self.turn_in_place(grid, oracle, i, *a)
                        .unwrap_or(Move::Turn(Turn::Clockwise))
                }
            };
            moves.push(mv);
        }
        self.check.iter_mut().for_each(|c| *c = 0);
        for i in 0..n {
            if moves[i] == Move::Forward && !self.forward_holds(grid, agents, &moves, i) {
                moves[i] = Move::Wait(WaitReason::Blocked);
            }
        }
        for (mv, check) in moves.iter_mut().zip(&self.check) {
            if *check == 3 {
                *mv = Move::Wait(WaitReason::Blocked);
            }
        }
        // Final cells for the reservation cleanup in `step`, and precise wait reasons.
        for i in 0..n {
            if self.next_cell[i] == NONE {
                continue;
            }
            let next = match moves[i] {
                Move::Forward => grid
                    .neighbor(agents[i].cell, agents[i].heading)
                    .expect("forward along an edge"),
                _ => agents[i].cell,
            };
            if self.next_cell[i] != next.0 {
                self.occupied_next[self.next_cell[i] as usize] = NONE;
                self.next_cell[i] = next.0;
            }
            if matches!(moves[i], Move::Wait(_)) {
                moves[i] = Move::Wait(self.wait_reason(grid, oracle, agents, goals, i));
            }
        }
        moves
    }

    /// Makes every agent that moves into a cycle (or behind one) wait. `occupied_now` is
    /// still filled; `next_cell` is updated for the reservation cleanup.
    fn break_cycles(&mut self, grid: &Grid, agents: &[AgentState], moves: &mut [Move]) {
        let n = agents.len();
        let target = |i: usize, mv: Move| -> Option<Cell> {
            match mv {
                Move::Go(h) => grid.neighbor(agents[i].cell, h),
                Move::Forward => grid.neighbor(agents[i].cell, agents[i].heading),
                _ => None,
            }
        };
        // 0 unknown, 1 on the current walk, 2 moves, 3 waits.
        self.check.iter_mut().for_each(|c| *c = 0);
        let mut chain: Vec<usize> = Vec::new();
        for start in 0..n {
            chain.clear();
            let mut cur = start;
            let verdict = loop {
                match self.check[cur] {
                    1 | 3 => break false,
                    2 => break true,
                    _ => {}
                }
                let Some(ahead) = target(cur, moves[cur]) else {
                    break true; // `start` does not move: nothing to decide
                };
                self.check[cur] = 1;
                chain.push(cur);
                let occupant = self.occupied_now[ahead.index()];
                if occupant == NONE {
                    break true;
                }
                cur = occupant as usize;
                if target(cur, moves[cur]).is_none() {
                    // Moving into the cell of an agent that stays: never planned, but safe.
                    break false;
                }
            };
            for &a in &chain {
                self.check[a] = if verdict { 2 } else { 3 };
            }
        }
        for i in 0..n {
            if self.check[i] == 3 {
                moves[i] = Move::Wait(WaitReason::Blocked);
                let own = agents[i].cell.0;
                if self.next_cell[i] != own && self.next_cell[i] != NONE {
                    self.occupied_next[self.next_cell[i] as usize] = NONE;
                }
                self.next_cell[i] = own;
            }
        }
    }

    /// The turn that brings agent `i` closer to its goal without moving, if any.
    fn turn_in_place(
        &self,
        grid: &Grid,
        oracle: &DistanceOracle,
        i: usize,
        a: AgentState,
    ) -> Option<Move> {
        let table = oracle.table(self.tables[i]?);
        let fi = grid.free_index(a.cell)?;
        let here = table.get_free(fi, a.heading);
        let cw = table.get_free(fi, a.heading.clockwise());
        let ccw = table.get_free(fi, a.heading.counter_clockwise());
        if cw < here && cw <= ccw {
            Some(Move::Turn(Turn::Clockwise))
        } else if ccw < here {
            Some(Move::Turn(Turn::CounterClockwise))
        } else {
            None
        }
    }

    /// Whether agent `i`'s forward move can stand: the cell ahead is empty now, or its
    /// occupant moves forward too (a chain ending in an empty cell, or a rotating cycle).
    fn forward_holds(
        &mut self,
        grid: &Grid,
        agents: &[AgentState],
        moves: &[Move],
        i: usize,
    ) -> bool {
        // Iterative walk along the chain of followers, so long queues cannot overflow the stack.
        let mut chain: Vec<usize> = Vec::new();
        let mut cur = i;
        let verdict = loop {
            match self.check[cur] {
                1 => break true, // back to an agent in this chain: a rotating cycle
                2 => break true,
                3 => break false,
                _ => {}
            }
            if moves[cur] != Move::Forward {
                break false;
            }
            self.check[cur] = 1;
            chain.push(cur);
            let ahead = grid
                .neighbor(agents[cur].cell, agents[cur].heading)
                .expect("forward along an edge");
            let occupant = self.occupied_now[ahead.index()];
            if occupant == NONE {
                break true;
            }
            cur = occupant as usize;
        };
        for a in chain {
            self.check[a] = if verdict { 2 } else { 3 };
        }
        verdict
    }

    fn wait_reason(
        &self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        goals: &[Option<Cell>],
        i: usize,
    ) -> WaitReason {
        let a = agents[i];
        let Some(goal) = goals[i] else {
            return WaitReason::Idle;
        };
        if goal == a.cell {
            return WaitReason::AtGoal;
        }
        let Some(table) = self.tables[i] else {
            return WaitReason::Idle;
        };
        if self.no_path[i] {
            return WaitReason::NoPath;
        }
        let table = oracle.table(table);
        // The neighbour it would have liked best, and who holds it.
        let best = Heading::ALL
            .into_iter()
            .filter_map(|h| grid.neighbor(a.cell, h).map(|c| (table.get(grid, c, h), c)))
            .filter(|(_, c)| !self.loaded[i] || grid.loaded_may_enter(*c, goals[i]))
            .min_by_key(|(d, _)| *d);
        match best {
            Some((_, cell)) => {
                let holder = match self.occupied_next[cell.index()] {
                    NONE => self.occupied_now[cell.index()],
                    h => h,
                };
                if holder != NONE && holder as usize != i {
                    WaitReason::CellTaken {
                        by: AgentId(holder),
                    }
                } else {
                    WaitReason::Blocked
                }
            }
            None => WaitReason::NoPath,
        }
    }
}
