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
//!
//! This file holds the coordinator's state and read-only queries; what robots report is read in
//! `reports`, operator commands in `operator`, zones and closed cells in `zones`, instant
//! actions in `instant`, the per-robot record in `robot`, and the tick in `tick`.

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
use crate::orders::{MapFrame, OrderTrack};

mod instant;
mod operator;
mod reports;
mod robot;
mod tick;
mod zones;

// What the submodules share (they `use super::*`).
use robot::Robot;

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

    /// Whether an operator paused the whole fleet.
    pub fn is_fleet_paused(&self) -> bool {
        self.fleet_paused
    }

    /// Whether the robot is held in a blocked zone.
    pub fn is_zone_held(&self, robot: u32) -> bool {
        self.robots[robot as usize].zone_held
    }
}
