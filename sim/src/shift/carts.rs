//! Tote carts: the units a pick station picks fill a cart, and every full cart becomes a
//! transport task from beside the station to a pack station.

use std::collections::BTreeSet;

use drover_alloc::{Allocator, Errand, ErrandAction, Event, StationId, TaskId, TaskKind};
use drover_grid::load::{Floor, StationKind};
use drover_grid::{Cell, CellKind, Heading};

/// Units picked at a station before a full tote cart goes to a pack station.
const UNITS_PER_CART: u32 = 40;

/// The carts filling at each station and the carts sent.
pub(super) struct Carts {
    /// Where carts go: the first pack station's face, if the floor has one.
    pack: Option<Cell>,
    /// Per station: units in the cart being filled.
    filled: Vec<u32>,
    /// Transport tasks of the carts sent.
    sent: BTreeSet<TaskId>,
    /// Carts delivered.
    pub(super) done: u64,
}

impl Carts {
    /// Empty carts at every station of `floor`.
    pub(super) fn new(floor: &Floor) -> Carts {
        Carts {
            pack: floor
                .stations
                .iter()
                .find(|s| s.kind == StationKind::Pack)
                .map(|s| s.face),
            filled: vec![0; floor.stations.len()],
            sent: BTreeSet::new(),
            done: 0,
        }
    }

    /// Pick station `s` picked `units`: a cart that is full now goes to packing.
    pub(super) fn add_units(
        &mut self,
        floor: &Floor,
        alloc: &mut Allocator,
        s: StationId,
        units: u32,
    ) {
        let filled = &mut self.filled[s.0 as usize];
        *filled += units;
        if *filled >= UNITS_PER_CART
            && let (Some(from), Some(to)) = (tote_point(floor, s), self.pack)
        {
            *filled = 0;
            let errands = vec![
                Errand {
                    cell: from,
                    action: ErrandAction::Lift,
                },
                Errand {
                    cell: to,
                    action: ErrandAction::Dwell(20),
                },
            ];
            if let Ok(t) = alloc.submit(TaskKind::Transport { errands }, 0, None) {
                self.sent.insert(t);
            }
        }
    }

    /// Counts the carts among the tasks `events` report done.
    pub(super) fn count_done(&mut self, events: &[Event]) {
        for e in events {
            if let Event::Done { task } = e
                && self.sent.contains(task)
            {
                self.done += 1;
            }
        }
    }
}

/// Where a station's carts are picked up: the first travel cell beside its face.
fn tote_point(floor: &Floor, s: StationId) -> Option<Cell> {
    let grid = &floor.grid;
    let face = floor.stations[s.0 as usize].face;
    Heading::ALL
        .iter()
        .filter_map(|&h| grid.neighbor(face, h))
        .find(|&c| grid.kind(c) == CellKind::Travel)
}
