//! The dense floor grid: cells, kinds, obstacles and (possibly one-way) edges.

use fixedbitset::FixedBitSet;

/// A cell of the floor, `row * width + col`. Small and `Copy` so it can index dense arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell(pub u32);

/// Distance value of a state that cannot reach the goal (or cannot be reached).
pub const UNREACHABLE: u32 = u32::MAX;

impl Cell {
    /// The cell as an index into a dense per-cell array.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A compass heading. The numbering is LoRR's (`inc/States.h`): 0 = east, 1 = south, 2 = west,
/// 3 = north, so a clockwise turn adds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Heading {
    /// Towards increasing column.
    East = 0,
    /// Towards increasing row.
    South = 1,
    /// Towards decreasing column.
    West = 2,
    /// Towards decreasing row.
    North = 3,
}

impl Heading {
    /// All four headings in LoRR order.
    pub const ALL: [Heading; 4] = [Heading::East, Heading::South, Heading::West, Heading::North];

    /// The heading with LoRR number `n` (taken modulo 4).
    pub fn from_index(n: usize) -> Heading {
        Heading::ALL[n % 4]
    }

    /// LoRR's number for this heading.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The heading after a 90° clockwise turn (LoRR action `R`).
    pub fn clockwise(self) -> Heading {
        Heading::from_index(self.index() + 1)
    }

    /// The heading after a 90° counter-clockwise turn (LoRR action `C`).
    pub fn counter_clockwise(self) -> Heading {
        Heading::from_index(self.index() + 3)
    }

    /// The opposite heading.
    pub fn opposite(self) -> Heading {
        Heading::from_index(self.index() + 2)
    }

    /// How many 90° turns separate two headings (0, 1 or 2).
    pub fn turns_to(self, other: Heading) -> u32 {
        let diff = (other.index() + 4 - self.index()) % 4;
        if diff == 3 { 1 } else { diff as u32 }
    }
}

/// What a cell is for. Formats that know more than "free or blocked" keep it here, so the
/// allocator and the benchmark semantics can find stations, endpoints and chargers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// Blocked: no robot ever stands here.
    Obstacle,
    /// Plain travel cell or highway.
    Travel,
    /// A storage slot where a pod rests.
    Storage,
    /// The cell at a station where the associate works on the presented pod.
    StationFace,
    /// A cell of a station's queue lane.
    StationQueue,
    /// A charging spot.
    Charger,
    /// A parking spot for idle robots.
    Park,
    /// LoRR `E`: emitter, the delivery end of a task.
    Emitter,
    /// LoRR `S`: service point, the pickup end of a task.
    Service,
    /// RHCR kiva `e` / pibt2 task endpoint: shelf access.
    Endpoint,
    /// RHCR kiva `r` / pibt2 `e`: robot home or non-task endpoint.
    Home,
    /// RHCR sorting induct station cell.
    Induct,
    /// RHCR sorting eject (chute) cell.
    Eject,
}

/// The floor: a `width` x `height` grid of cells with kinds and directed 4-neighbour edges.
///
/// Edges default to both directions between free neighbours; loaders for directed maps
/// (RHCR's sorting centre, one-way highways) remove or set them explicitly. Everything that
/// moves a robot asks [`Grid::neighbor`], so edge direction is respected everywhere.
#[derive(Clone, Debug)]
pub struct Grid {
    width: u32,
    height: u32,
    kinds: Vec<CellKind>,
    blocked: FixedBitSet,
    /// Bit `h` set: the edge from this cell towards heading `h` exists.
    out_edges: Vec<u8>,
    /// Dense index of each free cell, `u32::MAX` for obstacles.
    free_index: Vec<u32>,
    free_cells: Vec<Cell>,
    /// Guidance: the cost of each edge (`cell * 4 + heading`) for the planner's distances;
    /// empty while every edge costs 1.
    edge_cost: Vec<u8>,
    /// Guidance under `Rotate`: the cost of arriving on a cell facing each heading
    /// (`cell * 4 + heading`), the expected extra turning of the next trip; empty while none.
    arrival_cost: Vec<u8>,
}

impl Grid {
    /// Builds a grid from per-cell kinds (row-major), with two-way edges between free
    /// neighbours.
    ///
    /// # Panics
    /// If `kinds.len() != width * height`; loaders check sizes before calling.
    pub fn new(width: u32, height: u32, kinds: Vec<CellKind>) -> Grid {
        assert_eq!(
            kinds.len(),
            width as usize * height as usize,
            "kinds must cover the grid"
        );
        let n = kinds.len();
        let mut blocked = FixedBitSet::with_capacity(n);
        let mut free_index = vec![u32::MAX; n];
        let mut free_cells = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            if *kind == CellKind::Obstacle {
                blocked.insert(i);
            } else {
                free_index[i] = free_cells.len() as u32;
                free_cells.push(Cell(i as u32));
            }
        }
        let mut grid = Grid {
            width,
            height,
            kinds,
            blocked,
            out_edges: vec![0; n],
            free_index,
            free_cells,
            edge_cost: Vec::new(),
            arrival_cost: Vec::new(),
        };
        for i in 0..n {
            let cell = Cell(i as u32);
            if grid.is_blocked(cell) {
                continue;
            }
            for heading in Heading::ALL {
                if let Some(next) = grid.raw_neighbor(cell, heading)
                    && !grid.is_blocked(next)
                {
                    grid.out_edges[i] |= 1 << heading.index();
                }
            }
        }
        grid
    }

    /// Width in cells (columns).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in cells (rows).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Number of cells, free or not.
    pub fn n_cells(&self) -> usize {
        self.kinds.len()
    }

    /// Number of free cells.
    pub fn n_free(&self) -> usize {
        self.free_cells.len()
    }

    /// The free cells in increasing order.
    pub fn free_cells(&self) -> &[Cell] {
        &self.free_cells
    }

    /// Dense index of a free cell among the free cells, `None` for an obstacle or off the map.
    pub fn free_index(&self, cell: Cell) -> Option<usize> {
        match self.free_index.get(cell.index()) {
            Some(&i) if i != u32::MAX => Some(i as usize),
            _ => None,
        }
    }

    /// The cell at `row`, `col`, or `None` off the map.
    pub fn cell_at(&self, row: i64, col: i64) -> Option<Cell> {
        if row < 0 || col < 0 || row >= self.height as i64 || col >= self.width as i64 {
            return None;
        }
        Some(Cell((row as u32) * self.width + col as u32))
    }

    /// `(row, col)` of a cell.
    pub fn row_col(&self, cell: Cell) -> (u32, u32) {
        (cell.0 / self.width, cell.0 % self.width)
    }

    /// Whether the cell id lies on the map.
    pub fn contains(&self, cell: Cell) -> bool {
        cell.index() < self.kinds.len()
    }

    /// Whether a cell is an obstacle (or off the map).
    pub fn is_blocked(&self, cell: Cell) -> bool {
        !self.contains(cell) || self.blocked.contains(cell.index())
    }

    /// Whether a robot may stand on this cell.
    pub fn is_free(&self, cell: Cell) -> bool {
        !self.is_blocked(cell)
    }

    /// The kind of a cell.
    pub fn kind(&self, cell: Cell) -> CellKind {
        self.kinds[cell.index()]
    }

    /// All cells of one kind, in increasing order.
    pub fn cells_of(&self, kind: CellKind) -> Vec<Cell> {
        (0..self.kinds.len() as u32)
            .map(Cell)
            .filter(|c| self.kind(*c) == kind)
            .collect()
    }

    /// The geometric neighbour towards `heading`, ignoring obstacles and edges; `None` off
    /// the map (never wraps across a row end).
    pub fn raw_neighbor(&self, cell: Cell, heading: Heading) -> Option<Cell> {
        let (row, col) = self.row_col(cell);
        let (row, col) = (row as i64, col as i64);
        match heading {
            Heading::East => self.cell_at(row, col + 1),
            Heading::South => self.cell_at(row + 1, col),
            Heading::West => self.cell_at(row, col - 1),
            Heading::North => self.cell_at(row - 1, col),
        }
    }

    /// Whether a robot may move from `cell` one step towards `heading`.
    pub fn has_edge(&self, cell: Cell, heading: Heading) -> bool {
        self.contains(cell) && self.out_edges[cell.index()] & (1 << heading.index()) != 0
    }

    /// The cell a robot reaches moving one step towards `heading`, if that edge exists.
    pub fn neighbor(&self, cell: Cell, heading: Heading) -> Option<Cell> {
        if self.has_edge(cell, heading) {
            self.raw_neighbor(cell, heading)
        } else {
            None
        }
    }

    /// The heading of a one-step move from `from` to `to`, if the cells are adjacent.
    pub fn heading_between(&self, from: Cell, to: Cell) -> Option<Heading> {
        Heading::ALL
            .into_iter()
            .find(|h| self.raw_neighbor(from, *h) == Some(to))
    }

    /// Adds or removes the directed edge from `cell` towards `heading`. Adding an edge to an
    /// obstacle or off the map is refused and returns `false`.
    pub fn set_edge(&mut self, cell: Cell, heading: Heading, present: bool) -> bool {
        if self.is_blocked(cell) {
            return !present;
        }
        if present {
            match self.raw_neighbor(cell, heading) {
                Some(next) if self.is_free(next) => {
                    self.out_edges[cell.index()] |= 1 << heading.index();
                    true
                }
                _ => false,
            }
        } else {
            self.out_edges[cell.index()] &= !(1 << heading.index());
            true
        }
    }

    /// The guidance cost of the edge from `cell` towards `heading` (1 unless set by
    /// [`Grid::set_edge_cost`]). Distances for planning add these; bounds use plain steps.
    pub fn edge_cost(&self, cell: Cell, heading: Heading) -> u32 {
        self.edge_cost
            .get(cell.index() * 4 + heading.index())
            .map_or(1, |c| u32::from(*c))
    }

    /// Whether any edge costs more than 1.
    pub fn has_edge_costs(&self) -> bool {
        !self.edge_cost.is_empty()
    }

    /// Sets the guidance cost (at least 1) of the edge from `cell` towards `heading`.
    pub fn set_edge_cost(&mut self, cell: Cell, heading: Heading, cost: u8) {
        if self.edge_cost.is_empty() {
            if cost <= 1 {
                return;
            }
            self.edge_cost = vec![1; self.kinds.len() * 4];
        }
        self.edge_cost[cell.index() * 4 + heading.index()] = cost.max(1);
    }

    /// Forgets every guidance cost: all edges cost 1 again.
    pub fn clear_edge_costs(&mut self) {
        self.edge_cost = Vec::new();
    }

    /// The guidance cost of arriving on `cell` facing `heading` (0 unless set by
    /// [`Grid::weigh_arrival_headings`]). `Rotate` distance tables start from it at the goal.
    pub fn arrival_cost(&self, cell: Cell, heading: Heading) -> u32 {
        self.arrival_cost
            .get(cell.index() * 4 + heading.index())
            .map_or(0, |c| u32::from(*c))
    }

    /// Whether any arrival heading costs more than 0.
    pub fn has_arrival_costs(&self) -> bool {
        !self.arrival_cost.is_empty()
    }

    /// Replaces the arrival costs (`cells * 4` entries, or none); see
    /// [`Grid::weigh_arrival_headings`].
    pub(crate) fn set_arrival_costs(&mut self, costs: Vec<u8>) {
        self.arrival_cost = costs;
    }

    /// Soft traffic rules: every edge of `unruled` (this floor before rules removed edges)
    /// missing here comes back at guidance cost `cost`, so a robot may drive against a
    /// one-way corridor where that saves more than the cost. Returns the edges restored.
    ///
    /// # Panics
    /// If `unruled` is not the same floor (size).
    pub fn soften_rules(&mut self, unruled: &Grid, cost: u8) -> usize {
        assert_eq!(self.kinds.len(), unruled.kinds.len(), "the same floor");
        let mut restored = 0;
        for &cell in &unruled.free_cells {
            for h in Heading::ALL {
                if unruled.has_edge(cell, h) && !self.has_edge(cell, h) {
                    self.set_edge(cell, h, true);
                    self.set_edge_cost(cell, h, cost);
                    restored += 1;
                }
            }
        }
        restored
    }

    /// Guidance for open floor: every edge between two cells of open areas (cells in some
    /// 2x2 block of free cells) costs `cost`, so planned routes cross open areas (where
    /// traffic mixes in every direction) only where they must and travel along the
    /// corridors otherwise. Returns the number of edges weighted.
    pub fn weigh_open_areas(&mut self, cost: u8) -> usize {
        let open: Vec<bool> = (0..self.n_cells())
            .map(|i| {
                let (row, col) = self.row_col(Cell(i as u32));
                let (row, col) = (i64::from(row), i64::from(col));
                [(-1, -1), (-1, 0), (0, -1), (0, 0)].iter().any(|(dr, dc)| {
                    [(0, 0), (0, 1), (1, 0), (1, 1)].iter().all(|(r, c)| {
                        self.cell_at(row + dr + r, col + dc + c)
                            .is_some_and(|n| self.is_free(n))
                    })
                })
            })
            .collect();
        let mut weighted = 0;
        for cell in self.free_cells.clone() {
            for h in Heading::ALL {
                if let Some(next) = self.neighbor(cell, h)
                    && open[cell.index()]
                    && open[next.index()]
                {
                    self.set_edge_cost(cell, h, cost);
                    weighted += 1;
                }
            }
        }
        weighted
    }

    /// Removes every edge, so a loader can list the directed ones itself.
    pub fn clear_edges(&mut self) {
        self.out_edges.iter_mut().for_each(|e| *e = 0);
    }

    /// Number of directed edges.
    pub fn n_edges(&self) -> usize {
        self.out_edges.iter().map(|e| e.count_ones() as usize).sum()
    }

    /// Number of edges that exist in one direction only.
    pub fn n_one_way_edges(&self) -> usize {
        let mut n = 0;
        for cell in &self.free_cells {
            for heading in Heading::ALL {
                if let Some(next) = self.neighbor(*cell, heading)
                    && !self.has_edge(next, heading.opposite())
                {
                    n += 1;
                }
            }
        }
        n
    }

    /// Traffic rules: makes every 1-wide corridor segment one-way (cells walled on both sides,
    /// open at both ends), alternating direction from one corridor row (or column) to the
    /// next, like a street grid. Robots meeting head-on in such a corridor
    /// can only pass by backing out, which jams dense fleets; one-way corridors avoid it.
    /// Returns the number of segments oriented; if the rules would cut any cell off from
    /// another it could reach before, the grid is left unchanged and 0 is returned.
    pub fn orient_corridors(&mut self) -> usize {
        let before = self.clone();
        let mut segments = 0;
        let width = self.width;
        for vertical in [false, true] {
            // Directions alternate from one corridor line to the next (by order, not by
            // coordinate: warehouse aisles repeat every 4 columns, so column parity would send
            // them all the same way).
            let mut ordinal = 0u32;
            let (lines, len) = if vertical {
                (self.width, self.height)
            } else {
                (self.height, self.width)
            };
            for line in 0..lines {
                let at = move |k: u32| {
                    if vertical {
                        Cell(k * width + line)
                    } else {
                        Cell(line * width + k)
                    }
                };
                let (side_a, side_b) = if vertical {
                    (Heading::West, Heading::East)
                } else {
                    (Heading::North, Heading::South)
                };
                let walled = |grid: &Grid, cell: Cell| {
                    grid.is_free(cell)
                        && [side_a, side_b].iter().all(|h| {
                            grid.raw_neighbor(cell, *h)
                                .is_none_or(|n| grid.is_blocked(n))
                        })
                };
                let (forward, backward) = match (vertical, ordinal.is_multiple_of(2)) {
                    (false, true) => (Heading::East, Heading::West),
                    (false, false) => (Heading::West, Heading::East),
                    (true, true) => (Heading::South, Heading::North),
                    (true, false) => (Heading::North, Heading::South),
                };
                let segments_before = segments;
                let mut k = 0;
                while k < len {
                    if !walled(self, at(k)) {
                        k += 1;
                        continue;
                    }
                    let start = k;
                    while k < len && walled(self, at(k)) {
                        k += 1;
                    }
                    // Run [start, k); both ends must open onto free cells.
                    if start == 0
                        || k >= len
                        || self.is_blocked(at(start - 1))
                        || self.is_blocked(at(k))
                    {
                        continue;
                    }
                    // Along the run, edges point one way only: [start-1 .. k] in `forward`
                    // order, so removing every `backward` edge between them.
                    for j in start - 1..k {
                        let (low, high) = (at(j), at(j + 1));
                        // low -> high is East/South; high -> low is West/North.
                        if matches!(forward, Heading::East | Heading::South) {
                            self.set_edge(high, backward, false);
                        } else {
                            self.set_edge(low, backward, false);
                        }
                    }
                    segments += 1;
                }
                if segments > segments_before {
                    ordinal += 1;
                }
            }
        }
        if segments > 0 && !self.same_reachability(&before) {
            *self = before;
            return 0;
        }
        segments
    }

    /// Whether every cell reaches, and is reached from, the first free cell exactly as in
    /// `other` (same cells, fewer edges).
    fn same_reachability(&self, other: &Grid) -> bool {
        let Some(&root) = self.free_cells.first() else {
            return true;
        };
        let count = |grid: &Grid, forward: bool| {
            grid.reachable(root, forward, false)
                .iter()
                .filter(|r| **r)
                .count()
        };
        count(self, true) == count(other, true) && count(self, false) == count(other, false)
    }

    /// Cells reachable from `start` along edges (`forward`), or that reach it (`!forward`).
    /// With `loaded`, as a robot carrying a pod moves: it may enter or leave a storage slot
    /// but never pass through one (see [`Grid::loaded_may_enter`]).
    pub fn reachable(&self, start: Cell, forward: bool, loaded: bool) -> Vec<bool> {
        self.steps_from(start, forward, loaded)
            .into_iter()
            .map(|d| d != UNREACHABLE)
            .collect()
    }

    /// Steps (4-connected, edge directions respected) from `start` to every cell
    /// (`forward`), or from every cell to `start` (`!forward`); [`UNREACHABLE`] where
    /// there is no way. With `loaded`, as [`Grid::reachable`]. One breadth-first search, for
    /// choosing among many cells from one place.
    pub fn steps_from(&self, start: Cell, forward: bool, loaded: bool) -> Vec<u32> {
        let mut dist = vec![UNREACHABLE; self.n_cells()];
        let mut queue = std::collections::VecDeque::from([start]);
        dist[start.index()] = 0;
        while let Some(cell) = queue.pop_front() {
            if loaded && !self.loaded_may_enter(cell, Some(start)) {
                continue; // reached, but nothing passes through it
            }
            let d = dist[cell.index()] + 1;
            for h in Heading::ALL {
                let next = if forward {
                    self.neighbor(cell, h)
                } else {
                    self.raw_neighbor(cell, h)
                        .filter(|&n| self.is_free(n) && self.has_edge(n, h.opposite()))
                };
                if let Some(n) = next
                    && dist[n.index()] == UNREACHABLE
                {
                    dist[n.index()] = d;
                    queue.push_back(n);
                }
            }
        }
        dist
    }

    /// DOMAIN.md's storage rule: a robot carrying a pod (or a cart) heading for `goal` may
    /// move into `cell` unless it is a storage slot other than the goal, whose stored pod
    /// would collide with its load. Empty robots drive under stored pods and may go anywhere.
    pub fn loaded_may_enter(&self, cell: Cell, goal: Option<Cell>) -> bool {
        self.kind(cell) != CellKind::Storage || goal == Some(cell)
    }

    /// Draws the grid as text, one row per line: `@` obstacle, `.` travel, and a letter
    /// per other kind. Used by snapshots and error messages.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity((self.width as usize + 1) * self.height as usize);
        for row in 0..self.height {
            for col in 0..self.width {
                let cell = Cell(row * self.width + col);
                out.push(kind_symbol(self.kind(cell)));
            }
            out.push('\n');
        }
        out
    }
}

/// The symbol [`Grid::render`] uses for a kind.
pub fn kind_symbol(kind: CellKind) -> char {
    match kind {
        CellKind::Obstacle => '@',
        CellKind::Travel => '.',
        CellKind::Storage => 's',
        CellKind::StationFace => 'f',
        CellKind::StationQueue => 'q',
        CellKind::Charger => 'c',
        CellKind::Park => 'p',
        CellKind::Emitter => 'E',
        CellKind::Service => 'S',
        CellKind::Endpoint => 'e',
        CellKind::Home => 'r',
        CellKind::Induct => 'i',
        CellKind::Eject => 'j',
    }
}
