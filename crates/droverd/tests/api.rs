//! The HTTP API against a real `droverd demo` process: tasks (idempotent submit, batch,
//! list, get, cancel), robots, stations, zones, auth, SSE, metrics, OpenAPI and Swagger UI.

mod common;

use std::time::Duration;

use common::{DemoArgs, start, temp_dir, wait_for};
use serde_json::{Value, json};

const TOKEN: &str = "s3cret";

/// Cell ids from a JSON array.
fn cell_ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect()
}

/// Whether a demo-floor cell (40 x 22, walled) lies next to the outer wall.
fn at_floor_edge(cell: i64) -> bool {
    let (r, c) = (cell / 40, cell % 40);
    r <= 1 || c <= 1 || r >= 20 || c >= 38
}

#[test]
fn the_api_drives_a_shift() {
    let dir = temp_dir("api");
    let d = start(
        &dir,
        &DemoArgs {
            token: Some(TOKEN),
            ..DemoArgs::default()
        },
    );
    let post = |path: &str, body: &Value| d.req("POST", path, Some(&body.to_string()), Some(TOKEN));

    // Writes need the token; the refusal is JSON.
    let (status, body) = d.req(
        "POST",
        "/api/tasks",
        Some(r#"{"kind":"pick","sku":"x"}"#),
        None,
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "unauthorized"
    );
    let (status, _) = d.req("POST", "/api/tasks", Some("{}"), Some("wrong"));
    assert_eq!(status, 401);

    let floor = d.get_json("/api/floor");
    assert_eq!(floor["name"], "demo");
    let live = d.get_json("/api/live");
    let _ = live;

    // A SKU that exists on the demo floor: ask the API for a pod's contents via a task that
    // names the pod instead (pod names are stable: pod-0001 ...).
    let (status, body) = post(
        "/api/tasks",
        &json!({"kind": "pick", "pod": "pod-0001", "station": "pick-1", "key": "order-1"}),
    );
    assert_eq!(status, 201, "{body}");
    let first: Value = serde_json::from_str(&body).unwrap();
    let id = first["id"].as_u64().unwrap();
    assert_eq!(first["task"]["pod"], "pod-0001");

    // Same key, same body: the first task. Same key, other body: conflict.
    let (status, body) = post(
        "/api/tasks",
        &json!({"kind": "pick", "pod": "pod-0001", "station": "pick-1", "key": "order-1"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["id"], id);
    let (status, body) = post(
        "/api/tasks",
        &json!({"kind": "pick", "pod": "pod-0002", "key": "order-1"}),
    );
    assert_eq!(status, 409, "{body}");

    // Clear refusals, nothing stored.
    for (bad, needle) in [
        (json!({"kind": "pick"}), "exactly one of pod or sku"),
        (
            json!({"kind": "pick", "pod": "pod-0001", "station": "stow-1"}),
            "stow station",
        ),
        (json!({"kind": "fly", "pod": "pod-0001"}), "unknown variant"),
        (
            json!({"kind": "pick", "pod": "pod-0001", "colour": "red"}),
            "unknown field",
        ),
        (
            json!({"kind": "transport", "errands": []}),
            "at least one errand",
        ),
        (
            json!({"kind": "transport", "errands": [{"cell": 0, "action": "visit"}]}),
            "not a free floor cell",
        ),
        (
            json!({"kind": "pick", "pod": "pod-0001", "priority": 1e12}),
            "i32",
        ),
    ] {
        let (status, body) = post("/api/tasks", &bad);
        assert_eq!(status, 400, "{bad}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{bad}: {body}"
        );
    }

    // Well-formed, but this floor cannot do it, or a number out of its range: 422.
    for (bad, needle) in [
        (json!({"kind": "pick", "pod": "pod-9999"}), "no pod"),
        (
            json!({"kind": "pick", "pod": "pod-0001", "units": 0}),
            "units must be 1 to 10000, got 0",
        ),
        (
            json!({"kind": "pick", "sku": "no-such-sku"}),
            "no pod holds SKU",
        ),
        (
            json!({"kind": "pick", "pod": "pod-0001", "station": "pick-99"}),
            "no station",
        ),
    ] {
        let (status, body) = post("/api/tasks", &bad);
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body.contains(needle), "{bad}: {body}");
    }

    // A batch: good ones stored in one transaction, bad ones reported per item.
    let (status, body) = post(
        "/api/tasks/batch",
        &json!({"tasks": [
            {"kind": "pick", "pod": "pod-0003", "key": "b-1"},
            {"kind": "pick", "pod": "nope"},
            {"kind": "stow", "pod": "pod-0004", "key": "b-2"},
            {"kind": "pick", "pod": "pod-0001", "station": "pick-1", "key": "order-1"},
        ]}),
    );
    assert_eq!(status, 200, "{body}");
    let results: Value = serde_json::from_str(&body).unwrap();
    let statuses: Vec<u64> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 422, 201, 200]);
    let cancel_me = results["results"][2]["id"].as_u64().unwrap();

    // Get, list with filters, paging.
    let t = d.get_json(&format!("/api/tasks/{id}"));
    assert_eq!(t["id"], id);
    let all = d.get_json("/api/tasks?limit=10");
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    let after = d.get_json(&format!("/api/tasks?after={id}&limit=1"));
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert!(after[0]["id"].as_u64().unwrap() > id);
    let (status, body) = d.req("GET", "/api/tasks?status=flying", None, None);
    assert_eq!(status, 400, "{body}");
    let (status, _) = d.req("GET", "/api/tasks/999999", None, None);
    assert_eq!(status, 404);
    let (status, body) = d.req("GET", "/api/tasks/abc", None, None);
    assert_eq!(status, 400, "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{body}");

    // Robots appear once located.
    wait_for(Duration::from_secs(30), "robots", || {
        Some(d.get_json("/api/robots").as_array()?.len() == 8)
    });
    let robot = d.get_json("/api/robots/du-0001");
    assert_eq!(robot["serial"], "du-0001");
    assert!(robot["battery"].as_f64().unwrap() > 0.0);
    let (status, _) = d.req("GET", "/api/robots/du-9999", None, None);
    assert_eq!(status, 404);

    // Cancel the stow before it starts (or while under way).
    let (status, body) = d.req(
        "POST",
        &format!("/api/tasks/{cancel_me}/cancel"),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "cancelled"
    );
    let (status, _) = d.req(
        "POST",
        &format!("/api/tasks/{cancel_me}/cancel"),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 409);

    // Robot commands.
    for action in ["pause", "resume", "charge", "out-of-service", "in-service"] {
        let (status, body) = d.req(
            "POST",
            &format!("/api/robots/du-0002/{action}"),
            None,
            Some(TOKEN),
        );
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, _) = d.req("POST", "/api/robots/du-0002/dance", None, Some(TOKEN));
    assert_eq!(status, 400);
    let (status, _) = d.req("POST", "/api/robots/du-9999/pause", None, Some(TOKEN));
    assert_eq!(status, 404);

    // Stations: staff, unstaff, release with nothing presented.
    let (status, body) = post("/api/stations/pack-1/staff", &json!({"associate": "ann"}));
    assert_eq!(status, 200, "{body}");
    wait_for(Duration::from_secs(5), "staffing", || {
        let s = d.get_json("/api/stations");
        Some(
            s.as_array()?
                .iter()
                .any(|s| s["name"] == "pack-1" && s["associate"] == "ann"),
        )
    });
    let (status, _) = d.req("POST", "/api/stations/pack-1/unstaff", None, Some(TOKEN));
    assert_eq!(status, 200);
    let (status, body) = d.req("POST", "/api/stations/pack-1/release", None, Some(TOKEN));
    assert_eq!(status, 409, "{body}");
    let (status, _) = d.req("POST", "/api/stations/nowhere/release", None, Some(TOKEN));
    assert_eq!(status, 404);

    // Zones.
    let (status, body) = post(
        "/api/zones",
        &json!({"name": "spill", "mode": "blocked", "rect": {"col": 30, "row": 2, "width": 3, "height": 2}}),
    );
    assert_eq!(status, 201, "{body}");
    let zone: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(zone["cells"].as_array().unwrap().len(), 6);
    let (status, _) = post(
        "/api/zones",
        &json!({"name": "x", "mode": "blocked", "rect": {"col": 39, "row": 0, "width": 5, "height": 1}}),
    );
    assert_eq!(status, 400);
    let (status, _) = post(
        "/api/zones",
        &json!({"name": "x", "mode": "slow", "cells": [45]}),
    );
    assert_eq!(status, 400, "slow needs max_speed");
    wait_for(Duration::from_secs(5), "the zone in the live view", || {
        Some(
            d.get_json("/api/zones")
                .as_array()?
                .iter()
                .any(|z| z["name"] == "spill"),
        )
    });
    let (status, _) = d.req(
        "DELETE",
        &format!("/api/zones/{}", zone["id"]),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    let (status, _) = d.req("DELETE", "/api/zones/424242", None, Some(TOKEN));
    assert_eq!(status, 404);

    // A blocked zone with an access path over a robot: it is held and paused (a resume is
    // refused) until the zone is deleted; the access path walks in from the floor's edge.
    let robot = d.get_json("/api/robots/du-0003");
    let (row, col) = (
        robot["row"].as_i64().unwrap(),
        robot["col"].as_i64().unwrap(),
    );
    let (r0, c0) = ((row - 2).max(0), (col - 2).max(0));
    let (status, body) = post(
        "/api/zones",
        &json!({"name": "tech", "mode": "blocked", "access": true,
                "rect": {"col": c0, "row": r0, "width": 5.min(40 - c0), "height": 5.min(22 - r0)}}),
    );
    assert_eq!(status, 201, "{body}");
    let tech: Value = serde_json::from_str(&body).unwrap();
    let access = cell_ids(&tech["access"]);
    if let Some(&first) = access.first() {
        assert!(at_floor_edge(first), "{access:?} starts at the edge");
    }
    wait_for(Duration::from_secs(10), "a robot held in the zone", || {
        let robots = d.get_json("/api/robots");
        Some(
            robots
                .as_array()?
                .iter()
                .any(|r| r["zone_held"] == true && r["paused"] == true),
        )
    });
    wait_for(
        Duration::from_secs(5),
        "an alert for the held robot",
        || {
            let live = d.get_json("/api/live");
            Some(
                live["alerts"]
                    .as_array()?
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| a.contains("blocked zone"))),
            )
        },
    );
    let robots = d.get_json("/api/robots");
    let inside = robots
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["zone_held"] == true)
        .unwrap()["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = d.req(
        "POST",
        &format!("/api/robots/{inside}/resume"),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 409, "{body}");
    let (status, _) = post(
        "/api/zones",
        &json!({"name": "x", "mode": "slow", "max_speed": 0.5, "cells": [45], "access": true}),
    );
    assert_eq!(status, 400, "access goes with blocked");
    let (status, _) = d.req(
        "DELETE",
        &format!("/api/zones/{}", tech["id"]),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    // Mid-floor, the access path is a walk of adjacent aisle cells from the edge to the zone.
    let (status, body) = post(
        "/api/zones",
        &json!({"name": "aisle", "mode": "blocked", "access": true, "cells": [7 * 40 + 20]}),
    );
    assert_eq!(status, 201, "{body}");
    let aisle: Value = serde_json::from_str(&body).unwrap();
    let walk = cell_ids(&aisle["access"]);
    assert!(at_floor_edge(walk[0]), "{walk:?} starts at the edge");
    let mut steps = walk.clone();
    steps.push(7 * 40 + 20);
    for pair in steps.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert_eq!(
            (a / 40 - b / 40).abs() + (a % 40 - b % 40).abs(),
            1,
            "{walk:?}"
        );
    }
    let rows = floor["rows"].as_array().unwrap();
    for &cell in &walk {
        let row = rows[(cell / 40) as usize].as_str().unwrap();
        let kind = row.as_bytes()[(cell % 40) as usize];
        assert!(
            kind != b'@' && kind != b's',
            "{cell} is {}: {walk:?}",
            kind as char
        );
    }
    let (status, _) = d.req(
        "DELETE",
        &format!("/api/zones/{}", aisle["id"]),
        None,
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    wait_for(Duration::from_secs(10), "the robot let go", || {
        let robots = d.get_json("/api/robots");
        let r = robots
            .as_array()?
            .iter()
            .find(|r| r["serial"] == inside.as_str())?;
        Some(r["zone_held"] == false && r["paused"] == false)
    });

    // The accepted pick and transport-free batch items get done (the demo's associates
    // release presented pods).
    wait_for(
        Duration::from_secs(90),
        "the submitted picks to be done",
        || {
            let done = d.get_json("/api/tasks?status=done&limit=100");
            Some(done.as_array()?.len() == 2)
        },
    );

    // KPIs, metrics, OpenAPI, Swagger UI, dashboard, JSON 404 and 405.
    let kpis = d.get_json("/api/kpis");
    assert_eq!(kpis["tasks"]["done"], 2, "{kpis}");
    assert_eq!(kpis["tasks"]["cancelled"], 1, "{kpis}");
    let (status, metrics) = d.req("GET", "/metrics", None, None);
    assert_eq!(status, 200);
    for name in [
        "drover_tick_seconds_bucket",
        "drover_alloc_seconds_bucket",
        "drover_planner_seconds_bucket",
        "drover_mqtt_reconnects_total",
        "drover_tasks{status=\"done\"}",
        "drover_robots{",
        "drover_station_uph{",
        "drover_station_starvation_ratio{",
        "drover_mqtt_messages_in_total",
        "drover_mqtt_messages_out_total",
        "drover_tasks_submitted_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    let openapi = d.get_json("/api/openapi.json");
    assert!(openapi["paths"]["/api/tasks"]["post"].is_object());
    let (status, page) = d.req("GET", "/swagger-ui/", None, None);
    assert_eq!(status, 200);
    assert!(page.contains("swagger-ui"));
    let (status, page) = d.req("GET", "/", None, None);
    assert_eq!(status, 200);
    assert!(page.contains("app.js"));
    let (status, body) = d.req("GET", "/nowhere", None, None);
    assert_eq!(status, 404);
    assert!(serde_json::from_str::<Value>(&body).is_ok());
    let (status, body) = d.req("PUT", "/api/tasks", Some("{}"), Some(TOKEN));
    assert_eq!(status, 405);
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{body}");
}

#[test]
fn sse_streams_events_and_resumes_from_last_event_id() {
    use std::io::{Read, Write};
    let dir = temp_dir("sse");
    let d = start(
        &dir,
        &DemoArgs {
            queued: 10,
            ..DemoArgs::default()
        },
    );
    let read_events = |last: Option<u64>, want: usize| -> Vec<(u64, String)> {
        let mut s = std::net::TcpStream::connect(d.api).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = "GET /api/events HTTP/1.1\r\nHost: drover\r\n".to_string();
        if let Some(l) = last {
            head.push_str(&format!("Last-Event-ID: {l}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        let mut events = Vec::new();
        while events.len() < want {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "stream ended");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            events = text
                .split("\n\n")
                .filter_map(|block| {
                    let id = block
                        .lines()
                        .find_map(|l| l.strip_prefix("id: "))?
                        .trim()
                        .parse()
                        .ok()?;
                    let kind = block.lines().find_map(|l| l.strip_prefix("event: "))?;
                    Some((id, kind.to_string()))
                })
                .collect();
        }
        events
    };
    let first = read_events(None, 5);
    assert!(first.windows(2).all(|w| w[0].0 < w[1].0), "{first:?}");
    assert!(
        first.iter().any(|e| e.1 == "robots" || e.1 == "task"),
        "{first:?}"
    );
    // Resume: the next events continue right after the last one seen.
    let last = first[2].0;
    let resumed = read_events(Some(last), 3);
    assert_eq!(resumed[0].0, last + 1, "{resumed:?}");
}

/// Zones survive a kill -9: after the restart the zone is listed again and the robot that
/// starts inside it is held (paused) there.
#[test]
fn a_blocked_zone_survives_a_restart_and_holds_the_robot_inside() {
    let dir = temp_dir("zone-restart");
    let args = DemoArgs {
        robots: 4,
        ..DemoArgs::default()
    };
    let mut d = start(&dir, &args);
    // du-0001 starts on the first park cell, row 1, column 4.
    let park = 40 + 4;
    let (status, body) = d.req(
        "POST",
        "/api/zones",
        Some(&json!({"name": "tech", "mode": "blocked", "cells": [park]}).to_string()),
        None,
    );
    assert_eq!(status, 201, "{body}");
    d.kill();
    let d = start(&dir, &args);
    let zones = d.get_json("/api/zones");
    assert_eq!(zones.as_array().unwrap().len(), 1, "{zones}");
    assert_eq!(zones[0]["cells"], json!([park]));
    wait_for(Duration::from_secs(30), "du-0001 held in the zone", || {
        let (status, body) = d.req("GET", "/api/robots/du-0001", None, None);
        let r: Value = serde_json::from_str(&body).ok()?;
        Some(status == 200 && r["cell"] == park && r["zone_held"] == true && r["paused"] == true)
    });
    // The others work around it: a pick gets done.
    let (status, body) = d.req(
        "POST",
        "/api/tasks",
        Some(&json!({"kind": "pick", "pod": "pod-0002", "station": "pick-2"}).to_string()),
        None,
    );
    assert_eq!(status, 201, "{body}");
    wait_for(Duration::from_secs(60), "the pick done", || {
        Some(d.get_json("/api/kpis")["tasks"]["done"].as_u64()? >= 1)
    });
    assert_eq!(d.get_json("/api/robots/du-0001")["cell"], park);
}

#[test]
fn an_inventory_import_makes_its_skus_pickable_and_bad_imports_name_the_entry() {
    let dir = temp_dir("pods");
    let d = start(
        &dir,
        &DemoArgs {
            token: Some(TOKEN),
            robots: 2,
            ..DemoArgs::default()
        },
    );
    let put = |body: &Value| d.req("PUT", "/api/pods", Some(&body.to_string()), Some(TOKEN));
    let pick = json!({"kind": "pick", "sku": "IMPORTED-1", "units": 2});
    let (status, body) = d.req("POST", "/api/tasks", Some(&pick.to_string()), Some(TOKEN));
    assert_eq!(status, 422, "nobody holds it yet: {body}");
    for (bad, status, needle) in [
        (
            json!({"pods": [{"pod": "pod-9999", "contents": {}}]}),
            422,
            "pods[0]: no pod",
        ),
        (
            json!({"pods": [{"pod": "pod-0030", "contents": {}}, {"pod": "pod-0030", "contents": {}}]}),
            422,
            "pods[1]: pod \\\"pod-0030\\\" is listed twice",
        ),
        (
            json!({"pods": [{"pod": "pod-0030", "contents": {"X": -1}}]}),
            400,
            "",
        ),
        (json!({"pod": "pod-0030"}), 400, "unknown field"),
    ] {
        let (s, body) = put(&bad);
        assert_eq!(s, status, "{bad}: {body}");
        assert!(body.contains(needle), "{bad}: {body}");
    }
    let (status, body) =
        put(&json!({"pods": [{"pod": "pod-0030", "contents": {"IMPORTED-1": 5}}]}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.req("POST", "/api/tasks", Some(&pick.to_string()), Some(TOKEN));
    assert_eq!(status, 201, "{body}");
    let (status, _) = d.req("PUT", "/api/pods", Some("{\"pods\": []}"), None);
    assert_eq!(status, 401, "imports need the operator token");
}

#[test]
fn import_pods_reads_csv_into_the_store_and_names_the_bad_line() {
    let dir = temp_dir("import-pods");
    let run = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_droverd"))
            .current_dir(common::repo())
            .args([
                "import-pods",
                "--config",
                "config/droverd.toml",
                "--data-dir",
            ])
            .arg(&dir)
            .arg(file)
            .output()
            .unwrap()
    };
    let good = dir.join("stock.csv");
    std::fs::write(
        &good,
        "pod,sku,units\npod-0001,A-1,4\npod-0002,B-2,1\npod-0001,C-3,2\n",
    )
    .unwrap();
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported the contents of 2 pods"));
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "pod-0001,A-1,4\npod-0002,B-2,lots\n").unwrap();
    let out = run(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv: line 2: units \"lots\" is not a whole number"),
        "{err}"
    );
    // The demo floor's pods, restored from the store at the next start, hold the import.
    let d = start(&dir, &DemoArgs::default());
    let pick = json!({"kind": "pick", "sku": "C-3", "units": 1});
    let (status, body) = d.req("POST", "/api/tasks", Some(&pick.to_string()), None);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_fleet_pause_holds_every_robot_and_survives_a_restart() {
    let dir = temp_dir("fleet-pause");
    let args = DemoArgs {
        token: Some(TOKEN),
        robots: 4,
        queued: 4,
        ..DemoArgs::default()
    };
    let mut d = start(&dir, &args);
    let post = |d: &common::Daemon, path: &str| d.req("POST", path, None, Some(TOKEN));
    let (status, body) = post(&d, "/api/fleet/stop");
    assert_eq!(status, 400, "{body}");
    wait_for(Duration::from_secs(30), "robots located", || {
        Some(d.get_json("/api/robots").as_array()?.len() == 4)
    });
    let (status, body) = post(&d, "/api/fleet/pause");
    assert_eq!(status, 200, "{body}");
    // Every robot echoes startPause and reports itself paused.
    wait_for(Duration::from_secs(30), "every robot paused", || {
        let robots = d.get_json("/api/robots");
        Some(robots.as_array()?.iter().all(|r| r["paused"] == true))
    });
    assert_eq!(d.get_json("/api/live")["fleet_paused"], true);
    let (status, body) = post(&d, "/api/robots/du-0001/resume");
    assert_eq!(status, 409, "one robot does not resume alone: {body}");
    let (status, body) = post(&d, "/api/robots/du-0001/reset");
    assert_eq!(status, 409, "nothing to reset: {body}");
    assert!(body.contains("refused no order"), "{body}");
    d.kill();
    let d = start(&dir, &args);
    wait_for(Duration::from_secs(30), "the robots located again", || {
        Some(d.get_json("/api/robots").as_array()?.len() == 4)
    });
    assert_eq!(
        d.get_json("/api/live")["fleet_paused"],
        true,
        "still paused after a restart"
    );
    let (status, body) = post(&d, "/api/fleet/resume");
    assert_eq!(status, 200, "{body}");
    wait_for(Duration::from_secs(30), "the fleet resumed", || {
        Some(d.get_json("/api/live")["fleet_paused"] == false)
    });
    wait_for(Duration::from_secs(30), "the robots drive again", || {
        let robots = d.get_json("/api/robots");
        let robots = robots.as_array()?;
        Some(
            robots.iter().all(|r| r["paused"] == false)
                && robots.iter().any(|r| r["task"].is_u64()),
        )
    });
}

#[test]
fn an_idle_floor_does_not_starve_and_uph_counts_picked_units() {
    let dir = temp_dir("kpis");
    let d = start(
        &dir,
        &DemoArgs {
            robots: 3,
            queued: 0,
            ..DemoArgs::default()
        },
    );
    wait_for(Duration::from_secs(30), "robots located", || {
        Some(d.get_json("/api/robots").as_array()?.len() == 3)
    });
    // Staffed (the demo staffs every pick and stow station), nothing to do: no starvation.
    std::thread::sleep(Duration::from_secs(2));
    let kpis = d.get_json("/api/kpis");
    assert_eq!(kpis["starvation_pct"], 0.0, "{kpis}");
    assert_eq!(kpis["starving_stations"], json!([]), "{kpis}");
    assert_eq!(kpis["uph"], 0.0, "{kpis}");
    // Work for pick-1: it starves until the first pod arrives, and its UPH counts the units
    // the associate picked.
    let pick = json!({"kind": "pick", "pod": "pod-0001", "station": "pick-1", "units": 3});
    let (status, body) = d.req("POST", "/api/tasks", Some(&pick.to_string()), None);
    assert_eq!(status, 201, "{body}");
    wait_for(
        Duration::from_secs(10),
        "pick-1 starving while its pod comes",
        || Some(d.get_json("/api/kpis")["starving_stations"] == json!(["pick-1"])),
    );
    wait_for(Duration::from_secs(60), "the pick done", || {
        Some(d.get_json("/api/kpis")["tasks"]["done"] == 1)
    });
    wait_for(Duration::from_secs(5), "pick-1's UPH", || {
        let stations = d.get_json("/api/stations");
        let s = stations
            .as_array()?
            .iter()
            .find(|s| s["name"] == "pick-1")?
            .clone();
        Some(s["uph"].as_f64()? > 0.0 && s["presentations"] == 1)
    });
    let stations = d.get_json("/api/stations");
    for s in stations.as_array().unwrap() {
        if s["name"] != "pick-1" {
            assert_eq!(s["uph"], 0.0, "{s}");
            assert_eq!(s["starvation_pct"], 0.0, "never had work: {s}");
        }
    }
}
