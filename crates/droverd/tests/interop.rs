//! `droverd run` drives robots nobody here wrote: four virtual vehicles of the npm library
//! vda-5050-lib (VDA 5050 2.0.0, `tests/peers/vda-5050-lib`) over Debian's mosquitto. Picks
//! submitted through the API (after an inventory import through the API) are done; the vehicles' own states show no two of them in one
//! place and no order refused; every message both ways validates against the 2.0.0 schemas.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fail, free_port, repo, request, temp_dir, wait_for};
use drover_vda5050::Version;
use serde_json::{Value, json};

const TASKS: usize = 20;
const TOKEN: &str = "interop-operator";

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the monitor saw on the broker.
#[derive(Default, Debug)]
struct Seen {
    messages: BTreeMap<String, usize>,
    invalid: Vec<String>,
    /// Latest position per vehicle, metres.
    at: BTreeMap<String, (f64, f64)>,
    collisions: Vec<String>,
    refusals: Vec<String>,
    /// Cells each vehicle reported standing on (from its own positions).
    cells_visited: BTreeMap<String, usize>,
}

/// Subscribes to every message of the `acme` robots, validates it against the 2.0.0 schema of
/// its topic, and checks the vehicles' own positions for two within half a metre.
fn monitor(port: u16, seen: Arc<Mutex<Seen>>) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut config = drover_gateway::SessionConfig::new("interop-monitor");
            config.subscriptions = vec![("uagv/v2/acme/+/+".to_string(), 1)];
            config.queue = 100_000;
            let (_session, mut rx) =
                drover_gateway::Session::start(&drover_gateway::BrokerAddr::local(port), config);
            let validators: BTreeMap<&str, jsonschema::Validator> = drover_vda5050::schemas::KINDS
                .iter()
                .map(|k| {
                    let s = drover_vda5050::schemas::schema(Version::V2_0, k);
                    (*k, jsonschema::validator_for(&s).unwrap())
                })
                .collect();
            while let Some(m) = rx.recv().await {
                let drover_gateway::Incoming::Message { topic, payload } = m else {
                    continue;
                };
                let levels: Vec<&str> = topic.split('/').collect();
                let (serial, kind) = (levels[3].to_string(), levels[4]);
                let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                *s.messages.entry(kind.to_string()).or_default() += 1;
                let Ok(value) = serde_json::from_slice::<Value>(&payload) else {
                    s.invalid.push(format!("{topic}: not JSON"));
                    continue;
                };
                if let Some(v) = validators.get(kind) {
                    for e in v.iter_errors(&value) {
                        s.invalid
                            .push(format!("{topic}: {e} at {}: {value}", e.instance_path()));
                    }
                }
                if value.get("version").and_then(Value::as_str) != Some("2.0.0") {
                    s.invalid
                        .push(format!("{topic}: version {:?}", value["version"]));
                }
                if kind == "state" {
                    for e in value["errors"].as_array().into_iter().flatten() {
                        let t = e["errorType"].as_str().unwrap_or_default();
                        let refs = e["errorReferences"].to_string();
                        if t.starts_with("order")
                            || t.starts_with("instantAction")
                            || t == "validationError"
                            || t == "noRouteError"
                            || refs.contains("\"order\"")
                        {
                            let text = format!("{serial}: {e}");
                            if !s.refusals.contains(&text) {
                                s.refusals.push(text);
                            }
                        }
                    }
                }
                if matches!(kind, "state" | "visualization")
                    && let Some(p) = value.get("agvPosition")
                    && let (Some(x), Some(y)) = (p["x"].as_f64(), p["y"].as_f64())
                {
                    if s.at.get(&serial) != Some(&(x, y)) {
                        *s.cells_visited.entry(serial.clone()).or_default() += 1;
                    }
                    s.at.insert(serial.clone(), (x, y));
                    let close: Vec<String> =
                        s.at.iter()
                            .filter(|(o, q)| **o != serial && (q.0 - x).hypot(q.1 - y) < 0.5)
                            .map(|(o, q)| format!("{serial} at ({x:.2}, {y:.2}) and {o} at {q:?}"))
                            .collect();
                    s.collisions.extend(close);
                }
            }
        });
    });
}

/// A command running Node.js, which runs the third-party vehicles; when it is missing the
/// test fails with one line saying how to install it.
fn node() -> Command {
    let found = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !found {
        fail(
            "node not found on PATH: install it with \"apt-get install nodejs npm\" or run bash tests/run.sh, which installs it",
        );
    }
    Command::new("node")
}

#[test]
fn four_third_party_vda_5050_2_0_vehicles_work_picks_through_droverd_run() {
    let mut fleet = node();
    let peer = repo().join("tests/peers/vda-5050-lib");
    if !peer.join("node_modules/vda-5050-lib").is_dir() {
        fail(format!(
            "the third-party vehicles are not installed: run `npm ci` in {} (npm comes with \"apt-get install nodejs npm\") or run bash tests/run.sh, which does both",
            peer.display()
        ));
    }
    let dir = temp_dir("interop");
    let port = free_port();
    let _broker = drover_gateway::mosquitto::Mosquitto::start(port)
        .unwrap_or_else(|e| fail(format!("{e:#}")));
    let seen = Arc::new(Mutex::new(Seen::default()));
    monitor(port, seen.clone());

    // Vehicles stand on the demo floor's first park cells, at the cells' centres.
    let floor_path = repo().join("config/floors/demo.toml");
    let floor =
        drover_grid::load::parse_floor("demo.toml", &std::fs::read_to_string(&floor_path).unwrap())
            .unwrap();
    let frame = drover_core::orders::MapFrame::new("floor", &floor.grid, floor.cell_size_m);
    let serials = ["v1", "v2", "v3", "v4"];
    let vehicles: Vec<Value> = serials
        .iter()
        .zip(&floor.park)
        .map(|(s, cell)| {
            let (x, y) = frame.position(*cell);
            json!({ "serial": s, "x": x, "y": y, "theta": 0.0, "node": cell.0.to_string() })
        })
        .collect();
    let fleet = fleet
        .arg(peer.join("fleet.js"))
        .env("BROKER", format!("mqtt://127.0.0.1:{port}"))
        .env("MANUFACTURER", "acme")
        .env("MAP_ID", "floor")
        .env("VEHICLES", serde_json::to_string(&vehicles).unwrap())
        .env("SPEED", "2")
        .env("TIME_LAPSE", "4")
        .env("STATE_MS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs the third-party vehicles");
    let _fleet = Proc(fleet);

    let api = format!("127.0.0.1:{}", free_port());
    let config = dir.join("droverd.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[broker]
mode = "external"
listen = "127.0.0.1:1883"
url = "mqtt://127.0.0.1:{port}"
client_id = "droverd-interop"
keep_alive_s = 10

[vda5050]
interface = "uagv"
manufacturer = "acme"
map_id = "floor"

[vda5050.actions]
# vda-5050-lib's virtual vehicle lifts only loads of type EPAL.
load_type = "EPAL"

[floor]
path = "{floor}"

[robots]
serials = ["v1", "v2", "v3", "v4"]
count = 0
startup_timeout_s = 30

[coordinator]
tick_ms = 100
base_ahead = 2
max_lag = 3
resend_ms = 1000
max_orders_per_s = 1000
silent_ms = 10000
seed = 1
table_cache_mb = 64

[api]
listen = "{api}"
write_token = "{TOKEN}"
read_token_required = false
zone_ring_speed = 0.5

[store]
data_dir = "{data}"

[log]
format = "pretty"
level = "info"
"#,
            floor = floor_path.display(),
            data = dir.join("data").display(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("droverd.log")).unwrap();
    let daemon = Command::new(env!("CARGO_BIN_EXE_droverd"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("DROVERD_WRITE_TOKEN")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("droverd runs");
    let _daemon = Proc(daemon);
    let api: std::net::SocketAddr = api.parse().unwrap();
    let call = |method: &str, path: &str, body: Option<Value>| {
        let body = body.map(|b| b.to_string());
        request(
            api,
            method,
            path,
            body.as_deref().map(str::as_bytes),
            Some(TOKEN),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    };
    let log_tail = || {
        let text = std::fs::read_to_string(dir.join("droverd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    wait_for(Duration::from_secs(60), "droverd's API", || {
        request(api, "GET", "/api/robots", None, None)
            .ok()
            .map(|(status, body)| status == 200 && body.matches("\"serial\"").count() == 4)
    });

    let stations: Value = serde_json::from_str(&call("GET", "/api/stations", None).1).unwrap();
    for s in stations.as_array().unwrap() {
        if s["kind"] == "pick" {
            let name = s["name"].as_str().unwrap();
            let path = format!("/api/stations/{name}/staff");
            let (status, body) = call("POST", &path, Some(json!({ "associate": name })));
            assert_eq!(status, 200, "{body}");
        }
    }
    // `droverd run` invents no stock: the inventory comes in through the API.
    let pods: Vec<Value> = (0..TASKS)
        .map(|k| json!({ "pod": format!("pod-{:04}", 3 * k + 1), "contents": { format!("SKU-{k}"): 3 } }))
        .collect();
    let (status, body) = call("PUT", "/api/pods", Some(json!({ "pods": pods })));
    assert_eq!(status, 200, "{body}");
    for k in 0..TASKS {
        let task = json!({ "kind": "pick", "sku": format!("SKU-{k}"), "units": 1 });
        let (status, body) = call("POST", "/api/tasks", Some(task));
        assert_eq!(status, 201, "{body}");
    }

    // The associates: each presented pod is picked from and released after a second.
    let start = Instant::now();
    let mut presented_since: BTreeMap<String, Instant> = BTreeMap::new();
    let mut paused = false;
    let done = loop {
        let kpis: Value = serde_json::from_str(&call("GET", "/api/kpis", None).1).unwrap();
        let done = kpis["tasks"]["done"].as_u64().unwrap_or(0) as usize;
        if done >= TASKS {
            break done;
        }
        if done >= 5 && !paused {
            // Instant actions too: an operator pauses a vehicle for two seconds.
            paused = true;
            let (status, body) = call("POST", "/api/robots/v2/pause", None);
            assert_eq!(status, 200, "{body}");
            std::thread::sleep(Duration::from_secs(2));
            let (status, body) = call("POST", "/api/robots/v2/resume", None);
            assert_eq!(status, 200, "{body}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(420),
            "{done} of {TASKS} picks done in 7 minutes; seen {:?}\ndroverd log:\n{}",
            seen.lock().unwrap_or_else(|e| e.into_inner()),
            log_tail()
        );
        let stations: Value = serde_json::from_str(&call("GET", "/api/stations", None).1).unwrap();
        for s in stations.as_array().unwrap() {
            let name = s["name"].as_str().unwrap().to_string();
            if s["presented"].is_null() {
                presented_since.remove(&name);
                continue;
            }
            let since = *presented_since
                .entry(name.clone())
                .or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(1) {
                call("POST", &format!("/api/stations/{name}/release"), None);
                presented_since.remove(&name);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "interop: {done} picks in {minutes:.1} min; messages {:?}; positions per vehicle {:?}",
        seen.messages, seen.cells_visited
    );
    assert!(
        seen.invalid.is_empty(),
        "schema-invalid: {:#?}",
        seen.invalid
    );
    assert!(
        seen.collisions.is_empty(),
        "collisions: {:#?}",
        seen.collisions
    );
    assert!(
        seen.refusals.is_empty(),
        "refused orders: {:#?}",
        seen.refusals
    );
    // drover asked for the factsheets (the vehicles publish them only when asked) and read
    // the vehicles' actions from them.
    for kind in [
        "order",
        "instantActions",
        "state",
        "connection",
        "factsheet",
    ] {
        assert!(
            seen.messages.get(kind).is_some_and(|n| *n > 0),
            "no {kind}: {seen:?}"
        );
    }
}
