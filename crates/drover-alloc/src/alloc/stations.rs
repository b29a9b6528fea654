//! Stations: associates, the queue lane, the pod at the face and its release, and the pace
//! (pods in the pipeline) each station is kept at.

use super::*;

/// The pod at a station's face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// Robot holding it.
    pub robot: u32,
    /// The pod.
    pub pod: PodId,
    /// Units the associate handles (sum over the lines served).
    pub units: u32,
    /// Tick the presentation began.
    pub since: u64,
}

pub(super) struct StationState {
    pub(super) kind: StationKind,
    /// Queue cells then the face.
    pub(super) path: Vec<Cell>,
    pub(super) capacity: usize,
    pub(super) staffed: Option<String>,
    /// Robots sent here whose pod has not been released yet.
    pub(super) tickets: Vec<u32>,
    /// Robots physically in the lane, in arrival order.
    pub(super) lane: Vec<u32>,
    pub(super) presenting_since: Option<u64>,
    pub(super) service_ticks: f64,
    pub(super) lead_ticks: f64,
    /// Units of the tasks done here (picked or stowed: the associate released the pod).
    pub(super) units_done: u64,
}

impl StationState {
    pub(super) fn face(&self) -> Cell {
        *self.path.last().expect("a station has a face")
    }

    /// Pods wanted in the pipeline: Little's law on the observed pace (pods in flight cover
    /// the lead time), plus the pod at the face and one queued behind it so the face never
    /// waits for the next robot to drive in; within capacity.
    pub(super) fn target(&self) -> usize {
        let cover = (self.lead_ticks / self.service_ticks.max(1.0)).ceil() as usize + 2;
        cover.clamp(1, self.capacity)
    }
}

impl Allocator {
    /// Number of stations.
    pub fn n_stations(&self) -> usize {
        self.stations.len()
    }

    /// A station's name.
    pub fn station_name(&self, s: StationId) -> &str {
        &self.station_names[s.0 as usize]
    }

    /// A station's kind.
    pub fn station_kind(&self, s: StationId) -> StationKind {
        self.stations[s.0 as usize].kind
    }

    /// The associate at a station, if staffed.
    pub fn staffed(&self, s: StationId) -> Option<&str> {
        self.stations[s.0 as usize].staffed.as_deref()
    }

    /// Robots sent to a station whose pod is not released yet (never above capacity).
    pub fn station_load(&self, s: StationId) -> (usize, usize) {
        let st = &self.stations[s.0 as usize];
        (st.tickets.len(), st.capacity)
    }

    /// Robots physically in the station's lane, face included.
    pub fn station_queue(&self, s: StationId) -> usize {
        self.stations[s.0 as usize].lane.len()
    }

    /// The first robot in the station's lane (the next to present), if any.
    pub fn lane_head(&self, s: StationId) -> Option<u32> {
        self.stations[s.0 as usize].lane.first().copied()
    }

    /// The pacing target (pods in the pipeline) a station has now.
    pub fn station_target(&self, s: StationId) -> usize {
        self.stations[s.0 as usize].target()
    }

    /// The pod at the face, once its robot stands there.
    pub fn presented(&self, s: StationId) -> Option<Presented> {
        let st = &self.stations[s.0 as usize];
        let since = st.presenting_since?;
        let robot = *st.lane.first()?;
        let Job::Visit(v) = &self.robots[robot as usize].job else {
            return None;
        };
        let units = v
            .tasks
            .iter()
            .map(|t| match &self.tasks[t.0 as usize].kind {
                TaskKind::Pick { units, .. } | TaskKind::Stow { units, .. } => *units,
                _ => 0,
            })
            .sum();
        Some(Presented {
            robot,
            pod: v.pod,
            units,
            since,
        })
    }

    /// Units picked (pick station) or stowed (stow station) here so far: the units of the
    /// tasks whose pod the associate released.
    pub fn units_done(&self, s: StationId) -> u64 {
        self.stations[s.0 as usize].units_done
    }

    /// Whether station `s` has work: robots on their way or queued for it, or queued tasks
    /// it could serve (aimed at it, or at any station of its kind). A staffed station with
    /// work and no pod at its face starves; without work it merely waits.
    pub fn has_work(&self, s: StationId) -> bool {
        let st = &self.stations[s.0 as usize];
        if !st.tickets.is_empty() {
            return true;
        }
        self.queued_tasks().any(|t| match &t.kind {
            TaskKind::Pick { station, .. } => {
                st.kind == StationKind::Pick && station.is_none_or(|x| x == s)
            }
            TaskKind::Stow { station, .. } => {
                st.kind == StationKind::Stow && station.is_none_or(|x| x == s)
            }
            _ => false,
        })
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

    pub(super) fn drop_ticket(&mut self, s: StationId, robot: u32) {
        let st = &mut self.stations[s.0 as usize];
        st.tickets.retain(|&r| r != robot);
        if st.lane.first() == Some(&robot) {
            st.presenting_since = None;
        }
        st.lane.retain(|&r| r != robot);
    }
}

fn station_of(kind: &TaskKind) -> Option<StationId> {
    match kind {
        TaskKind::Pick { station, .. } | TaskKind::Stow { station, .. } => *station,
        _ => None,
    }
}
