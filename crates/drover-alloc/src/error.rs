//! Why the allocator refuses a request: the crate's one error type.

use drover_grid::Cell;

use crate::task::{PodId, SkuId, StationId, TaskId, TaskState};

/// Why the allocator refused a request (a task submitted or cancelled, a pod released,
/// imported or adopted, a charge requested). Nothing changes when this comes back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// The pod index is not on this floor.
    #[error("no pod {0:?} on this floor")]
    UnknownPod(PodId),
    /// The station index is not on this floor.
    #[error("no station {0:?} on this floor")]
    UnknownStation(StationId),
    /// A pick sent to a stow station, or the like.
    #[error("station {station:?} is a {actual} station, the task needs {wanted}")]
    WrongStationKind {
        /// The station.
        station: StationId,
        /// Its kind.
        actual: &'static str,
        /// The kind the task needs.
        wanted: &'static str,
    },
    /// The floor has no station of the kind the task needs.
    #[error("this floor has no {0} station")]
    NoStationOfKind(&'static str),
    /// No pod on the floor has ever held this SKU.
    #[error("no pod holds SKU {0:?}")]
    UnknownSku(SkuId),
    /// Units must be at least one.
    #[error("units must be at least 1")]
    NoUnits,
    /// A transport needs at least one errand.
    #[error("a transport needs at least one errand")]
    NoErrands,
    /// An errand cell is off the map, blocked, or unreachable.
    #[error("errand {index}: cell {cell:?} is not a reachable floor cell")]
    BadErrand {
        /// Which errand.
        index: usize,
        /// Its cell.
        cell: Cell,
    },
    /// A charge or park task was submitted: those are the allocator's own.
    #[error("charge and park tasks are made by the allocator, not submitted")]
    SubmitInternal,
    /// No task has this id.
    #[error("no task {}", .0.0)]
    UnknownTask(TaskId),
    /// A charge or park task was cancelled: those are the allocator's own.
    #[error("charge and park tasks are the allocator's own")]
    CancelInternal(TaskId),
    /// The task is done, failed or cancelled already.
    #[error("task {} is already {state:?}", task.0)]
    AlreadyFinal {
        /// The task.
        task: TaskId,
        /// Its final state.
        state: TaskState,
    },
    /// A station was released with no pod at its face.
    #[error("station {name} has no pod at its face")]
    NothingPresented {
        /// The station.
        station: StationId,
        /// Its name.
        name: String,
    },
    /// A charge was requested, but batteries are not managed.
    #[error("battery management is off in this configuration")]
    BatteryOff,
    /// A charge was requested on a floor without chargers.
    #[error("this floor has no chargers")]
    NoChargers,
    /// No robot has this index.
    #[error("no robot {0}")]
    UnknownRobot(u32),
    /// New contents for a pod out of its slot or held by a station visit.
    #[error(
        "pod {name} is on its way to or from a station; import its contents once it is back in a slot"
    )]
    PodOnTheMove {
        /// The pod.
        pod: PodId,
        /// Its name.
        name: String,
    },
    /// A load adopted by a robot that is out of service or already carries a pod.
    #[error("robot {0} is out of service or already carries a pod")]
    RobotNotFree(u32),
    /// A load adopted by a robot that is on a job.
    #[error("robot {0} is on a job")]
    RobotOnJob(u32),
    /// A pod adopted while a job holds it.
    #[error("pod {name} is on a job")]
    PodOnJob {
        /// The pod.
        pod: PodId,
        /// Its name.
        name: String,
    },
    /// A pod adopted while another robot carries it.
    #[error("pod {name} is on robot {robot}")]
    PodOnRobot {
        /// The pod.
        pod: PodId,
        /// Its name.
        name: String,
        /// The robot carrying it.
        robot: u32,
    },
}
