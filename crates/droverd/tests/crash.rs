//! Crash test: `droverd demo` is killed with SIGKILL at seeded random moments while a client
//! submits tasks (retrying, with idempotency keys, whatever got no answer), and restarted
//! each time. At the end every accepted task is done, exactly once, by the store's own
//! transition log. `CRASH_KILLS` sets the number of kills (default 100).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{DemoArgs, start, temp_dir, wait_for};
use drover_plan::SplitMix64;
use drover_store::{SqliteStore, Store, TaskQuery, TaskStatus};
use serde_json::{Value, json};

/// Submits `key`; returns the task id when the daemon answered.
fn submit(d: &common::Daemon, key: &str, pod: u64) -> Option<u64> {
    let body = json!({"kind": "pick", "pod": format!("pod-{pod:04}"), "key": key}).to_string();
    let (status, body) =
        common::request(d.api, "POST", "/api/tasks", Some(body.as_bytes()), None).ok()?;
    assert!(status == 201 || status == 200, "{status}: {body}");
    serde_json::from_str::<Value>(&body).ok()?["id"].as_u64()
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_repeats_nothing() {
    let kills: u64 = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = temp_dir("crash");
    let mut rng = SplitMix64(0x5eed_1234_abcd);
    // key -> (pod, id once answered)
    let mut keys: BTreeMap<String, (u64, Option<u64>)> = BTreeMap::new();
    let mut next = 0u64;
    for _ in 0..kills {
        let mut d = start(
            &dir,
            &DemoArgs {
                robots: 6,
                ..DemoArgs::default()
            },
        );
        // Unanswered keys first: the client does not know whether they were accepted.
        for (key, (pod, id)) in keys.iter_mut() {
            if id.is_none() {
                *id = submit(&d, key, *pod);
            }
        }
        let kill_at = Instant::now() + Duration::from_millis(rng.range(150, 2649));
        while Instant::now() < kill_at {
            if rng.range(0, 24) == 0 {
                let key = format!("crash-{next}");
                let pod = rng.range(1, 150);
                next += 1;
                let id = submit(&d, &key, pod);
                keys.insert(key, (pod, id));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        d.kill();
    }
    // The last start runs to the end.
    let d = start(
        &dir,
        &DemoArgs {
            robots: 12,
            ..DemoArgs::default()
        },
    );
    for (key, (pod, id)) in keys.iter_mut() {
        if id.is_none() {
            *id = submit(&d, key, *pod);
        }
        assert!(id.is_some(), "{key} still unanswered with a healthy daemon");
    }
    let n = keys.len();
    assert!(
        n >= kills as usize / 4,
        "too few tasks submitted ({n}) to mean anything"
    );
    wait_for(
        Duration::from_secs(600),
        "every accepted task to be done",
        || {
            let kpis = d.get_json("/api/kpis");
            let t = &kpis["tasks"];
            let open =
                t["queued"].as_u64()? + t["assigned"].as_u64()? + t["in_progress"].as_u64()?;
            Some(open == 0)
        },
    );
    drop(d);
    let store = SqliteStore::open(&dir.join("drover.db")).unwrap();
    let rows = store
        .tasks(&TaskQuery {
            limit: 10_000,
            ..TaskQuery::default()
        })
        .unwrap();
    assert_eq!(
        rows.len(),
        n,
        "one stored task per key, none lost, none duplicated"
    );
    let mut ids: Vec<u64> = keys.values().map(|(_, id)| id.unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "every key has its own task");
    for row in rows {
        assert_eq!(
            row.status,
            TaskStatus::Done,
            "task {} ended {:?}",
            row.id,
            row.status
        );
        assert_eq!(
            store.entered(row.id, TaskStatus::Done).unwrap(),
            1,
            "task {} done exactly once",
            row.id
        );
        assert!(
            ids.binary_search(&row.id).is_ok(),
            "task {} has a key we sent",
            row.id
        );
    }
    eprintln!("crash test: {kills} kills, {n} tasks, all done exactly once");
}
