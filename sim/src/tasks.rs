//! Task semantics of the benchmarks: which goal an agent gets next, and what counts as done.

use drover_grid::{Cell, DistTable, Grid};
use drover_plan::{AgentState, SplitMix64};

use crate::task_event::TaskEvent;

/// What `finished` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// One goal location visited (LoRR 2023).
    Errand,
    /// A multi-errand task, counted at its last errand (LoRR 2024).
    Task,
    /// Every goal reached (RHCR, MovingAI lifelong).
    Goal,
}

impl Unit {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Errand => "errands",
            Unit::Task => "tasks",
            Unit::Goal => "goals",
        }
    }
}

/// Where goals come from.
pub enum TaskSource {
    /// LoRR 2023: agent k's c-th errand is `tasks[(c*n + k) mod m]`.
    RoundRobin {
        /// Errand cells in file order.
        tasks: Vec<Cell>,
        /// Errands started per agent.
        count: Vec<u64>,
    },
    /// LoRR 2024: a revealed pool of multi-errand tasks and a greedy nearest-first scheduler.
    Reveal {
        /// Tasks in file order (ids wrap modulo the length).
        tasks: Vec<Vec<Cell>>,
        /// Revealed, unassigned task ids.
        pool: Vec<u64>,
        /// Next id to reveal.
        next_reveal: u64,
        /// Per agent: (task id, errands done).
        current: Vec<Option<(u64, u32)>>,
        /// Map width, for the Manhattan distance of the greedy choice.
        width: u32,
    },
    /// LoRR 2024 with drover's allocator matching free robots to the revealed pool.
    Allocated(Box<crate::lorr_alloc::RevealAlloc>),
    /// RHCR kiva: from a random endpoint to another random endpoint.
    Kiva {
        /// Endpoint cells.
        endpoints: Vec<Cell>,
        /// Random stream.
        rng: SplitMix64,
    },
    /// RHCR sorting: nearest induct, then a random eject, then the nearest induct again.
    Sorting {
        /// Eject cells.
        ejects: Vec<Cell>,
        /// Distance tables to each induct, for "nearest".
        inducts: Vec<DistTable>,
        /// Per agent: heading to an induct (true) or an eject (false).
        to_induct: Vec<bool>,
        /// Random stream.
        rng: SplitMix64,
    },
    /// MovingAI lifelong: random free cells.
    RandomFree {
        /// Free cells.
        cells: Vec<Cell>,
        /// Random stream.
        rng: SplitMix64,
    },
}

impl TaskSource {
    /// What `finished` counts under these semantics.
    pub fn unit(&self) -> Unit {
        match self {
            TaskSource::RoundRobin { .. } => Unit::Errand,
            TaskSource::Reveal { .. } | TaskSource::Allocated(_) => Unit::Task,
            _ => Unit::Goal,
        }
    }

    /// The next goal of an agent with none (at the start, or after finishing), logging
    /// assignments into `events`.
    pub fn assign(
        &mut self,
        grid: &Grid,
        agent: usize,
        at: AgentState,
        now: u64,
        events: &mut Vec<TaskEvent>,
    ) -> Option<Cell> {
        match self {
            TaskSource::RoundRobin { tasks, count } => {
                let n = count.len() as u64;
                let id = count[agent] * n + agent as u64;
                events.push(TaskEvent {
                    t: now,
                    agent: agent as u32,
                    task: id,
                    errands_done: None,
                });
                Some(tasks[(id % tasks.len() as u64) as usize])
            }
            TaskSource::Reveal {
                tasks,
                pool,
                current,
                width,
                ..
            } => {
                if let Some((id, done)) = current[agent] {
                    return Some(tasks[(id % tasks.len() as u64) as usize][done as usize]);
                }
                let manhattan = |a: Cell, b: Cell| {
                    let (ar, ac) = (a.0 / *width, a.0 % *width);
                    let (br, bc) = (b.0 / *width, b.0 % *width);
                    ar.abs_diff(br) + ac.abs_diff(bc)
                };
                let m = tasks.len() as u64;
                let best = pool
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, id)| (manhattan(at.cell, tasks[(**id % m) as usize][0]), **id))
                    .map(|(i, _)| i)?;
                let id = pool.swap_remove(best);
                current[agent] = Some((id, 0));
                events.push(TaskEvent {
                    t: now,
                    agent: agent as u32,
                    task: id,
                    errands_done: None,
                });
                Some(tasks[(id % m) as usize][0])
            }
            TaskSource::Kiva { endpoints, rng } => Some(pick_other(endpoints, at.cell, rng)),
            TaskSource::Sorting {
                ejects,
                inducts,
                to_induct,
                rng,
            } => {
                if to_induct[agent] {
                    Some(nearest(grid, inducts, at))
                } else {
                    Some(pick_other(ejects, at.cell, rng))
                }
            }
            TaskSource::RandomFree { cells, rng } => Some(pick_other(cells, at.cell, rng)),
            // Goals come from `batch_step`.
            TaskSource::Allocated(_) => None,
        }
    }

    /// For sources that assign in batches: one tick of progress and assignment for all
    /// agents, returning units finished and every agent's goal. `None` for per-agent
    /// sources, which use [`TaskSource::assign`] and [`TaskSource::arrive`].
    pub fn batch_step(
        &mut self,
        agents: &[AgentState],
        now: u64,
        events: &mut Vec<TaskEvent>,
    ) -> Option<(u64, Vec<Option<Cell>>)> {
        match self {
            TaskSource::Allocated(source) => Some(source.step(agents, now, events)),
            _ => None,
        }
    }

    /// The agent stands on its goal at step `now`: returns the units finished (0 or 1) and
    /// leaves the source ready for [`TaskSource::assign`].
    pub fn arrive(&mut self, agent: usize, now: u64, events: &mut Vec<TaskEvent>) -> u64 {
        match self {
            TaskSource::RoundRobin { count, .. } => {
                let n = count.len() as u64;
                let id = count[agent] * n + agent as u64;
                events.push(TaskEvent {
                    t: now,
                    agent: agent as u32,
                    task: id,
                    errands_done: Some(1),
                });
                count[agent] += 1;
                1
            }
            TaskSource::Reveal {
                tasks,
                pool,
                next_reveal,
                current,
                ..
            } => {
                let Some((id, done)) = current[agent] else {
                    return 0;
                };
                let done = done + 1;
                events.push(TaskEvent {
                    t: now,
                    agent: agent as u32,
                    task: id,
                    errands_done: Some(done),
                });
                if done as usize == tasks[(id % tasks.len() as u64) as usize].len() {
                    current[agent] = None;
                    pool.push(*next_reveal);
                    *next_reveal += 1;
                    1
                } else {
                    current[agent] = Some((id, done));
                    0
                }
            }
            TaskSource::Sorting { to_induct, .. } => {
                to_induct[agent] = !to_induct[agent];
                1
            }
            TaskSource::Kiva { .. } | TaskSource::RandomFree { .. } => 1,
            TaskSource::Allocated(_) => 0,
        }
    }
}

fn pick_other(cells: &[Cell], not: Cell, rng: &mut SplitMix64) -> Cell {
    loop {
        let cell = cells[rng.below(cells.len())];
        if cell != not || cells.len() == 1 {
            return cell;
        }
    }
}

/// The goal of the table closest to `at` (ties: first table).
pub fn nearest(grid: &Grid, tables: &[DistTable], at: AgentState) -> Cell {
    tables
        .iter()
        .min_by_key(|t| t.get(grid, at.cell, at.heading))
        .map(|t| t.goal())
        .expect("at least one table")
}
