//! Forged and junk robot messages against a running `droverd demo`: a foreign MQTT
//! client on the embedded broker forges a state stamped in 2099 with the highest header id, a
//! `CONNECTIONBROKEN` and a state in VDA 5050 3.0, and the real robots are still driven 10 s
//! later; 50,000 junk messages write at most 100 log lines and are all counted in `/metrics`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, free_port, repo, request, temp_dir, wait_for};
use serde_json::{Value, json};

/// `droverd demo` as [`common::start`] runs it, with its log (`DROVERD_LOG=warn`, no colours)
/// in `data_dir/stderr.log` and an open embedded broker (anyone may publish: the forger).
fn start_logged(data_dir: &Path, robots: usize, queued: usize) -> (Daemon, PathBuf) {
    let api: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let broker_port = free_port();
    let log = data_dir.join("stderr.log");
    let child = Command::new(env!("CARGO_BIN_EXE_droverd"))
        .current_dir(repo())
        .args(["demo", "--config", "config/droverd.toml"])
        .args(["--robots", &robots.to_string()])
        .args(["--queued", &queued.to_string()])
        .args(["--speed", "8"])
        .args(["--seed", "1"])
        .args(["--listen", &api.to_string()])
        .args(["--broker-listen", &format!("127.0.0.1:{broker_port}")])
        .arg("--open-broker")
        .arg("--data-dir")
        .arg(data_dir)
        .env("DROVERD_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("DROVERD_WRITE_TOKEN")
        .env_remove("DROVERD_READ_TOKEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start droverd");
    let daemon = Daemon {
        child,
        api,
        broker: broker_port,
        data_dir: data_dir.to_path_buf(),
    };
    wait_for(Duration::from_secs(30), "the API to answer", || {
        request(api, "GET", "/api/floor", None, None)
            .ok()
            .map(|r| r.0 == 200)
    });
    wait_for(Duration::from_secs(30), "every robot located", || {
        Some(daemon.get_json("/api/robots").as_array()?.len() == robots)
    });
    (daemon, log)
}

/// WARN and ERROR lines in the daemon's log.
fn log_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .map(str::to_string)
        .collect()
}

/// `/metrics` samples: (name with labels, value).
fn metrics(d: &Daemon) -> Vec<(String, f64)> {
    let (status, text) = d.req("GET", "/metrics", None, None);
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn sum(samples: &[(String, f64)], name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(n, _)| {
            (n == name || n.starts_with(&format!("{name}{{")))
                && labels.iter().all(|l| n.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

/// An MQTT client of one's own on the daemon's embedded broker, as anyone on the network
/// could run.
struct Forger {
    rt: tokio::runtime::Runtime,
    session: Option<drover_gateway::Session>,
}

impl Forger {
    fn connect(port: u16) -> Forger {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let session = rt.block_on(async {
            let addr = drover_gateway::BrokerAddr::local(port);
            let (session, mut rx) =
                drover_gateway::Session::start(&addr, drover_gateway::SessionConfig::new("forger"));
            while let Some(m) = rx.recv().await {
                if m == drover_gateway::Incoming::Connected {
                    break;
                }
            }
            session
        });
        Forger {
            rt,
            session: Some(session),
        }
    }

    /// Publishes, waiting while the client's request queue is full.
    fn publish(&self, topic: &str, qos: u8, retain: bool, payload: Vec<u8>) {
        let session = self.session.as_ref().unwrap();
        self.rt.block_on(async {
            while session
                .publish(topic, qos, retain, payload.clone())
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }

    fn disconnect(mut self) {
        let session = self.session.take().unwrap();
        self.rt.block_on(async {
            // Let the queue drain before DISCONNECT.
            tokio::time::sleep(Duration::from_millis(500)).await;
            session.disconnect().await;
        });
    }
}

fn now_stamp() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    drover_vda5050::Timestamp(ms).to_string()
}

/// A state for `serial` that passes every check but its header.
fn state(serial: &str, header_id: u32, timestamp: &str, x: f64, y: f64) -> Vec<u8> {
    json!({
        "headerId": header_id, "timestamp": timestamp, "version": "2.1.0",
        "manufacturer": "drover-sim", "serialNumber": serial,
        "orderId": "", "orderUpdateId": 0, "lastNodeId": "", "lastNodeSequenceId": 0,
        "driving": false, "operatingMode": "AUTOMATIC",
        "nodeStates": [], "edgeStates": [], "actionStates": [],
        "agvPosition": { "x": x, "y": y, "theta": 0.0, "mapId": "floor",
                         "positionInitialized": true },
        "batteryState": { "batteryCharge": 80.0, "charging": false },
        "errors": [], "safetyState": { "eStop": "NONE", "fieldViolation": false },
    })
    .to_string()
    .into_bytes()
}

fn connection(serial: &str, connection_state: &str, timestamp: &str) -> Vec<u8> {
    json!({
        "headerId": 0, "timestamp": timestamp, "version": "2.1.0",
        "manufacturer": "drover-sim", "serialNumber": serial,
        "connectionState": connection_state,
    })
    .to_string()
    .into_bytes()
}

/// A robot as the API shows it is driven: online, not silent, not faulted.
fn assert_driven(robot: &Value) {
    assert_eq!(robot["online"], true, "{robot}");
    assert_eq!(robot["silent"], false, "{robot}");
    assert_eq!(robot["fault"], Value::Null, "{robot}");
}

#[test]
fn forged_robot_messages_leave_the_real_robots_driven() {
    let dir = temp_dir("intake-forged");
    let (d, log) = start_logged(&dir, 4, 12);
    let forger = Forger::connect(d.broker);
    let du1 = d.get_json("/api/robots/du-0001");
    let (x, y) = (du1["x"].as_f64().unwrap(), du1["y"].as_f64().unwrap());

    // Issue 22's forgeries: a state for du-0001 with the highest header id stamped in 2099,
    // the same stamped now (a header-id jump), and a CONNECTIONBROKEN for du-0002 stamped
    // now and retained, as a last will is; a state for du-0003 in a version drover cannot speak.
    let topic = |serial: &str, t: &str| format!("uagv/v2/drover-sim/{serial}/{t}");
    let forged_at = Instant::now();
    forger.publish(
        &topic("du-0001", "state"),
        0,
        false,
        state("du-0001", u32::MAX, "2099-01-01T00:00:00.00Z", x, y),
    );
    forger.publish(
        &topic("du-0001", "state"),
        0,
        false,
        state("du-0001", u32::MAX, &now_stamp(), x, y),
    );
    forger.publish(
        &topic("du-0002", "connection"),
        1,
        true,
        connection("du-0002", "CONNECTIONBROKEN", &now_stamp()),
    );
    let mut v: Value = serde_json::from_slice(&state("du-0003", 1, &now_stamp(), x, y)).unwrap();
    v["version"] = json!("3.0.0");
    forger.publish(
        &topic("du-0003", "state"),
        0,
        false,
        v.to_string().into_bytes(),
    );
    forger.disconnect();

    // Ten seconds later both are still driven: online, not silent, not faulted, moving.
    let ten_s = forged_at + Duration::from_secs(10);
    let robots = ["du-0001", "du-0002", "du-0003"];
    let mut seen: Vec<Vec<(u64, u64)>> = vec![Vec::new(); robots.len()];
    while Instant::now() < ten_s {
        for (k, serial) in robots.iter().enumerate() {
            let r = d.get_json(&format!("/api/robots/{serial}"));
            assert_driven(&r);
            let p = (r["x"].as_f64().unwrap(), r["y"].as_f64().unwrap());
            let p = (p.0.to_bits(), p.1.to_bits());
            if seen[k].last() != Some(&p) {
                seen[k].push(p);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let before: Vec<usize> = seen.iter().map(Vec::len).collect();
    // And they keep moving after those 10 s.
    for (k, serial) in robots.iter().enumerate() {
        let last = *seen[k].last().unwrap();
        wait_for(Duration::from_secs(20), &format!("{serial} moving"), || {
            let r = d.get_json(&format!("/api/robots/{serial}"));
            assert_driven(&r);
            let p = (r["x"].as_f64()?.to_bits(), r["y"].as_f64()?.to_bits());
            Some(p != last)
        });
    }
    let samples = metrics(&d);
    let skew = sum(
        &samples,
        "drover_mqtt_rejected_total",
        &["robot=\"du-0001\"", "reason=\"clock_skew\""],
    );
    let jump = sum(
        &samples,
        "drover_mqtt_rejected_total",
        &["robot=\"du-0001\"", "reason=\"header_jump\""],
    );
    let doubted = sum(
        &samples,
        "drover_robot_connection_doubted_total",
        &["robot=\"du-0002\""],
    );
    let version = sum(
        &samples,
        "drover_mqtt_rejected_total",
        &["robot=\"du-0003\"", "reason=\"unsupported_version\""],
    );
    println!(
        "forged: du-0001 state 2099 + header jump, du-0002 CONNECTIONBROKEN, du-0003 state in 3.0.0; refused clock_skew={skew} header_jump={jump} unsupported_version={version}, connection doubted={doubted}; positions seen in the 10 s after: {before:?}; all online, not silent, not faulted, moving after 10 s"
    );
    println!("log lines (WARN/ERROR): {:#?}", log_lines(&log));
    assert_eq!(skew, 1.0);
    assert_eq!(jump, 1.0);
    assert_eq!(doubted, 1.0);
    assert_eq!(version, 1.0);
    assert!(
        before.iter().all(|n| *n >= 2),
        "moved within 10 s: {before:?}"
    );
}

#[test]
fn fifty_thousand_junk_messages_are_counted_and_write_at_most_100_log_lines() {
    const N: usize = 50_000;
    let dir = temp_dir("intake-flood");
    let (mut d, log) = start_logged(&dir, 4, 12);
    let lines_before = log_lines(&log).len();
    let before = metrics(&d);
    let forger = Forger::connect(d.broker);
    let stamp = now_stamp();
    let mut sent_by_kind = [0usize; 11];
    let started = Instant::now();
    for k in 0..N {
        let serial = format!("du-000{}", 1 + k % 4);
        let kind = k % 11;
        let (topic, payload) = match kind {
            // Malformed JSON on known robots' topics.
            0 => (
                format!("uagv/v2/drover-sim/{serial}/state"),
                b"{\"headerId\": 1,".to_vec(),
            ),
            1 => (
                format!("uagv/v2/drover-sim/{serial}/factsheet"),
                vec![0xff, 0xfe, 0x00, b'{'],
            ),
            // Robots nobody knows, each under its own serial (label "unknown").
            2 => (
                format!("uagv/v2/drover-sim/forged-{k}/state"),
                state(&format!("forged-{k}"), 1, &stamp, 1.0, 1.0),
            ),
            3 => (
                format!("uagv/v2/other-maker/{serial}/connection"),
                connection(&serial, "ONLINE", &stamp),
            ),
            // Topics that are no VDA 5050 topic path.
            4 => ("uagv/v2/drover-sim//state".to_string(), b"{}".to_vec()),
            // Valid-looking states with bad fields.
            5 => {
                let mut v: Value =
                    serde_json::from_slice(&state(&serial, 7, &stamp, 1.0, 1.0)).unwrap();
                v["batteryState"] = json!("full");
                (
                    format!("uagv/v2/drover-sim/{serial}/state"),
                    v.to_string().into_bytes(),
                )
            }
            6 => (
                format!("uagv/v2/drover-sim/{serial}/state"),
                state("du-0009", 7, &stamp, 1.0, 1.0),
            ),
            7 => (
                format!("uagv/v2/drover-sim/{serial}/state"),
                state(&serial, k as u32, "2099-01-01T00:00:00.00Z", 1.0, 1.0),
            ),
            8 => {
                let mut v: Value =
                    serde_json::from_slice(&state(&serial, 7, &stamp, 1.0, 1.0)).unwrap();
                v["operatingMode"] = json!("automatic");
                v["speedd"] = json!(1);
                (
                    format!("uagv/v2/drover-sim/{serial}/state"),
                    v.to_string().into_bytes(),
                )
            }
            9 => (
                format!("uagv/v2/drover-sim/{serial}/connection"),
                connection(&serial, "CONNECTIONBROKEN", "2099-01-01T00:00:00.00Z"),
            ),
            // A version drover cannot speak, while the robot's own 2.1 states keep coming.
            _ => {
                let mut v: Value =
                    serde_json::from_slice(&state(&serial, 7, &stamp, 1.0, 1.0)).unwrap();
                v["version"] = json!("3.0.0");
                (
                    format!("uagv/v2/drover-sim/{serial}/state"),
                    v.to_string().into_bytes(),
                )
            }
        };
        forger.publish(&topic, 0, false, payload);
        sent_by_kind[kind] += 1;
    }
    let publish_s = started.elapsed().as_secs_f64();
    forger.disconnect();

    // Wait until the daemon has counted every one: rejected, or dropped by a full queue.
    let rejected_before = sum(&before, "drover_mqtt_rejected_total", &[]);
    let counted = |m: &[(String, f64)]| {
        sum(m, "drover_mqtt_rejected_total", &[]) - rejected_before
            + sum(m, "drover_mqtt_dropped_in_total", &[])
            - sum(&before, "drover_mqtt_dropped_in_total", &[])
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut after = metrics(&d);
    while counted(&after) < N as f64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        after = metrics(&d);
    }
    assert!(d.alive(), "the daemon survived the flood");
    let lines = log_lines(&log);
    let flood_lines = &lines[lines_before..];
    let reasons = [
        "malformed",
        "unknown_robot",
        "bad_topic",
        "header_mismatch",
        "clock_skew",
        "unsupported_version",
    ];
    let by_reason: Vec<(&str, f64)> = reasons
        .iter()
        .map(|r| {
            let label = format!("reason=\"{r}\"");
            (
                *r,
                sum(&after, "drover_mqtt_rejected_total", &[&label])
                    - sum(&before, "drover_mqtt_rejected_total", &[&label]),
            )
        })
        .collect();
    let labels: std::collections::BTreeSet<&str> = after
        .iter()
        .filter(|(n, _)| n.starts_with("drover_mqtt_rejected_total{"))
        .filter_map(|(n, _)| n.split("robot=\"").nth(1)?.split('"').next())
        .collect();
    let dropped = sum(&after, "drover_mqtt_dropped_in_total", &[])
        - sum(&before, "drover_mqtt_dropped_in_total", &[]);
    println!(
        "flood: {N} junk messages sent in {publish_s:.1} s ({sent_by_kind:?} by kind); {} WARN/ERROR log lines; rejected {} (by reason {by_reason:?}), dropped by the full queue {dropped}; robot labels {labels:?}",
        flood_lines.len(),
        counted(&after) - dropped,
    );
    for l in flood_lines {
        println!("  {l}");
    }
    assert!(
        flood_lines.len() <= 100,
        "{} log lines for {N} junk messages",
        flood_lines.len()
    );
    assert!(
        counted(&after) >= N as f64,
        "every junk message is counted: {} of {N}",
        counted(&after)
    );
    assert!(
        labels.len() <= 5,
        "forged serials share robot=\"unknown\": {labels:?}"
    );
    // The fleet still works.
    for r in d.get_json("/api/robots").as_array().unwrap() {
        assert_driven(r);
    }
}
