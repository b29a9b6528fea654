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
pub mod lorr_alloc;
pub mod mqtt;
pub mod output;
pub mod runner;
pub mod scenario;
pub mod shift;
pub mod tasks;
pub mod unit;

/// Peak resident memory of this process in MB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
