//! One assignment batch: free robots matched to the jobs on offer through a cost matrix
//! (driving, job length, station slack, the energy check), and the jobs that follow.

use super::*;

impl Allocator {
    /// Builds this tick's jobs and assigns free robots to them.
    pub(super) fn allocate(&mut self, now: u64, costs: &mut dyn Costs, report: &mut TickReport) {
        let free: Vec<(u32, u32)> = (0..self.robots.len() as u32)
            .filter_map(|r| self.free_for_work(r).map(|extra| (r, extra)))
            .take(self.config.max_batch)
            .collect();
        if free.is_empty() || self.queue.is_empty() {
            return;
        }
        let cells: Vec<Cell> = free
            .iter()
            .map(|&(r, _)| self.robots[r as usize].cell)
            .collect();
        let demands = self.demands(&cells, costs);
        if demands.is_empty() {
            return;
        }
        let (rows, cols) = (free.len(), demands.len());
        let mut matrix = vec![FORBIDDEN; rows * cols];
        let firsts: Vec<Cell> = demands.iter().map(|d| d.first).collect();
        costs.fill(&cells, &firsts, &mut matrix);
        // Entry of robot i and job j in whichever layout the costs came in.
        let tm = costs.target_major();
        let at = |i: usize, j: usize| if tm { j * rows + i } else { i * cols + j };
        // UNREACHABLE is FORBIDDEN already; only the energy check and the surcharge for
        // robots taken off a charger touch the matrix again.
        let battery = self.config.battery.clone();
        let weight = self.config.trip_weight;
        // What every entry of a row (robot) and of a column (job) gets on top of the driving.
        let row_add: Vec<u32> = free.iter().map(|&(_, extra)| extra).collect();
        let col_add: Vec<u32> = demands
            .iter()
            .map(|d| weight.saturating_mul(d.legs).saturating_add(d.slack))
            .collect();
        let add = |c: &mut u32, i: usize, j: usize| {
            if *c != FORBIDDEN {
                *c = c
                    .saturating_add(row_add[i])
                    .saturating_add(col_add[j])
                    .min(FORBIDDEN - 1);
            }
        };
        match &battery {
            // The common large case, in memory order (column-major when transposed).
            None => {
                let line = if tm { rows } else { cols };
                for (outer, chunk) in matrix.chunks_mut(line).enumerate() {
                    for (inner, c) in chunk.iter_mut().enumerate() {
                        let (i, j) = if tm { (inner, outer) } else { (outer, inner) };
                        add(c, i, j);
                    }
                }
            }
            Some(b) => {
                for (i, &(robot, _)) in free.iter().enumerate() {
                    let r = &self.robots[robot as usize];
                    for (j, d) in demands.iter().enumerate() {
                        let c = &mut matrix[at(i, j)];
                        if *c == FORBIDDEN {
                            continue;
                        }
                        let need =
                            b.per_cell * (*c + d.rest_cells) as f64 + b.per_lift * d.lifts as f64;
                        if r.battery - need < b.critical {
                            *c = FORBIDDEN;
                            continue;
                        }
                        add(c, i, j);
                    }
                }
            }
        }
        let (pairs, method) = if tm {
            let (by_job, method) = assign(cols, rows, &matrix, self.config.optimal_max);
            let mut pairs = vec![None; rows];
            for (j, i) in by_job.into_iter().enumerate() {
                if let Some(i) = i {
                    pairs[i] = Some(j);
                }
            }
            (pairs, method)
        } else {
            assign(rows, cols, &matrix, self.config.optimal_max)
        };
        report.batch = Some((rows, cols));
        report.method = Some(method);
        let mut demands: Vec<Option<Demand>> = demands.into_iter().map(Some).collect();
        for (i, col) in pairs.iter().enumerate() {
            let Some(j) = *col else { continue };
            let Some(d) = demands[j].take() else { continue };
            let robot = free[i].0;
            self.release_internal(robot);
            for &t in &d.tasks {
                self.dequeue(t);
                self.tasks[t.0 as usize].state = TaskState::Assigned { robot };
                report.events.push(Event::Assigned { task: t, robot });
            }
            self.robots[robot as usize].job = match (d.pod, d.station) {
                (Some(pod), Some(station)) => {
                    self.pods[pod.0 as usize].busy = true;
                    self.stations[station.0 as usize].tickets.push(robot);
                    Job::Visit(Visit {
                        station,
                        pod,
                        tasks: d.tasks,
                        lifted: false,
                        dispatched: now,
                        in_lane: false,
                    })
                }
                _ => {
                    let task = d.tasks[0];
                    Job::Transport {
                        task,
                        errand: self.tasks[task.0 as usize].resume_at,
                    }
                }
            };
        }
        // Jobs nobody could take stay queued; try again when something changes.
        if demands.iter().any(Option::is_some) {
            self.dirty = true;
        }
    }
}
