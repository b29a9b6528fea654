//! Bad input: random and hostile bodies, paths and queries against every endpoint of a
//! running daemon (no 5xx, every error a JSON body, the daemon keeps running), a 10 MB body,
//! and malformed MQTT payloads on the robots' topics (rejected and counted, the fleet keeps
//! working).

mod common;

use std::time::Duration;

use common::{Daemon, DemoArgs, request, start, temp_dir, wait_for};
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("pick"),
            Just("stow"),
            Just("transport"),
            Just("pod-0001"),
            Just("pick-1"),
            Just("blocked"),
            Just("slow"),
            Just("lift"),
            Just("dwell"),
            Just("du-0001"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("kind".to_string()),
                    Just("pod".to_string()),
                    Just("sku".to_string()),
                    Just("station".to_string()),
                    Just("units".to_string()),
                    Just("errands".to_string()),
                    Just("priority".to_string()),
                    Just("key".to_string()),
                    Just("name".to_string()),
                    Just("mode".to_string()),
                    Just("rect".to_string()),
                    Just("cells".to_string()),
                    Just("associate".to_string()),
                    Just("tasks".to_string()),
                    Just("cell".to_string()),
                    Just("action".to_string()),
                    "\\PC{1,12}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const POSTS: &[&str] = &[
    "/api/tasks",
    "/api/tasks/batch",
    "/api/zones",
    "/api/stations/pick-1/staff",
    "/api/stations/{}/staff",
    "/api/stations/{}/release",
    "/api/robots/du-0001/{}",
    "/api/robots/{}/pause",
    "/api/tasks/{}/cancel",
];
const GETS: &[&str] = &[
    "/api/tasks/{}",
    "/api/robots/{}",
    "/api/tasks?status={}",
    "/api/tasks?limit={}",
    "/api/tasks?after={}",
    "/api/{}",
];

fn check(d: &Daemon, method: &str, path: &str, body: Option<&[u8]>) -> Result<(), TestCaseError> {
    let (status, text) = request(d.api, method, path, body, None)
        .map_err(|e| TestCaseError::fail(format!("{method} {path}: {e}")))?;
    prop_assert!(status < 500, "{method} {path} -> {status}: {text}");
    if status >= 400 {
        let v: Result<Value, _> = serde_json::from_str(&text);
        prop_assert!(
            v.as_ref()
                .is_ok_and(|v| v["error"].is_string() && v["message"].is_string()),
            "{method} {path} -> {status} without a JSON error body: {text:?}"
        );
    }
    Ok(())
}

#[test]
fn hostile_http_and_mqtt_input_is_refused_cleanly() {
    let dir = temp_dir("hostile");
    let mut d = start(
        &dir,
        &DemoArgs {
            queued: 6,
            ..DemoArgs::default()
        },
    );

    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::default());
    let strategy = (
        0..POSTS.len() + GETS.len() + 1,
        json_value(),
        prop::collection::vec(any::<u8>(), 0..300),
        "\\PC{0,30}",
        any::<bool>(),
    );
    runner
        .run(&strategy, |(endpoint, value, raw, text, use_raw)| {
            let fill = |p: &str| p.replace("{}", &encode(&text));
            if endpoint < POSTS.len() {
                let body = if use_raw {
                    raw
                } else {
                    value.to_string().into_bytes()
                };
                check(&d, "POST", &fill(POSTS[endpoint]), Some(&body))?;
            } else if endpoint < POSTS.len() + GETS.len() {
                check(&d, "GET", &fill(GETS[endpoint - POSTS.len()]), None)?;
            } else {
                check(&d, "DELETE", &format!("/api/zones/{}", encode(&text)), None)?;
            }
            Ok(())
        })
        .unwrap();

    // Oversized and odd bodies.
    let huge = vec![b'['; 10 * 1024 * 1024];
    let (status, text) = request(d.api, "POST", "/api/tasks", Some(&huge), None).unwrap();
    assert_eq!(status, 413, "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
    let many: Vec<Value> = (0..10_001)
        .map(|_| json!({"kind": "pick", "pod": "pod-0001"}))
        .collect();
    let (status, _) = d.req(
        "POST",
        "/api/tasks/batch",
        Some(&json!({"tasks": many}).to_string()),
        None,
    );
    assert_eq!(status, 400, "batches are capped");
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let (status, _) = d.req("POST", "/api/tasks", Some(&deep), None);
    assert_eq!(status, 400, "deep nesting is refused, not a stack overflow");
    assert!(d.alive(), "the daemon survived the HTTP fuzzing");

    // Malformed MQTT payloads on the robots' topics, known and unknown robots.
    wait_for(Duration::from_secs(30), "robots", || {
        Some(d.get_json("/api/robots").as_array()?.len() == 8)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = drover_gateway::BrokerAddr::local(d.broker);
        let (session, mut rx) =
            drover_gateway::Session::start(&addr, drover_gateway::SessionConfig::new("fuzzer"));
        while let Some(m) = rx.recv().await {
            if m == drover_gateway::Incoming::Connected {
                break;
            }
        }
        let payloads: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"not json".to_vec(),
            b"{}".to_vec(),
            b"{\"headerId\": -1}".to_vec(),
            vec![0xff, 0xfe, 0x00, 0x01],
            json!({"headerId": 1, "serialNumber": "du-0001", "batteryState": "full"})
                .to_string()
                .into_bytes(),
            "[".repeat(50_000).into_bytes(),
            vec![b'x'; 200_000],
        ];
        for p in &payloads {
            for topic in [
                "uagv/v2/drover-sim/du-0001/state",
                "uagv/v2/drover-sim/du-0002/connection",
                "uagv/v2/drover-sim/nobody/state",
                "uagv/v2/other/du-0001/state",
                "uagv/v2/drover-sim/du-0003/factsheet",
            ] {
                let _ = session.publish(topic, 0, false, p.clone());
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        session.disconnect().await;
    });
    assert!(d.alive(), "the daemon survived malformed MQTT payloads");
    let (_, metrics) = d.req("GET", "/metrics", None, None);
    // Counted per robot and reason: the sum over every label set.
    let rejected: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("drover_mqtt_rejected_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        rejected >= 10.0,
        "malformed messages are counted as rejects ({rejected})"
    );
    // The fleet keeps working: tasks keep getting done.
    let done_before = d.get_json("/api/kpis")["tasks"]["done"].as_u64().unwrap();
    wait_for(
        Duration::from_secs(60),
        "more tasks done after the garbage",
        || Some(d.get_json("/api/kpis")["tasks"]["done"].as_u64()? > done_before),
    );
}
