//! The coordinator for real robots: allocator, planner, executor and orders in one tick.
//!
//! Each [`Coordinator::tick`]: the state-age watchdog marks silent robots (their tasks go back
//! to the allocator, their cells stay blocked, the plan is rewound to the released frontier
//! so others plan around them); the allocator runs on the robots' *reported* positions; the
//! planner advances the *planned* positions one step, holding robots that lag `max_lag`
//! entries behind their plan; the executor releases cells in plan order; the order book turns
//! releases into VDA 5050 order updates and resends what was not echoed.
//!
//! Robot messages arrive through [`Coordinator::on_state`] and
//! [`Coordinator::on_connection`]; everything sent leaves through [`Tick::outbound`]. The
//! coordinator does no IO and reads no clock: one call of `tick` is one tick.

use drover_alloc::{AllocConfig, Allocator, Event, GoalAction, RobotView, TargetTables};
use drover_grid::load::Floor;
use drover_grid::{Cell, DistanceOracle, Grid, Motion};
use drover_plan::{AgentState, PlanConfig, Planner, Unlimited};
use drover_vda5050::{
    Action, BlockingType, ConnectionState, InstantActions, Order, State, Timestamp, VERSION,
};

use crate::exec::{Executor, NodeAction, ProgressError};
use crate::orders::{MapFrame, OrderTrack};

/// Coordinator settings. No `Default`: `config/droverd.toml` documents every value.
#[derive(Clone, Debug)]
pub struct CoordConfig {
    /// Allocator settings.
    pub alloc: AllocConfig,
    /// Planner seed.
    pub seed: u64,
    /// Memory cap of the planner's distance tables, bytes.
    pub table_cache_bytes: usize,
    /// Cells released past a robot's reported position (the VDA base beyond it).
    pub base_ahead: u32,
    /// Planned entries a robot may lag behind its plan before the planner holds it.
    pub max_lag: usize,
    /// Ticks before an unechoed order or instant action is sent again.
    pub resend_ticks: u64,
    /// Ticks without a state message after which a robot counts as silent.
    pub silent_ticks: u64,
    /// The map id in orders.
    pub map_id: String,
    /// The manufacturer name robots use in their topics and headers.
    pub manufacturer: String,
}

/// A robot the coordinator drives, as it first reported itself.
#[derive(Clone, Debug)]
pub struct RobotSpec {
    /// Serial number (topic level and header field).
    pub serial: String,
    /// Where it stands.
    pub start: AgentState,
}

/// A message for one robot.
#[derive(Clone, Debug)]
pub enum Outbound {
    /// An order or order update.
    Order(Order),
    /// Instant actions.
    InstantActions(InstantActions),
}

/// Things worth a log line or a metric.
#[derive(Clone, Debug)]
pub enum CoordEvent {
    /// The allocator's events.
    Alloc(Event),
    /// A robot stopped reporting (or lost its connection).
    Silent {
        /// Robot.
        robot: u32,
    },
    /// A silent robot reports again.
    Back {
        /// Robot.
        robot: u32,
    },
    /// A progress report that contradicts what was released (a robot off its base).
    BadProgress(ProgressError),
    /// A robot runs no order of ours: a new order starts where it stands.
    OrderRestarted {
        /// Robot.
        robot: u32,
    },
}

/// What one tick produced.
#[derive(Clone, Debug, Default)]
pub struct Tick {
    /// Messages to send, by robot index.
    pub outbound: Vec<(u32, Outbound)>,
    /// Events.
    pub events: Vec<CoordEvent>,
}

struct Robot {
    serial: String,
    battery: f64,
    /// Tick of the last state message (robots are known from their first state: 0).
    last_state: u64,
    online: bool,
    silent: bool,
    /// Taken out of service by an operator.
    manual_out: bool,
    order: OrderTrack,
    /// The goal and action last attached to the plan, so each is attached once.
    attached: Option<(Cell, GoalAction)>,
    /// Instant actions waiting for their echo: (message, sent at).
    instant: Option<(InstantActions, u64)>,
}

/// The coordinator: see the module documentation.
pub struct Coordinator {
    config: CoordConfig,
    grid: Grid,
    frame: MapFrame,
    robots: Vec<Robot>,
    alloc: Allocator,
    costs: TargetTables,
    planner: Planner,
    oracle: DistanceOracle,
    planned: Vec<AgentState>,
    exec: Executor,
    now: u64,
    events: Vec<CoordEvent>,
}

impl Coordinator {
    /// A coordinator for `floor` and the robots in `robots` (index = robot id).
    ///
    /// # Panics
    /// If two robots start on one cell or a robot stands off the free cells; the caller
    /// validates reported positions first.
    pub fn new(floor: &Floor, robots: &[RobotSpec], config: CoordConfig) -> Coordinator {
        let grid = floor.grid.clone();
        let starts: Vec<AgentState> = robots.iter().map(|r| r.start).collect();
        let cells: Vec<Cell> = starts.iter().map(|s| s.cell).collect();
        let alloc = Allocator::new(floor, &cells, config.alloc.clone());
        Coordinator {
            frame: MapFrame::new(&config.map_id, &grid, floor.cell_size_m),
            robots: robots
                .iter()
                .map(|r| Robot {
                    serial: r.serial.clone(),
                    battery: 1.0,
                    last_state: 0,
                    online: true,
                    silent: false,
                    manual_out: false,
                    order: OrderTrack::new(&config.manufacturer, &r.serial),
                    attached: None,
                    instant: None,
                })
                .collect(),
            alloc,
            costs: TargetTables::new(&grid),
            planner: Planner::new(
                &grid,
                robots.len(),
                &PlanConfig {
                    motion: Motion::Grid4,
                    seed: config.seed,
                },
            ),
            oracle: DistanceOracle::new(&grid, Motion::Grid4, config.table_cache_bytes),
            exec: Executor::new(grid.n_cells(), &starts, config.base_ahead),
            planned: starts,
            grid,
            now: 0,
            events: Vec::new(),
            config,
        }
    }

    /// The allocator: submit and cancel tasks, staff stations, release presented pods.
    pub fn allocator(&mut self) -> &mut Allocator {
        &mut self.alloc
    }

    /// The allocator, read-only.
    pub fn alloc(&self) -> &Allocator {
        &self.alloc
    }

    /// The map frame orders use.
    pub fn frame(&self) -> &MapFrame {
        &self.frame
    }

    /// The manufacturer level of the robots' topics.
    pub fn manufacturer(&self) -> &str {
        &self.config.manufacturer
    }

    /// Ticks so far.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Number of robots.
    pub fn n_robots(&self) -> usize {
        self.robots.len()
    }

    /// Robot `robot`'s serial number.
    pub fn serial(&self, robot: u32) -> &str {
        &self.robots[robot as usize].serial
    }

    /// Where robot `robot` last reported standing.
    pub fn position(&self, robot: u32) -> Cell {
        self.exec.position(robot)
    }

    /// Whether robot `robot` counts as silent.
    pub fn is_silent(&self, robot: u32) -> bool {
        self.robots[robot as usize].silent
    }

    /// Reads a robot's state: progress, echoes, battery.
    pub fn on_state(&mut self, robot: u32, state: &State) {
        let r = &mut self.robots[robot as usize];
        r.last_state = self.now;
        r.battery = (state.battery_state.battery_charge / 100.0).clamp(0.0, 1.0);
        if let Some((sent, _)) = &r.instant
            && sent.actions.iter().all(|a| {
                state
                    .action_states
                    .iter()
                    .any(|s| s.action_id == a.action_id)
            })
        {
            r.instant = None;
        }
        let progress = r.order.on_state(state);
        if progress.foreign && r.order.order_id().is_some() && r.order.pending_sends() >= 3 {
            // The robot does not know our order (it restarted or rejected it) and stands
            // idle: start a new order where it stands.
            r.order.restart();
            self.events.push(CoordEvent::OrderRestarted { robot });
        }
        if let Some(index) = progress.reached
            && index != self.exec.first(robot)
            && let Err(e) = self.exec.reached(robot, index)
        {
            self.events.push(CoordEvent::BadProgress(e));
        }
    }

    /// Reads a robot's connection state (retained ONLINE, or the broker's last will).
    pub fn on_connection(&mut self, robot: u32, state: ConnectionState) {
        self.robots[robot as usize].online = state == ConnectionState::Online;
    }

    /// Battery state of charge robot `robot` last reported, 0..=1.
    pub fn battery(&self, robot: u32) -> f64 {
        self.robots[robot as usize].battery
    }

    /// Whether the robot reports its connection ONLINE.
    pub fn is_online(&self, robot: u32) -> bool {
        self.robots[robot as usize].online
    }

    /// Whether an operator took the robot out of service.
    pub fn is_out_of_service(&self, robot: u32) -> bool {
        self.robots[robot as usize].manual_out
    }

    /// An operator takes a robot out of service (its task goes back to the queue, a carried
    /// pod stays with it and goes home when it returns) or puts it back.
    pub fn set_out_of_service(&mut self, robot: u32, out: bool) -> Vec<Event> {
        let r = &mut self.robots[robot as usize];
        r.manual_out = out;
        let in_service = !out && !r.silent;
        self.alloc.set_in_service(robot, in_service)
    }

    /// `startPause` (or `stopPause`) for one robot, resent until echoed. A paused robot
    /// holds its released cells; robots planned behind it wait for it (the executor's
    /// release rule), so pausing is always safe.
    pub fn pause(&mut self, robot: u32, paused: bool) -> Outbound {
        let action = if paused { "startPause" } else { "stopPause" };
        Outbound::InstantActions(self.instant(robot, action))
    }

    /// Sends every robot `startPause` (on shutdown) until each echoes it.
    pub fn pause_all(&mut self) -> Vec<(u32, Outbound)> {
        (0..self.robots.len() as u32)
            .map(|r| (r, self.pause(r, true)))
            .collect()
    }

    fn instant(&mut self, robot: u32, action_type: &str) -> InstantActions {
        let r = &mut self.robots[robot as usize];
        let message = InstantActions {
            header_id: 0,
            timestamp: Timestamp(0),
            version: VERSION.to_string(),
            manufacturer: self.config.manufacturer.clone(),
            serial_number: r.serial.clone(),
            actions: vec![Action {
                action_type: action_type.to_string(),
                action_id: format!("{}-{}-{}", r.serial, action_type, self.now),
                action_description: None,
                blocking_type: BlockingType::None,
                action_parameters: None,
            }],
        };
        r.instant = Some((message.clone(), self.now));
        message
    }

    /// One coordinator tick.
    pub fn tick(&mut self) -> Tick {
        let now = self.now;
        let mut out = Tick {
            events: std::mem::take(&mut self.events),
            ..Tick::default()
        };

        // Liveness: the connection topic and the state-age watchdog.
        let mut rewind = false;
        for i in 0..self.robots.len() {
            let r = &self.robots[i];
            let fresh = now.saturating_sub(r.last_state) <= self.config.silent_ticks;
            let alive = r.online && fresh;
            if r.silent == alive {
                self.robots[i].silent = !alive;
                let in_service = alive && !self.robots[i].manual_out;
                for e in self.alloc.set_in_service(i as u32, in_service) {
                    out.events.push(CoordEvent::Alloc(e));
                }
                out.events.push(if alive {
                    CoordEvent::Back { robot: i as u32 }
                } else {
                    rewind = true;
                    CoordEvent::Silent { robot: i as u32 }
                });
            }
        }
        if rewind {
            self.planned = self.exec.rewind();
        }

        // Allocation on reported positions.
        let views: Vec<RobotView> = (0..self.robots.len())
            .map(|i| RobotView {
                cell: self.exec.position(i as u32),
                battery: self.robots[i].battery,
            })
            .collect();
        let report = self.alloc.tick(now, &views, &mut self.costs);
        out.events
            .extend(report.events.into_iter().map(CoordEvent::Alloc));

        // One planning step on planned positions.
        let mut goals: Vec<Option<Cell>> = self.alloc.goals().to_vec();
        let held: Vec<bool> = (0..self.robots.len())
            .map(|i| self.robots[i].silent || self.exec.lag(i as u32) >= self.config.max_lag)
            .collect();
        for (g, r) in goals.iter_mut().zip(&self.robots) {
            if r.silent {
                *g = None;
            }
        }
        let plan = self.planner.step_for_execution(
            &self.grid,
            &mut self.oracle,
            &self.planned,
            &goals,
            &held,
            &Unlimited,
        );
        self.planned = plan.next;
        self.exec.push_step(&self.planned);

        // Actions where planned robots reach goals with something to do.
        for (i, goal) in goals.iter().enumerate() {
            let robot = i as u32;
            let current = match (*goal, self.alloc.goal_action(robot)) {
                (Some(g), Some(a)) => Some((g, a)),
                _ => None,
            };
            if current == self.robots[i].attached {
                continue;
            }
            let Some((_, action)) = current.filter(|(g, _)| self.planned[i].cell == *g) else {
                self.robots[i].attached = None;
                continue;
            };
            self.robots[i].attached = current;
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
        }

        // Release and send.
        self.exec.release();
        for i in 0..self.robots.len() {
            let robot = i as u32;
            if let Some(order) = self.robots[i].order.poll(
                robot,
                &self.exec,
                &self.frame,
                now,
                self.config.resend_ticks,
            ) {
                out.outbound.push((robot, Outbound::Order(order)));
            }
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
        out
    }
}
