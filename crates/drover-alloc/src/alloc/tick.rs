//! The allocator's tick: jobs advanced on arrivals, charging, an assignment batch when something
//! changed, idle robots parked, and the planner's goals.

use super::*;

/// Ticks between allocation sweeps while tasks are queued and robots free.
const SWEEP_TICKS: u64 = 16;

impl Allocator {
    /// Advances every job by what the robots did, hands out work, and sets
    /// [`Allocator::goals`]. `robots` is indexed like the robots given to
    /// [`Allocator::new`].
    pub fn tick(&mut self, now: u64, robots: &[RobotView], costs: &mut dyn Costs) -> TickReport {
        assert_eq!(robots.len(), self.robots.len(), "one view per robot");
        self.now = now;
        let mut report = TickReport::default();
        for (r, view) in robots.iter().enumerate() {
            self.robots[r].cell = view.cell;
            self.robots[r].battery = view.battery;
        }
        for r in 0..self.robots.len() {
            self.advance(r as u32, now, &mut report.events);
        }
        if self.config.battery.is_some() {
            self.send_to_chargers(costs, &mut report.events, false);
        }
        // A safety net over the events that mark work (a stored pod, a robot coming free):
        // while tasks are queued and robots free, allocation runs at least every
        // `SWEEP_TICKS`, so a task whose chance was missed never waits for good.
        if !self.dirty
            && now.is_multiple_of(SWEEP_TICKS)
            && !self.queue.is_empty()
            && (0..self.robots.len() as u32).any(|r| self.free_for_work(r).is_some())
        {
            self.dirty = true;
        }
        if self.dirty {
            self.dirty = false;
            self.allocate(now, costs, &mut report);
        }
        if self.config.battery.is_some() {
            self.send_to_chargers(costs, &mut report.events, true);
        }
        if self.config.park_idle {
            self.park_idle(costs);
        }
        for r in 0..self.robots.len() {
            self.goals[r] = self.goal(r as u32);
        }
        report
    }

    /// Goals for the planner, one per robot (`None`: stay).
    pub fn goals(&self) -> &[Option<Cell>] {
        &self.goals
    }

    /// Moves one robot's job along if it reached its goal.
    pub(super) fn advance(&mut self, robot: u32, now: u64, events: &mut Vec<Event>) {
        let r = robot as usize;
        if !self.robots[r].in_service {
            return;
        }
        if self.robots[r].hold_until > now {
            return;
        }
        if self.robots[r].hold_until == now && now > 0 && matches!(self.robots[r].job, Job::None) {
            // Just finished setting a pod down: free for work.
            self.dirty = true;
        }
        let cell = self.robots[r].cell;
        match &mut self.robots[r].job {
            Job::None => {}
            Job::Visit(v) if !v.lifted => {
                let PodLoc::Slot(slot) = self.pods[v.pod.0 as usize].loc else {
                    return;
                };
                if cell != slot {
                    return;
                }
                v.lifted = true;
                let (pod, tasks) = (v.pod, v.tasks.clone());
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slots[k] = Slot::Empty;
                self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
                self.robots[r].carrying = Some(pod);
                self.robots[r].hold_until = now + self.config.lift_ticks as u64;
                for t in tasks {
                    self.tasks[t.0 as usize].state = TaskState::InProgress { robot, errand: 1 };
                }
            }
            Job::Visit(v) => {
                let s = v.station.0 as usize;
                let st = &mut self.stations[s];
                if !v.in_lane && st.path.contains(&cell) {
                    v.in_lane = true;
                    st.lane.push(robot);
                    let lead = (now - v.dispatched) as f64;
                    let a = self.config.smoothing;
                    st.lead_ticks = (1.0 - a) * st.lead_ticks + a * lead;
                }
                if st.lane.first() == Some(&robot)
                    && cell == st.face()
                    && st.presenting_since.is_none()
                {
                    st.presenting_since = Some(now);
                    events.push(Event::Presented {
                        station: v.station,
                        robot,
                        pod: v.pod,
                    });
                }
            }
            Job::Return { pod, slot } => {
                if cell != *slot {
                    return;
                }
                let (pod, slot) = (*pod, *slot);
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slots[k] = Slot::Pod(pod);
                let p = &mut self.pods[pod.0 as usize];
                p.loc = PodLoc::Slot(slot);
                p.home = slot;
                p.busy = false;
                self.robots[r].carrying = None;
                self.robots[r].job = Job::None;
                self.robots[r].hold_until = now + self.config.drop_ticks as u64;
                events.push(Event::PodStored { pod, slot });
                // The pod may serve queued lines again (without this, a task waiting for it
                // could stay queued with every robot parked).
                self.dirty = true;
            }
            Job::Transport { task, errand } => {
                let (task, e) = (*task, *errand);
                let TaskKind::Transport { errands } = &self.tasks[task.0 as usize].kind else {
                    return;
                };
                let stop = errands[e];
                let last = errands.len();
                if cell != stop.cell {
                    return;
                }
                let hold = match stop.action {
                    ErrandAction::Visit => 0,
                    ErrandAction::Lift => self.config.lift_ticks,
                    ErrandAction::Drop => self.config.drop_ticks,
                    ErrandAction::Dwell(k) => k,
                };
                self.robots[r].hold_until = now + hold as u64;
                if e + 1 == last {
                    self.tasks[task.0 as usize].state = TaskState::Done {
                        at: now + hold as u64,
                    };
                    self.robots[r].job = Job::None;
                    events.push(Event::Done { task });
                    self.dirty = true;
                } else {
                    self.robots[r].job = Job::Transport {
                        task,
                        errand: e + 1,
                    };
                    self.tasks[task.0 as usize].state = TaskState::InProgress {
                        robot,
                        errand: e + 1,
                    };
                }
            }
            Job::Charge { task, charger, .. } => {
                let (task, charger) = (*task, *charger);
                let full = self.config.battery.as_ref().map_or(1.0, |b| b.full);
                if cell == self.chargers[charger] {
                    if self.robots[r].battery >= full {
                        self.charger_owner[charger] = None;
                        self.robots[r].job = Job::None;
                        self.finish_internal(task);
                        self.dirty = true;
                    } else if let TaskState::Assigned { .. } = self.tasks[task.0 as usize].state {
                        self.tasks[task.0 as usize].state =
                            TaskState::InProgress { robot, errand: 0 };
                    }
                }
            }
            Job::Park { task, cell: park } => {
                if cell == *park {
                    let task = *task;
                    self.finish_internal(task);
                }
            }
        }
    }

    /// Idle robots off park cells take the nearest free one.
    pub(super) fn park_idle(&mut self, costs: &mut dyn Costs) {
        for robot in 0..self.robots.len() as u32 {
            let r = &self.robots[robot as usize];
            if !r.in_service || r.hold_until > self.now || !matches!(r.job, Job::None) {
                continue;
            }
            if matches!(self.grid.kind(r.cell), CellKind::Park | CellKind::Charger) {
                continue;
            }
            let from = r.cell;
            let best = (0..self.park.len())
                .filter(|&k| self.park_owner[k].is_none())
                .map(|k| (costs.cost(from, self.park[k]), k))
                .filter(|(d, _)| *d != UNREACHABLE)
                .min();
            let Some((_, k)) = best else {
                return;
            };
            self.park_owner[k] = Some(robot);
            let cell = self.park[k];
            let task = self.push_task(TaskKind::Park { cell }, 0, None);
            self.tasks[task.0 as usize].state = TaskState::Assigned { robot };
            self.robots[robot as usize].job = Job::Park { task, cell };
        }
    }
}
