//! Which robot takes which task, on a sortable-FC floor: pods, stations and associates' pace,
//! pod re-slotting, batteries and chargers, parking, and robots that fail.
//!
//! [`Allocator`] is the single source of truth for tasks ([`Task`], [`TaskState`]) and pods.
//! Each [`Allocator::tick`] reads where the robots are and how much charge they have
//! ([`RobotView`]), advances every job whose robot reached its goal, hands free robots new work
//! with a batched minimum-cost assignment ([`assign`]), and leaves one goal per robot in
//! [`Allocator::goals`] for the planner. Travel costs come from exact BFS tables
//! ([`Costs`], [`TargetTables`]). Pure: no IO, no clock, no threads; time arrives as a tick.

mod alloc;
pub mod assign;
mod costs;
mod error;
mod task;

pub use alloc::{
    Activity, AllocConfig, Allocator, BatteryConfig, Capabilities, Event, GoalAction, PodLoc,
    Presented, RobotView, TickReport,
};
pub use costs::{Costs, TargetTables, floor_targets};
pub use error::AllocError;
pub use task::{
    Errand, ErrandAction, PodId, PodSel, SkuId, StationId, Task, TaskId, TaskKind, TaskState,
};

#[cfg(test)]
mod tests;
