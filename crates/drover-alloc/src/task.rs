//! Tasks and their life cycle: the single source of truth other crates read.

use drover_grid::Cell;

/// Task id, unique for the allocator's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

/// Index of a pod in the floor's pod list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u32);

/// Index of a station in the floor's station list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StationId(pub u16);

/// Interned SKU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkuId(pub u32);

/// Which pod a pick or stow task wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodSel {
    /// This pod.
    Pod(PodId),
    /// Any pod holding at least the task's units of this SKU (pick), or any pod with room
    /// (stow: the SKU is what gets stowed).
    Sku(SkuId),
}

/// What a robot does when it reaches an errand's cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrandAction {
    /// Nothing: reaching the cell completes the errand (LoRR errands).
    Visit,
    /// Lift what stands there (a cart, a pod).
    Lift,
    /// Set the load down.
    Drop,
    /// Stay for a number of ticks (a hand-over, a dwell at pack).
    Dwell(u32),
}

/// One stop of a transport task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errand {
    /// Where.
    pub cell: Cell,
    /// What happens there.
    pub action: ErrandAction,
}

/// What a task asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// Bring a pod to a pick station, present it, put it back.
    Pick {
        /// Which pod.
        pod: PodSel,
        /// A given station, or `None` for the best one of kind pick.
        station: Option<StationId>,
        /// Units to pick.
        units: u32,
    },
    /// Bring a pod with room to a stow station, present it, put it back.
    Stow {
        /// Which pod; `Sku` stows that SKU into any pod with room.
        pod: PodSel,
        /// A given station, or `None` for the best one of kind stow.
        station: Option<StationId>,
        /// Units to stow.
        units: u32,
    },
    /// A list of errands in order (pack-side carts, LoRR tasks).
    Transport {
        /// The stops.
        errands: Vec<Errand>,
    },
    /// Internal: go to a charger and charge.
    Charge {
        /// Charger index in the floor's list.
        charger: usize,
    },
    /// Internal: leave the lanes for a rest cell.
    Park {
        /// The park cell.
        cell: Cell,
    },
}

impl TaskKind {
    /// Charge and park tasks are made by the allocator itself.
    pub fn is_internal(&self) -> bool {
        matches!(self, TaskKind::Charge { .. } | TaskKind::Park { .. })
    }
}

/// Where a task is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a robot.
    Queued,
    /// A robot is on its way to the first errand.
    Assigned {
        /// The robot.
        robot: u32,
    },
    /// Under way; `errand` counts from 0 (pick/stow: 0 fetch the pod, 1 present it).
    InProgress {
        /// The robot.
        robot: u32,
        /// The errand under way.
        errand: usize,
    },
    /// Finished at this tick.
    Done {
        /// Tick of completion.
        at: u64,
    },
    /// Cannot be done.
    Failed {
        /// Why, for people.
        reason: String,
    },
    /// Withdrawn by a client.
    Cancelled,
}

impl TaskState {
    /// Done, failed or cancelled: the state will not change again.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TaskState::Done { .. } | TaskState::Failed { .. } | TaskState::Cancelled
        )
    }

    /// The robot holding the task, if any.
    pub fn robot(&self) -> Option<u32> {
        match self {
            TaskState::Assigned { robot } | TaskState::InProgress { robot, .. } => Some(*robot),
            _ => None,
        }
    }
}

/// A task as the allocator keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// What it asks for.
    pub kind: TaskKind,
    /// Higher goes first.
    pub priority: i32,
    /// Optional deadline tick (earlier deadlines go first among equal priorities).
    pub deadline: Option<u64>,
    /// Life-cycle state.
    pub state: TaskState,
    /// Tick it was submitted.
    pub created: u64,
    /// For transports taken back after a failure: the first errand still to do.
    pub resume_at: usize,
    /// Times a robot's action for it failed (a pod it could not lift).
    pub failures: u32,
}
