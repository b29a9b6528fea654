//! The allocator's state and how it is built from a floor; each part of its work has its own
//! file.
//!
//! Settings are in `config`; the task table and its queue in `tasks`; pods and storage slots in
//! `pods`; stations and their pace in `stations`; robots' jobs in `jobs`; batteries and chargers
//! in `batteries`; what robots report in `robots`; the tick in `tick`, which offers jobs
//! (`demand`) to free robots in an assignment batch (`batch`).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use drover_grid::load::{Floor, StationKind};
use drover_grid::{Cell, CellKind, DistTable, Grid, Motion, UNREACHABLE};

use crate::assign::{FORBIDDEN, Method, assign};
use crate::costs::Costs;
use crate::error::AllocError;
use crate::task::{
    ErrandAction, PodId, PodSel, SkuId, StationId, Task, TaskId, TaskKind, TaskState,
};

mod batch;
mod batteries;
mod config;
mod demand;
mod jobs;
mod pods;
mod robots;
mod stations;
mod tasks;
mod tick;

pub use config::{AllocConfig, BatteryConfig};
pub use jobs::{Activity, Capabilities, GoalAction};
pub use pods::PodLoc;
pub use stations::Presented;

// The private parts the submodules share (they `use super::*`).
use demand::Demand;
use jobs::{Job, Robot, Visit};
use pods::{Pod, Slot, decayed};
use stations::StationState;

/// What the allocator needs to know about a robot each tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RobotView {
    /// Where it stands.
    pub cell: Cell,
    /// State of charge, 0..=1.
    pub battery: f64,
}

/// Something that happened in a tick, for logs and KPIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A robot took a task.
    Assigned {
        /// Task.
        task: TaskId,
        /// Robot.
        robot: u32,
    },
    /// A pod reached a station face.
    Presented {
        /// Station.
        station: StationId,
        /// Robot.
        robot: u32,
        /// Pod.
        pod: PodId,
    },
    /// A task finished.
    Done {
        /// Task.
        task: TaskId,
    },
    /// A task went back to the queue (robot failure, unstaffed station).
    Requeued {
        /// Task.
        task: TaskId,
    },
    /// A pod stands in a slot again.
    PodStored {
        /// Pod.
        pod: PodId,
        /// Slot.
        slot: Cell,
    },
}

/// What one tick did.
#[derive(Clone, Debug, Default)]
pub struct TickReport {
    /// Events in order.
    pub events: Vec<Event>,
    /// Size of the assignment batch solved this tick (robots, jobs), if one ran.
    pub batch: Option<(usize, usize)>,
    /// How it was solved.
    pub method: Option<Method>,
}

/// The allocator. See the crate docs.
pub struct Allocator {
    config: AllocConfig,
    grid: Grid,
    tasks: Vec<Task>,
    /// Queued client tasks by (priority desc, deadline, id).
    queue: BTreeSet<(Reverse<i32>, u64, TaskId)>,
    /// Queued pick lines per SKU (pile-on aware pod choice).
    queued_lines: Vec<u32>,
    /// Per task: length of its errand legs from `resume_at`, once computed.
    legs: Vec<Option<u32>>,
    pods: Vec<Pod>,
    pod_ids: Vec<String>,
    skus: Vec<String>,
    sku_index: BTreeMap<String, SkuId>,
    sku_pods: Vec<Vec<PodId>>,
    slots: Vec<Slot>,
    storage_cells: Vec<Cell>,
    /// Per slot: inside a blocked zone (no pod returns there).
    slot_blocked: Vec<bool>,
    slot_of_cell: Vec<u32>,
    /// Storage slots, nearest to a station first.
    slots_by_rank: Vec<u32>,
    rank_of_slot: Vec<u32>,
    stations: Vec<StationState>,
    station_names: Vec<String>,
    chargers: Vec<Cell>,
    charger_owner: Vec<Option<u32>>,
    to_charger: Option<DistTable>,
    park_owner: Vec<Option<u32>>,
    park: Vec<Cell>,
    robots: Vec<Robot>,
    goals: Vec<Option<Cell>>,
    dirty: bool,
    now: u64,
}

impl Allocator {
    /// An allocator for `floor` with robots standing at `robots`, all in service and full.
    pub fn new(floor: &Floor, robots: &[Cell], config: AllocConfig) -> Allocator {
        let grid = floor.grid.clone();
        let mut slot_of_cell = vec![u32::MAX; grid.n_cells()];
        for (k, c) in floor.storage.iter().enumerate() {
            slot_of_cell[c.index()] = k as u32;
        }
        let mut slots = vec![Slot::Empty; floor.storage.len()];
        let mut alloc = Allocator {
            skus: Vec::new(),
            sku_index: BTreeMap::new(),
            sku_pods: Vec::new(),
            pods: Vec::new(),
            pod_ids: Vec::new(),
            tasks: Vec::new(),
            queue: BTreeSet::new(),
            queued_lines: Vec::new(),
            legs: Vec::new(),
            slots: Vec::new(),
            storage_cells: Vec::new(),
            slot_blocked: vec![false; floor.storage.len()],
            slot_of_cell,
            slots_by_rank: Vec::new(),
            rank_of_slot: Vec::new(),
            stations: floor
                .stations
                .iter()
                .map(|s| {
                    let mut path = s.queue.clone();
                    path.push(s.face);
                    StationState {
                        kind: s.kind,
                        path,
                        capacity: s.capacity,
                        staffed: None,
                        tickets: Vec::new(),
                        lane: Vec::new(),
                        presenting_since: None,
                        service_ticks: config.prior_service_ticks,
                        lead_ticks: config.prior_lead_ticks,
                        units_done: 0,
                    }
                })
                .collect(),
            station_names: floor.stations.iter().map(|s| s.name.clone()).collect(),
            chargers: floor.chargers.iter().map(|c| c.1).collect(),
            charger_owner: vec![None; floor.chargers.len()],
            to_charger: (!floor.chargers.is_empty()).then(|| {
                let cells: Vec<Cell> = floor.chargers.iter().map(|c| c.1).collect();
                DistTable::compute_to_nearest(&grid, &cells, Motion::Grid4)
            }),
            park_owner: vec![None; floor.park.len()],
            park: floor.park.clone(),
            robots: robots
                .iter()
                .map(|&cell| Robot {
                    in_service: true,
                    job: Job::None,
                    carrying: None,
                    hold_until: 0,
                    cell,
                    battery: 1.0,
                    charge_requested: false,
                    can: Capabilities::ALL,
                })
                .collect(),
            goals: vec![None; robots.len()],
            dirty: true,
            now: 0,
            config,
            grid,
        };
        for (k, spec) in floor.pods.iter().enumerate() {
            let id = PodId(k as u32);
            let mut contents = BTreeMap::new();
            for (sku, &qty) in &spec.contents {
                let s = alloc.intern(sku);
                if qty > 0 {
                    contents.insert(s, qty);
                    alloc.sku_pods[s.0 as usize].push(id);
                }
            }
            slots[alloc.slot_of_cell[spec.cell.index()] as usize] = Slot::Pod(id);
            alloc.pods.push(Pod {
                loc: PodLoc::Slot(spec.cell),
                home: spec.cell,
                contents,
                busy: false,
                demand: 0.0,
                demand_at: 0,
            });
            alloc.pod_ids.push(spec.id.clone());
        }
        alloc.slots = slots;
        // Slots ranked by distance to the nearest station face: fast movers go low.
        let faces: Vec<Cell> = floor.stations.iter().map(|s| s.face).collect();
        let near = (!faces.is_empty())
            .then(|| DistTable::compute_to_nearest(&alloc.grid, &faces, Motion::Grid4));
        let mut order: Vec<u32> = (0..floor.storage.len() as u32).collect();
        order.sort_by_key(|&k| {
            let cell = floor.storage[k as usize];
            let d = near
                .as_ref()
                .map_or(0, |t| t.get(&alloc.grid, cell, drover_grid::Heading::East));
            (d, k)
        });
        alloc.rank_of_slot = vec![0; order.len()];
        for (rank, &k) in order.iter().enumerate() {
            alloc.rank_of_slot[k as usize] = rank as u32;
        }
        alloc.slots_by_rank = order;
        alloc.storage_cells = floor.storage.clone();
        alloc
    }
}
