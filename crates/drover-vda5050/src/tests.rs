//! Every message kind validated against the official 2.0.0 and 2.1.0 schemas, typical orders
//! snapshot-tested, timestamps and topics round-tripped, and the inbox's rejections checked.

use serde_json::{Value, json};

use crate::*;

fn schema_in(version: Version, name: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&crate::schemas::schema(version, name))
        .unwrap_or_else(|e| panic!("{version} {name}: {e}"))
}

fn schema(name: &str) -> jsonschema::Validator {
    schema_in(Version::V2_1, name)
}

/// Fails with every schema violation listed, against the 2.0.0 and the 2.1.0 schema.
fn assert_valid(name: &str, message: &impl serde::Serialize) {
    let value = serde_json::to_value(message).unwrap();
    for version in [Version::V2_0, Version::V2_1] {
        let errors: Vec<String> = schema_in(version, name)
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{name} invalid against {version}:\n{}\n{value:#}",
            errors.join("\n")
        );
    }
}

const T0: Timestamp = Timestamp(1_764_000_000_120);

fn node(cell: u32, seq: u32, released: bool, actions: Vec<Action>) -> Node {
    Node {
        node_id: cell.to_string(),
        sequence_id: seq,
        node_description: None,
        released,
        node_position: Some(NodePosition {
            x: (cell % 40) as f64 + 0.5,
            y: (cell / 40) as f64 + 0.5,
            theta: Some(0.0),
            allowed_deviation_x_y: Some(0.05),
            allowed_deviation_theta: Some(0.1),
            map_id: "demo".into(),
            map_description: None,
        }),
        actions,
    }
}

fn edge(from: u32, to: u32, seq: u32, released: bool) -> Edge {
    Edge {
        edge_id: format!("{from}-{to}"),
        sequence_id: seq,
        edge_description: None,
        released,
        start_node_id: from.to_string(),
        end_node_id: to.to_string(),
        max_speed: Some(1.0),
        orientation: None,
        rotation_allowed: Some(false),
        length: Some(1.0),
        actions: vec![],
    }
}

/// Three cells east, the first two released, a pod lifted at the last.
fn typical_order() -> Order {
    let pick = Action {
        action_type: "pick".into(),
        action_id: "pick-pod-0042-1".into(),
        action_description: None,
        blocking_type: BlockingType::Hard,
        action_parameters: Some(vec![
            ActionParameter {
                key: "stationType".into(),
                value: json!("floor"),
            },
            ActionParameter {
                key: "loadType".into(),
                value: json!("pod"),
            },
            ActionParameter {
                key: "loadId".into(),
                value: json!("pod-0042"),
            },
        ]),
    };
    Order {
        header_id: 7,
        timestamp: T0,
        version: VERSION.into(),
        manufacturer: "drover".into(),
        serial_number: "du-0001".into(),
        order_id: "du-0001-17".into(),
        order_update_id: 0,
        zone_set_id: None,
        nodes: vec![
            node(201, 0, true, vec![]),
            node(202, 2, true, vec![]),
            node(203, 4, false, vec![pick]),
        ],
        edges: vec![edge(201, 202, 1, true), edge(202, 203, 3, false)],
    }
}

fn state() -> State {
    State {
        header_id: 3,
        timestamp: T0,
        version: VERSION.into(),
        manufacturer: "drover".into(),
        serial_number: "du-0001".into(),
        maps: None,
        order_id: "du-0001-17".into(),
        order_update_id: 0,
        zone_set_id: None,
        last_node_id: "201".into(),
        last_node_sequence_id: 0,
        driving: true,
        paused: Some(false),
        new_base_request: None,
        distance_since_last_node: Some(0.4),
        operating_mode: OperatingMode::Automatic,
        node_states: vec![NodeState {
            node_id: "202".into(),
            sequence_id: 2,
            node_description: None,
            node_position: None,
            released: true,
        }],
        edge_states: vec![EdgeState {
            edge_id: "201-202".into(),
            sequence_id: 1,
            edge_description: None,
            released: true,
        }],
        agv_position: Some(AgvPosition {
            x: 1.9,
            y: 5.5,
            theta: 0.0,
            map_id: "demo".into(),
            map_description: None,
            position_initialized: true,
            localization_score: None,
            deviation_range: None,
        }),
        velocity: Some(Velocity {
            vx: Some(1.0),
            vy: Some(0.0),
            omega: Some(0.0),
        }),
        loads: Some(vec![]),
        action_states: vec![ActionState {
            action_id: "pick-pod-0042-1".into(),
            action_type: Some("pick".into()),
            action_description: None,
            action_status: ActionStatus::Waiting,
            result_description: None,
        }],
        battery_state: BatteryState {
            battery_charge: 87.5,
            battery_voltage: None,
            battery_health: None,
            charging: false,
            reach: None,
        },
        errors: vec![],
        information: None,
        safety_state: SafetyState {
            e_stop: EStop::None,
            field_violation: false,
        },
    }
}

fn connection(state: ConnectionState, header_id: u32, at: Timestamp) -> Connection {
    Connection {
        header_id,
        timestamp: at,
        version: VERSION.into(),
        manufacturer: "drover".into(),
        serial_number: "du-0001".into(),
        connection_state: state,
    }
}

fn factsheet() -> Factsheet {
    Factsheet {
        header_id: Some(0),
        timestamp: Some(T0),
        version: VERSION.into(),
        manufacturer: "drover".into(),
        serial_number: "du-0001".into(),
        type_specification: TypeSpecification {
            series_name: "drive-unit".into(),
            series_description: Some("simulated pod carrier".into()),
            agv_kinematic: "DIFF".into(),
            agv_class: "CARRIER".into(),
            max_load_mass: 567.0,
            localization_types: vec!["GRID".into(), "DMC".into()],
            navigation_types: vec!["AUTONOMOUS".into()],
        },
        physical_parameters: PhysicalParameters {
            speed_min: 0.0,
            speed_max: 1.5,
            acceleration_max: 1.0,
            deceleration_max: 1.0,
            height_min: Some(0.3),
            height_max: 0.35,
            width: 0.8,
            length: 0.8,
        },
        protocol_limits: ProtocolLimits {
            max_string_lens: json!({"idLen": 32, "idNumericalOnly": false}),
            max_array_lens: json!({"order.nodes": 64, "order.edges": 63, "state.nodeStates": 64}),
            timing: Timing {
                min_order_interval: 0.1,
                min_state_interval: 0.1,
                default_state_interval: Some(30.0),
                visualization_interval: Some(1.0),
            },
        },
        protocol_features: ProtocolFeatures {
            optional_parameters: vec![
                json!({"parameter": "order.edges.maxSpeed", "support": "SUPPORTED"}),
            ],
            // `blockingTypes` is left out: the 2.1 schema declares it an array whose items
            // must equal a string enum, which no value satisfies.
            agv_actions: vec![json!({"actionType": "pick", "actionScopes": ["NODE"]})],
        },
        agv_geometry: json!({}),
        load_specification: json!({"loadSets": [{"setName": "pod", "loadType": "pod"}]}),
        vehicle_config: None,
        localization_parameters: None,
    }
}

#[test]
fn every_message_drover_produces_validates_against_the_2_0_and_2_1_schemas() {
    assert_valid("order", &typical_order());
    let actions = InstantActions {
        header_id: 0,
        timestamp: T0,
        version: VERSION.into(),
        manufacturer: "drover".into(),
        serial_number: "du-0001".into(),
        actions: vec![
            Action {
                action_type: "cancelOrder".into(),
                action_id: "cancel-1".into(),
                action_description: None,
                blocking_type: BlockingType::None,
                action_parameters: None,
            },
            Action {
                action_type: "startPause".into(),
                action_id: "pause-1".into(),
                action_description: Some("associate zone".into()),
                blocking_type: BlockingType::Hard,
                action_parameters: None,
            },
        ],
    };
    assert_valid("instantActions", &actions);
    assert_valid("state", &state());
    assert_valid("connection", &connection(ConnectionState::Online, 0, T0));
    assert_valid(
        "connection",
        &connection(ConnectionState::Connectionbroken, 0, T0),
    );
    assert_valid("factsheet", &factsheet());
    assert_valid(
        "visualization",
        &Visualization {
            header_id: Some(1),
            timestamp: Some(T0),
            version: Some(VERSION.into()),
            manufacturer: Some("drover".into()),
            serial_number: Some("du-0001".into()),
            agv_position: state().agv_position,
            velocity: state().velocity,
        },
    );
}

#[test]
fn the_schema_check_is_real_and_catches_a_broken_order() {
    let mut broken = serde_json::to_value(typical_order()).unwrap();
    broken["nodes"][0]["released"] = json!("yes");
    broken.as_object_mut().unwrap().remove("orderId");
    let errors = schema("order").iter_errors(&broken).count();
    assert!(errors >= 2, "{errors} errors");
}

#[test]
fn a_typical_order_is_stable_on_the_wire() {
    insta::assert_json_snapshot!(typical_order());
}

#[test]
fn messages_round_trip_through_json() {
    let order = typical_order();
    let back: Order = serde_json::from_str(&serde_json::to_string(&order).unwrap()).unwrap();
    assert_eq!(back, order);
    let s = state();
    let back: State = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    let f = factsheet();
    let back: Factsheet = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
    assert_eq!(back, f);
}

#[test]
fn timestamps_are_iso_8601_utc_with_two_fraction_digits() {
    assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.00Z");
    assert_eq!(T0.to_string(), "2025-11-24T16:00:00.12Z");
    let t = Timestamp::parse("1991-03-11T11:40:03.12Z").unwrap();
    assert_eq!(t.to_string(), "1991-03-11T11:40:03.12Z");
    assert_eq!(
        Timestamp::parse("2024-02-29T23:59:59Z").unwrap().0 % 1000,
        0
    );
    assert_eq!(
        Timestamp::parse("2024-02-29T23:59:59.5Z").unwrap().0 + 500,
        Timestamp::parse("2024-03-01T00:00:00.000Z").unwrap().0
    );
    for bad in [
        "",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T24:00:00Z",
        "2024-13-01T00:00:00Z",
    ] {
        assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
    }
    for ms in [0, 1, 999, 86_399_999, 951_782_400_000, 4_102_444_800_000] {
        let t = Timestamp(ms - ms % 10);
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }
}

#[test]
fn topics_follow_the_spec_layout_qos_and_retain_rules() {
    let path = TopicPath::parse("uagv/v2/drover/du-0001/state").unwrap();
    assert_eq!(path.topic, Topic::State);
    assert_eq!(path.to_string(), "uagv/v2/drover/du-0001/state");
    assert!(TopicPath::parse("uagv/v3/drover/du-0001/state").is_err());
    assert!(TopicPath::parse("uagv/v2/drover/state").is_err());
    assert!(TopicPath::parse("uagv/v2/drover/+/state").is_err());
    assert!(TopicPath::parse("uagv/v2/drover/du-0001/status").is_err());
    let table: Vec<(&str, u8, bool)> = Topic::ALL
        .iter()
        .map(|t| (t.name(), t.qos(), t.retained()))
        .collect();
    assert_eq!(
        table,
        [
            ("order", 0, false),
            ("instantActions", 0, false),
            ("state", 0, false),
            ("visualization", 0, false),
            ("connection", 1, true),
            ("factsheet", 0, true),
        ]
    );
    let mut ids = HeaderIds::default();
    assert_eq!((ids.next(Topic::Order), ids.next(Topic::Order)), (0, 1));
    assert_eq!(ids.next(Topic::InstantActions), 0, "one counter per topic");
}

const STATE: &str = "uagv/v2/drover/du-0001/state";

fn send(
    inbox: &mut Inbox,
    topic: &str,
    message: &impl serde::Serialize,
) -> Result<Received, Reject> {
    inbox.receive(topic, &serde_json::to_vec(message).unwrap(), NOW)
}

/// The coordinator's clock in the inbox tests: a minute after `T0`.
const NOW: Timestamp = Timestamp(T0.0 + 60_000);
/// The clock skew the inbox tests allow, ms.
const SKEW_MS: u64 = 5000;

#[test]
fn the_inbox_rejects_unknown_robots_mismatched_headers_and_wrong_directions() {
    let mut inbox = Inbox::new(SKEW_MS);
    assert!(matches!(
        send(&mut inbox, STATE, &state()),
        Err(Reject::UnknownRobot { .. })
    ));
    inbox.register("drover", "du-0001");
    assert!(send(&mut inbox, STATE, &state()).is_ok());
    let mut other = state();
    other.header_id = 4;
    other.serial_number = "du-0002".into();
    assert!(matches!(
        send(&mut inbox, STATE, &other),
        Err(Reject::HeaderMismatch { .. })
    ));
    let order_topic = "uagv/v2/drover/du-0001/order";
    assert!(matches!(
        send(&mut inbox, order_topic, &typical_order()),
        Err(Reject::WrongDirection { .. })
    ));
    assert!(matches!(
        inbox.receive("garbage", b"{}", NOW),
        Err(Reject::BadTopic(_))
    ));
}

#[test]
fn the_inbox_drops_duplicates_and_stale_states_and_counts_gaps() {
    let mut inbox = Inbox::new(SKEW_MS);
    inbox.register("drover", "du-0001");
    let at = |id: u32, ms: i64| {
        let mut s = state();
        s.header_id = id;
        s.timestamp = Timestamp(T0.0 + ms);
        s
    };
    assert_eq!(send(&mut inbox, STATE, &at(10, 0)).unwrap().lost, 0);
    assert!(matches!(
        send(&mut inbox, STATE, &at(10, 0)),
        Err(Reject::Duplicate { .. })
    ));
    assert!(matches!(
        send(&mut inbox, STATE, &at(9, -5)),
        Err(Reject::Stale { .. })
    ));
    assert_eq!(
        send(&mut inbox, STATE, &at(13, 30)).unwrap().lost,
        2,
        "11 and 12 lost"
    );
    // A reboot restarts the counter; the newer timestamp tells it from a stale message.
    assert!(send(&mut inbox, STATE, &at(0, 60_000)).is_ok());
    // The last will's header is outdated by design and retained ONLINE comes back unchanged:
    // connection messages are never dropped as duplicates.
    let conn = "uagv/v2/drover/du-0001/connection";
    let online = connection(ConnectionState::Online, 5, T0);
    assert!(send(&mut inbox, conn, &online).is_ok());
    assert!(send(&mut inbox, conn, &online).is_ok());
    let will = connection(ConnectionState::Connectionbroken, 0, Timestamp(0));
    let got = send(&mut inbox, conn, &will).unwrap();
    assert!(
        matches!(got.message, Inbound::Connection(c) if c.connection_state == ConnectionState::Connectionbroken)
    );
}

#[test]
fn a_message_stamped_ahead_of_the_clock_is_refused_and_locks_nobody_out() {
    let mut inbox = Inbox::new(SKEW_MS);
    inbox.register("drover", "du-0001");
    let at = |id: u32, ms: i64| {
        let mut s = state();
        s.header_id = id;
        s.timestamp = Timestamp(NOW.0 + ms);
        s
    };
    assert!(send(&mut inbox, STATE, &at(10, -100)).is_ok());
    // Within the skew: a robot whose clock runs a little ahead.
    assert!(send(&mut inbox, STATE, &at(11, 5000)).is_ok());
    // A forgery: the highest id, stamped in 2099.
    let mut forged = state();
    forged.header_id = u32::MAX;
    forged.timestamp = Timestamp::parse("2099-01-01T00:00:00.00Z").unwrap();
    let err = send(&mut inbox, STATE, &forged).unwrap_err();
    assert!(
        matches!(
            err,
            Reject::AheadOfClock {
                max_skew_ms: 5000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "clock_skew");
    assert_eq!(err.serial().as_deref(), Some("du-0001"));
    assert!(
        send(&mut inbox, STATE, &at(12, 5010)).is_err(),
        "10 ms past the skew"
    );
    // The robot's next genuine states are taken.
    assert!(send(&mut inbox, STATE, &at(12, 100)).is_ok());
    // Connection messages are checked too.
    let conn = "uagv/v2/drover/du-0001/connection";
    let broken = connection(ConnectionState::Connectionbroken, 0, forged.timestamp);
    assert!(matches!(
        send(&mut inbox, conn, &broken),
        Err(Reject::AheadOfClock { .. })
    ));
}

#[test]
fn a_header_id_jump_counts_only_once_the_next_message_confirms_it() {
    let mut inbox = Inbox::new(SKEW_MS);
    inbox.register("drover", "du-0001");
    let at = |id: u32, ms: i64| {
        let mut s = state();
        s.header_id = id;
        s.timestamp = Timestamp(NOW.0 + ms);
        s
    };
    assert!(send(&mut inbox, STATE, &at(100, 0)).is_ok());
    // A forged id far ahead, stamped now: refused, not the new baseline.
    let err = send(&mut inbox, STATE, &at(u32::MAX, 10)).unwrap_err();
    assert_eq!(err.reason(), "header_jump", "{err}");
    // The genuine robot continues from 100 and is taken; its ids stay the baseline.
    assert_eq!(send(&mut inbox, STATE, &at(101, 20)).unwrap().lost, 0);
    assert_eq!(send(&mut inbox, STATE, &at(103, 30)).unwrap().lost, 1);
    // A jump of exactly MAX_HEADER_JUMP is plausible.
    let far = 103 + MAX_HEADER_JUMP;
    assert!(send(&mut inbox, STATE, &at(far, 40)).is_ok());
    // A counter that really jumped: refused once, then confirmed by the next message.
    let jumped = far + MAX_HEADER_JUMP + 1;
    assert!(send(&mut inbox, STATE, &at(jumped, 50)).is_err());
    assert_eq!(
        send(&mut inbox, STATE, &at(jumped + 2, 60)).unwrap().lost,
        2
    );
    // A genuine message in between drops a held jump: two forgeries must come back to back.
    let base = jumped + 2;
    assert!(send(&mut inbox, STATE, &at(base + 5000, 70)).is_err());
    assert!(send(&mut inbox, STATE, &at(base + 1, 80)).is_ok());
    assert!(send(&mut inbox, STATE, &at(base + 5001, 90)).is_err());
    // A reboot still restarts the counter: a low id with a current, newer timestamp.
    assert!(send(&mut inbox, STATE, &at(0, 1000)).is_ok());
    assert!(send(&mut inbox, STATE, &at(1, 1100)).is_ok());
}

#[test]
fn malformed_robot_messages_say_which_field_and_why() {
    let mut inbox = Inbox::new(SKEW_MS);
    inbox.register("drover", "du-0001");
    let mut value = serde_json::to_value(state()).unwrap();
    let mut cases = Vec::new();
    let mut check = |v: &Value| {
        let err = inbox
            .receive(STATE, &serde_json::to_vec(v).unwrap(), NOW)
            .unwrap_err();
        cases.push(err.to_string());
    };
    value.as_object_mut().unwrap().remove("orderId");
    check(&value);
    value["orderId"] = json!("o");
    value["batteryState"]["charging"] = json!("no");
    check(&value);
    value["batteryState"]["charging"] = json!(false);
    value["operatingMode"] = json!("automatic");
    check(&value);
    value["operatingMode"] = json!("AUTOMATIC");
    value["speedd"] = json!(1);
    check(&value);
    value.as_object_mut().unwrap().remove("speedd");
    value["timestamp"] = json!("yesterday");
    check(&value);
    let truncated = inbox.receive(STATE, b"{\"headerId\": 1,", NOW).unwrap_err();
    cases.push(truncated.to_string());
    insta::assert_snapshot!(cases.join("\n"));
    // PAUSED is in the 2.1 text (6.11) though not in its schema: accepted.
    let mut paused = state();
    paused.header_id = 50;
    paused.action_states[0].action_status = ActionStatus::Paused;
    assert!(send(&mut inbox, STATE, &paused).is_ok());
}
