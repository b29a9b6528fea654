//! drover-tests: one integration binary for whole-stack tests (linking dominates on 2 cores).

mod config;
mod fleet;
mod loaders;
mod mosquitto;
mod mosquitto_secure;
mod scenarios;
mod shift;
mod tidy;
mod wire;
mod wire_secure;

use std::path::PathBuf;

/// The benchmark files the repository ships for tests (`tests/data/bench`: a slice of the
/// public benchmarks, provenance in its SOURCES.md).
pub(crate) fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/bench")
}

/// The workspace root.
pub(crate) fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
