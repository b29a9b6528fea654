//! What the coordinator refuses, and why: the crate's one error type.

use drover_alloc::AllocError;
use drover_grid::Cell;

/// Why the coordinator refused a report, an operator command or a start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// A robot reports an entry it was never released into.
    #[error("robot {robot} reports entry {index}, but only entries up to {released} were released")]
    PastBase {
        /// Robot.
        robot: u32,
        /// Reported entry.
        index: u64,
        /// Last released entry.
        released: u64,
    },
    /// A robot reports an entry it has already left.
    #[error("robot {robot} reports entry {index}, but it already reached {first}")]
    Behind {
        /// Robot.
        robot: u32,
        /// Reported entry.
        index: u64,
        /// Entry it reached earlier.
        first: u64,
    },
    /// None of the configured robots reported a usable state: no session can start.
    #[error(
        "none of the {expected} configured robots reported a state with a position on the floor"
    )]
    NoRobot {
        /// Robots configured.
        expected: usize,
    },
    /// A robot's state says its position is not initialized.
    #[error("agvPosition.positionInitialized is false")]
    PositionUninitialized,
    /// A robot's position lies in another map than the floor's.
    #[error("agvPosition.mapId {map_id:?} is not the floor's map {floor_map:?}")]
    OtherMap {
        /// The map the robot reports.
        map_id: String,
        /// The floor's map.
        floor_map: String,
    },
    /// A robot's position lies outside the floor.
    #[error("agvPosition ({x:.2}, {y:.2}) lies off the map")]
    OffMap {
        /// Reported x, m.
        x: f64,
        /// Reported y, m.
        y: f64,
    },
    /// A robot's state has neither a position nor a last node naming a cell.
    #[error("no agvPosition and no lastNodeId naming a cell")]
    NoPosition,
    /// A robot stands on an obstacle or outside the grid.
    #[error("it stands on cell {}, which is not free floor", .0.0)]
    NotFreeFloor(Cell),
    /// A robot reports a load that names no pod on the floor.
    #[error("load {0:?} is no pod on this floor")]
    UnknownLoad(String),
    /// An operator resumed a robot held in a blocked zone.
    #[error("robot {serial} stands in a blocked zone; it resumes when the zone is deleted")]
    ZoneHeld {
        /// The robot's serial number.
        serial: String,
    },
    /// An operator resumed one robot while the whole fleet is paused.
    #[error("the fleet is paused; robot {serial} resumes with the fleet")]
    FleetPaused {
        /// The robot's serial number.
        serial: String,
    },
    /// The allocator refused (a load adopted at startup, for one).
    #[error(transparent)]
    Alloc(#[from] AllocError),
}
