//! What robots report beyond their positions: capabilities, failed lifts and drops, robots
//! leaving service, adopted loads, closed cells and unreachable goals.

use super::*;

impl Allocator {
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
}
