//! The robot session driven with plain values: protocol versions per robot, and each robot
//! fault (refused order, FATAL, WARNING, emergency stop, mode, own pause, position) acted on.

use drover_alloc::{AllocConfig, Errand, ErrandAction, TargetTables, TaskKind};
use drover_grid::Cell;
use drover_grid::load::{Floor, parse_floor};
use serde_json::{Value, json};

use crate::coord::{CoordConfig, CoordEvent};
use crate::orders::MapFrame;
use crate::session::{Discovery, Publish, Session, SessionConfig, SessionEvent};

const EPOCH: i64 = 1_790_000_000_000;

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
            "headerId": self.header, "timestamp": "2026-12-07T10:00:00.00Z",
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

#[test]
fn each_robot_gets_orders_and_instant_actions_in_its_own_version() {
    let mut bots = [
        Bot::new("old", "2.0.0", park(0)),
        Bot::new("new", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    assert_eq!(
        first_order(&mut session, &mut bots, "old")["version"],
        "2.0.0"
    );
    assert_eq!(
        first_order(&mut session, &mut bots, "new")["version"],
        "2.1.0"
    );
    let pause = session.coordinator_mut().pause(0, true).unwrap();
    let message = json_of(&session.encode(0, pause, EPOCH));
    assert_eq!(message["version"], "2.0.0");
    // 2.0 robots built on the first 2.0.0 schema read `instantActions`, the rest `actions`.
    assert_eq!(message["actions"], message["instantActions"]);
    let pause = session.coordinator_mut().pause(1, true).unwrap();
    let message = json_of(&session.encode(1, pause, EPOCH));
    assert_eq!(message["version"], "2.1.0");
    assert!(message.get("instantActions").is_none());
}

#[test]
fn a_robot_that_changes_version_is_answered_in_the_new_one() {
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    bots[0].version = "2.0.0";
    let (_, events) = step(&mut session, &mut bots, 0);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::Alert { text, .. } if text.contains("2.0.0"))),
        "{events:?}"
    );
    assert_eq!(
        first_order(&mut session, &mut bots, "a")["version"],
        "2.0.0"
    );
}

#[test]
fn an_unsupported_version_is_alerted_once_and_the_robot_is_not_driven() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    bots[0].version = "3.0.0";
    let mut alerts = 0;
    let mut orders = 0;
    let mut refused = 0;
    for t in 0..40 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        orders += orders_to(&publish, "a").len();
        for e in &events {
            match e {
                SessionEvent::Alert { serial, text } if serial == "a" => {
                    assert!(text.contains("3.0.0"), "{text}");
                    alerts += 1;
                }
                SessionEvent::Refused(_) => refused += 1,
                _ => {}
            }
        }
    }
    assert_eq!(alerts, 1, "one alert, not one per message");
    assert_eq!(refused, 0, "nothing logged per message after the alert");
    assert_eq!(orders, 0, "nothing sent to a robot drover cannot speak to");
    assert!(
        session
            .coordinator()
            .down_reason(0)
            .unwrap()
            .contains("3.0.0")
    );
    // Back on 2.0: driven again.
    bots[0].version = "2.0.0";
    assert_eq!(
        first_order(&mut session, &mut bots, "a")["version"],
        "2.0.0"
    );
}

#[test]
fn a_refused_order_is_never_resent_and_the_robot_waits_for_a_reset() {
    let mut bots = [
        Bot::new("a", "2.0.0", park(0)),
        Bot::new("b", "2.0.0", park(1)),
    ];
    let mut session = located(&mut bots);
    let order = first_order(&mut session, &mut bots, "a");
    let order_id = order["orderId"].as_str().unwrap().to_string();
    assert!(!session.coordinator().alloc().robot_tasks(0).is_empty());
    // The robot refuses it, as a 2.0 robot refuses a 2.1 order.
    bots[0].errors = vec![json!({
        "errorType": "validationError", "errorLevel": "WARNING",
        "errorDescription": "order version 2.1.0 is not compatible with client version 2.0.0",
        "errorReferences": [{ "referenceKey": "orderId", "referenceValue": order_id }],
    })];
    let (publish, events) = step(&mut session, &mut bots, 10_000);
    assert_eq!(orders_to(&publish, "a"), Vec::<Value>::new());
    let down = downs(&events);
    assert_eq!(down.len(), 1, "{events:?}");
    assert!(down[0].1.contains("not compatible"), "{down:?}");
    // Its task went back to the queue; b may take it.
    assert!(session.coordinator().alloc().robot_tasks(0).is_empty());
    let mut resent = 0;
    for t in 0..60 {
        resent += orders_to(&step(&mut session, &mut bots, 11_000 + t * 250).0, "a").len();
    }
    assert_eq!(resent, 0, "a refused order is not resent");
    // The robot still reports the error (spec: until a new order is accepted): a reset.
    assert!(session.coordinator_mut().reset(0));
    let order = first_order(&mut session, &mut bots, "a");
    assert_ne!(
        order["orderId"],
        json!(order_id),
        "a new order, not the refused one"
    );
}

#[test]
fn a_refusal_naming_no_order_counts_while_our_order_waits_for_its_echo() {
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    first_order(&mut session, &mut bots, "a");
    bots[0].errors = vec![json!({ "errorType": "noRouteError", "errorLevel": "WARNING" })];
    let (_, events) = step(&mut session, &mut bots, 10_000);
    assert_eq!(downs(&events).len(), 1, "{events:?}");
    // The error clears by itself: driven again with a new order.
    bots[0].errors.clear();
    let (_, events) = step(&mut session, &mut bots, 10_250);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::Coord(CoordEvent::Up { robot: 0 }))),
        "{events:?}"
    );
    first_order(&mut session, &mut bots, "a");
}

#[test]
fn a_fatal_robot_leaves_service_on_the_first_tick_and_a_warning_changes_nothing() {
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    first_order(&mut session, &mut bots, "a");
    bots[0].errors = vec![json!({ "errorType": "batteryLow", "errorLevel": "WARNING" })];
    let (_, events) = step(&mut session, &mut bots, 10_000);
    assert!(downs(&events).is_empty(), "{events:?}");
    assert!(!session.coordinator().alloc().robot_tasks(0).is_empty());
    assert_eq!(session.coordinator().errors(0), ["batteryLow"]);
    bots[0].errors = vec![json!({
        "errorType": "motorFault", "errorLevel": "FATAL", "errorDescription": "left wheel"
    })];
    let (publish, events) = step(&mut session, &mut bots, 10_250);
    assert_eq!(
        downs(&events),
        vec![(0, "FATAL motorFault: left wheel".into())]
    );
    assert!(session.coordinator().alloc().robot_tasks(0).is_empty());
    assert!(orders_to(&publish, "a").is_empty());
    assert!(
        !session.coordinator_mut().reset(0),
        "FATAL is the robot's to clear"
    );
}

#[test]
fn an_emergency_stop_or_manual_mode_closes_the_robots_cells_on_the_first_tick() {
    for (e_stop, field, mode, why) in [
        ("MANUAL", false, "AUTOMATIC", "emergency stop MANUAL"),
        ("NONE", true, "AUTOMATIC", "protective field violated"),
        ("NONE", false, "MANUAL", "operating mode MANUAL"),
    ] {
        let mut bots = [
            Bot::new("a", "2.1.0", park(0)),
            Bot::new("b", "2.1.0", park(1)),
        ];
        let mut session = located(&mut bots);
        first_order(&mut session, &mut bots, "a");
        let cell = session.coordinator().position(0);
        assert!(!session.coordinator().is_closed(cell));
        bots[0].e_stop = e_stop;
        bots[0].field_violation = field;
        bots[0].mode = mode;
        let (_, events) = step(&mut session, &mut bots, 10_000);
        assert_eq!(downs(&events), vec![(0, why.into())]);
        assert!(session.coordinator().is_closed(cell), "{why}");
        // Cleared: back in service, cells open.
        bots[0].e_stop = "NONE";
        bots[0].field_violation = false;
        bots[0].mode = "AUTOMATIC";
        step(&mut session, &mut bots, 10_250);
        assert!(session.coordinator().down_reason(0).is_none());
        assert!(!session.coordinator().is_closed(cell));
    }
}

#[test]
fn a_robot_that_pauses_itself_is_held() {
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    bots[0].paused = true;
    for t in 0..30 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        assert!(downs(&events).is_empty());
        for o in orders_to(&publish, "a") {
            let released = o["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["released"] == true)
                .count();
            assert_eq!(released, 1, "nothing released beyond where it stands: {o}");
        }
    }
    assert!(session.coordinator().is_self_paused(0));
}

#[test]
fn a_robot_off_the_map_or_off_its_cells_is_held_with_an_alert() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    bots[0].position = Some((-5.0, 3.0));
    let (_, events) = step(&mut session, &mut bots, 0);
    let down = downs(&events);
    assert!(down[0].1.contains("off the map"), "{down:?}");
    assert!(events.iter().any(
        |e| matches!(e, SessionEvent::Alert { serial, text } if serial == "a" && text.contains("off the map"))
    ));
    // Pushed by hand to a cell of the floor that was never released to it.
    let elsewhere = park(5);
    let f = frame(&session);
    bots[0].position = Some(f.position(elsewhere));
    let (_, events) = step(&mut session, &mut bots, 250);
    assert!(downs(&events).is_empty(), "still down, for another reason");
    let why = session.coordinator().down_reason(0).unwrap();
    assert!(why.contains("away from its released cells"), "{why}");
    assert!(
        session.coordinator().is_closed(elsewhere),
        "nobody runs into it there"
    );
    // Back where the plan has it.
    bots[0].position = None;
    step(&mut session, &mut bots, 500);
    assert!(session.coordinator().down_reason(0).is_none());
}

#[test]
fn hostile_robot_messages_are_refused_without_loss() {
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    // 10,000 errors in one state, an unknown version string, a malformed factsheet.
    bots[0].errors = (0..10_000)
        .map(|k| json!({ "errorType": format!("e{k}"), "errorLevel": "WARNING" }))
        .collect();
    let (_, events) = step(&mut session, &mut bots, 0);
    assert!(downs(&events).is_empty());
    assert_eq!(session.coordinator().errors(0).len(), 10_000);
    bots[0].errors.clear();
    for version in ["banana", "1.1.0", ""] {
        bots[0].version = version;
        step(&mut session, &mut bots, 250);
    }
    bots[0].version = "2.1.0";
    let sheet = br#"{"version": "2.1.0", "manufacturer": "acme", "serialNumber": "a"}"#;
    let events = session.receive("uagv/v2/acme/a/factsheet", sheet, EPOCH);
    let [SessionEvent::Refused(reject)] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(reject.to_string().contains("typeSpecification"), "{reject}");
    first_order(&mut session, &mut bots, "a");
}

#[test]
fn a_paused_fleet_gets_start_pause_and_nothing_more_is_released() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    // The robots echo what they get (and stay put).
    let run = |session: &mut Session, bots: &mut [Bot], from: i64, ticks: i64| {
        let mut orders = Vec::new();
        for t in from..from + ticks {
            let (publish, _) = step(session, bots, t * 250);
            for b in bots.iter_mut() {
                for o in orders_to(&publish, &b.serial) {
                    b.order_id = o["orderId"].as_str().unwrap().to_string();
                    b.update_id = o["orderUpdateId"].as_u64().unwrap() as u32;
                    orders.push(o);
                }
            }
        }
        orders
    };
    // Paused before anything was released: the robots' work waits for the resume.
    let pause = session.coordinator_mut().set_fleet_paused(true);
    assert_eq!(pause.len(), 2);
    for (robot, m) in pause {
        let m = json_of(&session.encode(robot, m, EPOCH));
        assert_eq!(m["actions"][0]["actionType"], "startPause");
    }
    assert!(session.coordinator().is_fleet_paused());
    // Paused: nothing goes out, though both robots have a task.
    assert_eq!(run(&mut session, &mut bots, 0, 40), Vec::<Value>::new());
    assert!(!session.coordinator().alloc().robot_tasks(0).is_empty());
    let err = session.coordinator_mut().pause(0, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the fleet is paused; robot a resumes with the fleet"
    );
    let resume = session.coordinator_mut().set_fleet_paused(false);
    assert_eq!(resume.len(), 2);
    let orders = run(&mut session, &mut bots, 40, 20);
    assert!(
        orders.iter().any(|o| o["serialNumber"] == "a"),
        "driven again"
    );
}

#[test]
fn a_floor_rotated_and_shifted_in_the_map_drives_the_same_plan() {
    use crate::orders::Placement;
    let turned = Placement {
        x: 100.0,
        y: -20.0,
        rotation: std::f64::consts::FRAC_PI_2,
    };
    let orders = |placement: Placement| {
        let mut bots = [
            Bot::new("a", "2.1.0", park(0)),
            Bot::new("b", "2.1.0", park(1)),
        ];
        let mut session = located_in(&mut bots, placement);
        let mut out = Vec::new();
        for t in 0..40 {
            let (publish, events) = step(&mut session, &mut bots, t * 250);
            assert!(downs(&events).is_empty(), "{events:?}");
            for b in bots.iter_mut() {
                for o in orders_to(&publish, &b.serial) {
                    b.order_id = o["orderId"].as_str().unwrap().to_string();
                    b.update_id = o["orderUpdateId"].as_u64().unwrap() as u32;
                    out.push(o);
                }
            }
        }
        out
    };
    let (plain, placed) = (orders(Placement::IDENTITY), orders(turned));
    assert!(!plain.is_empty());
    assert_eq!(plain.len(), placed.len());
    for (p, q) in plain.iter().zip(&placed) {
        let ids = |o: &Value| -> Vec<Value> {
            o["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["nodeId"].clone())
                .collect()
        };
        assert_eq!(ids(p), ids(q), "the same cells in the same order");
        for (n, m) in p["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .zip(q["nodes"].as_array().unwrap())
        {
            let (a, b) = (&n["nodePosition"], &m["nodePosition"]);
            let (x, y) = (a["x"].as_f64().unwrap(), a["y"].as_f64().unwrap());
            // Turned a quarter counter-clockwise, then shifted.
            assert!(
                (b["x"].as_f64().unwrap() - (100.0 - y)).abs() < 1e-9,
                "{a} -> {b}"
            );
            assert!(
                (b["y"].as_f64().unwrap() - (-20.0 + x)).abs() < 1e-9,
                "{a} -> {b}"
            );
            let dt = b["theta"].as_f64().unwrap() - a["theta"].as_f64().unwrap();
            let dt = dt.rem_euclid(std::f64::consts::TAU);
            assert!(
                (dt - std::f64::consts::FRAC_PI_2).abs() < 1e-9,
                "{a} -> {b}"
            );
        }
    }
}

/// A factsheet listing `actions`, with `speed_max` m/s.
fn factsheet(serial: &str, actions: &[&str], speed_max: f64) -> Vec<u8> {
    let actions: Vec<Value> = actions
        .iter()
        .map(|a| json!({ "actionType": a, "actionScopes": ["NODE"] }))
        .collect();
    serde_json::to_vec(&json!({
        "headerId": 0, "timestamp": "2026-12-07T10:00:00.00Z", "version": "2.1.0",
        "manufacturer": "acme", "serialNumber": serial,
        "typeSpecification": { "seriesName": "s", "agvKinematic": "DIFF", "agvClass": "CARRIER",
            "maxLoadMass": 500.0, "localizationTypes": ["DMC"], "navigationTypes": ["AUTONOMOUS"] },
        "physicalParameters": { "speedMin": 0.0, "speedMax": speed_max, "accelerationMax": 1.0,
            "decelerationMax": 1.0, "heightMax": 0.4, "width": 0.8, "length": 0.8 },
        "protocolLimits": { "maxStringLens": {}, "maxArrayLens": {},
            "timing": { "minOrderInterval": 0.0, "minStateInterval": 0.0 } },
        "protocolFeatures": { "optionalParameters": [], "agvActions": actions },
        "agvGeometry": {}, "loadSpecification": {},
    }))
    .unwrap()
}

#[test]
fn a_robot_whose_factsheet_lacks_pick_and_drop_gets_no_task() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    // Neither published a factsheet before coordinating started: both are asked for one.
    let greet = session.greet(EPOCH);
    assert_eq!(greet.len(), 2);
    for p in &greet {
        assert_eq!(json_of(p)["actions"][0]["actionType"], "factsheetRequest");
    }
    assert!(session.greet(EPOCH).is_empty(), "asked once");
    let sheet = factsheet("a", &["startPause", "stopPause", "startCharging"], 1.0);
    assert!(
        session
            .receive("uagv/v2/acme/a/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    let sheet = factsheet("b", &["pick", "drop", "startCharging"], 1.0);
    assert!(
        session
            .receive("uagv/v2/acme/b/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    let coord = session.coordinator();
    assert!(!coord.alloc().capabilities(0).lift && coord.alloc().capabilities(0).charge);
    assert!(coord.alloc().capabilities(1).lift);
    for t in 0..20 {
        step(&mut session, &mut bots, t * 250);
        assert!(
            session.coordinator().alloc().robot_tasks(0).is_empty(),
            "tick {t}"
        );
    }
    assert!(!session.coordinator().alloc().robot_tasks(1).is_empty());
}

#[test]
fn slow_zone_limits_never_exceed_the_robots_speed_max() {
    use crate::coord::ZoneArea;
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    let sheet = factsheet("a", &[], 0.4);
    assert!(
        session
            .receive("uagv/v2/acme/a/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    // A slow zone of 2 m/s over the whole floor: above what the robot can do.
    let cells = (0..40 * 22).map(Cell).collect();
    let pauses = session.coordinator_mut().set_zones(&[ZoneArea {
        cells,
        max_speed: Some(2.0),
    }]);
    assert!(pauses.is_empty());
    let order = first_order(&mut session, &mut bots, "a");
    let edges = order["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "{order}");
    for e in edges {
        assert_eq!(e["maxSpeed"], 0.4, "{e}");
    }
}

#[test]
fn a_failed_pick_leaves_the_pod_in_its_slot_and_the_task_fails_after_its_retries() {
    use drover_alloc::{PodId, PodLoc, PodSel, StationId, TaskState};
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    // Only the pick: the transport `located` submitted is cancelled.
    let coord = session.coordinator_mut();
    let transport = coord.alloc().tasks()[0].id;
    coord.allocator().cancel(transport).unwrap();
    coord.allocator().staff(StationId(0), "ann");
    let pod = PodId(0);
    let PodLoc::Slot(slot) = coord.alloc().pod_loc(pod) else {
        panic!("pods start in slots")
    };
    let kind = TaskKind::Pick {
        pod: PodSel::Pod(pod),
        station: None,
        units: 1,
    };
    let task = coord.allocator().submit(kind, 0, None).unwrap();
    bots[0].fail_picks = Some("no pod under the robot".into());
    let mut failures = Vec::new();
    for t in 0..400 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        for e in &events {
            if let SessionEvent::Coord(CoordEvent::ActionFailed { action, reason, .. }) = e {
                failures.push((action.clone(), reason.clone()));
            }
        }
        for o in orders_to(&publish, "a") {
            bots[0].drive(&o);
        }
        if session
            .coordinator()
            .alloc()
            .task(task)
            .unwrap()
            .state
            .is_final()
        {
            break;
        }
    }
    let alloc = session.coordinator().alloc();
    assert_eq!(
        alloc.task(task).unwrap().state,
        TaskState::Failed {
            reason: "no pod under the robot (tried 2 times)".into()
        },
        "tried once more (action_retries 1), then failed with the robot's words"
    );
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| f == &("pick".to_string(), "no pod under the robot".to_string()))
    );
    assert_eq!(
        alloc.pod_loc(pod),
        PodLoc::Slot(slot),
        "the pod never left its slot"
    );
    assert_eq!(alloc.carrying(0), None);
}

#[test]
fn a_failed_drop_keeps_the_pod_on_the_robot_until_a_drop_succeeds() {
    use drover_alloc::PodLoc;
    // The robot starts carrying pod-0001 (lifted before a restart): it must set it down.
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    bots[0].loads = Some(vec!["pod-0001".into()]);
    bots[0].fail_drops = 1;
    let mut session = located(&mut bots);
    let coord = session.coordinator_mut();
    let transport = coord.alloc().tasks()[0].id;
    coord.allocator().cancel(transport).unwrap();
    let pod = coord.alloc().pod_by_name("pod-0001").unwrap();
    assert_eq!(
        coord.alloc().pod_loc(pod),
        PodLoc::Robot(0),
        "adopted at startup"
    );
    let mut failed = 0;
    let mut stored = None;
    for t in 0..400 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        for e in &events {
            match e {
                SessionEvent::Coord(CoordEvent::ActionFailed { action, .. }) => {
                    assert_eq!(action, "drop");
                    failed += 1;
                    // The robot still has it, and the allocator knows.
                    let alloc = session.coordinator().alloc();
                    assert_eq!(alloc.pod_loc(pod), PodLoc::Robot(0));
                    assert_eq!(alloc.carrying(0), Some(pod));
                }
                SessionEvent::Coord(CoordEvent::Alloc(drover_alloc::Event::PodStored {
                    slot,
                    ..
                })) => {
                    stored = Some(*slot);
                }
                _ => {}
            }
        }
        for o in orders_to(&publish, "a") {
            bots[0].drive(&o);
        }
        if stored.is_some() {
            break;
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(bots[0].loads, Some(Vec::new()), "the second drop worked");
    assert!(stored.is_some());
    let PodLoc::Slot(_) = session.coordinator().alloc().pod_loc(pod) else {
        panic!("the pod ends in a slot")
    };
}
