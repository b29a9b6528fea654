//! The fleet's wire side as a pure state machine: `(topic, payload, now_ms)` in, coordinator
//! events and `(topic, payload)` to publish out.
//!
//! [`Discovery`] learns where each configured robot stands (its first state), which
//! protocol version it speaks and what its factsheet allows; [`Discovery::start`] builds the
//! [`Coordinator`] from that and hands over to a [`Session`]. The session owns the strict
//! [`Inbox`], each robot's protocol version (read from the `version` in its own headers, so
//! orders and instant actions go out in the version the robot speaks), the per-topic header
//! ids, timestamps, robots that reported too late to be driven, and alerts that are raised
//! once per robot and cause rather than once per message. No socket, no clock, no task:
//! droverd's loop and the simulator's in-process runner drive the coordinator through it, and
//! tests drive it with plain values.
//!
//! Anyone on the broker can speak for a robot, so the session believes what a robot's
//! messages claim only as far as its other messages bear it out ([`Intake`]): the inbox
//! refuses timestamps ahead of the caller's clock and implausible header-id jumps, and a
//! `CONNECTIONBROKEN` or `OFFLINE` that arrives while the robot's states are fresh is held
//! ([`SessionEvent::Doubted`]): a state within [`Intake::connection_doubt_ms`] disproves it,
//! none and it is believed. A state after a believed one brings the robot back online: a
//! robot that reports is connected. A message in a version drover cannot speak takes the
//! robot out of service on the same terms: at once if its states are older than that window,
//! else only if no message in a version drover speaks follows within it.

use std::collections::{BTreeMap, BTreeSet};

use drover_alloc::TargetTables;
use drover_grid::load::Floor;
use drover_grid::{Cell, Heading};
use drover_plan::AgentState;
use drover_vda5050::{
    ConnectionState, Factsheet, HeaderIds, Inbound, Inbox, Reject, State, Timestamp, Topic,
    TopicPath, Version, instant_actions_json,
};

use crate::CoreError;
use crate::coord::{CoordConfig, CoordEvent, Coordinator, Outbound, Phases, RobotSpec};
use crate::orders::MapFrame;

/// What the session needs to know besides the floor.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// First topic level (`uagv`).
    pub interface: String,
    /// The robots' manufacturer level.
    pub manufacturer: String,
    /// The robots to drive, by serial number.
    pub serials: Vec<String>,
    /// Milliseconds per coordinator tick (factsheet timing is converted to ticks).
    pub tick_ms: u64,
    /// How far robots' messages are believed.
    pub intake: Intake,
}

/// How far the session believes what robots' messages claim (before it, one forged state or
/// `CONNECTIONBROKEN` silenced a robot for good).
#[derive(Clone, Copy, Debug)]
pub struct Intake {
    /// Messages stamped more than this ahead of the coordinator's clock are refused
    /// ([`Reject::AheadOfClock`]), ms.
    pub max_clock_skew_ms: u64,
    /// A `CONNECTIONBROKEN` or `OFFLINE` (or a message in a version drover cannot speak) that
    /// arrives less than this after the robot's last state is held this long: a state in
    /// that time disproves it, and it is believed only if none comes. A last will fires after
    /// the robot stopped reporting, so a genuine one is believed at once or this much later,
    /// ms.
    pub connection_doubt_ms: u64,
}

/// One message to publish, with the topic's QoS and retain rule
/// ([`Topic::qos`], [`Topic::retained`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Publish {
    /// Where.
    pub path: TopicPath,
    /// JSON.
    pub payload: Vec<u8>,
}

/// Something the caller logs, counts or shows.
#[derive(Clone, Debug)]
pub enum SessionEvent {
    /// The coordinator's events.
    Coord(CoordEvent),
    /// A message the inbox refused; nothing was acted on.
    Refused(Reject),
    /// A condition an operator should see, raised once per robot and cause.
    Alert {
        /// The robot's serial number.
        serial: String,
        /// What, naming the field where a message was at fault.
        text: String,
    },
    /// A robot of the fleet that was not located at startup reports a position: it is not
    /// driven, and nobody is planned into its cell.
    Late {
        /// Serial.
        serial: String,
        /// Where it stands.
        cell: Cell,
    },
    /// A `CONNECTIONBROKEN` or `OFFLINE` arrived while the robot's states are fresh: held
    /// for [`Intake::connection_doubt_ms`], believed only if no state follows.
    Doubted {
        /// Serial.
        serial: String,
        /// What the message says.
        state: ConnectionState,
        /// Age of the robot's last state when it arrived, ms.
        state_age_ms: i64,
    },
}

/// What one [`Session::tick`] produced.
#[derive(Clone, Debug, Default)]
pub struct SessionTick {
    /// Messages to publish, in order.
    pub publish: Vec<Publish>,
    /// Events.
    pub events: Vec<SessionEvent>,
    /// Seconds spent per phase.
    pub phases: Phases,
}

/// Alerts already raised: (serial, cause).
#[derive(Clone, Debug, Default)]
struct Alerts(BTreeSet<(String, String)>);

impl Alerts {
    /// An alert event the first time `(serial, cause)` comes up.
    fn once(&mut self, serial: &str, cause: &str, text: String) -> Option<SessionEvent> {
        self.0
            .insert((serial.to_string(), cause.to_string()))
            .then(|| SessionEvent::Alert {
                serial: serial.to_string(),
                text,
            })
    }

    /// Forgets `(serial, cause)`, so it is raised again if it comes back.
    fn clear(&mut self, serial: &str, cause: &str) {
        self.0.remove(&(serial.to_string(), cause.to_string()));
    }
}

/// What discovery learnt of one robot from its first usable state.
#[derive(Clone, Debug)]
struct Found {
    start: AgentState,
    loads: Vec<String>,
    /// When its state arrived (the caller's clock), ms.
    at_ms: i64,
}

/// The robot's position as a floor cell, or why it has none.
fn locate(frame: &MapFrame, floor: &Floor, s: &State) -> Result<AgentState, CoreError> {
    let (cell, heading) = match &s.agv_position {
        Some(p) if !p.position_initialized => {
            return Err(CoreError::PositionUninitialized);
        }
        Some(p) if p.map_id != frame.map_id => {
            return Err(CoreError::OtherMap {
                map_id: p.map_id.clone(),
                floor_map: frame.map_id.clone(),
            });
        }
        Some(p) => (
            frame
                .cell_at(p.x, p.y)
                .ok_or(CoreError::OffMap { x: p.x, y: p.y })?,
            frame.heading_at(p.theta),
        ),
        None => (
            s.last_node_id
                .parse()
                .ok()
                .map(Cell)
                .ok_or(CoreError::NoPosition)?,
            Heading::East,
        ),
    };
    if !floor.grid.contains(cell) || !floor.grid.is_free(cell) {
        return Err(CoreError::NotFreeFloor(cell));
    }
    Ok(AgentState { cell, heading })
}

/// Startup: learns where each configured robot stands before the coordinator exists.
pub struct Discovery {
    config: SessionConfig,
    frame: MapFrame,
    floor: Floor,
    inbox: Inbox,
    found: BTreeMap<String, Found>,
    sheets: BTreeMap<String, Factsheet>,
    versions: BTreeMap<String, Version>,
    alerts: Alerts,
}

impl Discovery {
    /// Waits for the robots in `config` on `floor`, which lies in the robots' map as `frame`
    /// says (the coordinator's [`Coordinator::frame`] must be the same).
    pub fn new(floor: &Floor, frame: MapFrame, config: SessionConfig) -> Discovery {
        let mut inbox = Inbox::new(config.intake.max_clock_skew_ms);
        for s in &config.serials {
            inbox.register(&config.manufacturer, s);
        }
        Discovery {
            frame,
            floor: floor.clone(),
            config,
            inbox,
            found: BTreeMap::new(),
            sheets: BTreeMap::new(),
            versions: BTreeMap::new(),
            alerts: Alerts::default(),
        }
    }

    /// Reads one message (retained factsheets and connections, first states).
    pub fn receive(&mut self, topic: &str, payload: &[u8], now_ms: i64) -> Vec<SessionEvent> {
        let received = match self.inbox.receive(topic, payload, Timestamp(now_ms)) {
            Ok(r) => r,
            Err(reject) => return unsupported(&mut self.alerts, reject),
        };
        self.versions
            .insert(received.serial.clone(), received.version);
        let mut events = Vec::new();
        match received.message {
            Inbound::Factsheet(f) => {
                self.sheets.insert(received.serial, *f);
            }
            Inbound::State(s) => match locate(&self.frame, &self.floor, &s) {
                Ok(start) => {
                    let loads = s
                        .loads
                        .iter()
                        .flatten()
                        .filter_map(|l| l.load_id.clone())
                        .collect();
                    self.found.insert(
                        received.serial,
                        Found {
                            start,
                            loads,
                            at_ms: now_ms,
                        },
                    );
                }
                Err(why) => events.extend(self.alerts.once(
                    &received.serial,
                    "locate",
                    format!("not driven until it reports a position on the floor: {why}"),
                )),
            },
            Inbound::Connection(_) | Inbound::Visualization(_) => {}
        }
        events
    }

    /// Whether every configured robot is located.
    pub fn complete(&self) -> bool {
        self.found.len() == self.config.serials.len()
    }

    /// Builds the coordinator for the robots located (the others are not driven, with an
    /// alert each), with `tables` computed beforehand ([`TargetTables::for_floor`]).
    pub fn start(
        mut self,
        coord: CoordConfig,
        tables: TargetTables,
    ) -> Result<(Session, Vec<SessionEvent>), CoreError> {
        let mut events = Vec::new();
        let mut specs = Vec::new();
        let mut taken: BTreeMap<Cell, String> = BTreeMap::new();
        for serial in &self.config.serials {
            let Some(found) = self.found.get(serial) else {
                events.extend(
                    self.alerts.once(
                        serial,
                        "startup",
                        "no usable state at startup: not driven (restart droverd to drive it)"
                            .to_string(),
                    ),
                );
                continue;
            };
            if let Some(other) = taken.get(&found.start.cell) {
                events.extend(self.alerts.once(
                    serial,
                    "startup",
                    format!(
                        "reports cell {}, where {other} stands: not driven",
                        found.start.cell.0
                    ),
                ));
                continue;
            }
            taken.insert(found.start.cell, serial.clone());
            specs.push(RobotSpec {
                serial: serial.clone(),
                start: found.start,
            });
        }
        if specs.is_empty() {
            return Err(CoreError::NoRobot {
                expected: self.config.serials.len(),
            });
        }
        let mut coordinator = Coordinator::with_tables(&self.floor, &specs, coord, tables);
        let tick_ms = self.config.tick_ms;
        let mut wires = Vec::new();
        let mut unread = Vec::new();
        for (robot, spec) in specs.iter().enumerate() {
            let robot = robot as u32;
            match self.sheets.get(&spec.serial) {
                Some(sheet) => coordinator.read_factsheet(robot, sheet, tick_ms),
                None => unread.push(robot),
            }
            // A pod lifted before a restart goes back to a slot from where the robot stands.
            for load in &self.found[&spec.serial].loads {
                if let Err(e) = coordinator.adopt_load(robot, load) {
                    events.extend(self.alerts.once(
                        &spec.serial,
                        "load",
                        format!("reports load {load:?}, which cannot be adopted: {e}"),
                    ));
                }
            }
            wires.push(Wire {
                version: self
                    .versions
                    .get(&spec.serial)
                    .copied()
                    .unwrap_or(Version::NEWEST),
                headers: HeaderIds::default(),
                last_state_ms: Some(self.found[&spec.serial].at_ms),
                doubt: None,
                version_doubt: None,
            });
        }
        let index = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.serial.clone(), i as u32))
            .collect();
        let session = Session {
            coord: coordinator,
            inbox: self.inbox,
            interface: self.config.interface,
            manufacturer: self.config.manufacturer,
            frame: self.frame,
            tick_ms,
            intake: self.config.intake,
            index,
            wires,
            late: BTreeMap::new(),
            alerts: self.alerts,
            unread,
        };
        Ok((session, events))
    }
}

/// The refusal, and for a robot speaking a version drover cannot an alert, once per robot and
/// version (the refusals of its later messages are for counting: the caller limits its log).
fn unsupported(alerts: &mut Alerts, reject: Reject) -> Vec<SessionEvent> {
    let alert = match &reject {
        Reject::UnsupportedVersion {
            serial, version, ..
        } => version_alert(alerts, serial, version),
        _ => None,
    };
    std::iter::once(SessionEvent::Refused(reject))
        .chain(alert)
        .collect()
}

/// The alert for a robot speaking `version`, which drover cannot: once per robot and version.
fn version_alert(alerts: &mut Alerts, serial: &str, version: &str) -> Option<SessionEvent> {
    alerts.once(
        serial,
        &format!("version {version}"),
        format!("speaks VDA 5050 {version:?}; drover speaks 2.0.x and 2.1.x: not driven"),
    )
}

/// Why a robot speaking `version` is not driven.
fn version_fault(version: &str) -> String {
    format!("speaks VDA 5050 {version:?}, which drover cannot")
}

/// One driven robot's wire state.
#[derive(Clone, Debug)]
struct Wire {
    version: Version,
    headers: HeaderIds,
    /// When its last state arrived (the caller's clock), ms.
    last_state_ms: Option<i64>,
    /// A `CONNECTIONBROKEN` or `OFFLINE` held while its states are fresh, and when it came.
    doubt: Option<(ConnectionState, i64)>,
    /// A version drover cannot speak, in a message that came while its states (in one it
    /// can) are fresh, and when it came.
    version_doubt: Option<(String, i64)>,
}

/// The coordinator and its robots' wire side: see the module documentation.
pub struct Session {
    coord: Coordinator,
    inbox: Inbox,
    interface: String,
    manufacturer: String,
    frame: MapFrame,
    tick_ms: u64,
    intake: Intake,
    index: BTreeMap<String, u32>,
    wires: Vec<Wire>,
    late: BTreeMap<String, Cell>,
    alerts: Alerts,
    /// Robots whose factsheet drover has not seen yet.
    unread: Vec<u32>,
}

impl Session {
    /// What to send once coordinating starts: `factsheetRequest` to every robot that has not
    /// published a factsheet (many publish one only when asked), so their limits and actions
    /// are known.
    pub fn greet(&mut self, now_ms: i64) -> Vec<Publish> {
        let unread = std::mem::take(&mut self.unread);
        unread
            .into_iter()
            .map(|r| {
                let m = self.coord.factsheet_request(r);
                self.encode(r, m, now_ms)
            })
            .collect()
    }

    /// The coordinator.
    pub fn coordinator(&self) -> &Coordinator {
        &self.coord
    }

    /// The coordinator, for operator commands (their messages go out through
    /// [`Session::encode`]).
    pub fn coordinator_mut(&mut self) -> &mut Coordinator {
        &mut self.coord
    }

    /// The protocol version robot `robot` speaks (its latest header).
    pub fn version(&self, robot: u32) -> Version {
        self.wires[robot as usize].version
    }

    /// Reads one MQTT message from a robot.
    pub fn receive(&mut self, topic: &str, payload: &[u8], now_ms: i64) -> Vec<SessionEvent> {
        let received = match self.inbox.receive(topic, payload, Timestamp(now_ms)) {
            Ok(r) => r,
            Err(reject) => {
                if let Reject::UnsupportedVersion {
                    serial, version, ..
                } = &reject
                    && let Some(&robot) = self.index.get(serial)
                {
                    let wire = &mut self.wires[robot as usize];
                    let fresh = wire.last_state_ms.is_some_and(|t| {
                        now_ms.saturating_sub(t) < self.intake.connection_doubt_ms as i64
                    });
                    if fresh {
                        // Its states in a version drover speaks are fresh: believed only if
                        // none follows (a forgery must not take a robot out of service).
                        wire.version_doubt.get_or_insert((version.clone(), now_ms));
                        return vec![SessionEvent::Refused(reject)];
                    }
                    self.coord
                        .set_link_fault(robot, Some(version_fault(version)));
                }
                return unsupported(&mut self.alerts, reject);
            }
        };
        let mut events = Vec::new();
        let Some(&robot) = self.index.get(&received.serial) else {
            // A robot of the fleet that missed startup: not driven, but nobody may run
            // into it.
            if let Inbound::State(s) = &received.message
                && let Some(cell) = s
                    .agv_position
                    .as_ref()
                    .and_then(|p| self.frame.cell_at(p.x, p.y))
                    .or_else(|| s.last_node_id.parse().ok().map(Cell))
                && self.late.get(&received.serial) != Some(&cell)
            {
                self.late.insert(received.serial.clone(), cell);
                let cells: Vec<Cell> = self.late.values().copied().collect();
                self.coord.set_foreign(&cells);
                events.push(SessionEvent::Late {
                    serial: received.serial,
                    cell,
                });
            }
            return events;
        };
        let wire = &mut self.wires[robot as usize];
        if wire.version != received.version {
            events.extend(self.alerts.once(
                &received.serial,
                &format!("speaks {}", received.version),
                format!(
                    "speaks VDA 5050 {}: orders and instant actions go out in {}",
                    received.version, received.version
                ),
            ));
            wire.version = received.version;
        }
        // A robot that spoke an unsupported version and now speaks one drover knows.
        self.coord.set_link_fault(robot, None);
        wire.version_doubt = None;
        match received.message {
            Inbound::State(s) => {
                wire.last_state_ms = Some(now_ms);
                // A robot that reports is connected: a held CONNECTIONBROKEN or OFFLINE was
                // wrong (forged, or a will from an earlier connection), and a believed one is
                // over.
                wire.doubt = None;
                if !self.coord.is_online(robot) {
                    self.coord.on_connection(robot, ConnectionState::Online);
                }
                self.coord.on_state(robot, &s);
                let down = self.coord.down_reason(robot);
                match down.filter(|why| why != "silent") {
                    Some(why) => events.extend(self.alerts.once(
                        &received.serial,
                        "down",
                        format!("not driven: {why}"),
                    )),
                    None => self.alerts.clear(&received.serial, "down"),
                }
            }
            Inbound::Connection(c) => {
                let state = c.connection_state;
                let state_age_ms = wire.last_state_ms.map(|t| now_ms.saturating_sub(t));
                let fresh =
                    state_age_ms.is_some_and(|age| age < self.intake.connection_doubt_ms as i64);
                match state_age_ms {
                    Some(state_age_ms) if state != ConnectionState::Online && fresh => {
                        let since = wire.doubt.map_or(now_ms, |(_, since)| since);
                        wire.doubt = Some((state, since));
                        events.push(SessionEvent::Doubted {
                            serial: received.serial,
                            state,
                            state_age_ms,
                        });
                    }
                    _ => {
                        wire.doubt = None;
                        self.coord.on_connection(robot, state);
                    }
                }
            }
            Inbound::Factsheet(f) => self.coord.read_factsheet(robot, &f, self.tick_ms),
            Inbound::Visualization(_) => {}
        }
        events
    }

    /// One coordinator tick at `now_ms` (ms since the Unix epoch, stamped on what goes out),
    /// reading `clock` between phases for the durations it reports.
    pub fn tick(&mut self, now_ms: i64, clock: &dyn Fn() -> f64) -> SessionTick {
        // Held connection and version messages that no state disproved are believed.
        let doubt_ms = self.intake.connection_doubt_ms as i64;
        let mut events = Vec::new();
        for (robot, wire) in self.wires.iter_mut().enumerate() {
            let robot = robot as u32;
            if let Some((state, since)) = wire.doubt
                && now_ms.saturating_sub(since) >= doubt_ms
            {
                wire.doubt = None;
                self.coord.on_connection(robot, state);
            }
            if let Some((version, since)) = &wire.version_doubt
                && now_ms.saturating_sub(*since) >= doubt_ms
            {
                self.coord
                    .set_link_fault(robot, Some(version_fault(version)));
                let serial = self.coord.serial(robot);
                events.extend(version_alert(&mut self.alerts, serial, version));
                wire.version_doubt = None;
            }
        }
        let tick = self.coord.tick_timed(clock);
        let publish = tick
            .outbound
            .into_iter()
            .map(|(robot, message)| self.encode(robot, message, now_ms))
            .collect();
        events.extend(tick.events.into_iter().map(SessionEvent::Coord));
        SessionTick {
            publish,
            events,
            phases: tick.phases,
        }
    }

    /// Stamps a message for `robot` with its next header id, `now_ms` and the version it
    /// speaks, and encodes it for its topic.
    pub fn encode(&mut self, robot: u32, message: Outbound, now_ms: i64) -> Publish {
        let wire = &mut self.wires[robot as usize];
        let version = wire.version.wire().to_string();
        let now = Timestamp(now_ms);
        let (topic, payload) = match message {
            Outbound::Order(mut o) => {
                o.header_id = wire.headers.next(Topic::Order);
                o.timestamp = now;
                o.version = version;
                (Topic::Order, serde_json::to_vec(&o))
            }
            Outbound::InstantActions(mut a) => {
                a.header_id = wire.headers.next(Topic::InstantActions);
                a.timestamp = now;
                a.version = version;
                (
                    Topic::InstantActions,
                    instant_actions_json(&a, wire.version),
                )
            }
        };
        Publish {
            path: TopicPath {
                interface: self.interface.clone(),
                manufacturer: self.manufacturer.clone(),
                serial: self.coord.serial(robot).to_string(),
                topic,
            },
            // Plain structs of strings and numbers: serialising cannot fail.
            payload: payload.unwrap_or_default(),
        }
    }

    /// `startPause` for every robot (on shutdown), encoded.
    pub fn pause_all(&mut self, now_ms: i64) -> Vec<(u32, Publish)> {
        self.coord
            .pause_all()
            .into_iter()
            .map(|(robot, m)| (robot, self.encode(robot, m, now_ms)))
            .collect()
    }
}
