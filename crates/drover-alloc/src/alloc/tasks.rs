//! The task table and its queue: submitting, cancelling and reading tasks, in the order they
//! will be served.

use super::*;

impl Allocator {
    /// All tasks, indexed by id.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    /// One task.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.get(id.0 as usize)
    }

    /// Number of queued client tasks.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Queued client tasks in the order they will be served.
    pub fn queued_tasks(&self) -> impl Iterator<Item = &Task> {
        self.queue.iter().map(|k| &self.tasks[k.2.0 as usize])
    }

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
}

fn queue_key(t: &Task) -> (Reverse<i32>, u64, TaskId) {
    (Reverse(t.priority), t.deadline.unwrap_or(u64::MAX), t.id)
}

fn pick_sku(kind: &TaskKind) -> Option<SkuId> {
    match kind {
        TaskKind::Pick {
            pod: PodSel::Sku(sku),
            ..
        } => Some(*sku),
        _ => None,
    }
}
