//! One coordinator tick: liveness and health, allocation on reported positions, one planning step
//! on planned positions, node actions at goals, release and orders.

use super::*;

impl Coordinator {
    /// One coordinator tick.
    pub fn tick(&mut self) -> CoordTick {
        self.tick_timed(&|| 0.0)
    }

    /// One coordinator tick, reading `clock` (seconds, any origin) between phases so the
    /// caller can report where the time went; the coordinator itself reads no clock.
    pub fn tick_timed(&mut self, clock: &dyn Fn() -> f64) -> CoordTick {
        let t0 = clock();
        let now = self.now;
        let mut out = CoordTick {
            events: std::mem::take(&mut self.events),
            ..CoordTick::default()
        };

        // Liveness: the connection topic and the state-age watchdog.
        let mut rewind = false;
        let mut changed = false;
        for i in 0..self.robots.len() {
            let robot = i as u32;
            let r = &mut self.robots[i];
            let fresh = now.saturating_sub(r.last_state) <= self.config.silent_ticks;
            let alive = r.online && fresh;
            let silence = r.silent == alive;
            if silence {
                r.silent = !alive;
                out.events.push(if alive {
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
                changed = true;
            }
            if down == r.down {
                continue;
            }
            changed = true;
            r.down = down;
            if !silence {
                out.events.push(match r.why_down() {
                    Some(why) => CoordEvent::Down { robot, why },
                    None => CoordEvent::Up { robot },
                });
            }
            if r.down {
                rewind = true;
            }
            for e in self.sync_service(robot) {
                out.events.push(CoordEvent::Alloc(e));
            }
        }
        if rewind {
            self.rewind();
        }
        if changed {
            self.close_cells();
            out.events.append(&mut self.events);
        }

        // Allocation on reported positions.
        let views: Vec<RobotView> = (0..self.robots.len())
            .map(|i| RobotView {
                cell: self.exec.position(i as u32),
                battery: self.robots[i].battery,
            })
            .collect();
        let report = self.alloc.tick(now, &views, &mut self.costs);
        let t1 = clock();
        out.events
            .extend(report.events.into_iter().map(CoordEvent::Alloc));

        // One planning step on planned positions.
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
        let t2 = clock();
        let plan = self.planner.step_for_execution(
            &self.grid,
            &mut self.oracle,
            &self.planned,
            &goals,
            &held,
            &Unlimited,
        );
        // A robot with no way to its goal (cells closed by a dead robot or a zone): a loaded
        // one takes a slot it can reach, and a station visit is given up (a dead robot in a
        // lane would otherwise hold every robot sent there, and those behind them, for ever).
        for (i, mv) in plan.moves.iter().enumerate() {
            if *mv == Move::Wait(WaitReason::NoPath) {
                // The search runs only if the allocator asks where the robot can go.
                let reach = std::cell::OnceCell::new();
                let (grid, from) = (&self.grid, self.planned[i].cell);
                let reachable = |c: Cell| {
                    reach.get_or_init(|| grid.reachable(from, true, loaded[i]))[c.index()]
                };
                for e in self.alloc.goal_unreachable(i as u32, &reachable) {
                    out.events.push(CoordEvent::Alloc(e));
                }
            }
        }
        self.planned = plan.next;
        self.exec.push_step(&self.planned);
        let t3 = clock();

        // Actions where planned robots reach goals with something to do.
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

        // Release and send (nothing new while the fleet is paused).
        if !self.fleet_paused {
            self.exec.release();
        }
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
                now,
                self.config.resend_ticks,
            ) {
                out.outbound.push((i as u32, Outbound::Order(order)));
                orders += 1;
            }
        }
        // Half-way to silent, one `stateRequest` (the last state may have been lost), from
        // what the order cap left this tick; not tracked for an echo: the answer is a state.
        let mut budget = cap.saturating_sub(orders);
        for i in 0..n {
            let r = &self.robots[i];
            if budget == 0 {
                break;
            }
            if r.online
                && !r.silent
                && !r.state_requested
                && now.saturating_sub(r.last_state) >= (self.config.silent_ticks / 2).max(1)
            {
                let message = self.instant_message(i as u32, "stateRequest");
                out.outbound
                    .push((i as u32, Outbound::InstantActions(message)));
                self.robots[i].state_requested = true;
                budget -= 1;
            }
        }
        for i in 0..n {
            let robot = i as u32;
            let r = &mut self.robots[i];
            if let Some((message, sent)) = &mut r.instant
                && now >= *sent + self.config.resend_ticks
            {
                *sent = now;
                out.outbound
                    .push((robot, Outbound::InstantActions(message.clone())));
            }
        }
        self.now += 1;
        out.phases = Phases {
            alloc_s: t1 - t0,
            plan_s: t3 - t2,
            release_s: clock() - t3,
        };
        out
    }
}
