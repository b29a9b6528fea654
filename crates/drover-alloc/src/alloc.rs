//! The allocator: task table, pods and slots, stations with pacing, robots' jobs, and the
//! per-tick state machine that turns arrivals into the next goal.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use drover_grid::load::{Floor, StationKind};
use drover_grid::{Cell, CellKind, DistTable, Grid, Motion, UNREACHABLE};

use crate::assign::{FORBIDDEN, Method, assign};
use crate::costs::Costs;
use crate::task::{
    ErrandAction, PodId, PodSel, SkuId, StationId, SubmitError, Task, TaskId, TaskKind, TaskState,
};

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

/// Queries and client operations.
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

    /// Accepts a client task, or says why not (and stores nothing).
    pub fn submit(
        &mut self,
        kind: TaskKind,
        priority: i32,
        deadline: Option<u64>,
    ) -> Result<TaskId, SubmitError> {
        let wanted = |k: &TaskKind| match k {
            TaskKind::Pick { .. } => StationKind::Pick,
            _ => StationKind::Stow,
        };
        match &kind {
            TaskKind::Pick {
                pod,
                station,
                units,
            }
            | TaskKind::Stow {
                pod,
                station,
                units,
            } => {
                if *units == 0 {
                    return Err(SubmitError::NoUnits);
                }
                let want = wanted(&kind);
                match pod {
                    PodSel::Pod(p) if p.0 as usize >= self.pods.len() => {
                        return Err(SubmitError::UnknownPod(*p));
                    }
                    PodSel::Sku(s) if s.0 as usize >= self.skus.len() => {
                        return Err(SubmitError::UnknownSku(*s));
                    }
                    _ => {}
                }
                match station {
                    Some(s) if s.0 as usize >= self.stations.len() => {
                        return Err(SubmitError::UnknownStation(*s));
                    }
                    Some(s) if self.stations[s.0 as usize].kind != want => {
                        return Err(SubmitError::WrongStationKind {
                            station: *s,
                            actual: self.stations[s.0 as usize].kind.name(),
                            wanted: want.name(),
                        });
                    }
                    None if !self.stations.iter().any(|s| s.kind == want) => {
                        return Err(SubmitError::NoStationOfKind(want.name()));
                    }
                    _ => {}
                }
            }
            TaskKind::Transport { errands } => {
                if errands.is_empty() {
                    return Err(SubmitError::NoErrands);
                }
                for (index, e) in errands.iter().enumerate() {
                    if !self.grid.contains(e.cell) || !self.grid.is_free(e.cell) {
                        return Err(SubmitError::BadErrand {
                            index,
                            cell: e.cell,
                        });
                    }
                }
            }
            TaskKind::Charge { .. } | TaskKind::Park { .. } => return Err(SubmitError::Internal),
        }
        let id = self.push_task(kind, priority, deadline);
        self.enqueue(id);
        Ok(id)
    }

    fn push_task(&mut self, kind: TaskKind, priority: i32, deadline: Option<u64>) -> TaskId {
        let id = TaskId(self.tasks.len() as u64);
        self.legs.push(None);
        self.tasks.push(Task {
            id,
            kind,
            priority,
            deadline,
            state: TaskState::Queued,
            created: self.now,
            resume_at: 0,
            failures: 0,
        });
        id
    }

    fn enqueue(&mut self, id: TaskId) {
        let t = &mut self.tasks[id.0 as usize];
        t.state = TaskState::Queued;
        self.queue.insert(queue_key(t));
        if let Some(sku) = pick_sku(&t.kind) {
            self.queued_lines[sku.0 as usize] += 1;
        }
        self.dirty = true;
    }

    /// Takes a task off the queue (it stays in the table).
    fn dequeue(&mut self, id: TaskId) {
        let t = &self.tasks[id.0 as usize];
        if self.queue.remove(&queue_key(t))
            && let Some(sku) = pick_sku(&t.kind)
        {
            self.queued_lines[sku.0 as usize] -= 1;
        }
    }

    /// Withdraws a task. A queued task is cancelled at once; one under way is detached from
    /// its robot (a carried pod goes back to storage). Final tasks cannot be cancelled.
    pub fn cancel(&mut self, id: TaskId) -> Result<(), String> {
        let Some(task) = self.tasks.get(id.0 as usize) else {
            return Err(format!("no task {}", id.0));
        };
        if task.kind.is_internal() {
            return Err("charge and park tasks are the allocator's own".into());
        }
        match task.state.clone() {
            TaskState::Queued => {
                self.dequeue(id);
                self.tasks[id.0 as usize].state = TaskState::Cancelled;
                Ok(())
            }
            TaskState::Assigned { robot } | TaskState::InProgress { robot, .. } => {
                let r = robot as usize;
                match &mut self.robots[r].job {
                    Job::Visit(v) => {
                        v.tasks.retain(|t| *t != id);
                        if v.tasks.is_empty() {
                            self.abandon_visit(robot);
                        }
                    }
                    Job::Transport { .. } => self.robots[r].job = Job::None,
                    _ => {}
                }
                self.tasks[id.0 as usize].state = TaskState::Cancelled;
                self.dirty = true;
                Ok(())
            }
            state => Err(format!("task {} is already {state:?}", id.0)),
        }
    }

    /// An associate takes a station.
    pub fn staff(&mut self, s: StationId, associate: &str) {
        self.stations[s.0 as usize].staffed = Some(associate.to_string());
        self.dirty = true;
    }

    /// The associate leaves: robots on the way are redirected to another station of the
    /// kind with room, or their pods go back to storage and their tasks back to the queue.
    pub fn unstaff(&mut self, s: StationId) -> Vec<Event> {
        let mut events = Vec::new();
        self.stations[s.0 as usize].staffed = None;
        self.dirty = true;
        let tickets = self.stations[s.0 as usize].tickets.clone();
        for robot in tickets {
            let Job::Visit(v) = &self.robots[robot as usize].job else {
                continue;
            };
            let fixed = v
                .tasks
                .iter()
                .any(|t| station_of(&self.tasks[t.0 as usize].kind).is_some());
            let kind = self.stations[s.0 as usize].kind;
            let other = (!fixed)
                .then(|| {
                    (0..self.stations.len()).find(|&k| {
                        let st = &self.stations[k];
                        k != s.0 as usize
                            && st.kind == kind
                            && st.staffed.is_some()
                            && st.tickets.len() < st.target()
                    })
                })
                .flatten();
            self.drop_ticket(s, robot);
            match other {
                Some(k) => {
                    if let Job::Visit(v) = &mut self.robots[robot as usize].job {
                        v.station = StationId(k as u16);
                        v.in_lane = false;
                    }
                    self.stations[k].tickets.push(robot);
                }
                None => {
                    let tasks = match &self.robots[robot as usize].job {
                        Job::Visit(v) => v.tasks.clone(),
                        _ => Vec::new(),
                    };
                    for t in tasks {
                        self.enqueue(t);
                        events.push(Event::Requeued { task: t });
                    }
                    if let Job::Visit(v) = &mut self.robots[robot as usize].job {
                        v.tasks.clear();
                    }
                    self.abandon_visit(robot);
                }
            }
        }
        events
    }

    fn drop_ticket(&mut self, s: StationId, robot: u32) {
        let st = &mut self.stations[s.0 as usize];
        st.tickets.retain(|&r| r != robot);
        if st.lane.first() == Some(&robot) {
            st.presenting_since = None;
        }
        st.lane.retain(|&r| r != robot);
    }

    /// Ends a visit whose tasks are gone: an unlifted pod is freed, a lifted one returns.
    fn abandon_visit(&mut self, robot: u32) {
        let r = robot as usize;
        let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
            return;
        };
        self.drop_ticket(v.station, robot);
        if v.lifted {
            let cell = self.robots[r].cell;
            let slot = self.choose_slot(v.pod, cell);
            self.robots[r].job = Job::Return { pod: v.pod, slot };
        } else {
            self.pods[v.pod.0 as usize].busy = false;
        }
        self.dirty = true;
    }

    /// The associate is done with the presented pod: its lines are done, the pod goes back.
    pub fn release(&mut self, s: StationId, now: u64) -> Result<Vec<Event>, String> {
        let Some(p) = self.presented(s) else {
            return Err(format!(
                "station {} has no pod at its face",
                self.station_names[s.0 as usize]
            ));
        };
        let mut events = Vec::new();
        let robot = p.robot;
        let Job::Visit(v) = std::mem::replace(&mut self.robots[robot as usize].job, Job::None)
        else {
            unreachable!("presented() checked the job");
        };
        let alpha = self.config.smoothing;
        let st = &mut self.stations[s.0 as usize];
        let served = (now - p.since).max(1) as f64;
        st.service_ticks = (1.0 - alpha) * st.service_ticks + alpha * served;
        for t in &v.tasks {
            let task = &mut self.tasks[t.0 as usize];
            let pod = &mut self.pods[v.pod.0 as usize];
            if let TaskKind::Pick { units, .. } | TaskKind::Stow { units, .. } = &task.kind {
                self.stations[s.0 as usize].units_done += u64::from(*units);
            }
            match &task.kind {
                TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } => {
                    let left = pod.contents.entry(*sku).or_insert(0);
                    *left = left.saturating_sub(*units);
                }
                TaskKind::Stow {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } => {
                    let had = pod.contents.get(sku).copied().unwrap_or(0);
                    *pod.contents.entry(*sku).or_insert(0) += units;
                    if had == 0 {
                        self.sku_pods[sku.0 as usize].push(v.pod);
                    }
                }
                _ => {}
            }
            task.state = TaskState::Done { at: now };
            events.push(Event::Done { task: *t });
        }
        let pod = &mut self.pods[v.pod.0 as usize];
        pod.contents.retain(|_, q| *q > 0);
        pod.demand = decayed(pod.demand, pod.demand_at, now, self.config.demand_half_life) + 1.0;
        pod.demand_at = now;
        self.drop_ticket(s, robot);
        let cell = self.robots[robot as usize].cell;
        let slot = self.choose_slot(v.pod, cell);
        self.robots[robot as usize].job = Job::Return { pod: v.pod, slot };
        self.dirty = true;
        Ok(events)
    }

    /// An operator sends a robot to charge: it goes to a free charger as soon as it has no
    /// client work (a task under way is finished first).
    pub fn request_charge(&mut self, robot: u32) -> Result<(), String> {
        if self.config.battery.is_none() {
            return Err("battery management is off in this configuration".into());
        }
        if self.chargers.is_empty() {
            return Err("this floor has no chargers".into());
        }
        let r = self
            .robots
            .get_mut(robot as usize)
            .ok_or_else(|| format!("no robot {robot}"))?;
        r.charge_requested = true;
        self.dirty = true;
        Ok(())
    }

    /// Replaces a pod's contents (an inventory import): SKU name -> units. Refused for a pod
    /// out of its slot or held by a task (on its way to, at, or back from a station): that
    /// visit is about to change its contents.
    pub fn set_pod_contents(
        &mut self,
        pod: PodId,
        contents: &[(String, u32)],
    ) -> Result<(), String> {
        self.may_import(pod)?;
        let mut new = BTreeMap::new();
        for (name, units) in contents.iter().filter(|c| c.1 > 0) {
            let sku = self.intern(name);
            *new.entry(sku).or_insert(0) += units;
            if !self.sku_pods[sku.0 as usize].contains(&pod) {
                self.sku_pods[sku.0 as usize].push(pod);
            }
        }
        self.pods[pod.0 as usize].contents = new;
        self.dirty = true;
        Ok(())
    }

    /// Whether [`Allocator::set_pod_contents`] would take new contents for `pod` now.
    pub fn may_import(&self, pod: PodId) -> Result<(), String> {
        let p = self
            .pods
            .get(pod.0 as usize)
            .ok_or_else(|| format!("no pod {}", pod.0))?;
        if p.busy || !matches!(p.loc, PodLoc::Slot(_)) {
            return Err(format!(
                "pod {} is on its way to or from a station; import its contents once it is back in a slot",
                self.pod_ids[pod.0 as usize]
            ));
        }
        Ok(())
    }

    /// A pod's contents, SKU -> units, for the store.
    pub fn pod_contents(&self, pod: PodId) -> Vec<(SkuId, u32)> {
        self.pods[pod.0 as usize]
            .contents
            .iter()
            .map(|(s, q)| (*s, *q))
            .collect()
    }

    /// What robot `robot` can do (read from its factsheet): a robot that cannot lift gets no
    /// task (every job lifts a pod or a cart), one that cannot charge is never sent to a
    /// charger. Jobs it holds now are finished.
    pub fn set_capabilities(&mut self, robot: u32, can: Capabilities) {
        self.robots[robot as usize].can = can;
    }

    /// What robot `robot` can do.
    pub fn capabilities(&self, robot: u32) -> Capabilities {
        self.robots[robot as usize].can
    }

    /// The robot reports that lifting the pod of its station visit at `slot` failed, and does
    /// not carry it (its `loads` say so): the pod stands in that slot (again, if the
    /// allocator had taken it for lifted), the visit is given up, and each of its tasks goes
    /// back to the queue, or fails with `reason` once it has failed more than `retries`
    /// times. Returns what changed; nothing if the robot is on no station visit.
    pub fn lift_failed(
        &mut self,
        robot: u32,
        slot: Cell,
        reason: &str,
        retries: u32,
    ) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        let Job::Visit(v) = &self.robots[r].job else {
            return events;
        };
        let (pod, lifted) = (v.pod, v.lifted);
        if lifted {
            // The allocator took the pod for lifted when the robot reached its slot.
            let Some(&k) = self.slot_of_cell.get(slot.index()) else {
                return events;
            };
            if self.robots[r].carrying != Some(pod)
                || matches!(self.slots.get(k as usize), None | Some(Slot::Pod(_)))
            {
                // Not a slot, or another pod stands there: the report does not fit.
                return events;
            }
            if let Slot::Reserved(other) = self.slots[k as usize] {
                // A returning pod was sent to this slot meanwhile: it gets another.
                self.slots[k as usize] = Slot::Pod(pod);
                for o in 0..self.robots.len() {
                    if let Job::Return { pod: p, slot: s } = self.robots[o].job
                        && p == other
                        && s == slot
                    {
                        let from = self.robots[o].cell;
                        let new = self.choose_slot(other, from);
                        self.robots[o].job = Job::Return {
                            pod: other,
                            slot: new,
                        };
                    }
                }
            }
            self.slots[k as usize] = Slot::Pod(pod);
            self.pods[pod.0 as usize].loc = PodLoc::Slot(slot);
            self.robots[r].carrying = None;
        }
        let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
            unreachable!("checked above");
        };
        self.pods[pod.0 as usize].busy = false;
        self.drop_ticket(v.station, robot);
        for t in &v.tasks {
            let task = &mut self.tasks[t.0 as usize];
            task.failures += 1;
            if task.failures > retries {
                task.state = TaskState::Failed {
                    reason: format!("{reason} (tried {} times)", task.failures),
                };
            } else {
                self.enqueue(*t);
                events.push(Event::Requeued { task: *t });
            }
        }
        self.dirty = true;
        events
    }

    /// The robot reports that setting down `pod` at `at` failed and still carries it: it
    /// takes the pod to another slot (the one it was sent to is freed). Nothing if the allocator has
    /// the pod elsewhere than in a slot or on this robot.
    pub fn drop_failed(&mut self, robot: u32, pod: PodId, at: Cell) -> Vec<Event> {
        let r = robot as usize;
        if let PodLoc::Slot(slot) = self.pods[pod.0 as usize].loc {
            let k = self.slot_of_cell[slot.index()] as usize;
            if self.slots[k] == Slot::Pod(pod) {
                self.slots[k] = Slot::Empty;
            }
        } else if self.pods[pod.0 as usize].loc != PodLoc::Robot(robot) {
            return Vec::new();
        }
        if let Job::Return { slot, .. } = self.robots[r].job {
            self.unreserve(slot);
        }
        self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
        self.robots[r].carrying = Some(pod);
        // Another slot than the one it could not set the pod down in (`at`).
        let cell = self.robots[r].cell;
        let slot = self
            .choose_slot_where(pod, cell, &|c| c != at)
            .unwrap_or_else(|| self.choose_slot(pod, cell));
        self.robots[r].job = Job::Return { pod, slot };
        self.dirty = true;
        Vec::new()
    }

    /// Takes a robot out of service (fault, manual) or puts it back. Its tasks go back to the
    /// queue; a pod it carries is stranded where it stands and goes home when the robot
    /// returns. Nothing is lost and nothing is done twice.
    pub fn set_in_service(&mut self, robot: u32, in_service: bool) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        if self.robots[r].in_service == in_service {
            return events;
        }
        self.robots[r].in_service = in_service;
        self.dirty = true;
        if in_service {
            if let Some(pod) = self.robots[r].carrying {
                let cell = self.robots[r].cell;
                self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
                let slot = self.choose_slot(pod, cell);
                self.robots[r].job = Job::Return { pod, slot };
            }
            return events;
        }
        let cell = self.robots[r].cell;
        match std::mem::replace(&mut self.robots[r].job, Job::None) {
            Job::Visit(v) => self.requeue_visit(robot, &v, &mut events),
            Job::Return { slot, .. } => self.unreserve(slot),
            Job::Transport { task, errand } => {
                self.tasks[task.0 as usize].resume_at = errand;
                self.legs[task.0 as usize] = None;
                self.enqueue(task);
                events.push(Event::Requeued { task });
            }
            Job::Charge { task, charger, .. } => {
                self.charger_owner[charger] = None;
                self.tasks[task.0 as usize].state = TaskState::Cancelled;
            }
            Job::Park { task, cell } => {
                self.free_park(cell);
                self.finish_internal(task);
            }
            Job::None => {}
        }
        if let Some(pod) = self.robots[r].carrying {
            // Stays busy (no job may take it) until its robot brings it home.
            self.pods[pod.0 as usize].loc = PodLoc::Stranded(cell);
        }
        events
    }

    /// The pod called `name`.
    pub fn pod_by_name(&self, name: &str) -> Option<PodId> {
        self.pod_ids
            .iter()
            .position(|p| p == name)
            .map(|k| PodId(k as u32))
    }

    /// A robot reports carrying `pod` (it was lifted before a coordinator restart): the pod
    /// is taken off its recorded slot (or the floor) and the robot brings it to a slot.
    /// Refused for a robot that is busy or already carries a pod, and for a pod that is on a
    /// job or on another robot.
    pub fn adopt(&mut self, robot: u32, pod: PodId) -> Result<(), String> {
        let r = robot as usize;
        if !self.robots[r].in_service || self.robots[r].carrying.is_some() {
            return Err(format!(
                "robot {robot} is out of service or already carries a pod"
            ));
        }
        if !matches!(
            self.robots[r].job,
            Job::None | Job::Park { .. } | Job::Charge { .. }
        ) {
            return Err(format!("robot {robot} is on a job"));
        }
        let p = &self.pods[pod.0 as usize];
        if p.busy {
            return Err(format!("pod {} is on a job", self.pod_ids[pod.0 as usize]));
        }
        match p.loc {
            PodLoc::Slot(c) => {
                let k = self.slot_of_cell[c.index()] as usize;
                self.slots[k] = Slot::Empty;
            }
            PodLoc::Stranded(_) => {}
            PodLoc::Robot(other) => {
                return Err(format!(
                    "pod {} is on robot {other}",
                    self.pod_ids[pod.0 as usize]
                ));
            }
        }
        self.release_internal(robot);
        let cell = self.robots[r].cell;
        let p = &mut self.pods[pod.0 as usize];
        p.loc = PodLoc::Robot(robot);
        p.busy = true;
        self.robots[r].carrying = Some(pod);
        let slot = self.choose_slot(pod, cell);
        self.robots[r].job = Job::Return { pod, slot };
        self.dirty = true;
        Ok(())
    }

    /// Blocked zones changed (`blocked` says which cells are in one). Slots in them take no
    /// returning pod. Pods, chargers and park cells in them are unreachable through the
    /// caller's distance tables, so no new job goes there; an in-service robot whose next goal
    /// lies in one gives its job up the way a robot leaving service does (its tasks go back to
    /// the queue, a carried pod goes home to a slot outside), and a returning pod gets another
    /// slot.
    pub fn avoid(&mut self, blocked: &dyn Fn(Cell) -> bool) -> Vec<Event> {
        for (k, &c) in self.storage_cells.iter().enumerate() {
            self.slot_blocked[k] = blocked(c);
        }
        self.dirty = true;
        let mut events = Vec::new();
        for robot in 0..self.robots.len() as u32 {
            let Some(goal) = self.goal(robot).filter(|&g| blocked(g)) else {
                continue;
            };
            let r = robot as usize;
            if let Job::Return { pod, slot } = self.robots[r].job {
                debug_assert_eq!(slot, goal);
                self.unreserve(slot);
                let cell = self.robots[r].cell;
                let slot = self.choose_slot(pod, cell);
                self.robots[r].job = Job::Return { pod, slot };
            } else {
                events.extend(self.set_in_service(robot, false));
                events.extend(self.set_in_service(robot, true));
            }
        }
        events
    }

    /// A robot taking a pod back cannot reach its slot (a dead robot or a zone closed the
    /// aisles a loaded robot needs): it gets another slot among those `reachable` accepts.
    /// Robots on any other job are left alone.
    pub fn reslot(&mut self, robot: u32, reachable: &dyn Fn(Cell) -> bool) {
        let r = robot as usize;
        let Some(Job::Return { pod, slot }) = self.robots.get(r).map(|r| &r.job) else {
            return;
        };
        let (pod, slot) = (*pod, *slot);
        let cell = self.robots[r].cell;
        // With no other reachable free slot it keeps its own and waits for a way to open.
        let Some(new) = self.choose_slot_where(pod, cell, &|c| c != slot && reachable(c)) else {
            return;
        };
        self.unreserve(slot);
        self.robots[r].job = Job::Return { pod, slot: new };
    }

    /// Robot `robot` cannot reach its goal (cells closed by a dead robot or a zone; `reachable`
    /// says where it can still go). A returning pod takes a slot it can reach
    /// ([`Allocator::reslot`]); a station visit is given up: its tasks are queued again
    /// (another robot, or this one later, serves them), and a pod it already carries goes
    /// back to a reachable slot. Other jobs wait for the way to open.
    pub fn goal_unreachable(&mut self, robot: u32, reachable: &dyn Fn(Cell) -> bool) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        match self.robots.get(r).map(|r| &r.job) {
            Some(Job::Return { .. }) => self.reslot(robot, reachable),
            Some(Job::Visit(_)) => {
                let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
                    unreachable!("matched a visit");
                };
                self.requeue_visit(robot, &v, &mut events);
                if v.lifted {
                    let cell = self.robots[r].cell;
                    let away = self.choose_slot_where(v.pod, cell, &|c| c != cell && reachable(c));
                    let slot = away.unwrap_or_else(|| self.set_down_boxed_in(v.pod, cell));
                    self.robots[r].job = Job::Return { pod: v.pod, slot };
                }
            }
            _ => {}
        }
        events
    }

    /// The slot a loaded robot boxed in at `cell` (it cannot leave the slot it lifted `pod`
    /// from) returns `pod` to: that slot, whose pods are then not chosen until cells open or
    /// close again ([`Allocator::avoid`]); if it stands elsewhere, any slot, re-chosen
    /// ([`Allocator::reslot`]) once a way opens.
    fn set_down_boxed_in(&mut self, pod: PodId, cell: Cell) -> Cell {
        match self.choose_slot_where(pod, cell, &|c| c == cell) {
            Some(slot) => {
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slot_blocked[k] = true;
                slot
            }
            None => self.choose_slot(pod, cell),
        }
    }

    /// A visit `robot` no longer makes: its station ticket is dropped, its tasks queued
    /// again, and a pod not yet lifted is free for other jobs.
    fn requeue_visit(&mut self, robot: u32, v: &Visit, events: &mut Vec<Event>) {
        self.drop_ticket(v.station, robot);
        for t in &v.tasks {
            self.enqueue(*t);
            events.push(Event::Requeued { task: *t });
        }
        if !v.lifted {
            self.pods[v.pod.0 as usize].busy = false;
        }
        self.dirty = true;
    }

    fn unreserve(&mut self, slot: Cell) {
        let k = self.slot_of_cell[slot.index()] as usize;
        if let Slot::Reserved(_) = self.slots[k] {
            self.slots[k] = Slot::Empty;
        }
    }

    fn free_park(&mut self, cell: Cell) {
        if let Some(k) = self.park.iter().position(|&p| p == cell) {
            self.park_owner[k] = None;
        }
    }

    fn finish_internal(&mut self, task: TaskId) {
        let t = &mut self.tasks[task.0 as usize];
        if !t.state.is_final() {
            t.state = TaskState::Done { at: self.now };
        }
    }

    /// Picks and reserves the slot a pod goes back to: the free slot nearest to `from` (the
    /// station it leaves) among those no better ranked than half the pod's demand rank, so
    /// slow movers stay out of the slots nearest the stations.
    fn choose_slot(&mut self, pod: PodId, from: Cell) -> Cell {
        self.choose_slot_where(pod, from, &|_| true)
            .unwrap_or_else(|| {
                // No free slot at all: the pod's own.
                let home = self.pods[pod.0 as usize].home;
                let k = self.slot_of_cell[home.index()] as usize;
                self.slots[k] = Slot::Reserved(pod);
                home
            })
    }

    /// [`Allocator::choose_slot`] among the free slots `ok` accepts; `None` (nothing
    /// reserved) when there is none.
    fn choose_slot_where(
        &mut self,
        pod: PodId,
        from: Cell,
        ok: &dyn Fn(Cell) -> bool,
    ) -> Option<Cell> {
        let n = self.slots.len();
        let home = self.pods[pod.0 as usize].home;
        let home_k = self.slot_of_cell[home.index()] as usize;
        let pick = if !self.config.slotting && self.slots[home_k] == Slot::Empty && ok(home) {
            home_k
        } else {
            let now = self.now;
            let hl = self.config.demand_half_life;
            let mine = {
                let p = &self.pods[pod.0 as usize];
                decayed(p.demand, p.demand_at, now, hl)
            };
            let hotter = self
                .pods
                .iter()
                .filter(|p| decayed(p.demand, p.demand_at, now, hl) > mine)
                .count();
            let target = hotter.min(n.saturating_sub(1));
            // The slot nearest to where the pod is (the station it leaves), among the slots
            // no nearer the stations than half its demand rank: hot pods may take any slot,
            // slow movers are kept out of the best ones. A short return frees the robot
            // sooner, and pods in demand settle near the stations that ask for them.
            let empty = |k: usize| {
                self.slots[k] == Slot::Empty && !self.slot_blocked[k] && ok(self.storage_cells[k])
            };
            let steps = self.grid.steps_from(from, true, true);
            let nearest = |ranks: std::ops::Range<usize>| {
                ranks
                    .map(|rank| self.slots_by_rank[rank] as usize)
                    .filter(|&k| empty(k))
                    .min_by_key(|&k| {
                        let c = self.storage_cells[k];
                        (steps[c.index()], grid_manhattan(&self.grid, from, c), k)
                    })
            };
            nearest(target / 2..n).or_else(|| nearest(0..target / 2))?
        };
        self.slots[pick] = Slot::Reserved(pod);
        Some(self.storage_cells[pick])
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

/// The tick.
impl Allocator {
    /// Advances every job by what the robots did, hands out work, and sets
    /// [`Allocator::goals`]. `robots` is indexed like the robots given to
    /// [`Allocator::new`].
    pub fn tick(&mut self, now: u64, robots: &[RobotView], costs: &mut dyn Costs) -> TickReport {
        assert_eq!(robots.len(), self.robots.len(), "one view per robot");
        self.now = now;
        let mut report = TickReport::default();
        for (r, view) in robots.iter().enumerate() {
            self.robots[r].cell = view.cell;
            self.robots[r].battery = view.battery;
        }
        for r in 0..self.robots.len() {
            self.advance(r as u32, now, &mut report.events);
        }
        if self.config.battery.is_some() {
            self.send_to_chargers(costs, &mut report.events, false);
        }
        // A safety net over the events that mark work (a stored pod, a robot coming free):
        // while tasks are queued and robots free, allocation runs at least every
        // `SWEEP_TICKS`, so a task whose chance was missed never waits for good.
        if !self.dirty
            && now.is_multiple_of(SWEEP_TICKS)
            && !self.queue.is_empty()
            && (0..self.robots.len() as u32).any(|r| self.free_for_work(r).is_some())
        {
            self.dirty = true;
        }
        if self.dirty {
            self.dirty = false;
            self.allocate(now, costs, &mut report);
        }
        if self.config.battery.is_some() {
            self.send_to_chargers(costs, &mut report.events, true);
        }
        if self.config.park_idle {
            self.park_idle(costs);
        }
        for r in 0..self.robots.len() {
            self.goals[r] = self.goal(r as u32);
        }
        report
    }

    /// Moves one robot's job along if it reached its goal.
    fn advance(&mut self, robot: u32, now: u64, events: &mut Vec<Event>) {
        let r = robot as usize;
        if !self.robots[r].in_service {
            return;
        }
        if self.robots[r].hold_until > now {
            return;
        }
        if self.robots[r].hold_until == now && now > 0 && matches!(self.robots[r].job, Job::None) {
            // Just finished setting a pod down: free for work.
            self.dirty = true;
        }
        let cell = self.robots[r].cell;
        match &mut self.robots[r].job {
            Job::None => {}
            Job::Visit(v) if !v.lifted => {
                let PodLoc::Slot(slot) = self.pods[v.pod.0 as usize].loc else {
                    return;
                };
                if cell != slot {
                    return;
                }
                v.lifted = true;
                let (pod, tasks) = (v.pod, v.tasks.clone());
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slots[k] = Slot::Empty;
                self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
                self.robots[r].carrying = Some(pod);
                self.robots[r].hold_until = now + self.config.lift_ticks as u64;
                for t in tasks {
                    self.tasks[t.0 as usize].state = TaskState::InProgress { robot, errand: 1 };
                }
            }
            Job::Visit(v) => {
                let s = v.station.0 as usize;
                let st = &mut self.stations[s];
                if !v.in_lane && st.path.contains(&cell) {
                    v.in_lane = true;
                    st.lane.push(robot);
                    let lead = (now - v.dispatched) as f64;
                    let a = self.config.smoothing;
                    st.lead_ticks = (1.0 - a) * st.lead_ticks + a * lead;
                }
                if st.lane.first() == Some(&robot)
                    && cell == st.face()
                    && st.presenting_since.is_none()
                {
                    st.presenting_since = Some(now);
                    events.push(Event::Presented {
                        station: v.station,
                        robot,
                        pod: v.pod,
                    });
                }
            }
            Job::Return { pod, slot } => {
                if cell != *slot {
                    return;
                }
                let (pod, slot) = (*pod, *slot);
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slots[k] = Slot::Pod(pod);
                let p = &mut self.pods[pod.0 as usize];
                p.loc = PodLoc::Slot(slot);
                p.home = slot;
                p.busy = false;
                self.robots[r].carrying = None;
                self.robots[r].job = Job::None;
                self.robots[r].hold_until = now + self.config.drop_ticks as u64;
                events.push(Event::PodStored { pod, slot });
                // The pod may serve queued lines again (without this, a task waiting for it
                // could stay queued with every robot parked).
                self.dirty = true;
            }
            Job::Transport { task, errand } => {
                let (task, e) = (*task, *errand);
                let TaskKind::Transport { errands } = &self.tasks[task.0 as usize].kind else {
                    return;
                };
                let stop = errands[e];
                let last = errands.len();
                if cell != stop.cell {
                    return;
                }
                let hold = match stop.action {
                    ErrandAction::Visit => 0,
                    ErrandAction::Lift => self.config.lift_ticks,
                    ErrandAction::Drop => self.config.drop_ticks,
                    ErrandAction::Dwell(k) => k,
                };
                self.robots[r].hold_until = now + hold as u64;
                if e + 1 == last {
                    self.tasks[task.0 as usize].state = TaskState::Done {
                        at: now + hold as u64,
                    };
                    self.robots[r].job = Job::None;
                    events.push(Event::Done { task });
                    self.dirty = true;
                } else {
                    self.robots[r].job = Job::Transport {
                        task,
                        errand: e + 1,
                    };
                    self.tasks[task.0 as usize].state = TaskState::InProgress {
                        robot,
                        errand: e + 1,
                    };
                }
            }
            Job::Charge { task, charger, .. } => {
                let (task, charger) = (*task, *charger);
                let full = self.config.battery.as_ref().map_or(1.0, |b| b.full);
                if cell == self.chargers[charger] {
                    if self.robots[r].battery >= full {
                        self.charger_owner[charger] = None;
                        self.robots[r].job = Job::None;
                        self.finish_internal(task);
                        self.dirty = true;
                    } else if let TaskState::Assigned { .. } = self.tasks[task.0 as usize].state {
                        self.tasks[task.0 as usize].state =
                            TaskState::InProgress { robot, errand: 0 };
                    }
                }
            }
            Job::Park { task, cell: park } => {
                if cell == *park {
                    let task = *task;
                    self.finish_internal(task);
                }
            }
        }
    }

    /// Idle robots below `level` take the nearest free charger. Opportunistic charging
    /// (idle robots below "may work" after allocation) leaves a tenth of the chargers free
    /// for robots that must charge, and staggers the fleet's charging over the shift.
    fn send_to_chargers(
        &mut self,
        costs: &mut dyn Costs,
        events: &mut Vec<Event>,
        opportunistic: bool,
    ) {
        let Some(b) = self.config.battery.clone() else {
            return;
        };
        let level = if opportunistic {
            b.may_work
        } else {
            b.go_charge
        };
        let keep_free = if opportunistic {
            self.chargers.len().div_ceil(10)
        } else {
            0
        };
        let mut needy: Vec<u32> = (0..self.robots.len() as u32)
            .filter(|&r| {
                let robot = &self.robots[r as usize];
                robot.in_service
                    && robot.can.charge
                    && robot.hold_until <= self.now
                    && matches!(robot.job, Job::None | Job::Park { .. })
                    && (robot.battery < level || (robot.charge_requested && !opportunistic))
            })
            .collect();
        // The emptiest first: chargers are scarce.
        needy.sort_by(|&a, &c| {
            self.robots[a as usize]
                .battery
                .total_cmp(&self.robots[c as usize].battery)
        });
        for robot in needy {
            let free = self.charger_owner.iter().filter(|o| o.is_none()).count();
            if free <= keep_free {
                break;
            }
            let from = self.robots[robot as usize].cell;
            let best = (0..self.chargers.len())
                .filter(|&k| self.charger_owner[k].is_none())
                .map(|k| (costs.cost(from, self.chargers[k]), k))
                .filter(|(d, _)| *d != UNREACHABLE)
                .min();
            let Some((_, charger)) = best else {
                break;
            };
            self.release_internal(robot);
            self.robots[robot as usize].charge_requested = false;
            self.charger_owner[charger] = Some(robot);
            let task = self.push_task(TaskKind::Charge { charger }, 0, None);
            self.tasks[task.0 as usize].state = TaskState::Assigned { robot };
            self.robots[robot as usize].job = Job::Charge {
                task,
                charger,
                opportunistic,
            };
            events.push(Event::Assigned { task, robot });
        }
    }

    /// Ends a park or charge job so the robot can take other work.
    fn release_internal(&mut self, robot: u32) {
        match std::mem::replace(&mut self.robots[robot as usize].job, Job::None) {
            Job::Park { task, cell } => {
                self.free_park(cell);
                self.finish_internal(task);
            }
            Job::Charge { task, charger, .. } => {
                self.charger_owner[charger] = None;
                self.finish_internal(task);
            }
            other => self.robots[robot as usize].job = other,
        }
    }

    /// Whether a robot may take work now, and the extra cost of taking it (off a charger).
    fn free_for_work(&self, robot: u32) -> Option<u32> {
        let r = &self.robots[robot as usize];
        if !r.in_service || !r.can.lift || r.hold_until > self.now || r.carrying.is_some() {
            return None;
        }
        match (&r.job, &self.config.battery) {
            (Job::None | Job::Park { .. }, None) => Some(0),
            (Job::None | Job::Park { .. }, Some(b)) => (r.battery >= b.go_charge).then_some(0),
            (
                Job::Charge {
                    opportunistic: true,
                    ..
                },
                Some(b),
            ) => (r.battery >= b.go_charge).then_some(20),
            (Job::Charge { .. }, Some(b)) => (r.battery >= b.may_work).then_some(20),
            _ => None,
        }
    }

    /// Builds this tick's jobs and assigns free robots to them.
    fn allocate(&mut self, now: u64, costs: &mut dyn Costs, report: &mut TickReport) {
        let free: Vec<(u32, u32)> = (0..self.robots.len() as u32)
            .filter_map(|r| self.free_for_work(r).map(|extra| (r, extra)))
            .take(self.config.max_batch)
            .collect();
        if free.is_empty() || self.queue.is_empty() {
            return;
        }
        let cells: Vec<Cell> = free
            .iter()
            .map(|&(r, _)| self.robots[r as usize].cell)
            .collect();
        let demands = self.demands(&cells, costs);
        if demands.is_empty() {
            return;
        }
        let (rows, cols) = (free.len(), demands.len());
        let mut matrix = vec![FORBIDDEN; rows * cols];
        let firsts: Vec<Cell> = demands.iter().map(|d| d.first).collect();
        costs.fill(&cells, &firsts, &mut matrix);
        // Entry of robot i and job j in whichever layout the costs came in.
        let tm = costs.target_major();
        let at = |i: usize, j: usize| if tm { j * rows + i } else { i * cols + j };
        // UNREACHABLE is FORBIDDEN already; only the energy check and the surcharge for
        // robots taken off a charger touch the matrix again.
        let battery = self.config.battery.clone();
        let weight = self.config.trip_weight;
        // What every entry of a row (robot) and of a column (job) gets on top of the driving.
        let row_add: Vec<u32> = free.iter().map(|&(_, extra)| extra).collect();
        let col_add: Vec<u32> = demands
            .iter()
            .map(|d| weight.saturating_mul(d.legs).saturating_add(d.slack))
            .collect();
        let add = |c: &mut u32, i: usize, j: usize| {
            if *c != FORBIDDEN {
                *c = c
                    .saturating_add(row_add[i])
                    .saturating_add(col_add[j])
                    .min(FORBIDDEN - 1);
            }
        };
        match &battery {
            // The common large case, in memory order (column-major when transposed).
            None => {
                let line = if tm { rows } else { cols };
                for (outer, chunk) in matrix.chunks_mut(line).enumerate() {
                    for (inner, c) in chunk.iter_mut().enumerate() {
                        let (i, j) = if tm { (inner, outer) } else { (outer, inner) };
                        add(c, i, j);
                    }
                }
            }
            Some(b) => {
                for (i, &(robot, _)) in free.iter().enumerate() {
                    let r = &self.robots[robot as usize];
                    for (j, d) in demands.iter().enumerate() {
                        let c = &mut matrix[at(i, j)];
                        if *c == FORBIDDEN {
                            continue;
                        }
                        let need =
                            b.per_cell * (*c + d.rest_cells) as f64 + b.per_lift * d.lifts as f64;
                        if r.battery - need < b.critical {
                            *c = FORBIDDEN;
                            continue;
                        }
                        add(c, i, j);
                    }
                }
            }
        }
        let (pairs, method) = if tm {
            let (by_job, method) = assign(cols, rows, &matrix, self.config.optimal_max);
            let mut pairs = vec![None; rows];
            for (j, i) in by_job.into_iter().enumerate() {
                if let Some(i) = i {
                    pairs[i] = Some(j);
                }
            }
            (pairs, method)
        } else {
            assign(rows, cols, &matrix, self.config.optimal_max)
        };
        report.batch = Some((rows, cols));
        report.method = Some(method);
        let mut demands: Vec<Option<Demand>> = demands.into_iter().map(Some).collect();
        for (i, col) in pairs.iter().enumerate() {
            let Some(j) = *col else { continue };
            let Some(d) = demands[j].take() else { continue };
            let robot = free[i].0;
            self.release_internal(robot);
            for &t in &d.tasks {
                self.dequeue(t);
                self.tasks[t.0 as usize].state = TaskState::Assigned { robot };
                report.events.push(Event::Assigned { task: t, robot });
            }
            self.robots[robot as usize].job = match (d.pod, d.station) {
                (Some(pod), Some(station)) => {
                    self.pods[pod.0 as usize].busy = true;
                    self.stations[station.0 as usize].tickets.push(robot);
                    Job::Visit(Visit {
                        station,
                        pod,
                        tasks: d.tasks,
                        lifted: false,
                        dispatched: now,
                        in_lane: false,
                    })
                }
                _ => {
                    let task = d.tasks[0];
                    Job::Transport {
                        task,
                        errand: self.tasks[task.0 as usize].resume_at,
                    }
                }
            };
        }
        // Jobs nobody could take stay queued; try again when something changes.
        if demands.iter().any(Option::is_some) {
            self.dirty = true;
        }
    }

    /// Jobs for the free robots to choose from: transports first (a full tote cart holds up
    /// its station), then a pod for every place a station is short of its pacing target
    /// (most short first, one each per round), then, if that is fewer than the robots, pods
    /// up to capacity.
    fn demands(&mut self, free: &[Cell], costs: &mut dyn Costs) -> Vec<Demand> {
        let limit = free.len();
        let mut out = Vec::new();
        let mut claimed: BTreeSet<TaskId> = BTreeSet::new();
        let mut pods_claimed: BTreeSet<PodId> = BTreeSet::new();
        let mut want: Vec<usize> = self
            .stations
            .iter()
            .map(|st| {
                if st.staffed.is_some() && st.kind != StationKind::Pack {
                    st.target().saturating_sub(st.tickets.len())
                } else {
                    0
                }
            })
            .collect();
        let transports: Vec<TaskId> = self
            .queue
            .iter()
            .map(|k| k.2)
            .filter(|t| matches!(self.tasks[t.0 as usize].kind, TaskKind::Transport { .. }))
            .take(limit.saturating_mul(self.config.transport_window))
            .collect();
        for t in transports {
            let task = &self.tasks[t.0 as usize];
            let TaskKind::Transport { errands } = &task.kind else {
                continue;
            };
            let rest = &errands[task.resume_at..];
            let need_legs = self.config.battery.is_some() || self.config.trip_weight > 0;
            let legs = match self.legs[t.0 as usize] {
                Some(l) => l,
                None if need_legs => {
                    let mut l = 0u32;
                    for w in rest.windows(2) {
                        l = l.saturating_add(costs.cost(w[0].cell, w[1].cell));
                    }
                    self.legs[t.0 as usize] = Some(l);
                    l
                }
                None => 0,
            };
            let last = rest.last().expect("resume_at < errands").cell;
            let cells = legs.saturating_add(self.to_charger(last));
            let lifts = rest
                .iter()
                .filter(|e| matches!(e.action, ErrandAction::Lift | ErrandAction::Drop))
                .count() as u32;
            out.push(Demand {
                tasks: vec![t],
                pod: None,
                station: None,
                first: rest[0].cell,
                rest_cells: cells,
                legs,
                lifts,
                slack: 0,
            });
        }
        // First up to each station's pacing target, every station short of it (not only as
        // many as there are free robots: the assignment then sends each robot to a station
        // it is near, where taking the neediest stations first sent robots freed in the
        // north to the south side and back); then, only if robots would otherwise stay
        // idle, up to capacity: a deeper queue costs nothing when robots are spare.
        let mut sent = vec![0usize; self.stations.len()];
        // Per pod: the empty trip from the nearest free robot, once computed.
        let mut fetched = vec![NOT_FETCHED; self.pods.len()];
        // Per pod: other queued lines it could serve (capped), once counted.
        let mut piled = vec![NOT_FETCHED; self.pods.len()];
        for pass in 0..2 {
            if pass == 1 && out.len() >= limit {
                break;
            }
            let cap = if pass == 0 { usize::MAX } else { limit };
            if pass == 1 {
                for (k, st) in self.stations.iter().enumerate() {
                    want[k] = if st.staffed.is_some() && st.kind != StationKind::Pack {
                        st.capacity.saturating_sub(st.tickets.len() + sent[k])
                    } else {
                        0
                    };
                }
            }
            let mut stuck = vec![false; self.stations.len()];
            // Per mille of its target (capacity, in the second pass) a station is short.
            let short = |k: usize, want: &[usize]| {
                let st = &self.stations[k];
                let of = if pass == 0 { st.target() } else { st.capacity };
                want[k] * 1000 / of.max(1)
            };
            while out.len() < cap {
                // The station furthest below its target goes next.
                let Some(s) = (0..self.stations.len())
                    .filter(|&k| want[k] > 0 && !stuck[k])
                    .max_by_key(|&k| (short(k, &want), Reverse(k)))
                else {
                    break;
                };
                // Short of its target by a larger share: less slack.
                let short = short(s, &want).min(1000) as u32;
                match self.station_demand(
                    StationId(s as u16),
                    free,
                    &claimed,
                    &pods_claimed,
                    costs,
                    &mut fetched,
                    &mut piled,
                ) {
                    Some(mut d) => {
                        d.slack = URGENCY_CELLS * (1000 - short) / 1000;
                        claimed.extend(d.tasks.iter().copied());
                        pods_claimed.extend(d.pod);
                        want[s] -= 1;
                        sent[s] += 1;
                        out.push(d);
                    }
                    None => stuck[s] = true,
                }
            }
        }
        out
    }

    fn to_charger(&self, cell: Cell) -> u32 {
        self.to_charger.as_ref().map_or(0, |t| {
            match t.get(&self.grid, cell, drover_grid::Heading::East) {
                UNREACHABLE => 0,
                d => d,
            }
        })
    }

    /// The next pod for station `s`: among the first [`LINE_WINDOW`] queued tasks (fewer
    /// with more than four free robots) of the
    /// highest priority it can serve, the task and pod with the best score, and other queued
    /// lines that pod can serve at the same presentation (pile-on). A pod's score is the
    /// shortest empty trip from a free robot plus the loaded trip to the face, less a bonus
    /// for the other lines it serves, plus [`LINE_AGE_CELLS`] per place in the queue.
    fn station_demand(
        &self,
        s: StationId,
        free: &[Cell],
        claimed: &BTreeSet<TaskId>,
        pods_claimed: &BTreeSet<PodId>,
        costs: &mut dyn Costs,
        fetched: &mut [u32],
        piled: &mut [u32],
    ) -> Option<Demand> {
        let st = &self.stations[s.0 as usize];
        let face = st.face();
        let serves = |t: &Task| match (&t.kind, st.kind) {
            (TaskKind::Pick { station, .. }, StationKind::Pick)
            | (TaskKind::Stow { station, .. }, StationKind::Stow) => {
                station.is_none() || *station == Some(s)
            }
            _ => false,
        };
        let free_pod = |p: PodId| {
            let pod = &self.pods[p.0 as usize];
            let PodLoc::Slot(slot) = pod.loc else {
                return false;
            };
            !pod.busy
                && !self.slot_blocked[self.slot_of_cell[slot.index()] as usize]
                && !pods_claimed.contains(&p)
        };
        let slot_of = |p: PodId| match self.pods[p.0 as usize].loc {
            PodLoc::Slot(c) => c,
            _ => unreachable!("free pods stand in slots"),
        };
        // The best (line, pod) among the first lines of the highest priority this station
        // can serve: older lines first, but not at any distance.
        // Each line costs a scan of the free robots per candidate pod, so the window
        // narrows as they grow (with many free robots, the assignment has choice anyway).
        let window = (LINE_WINDOW * 4 / free.len().max(1)).clamp(1, LINE_WINDOW);
        let mut chosen: Option<(i64, TaskId, PodId)> = None;
        let mut seen = 0usize;
        let mut top: Option<Reverse<i32>> = None;
        for key in &self.queue {
            let t = &self.tasks[key.2.0 as usize];
            if claimed.contains(&t.id) || !serves(t) {
                continue;
            }
            if top.is_some_and(|p| p != key.0) && chosen.is_some() {
                break;
            }
            top = Some(key.0);
            let Some((sel, units, stow)) = pod_line(&t.kind) else {
                continue;
            };
            let candidates: Vec<PodId> = match sel {
                PodSel::Pod(p) => vec![*p],
                PodSel::Sku(sku) if !stow => self.sku_pods[sku.0 as usize]
                    .iter()
                    .copied()
                    .filter(|p| self.pod_units(*p, *sku) >= units)
                    .collect(),
                PodSel::Sku(_) => (0..self.pods.len() as u32)
                    .map(PodId)
                    .filter(|p| self.pods[p.0 as usize].units() + units <= self.config.pod_capacity)
                    .collect(),
            };
            let best = candidates
                .into_iter()
                .filter(|&p| free_pod(p))
                .map(|p| {
                    let slot = slot_of(p);
                    let d = costs.cost(slot, face);
                    if d == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    // The same pods come up for many lines and stations in one call.
                    let cached = &mut fetched[p.0 as usize];
                    if *cached == NOT_FETCHED {
                        *cached = free
                            .iter()
                            .map(|&r| costs.cost(r, slot))
                            .min()
                            .unwrap_or(UNREACHABLE);
                    }
                    let fetch = *cached;
                    if fetch == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    let mut score = d as i64 + fetch as i64;
                    if let PodSel::Sku(sku) = sel {
                        if stow {
                            // Spread a SKU over several pods so later picks do not converge.
                            score += 20 * self.pod_units(p, *sku).min(1) as i64;
                        } else {
                            // Prefer pods that also serve other open lines (pile-on): each
                            // extra line saves a whole pod trip.
                            let cached = &mut piled[p.0 as usize];
                            if *cached == NOT_FETCHED {
                                let others: u32 = self.pods[p.0 as usize]
                                    .contents
                                    .keys()
                                    .map(|k| self.queued_lines[k.0 as usize])
                                    .sum::<u32>()
                                    .saturating_sub(1);
                                let cap = self.config.pile_on_max.saturating_sub(1) as u32;
                                *cached = others.min(cap);
                            }
                            score -= PILE_ON_WEIGHT * *cached as i64;
                        }
                    }
                    (score, p)
                })
                .filter(|(d, _)| *d != i64::MAX)
                .min();
            let Some((score, pod)) = best else {
                continue;
            };
            let score = score + LINE_AGE_CELLS * seen as i64;
            if chosen.is_none_or(|c| score < c.0) {
                chosen = Some((score, t.id, pod));
            }
            seen += 1;
            if seen >= window {
                break;
            }
        }
        let (_, chosen_task, pod) = chosen?;
        let t = &self.tasks[chosen_task.0 as usize];
        let (sel, units, stow) = pod_line(&t.kind).expect("only picks and stows are chosen");
        let slot = slot_of(pod);
        let mut tasks = vec![t.id];
        if !stow {
            // Pile-on: other queued picks this pod can serve at this station.
            let mut left: BTreeMap<SkuId, u32> = self.pods[pod.0 as usize].contents.clone();
            if let PodSel::Sku(sku) = sel {
                *left.get_mut(sku).expect("candidate holds it") -= units;
            }
            for other in &self.queue {
                if tasks.len() >= self.config.pile_on_max {
                    break;
                }
                let o = &self.tasks[other.2.0 as usize];
                if o.id == t.id || claimed.contains(&o.id) || !serves(o) {
                    continue;
                }
                if let TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } = &o.kind
                    && let Some(q) = left.get_mut(sku)
                    && *q >= *units
                {
                    *q -= units;
                    tasks.push(o.id);
                }
            }
        }
        let there = costs.cost(slot, face);
        let back = costs.cost(face, slot);
        Some(Demand {
            tasks,
            pod: Some(pod),
            station: Some(s),
            first: slot,
            rest_cells: there
                .saturating_add(back)
                .saturating_add(self.to_charger(slot)),
            legs: there,
            lifts: 2,
            slack: 0,
        })
    }

    /// Idle robots off park cells take the nearest free one.
    fn park_idle(&mut self, costs: &mut dyn Costs) {
        for robot in 0..self.robots.len() as u32 {
            let r = &self.robots[robot as usize];
            if !r.in_service || r.hold_until > self.now || !matches!(r.job, Job::None) {
                continue;
            }
            if matches!(self.grid.kind(r.cell), CellKind::Park | CellKind::Charger) {
                continue;
            }
            let from = r.cell;
            let best = (0..self.park.len())
                .filter(|&k| self.park_owner[k].is_none())
                .map(|k| (costs.cost(from, self.park[k]), k))
                .filter(|(d, _)| *d != UNREACHABLE)
                .min();
            let Some((_, k)) = best else {
                return;
            };
            self.park_owner[k] = Some(robot);
            let cell = self.park[k];
            let task = self.push_task(TaskKind::Park { cell }, 0, None);
            self.tasks[task.0 as usize].state = TaskState::Assigned { robot };
            self.robots[robot as usize].job = Job::Park { task, cell };
        }
    }

    fn goal(&self, robot: u32) -> Option<Cell> {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return None;
        }
        match &r.job {
            Job::None => None,
            Job::Visit(v) if !v.lifted => match self.pods[v.pod.0 as usize].loc {
                PodLoc::Slot(c) => Some(c),
                _ => None,
            },
            Job::Visit(v) => {
                let st = &self.stations[v.station.0 as usize];
                let n = st.path.len();
                let k = match st.lane.iter().position(|&x| x == robot) {
                    Some(k) => k,
                    None => st.lane.len(),
                };
                Some(st.path[n - 1 - k.min(n - 1)])
            }
            Job::Return { slot, .. } => Some(*slot),
            Job::Transport { task, errand } => match &self.tasks[task.0 as usize].kind {
                TaskKind::Transport { errands } => Some(errands[*errand].cell),
                _ => None,
            },
            Job::Charge { charger, .. } => Some(self.chargers[*charger]),
            Job::Park { cell, .. } => Some(*cell),
        }
    }
}
