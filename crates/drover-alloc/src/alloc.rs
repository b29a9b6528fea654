//! The allocator: task table, pods and slots, stations with pacing, robots' jobs, and the
//! per-tick state machine that turns arrivals into the next goal.

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

mod robots;
mod tasks;
mod tick;

/// Battery thresholds (fractions of a full charge, 0..=1) and the energy model.
#[derive(Clone, Debug)]
pub struct BatteryConfig {
    /// Never plan a job that would end below this, trip to the nearest charger included.
    pub critical: f64,
    /// An idle robot below this goes to charge.
    pub go_charge: f64,
    /// A charging robot at or above this may be taken off the charger for work.
    pub may_work: f64,
    /// Charging stops here.
    pub full: f64,
    /// Charge used per cell driven.
    pub per_cell: f64,
    /// Charge used per lift or set-down.
    pub per_lift: f64,
}

/// Allocator settings. No `Default`: callers choose (the simulator and droverd document theirs).
#[derive(Clone, Debug)]
pub struct AllocConfig {
    /// Batches with at most this many robots or tasks are solved exactly (Hungarian method);
    /// larger ones greedily.
    pub optimal_max: usize,
    /// Batteries and chargers; `None` ignores energy (benchmarks without chargers).
    pub battery: Option<BatteryConfig>,
    /// Ticks to lift a pod.
    pub lift_ticks: u32,
    /// Ticks to set one down.
    pub drop_ticks: u32,
    /// Most order lines served by one pod presentation (pile-on).
    pub pile_on_max: usize,
    /// Units a pod holds at most (stow picks pods with room).
    pub pod_capacity: u32,
    /// Pacing prior: ticks an associate needs per pod before any is observed.
    pub prior_service_ticks: f64,
    /// Pacing prior: ticks from dispatch until the pod reaches the queue.
    pub prior_lead_ticks: f64,
    /// Weight of the newest observation in the pacing averages (0..1).
    pub smoothing: f64,
    /// Half-life of a pod's demand score, in ticks (re-slotting).
    pub demand_half_life: f64,
    /// Return pods to a slot chosen by demand (fast movers near the stations); `false`
    /// returns each pod to the slot it came from when that is free.
    pub slotting: bool,
    /// Send idle robots to park cells.
    pub park_idle: bool,
    /// Queued transports offered to each free robot: a batch has at most
    /// `free robots × transport_window` transport columns, oldest first.
    pub transport_window: usize,
    /// Most free robots in one batch; the rest wait for the next tick (bounds the matrix
    /// when thousands of robots start at once).
    pub max_batch: usize,
    /// Weight of a transport's own length (first errand to last) in its cost: above 0 the
    /// batch prefers short jobs, which finishes more of them per robot-hour.
    pub trip_weight: u32,
}

impl AllocConfig {
    /// The settings of a sortable fulfilment centre as drover runs one (the simulated shift
    /// and droverd start from these): batteries for about 1.5 hours of driving per charge at
    /// one cell per second, lifts of 2 ticks, demand-based slotting, idle robots parked.
    pub fn fulfilment_centre() -> AllocConfig {
        AllocConfig {
            optimal_max: 150,
            battery: Some(BatteryConfig {
                critical: 0.15,
                go_charge: 0.30,
                may_work: 0.60,
                full: 0.95,
                // About 1.5 hours of driving per charge at one cell per second.
                per_cell: 1.0 / 6000.0,
                per_lift: 1.0 / 2000.0,
            }),
            lift_ticks: 2,
            drop_ticks: 2,
            pile_on_max: 6,
            pod_capacity: 400,
            prior_service_ticks: 40.0,
            prior_lead_ticks: 120.0,
            smoothing: 0.2,
            demand_half_life: 3600.0,
            slotting: true,
            park_idle: true,
            transport_window: 4,
            max_batch: 4096,
            trip_weight: 1,
        }
    }
}

/// What the allocator needs to know about a robot each tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RobotView {
    /// Where it stands.
    pub cell: Cell,
    /// State of charge, 0..=1.
    pub battery: f64,
}

/// Where a pod is: always exactly one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodLoc {
    /// Standing in a storage slot.
    Slot(Cell),
    /// Lifted by a robot.
    Robot(u32),
    /// Left on the floor by a robot that went out of service.
    Stranded(Cell),
}

/// The action a robot runs on reaching its goal (see [`Allocator::goal_action`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalAction {
    /// Lift a pod (`None`: a load that is not a pod, such as a tote cart).
    Lift(Option<PodId>),
    /// Set a load down.
    Drop(Option<PodId>),
    /// Charge.
    Charge,
}

/// What a robot is doing, for the KPI time split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Activity {
    /// Taken out of service.
    OutOfService,
    /// No job.
    Idle,
    /// Resting on a park cell (or driving there).
    Parked,
    /// Driving empty to a pod.
    ToPod,
    /// Lifting or setting down a pod.
    Lifting,
    /// Carrying a pod to a station.
    ToStation,
    /// In a station's queue lane.
    Queueing,
    /// At the face while the associate works.
    Presenting,
    /// Carrying a pod back to storage.
    Returning,
    /// On a transport task.
    Transport,
    /// Driving to a charger.
    ToCharger,
    /// On a charger.
    Charging,
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

/// The pod at a station's face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// Robot holding it.
    pub robot: u32,
    /// The pod.
    pub pod: PodId,
    /// Units the associate handles (sum over the lines served).
    pub units: u32,
    /// Tick the presentation began.
    pub since: u64,
}

struct Pod {
    loc: PodLoc,
    /// The slot it came from (for `slotting = false` and for reports).
    home: Cell,
    /// SKU -> units.
    contents: BTreeMap<SkuId, u32>,
    /// On a job (visit or return): no other job may take it.
    busy: bool,
    demand: f64,
    demand_at: u64,
}

impl Pod {
    fn units(&self) -> u32 {
        self.contents.values().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Empty,
    Pod(PodId),
    Reserved(PodId),
}

struct StationState {
    kind: StationKind,
    /// Queue cells then the face.
    path: Vec<Cell>,
    capacity: usize,
    staffed: Option<String>,
    /// Robots sent here whose pod has not been released yet.
    tickets: Vec<u32>,
    /// Robots physically in the lane, in arrival order.
    lane: Vec<u32>,
    presenting_since: Option<u64>,
    service_ticks: f64,
    lead_ticks: f64,
    /// Units of the tasks done here (picked or stowed: the associate released the pod).
    units_done: u64,
}

impl StationState {
    fn face(&self) -> Cell {
        *self.path.last().expect("a station has a face")
    }

    /// Pods wanted in the pipeline: Little's law on the observed pace (pods in flight cover
    /// the lead time), plus the pod at the face and one queued behind it so the face never
    /// waits for the next robot to drive in; within capacity.
    fn target(&self) -> usize {
        let cover = (self.lead_ticks / self.service_ticks.max(1.0)).ceil() as usize + 2;
        cover.clamp(1, self.capacity)
    }
}

struct Visit {
    station: StationId,
    pod: PodId,
    tasks: Vec<TaskId>,
    lifted: bool,
    dispatched: u64,
    in_lane: bool,
}

enum Job {
    None,
    Visit(Visit),
    Return {
        pod: PodId,
        slot: Cell,
    },
    Transport {
        task: TaskId,
        errand: usize,
    },
    /// `opportunistic`: charging while idle above the "go charge" level; such a robot may
    /// leave for work at any time above that level.
    Charge {
        task: TaskId,
        charger: usize,
        opportunistic: bool,
    },
    Park {
        task: TaskId,
        cell: Cell,
    },
}

struct Robot {
    in_service: bool,
    job: Job,
    carrying: Option<PodId>,
    /// Busy acting (lift, drop, dwell) until this tick.
    hold_until: u64,
    cell: Cell,
    battery: f64,
    /// An operator asked for a charge: the robot goes to a charger once it is free.
    charge_requested: bool,
    /// What the robot can do (its factsheet's actions).
    can: Capabilities,
}

/// What a robot can do, from the actions its factsheet lists. Unknown (no factsheet): all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Lifts and sets down pods and carts (`pick` and `drop`): every task's work.
    pub lift: bool,
    /// Charges on a charger (`startCharging`).
    pub charge: bool,
}

impl Capabilities {
    /// Everything (a robot without a factsheet).
    pub const ALL: Capabilities = Capabilities {
        lift: true,
        charge: true,
    };
}

/// A job offered to the free robots this tick.
struct Demand {
    tasks: Vec<TaskId>,
    pod: Option<PodId>,
    station: Option<StationId>,
    first: Cell,
    /// Cells driven after reaching `first`, charger trip included (for the energy check).
    rest_cells: u32,
    /// Cells from `first` to the last errand (for `trip_weight`).
    legs: u32,
    lifts: u32,
    /// Extra cost of a job whose station is less short of pods than others, so that a
    /// robot takes it over a needier station's only when that saves more driving.
    slack: u32,
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

/// Queries (client operations in `tasks`, robot reports in `robots`, the tick in `tick`).
impl Allocator {
    fn intern(&mut self, sku: &str) -> SkuId {
        if let Some(&id) = self.sku_index.get(sku) {
            return id;
        }
        let id = SkuId(self.skus.len() as u32);
        self.skus.push(sku.to_string());
        self.sku_index.insert(sku.to_string(), id);
        self.sku_pods.push(Vec::new());
        self.queued_lines.push(0);
        id
    }

    /// The id of a SKU name, if any pod has held it.
    pub fn sku(&self, name: &str) -> Option<SkuId> {
        self.sku_index.get(name).copied()
    }

    /// SKU names, indexed by [`SkuId`].
    pub fn sku_names(&self) -> &[String] {
        &self.skus
    }

    /// A pod's id as the floor file names it.
    pub fn pod_name(&self, pod: PodId) -> &str {
        &self.pod_ids[pod.0 as usize]
    }

    /// Number of pods.
    pub fn n_pods(&self) -> usize {
        self.pods.len()
    }

    /// Where a pod is.
    pub fn pod_loc(&self, pod: PodId) -> PodLoc {
        self.pods[pod.0 as usize].loc
    }

    /// Units of `sku` in `pod`.
    pub fn pod_units(&self, pod: PodId, sku: SkuId) -> u32 {
        self.pods[pod.0 as usize]
            .contents
            .get(&sku)
            .copied()
            .unwrap_or(0)
    }

    /// Which pod stands in a storage slot (`None` for an empty slot or a non-slot cell).
    pub fn pod_in_slot(&self, cell: Cell) -> Option<PodId> {
        match self.slot_of_cell.get(cell.index()) {
            Some(&k) if k != u32::MAX => match self.slots[k as usize] {
                Slot::Pod(p) => Some(p),
                _ => None,
            },
            _ => None,
        }
    }

    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.stations.len()
    }

    /// A station's name.
    pub fn station_name(&self, s: StationId) -> &str {
        &self.station_names[s.0 as usize]
    }

    /// A station's kind.
    pub fn station_kind(&self, s: StationId) -> StationKind {
        self.stations[s.0 as usize].kind
    }

    /// The associate at a station, if staffed.
    pub fn staffed(&self, s: StationId) -> Option<&str> {
        self.stations[s.0 as usize].staffed.as_deref()
    }

    /// Robots sent to a station whose pod is not released yet (never above capacity).
    pub fn station_load(&self, s: StationId) -> (usize, usize) {
        let st = &self.stations[s.0 as usize];
        (st.tickets.len(), st.capacity)
    }

    /// Robots physically in the station's lane, face included.
    pub fn station_queue(&self, s: StationId) -> usize {
        self.stations[s.0 as usize].lane.len()
    }

    /// The first robot in the station's lane (the next to present), if any.
    pub fn lane_head(&self, s: StationId) -> Option<u32> {
        self.stations[s.0 as usize].lane.first().copied()
    }

    /// The pacing target (pods in the pipeline) a station has now.
    pub fn station_target(&self, s: StationId) -> usize {
        self.stations[s.0 as usize].target()
    }

    /// The pod at the face, once its robot stands there.
    pub fn presented(&self, s: StationId) -> Option<Presented> {
        let st = &self.stations[s.0 as usize];
        let since = st.presenting_since?;
        let robot = *st.lane.first()?;
        let Job::Visit(v) = &self.robots[robot as usize].job else {
            return None;
        };
        let units = v
            .tasks
            .iter()
            .map(|t| match &self.tasks[t.0 as usize].kind {
                TaskKind::Pick { units, .. } | TaskKind::Stow { units, .. } => *units,
                _ => 0,
            })
            .sum();
        Some(Presented {
            robot,
            pod: v.pod,
            units,
            since,
        })
    }

    /// Units picked (pick station) or stowed (stow station) here so far: the units of the
    /// tasks whose pod the associate released.
    pub fn units_done(&self, s: StationId) -> u64 {
        self.stations[s.0 as usize].units_done
    }

    /// Whether station `s` has work: robots on their way or queued for it, or queued tasks
    /// it could serve (aimed at it, or at any station of its kind). A staffed station with
    /// work and no pod at its face starves; without work it merely waits.
    pub fn has_work(&self, s: StationId) -> bool {
        let st = &self.stations[s.0 as usize];
        if !st.tickets.is_empty() {
            return true;
        }
        self.queued_tasks().any(|t| match &t.kind {
            TaskKind::Pick { station, .. } => {
                st.kind == StationKind::Pick && station.is_none_or(|x| x == s)
            }
            TaskKind::Stow { station, .. } => {
                st.kind == StationKind::Stow && station.is_none_or(|x| x == s)
            }
            _ => false,
        })
    }

    /// All tasks, indexed by id.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// One task.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.get(id.0 as usize)
    }

    /// Number of queued client tasks.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queued client tasks in the order they will be served.
    pub fn queued_tasks(&self) -> impl Iterator<Item = &Task> {
        self.queue.iter().map(|k| &self.tasks[k.2.0 as usize])
    }

    /// Goals for the planner, one per robot (`None`: stay).
    pub fn goals(&self) -> &[Option<Cell>] {
        &self.goals
    }

    /// Number of robots.
    pub fn n_robots(&self) -> usize {
        self.robots.len()
    }

    /// Whether a robot is in service.
    pub fn in_service(&self, robot: u32) -> bool {
        self.robots[robot as usize].in_service
    }

    /// The pod a robot carries.
    pub fn carrying(&self, robot: u32) -> Option<PodId> {
        self.robots[robot as usize].carrying
    }

    /// Whether a robot carries something: a pod, or a transport's load between its lift and
    /// its drop. A loaded robot may not pass under stored pods.
    pub fn loaded(&self, robot: u32) -> bool {
        let r = &self.robots[robot as usize];
        if r.carrying.is_some() {
            return true;
        }
        let Job::Transport { task, errand } = r.job else {
            return false;
        };
        let TaskKind::Transport { errands } = &self.tasks[task.0 as usize].kind else {
            return false;
        };
        let done = &errands[..errand.min(errands.len())];
        let count = |a: ErrandAction| done.iter().filter(|e| e.action == a).count();
        count(ErrandAction::Lift) > count(ErrandAction::Drop)
    }

    /// Client tasks a robot holds (several order lines when pods are piled on).
    pub fn robot_tasks(&self, robot: u32) -> Vec<TaskId> {
        match &self.robots[robot as usize].job {
            Job::Visit(v) => v.tasks.clone(),
            Job::Transport { task, .. } => vec![*task],
            _ => Vec::new(),
        }
    }

    /// Robots that could take work now (idle, parked, or charging above the working level).
    pub fn free_robots(&self) -> Vec<u32> {
        (0..self.robots.len() as u32)
            .filter(|&r| self.free_for_work(r).is_some())
            .collect()
    }

    /// The robot's cell as of the last tick.
    pub fn robot_cell(&self, robot: u32) -> Cell {
        self.robots[robot as usize].cell
    }

    /// Whether the robot has any job (client or internal).
    pub fn has_job(&self, robot: u32) -> bool {
        !matches!(self.robots[robot as usize].job, Job::None)
    }

    /// The charger a robot owns.
    pub fn charger_of(&self, robot: u32) -> Option<usize> {
        match self.robots[robot as usize].job {
            Job::Charge { charger, .. } => Some(charger),
            _ => None,
        }
    }

    /// The storage slot a returning robot is heading for.
    pub fn return_slot(&self, robot: u32) -> Option<Cell> {
        match self.robots[robot as usize].job {
            Job::Return { slot, .. } => Some(slot),
            _ => None,
        }
    }

    /// What the robot must do on reaching its current goal, for robot orders: lift the
    /// pod it is sent to, set down the pod it carries, run a transport errand's action, or
    /// charge. `None` for plain moves (queue lanes, the face, parking).
    pub fn goal_action(&self, robot: u32) -> Option<GoalAction> {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return None;
        }
        match &r.job {
            Job::Visit(v) if !v.lifted => Some(GoalAction::Lift(Some(v.pod))),
            Job::Return { pod, .. } => Some(GoalAction::Drop(Some(*pod))),
            Job::Transport { task, errand } => match &self.tasks[task.0 as usize].kind {
                TaskKind::Transport { errands } => match errands.get(*errand)?.action {
                    ErrandAction::Lift => Some(GoalAction::Lift(None)),
                    ErrandAction::Drop => Some(GoalAction::Drop(None)),
                    ErrandAction::Visit | ErrandAction::Dwell(_) => None,
                },
                _ => None,
            },
            Job::Charge { .. } => Some(GoalAction::Charge),
            _ => None,
        }
    }

    /// What a robot is doing (call after [`Allocator::tick`]).
    pub fn activity(&self, robot: u32) -> Activity {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return Activity::OutOfService;
        }
        if r.hold_until > self.now && matches!(r.job, Job::Visit(_) | Job::None) {
            return Activity::Lifting;
        }
        match &r.job {
            Job::None => Activity::Idle,
            Job::Park { .. } => Activity::Parked,
            Job::Visit(v) if !v.lifted => Activity::ToPod,
            Job::Visit(v) => {
                let st = &self.stations[v.station.0 as usize];
                if st.lane.first() == Some(&robot) && st.presenting_since.is_some() {
                    Activity::Presenting
                } else if v.in_lane {
                    Activity::Queueing
                } else {
                    Activity::ToStation
                }
            }
            Job::Return { .. } => Activity::Returning,
            Job::Transport { .. } => Activity::Transport,
            Job::Charge { charger, .. } => {
                if r.cell == self.chargers[*charger] {
                    Activity::Charging
                } else {
                    Activity::ToCharger
                }
            }
        }
    }
}

/// Ticks between allocation sweeps while tasks are queued and robots free.
const SWEEP_TICKS: u64 = 16;

/// Cells of detour worth one more order line served by the same pod presentation.
const PILE_ON_WEIGHT: i64 = 10;

/// Cells of driving a robot may save by serving a station at its pacing target rather
/// than one with none of its pods on the way (in proportion between): robots serve
/// stations near them, but not at the cost of starving a far one. Starvation measured on
/// fc-large at 5 robots per station, seeds 0 and 1: 5.8 / 4.9% at 100, 5.7 / 4.6% at 0,
/// 6.5 / 5.0% at 300; on the demo floor with 15 robots for 2 h, seeds 1-3: 1.6 / 1.5 / 3.9%
/// at 100, 2.1 / 2.2 / 4.3% at 0, and at 300 one seed starved a station (17%).
const URGENCY_CELLS: u32 = 100;

/// Queued lines a station's next pod is chosen for: the line whose best pod is nearest,
/// among the first this many it can serve (fc-large, 5 robots per station, seeds 0 and 1:
/// starvation 5.8 / 4.9% with the oldest line only, 4.3 / 3.4% with 4, 3.6 / 2.6% with 16,
/// 3.2 / 2.7% with 32, 2.8 / 2.3% with 64, but order cycle p95 grew with the window).
const LINE_WINDOW: usize = 32;

/// Not yet computed, in the per-call caches of empty trips to pods and of their pile-on.
const NOT_FETCHED: u32 = UNREACHABLE - 1;

/// Cells of driving worth serving a line one place earlier in the queue (so old lines are
/// not passed over for ever: with 3, the order cycle p95 stayed at 3,377 / 4,030 s against
/// 3,530 / 3,960 s with the oldest line only, and starvation fell to 2.8 / 2.2%).
const LINE_AGE_CELLS: i64 = 3;

fn grid_manhattan(grid: &Grid, a: Cell, b: Cell) -> u32 {
    let (ar, ac) = grid.row_col(a);
    let (br, bc) = grid.row_col(b);
    ar.abs_diff(br) + ac.abs_diff(bc)
}

fn decayed(value: f64, at: u64, now: u64, half_life: f64) -> f64 {
    value * 0.5f64.powf(now.saturating_sub(at) as f64 / half_life.max(1.0))
}

fn queue_key(t: &Task) -> (Reverse<i32>, u64, TaskId) {
    (Reverse(t.priority), t.deadline.unwrap_or(u64::MAX), t.id)
}

/// A pick or stow line: which pod it needs, how many units, and whether it is a stow.
fn pod_line(kind: &TaskKind) -> Option<(&PodSel, u32, bool)> {
    match kind {
        TaskKind::Pick { pod, units, .. } => Some((pod, *units, false)),
        TaskKind::Stow { pod, units, .. } => Some((pod, *units, true)),
        _ => None,
    }
}

fn pick_sku(kind: &TaskKind) -> Option<SkuId> {
    match kind {
        TaskKind::Pick {
            pod: PodSel::Sku(sku),
            ..
        } => Some(*sku),
        _ => None,
    }
}

fn station_of(kind: &TaskKind) -> Option<StationId> {
    match kind {
        TaskKind::Pick { station, .. } | TaskKind::Stow { station, .. } => *station,
        _ => None,
    }
}
