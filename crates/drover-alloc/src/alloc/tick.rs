//! The allocator's tick: advancing jobs on arrivals, charging, assignment batches by demand,
//! parking, and each robot's goal.

use super::*;

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

    /// Idle robots below `level` take the nearest free charger. Opportunistic charging
    /// (idle robots below "may work" after allocation) leaves a tenth of the chargers free
    /// for robots that must charge, and staggers the fleet's charging over the shift.
    pub(super) fn send_to_chargers(
        &mut self,
        costs: &mut dyn Costs,
        events: &mut Vec<Event>,
        opportunistic: bool,
    ) {
        let Some(b) = self.config.battery.clone() else {
            return;
        };
        let level = if opportunistic {
            b.may_work
        } else {
            b.go_charge
        };
        let keep_free = if opportunistic {
            self.chargers.len().div_ceil(10)
        } else {
            0
        };
        let mut needy: Vec<u32> = (0..self.robots.len() as u32)
            .filter(|&r| {
                let robot = &self.robots[r as usize];
                robot.in_service
                    && robot.can.charge
                    && robot.hold_until <= self.now
                    && matches!(robot.job, Job::None | Job::Park { .. })
                    && (robot.battery < level || (robot.charge_requested && !opportunistic))
            })
            .collect();
        // The emptiest first: chargers are scarce.
        needy.sort_by(|&a, &c| {
            self.robots[a as usize]
                .battery
                .total_cmp(&self.robots[c as usize].battery)
        });
        for robot in needy {
            let free = self.charger_owner.iter().filter(|o| o.is_none()).count();
            if free <= keep_free {
                break;
            }
            let from = self.robots[robot as usize].cell;
            let best = (0..self.chargers.len())
                .filter(|&k| self.charger_owner[k].is_none())
                .map(|k| (costs.cost(from, self.chargers[k]), k))
                .filter(|(d, _)| *d != UNREACHABLE)
                .min();
            let Some((_, charger)) = best else {
                break;
            };
            self.release_internal(robot);
            self.robots[robot as usize].charge_requested = false;
            self.charger_owner[charger] = Some(robot);
            let task = self.push_task(TaskKind::Charge { charger }, 0, None);
            self.tasks[task.0 as usize].state = TaskState::Assigned { robot };
            self.robots[robot as usize].job = Job::Charge {
                task,
                charger,
                opportunistic,
            };
            events.push(Event::Assigned { task, robot });
        }
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

    /// Jobs for the free robots to choose from: transports first (a full tote cart holds up
    /// its station), then a pod for every place a station is short of its pacing target
    /// (most short first, one each per round), then, if that is fewer than the robots, pods
    /// up to capacity.
    pub(super) fn demands(&mut self, free: &[Cell], costs: &mut dyn Costs) -> Vec<Demand> {
        let limit = free.len();
        let mut out = Vec::new();
        let mut claimed: BTreeSet<TaskId> = BTreeSet::new();
        let mut pods_claimed: BTreeSet<PodId> = BTreeSet::new();
        let mut want: Vec<usize> = self
            .stations
            .iter()
            .map(|st| {
                if st.staffed.is_some() && st.kind != StationKind::Pack {
                    st.target().saturating_sub(st.tickets.len())
                } else {
                    0
                }
            })
            .collect();
        let transports: Vec<TaskId> = self
            .queue
            .iter()
            .map(|k| k.2)
            .filter(|t| matches!(self.tasks[t.0 as usize].kind, TaskKind::Transport { .. }))
            .take(limit.saturating_mul(self.config.transport_window))
            .collect();
        for t in transports {
            let task = &self.tasks[t.0 as usize];
            let TaskKind::Transport { errands } = &task.kind else {
                continue;
            };
            let rest = &errands[task.resume_at..];
            let need_legs = self.config.battery.is_some() || self.config.trip_weight > 0;
            let legs = match self.legs[t.0 as usize] {
                Some(l) => l,
                None if need_legs => {
                    let mut l = 0u32;
                    for w in rest.windows(2) {
                        l = l.saturating_add(costs.cost(w[0].cell, w[1].cell));
                    }
                    self.legs[t.0 as usize] = Some(l);
                    l
                }
                None => 0,
            };
            let last = rest.last().expect("resume_at < errands").cell;
            let cells = legs.saturating_add(self.to_charger(last));
            let lifts = rest
                .iter()
                .filter(|e| matches!(e.action, ErrandAction::Lift | ErrandAction::Drop))
                .count() as u32;
            out.push(Demand {
                tasks: vec![t],
                pod: None,
                station: None,
                first: rest[0].cell,
                rest_cells: cells,
                legs,
                lifts,
                slack: 0,
            });
        }
        // First up to each station's pacing target, every station short of it (not only as
        // many as there are free robots: the assignment then sends each robot to a station
        // it is near, where taking the neediest stations first sent robots freed in the
        // north to the south side and back); then, only if robots would otherwise stay
        // idle, up to capacity: a deeper queue costs nothing when robots are spare.
        let mut sent = vec![0usize; self.stations.len()];
        // Per pod: the empty trip from the nearest free robot, once computed.
        let mut fetched = vec![NOT_FETCHED; self.pods.len()];
        // Per pod: other queued lines it could serve (capped), once counted.
        let mut piled = vec![NOT_FETCHED; self.pods.len()];
        for pass in 0..2 {
            if pass == 1 && out.len() >= limit {
                break;
            }
            let cap = if pass == 0 { usize::MAX } else { limit };
            if pass == 1 {
                for (k, st) in self.stations.iter().enumerate() {
                    want[k] = if st.staffed.is_some() && st.kind != StationKind::Pack {
                        st.capacity.saturating_sub(st.tickets.len() + sent[k])
                    } else {
                        0
                    };
                }
            }
            let mut stuck = vec![false; self.stations.len()];
            // Per mille of its target (capacity, in the second pass) a station is short.
            let short = |k: usize, want: &[usize]| {
                let st = &self.stations[k];
                let of = if pass == 0 { st.target() } else { st.capacity };
                want[k] * 1000 / of.max(1)
            };
            while out.len() < cap {
                // The station furthest below its target goes next.
                let Some(s) = (0..self.stations.len())
                    .filter(|&k| want[k] > 0 && !stuck[k])
                    .max_by_key(|&k| (short(k, &want), Reverse(k)))
                else {
                    break;
                };
                // Short of its target by a larger share: less slack.
                let short = short(s, &want).min(1000) as u32;
                match self.station_demand(
                    StationId(s as u16),
                    free,
                    &claimed,
                    &pods_claimed,
                    costs,
                    &mut fetched,
                    &mut piled,
                ) {
                    Some(mut d) => {
                        d.slack = URGENCY_CELLS * (1000 - short) / 1000;
                        claimed.extend(d.tasks.iter().copied());
                        pods_claimed.extend(d.pod);
                        want[s] -= 1;
                        sent[s] += 1;
                        out.push(d);
                    }
                    None => stuck[s] = true,
                }
            }
        }
        out
    }

    pub(super) fn to_charger(&self, cell: Cell) -> u32 {
        self.to_charger.as_ref().map_or(0, |t| {
            match t.get(&self.grid, cell, drover_grid::Heading::East) {
                UNREACHABLE => 0,
                d => d,
            }
        })
    }

    /// The next pod for station `s`: among the first [`LINE_WINDOW`] queued tasks (fewer
    /// with more than four free robots) of the
    /// highest priority it can serve, the task and pod with the best score, and other queued
    /// lines that pod can serve at the same presentation (pile-on). A pod's score is the
    /// shortest empty trip from a free robot plus the loaded trip to the face, less a bonus
    /// for the other lines it serves, plus [`LINE_AGE_CELLS`] per place in the queue.
    pub(super) fn station_demand(
        &self,
        s: StationId,
        free: &[Cell],
        claimed: &BTreeSet<TaskId>,
        pods_claimed: &BTreeSet<PodId>,
        costs: &mut dyn Costs,
        fetched: &mut [u32],
        piled: &mut [u32],
    ) -> Option<Demand> {
        let st = &self.stations[s.0 as usize];
        let face = st.face();
        let serves = |t: &Task| match (&t.kind, st.kind) {
            (TaskKind::Pick { station, .. }, StationKind::Pick)
            | (TaskKind::Stow { station, .. }, StationKind::Stow) => {
                station.is_none() || *station == Some(s)
            }
            _ => false,
        };
        let free_pod = |p: PodId| {
            let pod = &self.pods[p.0 as usize];
            let PodLoc::Slot(slot) = pod.loc else {
                return false;
            };
            !pod.busy
                && !self.slot_blocked[self.slot_of_cell[slot.index()] as usize]
                && !pods_claimed.contains(&p)
        };
        let slot_of = |p: PodId| match self.pods[p.0 as usize].loc {
            PodLoc::Slot(c) => c,
            _ => unreachable!("free pods stand in slots"),
        };
        // The best (line, pod) among the first lines of the highest priority this station
        // can serve: older lines first, but not at any distance.
        // Each line costs a scan of the free robots per candidate pod, so the window
        // narrows as they grow (with many free robots, the assignment has choice anyway).
        let window = (LINE_WINDOW * 4 / free.len().max(1)).clamp(1, LINE_WINDOW);
        let mut chosen: Option<(i64, TaskId, PodId)> = None;
        let mut seen = 0usize;
        let mut top: Option<Reverse<i32>> = None;
        for key in &self.queue {
            let t = &self.tasks[key.2.0 as usize];
            if claimed.contains(&t.id) || !serves(t) {
                continue;
            }
            if top.is_some_and(|p| p != key.0) && chosen.is_some() {
                break;
            }
            top = Some(key.0);
            let Some((sel, units, stow)) = pod_line(&t.kind) else {
                continue;
            };
            let candidates: Vec<PodId> = match sel {
                PodSel::Pod(p) => vec![*p],
                PodSel::Sku(sku) if !stow => self.sku_pods[sku.0 as usize]
                    .iter()
                    .copied()
                    .filter(|p| self.pod_units(*p, *sku) >= units)
                    .collect(),
                PodSel::Sku(_) => (0..self.pods.len() as u32)
                    .map(PodId)
                    .filter(|p| self.pods[p.0 as usize].units() + units <= self.config.pod_capacity)
                    .collect(),
            };
            let best = candidates
                .into_iter()
                .filter(|&p| free_pod(p))
                .map(|p| {
                    let slot = slot_of(p);
                    let d = costs.cost(slot, face);
                    if d == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    // The same pods come up for many lines and stations in one call.
                    let cached = &mut fetched[p.0 as usize];
                    if *cached == NOT_FETCHED {
                        *cached = free
                            .iter()
                            .map(|&r| costs.cost(r, slot))
                            .min()
                            .unwrap_or(UNREACHABLE);
                    }
                    let fetch = *cached;
                    if fetch == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    let mut score = d as i64 + fetch as i64;
                    if let PodSel::Sku(sku) = sel {
                        if stow {
                            // Spread a SKU over several pods so later picks do not converge.
                            score += 20 * self.pod_units(p, *sku).min(1) as i64;
                        } else {
                            // Prefer pods that also serve other open lines (pile-on): each
                            // extra line saves a whole pod trip.
                            let cached = &mut piled[p.0 as usize];
                            if *cached == NOT_FETCHED {
                                let others: u32 = self.pods[p.0 as usize]
                                    .contents
                                    .keys()
                                    .map(|k| self.queued_lines[k.0 as usize])
                                    .sum::<u32>()
                                    .saturating_sub(1);
                                let cap = self.config.pile_on_max.saturating_sub(1) as u32;
                                *cached = others.min(cap);
                            }
                            score -= PILE_ON_WEIGHT * *cached as i64;
                        }
                    }
                    (score, p)
                })
                .filter(|(d, _)| *d != i64::MAX)
                .min();
            let Some((score, pod)) = best else {
                continue;
            };
            let score = score + LINE_AGE_CELLS * seen as i64;
            if chosen.is_none_or(|c| score < c.0) {
                chosen = Some((score, t.id, pod));
            }
            seen += 1;
            if seen >= window {
                break;
            }
        }
        let (_, chosen_task, pod) = chosen?;
        let t = &self.tasks[chosen_task.0 as usize];
        let (sel, units, stow) = pod_line(&t.kind).expect("only picks and stows are chosen");
        let slot = slot_of(pod);
        let mut tasks = vec![t.id];
        if !stow {
            // Pile-on: other queued picks this pod can serve at this station.
            let mut left: BTreeMap<SkuId, u32> = self.pods[pod.0 as usize].contents.clone();
            if let PodSel::Sku(sku) = sel {
                *left.get_mut(sku).expect("candidate holds it") -= units;
            }
            for other in &self.queue {
                if tasks.len() >= self.config.pile_on_max {
                    break;
                }
                let o = &self.tasks[other.2.0 as usize];
                if o.id == t.id || claimed.contains(&o.id) || !serves(o) {
                    continue;
                }
                if let TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } = &o.kind
                    && let Some(q) = left.get_mut(sku)
                    && *q >= *units
                {
                    *q -= units;
                    tasks.push(o.id);
                }
            }
        }
        let there = costs.cost(slot, face);
        let back = costs.cost(face, slot);
        Some(Demand {
            tasks,
            pod: Some(pod),
            station: Some(s),
            first: slot,
            rest_cells: there
                .saturating_add(back)
                .saturating_add(self.to_charger(slot)),
            legs: there,
            lifts: 2,
            slack: 0,
        })
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
}
