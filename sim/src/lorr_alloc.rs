//! LoRR 2024 with drover's allocator: revealed tasks become transport tasks (one `Visit`
//! errand per cell), and free robots are matched to the revealed pool by minimum cost.

use drover_alloc::{
    AllocConfig, Allocator, Costs, Errand, ErrandAction, Event, RobotView, TaskId, TaskKind,
    TaskState,
};
use drover_grid::load::Floor;
use drover_grid::{Cell, DistTable, Grid, Heading, Motion, UNREACHABLE};
use drover_plan::AgentState;
use rayon::prelude::*;

use crate::task_event::TaskEvent;

/// Distances *from* robots: one BFS table per robot cell, kept in a bounded cache. LoRR
/// maps are undirected, so the table to a cell also gives the distances from it.
pub struct RobotTables {
    grid: Grid,
    tables: Vec<Option<Box<DistTable>>>,
    order: std::collections::VecDeque<Cell>,
    cap: usize,
}

impl RobotTables {
    /// A cache of at most `cap` tables over `grid`.
    pub fn new(grid: &Grid, cap: usize) -> RobotTables {
        RobotTables {
            grid: grid.clone(),
            tables: (0..grid.n_cells()).map(|_| None).collect(),
            order: std::collections::VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Computes the tables for `cells` in parallel (the allocator would compute them one by
    /// one as it needs them).
    pub fn prefetch(&mut self, cells: &[Cell]) {
        let mut missing: Vec<Cell> = cells
            .iter()
            .copied()
            .filter(|c| self.tables[c.index()].is_none())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let grid = &self.grid;
        let tables: Vec<DistTable> = missing
            .par_iter()
            .map(|&c| DistTable::compute(grid, c, Motion::Grid4))
            .collect();
        for t in tables {
            self.insert(t);
        }
    }

    fn insert(&mut self, table: DistTable) {
        while self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.tables[old.index()] = None;
            }
        }
        let at = table.goal();
        self.order.push_back(at);
        self.tables[at.index()] = Some(Box::new(table));
    }
}

impl Costs for RobotTables {
    fn cost(&mut self, from: Cell, to: Cell) -> u32 {
        if !self.grid.is_free(from) || !self.grid.contains(to) {
            return UNREACHABLE;
        }
        if self.tables[from.index()].is_none() {
            self.insert(DistTable::compute(&self.grid, from, Motion::Grid4));
        }
        let table = self.tables[from.index()].as_deref().expect("just computed");
        table.get(&self.grid, to, Heading::East)
    }
}

/// The revealed-pool rule driven by the allocator.
pub struct RevealAlloc {
    tasks: Vec<Vec<Cell>>,
    next_reveal: u64,
    alloc: Allocator,
    costs: RobotTables,
    /// LoRR task id of each allocator task.
    lorr_id: Vec<u64>,
    /// Per agent: (allocator task, errands done) last reported.
    seen: Vec<Option<(TaskId, u32)>>,
}

/// Allocator settings for LoRR: no batteries, no parking, the whole pool offered.
pub fn lorr_alloc_config(trip_weight: u32) -> AllocConfig {
    AllocConfig {
        optimal_max: 64,
        battery: None,
        lift_ticks: 0,
        drop_ticks: 0,
        pile_on_max: 1,
        pod_capacity: 0,
        prior_service_ticks: 1.0,
        prior_lead_ticks: 1.0,
        smoothing: 0.2,
        demand_half_life: 1.0,
        slotting: false,
        park_idle: false,
        transport_window: usize::MAX,
        max_batch: 512,
        trip_weight,
    }
}

impl RevealAlloc {
    /// Reveals the first `pool` tasks for robots standing at `starts`.
    pub fn new(
        grid: &Grid,
        tasks: Vec<Vec<Cell>>,
        pool: u64,
        starts: &[AgentState],
        trip_weight: u32,
    ) -> RevealAlloc {
        let floor = Floor {
            name: "lorr".into(),
            cell_size_m: 1.0,
            grid: grid.clone(),
            stations: Vec::new(),
            chargers: Vec::new(),
            storage: Vec::new(),
            park: Vec::new(),
            pods: Vec::new(),
            restricted: Vec::new(),
        };
        let cells: Vec<Cell> = starts.iter().map(|a| a.cell).collect();
        let mut me = RevealAlloc {
            tasks,
            next_reveal: 0,
            alloc: Allocator::new(&floor, &cells, lorr_alloc_config(trip_weight)),
            costs: RobotTables::new(grid, 4096),
            lorr_id: Vec::new(),
            seen: vec![None; starts.len()],
        };
        for _ in 0..pool {
            me.reveal();
        }
        me
    }

    fn reveal(&mut self) {
        let id = self.next_reveal;
        self.next_reveal += 1;
        let cells = &self.tasks[(id % self.tasks.len() as u64) as usize];
        let errands = cells
            .iter()
            .map(|&cell| Errand {
                cell,
                action: ErrandAction::Visit,
            })
            .collect();
        let t = self
            .alloc
            .submit(TaskKind::Transport { errands }, 0, None)
            .expect("LoRR task cells are free cells");
        debug_assert_eq!(t.0 as usize, self.lorr_id.len());
        self.lorr_id.push(id);
    }

    /// One tick: progress, assignment, reveals. Returns tasks finished and the goals.
    pub fn step(
        &mut self,
        agents: &[AgentState],
        now: u64,
        events: &mut Vec<TaskEvent>,
    ) -> (u64, Vec<Option<Cell>>) {
        let views: Vec<RobotView> = agents
            .iter()
            .map(|a| RobotView {
                cell: a.cell,
                battery: 1.0,
            })
            .collect();
        // Robots that are free now need distance tables; compute them in parallel.
        let free: Vec<Cell> = self
            .alloc
            .free_robots()
            .into_iter()
            .take(lorr_alloc_config(0).max_batch)
            .map(|r| agents[r as usize].cell)
            .collect();
        self.costs.prefetch(&free);
        let report = self.alloc.tick(now, &views, &mut self.costs);
        let mut finished = 0;
        for e in &report.events {
            if let Event::Done { .. } = e {
                finished += 1;
            }
        }
        for _ in 0..finished {
            self.reveal();
        }
        // LoRR events: assignment, then each errand as it completes.
        for agent in 0..agents.len() {
            let now_holds = self.alloc.robot_tasks(agent as u32).first().map(|&t| {
                let done = match self.alloc.task(t).map(|t| &t.state) {
                    Some(TaskState::InProgress { errand, .. }) => *errand as u32,
                    _ => 0,
                };
                (t, done)
            });
            let before = self.seen[agent];
            if let Some((t, done)) = before
                && now_holds.map(|h| h.0) != Some(t)
            {
                // Finished since the last tick.
                let total = match &self.alloc.task(t).map(|t| &t.kind) {
                    Some(TaskKind::Transport { errands }) => errands.len() as u32,
                    _ => 0,
                };
                for k in done + 1..=total {
                    events.push(self.event(now, agent, t, Some(k)));
                }
            }
            if let Some((t, done)) = now_holds {
                let from = match before {
                    Some((bt, bd)) if bt == t => bd,
                    _ => {
                        events.push(self.event(now, agent, t, None));
                        0
                    }
                };
                for k in from + 1..=done {
                    events.push(self.event(now, agent, t, Some(k)));
                }
            }
            self.seen[agent] = now_holds;
        }
        (finished, self.alloc.goals().to_vec())
    }

    fn event(&self, t: u64, agent: usize, task: TaskId, errands_done: Option<u32>) -> TaskEvent {
        TaskEvent {
            t,
            agent: agent as u32,
            task: self.lorr_id[task.0 as usize],
            errands_done,
        }
    }
}
