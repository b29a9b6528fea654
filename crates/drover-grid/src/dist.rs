//! Exact shortest-path distances to a goal, one lazily computed table per goal, cached under a
//! memory cap.
//!
//! No all-pairs table: on LoRR's warehouse_large that would take about 6 GB (24 GB with
//! headings). A table here covers the free cells only, as `u16`, so one goal costs 77 KB on
//! warehouse_large in `Grid4` and four times that in `Rotate`, where the heading matters.

use crate::grid::{Cell, Grid, Heading, UNREACHABLE};

/// How robots move, which decides what a "step" is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Motion {
    /// Move north, east, south or west, or wait; one step each (RHCR, MovingAI, pibt2).
    Grid4,
    /// Forward, turn clockwise, turn counter-clockwise, or wait, with a heading; one step each
    /// (LoRR's MAPF_T; differential-drive units turn in place).
    Rotate,
}

impl Motion {
    /// Number of distance entries per free cell.
    pub fn states_per_cell(self) -> usize {
        match self {
            Motion::Grid4 => 1,
            Motion::Rotate => 4,
        }
    }
}

/// Shortest number of steps from every state to one goal cell (any heading at the goal).
#[derive(Clone, Debug)]
pub struct DistTable {
    goal: Cell,
    motion: Motion,
    /// For a robot carrying a pod: no move into a storage cell other than the goal.
    loaded: bool,
    /// Indexed by `free_index * states_per_cell + heading`; `u16::MAX` = unreachable.
    dist: Vec<u16>,
}

impl DistTable {
    /// Computes the table by a reverse breadth-first search from `goal`, following directed
    /// edges backwards so one-way lanes are respected. Runs in time linear in the free cells.
    pub fn compute(grid: &Grid, goal: Cell, motion: Motion) -> DistTable {
        DistTable::search(grid, &[goal], motion, false)
    }

    /// Like [`DistTable::compute`], and with `loaded` for a robot carrying a pod: a loaded
    /// robot may not pass under the pods stored around it, so no path moves into a storage
    /// cell other than the goal (it may still leave the slot it lifted its pod in, and turn
    /// there).
    pub fn compute_for(grid: &Grid, goal: Cell, motion: Motion, loaded: bool) -> DistTable {
        DistTable::search(grid, &[goal], motion, loaded)
    }

    /// Like [`DistTable::compute`], but to whichever of `goals` is nearest (one multi-source
    /// BFS instead of one per goal). [`DistTable::goal`] reports the first goal.
    ///
    /// # Panics
    /// If `goals` is empty.
    pub fn compute_to_nearest(grid: &Grid, goals: &[Cell], motion: Motion) -> DistTable {
        DistTable::search(grid, goals, motion, false)
    }

    fn search(grid: &Grid, goals: &[Cell], motion: Motion, loaded: bool) -> DistTable {
        if grid.has_edge_costs() || (motion == Motion::Rotate && grid.has_arrival_costs()) {
            return DistTable::weighted_search(grid, goals, motion, loaded);
        }
        let goal = goals[0];
        // A loaded robot never moves into a storage cell other than a goal: such a cell
        // relays no forward move in the reverse search (turning in it is still fine).
        let closed =
            |cell: Cell| loaded && !goals.iter().any(|&g| grid.loaded_may_enter(cell, Some(g)));
        let per = motion.states_per_cell();
        let mut dist = vec![u16::MAX; grid.n_free() * per];
        // Queue of (cell, heading) states; heading is ignored in Grid4.
        let mut queue: Vec<(Cell, u8)> = Vec::with_capacity(grid.n_free() * per);
        // Unit costs: the grid has no arrival costs here (they go to the weighted search).
        DistTable::seed(grid, goals, per, &mut dist, |_, cell, h| {
            queue.push((cell, h))
        });
        let mut head = 0;
        while head < queue.len() {
            let (cell, h) = queue[head];
            head += 1;
            let idx = grid.free_index(cell).expect("queued cells are free");
            let d = dist[idx * per + h as usize];
            let next_d = d.saturating_add(1);
            DistTable::predecessors(grid, motion, closed(cell), cell, h, |pred, ph, _| {
                let pi = grid.free_index(pred).expect("edges join free cells");
                let slot = &mut dist[pi * per + ph as usize];
                if *slot == u16::MAX {
                    *slot = next_d;
                    queue.push((pred, ph));
                }
            });
        }
        DistTable {
            goal,
            motion,
            loaded,
            dist,
        }
    }

    /// Calls `f(pred, pred_heading, cost)` for every state one action before `(cell, h)` in
    /// the reverse search (`h` is ignored under `Grid4`). `closed`: `cell` relays no forward
    /// move (a storage cell for a loaded robot); turning in it is still fine.
    #[inline]
    fn predecessors(
        grid: &Grid,
        motion: Motion,
        closed: bool,
        cell: Cell,
        h: u8,
        mut f: impl FnMut(Cell, u8, u32),
    ) {
        match motion {
            Motion::Grid4 => {
                if closed {
                    return;
                }
                // Predecessor p moves into `cell` heading `heading`; p = cell - heading.
                for heading in Heading::ALL {
                    if let Some(pred) = grid.raw_neighbor(cell, heading.opposite())
                        && grid.has_edge(pred, heading)
                    {
                        f(pred, 0, grid.edge_cost(pred, heading));
                    }
                }
            }
            Motion::Rotate => {
                let heading = Heading::from_index(h as usize);
                // (cell, h-1) --R--> (cell, h); (cell, h+1) --C--> (cell, h): a turn costs 1.
                for pred_h in [heading.counter_clockwise(), heading.clockwise()] {
                    f(cell, pred_h.index() as u8, 1);
                }
                // (pred, h) --F--> (cell, h).
                if !closed
                    && let Some(pred) = grid.raw_neighbor(cell, heading.opposite())
                    && grid.has_edge(pred, heading)
                {
                    f(pred, h, grid.edge_cost(pred, heading));
                }
            }
        }
    }

    /// Every state on a goal cell starts at its arrival cost (0 unless the grid weighs
    /// arrival headings; `Grid4` tables have no headings), each passed to `push(cost, cell,
    /// heading)` once.
    fn seed(
        grid: &Grid,
        goals: &[Cell],
        per: usize,
        dist: &mut [u16],
        mut push: impl FnMut(usize, Cell, u8),
    ) {
        for &source in goals {
            let Some(source_idx) = grid.free_index(source) else {
                continue;
            };
            for h in 0..per {
                let cost = if per == 4 {
                    grid.arrival_cost(source, Heading::from_index(h)) as u16
                } else {
                    0
                };
                let slot = &mut dist[source_idx * per + h];
                if *slot == u16::MAX {
                    *slot = cost;
                    push(usize::from(cost), source, h as u8);
                }
            }
        }
    }

    /// [`DistTable::search`] over guidance costs ([`Grid::edge_cost`]; a turn costs 1): Dial's
    /// algorithm, a bucket per distance, in time linear in the states and the largest cost.
    fn weighted_search(grid: &Grid, goals: &[Cell], motion: Motion, loaded: bool) -> DistTable {
        let goal = goals[0];
        let closed =
            |cell: Cell| loaded && !goals.iter().any(|&g| grid.loaded_may_enter(cell, Some(g)));
        let per = motion.states_per_cell();
        let mut dist = vec![u16::MAX; grid.n_free() * per];
        let mut buckets: Vec<Vec<(Cell, u8)>> = vec![Vec::new()];
        DistTable::seed(grid, goals, per, &mut dist, |cost, cell, h| {
            if buckets.len() <= cost {
                buckets.resize_with(cost + 1, Vec::new);
            }
            buckets[cost].push((cell, h));
        });
        let mut d = 0usize;
        while d < buckets.len() {
            let bucket = std::mem::take(&mut buckets[d]);
            for (cell, h) in bucket {
                let idx = grid.free_index(cell).expect("queued cells are free");
                if usize::from(dist[idx * per + h as usize]) != d {
                    continue; // settled earlier at a smaller distance
                }
                DistTable::predecessors(grid, motion, closed(cell), cell, h, |pred, ph, cost| {
                    let pi = grid.free_index(pred).expect("edges join free cells");
                    let nd = (d + cost as usize).min(usize::from(u16::MAX - 1));
                    let slot = &mut dist[pi * per + ph as usize];
                    if nd < usize::from(*slot) {
                        *slot = nd as u16;
                        if buckets.len() <= nd {
                            buckets.resize_with(nd + 1, Vec::new);
                        }
                        buckets[nd].push((pred, ph));
                    }
                });
            }
            d += 1;
        }
        DistTable {
            goal,
            motion,
            loaded,
            dist,
        }
    }

    /// Whether the table is for robots carrying a pod ([`DistTable::compute_for`]).
    pub fn loaded(&self) -> bool {
        self.loaded
    }

    /// The goal this table leads to.
    pub fn goal(&self) -> Cell {
        self.goal
    }

    /// The motion model the table was computed for.
    pub fn motion(&self) -> Motion {
        self.motion
    }

    /// Steps from `cell` (facing `heading`, ignored in `Grid4`) to the goal, or
    /// [`UNREACHABLE`].
    pub fn get(&self, grid: &Grid, cell: Cell, heading: Heading) -> u32 {
        match grid.free_index(cell) {
            Some(idx) => self.get_free(idx, heading),
            None => UNREACHABLE,
        }
    }

    /// Like [`DistTable::get`] for a free-cell index; the hot path of the planner.
    #[inline]
    pub fn get_free(&self, free_idx: usize, heading: Heading) -> u32 {
        let slot = match self.motion {
            Motion::Grid4 => free_idx,
            Motion::Rotate => free_idx * 4 + heading.index(),
        };
        match self.dist[slot] {
            u16::MAX => UNREACHABLE,
            d => d as u32,
        }
    }

    /// The best distance over the four headings (departure heading free to choose).
    pub fn get_any_heading(&self, grid: &Grid, cell: Cell) -> u32 {
        Heading::ALL
            .iter()
            .map(|h| self.get(grid, cell, *h))
            .min()
            .unwrap_or(UNREACHABLE)
    }

    /// The raw distances of a `Grid4` table, indexed by free-cell index (`u16::MAX` =
    /// unreachable): for callers that read many entries of one table in a tight loop.
    pub fn grid4_raw(&self) -> Option<&[u16]> {
        (self.motion == Motion::Grid4).then_some(&self.dist[..])
    }

    /// Heap bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.dist.len() * std::mem::size_of::<u16>()
    }
}

/// Handle to a table held by a [`DistanceOracle`], valid until the next eviction epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRef(u32);

/// Counters a caller can report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OracleStats {
    /// Tables computed (or inserted).
    pub computed: u64,
    /// Tables dropped to stay under the memory cap.
    pub evicted: u64,
    /// Tables held now.
    pub held: usize,
    /// Bytes held now.
    pub bytes: usize,
}

struct Slot {
    table: DistTable,
    last_used: u64,
}

/// A cache of per-goal [`DistTable`]s under a memory cap.
///
/// Tables are used within an *epoch* (one planning step): [`DistanceOracle::begin_epoch`]
/// starts one, and a table requested in the current epoch is never evicted, so every
/// [`TableRef`] handed out stays valid until the next `begin_epoch`. When the cap is reached,
/// the least recently used table from an older epoch goes first; if all are in use, the cap
/// is exceeded rather than failing (the planner never fails).
///
/// The oracle computes missing tables itself ([`DistanceOracle::ensure`]), but a caller that
/// may use threads can compute them in parallel with [`DistTable::compute`] and
/// [`DistanceOracle::insert`] them first; this crate spawns nothing.
pub struct DistanceOracle {
    motion: Motion,
    cap_bytes: usize,
    /// Per cell, then per cell again for loaded tables: index into `slots`, or `u32::MAX`.
    slot_of: Vec<u32>,
    n_cells: usize,
    slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    epoch: u64,
    stats: OracleStats,
}

impl DistanceOracle {
    /// An empty oracle for `grid` and `motion` that holds at most about `cap_bytes` of tables.
    pub fn new(grid: &Grid, motion: Motion, cap_bytes: usize) -> DistanceOracle {
        DistanceOracle {
            motion,
            cap_bytes,
            slot_of: vec![u32::MAX; 2 * grid.n_cells()],
            n_cells: grid.n_cells(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            epoch: 0,
            stats: OracleStats::default(),
        }
    }

    /// The motion model of every table held.
    pub fn motion(&self) -> Motion {
        self.motion
    }

    /// Starts a new epoch: tables not requested from now on may be evicted.
    pub fn begin_epoch(&mut self) {
        self.epoch += 1;
    }

    /// Whether a table for `goal` is held.
    pub fn contains(&self, goal: Cell) -> bool {
        self.contains_for(goal, false)
    }

    /// Whether a table for `goal` and robots `loaded` or not is held.
    pub fn contains_for(&self, goal: Cell, loaded: bool) -> bool {
        goal.index() < self.n_cells && self.slot_of[self.key(goal, loaded)] != u32::MAX
    }

    fn key(&self, goal: Cell, loaded: bool) -> usize {
        goal.index() + if loaded { self.n_cells } else { 0 }
    }

    /// Adds a table computed elsewhere (for the same grid and motion).
    pub fn insert(&mut self, table: DistTable) -> TableRef {
        debug_assert_eq!(table.motion, self.motion, "table for another motion model");
        if let Some(found) = self.lookup(table.goal, table.loaded) {
            return found;
        }
        let bytes = table.bytes();
        self.make_room(bytes);
        let key = self.key(table.goal, table.loaded);
        let slot = Slot {
            table,
            last_used: self.epoch,
        };
        let index = match self.free_slots.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.slot_of[key] = index;
        self.stats.computed += 1;
        self.stats.held += 1;
        self.stats.bytes += bytes;
        TableRef(index)
    }

    /// The table for `goal`, computed now if it is not held, and marked as used this epoch.
    pub fn ensure(&mut self, grid: &Grid, goal: Cell) -> TableRef {
        self.ensure_for(grid, goal, false)
    }

    /// Like [`DistanceOracle::ensure`], for robots carrying a pod when `loaded`
    /// ([`DistTable::compute_for`]).
    pub fn ensure_for(&mut self, grid: &Grid, goal: Cell, loaded: bool) -> TableRef {
        match self.lookup(goal, loaded) {
            Some(found) => found,
            None => self.insert(DistTable::compute_for(grid, goal, self.motion, loaded)),
        }
    }

    /// The table behind a handle from this epoch.
    ///
    /// # Panics
    /// If the handle was evicted, which cannot happen within the epoch it was issued in.
    pub fn table(&self, handle: TableRef) -> &DistTable {
        &self.slots[handle.0 as usize]
            .as_ref()
            .expect("table evicted within its epoch")
            .table
    }

    /// The table for `goal` if held, without touching its age.
    pub fn get(&self, goal: Cell) -> Option<&DistTable> {
        if goal.index() >= self.n_cells {
            return None;
        }
        let slot = self.slot_of[self.key(goal, false)];
        self.slots.get(slot as usize)?.as_ref().map(|s| &s.table)
    }

    /// Counters for reports.
    pub fn stats(&self) -> OracleStats {
        self.stats
    }

    fn lookup(&mut self, goal: Cell, loaded: bool) -> Option<TableRef> {
        if goal.index() >= self.n_cells {
            return None;
        }
        let slot = self.slot_of[self.key(goal, loaded)];
        if slot == u32::MAX {
            return None;
        }
        let epoch = self.epoch;
        let entry = self.slots[slot as usize].as_mut()?;
        entry.last_used = epoch;
        Some(TableRef(slot))
    }

    fn make_room(&mut self, incoming: usize) {
        while self.stats.bytes + incoming > self.cap_bytes {
            // Linear scan: evictions are rare next to lookups, and a heap would need updating
            // on every use.
            let victim = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|s| (i, s.last_used)))
                .filter(|(_, used)| *used < self.epoch)
                .min_by_key(|(_, used)| *used);
            let Some((index, _)) = victim else { return };
            let slot = self.slots[index].take().expect("victim exists");
            let key = self.key(slot.table.goal, slot.table.loaded);
            self.slot_of[key] = u32::MAX;
            self.free_slots.push(index as u32);
            self.stats.evicted += 1;
            self.stats.held -= 1;
            self.stats.bytes -= slot.table.bytes();
        }
    }
}
