//! One coordinator tick: liveness and health, allocation on reported positions, one planning step
//! on planned positions, node actions at goals, release and orders.

use super::*;

/// What the planning step reads besides the planned positions, one entry per robot.
struct PlanInputs {
    /// The allocator's goals; `None` for a robot that is down.
    goals: Vec<Option<Cell>>,
    /// Held where it is: the fleet is paused, the robot is down, held in a blocked zone,
    /// paused on its own, or `max_lag` entries behind its plan.
    held: Vec<bool>,
    /// Carries something, so it may not pass under stored pods.
    loaded: Vec<bool>,
}

/// What the liveness check changed for one robot.
struct LivenessChange {
    /// It went down: plans made around it must be rewound.
    went_down: bool,
    /// Its closed cells changed (it went down or up, or moved while misplaced).
    cells: bool,
}

impl Coordinator {
    /// One coordinator tick.
    pub fn tick(&mut self) -> CoordTick {
        self.tick_timed(&|| 0.0)
    }

    /// One coordinator tick, reading `clock` (seconds, any origin) between phases so the
    /// caller can report where the time went; the coordinator itself reads no clock.
    pub fn tick_timed(&mut self, clock: &dyn Fn() -> f64) -> CoordTick {
        let t0 = clock();
        let mut out = CoordTick {
            events: std::mem::take(&mut self.events),
            ..CoordTick::default()
        };
        self.watch_liveness(&mut out.events);
        self.allocate(&mut out.events);
        let t1 = clock();
        let inputs = self.plan_inputs();
        let t2 = clock();
        self.plan_step(&inputs, &mut out.events);
        let t3 = clock();
        self.attach_goal_actions(&inputs.goals);
        self.release_cells();
        let budget = self.send_orders(&mut out.outbound);
        self.request_states(budget, &mut out.outbound);
        self.resend_instant_actions(&mut out.outbound);
        self.now += 1;
        out.phases = Phases {
            alloc_s: t1 - t0,
            plan_s: t3 - t2,
            release_s: clock() - t3,
        };
        out
    }

    /// Liveness: the connection topic and the state-age watchdog mark robots silent or back,
    /// and robots go down or up. Plans are rewound if one went down, and the closed cells are
    /// recomputed if any changed.
    fn watch_liveness(&mut self, events: &mut Vec<CoordEvent>) {
        let mut rewind = false;
        let mut changed = false;
        for robot in 0..self.robots.len() as u32 {
            let change = self.update_liveness(robot, events);
            rewind |= change.went_down;
            changed |= change.cells;
        }
        if rewind {
            self.rewind();
        }
        if changed {
            self.close_cells();
            events.append(&mut self.events);
        }
    }

    /// One robot's liveness and health: silent or back, down or up (told to the allocator).
    fn update_liveness(&mut self, robot: u32, events: &mut Vec<CoordEvent>) -> LivenessChange {
        let mut change = LivenessChange {
            went_down: false,
            cells: false,
        };
        let r = &mut self.robots[robot as usize];
        let fresh = self.now.saturating_sub(r.last_state) <= self.config.silent_ticks;
        let alive = r.online && fresh;
        let silence = r.silent == alive;
        if silence {
            r.silent = !alive;
            events.push(if alive {
                CoordEvent::Back { robot }
            } else {
                CoordEvent::Silent { robot }
            });
        }
        let down = r.is_down();
        let at = r.misplaced.as_ref().and_then(|m| m.1);
        if at != r.closed_at {
            // A misplaced robot moved: close where it stands now.
            r.closed_at = at;
            change.cells = true;
        }
        if down == r.down {
            return change;
        }
        change.cells = true;
        r.down = down;
        if !silence {
            events.push(match r.why_down() {
                Some(why) => CoordEvent::Down { robot, why },
                None => CoordEvent::Up { robot },
            });
        }
        change.went_down = r.down;
        for e in self.sync_service(robot) {
            events.push(CoordEvent::Alloc(e));
        }
        change
    }

    /// Allocation on the robots' reported positions.
    fn allocate(&mut self, events: &mut Vec<CoordEvent>) {
        let views: Vec<RobotView> = (0..self.robots.len())
            .map(|i| RobotView {
                cell: self.exec.position(i as u32),
                battery: self.robots[i].battery,
            })
            .collect();
        let report = self.alloc.tick(self.now, &views, &mut self.costs);
        events.extend(report.events.into_iter().map(CoordEvent::Alloc));
    }

    /// Goals, held and loaded robots for the planning step (the planner learns the loaded ones).
    fn plan_inputs(&mut self) -> PlanInputs {
        let mut goals: Vec<Option<Cell>> = self.alloc.goals().to_vec();
        let held: Vec<bool> = (0..self.robots.len())
            .map(|i| {
                let r = &self.robots[i];
                self.fleet_paused
                    || r.down
                    || r.zone_held
                    || r.self_paused
                    || self.exec.lag(i as u32) >= self.config.max_lag
            })
            .collect();
        for (g, r) in goals.iter_mut().zip(&self.robots) {
            if r.down {
                *g = None;
            }
        }
        let loaded: Vec<bool> = (0..self.robots.len() as u32)
            .map(|r| self.alloc.loaded(r))
            .collect();
        self.planner.set_loaded(&loaded);
        PlanInputs {
            goals,
            held,
            loaded,
        }
    }

    /// One planning step on the planned positions, appended to the executor's tracks.
    fn plan_step(&mut self, inputs: &PlanInputs, events: &mut Vec<CoordEvent>) {
        let plan = self.planner.step_for_execution(
            &self.grid,
            &mut self.oracle,
            &self.planned,
            &inputs.goals,
            &inputs.held,
            &Unlimited,
        );
        for (i, mv) in plan.moves.iter().enumerate() {
            if *mv == Move::Wait(WaitReason::NoPath) {
                self.no_path(i as u32, inputs.loaded[i], events);
            }
        }
        self.planned = plan.next;
        self.exec.push_step(&self.planned);
    }

    /// A robot with no way to its goal (cells closed by a dead robot or a zone): a loaded
    /// one takes a slot it can reach, and a station visit is given up (a dead robot in a
    /// lane would otherwise hold every robot sent there, and those behind them, for ever).
    fn no_path(&mut self, robot: u32, loaded: bool, events: &mut Vec<CoordEvent>) {
        // The search runs only if the allocator asks where the robot can go.
        let reach = std::cell::OnceCell::new();
        let (grid, from) = (&self.grid, self.planned[robot as usize].cell);
        let reachable =
            |c: Cell| reach.get_or_init(|| grid.reachable(from, true, loaded))[c.index()];
        for e in self.alloc.goal_unreachable(robot, &reachable) {
            events.push(CoordEvent::Alloc(e));
        }
    }

    /// Actions where planned robots reach goals with something to do, attached once per goal.
    fn attach_goal_actions(&mut self, goals: &[Option<Cell>]) {
        for (i, goal) in goals.iter().enumerate() {
            let robot = i as u32;
            let current = match (*goal, self.alloc.goal_action(robot)) {
                (Some(g), Some(a)) => Some((g, a)),
                _ => None,
            };
            if current == self.robots[i].attached.map(|(g, a, _)| (g, a)) {
                continue;
            }
            let Some((g, action)) = current.filter(|(g, _)| self.planned[i].cell == *g) else {
                self.robots[i].attached = None;
                continue;
            };
            let pod = |p: Option<drover_alloc::PodId>| match p {
                Some(p) => self.alloc.pod_name(p).to_string(),
                None => "cart".to_string(),
            };
            let node_action = match action {
                GoalAction::Lift(p) => NodeAction::Pick { pod: pod(p) },
                GoalAction::Drop(p) => NodeAction::Drop { pod: pod(p) },
                GoalAction::Charge => NodeAction::Charge,
            };
            self.exec.add_action(robot, node_action);
            self.robots[i].attached = Some((g, action, self.exec.last(robot)));
        }
    }

    /// Releases cells in plan order; nothing new while the fleet is paused.
    fn release_cells(&mut self) {
        if !self.fleet_paused {
            self.exec.release();
        }
    }

    /// Orders (new, updates and resends) for at most `max_orders_per_tick` robots, round robin
    /// from where the cap stopped last tick. Returns how many more messages the cap allows.
    fn send_orders(&mut self, outbound: &mut Vec<(u32, Outbound)>) -> usize {
        let n = self.robots.len();
        let cap = match self.config.max_orders_per_tick {
            0 => usize::MAX,
            c => c,
        };
        let mut orders = 0;
        for k in 0..n {
            let i = (self.poll_from + k) % n;
            if orders == cap {
                self.poll_from = i;
                break;
            }
            if self.robots[i].down && !self.robots[i].silent {
                // Not driven: nothing is sent (a silent robot's pending order is resent).
                continue;
            }
            if self.fleet_paused && !self.robots[i].order.awaiting_echo() {
                // Paused fleet: resends only, no new order or update.
                continue;
            }
            let speed_max = self.robots[i].speed_max;
            if let Some(order) = self.robots[i].order.poll(
                i as u32,
                &self.exec,
                &self.frame,
                &self.speed_limit,
                speed_max,
                &self.config.actions,
                self.now,
                self.config.resend_ticks,
            ) {
                outbound.push((i as u32, Outbound::Order(order)));
                orders += 1;
            }
        }
        cap.saturating_sub(orders)
    }

    /// Half-way to silent, one `stateRequest` (the last state may have been lost), within
    /// `budget` messages; not tracked for an echo: the answer is a state.
    fn request_states(&mut self, mut budget: usize, outbound: &mut Vec<(u32, Outbound)>) {
        for i in 0..self.robots.len() {
            let r = &self.robots[i];
            if budget == 0 {
                break;
            }
            if r.online
                && !r.silent
                && !r.state_requested
                && self.now.saturating_sub(r.last_state) >= (self.config.silent_ticks / 2).max(1)
            {
                let message = self.instant_message(i as u32, "stateRequest");
                outbound.push((i as u32, Outbound::InstantActions(message)));
                self.robots[i].state_requested = true;
                budget -= 1;
            }
        }
    }

    /// Instant actions not echoed within `resend_ticks` go out again.
    fn resend_instant_actions(&mut self, outbound: &mut Vec<(u32, Outbound)>) {
        let now = self.now;
        for (i, r) in self.robots.iter_mut().enumerate() {
            if let Some((message, sent)) = &mut r.instant
                && now >= *sent + self.config.resend_ticks
            {
                *sent = now;
                outbound.push((i as u32, Outbound::InstantActions(message.clone())));
            }
        }
    }
}
