//! The floor as a dense grid: cells, kinds, one-way edges, map loaders and a distance oracle.
//!
//! A [`Grid`] addresses cells by a `Copy` [`Cell`] id (`row * width + col`), keeps obstacles in
//! a bitset and stores, per cell, which of the four outgoing edges exist. Edges are directed:
//! RHCR's sorting centre is made only of one-way lanes, and real floors have one-way highways,
//! so everything that moves a robot asks [`Grid::neighbor`].
//!
//! [`DistTable`] holds exact shortest distances to one goal for a [`Motion`] model (with
//! `Rotate`, the heading is part of the state); [`DistanceOracle`] computes them lazily and
//! caches them under a memory cap. There is no all-pairs table.
//!
//! The [`load`] module parses LoRR, MovingAI, RHCR, pibt2 and drover's own floor layouts from
//! text. This crate does no IO, reads no clock and spawns nothing.
//!
//! ```text
//! let grid = load::parse_movingai_map("tiny.map", "type octile\nheight 1\nwidth 3\nmap\n...\n")?;
//! let table = DistTable::compute(&grid, Cell(2), Motion::Grid4);
//! assert_eq!(table.get(&grid, Cell(0), Heading::East), 2);
//! ```

mod arrival;
mod dist;
mod grid;
pub mod load;

pub use dist::{DistTable, DistanceOracle, Motion, OracleStats, TableRef};
pub use grid::{Cell, CellKind, Grid, Heading, UNREACHABLE, kind_symbol};

#[cfg(test)]
mod tests;
