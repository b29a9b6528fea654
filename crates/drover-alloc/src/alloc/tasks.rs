//! Client operations on the allocator: submitting and cancelling tasks, staffing stations,
//! releasing presented pods, charge requests.

use super::*;

impl Allocator {
    /// Accepts a client task, or says why not (and stores nothing).
    pub fn submit(
        &mut self,
        kind: TaskKind,
        priority: i32,
        deadline: Option<u64>,
    ) -> Result<TaskId, AllocError> {
        let wanted = |k: &TaskKind| match k {
            TaskKind::Pick { .. } => StationKind::Pick,
            _ => StationKind::Stow,
        };
        match &kind {
            TaskKind::Pick {
                pod,
                station,
                units,
            }
            | TaskKind::Stow {
                pod,
                station,
                units,
            } => {
                if *units == 0 {
                    return Err(AllocError::NoUnits);
                }
                let want = wanted(&kind);
                match pod {
                    PodSel::Pod(p) if p.0 as usize >= self.pods.len() => {
                        return Err(AllocError::UnknownPod(*p));
                    }
                    PodSel::Sku(s) if s.0 as usize >= self.skus.len() => {
                        return Err(AllocError::UnknownSku(*s));
                    }
                    _ => {}
                }
                match station {
                    Some(s) if s.0 as usize >= self.stations.len() => {
                        return Err(AllocError::UnknownStation(*s));
                    }
                    Some(s) if self.stations[s.0 as usize].kind != want => {
                        return Err(AllocError::WrongStationKind {
                            station: *s,
                            actual: self.stations[s.0 as usize].kind.name(),
                            wanted: want.name(),
                        });
                    }
                    None if !self.stations.iter().any(|s| s.kind == want) => {
                        return Err(AllocError::NoStationOfKind(want.name()));
                    }
                    _ => {}
                }
            }
            TaskKind::Transport { errands } => {
                if errands.is_empty() {
                    return Err(AllocError::NoErrands);
                }
                for (index, e) in errands.iter().enumerate() {
                    if !self.grid.contains(e.cell) || !self.grid.is_free(e.cell) {
                        return Err(AllocError::BadErrand {
                            index,
                            cell: e.cell,
                        });
                    }
                }
            }
            TaskKind::Charge { .. } | TaskKind::Park { .. } => {
                return Err(AllocError::SubmitInternal);
            }
        }
        let id = self.push_task(kind, priority, deadline);
        self.enqueue(id);
        Ok(id)
    }

    pub(super) fn push_task(
        &mut self,
        kind: TaskKind,
        priority: i32,
        deadline: Option<u64>,
    ) -> TaskId {
        let id = TaskId(self.tasks.len() as u64);
        self.legs.push(None);
        self.tasks.push(Task {
            id,
            kind,
            priority,
            deadline,
            state: TaskState::Queued,
            created: self.now,
            resume_at: 0,
            failures: 0,
        });
        id
    }

    pub(super) fn enqueue(&mut self, id: TaskId) {
        let t = &mut self.tasks[id.0 as usize];
        t.state = TaskState::Queued;
        self.queue.insert(queue_key(t));
        if let Some(sku) = pick_sku(&t.kind) {
            self.queued_lines[sku.0 as usize] += 1;
        }
        self.dirty = true;
    }

    /// Takes a task off the queue (it stays in the table).
    pub(super) fn dequeue(&mut self, id: TaskId) {
        let t = &self.tasks[id.0 as usize];
        if self.queue.remove(&queue_key(t))
            && let Some(sku) = pick_sku(&t.kind)
        {
            self.queued_lines[sku.0 as usize] -= 1;
        }
    }

    /// Withdraws a task. A queued task is cancelled at once; one under way is detached from
    /// its robot (a carried pod goes back to storage). Final tasks cannot be cancelled.
    pub fn cancel(&mut self, id: TaskId) -> Result<(), AllocError> {
        let Some(task) = self.tasks.get(id.0 as usize) else {
            return Err(AllocError::UnknownTask(id));
        };
        if task.kind.is_internal() {
            return Err(AllocError::CancelInternal(id));
        }
        match task.state.clone() {
            TaskState::Queued => {
                self.dequeue(id);
                self.tasks[id.0 as usize].state = TaskState::Cancelled;
                Ok(())
            }
            TaskState::Assigned { robot } | TaskState::InProgress { robot, .. } => {
                let r = robot as usize;
                match &mut self.robots[r].job {
                    Job::Visit(v) => {
                        v.tasks.retain(|t| *t != id);
                        if v.tasks.is_empty() {
                            self.abandon_visit(robot);
                        }
                    }
                    Job::Transport { .. } => self.robots[r].job = Job::None,
                    _ => {}
                }
                self.tasks[id.0 as usize].state = TaskState::Cancelled;
                self.dirty = true;
                Ok(())
            }
            state => Err(AllocError::AlreadyFinal { task: id, state }),
        }
    }

    /// An associate takes a station.
    pub fn staff(&mut self, s: StationId, associate: &str) {
        self.stations[s.0 as usize].staffed = Some(associate.to_string());
        self.dirty = true;
    }

    /// The associate leaves: robots on the way are redirected to another station of the
    /// kind with room, or their pods go back to storage and their tasks back to the queue.
    pub fn unstaff(&mut self, s: StationId) -> Vec<Event> {
        let mut events = Vec::new();
        self.stations[s.0 as usize].staffed = None;
        self.dirty = true;
        let tickets = self.stations[s.0 as usize].tickets.clone();
        for robot in tickets {
            let Job::Visit(v) = &self.robots[robot as usize].job else {
                continue;
            };
            let fixed = v
                .tasks
                .iter()
                .any(|t| station_of(&self.tasks[t.0 as usize].kind).is_some());
            let kind = self.stations[s.0 as usize].kind;
            let other = (!fixed)
                .then(|| {
                    (0..self.stations.len()).find(|&k| {
                        let st = &self.stations[k];
                        k != s.0 as usize
                            && st.kind == kind
                            && st.staffed.is_some()
                            && st.tickets.len() < st.target()
                    })
                })
                .flatten();
            self.drop_ticket(s, robot);
            match other {
                Some(k) => {
                    if let Job::Visit(v) = &mut self.robots[robot as usize].job {
                        v.station = StationId(k as u16);
                        v.in_lane = false;
                    }
                    self.stations[k].tickets.push(robot);
                }
                None => {
                    let tasks = match &self.robots[robot as usize].job {
                        Job::Visit(v) => v.tasks.clone(),
                        _ => Vec::new(),
                    };
                    for t in tasks {
                        self.enqueue(t);
                        events.push(Event::Requeued { task: t });
                    }
                    if let Job::Visit(v) = &mut self.robots[robot as usize].job {
                        v.tasks.clear();
                    }
                    self.abandon_visit(robot);
                }
            }
        }
        events
    }

    pub(super) fn drop_ticket(&mut self, s: StationId, robot: u32) {
        let st = &mut self.stations[s.0 as usize];
        st.tickets.retain(|&r| r != robot);
        if st.lane.first() == Some(&robot) {
            st.presenting_since = None;
        }
        st.lane.retain(|&r| r != robot);
    }

    /// Ends a visit whose tasks are gone: an unlifted pod is freed, a lifted one returns.
    pub(super) fn abandon_visit(&mut self, robot: u32) {
        let r = robot as usize;
        let Job::Visit(v) = std::mem::replace(&mut self.robots[r].job, Job::None) else {
            return;
        };
        self.drop_ticket(v.station, robot);
        if v.lifted {
            let cell = self.robots[r].cell;
            let slot = self.choose_slot(v.pod, cell);
            self.robots[r].job = Job::Return { pod: v.pod, slot };
        } else {
            self.pods[v.pod.0 as usize].busy = false;
        }
        self.dirty = true;
    }

    /// The associate is done with the presented pod: its lines are done, the pod goes back.
    pub fn release(&mut self, s: StationId, now: u64) -> Result<Vec<Event>, AllocError> {
        let Some(p) = self.presented(s) else {
            return Err(AllocError::NothingPresented {
                station: s,
                name: self.station_names[s.0 as usize].clone(),
            });
        };
        let mut events = Vec::new();
        let robot = p.robot;
        let Job::Visit(v) = std::mem::replace(&mut self.robots[robot as usize].job, Job::None)
        else {
            unreachable!("presented() checked the job");
        };
        let alpha = self.config.smoothing;
        let st = &mut self.stations[s.0 as usize];
        let served = (now - p.since).max(1) as f64;
        st.service_ticks = (1.0 - alpha) * st.service_ticks + alpha * served;
        for t in &v.tasks {
            let task = &mut self.tasks[t.0 as usize];
            let pod = &mut self.pods[v.pod.0 as usize];
            if let TaskKind::Pick { units, .. } | TaskKind::Stow { units, .. } = &task.kind {
                self.stations[s.0 as usize].units_done += u64::from(*units);
            }
            match &task.kind {
                TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } => {
                    let left = pod.contents.entry(*sku).or_insert(0);
                    *left = left.saturating_sub(*units);
                }
                TaskKind::Stow {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } => {
                    let had = pod.contents.get(sku).copied().unwrap_or(0);
                    *pod.contents.entry(*sku).or_insert(0) += units;
                    if had == 0 {
                        self.sku_pods[sku.0 as usize].push(v.pod);
                    }
                }
                _ => {}
            }
            task.state = TaskState::Done { at: now };
            events.push(Event::Done { task: *t });
        }
        let pod = &mut self.pods[v.pod.0 as usize];
        pod.contents.retain(|_, q| *q > 0);
        pod.demand = decayed(pod.demand, pod.demand_at, now, self.config.demand_half_life) + 1.0;
        pod.demand_at = now;
        self.drop_ticket(s, robot);
        let cell = self.robots[robot as usize].cell;
        let slot = self.choose_slot(v.pod, cell);
        self.robots[robot as usize].job = Job::Return { pod: v.pod, slot };
        self.dirty = true;
        Ok(events)
    }

    /// An operator sends a robot to charge: it goes to a free charger as soon as it has no
    /// client work (a task under way is finished first).
    pub fn request_charge(&mut self, robot: u32) -> Result<(), AllocError> {
        if self.config.battery.is_none() {
            return Err(AllocError::BatteryOff);
        }
        if self.chargers.is_empty() {
            return Err(AllocError::NoChargers);
        }
        let r = self
            .robots
            .get_mut(robot as usize)
            .ok_or(AllocError::UnknownRobot(robot))?;
        r.charge_requested = true;
        self.dirty = true;
        Ok(())
    }
}
