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
//! [`Coordinator::on_connection`]; everything sent leaves through [`CoordTick::outbound`]. The
//! coordinator does no IO and reads no clock: one call of `tick` is one tick.

use drover_alloc::{AllocConfig, Allocator, Event, GoalAction, RobotView, TargetTables};
use drover_grid::load::Floor;
use drover_grid::{Cell, DistanceOracle, Grid, Heading, Motion};
use drover_plan::{AgentState, Move, PlanConfig, Planner, Unlimited, WaitReason};
use drover_vda5050::{
    Action, ActionStatus, BlockingType, ConnectionState, InstantActions, Order, State, Timestamp,
    VERSION,
};

use crate::CoreError;
use crate::exec::{Executor, NodeAction};
use crate::health;

mod reports;
mod tick;
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
    /// Orders (new, updates and resends) sent per tick at most, 0: no cap. The robots beyond
    /// the cap are served first on the next tick, so a burst (every robot's first order at
    /// startup) drains over a few ticks instead of queueing in the broker.
    pub max_orders_per_tick: usize,
    /// Ticks without a state message after which a robot counts as silent.
    pub silent_ticks: u64,
    /// The map id in orders.
    pub map_id: String,
    /// Where the floor lies in that map (origin and rotation).
    pub placement: crate::orders::Placement,
    /// The manufacturer name robots use in their topics and headers.
    pub manufacturer: String,
    /// Node action names and parameters these robots understand.
    pub actions: crate::orders::ActionNames,
    /// Times a task is tried again after a robot's pick for it failed, before it fails.
    pub action_retries: u32,
    /// Part of every order id, different for each coordinator run (droverd uses its start
    /// time), so a restarted coordinator never reuses an id a robot may still run.
    pub instance: String,
}

/// A robot the coordinator drives, as it first reported itself.
#[derive(Clone, Debug)]
pub struct RobotSpec {
    /// Serial number (topic level and header field).
    pub serial: String,
    /// Where it stands.
    pub start: AgentState,
}

/// An area of the floor where associates work: closed to robots, or under a speed limit.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneArea {
    /// Its cells.
    pub cells: Vec<Cell>,
    /// `None`: blocked (no robot enters; robots inside are paused until it is lifted).
    /// `Some(v)`: robots drive its cells at most `v` m/s.
    pub max_speed: Option<f64>,
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
    /// A progress report that contradicts what was released (a robot off its base):
    /// [`CoreError::PastBase`] or [`CoreError::Behind`].
    BadProgress(CoreError),
    /// A robot runs no order of ours: a new order starts where it stands.
    OrderRestarted {
        /// Robot.
        robot: u32,
    },
    /// A robot confirmed a `cancelOrder`: it stands still and its cells beyond are free.
    Stopped {
        /// Robot.
        robot: u32,
    },
    /// A robot may no longer be driven: it refused an order, reports a FATAL error, an
    /// emergency stop, a protective field or a mode other than AUTOMATIC, stands where it
    /// should not, or speaks a protocol version drover cannot. Its tasks went back to the
    /// queue and its cells are closed, as for a silent robot.
    Down {
        /// Robot.
        robot: u32,
        /// Why, in the robot's own words where it gave any.
        why: String,
    },
    /// A robot reports one of drover's node actions FAILED.
    ActionFailed {
        /// Robot.
        robot: u32,
        /// The action type (`pick`, `drop`, `startCharging` or the vendor's name).
        action: String,
        /// The robot's reason (`resultDescription`, or the error naming the action).
        reason: String,
    },
    /// A robot that was down may be driven again (its error cleared, or an operator reset it).
    Up {
        /// Robot.
        robot: u32,
    },
    /// A robot stands in (or was released into) a blocked zone and is paused there, or the
    /// zone was lifted and it drives again.
    ZoneHold {
        /// Robot.
        robot: u32,
        /// Held (`true`) or let go.
        held: bool,
    },
}

/// What one coordinator tick produced; the point in time is [`crate::Tick`].
#[derive(Clone, Debug, Default)]
pub struct CoordTick {
    /// Messages to send, by robot index.
    pub outbound: Vec<(u32, Outbound)>,
    /// Events.
    pub events: Vec<CoordEvent>,
    /// Seconds spent per phase, by the caller's clock ([`Coordinator::tick_timed`]).
    pub phases: Phases,
}

/// Seconds one tick spent in each phase.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Phases {
    /// Allocation.
    pub alloc_s: f64,
    /// Planning one step.
    pub plan_s: f64,
    /// Release and orders.
    pub release_s: f64,
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
    /// Paused by an operator.
    manual_pause: bool,
    /// Stands in (or was released into) a blocked zone: paused and held until it is lifted.
    zone_held: bool,
    order: OrderTrack,
    /// The goal and action last attached to the plan, so each is attached once, and the
    /// global entry index that carries it.
    attached: Option<(Cell, GoalAction, u64)>,
    /// Instant actions waiting for their echo: (message, sent at).
    instant: Option<(InstantActions, u64)>,
    /// A `cancelOrder` sent and not yet reported finished: its action id.
    cancelling: Option<String>,
    /// A `stateRequest` went out since the last state.
    state_requested: bool,
    /// Errors with which the robot refused an order of ours (its own text): the order is
    /// not resent, and the robot is down until no error names it or an operator resets it.
    refused: Vec<String>,
    /// FATAL errors it reports.
    fatal: Vec<String>,
    /// Error texts an operator acknowledged (`reset`): they refuse nothing any more.
    acked: Vec<String>,
    /// Every error it reports, as text (warnings are shown, nothing more).
    errors: Vec<String>,
    /// Emergency stop, protective field or operating mode: why it may not be driven.
    safety: Option<String>,
    /// It reports itself paused (`paused: true`): held where it is.
    self_paused: bool,
    /// Its position lies off the map or away from its released cells: why, and the cell
    /// it stands on if that is on the floor (closed to the others).
    misplaced: Option<(String, Option<Cell>)>,
    /// A fault the wire side found (an unsupported protocol version).
    link_fault: Option<String>,
    /// Its last reported pose: x, y (m), theta (rad).
    pose: Option<(f64, f64, f64)>,
    /// Not driven (silent, or any reason above): tasks back in the queue, cells closed.
    down: bool,
    /// The misplaced cell the closed cells were last computed with.
    closed_at: Option<Cell>,
    /// Its factsheet's `speedMax`, m/s (`INFINITY`: unknown).
    speed_max: f64,
    /// Failed node actions already acted on (ids, while the robot still reports them).
    failed_seen: Vec<String>,
    /// `startCharging` failures in a row: at `action_retries` it is sent to no charger.
    charge_failures: u32,
}

impl Robot {
    /// Whether the robot may not be driven ([`Robot::why_down`] without building the text:
    /// the tick asks this of every robot).
    fn is_down(&self) -> bool {
        self.silent
            || self.link_fault.is_some()
            || !self.refused.is_empty()
            || !self.fatal.is_empty()
            || self.safety.is_some()
            || self.misplaced.is_some()
    }

    /// Why the robot may not be driven, if it may not.
    fn why_down(&self) -> Option<String> {
        let mut why: Vec<String> = Vec::new();
        if self.silent {
            why.push("silent".to_string());
        }
        if let Some(f) = &self.link_fault {
            why.push(f.clone());
        }
        for e in &self.refused {
            why.push(format!("refused an order: {e}"));
        }
        for e in &self.fatal {
            why.push(format!("FATAL {e}"));
        }
        if let Some(s) = &self.safety {
            why.push(s.clone());
        }
        if let Some((m, _)) = &self.misplaced {
            why.push(m.clone());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// The coordinator: see the module documentation.
pub struct Coordinator {
    config: CoordConfig,
    /// The floor's grid with the blocked zones' entry edges removed.
    grid: Grid,
    /// The floor's grid as loaded.
    base_grid: Grid,
    /// Per cell: inside a blocked zone.
    blocked: Vec<bool>,
    /// Per cell: closed to planning (blocked zones, foreign robots, down robots' cells).
    closed: Vec<bool>,
    /// Cells where robots stand that this coordinator does not drive.
    foreign: Vec<Cell>,
    /// Per cell: speed limit from slow zones, m/s (`INFINITY`: none).
    speed_limit: Vec<f64>,
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
    /// The robot whose order is polled first next tick (the order cap's round robin).
    poll_from: usize,
    /// An operator paused the whole fleet: every robot got `startPause`, nothing is planned
    /// or released until resume.
    fleet_paused: bool,
}

impl Coordinator {
    /// A coordinator for `floor` and the robots in `robots` (index = robot id).
    ///
    /// # Panics
    /// If two robots start on one cell or a robot stands off the free cells; the caller
    /// validates reported positions first.
    pub fn new(floor: &Floor, robots: &[RobotSpec], config: CoordConfig) -> Coordinator {
        Coordinator::with_tables(floor, robots, config, TargetTables::new(&floor.grid))
    }

    /// A coordinator whose allocation tables are already computed
    /// ([`TargetTables::for_floor`], which a daemon runs while it waits for its robots):
    /// the first tick then does not stall for them.
    pub fn with_tables(
        floor: &Floor,
        robots: &[RobotSpec],
        config: CoordConfig,
        tables: TargetTables,
    ) -> Coordinator {
        assert_eq!(
            tables.grid().n_cells(),
            floor.grid.n_cells(),
            "tables for another floor"
        );
        let grid = floor.grid.clone();
        let starts: Vec<AgentState> = robots.iter().map(|r| r.start).collect();
        let cells: Vec<Cell> = starts.iter().map(|s| s.cell).collect();
        let alloc = Allocator::new(floor, &cells, config.alloc.clone());
        Coordinator {
            frame: MapFrame::new(&config.map_id, &grid, floor.cell_size_m).placed(config.placement),
            robots: robots
                .iter()
                .map(|r| Robot {
                    serial: r.serial.clone(),
                    battery: 1.0,
                    last_state: 0,
                    online: true,
                    silent: false,
                    manual_out: false,
                    manual_pause: false,
                    zone_held: false,
                    order: OrderTrack::new(&config.manufacturer, &r.serial, &config.instance),
                    attached: None,
                    instant: None,
                    cancelling: None,
                    state_requested: false,
                    refused: Vec::new(),
                    fatal: Vec::new(),
                    acked: Vec::new(),
                    errors: Vec::new(),
                    safety: None,
                    self_paused: false,
                    misplaced: None,
                    link_fault: None,
                    pose: None,
                    down: false,
                    closed_at: None,
                    speed_max: f64::INFINITY,
                    failed_seen: Vec::new(),
                    charge_failures: 0,
                })
                .collect(),
            alloc,
            costs: tables,
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
            blocked: vec![false; grid.n_cells()],
            closed: vec![false; grid.n_cells()],
            foreign: Vec::new(),
            speed_limit: vec![f64::INFINITY; grid.n_cells()],
            base_grid: grid.clone(),
            grid,
            now: 0,
            events: Vec::new(),
            poll_from: 0,
            fleet_paused: false,
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

    /// Reads a robot's state: progress, echoes, battery, errors, safety and position.
    pub fn on_state(&mut self, robot: u32, state: &State) {
        let r = &mut self.robots[robot as usize];
        r.last_state = self.now;
        r.state_requested = false;
        r.battery = (state.battery_state.battery_charge / 100.0).clamp(0.0, 1.0);
        self.read_health(robot, state);
        let r = &mut self.robots[robot as usize];
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
        if progress.foreign
            && r.refused.is_empty()
            && r.order.order_id().is_some()
            && r.order.pending_sends() >= 3
        {
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
        let r = &mut self.robots[robot as usize];
        if let Some(id) = &r.cancelling
            && state
                .action_states
                .iter()
                .any(|s| s.action_id == *id && s.action_status == ActionStatus::Finished)
        {
            // The robot stands still on the node it reported: what it was released beyond
            // goes back to the others, and its next order starts where it stands.
            r.cancelling = None;
            r.order.restart();
            self.exec.rewind();
            self.exec.truncate(robot);
            self.after_rewind();
            self.events.push(CoordEvent::Stopped { robot });
        }
        self.check_position(robot);
        self.read_failed_actions(robot, state);
    }

    /// Whether nobody may be planned into `cell` (a blocked zone, a robot not driven here, or
    /// a cell a down robot stands in or was released into).
    pub fn is_closed(&self, cell: Cell) -> bool {
        self.closed.get(cell.index()).copied().unwrap_or(true)
    }

    /// Why robot `robot` is not driven, if it is not: silent, refused an order, FATAL,
    /// safety stop or mode, misplaced, or an unsupported protocol version.
    pub fn down_reason(&self, robot: u32) -> Option<String> {
        self.robots[robot as usize].why_down()
    }

    /// Every error the robot last reported, as `type: description`.
    pub fn errors(&self, robot: u32) -> &[String] {
        &self.robots[robot as usize].errors
    }

    /// Whether the robot reports itself paused.
    pub fn is_self_paused(&self, robot: u32) -> bool {
        self.robots[robot as usize].self_paused
    }

    /// The robot's last reported pose: x, y (m), theta (rad).
    pub fn pose(&self, robot: u32) -> Option<(f64, f64, f64)> {
        self.robots[robot as usize].pose
    }

    /// A fault found on the wire (an unsupported protocol version), or `None` once it is
    /// gone: the robot is down while it lasts.
    pub fn set_link_fault(&mut self, robot: u32, fault: Option<String>) {
        self.robots[robot as usize].link_fault = fault;
    }

    /// An operator resets a robot that refused an order: the errors it reports now refuse
    /// nothing any more, and it is driven again from the next tick (a new order from where
    /// it stands). FATAL errors, safety stops and positions are the robot's to clear.
    /// Returns whether there was a refusal to reset.
    pub fn reset(&mut self, robot: u32) -> bool {
        let r = &mut self.robots[robot as usize];
        let had = !r.refused.is_empty() || r.link_fault.is_some();
        let refused = std::mem::take(&mut r.refused);
        r.acked.extend(refused);
        r.link_fault = None;
        had
    }

    /// `cancelOrder` for one robot, resent until echoed: it stops at its next node, and once
    /// it reports the cancel finished, the cells it was released beyond that node are given
    /// back (until then they stay its own).
    fn cancel_order(&mut self, robot: u32) -> Outbound {
        let message = self.instant(robot, "cancelOrder");
        self.robots[robot as usize].cancelling = Some(message.actions[0].action_id.clone());
        Outbound::InstantActions(message)
    }

    /// A robot reports a load at startup (it lifted a pod before the coordinator restarted):
    /// the allocator takes the pod off its slot and the robot brings it to one.
    pub fn adopt_load(&mut self, robot: u32, load_id: &str) -> Result<(), CoreError> {
        let pod = self
            .alloc
            .pod_by_name(load_id)
            .ok_or_else(|| CoreError::UnknownLoad(load_id.to_string()))?;
        Ok(self.alloc.adopt(robot, pod)?)
    }

    /// Reads a robot's factsheet (`tick_ms` per tick): its protocol limits bound its orders,
    /// its `speedMax` caps the `maxSpeed` drover writes on edges, and the actions it lists
    /// decide its work: without the configured pick and drop it gets no task, without
    /// startCharging no charger. A factsheet that lists no action at all says nothing about
    /// them (the robot keeps every job).
    pub fn read_factsheet(&mut self, robot: u32, sheet: &drover_vda5050::Factsheet, tick_ms: u64) {
        self.robots[robot as usize]
            .order
            .set_limits(crate::orders::OrderLimits::from_factsheet(sheet, tick_ms));
        let speed = sheet.physical_parameters.speed_max;
        self.robots[robot as usize].speed_max = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            f64::INFINITY
        };
        let listed: Vec<&str> = sheet
            .protocol_features
            .agv_actions
            .iter()
            .filter_map(|a| a.get("actionType").and_then(serde_json::Value::as_str))
            .collect();
        let can = if listed.is_empty() {
            drover_alloc::Capabilities::ALL
        } else {
            let has = |name: &str| listed.contains(&name);
            let names = &self.config.actions;
            drover_alloc::Capabilities {
                lift: has(&names.pick) && has(&names.drop),
                charge: has(&names.charge),
            }
        };
        self.alloc.set_capabilities(robot, can);
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
    /// pod stays with it and goes home when it returns; it gets `cancelOrder`, returned to
    /// send) or puts it back.
    pub fn set_out_of_service(&mut self, robot: u32, out: bool) -> (Vec<Event>, Option<Outbound>) {
        self.robots[robot as usize].manual_out = out;
        let events = self.sync_service(robot);
        (events, out.then(|| self.cancel_order(robot)))
    }

    /// Tells the allocator whether the robot may take work: not silent, not taken out by an
    /// operator, not held in a blocked zone.
    fn sync_service(&mut self, robot: u32) -> Vec<Event> {
        let r = &self.robots[robot as usize];
        let in_service = !r.down && !r.manual_out && !r.zone_held;
        self.alloc.set_in_service(robot, in_service)
    }

    /// `startPause` (or `stopPause`) for one robot, resent until echoed. A paused robot
    /// holds its released cells; robots planned behind it wait for it (the executor's
    /// release rule), so pausing is always safe. A robot held in a blocked zone cannot be
    /// resumed: it drives again when the zone is lifted.
    pub fn pause(&mut self, robot: u32, paused: bool) -> Result<Outbound, CoreError> {
        let r = &mut self.robots[robot as usize];
        if !paused && r.zone_held {
            return Err(CoreError::ZoneHeld {
                serial: r.serial.clone(),
            });
        }
        if !paused && self.fleet_paused {
            return Err(CoreError::FleetPaused {
                serial: r.serial.clone(),
            });
        }
        Ok(self.set_pause(robot, paused))
    }

    /// Pauses (or resumes) the whole fleet: `startPause` to every robot, and nothing planned
    /// or released until resume; resume sends `stopPause` to every robot not paused on its
    /// own (by an operator, or held in a blocked zone). Returns the instant actions to send.
    pub fn set_fleet_paused(&mut self, paused: bool) -> Vec<(u32, Outbound)> {
        self.fleet_paused = paused;
        let action = if paused { "startPause" } else { "stopPause" };
        let robots: Vec<u32> = (0..self.robots.len() as u32)
            .filter(|&r| {
                let robot = &self.robots[r as usize];
                paused || !(robot.manual_pause || robot.zone_held)
            })
            .collect();
        robots
            .into_iter()
            .map(|r| (r, Outbound::InstantActions(self.instant(r, action))))
            .collect()
    }

    /// Whether an operator paused the whole fleet.
    pub fn is_fleet_paused(&self) -> bool {
        self.fleet_paused
    }

    fn set_pause(&mut self, robot: u32, paused: bool) -> Outbound {
        self.robots[robot as usize].manual_pause = paused;
        let action = if paused { "startPause" } else { "stopPause" };
        Outbound::InstantActions(self.instant(robot, action))
    }

    /// Whether the robot is held in a blocked zone.
    pub fn is_zone_held(&self, robot: u32) -> bool {
        self.robots[robot as usize].zone_held
    }

    /// Replaces the zones. Blocked zones lose the edges that lead into them, so no plan and no
    /// distance enters them and no cell in them is released again; robots standing in one
    /// (or already released into one: the VDA base cannot be taken back) are paused with
    /// `startPause`, held by the planner and taken out of the allocator (their tasks go back
    /// to the queue, a carried pod goes home later) until the zone is lifted. Jobs of other
    /// robots whose next goal lies in a blocked zone are given up the same way. Slow zones
    /// put `maxSpeed` on the order edges that touch them. Returns the instant actions to send.
    pub fn set_zones(&mut self, zones: &[ZoneArea]) -> Vec<(u32, Outbound)> {
        let n = self.base_grid.n_cells();
        let mut blocked = vec![false; n];
        let mut limit = vec![f64::INFINITY; n];
        for z in zones {
            for c in z.cells.iter().filter(|c| c.index() < n) {
                match z.max_speed {
                    None => blocked[c.index()] = true,
                    Some(v) => limit[c.index()] = limit[c.index()].min(v),
                }
            }
        }
        self.speed_limit = limit;
        self.blocked = blocked;
        // Plans made before may enter the new zones: restart from the released frontier.
        self.rewind();
        let mut out = Vec::new();
        for i in 0..self.robots.len() {
            let robot = i as u32;
            let touches = (self.exec.first(robot)..=self.exec.released(robot)).any(|k| {
                self.exec
                    .entry(robot, k)
                    .is_some_and(|e| self.blocked[e.cell.index()])
            });
            if touches == self.robots[i].zone_held {
                continue;
            }
            self.robots[i].zone_held = touches;
            self.events.push(CoordEvent::ZoneHold {
                robot,
                held: touches,
            });
            for e in self.sync_service(robot) {
                self.events.push(CoordEvent::Alloc(e));
            }
            if !self.robots[i].manual_pause {
                let action = if touches { "startPause" } else { "stopPause" };
                out.push((robot, Outbound::InstantActions(self.instant(robot, action))));
            }
        }
        self.close_cells();
        out
    }

    /// Rebuilds the grid robots plan on: the floor's, minus every edge into a closed cell.
    /// Closed are the blocked zones, the cells of robots not driven here, and the cells a
    /// silent robot was released into (where it
    /// may stand: nobody else may be planned there until it reports again). Distance tables
    /// and allocation costs start afresh: a stale table would send robots into dead ends
    /// behind a silent robot, and the allocator to pods only reachable through it. The
    /// allocator gives up jobs aimed at closed cells.
    fn close_cells(&mut self) {
        let mut closed = self.blocked.clone();
        for c in &self.foreign {
            closed[c.index()] = true;
        }
        for i in 0..self.robots.len() {
            if !self.robots[i].down {
                continue;
            }
            if let Some((_, Some(c))) = self.robots[i].misplaced {
                closed[c.index()] = true;
            }
            let robot = i as u32;
            for k in self.exec.first(robot)..=self.exec.released(robot) {
                if let Some(e) = self.exec.entry(robot, k) {
                    closed[e.cell.index()] = true;
                }
            }
        }
        let mut grid = self.base_grid.clone();
        for (i, _) in closed.iter().enumerate().filter(|(_, b)| **b) {
            for h in Heading::ALL {
                if let Some(from) = grid.raw_neighbor(Cell(i as u32), h)
                    && !closed[from.index()]
                {
                    grid.set_edge(from, h.opposite(), false);
                }
            }
        }
        self.grid = grid;
        self.closed = closed.clone();
        self.oracle = DistanceOracle::new(&self.grid, Motion::Grid4, self.config.table_cache_bytes);
        self.costs = TargetTables::new(&self.grid);
        for e in self.alloc.avoid(&|c: Cell| closed[c.index()]) {
            self.events.push(CoordEvent::Alloc(e));
        }
    }

    /// Drops every unreleased planned entry; actions attached to dropped entries are attached
    /// again when the robot's plan reaches its goal.
    fn rewind(&mut self) {
        self.exec.rewind();
        self.after_rewind();
    }

    /// After the executor dropped entries: the planner restarts from the released frontier.
    fn after_rewind(&mut self) {
        self.planned = self.exec.frontier();
        for (i, r) in self.robots.iter_mut().enumerate() {
            if r.attached
                .is_some_and(|(.., index)| index > self.exec.last(i as u32))
            {
                r.attached = None;
            }
        }
    }

    /// Cells where robots stand that this coordinator does not drive (a robot that first
    /// reported after startup, at the position it reports): nobody is planned into them.
    /// Plans made before are rewound to the released frontier.
    pub fn set_foreign(&mut self, cells: &[Cell]) {
        let mut cells: Vec<Cell> = cells
            .iter()
            .copied()
            .filter(|c| self.base_grid.contains(*c))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        if cells == self.foreign {
            return;
        }
        self.foreign = cells;
        self.rewind();
        self.close_cells();
    }

    /// Sends every robot `startPause` (on shutdown) until each echoes it.
    pub fn pause_all(&mut self) -> Vec<(u32, Outbound)> {
        (0..self.robots.len() as u32)
            .map(|r| (r, self.set_pause(r, true)))
            .collect()
    }

    /// `factsheetRequest` for a robot whose factsheet drover has not seen (its answer is a
    /// factsheet, so it is not tracked for an echo).
    pub fn factsheet_request(&self, robot: u32) -> Outbound {
        Outbound::InstantActions(self.instant_message(robot, "factsheetRequest"))
    }

    /// One instant action for a robot, id `serial-type-tick`.
    fn instant_message(&self, robot: u32, action_type: &str) -> InstantActions {
        let serial = &self.robots[robot as usize].serial;
        InstantActions {
            header_id: 0,
            timestamp: Timestamp(0),
            version: VERSION.to_string(),
            manufacturer: self.config.manufacturer.clone(),
            serial_number: serial.clone(),
            actions: vec![Action {
                action_type: action_type.to_string(),
                action_id: format!("{serial}-{action_type}-{}", self.now),
                action_description: None,
                blocking_type: BlockingType::None,
                action_parameters: None,
            }],
        }
    }

    /// An instant action resent until the robot's state echoes it.
    fn instant(&mut self, robot: u32, action_type: &str) -> InstantActions {
        let message = self.instant_message(robot, action_type);
        self.robots[robot as usize].instant = Some((message.clone(), self.now));
        message
    }
}
