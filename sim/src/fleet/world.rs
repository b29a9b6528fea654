//! The physical floor: a collision detector that counts which unit occupies which cell and
//! knows nothing of the coordinator.

use drover_grid::Cell;

const FREE: u32 = u32::MAX;

/// The physical floor: which unit occupies which cell, counted independently of the
/// coordinator. A unit occupies the cell it stands on and, while driving, the cell it
/// drives into; two units in one cell (or swapping cells) is a collision.
pub struct World {
    owner: Vec<u32>,
    held: Vec<(Cell, Option<Cell>)>,
    /// Per unit: stands on the floor but has not connected yet ([`World::set_unheard`]).
    unheard: Vec<bool>,
    /// Collisions seen so far: (unit, other unit, cell).
    pub collisions: Vec<(u32, u32, Cell)>,
    /// Collisions with a unit that had not connected yet, kept apart: no coordinator can
    /// keep robots off a unit it has never heard of.
    pub unheard_collisions: Vec<(u32, u32, Cell)>,
}

impl World {
    /// A floor of `n_cells` with units standing at `starts`.
    pub fn new(n_cells: usize, starts: &[Cell]) -> World {
        let mut world = World {
            owner: vec![FREE; n_cells],
            held: Vec::new(),
            unheard: vec![false; starts.len()],
            collisions: Vec::new(),
            unheard_collisions: Vec::new(),
        };
        for (u, &c) in starts.iter().enumerate() {
            world.held.push((c, None));
            world.claim(u as u32, c);
        }
        world
    }

    fn claim(&mut self, unit: u32, cell: Cell) {
        let o = &mut self.owner[cell.index()];
        if *o != FREE && *o != unit {
            let other = *o;
            let unheard = |u: u32| self.unheard.get(u as usize).copied().unwrap_or(false);
            if unheard(unit) || unheard(other) {
                self.unheard_collisions.push((unit, other, cell));
            } else {
                self.collisions.push((unit, other, cell));
            }
        } else {
            *o = unit;
        }
    }

    fn free(&mut self, unit: u32, cell: Cell) {
        if self.owner[cell.index()] == unit {
            self.owner[cell.index()] = FREE;
        }
    }

    /// Marks unit `unit` as standing on the floor without having connected (`true`) or as
    /// connected (`false`, the default). Collisions with it while unheard are counted in
    /// [`World::unheard_collisions`].
    pub fn set_unheard(&mut self, unit: u32, unheard: bool) {
        if let Some(u) = self.unheard.get_mut(unit as usize) {
            *u = unheard;
        }
    }

    /// Unit `unit` now occupies `cells` (standing cell, cell driven into).
    pub fn update(&mut self, unit: u32, cells: (Cell, Option<Cell>)) {
        let old = self.held[unit as usize];
        if old == cells {
            return;
        }
        for c in [Some(old.0), old.1].into_iter().flatten() {
            if c != cells.0 && Some(c) != cells.1 {
                self.free(unit, c);
            }
        }
        for c in [Some(cells.0), cells.1].into_iter().flatten() {
            if c != old.0 && Some(c) != old.1 {
                self.claim(unit, c);
            }
        }
        self.held[unit as usize] = cells;
    }
}
