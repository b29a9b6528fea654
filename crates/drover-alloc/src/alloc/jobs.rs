//! Robots' jobs: what each robot is doing, where it goes next and what it does there, whether
//! it is free for work, and how jobs end.

use super::*;

/// The action a robot runs on reaching its goal (see [`Allocator::goal_action`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalAction {
    /// Lift a pod (`None`: a load that is not a pod, such as a tote cart).
    Lift(Option<PodId>),
    /// Set a load down.
    Drop(Option<PodId>),
    /// Charge.
    Charge,
}

/// What a robot is doing, for the KPI time split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Activity {
    /// Taken out of service.
    OutOfService,
    /// No job.
    Idle,
    /// Resting on a park cell (or driving there).
    Parked,
    /// Driving empty to a pod.
    ToPod,
    /// Lifting or setting down a pod.
    Lifting,
    /// Carrying a pod to a station.
    ToStation,
    /// In a station's queue lane.
    Queueing,
    /// At the face while the associate works.
    Presenting,
    /// Carrying a pod back to storage.
    Returning,
    /// On a transport task.
    Transport,
    /// Driving to a charger.
    ToCharger,
    /// On a charger.
    Charging,
}

/// What a robot can do, from the actions its factsheet lists. Unknown (no factsheet): all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Lifts and sets down pods and carts (`pick` and `drop`): every task's work.
    pub lift: bool,
    /// Charges on a charger (`startCharging`).
    pub charge: bool,
}

impl Capabilities {
    /// Everything (a robot without a factsheet).
    pub const ALL: Capabilities = Capabilities {
        lift: true,
        charge: true,
    };
}

pub(super) struct Robot {
    pub(super) in_service: bool,
    pub(super) job: Job,
    pub(super) carrying: Option<PodId>,
    /// Busy acting (lift, drop, dwell) until this tick.
    pub(super) hold_until: u64,
    pub(super) cell: Cell,
    pub(super) battery: f64,
    /// An operator asked for a charge: the robot goes to a charger once it is free.
    pub(super) charge_requested: bool,
    /// What the robot can do (its factsheet's actions).
    pub(super) can: Capabilities,
}

pub(super) enum Job {
    None,
    Visit(Visit),
    Return {
        pod: PodId,
        slot: Cell,
    },
    Transport {
        task: TaskId,
        errand: usize,
    },
    /// `opportunistic`: charging while idle above the "go charge" level; such a robot may
    /// leave for work at any time above that level.
    Charge {
        task: TaskId,
        charger: usize,
        opportunistic: bool,
    },
    Park {
        task: TaskId,
        cell: Cell,
    },
}

pub(super) struct Visit {
    pub(super) station: StationId,
    pub(super) pod: PodId,
    pub(super) tasks: Vec<TaskId>,
    pub(super) lifted: bool,
    pub(super) dispatched: u64,
    pub(super) in_lane: bool,
}

impl Allocator {
    /// Number of robots.
    pub fn n_robots(&self) -> usize {
        self.robots.len()
    }

    /// Whether a robot is in service.
    pub fn in_service(&self, robot: u32) -> bool {
        self.robots[robot as usize].in_service
    }

    /// The pod a robot carries.
    pub fn carrying(&self, robot: u32) -> Option<PodId> {
        self.robots[robot as usize].carrying
    }

    /// Whether a robot carries something: a pod, or a transport's load between its lift and
    /// its drop. A loaded robot may not pass under stored pods.
    pub fn loaded(&self, robot: u32) -> bool {
        let r = &self.robots[robot as usize];
        if r.carrying.is_some() {
            return true;
        }
        let Job::Transport { task, errand } = r.job else {
            return false;
        };
        let TaskKind::Transport { errands } = &self.tasks[task.0 as usize].kind else {
            return false;
        };
        let done = &errands[..errand.min(errands.len())];
        let count = |a: ErrandAction| done.iter().filter(|e| e.action == a).count();
        count(ErrandAction::Lift) > count(ErrandAction::Drop)
    }

    /// Client tasks a robot holds (several order lines when pods are piled on).
    pub fn robot_tasks(&self, robot: u32) -> Vec<TaskId> {
        match &self.robots[robot as usize].job {
            Job::Visit(v) => v.tasks.clone(),
            Job::Transport { task, .. } => vec![*task],
            _ => Vec::new(),
        }
    }

    /// Robots that could take work now (idle, parked, or charging above the working level).
    pub fn free_robots(&self) -> Vec<u32> {
        (0..self.robots.len() as u32)
            .filter(|&r| self.free_for_work(r).is_some())
            .collect()
    }

    /// The robot's cell as of the last tick.
    pub fn robot_cell(&self, robot: u32) -> Cell {
        self.robots[robot as usize].cell
    }

    /// Whether the robot has any job (client or internal).
    pub fn has_job(&self, robot: u32) -> bool {
        !matches!(self.robots[robot as usize].job, Job::None)
    }

    /// The storage slot a returning robot is heading for.
    pub fn return_slot(&self, robot: u32) -> Option<Cell> {
        match self.robots[robot as usize].job {
            Job::Return { slot, .. } => Some(slot),
            _ => None,
        }
    }

    /// What the robot must do on reaching its current goal, for robot orders: lift the
    /// pod it is sent to, set down the pod it carries, run a transport errand's action, or
    /// charge. `None` for plain moves (queue lanes, the face, parking).
    pub fn goal_action(&self, robot: u32) -> Option<GoalAction> {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return None;
        }
        match &r.job {
            Job::Visit(v) if !v.lifted => Some(GoalAction::Lift(Some(v.pod))),
            Job::Return { pod, .. } => Some(GoalAction::Drop(Some(*pod))),
            Job::Transport { task, errand } => match &self.tasks[task.0 as usize].kind {
                TaskKind::Transport { errands } => match errands.get(*errand)?.action {
                    ErrandAction::Lift => Some(GoalAction::Lift(None)),
                    ErrandAction::Drop => Some(GoalAction::Drop(None)),
                    ErrandAction::Visit | ErrandAction::Dwell(_) => None,
                },
                _ => None,
            },
            Job::Charge { .. } => Some(GoalAction::Charge),
            _ => None,
        }
    }

    /// What a robot is doing (call after [`Allocator::tick`]).
    pub fn activity(&self, robot: u32) -> Activity {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return Activity::OutOfService;
        }
        if r.hold_until > self.now && matches!(r.job, Job::Visit(_) | Job::None) {
            return Activity::Lifting;
        }
        match &r.job {
            Job::None => Activity::Idle,
            Job::Park { .. } => Activity::Parked,
            Job::Visit(v) if !v.lifted => Activity::ToPod,
            Job::Visit(v) => {
                let st = &self.stations[v.station.0 as usize];
                if st.lane.first() == Some(&robot) && st.presenting_since.is_some() {
                    Activity::Presenting
                } else if v.in_lane {
                    Activity::Queueing
                } else {
                    Activity::ToStation
                }
            }
            Job::Return { .. } => Activity::Returning,
            Job::Transport { .. } => Activity::Transport,
            Job::Charge { charger, .. } => {
                if r.cell == self.chargers[*charger] {
                    Activity::Charging
                } else {
                    Activity::ToCharger
                }
            }
        }
    }

    pub(super) fn goal(&self, robot: u32) -> Option<Cell> {
        let r = &self.robots[robot as usize];
        if !r.in_service {
            return None;
        }
        match &r.job {
            Job::None => None,
            Job::Visit(v) if !v.lifted => match self.pods[v.pod.0 as usize].loc {
                PodLoc::Slot(c) => Some(c),
                _ => None,
            },
            Job::Visit(v) => {
                let st = &self.stations[v.station.0 as usize];
                let n = st.path.len();
                let k = match st.lane.iter().position(|&x| x == robot) {
                    Some(k) => k,
                    None => st.lane.len(),
                };
                Some(st.path[n - 1 - k.min(n - 1)])
            }
            Job::Return { slot, .. } => Some(*slot),
            Job::Transport { task, errand } => match &self.tasks[task.0 as usize].kind {
                TaskKind::Transport { errands } => Some(errands[*errand].cell),
                _ => None,
            },
            Job::Charge { charger, .. } => Some(self.chargers[*charger]),
            Job::Park { cell, .. } => Some(*cell),
        }
    }

    /// Whether a robot may take work now, and the extra cost of taking it (off a charger).
    pub(super) fn free_for_work(&self, robot: u32) -> Option<u32> {
        let r = &self.robots[robot as usize];
        if !r.in_service || !r.can.lift || r.hold_until > self.now || r.carrying.is_some() {
            return None;
        }
        match (&r.job, &self.config.battery) {
            (Job::None | Job::Park { .. }, None) => Some(0),
            (Job::None | Job::Park { .. }, Some(b)) => (r.battery >= b.go_charge).then_some(0),
            (
                Job::Charge {
                    opportunistic: true,
                    ..
                },
                Some(b),
            ) => (r.battery >= b.go_charge).then_some(20),
            (Job::Charge { .. }, Some(b)) => (r.battery >= b.may_work).then_some(20),
            _ => None,
        }
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

    /// Ends a park or charge job so the robot can take other work.
    pub(super) fn release_internal(&mut self, robot: u32) {
        match std::mem::replace(&mut self.robots[robot as usize].job, Job::None) {
            Job::Park { task, cell } => {
                self.free_park(cell);
                self.finish_internal(task);
            }
            Job::Charge { task, charger, .. } => {
                self.charger_owner[charger] = None;
                self.finish_internal(task);
            }
            other => self.robots[robot as usize].job = other,
        }
    }

    pub(super) fn finish_internal(&mut self, task: TaskId) {
        let t = &mut self.tasks[task.0 as usize];
        if !t.state.is_final() {
            t.state = TaskState::Done { at: self.now };
        }
    }

    pub(super) fn free_park(&mut self, cell: Cell) {
        if let Some(k) = self.park.iter().position(|&p| p == cell) {
            self.park_owner[k] = None;
        }
    }
}
