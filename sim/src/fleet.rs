//! A simulated floor of VDA 5050 drive units: the physical world (a collision detector that
//! knows nothing of the coordinator), simulated associates, seeded fault injection, and an
//! in-process runner that drives the coordinator and the units tick by tick through the JSON
//! wire format, without sleeping.
//!
//! The MQTT runner ([`crate::mqtt`]) reuses [`World`], [`Associates`] and [`Faults`]; only the
//! transport differs. Each piece has its own file: `world`, `associates`, `faults`, the
//! in-process runner in `run`, its wire format in `wire`, and the set-up (coordinator settings,
//! stock, units and their discovery) in `spawn`.

mod associates;
mod faults;
mod run;
mod spawn;
mod wire;
mod world;

pub use associates::Associates;
pub use faults::Faults;
pub use run::{
    FleetReport, FleetRun, ScheduledZone, ZoneCells, run_in_process, submit_picks, task_outcomes,
};
pub use spawn::{TICK_MS, coord_config, robot_specs, serial, spawn, stocked, units_at};
pub use wire::EPOCH_MS;
pub use world::World;
