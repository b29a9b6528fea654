//! EPIBT: PIBT over multi-action operations (three actions ahead).
//!
//! Yukhnevich, Brezhnev, Andreychuk, "Enhancing PIBT via Multi-Action Operations" (LoRR
//! 2024 winner). One-step PIBT picks a cell and then turns towards it, so a turning agent
//! cannot tell whether the cell will still be free when it faces it. Here every agent picks an
//! *operation*, three actions (`FFF`, `RFF`, `WFF`, ... under `Rotate`; `NNE`, `EWait`, ...
//! under `Grid4`) scored by where they leave it on its exact distance, and reserves the
//! cells of all three steps. Under `Grid4` this is what keeps two agents from heading into
//! the same corridor from both ends: the first one's three cells are taken. An unplanned
//! agent standing on one of those cells must find an operation out of the way first
//! (priority inheritance); if it cannot, everything planned inside that attempt is rolled
//! back and the next operation is tried. Only the first action is executed; every step plans
//! afresh, so the reservations beyond it are lookahead, not commitment.

use super::{FAR, NONE, Planner};
use crate::{AgentState, Move, Turn};
use drover_grid::{Cell, DistanceOracle, Grid, Heading, Motion, UNREACHABLE};

/// Actions per operation.
const DEPTH: usize = 3;

/// Agent calls one top-level agent may spend on pushing others (rollback makes the search
/// exponential in the worst case; past this, pushes fail and the agent keeps its place).
/// `Grid4` chains are cheap and long ones pay: on warehouse_small grid4 400, budgets of 32 /
/// 128 / 256 / 1,024 gave 7,125 / 8,431 / 8,752 / 8,910 goals (1.8 ms per step at 32, 6.2
/// at 256, 12.5 at 1,024), and sorting 800 gave 23,346 / 23,429 / 23,475 / 23,388. Under
/// `Rotate`, 128 and 512 were no better than 32 on warehouse_small, and 16 and 128 were
/// worse on LoRR 2024 WAREHOUSE.
fn push_budget(motion: Motion) -> u32 {
    match motion {
        Motion::Rotate => 32,
        Motion::Grid4 => 256,
    }
}

const UNPLANNED: u8 = 0;
const IN_PROGRESS: u8 = 1;
const DONE: u8 = 2;

/// One action of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Act {
    Forward,
    Clockwise,
    CounterClockwise,
    Wait,
    /// A `Grid4` move to the neighbour in this direction.
    Go(Heading),
}

/// The operations worth trying under `motion`, in rank order (earlier wins ties): every
/// sequence of three actions except an action undone at once (`RC`, `CR`, or a `Grid4` move
/// straight back: two waits do the same) and three quarter turns one way (one turn the
/// other way does it).
pub(super) fn operations(motion: Motion) -> Vec<[Act; DEPTH]> {
    let acts: &[Act] = match motion {
        Motion::Rotate => &[
            Act::Forward,
            Act::Clockwise,
            Act::CounterClockwise,
            Act::Wait,
        ],
        Motion::Grid4 => &[
            Act::Go(Heading::North),
            Act::Go(Heading::East),
            Act::Go(Heading::South),
            Act::Go(Heading::West),
            Act::Wait,
        ],
    };
    let mut ops = Vec::new();
    for &a in acts {
        for &b in acts {
            for &c in acts {
                let op = [a, b, c];
                let undone = op.windows(2).any(|w| match (w[0], w[1]) {
                    (Act::Clockwise, Act::CounterClockwise)
                    | (Act::CounterClockwise, Act::Clockwise) => true,
                    (Act::Go(x), Act::Go(y)) => x.opposite() == y,
                    _ => false,
                });
                let spin = op.iter().all(|x| *x == Act::Clockwise)
                    || op.iter().all(|x| *x == Act::CounterClockwise);
                if !undone && !spin {
                    ops.push(op);
                }
            }
        }
    }
    ops
}

/// A candidate operation of one agent: its sort key, its cells at steps 0..=3, and its first
/// action.
#[derive(Clone, Copy)]
pub(super) struct OpCandidate {
    key: u64,
    cells: [u32; DEPTH + 1],
    first: Act,
}

/// Per-step EPIBT state kept in the planner to reuse its buffers.
#[derive(Default)]
pub(super) struct Lookahead {
    pub(super) ops: Vec<[Act; DEPTH]>,
    /// Per step 1..=DEPTH and cell: the agent that reserved it, or `NONE`.
    res: Vec<u32>,
    /// Per agent: its cells at steps 0..=DEPTH.
    path: Vec<[u32; DEPTH + 1]>,
    /// Per agent: the first action of its operation.
    first: Vec<Act>,
    status: Vec<u8>,
    /// Agents planned inside the attempts on the stack, for rollback.
    log: Vec<u32>,
    /// Candidate operations of the agents on the stack, one frame after another.
    pool: Vec<OpCandidate>,
    n_cells: usize,
}

impl Lookahead {
    pub(super) fn new(n_cells: usize, motion: Motion) -> Lookahead {
        let ops = operations(motion);
        assert!(
            ops.len() <= 1 << 7,
            "operation ranks take 7 bits of the sort key"
        );
        Lookahead {
            ops,
            res: vec![NONE; n_cells * DEPTH],
            n_cells,
            ..Lookahead::default()
        }
    }

    fn reserve(&mut self, i: u32) {
        let path = self.path[i as usize];
        for (t, cell) in path[1..].iter().enumerate() {
            self.res[t * self.n_cells + *cell as usize] = i;
        }
    }

    /// Agent `i` standing at `cell` keeps its place in all steps (its plan before any
    /// operation is chosen, and after one is rolled back).
    fn stay(&mut self, i: usize, cell: Cell) {
        self.path[i] = [cell.0; DEPTH + 1];
        self.first[i] = Act::Wait;
    }

    fn unreserve(&mut self, i: u32) {
        let path = self.path[i as usize];
        for (t, cell) in path[1..].iter().enumerate() {
            let slot = &mut self.res[t * self.n_cells + *cell as usize];
            if *slot == i {
                *slot = NONE;
            }
        }
    }
}

impl Planner {
    /// Plans every agent's operation and leaves its first action in `la.first` and its next
    /// cell in `next_cell` / `occupied_next` (for wait reasons and cleanup). Agents already
    /// planned (held, or by plain PIBT: `next_cell` set) keep `preset[i]` and then stay on
    /// the cell it leads to.
    pub(super) fn plan_operations(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        preset: &[Move],
    ) {
        let n = agents.len();
        let mut la = std::mem::take(&mut self.lookahead);
        if la.n_cells != grid.n_cells() {
            la = Lookahead::new(grid.n_cells(), self.motion);
        }
        la.path.clear();
        la.path.extend(agents.iter().map(|a| [a.cell.0; DEPTH + 1]));
        la.first.clear();
        la.first.resize(n, Act::Wait);
        la.status.clear();
        la.status.resize(n, UNPLANNED);
        for i in 0..n {
            if self.next_cell[i] != NONE {
                let cell = self.next_cell[i];
                la.path[i] = [agents[i].cell.0, cell, cell, cell];
                la.first[i] = match preset[i] {
                    Move::Forward => Act::Forward,
                    Move::Turn(Turn::Clockwise) => Act::Clockwise,
                    Move::Turn(Turn::CounterClockwise) => Act::CounterClockwise,
                    Move::Go(h) => Act::Go(h),
                    Move::Wait(_) => Act::Wait,
                };
                la.status[i] = DONE;
                la.reserve(i as u32);
                self.occupied_next[cell as usize] = NONE;
            }
        }
        for k in 0..n {
            let i = self.order[k];
            if la.status[i as usize] != UNPLANNED {
                continue;
            }
            let mut budget = push_budget(self.motion);
            if !self.epibt(grid, oracle, agents, &mut la, i, &mut budget) {
                let iu = i as usize;
                la.stay(iu, agents[iu].cell);
                la.status[iu] = DONE;
                la.reserve(i);
            }
            la.log.clear();
        }
        for i in 0..n {
            la.unreserve(i as u32);
            let next = la.path[i][1];
            self.next_cell[i] = next;
            self.occupied_next[next as usize] = i as u32;
        }
        self.lookahead = la;
    }

    /// The first actions chosen by [`Planner::plan_operations`] as moves (waits still
    /// without their reason).
    pub(super) fn operation_moves(&self, n: usize) -> Vec<Move> {
        self.lookahead.first[..n]
            .iter()
            .map(|a| match a {
                Act::Forward => Move::Forward,
                Act::Clockwise => Move::Turn(Turn::Clockwise),
                Act::CounterClockwise => Move::Turn(Turn::CounterClockwise),
                Act::Wait => Move::Wait(crate::WaitReason::Blocked),
                Act::Go(h) => Move::Go(*h),
            })
            .collect()
    }

    /// Appends agent `i`'s valid operations, sorted best first, to `la.pool`.
    fn candidates(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        la: &mut Lookahead,
        i: usize,
    ) {
        let start = la.pool.len();
        let a = agents[i];
        let goal = self.last_goal[i];
        let loaded = self.loaded[i];
        let table = self.tables[i]
            .filter(|_| !self.no_path[i])
            .map(|t| oracle.table(t));
        let dist = |cell: Cell, h: Heading| -> u64 {
            let Some(table) = table else { return 0 };
            match grid.free_index(cell).map(|fi| table.get_free(fi, h)) {
                Some(d) if d != UNREACHABLE => d as u64,
                _ => FAR,
            }
        };
        let at_goal = goal == Some(a.cell);
        for (rank, op) in la.ops.iter().enumerate() {
            let mut cells = [a.cell.0; DEPTH + 1];
            let (mut cell, mut h) = (a.cell, a.heading);
            let mut valid = true;
            let mut reached: Option<u64> = None;
            let mut after_goal = 0u64;
            let mut unreachable = false;
            let mut occupied = 0u64;
            let (mut d1, mut d_end) = (0u64, 0u64);
            for (t, act) in op.iter().enumerate() {
                if reached.is_some() && *act != Act::Wait {
                    after_goal += 1;
                }
                let ahead = match act {
                    Act::Go(g) => *g,
                    _ => h,
                };
                match act {
                    Act::Forward | Act::Go(_) => match grid.neighbor(cell, ahead) {
                        Some(next) if !loaded || grid.loaded_may_enter(next, goal) => {
                            cell = next;
                            let o = self.occupied_now[next.index()];
                            if o != NONE && o as usize != i {
                                occupied += 1;
                            }
                        }
                        _ => {
                            valid = false;
                            break;
                        }
                    },
                    Act::Clockwise => h = h.clockwise(),
                    Act::CounterClockwise => h = h.counter_clockwise(),
                    Act::Wait => {}
                }
                cells[t + 1] = cell.0;
                let d = dist(cell, h);
                if d == FAR {
                    unreachable = true;
                }
                if t == 0 {
                    d1 = d;
                }
                d_end = d;
                if reached.is_none() && Some(cell) == goal && !at_goal {
                    // Arrival step plus the cost of the heading it arrives in.
                    reached = Some(t as u64 + 1 + d);
                }
            }
            if !valid {
                continue;
            }
            let effort = op.iter().filter(|x| **x != Act::Wait).count() as u64;
            let cost = match (table, goal) {
                (Some(_), Some(_)) => {
                    // Never into a state the goal cannot be reached from (a loaded robot
                    // pushed into a pocket behind its slot would be trapped there).
                    if unreachable {
                        continue;
                    }
                    if at_goal {
                        if cells.iter().all(|c| *c == a.cell.0) {
                            0
                        } else {
                            DEPTH as u64 + 1 + d_end
                        }
                    } else {
                        match reached {
                            Some(k) => k,
                            None => DEPTH as u64 + d_end,
                        }
                    }
                }
                // Idle or no path: moves only when pushed, as little as it can.
                _ => effort,
            };
            // Among equal costs: progress made early, then fewer actions (no spinning in
            // place on the goal), then fewer cells taken from others.
            let key = (cost.min(FAR * 2) << 43)
                | (after_goal << 41)
                | (d1.min(FAR * 2 - 1) << 20)
                | (effort << 18)
                | (occupied << 16)
                | ((rank as u64) << 9)
                | (self.rng.next_u64() & 0x1FF);
            la.pool.push(OpCandidate {
                key,
                cells,
                first: op[0],
            });
        }
        la.pool[start..].sort_unstable_by_key(|c| c.key);
    }

    /// Whether agent `i` following `cells` meets a reserved cell or swaps with a planned
    /// agent.
    fn op_conflicts(&self, la: &Lookahead, i: u32, cells: &[u32; DEPTH + 1]) -> bool {
        let nc = la.n_cells;
        for t in 1..=DEPTH {
            let c = cells[t] as usize;
            let r = la.res[(t - 1) * nc + c];
            if r != NONE && r != i {
                return true;
            }
            let prev = cells[t - 1];
            if prev as usize != c {
                let j = if t == 1 {
                    let o = self.occupied_now[c];
                    if o != NONE && la.status[o as usize] != UNPLANNED {
                        o
                    } else {
                        NONE
                    }
                } else {
                    la.res[(t - 2) * nc + c]
                };
                if j != NONE && j != i && la.path[j as usize][t] == prev {
                    return true;
                }
            }
        }
        false
    }

    fn epibt(
        &mut self,
        grid: &Grid,
        oracle: &DistanceOracle,
        agents: &[AgentState],
        la: &mut Lookahead,
        i: u32,
        budget: &mut u32,
    ) -> bool {
        let iu = i as usize;
        la.status[iu] = IN_PROGRESS;
        let frame = la.pool.len();
        self.candidates(grid, oracle, agents, la, iu);
        let end = la.pool.len();
        for k in frame..end {
            let cand = la.pool[k];
            if self.op_conflicts(la, i, &cand.cells) {
                continue;
            }
            la.path[iu] = cand.cells;
            la.first[iu] = cand.first;
            la.reserve(i);
            let mark = la.log.len();
            let mut ok = true;
            for t in 1..=DEPTH {
                let o = self.occupied_now[cand.cells[t] as usize];
                if o == NONE || o == i || la.status[o as usize] != UNPLANNED {
                    continue;
                }
                if *budget == 0 {
                    ok = false;
                    break;
                }
                *budget -= 1;
                if !self.epibt(grid, oracle, agents, la, o, budget) {
                    self.boxed_in_goes_first(o as usize, iu);
                    ok = false;
                    break;
                }
            }
            if ok {
                la.status[iu] = DONE;
                la.log.push(i);
                la.pool.truncate(frame);
                return true;
            }
            // Roll back everything planned inside this attempt.
            while la.log.len() > mark {
                let j = la.log.pop().expect("above mark");
                la.unreserve(j);
                la.status[j as usize] = UNPLANNED;
                la.stay(j as usize, agents[j as usize].cell);
            }
            la.unreserve(i);
        }
        la.stay(iu, agents[iu].cell);
        la.status[iu] = UNPLANNED;
        la.pool.truncate(frame);
        false
    }
}
