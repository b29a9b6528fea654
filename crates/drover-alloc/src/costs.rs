//! Travel costs for allocation: exact grid distances from the distance oracle's BFS.

use drover_grid::load::Floor;
use drover_grid::{Cell, DistTable, Grid, Motion, UNREACHABLE};

/// Steps from one cell to another, or [`UNREACHABLE`].
pub trait Costs {
    /// Steps from `from` to `to`.
    fn cost(&mut self, from: Cell, to: Cell) -> u32;

    /// Whether [`Costs::fill`] writes target-major (`to.len() × from.len()`): tables kept
    /// per target are read fastest one target at a time.
    fn target_major(&self) -> bool {
        false
    }

    /// Fills `out` with every cost: row-major `from.len() × to.len()`, or `to × from` when
    /// [`Costs::target_major`] says so.
    fn fill(&mut self, from: &[Cell], to: &[Cell], out: &mut [u32]) {
        for (i, &f) in from.iter().enumerate() {
            for (j, &t) in to.iter().enumerate() {
                out[i * to.len() + j] = self.cost(f, t);
            }
        }
    }
}

/// The cells allocation measures distances to: storage slots, station faces and queue
/// cells, chargers and park cells.
pub fn floor_targets(floor: &Floor) -> Vec<Cell> {
    let mut targets: Vec<Cell> = floor.storage.clone();
    targets.extend(
        floor
            .stations
            .iter()
            .flat_map(|s| s.queue.iter().copied().chain([s.face])),
    );
    targets.extend(floor.chargers.iter().map(|c| c.1));
    targets.extend(floor.park.iter().copied());
    targets
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

    /// Every target of `floor`'s allocation (storage slots, station faces and queues,
    /// chargers, park cells), computed one after another: what a coordinator needs before
    /// its first allocation (a few thousand BFS on a large floor, about a second).
    pub fn for_floor(floor: &Floor) -> TargetTables {
        let mut tables = TargetTables::new(&floor.grid);
        for t in tables.missing(&floor_targets(floor)) {
            tables.insert(DistTable::compute(&floor.grid, t, Motion::Grid4));
        }
        tables
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
    fn target_major(&self) -> bool {
        true
    }

    /// One table per target, read for every source: sequential writes, one table in cache.
    fn fill(&mut self, from: &[Cell], to: &[Cell], out: &mut [u32]) {
        let n = from.len();
        // Free-cell index of each source; a source off the free cells reads the sentinel.
        let sentinel = self.grid.n_free();
        let idx: Vec<usize> = from
            .iter()
            .map(|&c| self.grid.free_index(c).unwrap_or(sentinel))
            .collect();
        // Read each table in address order: neighbouring sources share cache lines, and the
        // scattered writes stay inside one row.
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by_key(|&k| idx[k as usize]);
        let needs_pad = idx.contains(&sentinel);
        let mut padded: Vec<u16> = Vec::new();
        for (j, &t) in to.iter().enumerate() {
            let row = &mut out[j * n..(j + 1) * n];
            if !self.grid.is_free(t) {
                row.fill(UNREACHABLE);
                continue;
            }
            if self.tables[t.index()].is_none() {
                self.insert(DistTable::compute(&self.grid, t, Motion::Grid4));
            }
            let table = self.tables[t.index()].as_deref().expect("just computed");
            let raw = table.grid4_raw().expect("allocation tables are Grid4");
            let dist: &[u16] = if needs_pad {
                padded.clear();
                padded.extend_from_slice(raw);
                padded.push(u16::MAX);
                &padded
            } else {
                raw
            };
            for &k in &order {
                let d = dist[idx[k as usize]];
                row[k as usize] = if d == u16::MAX { UNREACHABLE } else { d as u32 };
            }
        }
    }

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
