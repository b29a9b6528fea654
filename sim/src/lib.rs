//! Headless simulator and benchmark runner for drover's planner on public MAPF instances.
//!
//! A [`runner::Scenario`] is a floor, start states, a [`tasks::TaskSource`] (the benchmark's
//! task semantics: LoRR round-robin errands or revealed tasks, RHCR kiva or sorting, random
//! MovingAI goals) and a [`bound::Bound`] to compare with. [`runner::run`] ticks
//! `drover_core` step by step, computing new distance tables in parallel, and returns a
//! [`runner::Report`] with throughput and timings. [`output`] writes LoRR's output JSON.
//!
//! This crate is allowed IO (it reads benchmark files and the clock); the core it drives is
//! not. It does not depend on drover-gateway: later, simulated robots will speak MQTT as
//! peers of the gateway, not as mocks inside it.

pub mod alloc_bench;
pub mod bench_files;
pub mod bound;
pub mod fleet;
pub mod floor;
pub mod lorr_alloc;
pub mod mqtt;
pub mod output;
pub mod runner;
pub mod scenario;
pub mod shift;
pub mod task_event;
pub mod tasks;
pub mod unit;

/// The simulator's random stream for `seed`. The seed is mixed with a constant first, so the
/// simulator's choices and the planner's tie-breaking, often given the same seed, draw
/// different streams.
pub fn sim_rng(seed: u64) -> drover_plan::SplitMix64 {
    drover_plan::SplitMix64(seed ^ 0x5DEE_CE66_D1CE_4E5B)
}

/// Peak resident memory of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
