//! What robots and pods report beyond their positions: inventory imports, capabilities, failed
//! lifts and drops, robots leaving service, adopted loads, closed cells, unreachable goals, and
//! the slots pods return to.

use super::*;

impl Allocator {
    /// Replaces a pod's contents (an inventory import): SKU name -> units. Refused for a pod
    /// out of its slot or held by a task (on its way to, at, or back from a station): that
    /// visit is about to change its contents.
    pub fn set_pod_contents(
        &mut self,
        pod: PodId,
        contents: &[(String, u32)],
    ) -> Result<(), AllocError> {
        self.may_import(pod)?;
        let mut new = BTreeMap::new();
        for (name, units) in contents.iter().filter(|c| c.1 > 0) {
            let sku = self.intern(name);
            *new.entry(sku).or_insert(0) += units;
            if !self.sku_pods[sku.0 as usize].contains(&pod) {
                self.sku_pods[sku.0 as usize].push(pod);
            }
        }
        self.pods[pod.0 as usize].contents = new;
        self.dirty = true;
        Ok(())
    }

    /// Whether [`Allocator::set_pod_contents`] would take new contents for `pod` now.
    pub fn may_import(&self, pod: PodId) -> Result<(), AllocError> {
        let p = self
            .pods
            .get(pod.0 as usize)
            .ok_or(AllocError::UnknownPod(pod))?;
        if p.busy || !matches!(p.loc, PodLoc::Slot(_)) {
            return Err(AllocError::PodOnTheMove {
                pod,
                name: self.pod_ids[pod.0 as usize].clone(),
            });
        }
        Ok(())
    }

    /// A pod's contents, SKU -> units, for the store.
    pub fn pod_contents(&self, pod: PodId) -> Vec<(SkuId, u32)> {
        self.pods[pod.0 as usize]
            .contents
            .iter()
            .map(|(s, q)| (*s, *q))
            .collect()
    }

    /// What robot `robot` can do (read from its factsheet): a robot that cannot lift gets no
    /// task (every job lifts a pod or a cart), one that cannot charge is never sent to a
    /// charger. Jobs it holds now are finished.
    pub fn set_capabilities(&mut self, robot: u32, can: Capabilities) {
        self.robots[robot as usize].can = can;
    }

    /// What robot `robot` can do.
    pub fn capabilities(&self, robot: u32) -> Capabilities {
        self.robots[robot as usize].can
    }

    /// The robot reports that lifting the pod of its station visit at `slot` failed, and does
    /// not carry it (its `loads` say so): the pod stands in that slot (again, if the
    /// allocator had taken it for lifted), the visit is given up, and each of its tasks goes
    /// back to the queue, or fails with `reason` once it has failed more than `retries`
    /// times. Returns what changed; nothing if the robot is on no station visit.
    pub fn lift_failed(
        &mut self,
        robot: u32,
        slot: Cell,
        reason: &str,
        retries: u32,
    ) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        let Job::Visit(v) = &self.robots[r].job else {
            return events;
        };
        let (pod, lifted) = (v.pod, v.lifted);
        if lifted {
            // The allocator took the pod for lifted when the robot reached its slot.
            let Some(&k) = self.slot_of_cell.get(slot.index()) else {
                return events;
            };
            if self.robots[r].carrying != Some(pod)
                || matches!(self.slots.get(k as usize), None | Some(Slot::Pod(_)))
            {
                // Not a slot, or another pod stands there: the report does not fit.
                return events;
            }
            if let Slot::Reserved(other) = self.slots[k as usize] {
                // A returning pod was sent to this slot meanwhile: it gets another.
                self.slots[k as usize] = Slot::Pod(pod);
                for o in 0..self.robots.len() {
                    if let Job::Return { pod: p, slot: s } = self.robots[o].job
                        && p == other
                        && s == slot
                    {
                        let from = self.robots[o].cell;
                        let new = self.choose_slot(other, from);
                        self.robots[o].job = Job::Return {
                            pod: other,
                            slot: new,
                        };
                    }
                }
            }
            self.slots[k as usize] = Slot::Pod(pod);
            self.pods[pod.0 as usize].loc = PodLoc::Slot(slot);
            self.robots[r].carrying = None;
        }
        let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
            unreachable!("checked above");
        };
        self.pods[pod.0 as usize].busy = false;
        self.drop_ticket(v.station, robot);
        for t in &v.tasks {
            let task = &mut self.tasks[t.0 as usize];
            task.failures += 1;
            if task.failures > retries {
                task.state = TaskState::Failed {
                    reason: format!("{reason} (tried {} times)", task.failures),
                };
            } else {
                self.enqueue(*t);
                events.push(Event::Requeued { task: *t });
            }
        }
        self.dirty = true;
        events
    }

    /// The robot reports that setting down `pod` at `at` failed and still carries it: it
    /// takes the pod to another slot (the one it was sent to is freed). Nothing if the allocator has
    /// the pod elsewhere than in a slot or on this robot.
    pub fn drop_failed(&mut self, robot: u32, pod: PodId, at: Cell) -> Vec<Event> {
        let r = robot as usize;
        if let PodLoc::Slot(slot) = self.pods[pod.0 as usize].loc {
            let k = self.slot_of_cell[slot.index()] as usize;
            if self.slots[k] == Slot::Pod(pod) {
                self.slots[k] = Slot::Empty;
            }
        } else if self.pods[pod.0 as usize].loc != PodLoc::Robot(robot) {
            return Vec::new();
        }
        if let Job::Return { slot, .. } = self.robots[r].job {
            self.unreserve(slot);
        }
        self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
        self.robots[r].carrying = Some(pod);
        // Another slot than the one it could not set the pod down in (`at`).
        let cell = self.robots[r].cell;
        let slot = self
            .choose_slot_where(pod, cell, &|c| c != at)
            .unwrap_or_else(|| self.choose_slot(pod, cell));
        self.robots[r].job = Job::Return { pod, slot };
        self.dirty = true;
        Vec::new()
    }

    /// Takes a robot out of service (fault, manual) or puts it back. Its tasks go back to the
    /// queue; a pod it carries is stranded where it stands and goes home when the robot
    /// returns. Nothing is lost and nothing is done twice.
    pub fn set_in_service(&mut self, robot: u32, in_service: bool) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        if self.robots[r].in_service == in_service {
            return events;
        }
        self.robots[r].in_service = in_service;
        self.dirty = true;
        if in_service {
            if let Some(pod) = self.robots[r].carrying {
                let cell = self.robots[r].cell;
                self.pods[pod.0 as usize].loc = PodLoc::Robot(robot);
                let slot = self.choose_slot(pod, cell);
                self.robots[r].job = Job::Return { pod, slot };
            }
            return events;
        }
        let cell = self.robots[r].cell;
        match std::mem::replace(&mut self.robots[r].job, Job::None) {
            Job::Visit(v) => self.requeue_visit(robot, &v, &mut events),
            Job::Return { slot, .. } => self.unreserve(slot),
            Job::Transport { task, errand } => {
                self.tasks[task.0 as usize].resume_at = errand;
                self.legs[task.0 as usize] = None;
                self.enqueue(task);
                events.push(Event::Requeued { task });
            }
            Job::Charge { task, charger, .. } => {
                self.charger_owner[charger] = None;
                self.tasks[task.0 as usize].state = TaskState::Cancelled;
            }
            Job::Park { task, cell } => {
                self.free_park(cell);
                self.finish_internal(task);
            }
            Job::None => {}
        }
        if let Some(pod) = self.robots[r].carrying {
            // Stays busy (no job may take it) until its robot brings it home.
            self.pods[pod.0 as usize].loc = PodLoc::Stranded(cell);
        }
        events
    }

    /// The pod called `name`.
    pub fn pod_by_name(&self, name: &str) -> Option<PodId> {
        self.pod_ids
            .iter()
            .position(|p| p == name)
            .map(|k| PodId(k as u32))
    }

    /// A robot reports carrying `pod` (it was lifted before a coordinator restart): the pod
    /// is taken off its recorded slot (or the floor) and the robot brings it to a slot.
    /// Refused for a robot that is busy or already carries a pod, and for a pod that is on a
    /// job or on another robot.
    pub fn adopt(&mut self, robot: u32, pod: PodId) -> Result<(), AllocError> {
        let r = robot as usize;
        if !self.robots[r].in_service || self.robots[r].carrying.is_some() {
            return Err(AllocError::RobotNotFree(robot));
        }
        if !matches!(
            self.robots[r].job,
            Job::None | Job::Park { .. } | Job::Charge { .. }
        ) {
            return Err(AllocError::RobotOnJob(robot));
        }
        let name = || self.pod_ids[pod.0 as usize].clone();
        let p = &self.pods[pod.0 as usize];
        if p.busy {
            return Err(AllocError::PodOnJob { pod, name: name() });
        }
        match p.loc {
            PodLoc::Slot(c) => {
                let k = self.slot_of_cell[c.index()] as usize;
                self.slots[k] = Slot::Empty;
            }
            PodLoc::Stranded(_) => {}
            PodLoc::Robot(other) => {
                return Err(AllocError::PodOnRobot {
                    pod,
                    name: name(),
                    robot: other,
                });
            }
        }
        self.release_internal(robot);
        let cell = self.robots[r].cell;
        let p = &mut self.pods[pod.0 as usize];
        p.loc = PodLoc::Robot(robot);
        p.busy = true;
        self.robots[r].carrying = Some(pod);
        let slot = self.choose_slot(pod, cell);
        self.robots[r].job = Job::Return { pod, slot };
        self.dirty = true;
        Ok(())
    }

    /// Blocked zones changed (`blocked` says which cells are in one). Slots in them take no
    /// returning pod. Pods, chargers and park cells in them are unreachable through the
    /// caller's distance tables, so no new job goes there; an in-service robot whose next goal
    /// lies in one gives its job up the way a robot leaving service does (its tasks go back to
    /// the queue, a carried pod goes home to a slot outside), and a returning pod gets another
    /// slot.
    pub fn avoid(&mut self, blocked: &dyn Fn(Cell) -> bool) -> Vec<Event> {
        for (k, &c) in self.storage_cells.iter().enumerate() {
            self.slot_blocked[k] = blocked(c);
        }
        self.dirty = true;
        let mut events = Vec::new();
        for robot in 0..self.robots.len() as u32 {
            let Some(goal) = self.goal(robot).filter(|&g| blocked(g)) else {
                continue;
            };
            let r = robot as usize;
            if let Job::Return { pod, slot } = self.robots[r].job {
                debug_assert_eq!(slot, goal);
                self.unreserve(slot);
                let cell = self.robots[r].cell;
                let slot = self.choose_slot(pod, cell);
                self.robots[r].job = Job::Return { pod, slot };
            } else {
                events.extend(self.set_in_service(robot, false));
                events.extend(self.set_in_service(robot, true));
            }
        }
        events
    }

    /// A robot taking a pod back cannot reach its slot (a dead robot or a zone closed the
    /// aisles a loaded robot needs): it gets another slot among those `reachable` accepts.
    /// Robots on any other job are left alone.
    pub fn reslot(&mut self, robot: u32, reachable: &dyn Fn(Cell) -> bool) {
        let r = robot as usize;
        let Some(Job::Return { pod, slot }) = self.robots.get(r).map(|r| &r.job) else {
            return;
        };
        let (pod, slot) = (*pod, *slot);
        let cell = self.robots[r].cell;
        // With no other reachable free slot it keeps its own and waits for a way to open.
        let Some(new) = self.choose_slot_where(pod, cell, &|c| c != slot && reachable(c)) else {
            return;
        };
        self.unreserve(slot);
        self.robots[r].job = Job::Return { pod, slot: new };
    }

    /// Robot `robot` cannot reach its goal (cells closed by a dead robot or a zone; `reachable`
    /// says where it can still go). A returning pod takes a slot it can reach
    /// ([`Allocator::reslot`]); a station visit is given up: its tasks are queued again
    /// (another robot, or this one later, serves them), and a pod it already carries goes
    /// back to a reachable slot. Other jobs wait for the way to open.
    pub fn goal_unreachable(&mut self, robot: u32, reachable: &dyn Fn(Cell) -> bool) -> Vec<Event> {
        let r = robot as usize;
        let mut events = Vec::new();
        match self.robots.get(r).map(|r| &r.job) {
            Some(Job::Return { .. }) => self.reslot(robot, reachable),
            Some(Job::Visit(_)) => {
                let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
                    unreachable!("matched a visit");
                };
                self.requeue_visit(robot, &v, &mut events);
                if v.lifted {
                    let cell = self.robots[r].cell;
                    let away = self.choose_slot_where(v.pod, cell, &|c| c != cell && reachable(c));
                    let slot = away.unwrap_or_else(|| self.set_down_boxed_in(v.pod, cell));
                    self.robots[r].job = Job::Return { pod: v.pod, slot };
                }
            }
            _ => {}
        }
        events
    }

    /// The slot a loaded robot boxed in at `cell` (it cannot leave the slot it lifted `pod`
    /// from) returns `pod` to: that slot, whose pods are then not chosen until cells open or
    /// close again ([`Allocator::avoid`]); if it stands elsewhere, any slot, re-chosen
    /// ([`Allocator::reslot`]) once a way opens.
    pub(super) fn set_down_boxed_in(&mut self, pod: PodId, cell: Cell) -> Cell {
        match self.choose_slot_where(pod, cell, &|c| c == cell) {
            Some(slot) => {
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slot_blocked[k] = true;
                slot
            }
            None => self.choose_slot(pod, cell),
        }
    }

    /// A visit `robot` no longer makes: its station ticket is dropped, its tasks queued
    /// again, and a pod not yet lifted is free for other jobs.
    pub(super) fn requeue_visit(&mut self, robot: u32, v: &Visit, events: &mut Vec<Event>) {
        self.drop_ticket(v.station, robot);
        for t in &v.tasks {
            self.enqueue(*t);
            events.push(Event::Requeued { task: *t });
        }
        if !v.lifted {
            self.pods[v.pod.0 as usize].busy = false;
        }
        self.dirty = true;
    }

    pub(super) fn unreserve(&mut self, slot: Cell) {
        let k = self.slot_of_cell[slot.index()] as usize;
        if let Slot::Reserved(_) = self.slots[k] {
            self.slots[k] = Slot::Empty;
        }
    }

    pub(super) fn free_park(&mut self, cell: Cell) {
        if let Some(k) = self.park.iter().position(|&p| p == cell) {
            self.park_owner[k] = None;
        }
    }

    pub(super) fn finish_internal(&mut self, task: TaskId) {
        let t = &mut self.tasks[task.0 as usize];
        if !t.state.is_final() {
            t.state = TaskState::Done { at: self.now };
        }
    }

    /// Picks and reserves the slot a pod goes back to: the free slot nearest to `from` (the
    /// station it leaves) among those no better ranked than half the pod's demand rank, so
    /// slow movers stay out of the slots nearest the stations.
    pub(super) fn choose_slot(&mut self, pod: PodId, from: Cell) -> Cell {
        self.choose_slot_where(pod, from, &|_| true)
            .unwrap_or_else(|| {
                // No free slot at all: the pod's own.
                let home = self.pods[pod.0 as usize].home;
                let k = self.slot_of_cell[home.index()] as usize;
                self.slots[k] = Slot::Reserved(pod);
                home
            })
    }

    /// [`Allocator::choose_slot`] among the free slots `ok` accepts; `None` (nothing
    /// reserved) when there is none.
    pub(super) fn choose_slot_where(
        &mut self,
        pod: PodId,
        from: Cell,
        ok: &dyn Fn(Cell) -> bool,
    ) -> Option<Cell> {
        let n = self.slots.len();
        let home = self.pods[pod.0 as usize].home;
        let home_k = self.slot_of_cell[home.index()] as usize;
        let pick = if !self.config.slotting && self.slots[home_k] == Slot::Empty && ok(home) {
            home_k
        } else {
            let now = self.now;
            let hl = self.config.demand_half_life;
            let mine = {
                let p = &self.pods[pod.0 as usize];
                decayed(p.demand, p.demand_at, now, hl)
            };
            let hotter = self
                .pods
                .iter()
                .filter(|p| decayed(p.demand, p.demand_at, now, hl) > mine)
                .count();
            let target = hotter.min(n.saturating_sub(1));
            // The slot nearest to where the pod is (the station it leaves), among the slots
            // no nearer the stations than half its demand rank: hot pods may take any slot,
            // slow movers are kept out of the best ones. A short return frees the robot
            // sooner, and pods in demand settle near the stations that ask for them.
            let empty = |k: usize| {
                self.slots[k] == Slot::Empty && !self.slot_blocked[k] && ok(self.storage_cells[k])
            };
            let steps = self.grid.steps_from(from, true, true);
            let nearest = |ranks: std::ops::Range<usize>| {
                ranks
                    .map(|rank| self.slots_by_rank[rank] as usize)
                    .filter(|&k| empty(k))
                    .min_by_key(|&k| {
                        let c = self.storage_cells[k];
                        (steps[c.index()], grid_manhattan(&self.grid, from, c), k)
                    })
            };
            nearest(target / 2..n).or_else(|| nearest(0..target / 2))?
        };
        self.slots[pick] = Slot::Reserved(pod);
        Some(self.storage_cells[pick])
    }
}
