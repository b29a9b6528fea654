//! Closed cells: blocked and slow zones, robots not driven here and the cells of robots that are
//! down; plans that may enter them are rewound to the released frontier.

use super::*;

impl Coordinator {
    /// Replaces the zones. Blocked zones lose the edges that lead into them, so no plan and no
    /// distance enters them and no cell in them is released again; robots standing in one
    /// (or already released into one: the VDA base cannot be taken back) are paused with
    /// `startPause`, held by the planner and taken out of the allocator (their tasks go back
    /// to the queue, a carried pod goes home later) until the zone is lifted. Jobs of other
    /// robots whose next goal lies in a blocked zone are given up the same way. Slow zones
    /// put `maxSpeed` on the order edges that touch them. Returns the instant actions to send.
    pub fn set_zones(&mut self, zones: &[ZoneArea]) -> Vec<(u32, Outbound)> {
        let n = self.base_grid.n_cells();
        let mut blocked = vec![false; n];
        let mut limit = vec![f64::INFINITY; n];
        for z in zones {
            for c in z.cells.iter().filter(|c| c.index() < n) {
                match z.max_speed {
                    None => blocked[c.index()] = true,
                    Some(v) => limit[c.index()] = limit[c.index()].min(v),
                }
            }
        }
        self.speed_limit = limit;
        self.blocked = blocked;
        // Plans made before may enter the new zones: restart from the released frontier.
        self.rewind();
        let mut out = Vec::new();
        for i in 0..self.robots.len() {
            let robot = i as u32;
            let touches = (self.exec.first(robot)..=self.exec.released(robot)).any(|k| {
                self.exec
                    .entry(robot, k)
                    .is_some_and(|e| self.blocked[e.cell.index()])
            });
            if touches == self.robots[i].zone_held {
                continue;
            }
            self.robots[i].zone_held = touches;
            self.events.push(CoordEvent::ZoneHold {
                robot,
                held: touches,
            });
            for e in self.sync_service(robot) {
                self.events.push(CoordEvent::Alloc(e));
            }
            if !self.robots[i].manual_pause {
                let action = if touches { "startPause" } else { "stopPause" };
                out.push((robot, Outbound::InstantActions(self.instant(robot, action))));
            }
        }
        self.close_cells();
        out
    }

    /// Cells where robots stand that this coordinator does not drive (a robot that first
    /// reported after startup, at the position it reports): nobody is planned into them.
    /// Plans made before are rewound to the released frontier.
    pub fn set_foreign(&mut self, cells: &[Cell]) {
        let mut cells: Vec<Cell> = cells
            .iter()
            .copied()
            .filter(|c| self.base_grid.contains(*c))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        if cells == self.foreign {
            return;
        }
        self.foreign = cells;
        self.rewind();
        self.close_cells();
    }

    /// Rebuilds the grid robots plan on: the floor's, minus every edge into a closed cell.
    /// Closed are the blocked zones, the cells of robots not driven here, and the cells a
    /// silent robot was released into (where it
    /// may stand: nobody else may be planned there until it reports again). Distance tables
    /// and allocation costs start afresh: a stale table would send robots into dead ends
    /// behind a silent robot, and the allocator to pods only reachable through it. The
    /// allocator gives up jobs aimed at closed cells.
    pub(super) fn close_cells(&mut self) {
        let mut closed = self.blocked.clone();
        for c in &self.foreign {
            closed[c.index()] = true;
        }
        for i in 0..self.robots.len() {
            if !self.robots[i].down {
                continue;
            }
            if let Some((_, Some(c))) = self.robots[i].misplaced {
                closed[c.index()] = true;
            }
            let robot = i as u32;
            for k in self.exec.first(robot)..=self.exec.released(robot) {
                if let Some(e) = self.exec.entry(robot, k) {
                    closed[e.cell.index()] = true;
                }
            }
        }
        let mut grid = self.base_grid.clone();
        for (i, _) in closed.iter().enumerate().filter(|(_, b)| **b) {
            for h in Heading::ALL {
                if let Some(from) = grid.raw_neighbor(Cell(i as u32), h)
                    && !closed[from.index()]
                {
                    grid.set_edge(from, h.opposite(), false);
                }
            }
        }
        self.grid = grid;
        self.closed = closed.clone();
        self.oracle = DistanceOracle::new(&self.grid, Motion::Grid4, self.config.table_cache_bytes);
        self.costs = TargetTables::new(&self.grid);
        for e in self.alloc.avoid(&|c: Cell| closed[c.index()]) {
            self.events.push(CoordEvent::Alloc(e));
        }
    }

    /// Drops every unreleased planned entry; actions attached to dropped entries are attached
    /// again when the robot's plan reaches its goal.
    pub(super) fn rewind(&mut self) {
        self.exec.rewind();
        self.after_rewind();
    }

    /// After the executor dropped entries: the planner restarts from the released frontier.
    pub(super) fn after_rewind(&mut self) {
        self.planned = self.exec.frontier();
        for (i, r) in self.robots.iter_mut().enumerate() {
            if r.attached
                .is_some_and(|(.., index)| index > self.exec.last(i as u32))
            {
                r.attached = None;
            }
        }
    }
}
