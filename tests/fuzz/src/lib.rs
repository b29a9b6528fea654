//! What drover's fuzz targets share: the record format robot-intake inputs are split into, the
//! demo floor, the session rig the `session` target drives (and `examples/seeds.rs` plays
//! simulated robots against to write the seed corpus), and the API endpoints of `api_bodies`.
//!
//! An intake input is a list of records separated by NUL bytes (JSON never holds a bare NUL).
//! A record's first byte, the selector, says what the rest is:
//!
//! - `sel & 7` in `0..=5`: a message on topic `Topic::ALL[sel & 7]` (order, instantActions,
//!   state, visualization, connection, factsheet) of robot `SERIALS[(sel >> 3) & 3]` (index 3
//!   is a robot outside the fleet), under manufacturer `acme`, or `other` when `sel & 0x20`;
//! - `sel & 7 == 6`: a message whose topic is the record up to its first `\n`;
//! - `sel & 7 == 7`: a control record, `(sel >> 3) & 3`: 0 ends discovery and starts the
//!   session, 1 ticks the coordinator, 2 and 3 move the clock forward or back by the first
//!   four bytes of the rest (little-endian milliseconds).
//!
//! Bit `0x40` means nothing; the encoders set it so that no selector is a NUL.

use std::sync::OnceLock;

use drover_alloc::{AllocConfig, Errand, ErrandAction, TargetTables, TaskKind};
use drover_core::coord::CoordConfig;
use drover_core::orders::{ActionNames, MapFrame, Placement};
use drover_core::session::{Discovery, Intake, Publish, Session, SessionConfig};
use drover_grid::load::{Floor, parse_floor};
use drover_grid::{Cell, Heading};
use drover_vda5050::{Timestamp, Topic};

/// The rig's clock at the start: ms since the Unix epoch (2026-09-21, as the core tests).
pub const EPOCH: i64 = 1_790_000_000_000;
/// The fleet's serial numbers, then a robot the fleet does not have.
pub const SERIALS: [&str; 4] = ["r1", "r2", "r3", "stranger"];
/// The fleet's manufacturer level.
pub const MANUFACTURER: &str = "acme";
/// How far ahead of the receiver's clock a robot's timestamp may be, ms.
pub const MAX_SKEW_MS: u64 = 5_000;
/// Milliseconds per coordinator tick.
pub const TICK_MS: u64 = 250;

/// The demo floor, parsed once.
pub fn demo_floor() -> &'static Floor {
    static FLOOR: OnceLock<Floor> = OnceLock::new();
    FLOOR.get_or_init(|| {
        let text = include_str!("../../../config/floors/demo.toml");
        parse_floor("demo.toml", text).expect("config/floors/demo.toml parses")
    })
}

/// The robots' map frame of the demo floor (map id `floor`, no placement).
pub fn demo_frame() -> MapFrame {
    let floor = demo_floor();
    MapFrame::new("floor", &floor.grid, floor.cell_size_m)
}

/// One decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A robot message.
    Message {
        /// The MQTT topic.
        topic: String,
        /// The payload.
        payload: &'a [u8],
    },
    /// Discovery ends; the session starts.
    Start,
    /// One coordinator tick.
    Tick,
    /// The clock moves by this many ms.
    Clock(i64),
}

/// The records of an intake input, decoded.
pub fn steps(data: &[u8]) -> impl Iterator<Item = Step<'_>> {
    data.split(|b| *b == 0).filter_map(|record| {
        let (&sel, rest) = record.split_first()?;
        Some(decode(sel, rest))
    })
}

fn decode(sel: u8, rest: &[u8]) -> Step<'_> {
    let which = usize::from((sel >> 3) & 3);
    match sel & 7 {
        t @ 0..=5 => {
            let manufacturer = if sel & 0x20 == 0 {
                MANUFACTURER
            } else {
                "other"
            };
            let topic = Topic::ALL[usize::from(t)];
            Step::Message {
                topic: format!("uagv/v2/{manufacturer}/{}/{}", SERIALS[which], topic.name()),
                payload: rest,
            }
        }
        6 => {
            let cut = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            Step::Message {
                topic: String::from_utf8_lossy(&rest[..cut]).into_owned(),
                payload: rest.get(cut + 1..).unwrap_or_default(),
            }
        }
        _ => {
            let mut n = [0u8; 4];
            let k = rest.len().min(4);
            n[..k].copy_from_slice(&rest[..k]);
            let ms = i64::from(u32::from_le_bytes(n));
            match which {
                0 => Step::Start,
                1 => Step::Tick,
                2 => Step::Clock(ms),
                _ => Step::Clock(-ms),
            }
        }
    }
}

/// Encodes a message of robot `SERIALS[robot]` on `topic` (under `other` when `foreign`).
pub fn message_record(topic: Topic, robot: usize, foreign: bool, payload: &[u8]) -> Vec<u8> {
    let t = Topic::ALL.iter().position(|x| *x == topic).unwrap_or(0) as u8;
    let sel = 0x40 | t | ((robot as u8 & 3) << 3) | if foreign { 0x20 } else { 0 };
    let mut out = vec![sel];
    out.extend_from_slice(payload);
    out
}

/// Encodes a message on any topic.
pub fn raw_record(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x40 | 6];
    out.extend_from_slice(topic.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// Encodes a control record.
pub fn control_record(step: &Step<'_>) -> Vec<u8> {
    let (which, ms): (u8, i64) = match step {
        Step::Start => (0, 0),
        Step::Tick => (1, 0),
        Step::Clock(ms) if *ms >= 0 => (2, *ms),
        Step::Clock(ms) => (3, -*ms),
        Step::Message { topic, payload } => return raw_record(topic, payload),
    };
    let mut out = vec![0x40 | 7 | (which << 3)];
    if which >= 2 {
        out.extend_from_slice(&(ms.min(u32::MAX as i64) as u32).to_le_bytes());
    }
    out
}

/// Records joined into one input.
pub fn join(records: &[Vec<u8>]) -> Vec<u8> {
    records.join(&0u8)
}

/// The coordinator settings of the core's session tests.
pub fn coord_config() -> CoordConfig {
    CoordConfig {
        alloc: AllocConfig {
            optimal_max: 8,
            battery: None,
            lift_ticks: 0,
            drop_ticks: 0,
            pile_on_max: 3,
            pod_capacity: 100,
            prior_service_ticks: 10.0,
            prior_lead_ticks: 20.0,
            smoothing: 0.3,
            demand_half_life: 100.0,
            slotting: false,
            park_idle: false,
            transport_window: 4,
            max_batch: 64,
            trip_weight: 0,
        },
        seed: 1,
        table_cache_bytes: 16 << 20,
        base_ahead: 2,
        max_lag: 3,
        resend_ticks: 4,
        max_orders_per_tick: 0,
        silent_ticks: 1000,
        map_id: "floor".into(),
        placement: Placement::IDENTITY,
        manufacturer: MANUFACTURER.into(),
        actions: ActionNames::standard(),
        action_retries: 1,
        instance: "run1".into(),
    }
}

/// A state of robot `serial` standing on `cell`, facing east, in protocol `version`.
pub fn state_json(serial: &str, version: &str, cell: Cell, header_id: u32, at_ms: i64) -> Vec<u8> {
    let frame = demo_frame();
    let (x, y) = frame.position(cell);
    let state = serde_json::json!({
        "headerId": header_id, "timestamp": Timestamp(at_ms).to_string(),
        "version": version, "manufacturer": MANUFACTURER, "serialNumber": serial,
        "orderId": "", "orderUpdateId": 0, "lastNodeId": cell.0.to_string(),
        "lastNodeSequenceId": 0, "driving": false, "paused": false,
        "operatingMode": "AUTOMATIC", "nodeStates": [], "edgeStates": [], "actionStates": [],
        "agvPosition": { "x": x, "y": y, "theta": frame.theta(Heading::East), "mapId": "floor",
                         "positionInitialized": true },
        "batteryState": { "batteryCharge": 80.0, "charging": false },
        "errors": [], "loads": [],
        "safetyState": { "eStop": "NONE", "fieldViolation": false },
    });
    serde_json::to_vec(&state).expect("a JSON value serialises")
}

/// Where the rig is.
enum Phase {
    Discovery(Box<Discovery>),
    Session(Box<Session>),
    /// Discovery could not start a session (cannot happen with the anchor robot).
    Over,
}

/// Discovery then a session on the demo floor, fed [`Step`]s. Robot `r1` is located before
/// the first step (at the first park cell, speaking 2.1.0), so a session always starts;
/// `r2` and `r3` are located only if the input says where they are.
pub struct Rig {
    phase: Phase,
    /// The clock, ms since the Unix epoch.
    pub now_ms: i64,
    ticks: u32,
}

impl Rig {
    /// Ticks per input at most (planning is the slow part; the intake is what is fuzzed).
    pub const MAX_TICKS: u32 = 32;

    /// Discovery with `r1` located.
    pub fn new() -> Rig {
        let floor = demo_floor();
        let config = SessionConfig {
            interface: "uagv".into(),
            manufacturer: MANUFACTURER.into(),
            serials: SERIALS[..3].iter().map(|s| s.to_string()).collect(),
            tick_ms: TICK_MS,
            intake: Intake {
                max_clock_skew_ms: MAX_SKEW_MS,
                connection_doubt_ms: 2000,
            },
        };
        let mut discovery = Discovery::new(floor, demo_frame(), config);
        let anchor = state_json(SERIALS[0], "2.1.0", floor.park[0], 0, EPOCH - 1000);
        let topic = format!("uagv/v2/{MANUFACTURER}/{}/state", SERIALS[0]);
        let events = discovery.receive(&topic, &anchor, EPOCH);
        assert!(events.is_empty(), "the anchor robot is located: {events:?}");
        Rig {
            phase: Phase::Discovery(Box::new(discovery)),
            now_ms: EPOCH,
            ticks: 0,
        }
    }

    /// Whether the session runs.
    pub fn started(&self) -> bool {
        matches!(self.phase, Phase::Session(_))
    }

    /// Feeds one step; returns what the session publishes in answer. Panics when a published
    /// message is not JSON.
    pub fn apply(&mut self, step: Step<'_>) -> Vec<Publish> {
        let now = self.now_ms;
        let publish = match (&mut self.phase, step) {
            (Phase::Discovery(d), Step::Message { topic, payload }) => {
                d.receive(&topic, payload, now);
                Vec::new()
            }
            (Phase::Session(s), Step::Message { topic, payload }) => {
                s.receive(&topic, payload, now);
                Vec::new()
            }
            (Phase::Discovery(_), Step::Start) => self.start(),
            (Phase::Session(s), Step::Tick) if self.ticks < Rig::MAX_TICKS => {
                self.ticks += 1;
                let tick = s.tick(now, &|| 0.0);
                self.now_ms += TICK_MS as i64;
                tick.publish
            }
            (_, Step::Clock(ms)) => {
                self.now_ms = self.now_ms.saturating_add(ms);
                Vec::new()
            }
            _ => Vec::new(),
        };
        for p in &publish {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&p.payload).is_ok(),
                "{} carries no JSON: {:?}",
                p.path,
                String::from_utf8_lossy(&p.payload)
            );
        }
        publish
    }

    /// Ends discovery: the session starts with a transport for each robot it drives, and
    /// greets the robots whose factsheet it lacks.
    fn start(&mut self) -> Vec<Publish> {
        let Phase::Discovery(d) = std::mem::replace(&mut self.phase, Phase::Over) else {
            return Vec::new();
        };
        let floor = demo_floor();
        let Ok((mut session, _events)) = d.start(coord_config(), TargetTables::new(&floor.grid))
        else {
            return Vec::new();
        };
        let width = floor.grid.width();
        for col in [30, 20, 10] {
            let kind = TaskKind::Transport {
                errands: vec![Errand {
                    cell: Cell(19 * width + col),
                    action: ErrandAction::Visit,
                }],
            };
            let _ = session.coordinator_mut().allocator().submit(kind, 0, None);
        }
        let publish = session.greet(self.now_ms);
        self.phase = Phase::Session(Box::new(session));
        publish
    }
}

impl Default for Rig {
    fn default() -> Rig {
        Rig::new()
    }
}

/// The API endpoints `api_bodies` sends bodies to, by selector (`sel % ENDPOINTS.len()`).
pub const ENDPOINTS: [(&str, &str); 5] = [
    ("POST", "/api/tasks"),
    ("POST", "/api/tasks/batch"),
    ("POST", "/api/stations/pick-1/staff"),
    ("POST", "/api/zones"),
    ("PUT", "/api/pods"),
];
