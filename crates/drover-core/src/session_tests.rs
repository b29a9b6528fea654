//! The robot session driven with plain values: the floor, the coordinator's settings and
//! simulated robots (`Bot`) the tests in `robots` and `operations` share.

use drover_alloc::{AllocConfig, Errand, ErrandAction, TargetTables, TaskKind};
use drover_grid::Cell;
use drover_grid::load::{Floor, parse_floor};
use serde_json::{Value, json};

use crate::coord::{CoordConfig, CoordEvent};
use crate::orders::MapFrame;
use crate::session::{Discovery, Intake, Publish, Session, SessionConfig, SessionEvent};

mod intake;
mod operations;
mod robots;

const EPOCH: i64 = 1_790_000_000_000;

/// droverd's defaults.
const INTAKE: Intake = Intake {
    max_clock_skew_ms: 5000,
    connection_doubt_ms: 2000,
};

fn floor() -> Floor {
    let text = include_str!("../../../config/floors/demo.toml");
    parse_floor("demo.toml", text).unwrap()
}

fn config() -> CoordConfig {
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
        placement: crate::orders::Placement::IDENTITY,
        manufacturer: "acme".into(),
        actions: crate::orders::ActionNames::standard(),
        action_retries: 1,
        instance: "run1".into(),
    }
}

/// A robot as the tests play it: where it stands and what its next state says.
struct Bot {
    serial: String,
    version: &'static str,
    cell: Cell,
    header: u32,
    /// The timestamp of its next state, ms since the epoch ([`step`] sets it to the tick's).
    stamp_ms: i64,
    order_id: String,
    update_id: u32,
    errors: Vec<Value>,
    e_stop: &'static str,
    field_violation: bool,
    mode: &'static str,
    paused: bool,
    position: Option<(f64, f64)>,
    last_seq: u32,
    /// Node actions run so far: (id, type, status, result).
    actions: Vec<(String, String, &'static str, Option<String>)>,
    /// Load ids on the robot; `None`: it cannot sense loads.
    loads: Option<Vec<String>>,
    /// Its picks fail with this reason.
    fail_picks: Option<String>,
    /// Its drops fail, this many more times.
    fail_drops: u32,
}

impl Bot {
    fn new(serial: &str, version: &'static str, cell: Cell) -> Bot {
        Bot {
            serial: serial.into(),
            version,
            cell,
            header: 0,
            stamp_ms: EPOCH,
            order_id: String::new(),
            update_id: 0,
            errors: Vec::new(),
            e_stop: "NONE",
            field_violation: false,
            mode: "AUTOMATIC",
            paused: false,
            position: None,
            last_seq: 0,
            actions: Vec::new(),
            loads: Some(Vec::new()),
            fail_picks: None,
            fail_drops: 0,
        }
    }

    /// The robot's next state, as JSON on its topic.
    fn state(&mut self, frame: &MapFrame) -> (String, Vec<u8>) {
        self.header += 1;
        let (x, y) = self.position.unwrap_or_else(|| frame.position(self.cell));
        // It faces east on the floor, whatever that is in the map.
        let theta = frame.theta(drover_grid::Heading::East);
        let actions: Vec<Value> = self
            .actions
            .iter()
            .map(|(id, t, status, result)| {
                let mut a = json!({ "actionId": id, "actionType": t, "actionStatus": status });
                if let Some(r) = result {
                    a["resultDescription"] = json!(r);
                }
                a
            })
            .collect();
        let mut state = json!({
            "headerId": self.header,
            "timestamp": drover_vda5050::Timestamp(self.stamp_ms).to_string(),
            "version": self.version, "manufacturer": "acme", "serialNumber": self.serial,
            "orderId": self.order_id, "orderUpdateId": self.update_id,
            "lastNodeId": self.cell.0.to_string(), "lastNodeSequenceId": self.last_seq,
            "driving": false, "paused": self.paused, "operatingMode": self.mode,
            "nodeStates": [], "edgeStates": [], "actionStates": actions,
            "agvPosition": { "x": x, "y": y, "theta": theta, "mapId": "floor",
                             "positionInitialized": true },
            "batteryState": { "batteryCharge": 80.0, "charging": false },
            "errors": self.errors,
            "safetyState": { "eStop": self.e_stop, "fieldViolation": self.field_violation },
        });
        if let Some(loads) = &self.loads {
            state["loads"] = loads.iter().map(|l| json!({ "loadId": l })).collect();
        }
        (
            format!("uagv/v2/acme/{}/state", self.serial),
            serde_json::to_vec(&state).unwrap(),
        )
    }

    /// Takes an order: echoes it, jumps to its last released node and runs the actions of
    /// the released nodes on the way (a pick fails if `fail_picks` says so).
    fn drive(&mut self, order: &Value) {
        if order["orderId"] != self.order_id.as_str() {
            self.actions.clear();
        }
        self.order_id = order["orderId"].as_str().unwrap().to_string();
        self.update_id = order["orderUpdateId"].as_u64().unwrap() as u32;
        for n in order["nodes"].as_array().unwrap() {
            if n["released"] != true {
                break;
            }
            self.cell = Cell(n["nodeId"].as_str().unwrap().parse().unwrap());
            self.last_seq = n["sequenceId"].as_u64().unwrap() as u32;
            for a in n["actions"].as_array().unwrap() {
                let (id, t) = (
                    a["actionId"].as_str().unwrap(),
                    a["actionType"].as_str().unwrap(),
                );
                let load = a["actionParameters"]
                    .as_array()
                    .and_then(|p| p.iter().find(|p| p["key"] == "loadId"))
                    .and_then(|p| p["value"].as_str())
                    .map(str::to_string);
                let (status, result) = match (t, &self.fail_picks) {
                    ("pick", Some(why)) => ("FAILED", Some(why.clone())),
                    ("drop", _) if self.fail_drops > 0 => {
                        self.fail_drops -= 1;
                        ("FAILED", Some("slot occupied".to_string()))
                    }
                    _ => ("FINISHED", None),
                };
                if status == "FINISHED"
                    && let (Some(loads), Some(load)) = (self.loads.as_mut(), load)
                {
                    match t {
                        "pick" => loads.push(load),
                        "drop" => loads.retain(|l| *l != load),
                        _ => {}
                    }
                }
                self.actions.push((id.into(), t.into(), status, result));
            }
        }
    }
}

/// A session with `bots` located (through discovery), and a transport submitted for each.
fn located(bots: &mut [Bot]) -> Session {
    located_in(bots, crate::orders::Placement::IDENTITY)
}

/// [`located`] on a floor placed in the robots' map by `placement`.
fn located_in(bots: &mut [Bot], placement: crate::orders::Placement) -> Session {
    let floor = floor();
    let frame = MapFrame::new("floor", &floor.grid, floor.cell_size_m).placed(placement);
    let serials = bots.iter().map(|b| b.serial.clone()).collect();
    let mut discovery = Discovery::new(
        &floor,
        frame.clone(),
        SessionConfig {
            interface: "uagv".into(),
            manufacturer: "acme".into(),
            serials,
            tick_ms: 250,
            intake: INTAKE,
        },
    );
    for b in bots.iter_mut() {
        let (topic, payload) = b.state(&frame);
        assert!(discovery.receive(&topic, &payload, EPOCH).is_empty());
    }
    assert!(discovery.complete());
    let config = CoordConfig {
        placement,
        ..config()
    };
    let (mut session, events) = discovery
        .start(config, TargetTables::for_floor(&floor))
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    // Far across the floor, on the bottom travel row.
    let targets = [Cell(20 * 40 + 30), Cell(20 * 40 + 20), Cell(20 * 40 + 10)];
    for t in targets.iter().take(bots.len()) {
        let kind = TaskKind::Transport {
            errands: vec![Errand {
                cell: *t,
                action: ErrandAction::Visit,
            }],
        };
        session
            .coordinator_mut()
            .allocator()
            .submit(kind, 0, None)
            .unwrap();
    }
    session
}

fn frame(session: &Session) -> MapFrame {
    session.coordinator().frame().clone()
}

/// Ticks once; feeds each bot's state first.
fn step(session: &mut Session, bots: &mut [Bot], t: i64) -> (Vec<Publish>, Vec<SessionEvent>) {
    let f = frame(session);
    let mut events = Vec::new();
    for b in bots.iter_mut() {
        b.stamp_ms = EPOCH + t;
        let (topic, payload) = b.state(&f);
        events.extend(session.receive(&topic, &payload, EPOCH + t));
    }
    let tick = session.tick(EPOCH + t, &|| 0.0);
    events.extend(tick.events);
    (tick.publish, events)
}

fn json_of(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload).unwrap()
}

fn orders_to(publish: &[Publish], serial: &str) -> Vec<Value> {
    publish
        .iter()
        .filter(|p| p.path.serial == serial && p.path.topic == drover_vda5050::Topic::Order)
        .map(json_of)
        .collect()
}

fn downs(events: &[SessionEvent]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Coord(CoordEvent::Down { robot, why }) => Some((*robot, why.clone())),
            _ => None,
        })
        .collect()
}

/// Ticks until the first order to `serial` goes out; returns it.
fn first_order(session: &mut Session, bots: &mut [Bot], serial: &str) -> Value {
    for t in 0..50 {
        let (publish, _) = step(session, bots, t * 250);
        if let Some(o) = orders_to(&publish, serial).pop() {
            return o;
        }
    }
    panic!("no order to {serial}")
}

fn park(k: usize) -> Cell {
    floor().park[k]
}
