//! droverd: runs the coordinator against robots over MQTT (`run`), or a whole simulated floor
//! with the embedded broker, virtual drive units and associates (`demo`).
//!
//! [`run_coordinator`] (in `coordinator`) is the loop: it ticks the pure
//! `drover_core::coord::Coordinator` at a fixed rate and publishes its orders through a
//! `RobotLink`. Beside it, `ops` keeps what operators see and do durable (tasks, commands,
//! the live view, the event log), and `api` serves that over HTTP with the dashboard. The
//! dependencies go one way: `api` and `coordinator` use `ops`; `ops` uses neither.

pub mod api;
pub mod broker;
pub mod clock;
pub mod config;
pub mod coordinator;
pub mod datadir;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod logs;
pub mod noise;
pub mod ops;
pub mod pods;
pub mod stats;
#[cfg(test)]
mod tests;

pub use coordinator::{Control, Sidecar, Summary, run_coordinator};
