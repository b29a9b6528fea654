//! Travel costs for allocation: exact grid distances from the distance oracle's BFS.

use drover_grid::{Cell, DistTable, Grid, Motion, UNREACHABLE};

/// Steps from one cell to another, or [`UNREACHABLE`].
pub trait Costs {
    /// Steps from `from` to `to`.
    fn cost(&mut self, from: Cell, to: Cell) -> u32;
}

/// Reverse BFS tables, one per target cell (pod slots, station faces, chargers, park cells),
/// computed on first use and kept: a floor has a few thousand targets, and each table is two
/// bytes per free cell. Costs ignore heading (4-connected), which is what allocation needs.
pub struct TargetTables {
    grid: Grid,
    tables: Vec<Option<Box<DistTable>>>,
    bytes: usize,
}

impl TargetTables {
    /// Tables over `grid`, none computed yet.
    pub fn new(grid: &Grid) -> TargetTables {
        TargetTables {
            grid: grid.clone(),
            tables: (0..grid.n_cells()).map(|_| None).collect(),
            bytes: 0,
        }
    }

    /// Which of `targets` have no table yet (the caller may compute them in parallel with
    /// [`DistTable::compute`] and [`TargetTables::insert`] them).
    pub fn missing(&self, targets: &[Cell]) -> Vec<Cell> {
        let mut out: Vec<Cell> = targets
            .iter()
            .copied()
            .filter(|c| self.grid.contains(*c) && self.tables[c.index()].is_none())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Adds a table computed elsewhere (must be `Motion::Grid4` on the same grid).
    pub fn insert(&mut self, table: DistTable) {
        debug_assert_eq!(table.motion(), Motion::Grid4);
        self.bytes += table.bytes();
        let goal = table.goal().index();
        self.tables[goal] = Some(Box::new(table));
    }

    /// The grid the tables are for.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Heap bytes held by the tables.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Costs for TargetTables {
    fn cost(&mut self, from: Cell, to: Cell) -> u32 {
        if !self.grid.is_free(to) || !self.grid.contains(from) {
            return UNREACHABLE;
        }
        if self.tables[to.index()].is_none() {
            self.insert(DistTable::compute(&self.grid, to, Motion::Grid4));
        }
        let table = self.tables[to.index()].as_deref().expect("just computed");
        table.get(&self.grid, from, drover_grid::Heading::East)
    }
}
