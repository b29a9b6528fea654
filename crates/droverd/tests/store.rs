//! The store fails safe. Process-level: a second `droverd demo` on a data dir exits at once
//! naming the first, and starts once the first is killed; a damaged database or a corrupt
//! record keeps droverd from starting. In-process: the real coordinator loop, simulated units
//! over the embedded broker, and a store that fails commits on command: no order goes out
//! while commits fail, the fleet is paused (apart from the operator's pause) and resumes after,
//! and after a restart from the same file no task is done twice.

mod common;
mod flaky;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DemoArgs, free_port, repo, start, temp_dir};
use drover_store::{
    PodChoice, SpecKind, SqliteStore, Store, TaskQuery, TaskSpec, TaskStatus, Write,
};
use flaky::{
    Flaky, Log, ROBOTS, Seen, cancel, done_in_store, live_until, operator_pause, paused_robots,
    run_loop, tasks_done, until,
};

/// Runs `droverd demo` on `data_dir`, expecting it to exit by itself within 60 s; returns
/// its exit status and what it wrote to stderr.
fn run_to_exit(data_dir: &Path) -> (ExitStatus, String) {
    let api = format!("127.0.0.1:{}", free_port());
    let broker = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_droverd"))
        .current_dir(repo())
        .args(["demo", "--config", "config/droverd.toml", "--robots", "3"])
        .args(["--listen", &api, "--broker-listen", &broker])
        .arg("--data-dir")
        .arg(data_dir)
        .env("DROVERD_LOG", "warn")
        .env_remove("DROVERD_WRITE_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start droverd");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("droverd on {} did not exit within 60 s", data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[test]
fn a_second_droverd_on_a_data_dir_exits_at_once_naming_the_first_until_that_one_is_killed() {
    let dir = temp_dir("store-lock");
    let args = DemoArgs {
        robots: 3,
        ..DemoArgs::default()
    };
    let mut first = start(&dir, &args);
    let pid = first.child.id();
    let started = Instant::now();
    let (status, stderr) = run_to_exit(&dir);
    assert!(!status.success(), "the second droverd exits non-zero");
    assert!(
        stderr.contains("is in use by droverd")
            && stderr.contains(&format!("pid {pid} "))
            && stderr.contains("started "),
        "the message names the holder: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "at once, not after a timeout: {:?}",
        started.elapsed()
    );
    assert!(first.alive(), "the first droverd runs on");
    first.get_json("/api/live");
    // kill -9: nothing of droverd's own runs, the operating system drops the lock.
    first.kill();
    let mut next = start(&dir, &args);
    assert!(next.alive());
    let holder = std::fs::read_to_string(dir.join(drover_store::LOCK_FILE)).unwrap();
    assert!(
        holder.contains(&format!("pid {} ", next.child.id())),
        "{holder}"
    );
}

/// A store in `dir` with three pick tasks for SKUs `MARK-1`..`MARK-3`, closed.
fn three_tasks(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("drover.db");
    let store = SqliteStore::open(&path).unwrap();
    let writes: Vec<Write> = (1..=3)
        .map(|k| Write::InsertTask {
            key: None,
            spec: pick_spec(&format!("MARK-{k}")),
            at_ms: 1,
        })
        .collect();
    store.apply(&writes).unwrap();
    path
}

fn pick_spec(sku: &str) -> TaskSpec {
    TaskSpec {
        kind: SpecKind::Pick {
            pod: PodChoice::Sku(sku.into()),
            station: None,
            units: 1,
        },
        priority: 0,
        deadline_ms: None,
    }
}

#[test]
fn a_corrupt_record_or_a_damaged_database_keeps_droverd_from_starting() {
    // One record: task 2's spec garbled inside the file, SQLite's own structure intact.
    let dir = temp_dir("store-record");
    let path = three_tasks(&dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let at: Vec<usize> = bytes
        .windows(6)
        .enumerate()
        .filter(|(_, w)| *w == b"MARK-2")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "the spec is in the file once (WAL checkpointed)"
    );
    // The string's length (a varint) now says "more bytes follow": the blob ends too soon.
    assert_eq!(bytes[at[0] - 1], 6);
    bytes[at[0] - 1] = 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let (status, stderr) = run_to_exit(&dir);
    assert!(!status.success());
    assert!(
        stderr.contains("corrupt record: table tasks, id 2"),
        "names the table and id: {stderr}"
    );

    // The file: pages at the end garbled, which only `quick_check` reads.
    let dir = temp_dir("store-damaged");
    let path = three_tasks(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let bulk: Vec<Write> = (0..400)
        .map(|k| Write::Setting {
            key: format!("bulk-{k:04}"),
            value: format!("{k}-").repeat(600),
        })
        .collect();
    store.apply(&bulk).unwrap();
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() * 3 / 4;
    for (k, b) in bytes[at..at + 32 * 1024].iter_mut().enumerate() {
        *b = (k * 131 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let (status, stderr) = run_to_exit(&dir);
    assert!(!status.success());
    assert!(
        stderr.contains("is damaged") && stderr.contains("quick_check"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_commit_holds_every_order_and_pauses_the_fleet_until_commits_succeed() {
    let metrics = droverd::api::metrics_handle();
    let dir = temp_dir("store-flaky");
    let db = dir.join("drover.db");
    let log = Log::default();
    let flaky = Arc::new(Flaky::new(&db, log.clone()));
    let store = flaky.clone();
    let script_log = log.clone();
    run_loop(flaky.clone(), &log, 8, |handle| async move {
        let log = script_log;
        live_until(&handle, Duration::from_secs(90), "two tasks done", |l| {
            tasks_done(l) >= 2
        })
        .await;

        // A: commits fail; the fleet is paused by the store, orders are held.
        log.push(Seen::Mark("fail A"));
        store.fail_after(2);
        until(Duration::from_secs(30), "20 refused commits", || {
            store.refused() >= 20
        })
        .await;
        let live = handle.live.borrow().clone();
        assert!(
            live.kpis.store_failing,
            "the live view says the store fails"
        );
        assert!(
            live.alerts[0].contains("the store refuses commits")
                && live.alerts[0].contains("no order goes out"),
            "{:?}",
            live.alerts
        );
        assert!(!live.fleet_paused, "the operator did not pause the fleet");
        assert!(live.kpis.store_commit_failures >= 20);
        assert!(
            tasks_done(&live) as usize <= done_in_store(&*store),
            "the API never counts more done than the store holds"
        );
        let text = metrics.render();
        let failures: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("drover_store_commit_failures_total "))
            .expect("the metric is rendered")
            .trim()
            .parse()
            .unwrap();
        assert!(failures >= 20.0, "{failures}");
        log.push(Seen::Mark("heal A"));
        store.heal();
        live_until(
            &handle,
            Duration::from_secs(10),
            "the store to settle",
            |l| !l.kpis.store_failing,
        )
        .await;
        until(Duration::from_secs(30), "an order after healing", || {
            log.since("heal A").contains(&Seen::Order)
        })
        .await;

        // B: the operator's pause outlives the store's. With the fleet paused nothing moves,
        // so a cancellation makes the transition whose commit fails.
        assert!(operator_pause(&handle, true).await);
        log.push(Seen::Mark("fail B"));
        store.fail_after(0);
        let queued = store
            .tasks(&TaskQuery {
                statuses: vec![TaskStatus::Queued, TaskStatus::Assigned],
                limit: 100,
                ..TaskQuery::default()
            })
            .unwrap();
        let mut cancelled = None;
        for task in queued {
            match cancel(&handle, task.id).await {
                Ok(()) => panic!("a cancel the store did not take was answered as done"),
                Err(e) if e.contains("not durable yet") => {
                    cancelled = Some(task.id);
                    break;
                }
                Err(_) => {}
            }
        }
        let cancelled = cancelled.expect("an open task to cancel");
        let refused = store.refused();
        until(Duration::from_secs(30), "refused commits", || {
            store.refused() >= refused + 10
        })
        .await;
        assert!(handle.live.borrow().kpis.store_failing);
        assert!(
            !operator_pause(&handle, false).await,
            "a resume the store does not take is refused"
        );
        log.push(Seen::Mark("heal B"));
        store.heal();
        live_until(
            &handle,
            Duration::from_secs(10),
            "the store to settle",
            |l| !l.kpis.store_failing,
        )
        .await;
        assert_eq!(
            store.task(cancelled).unwrap().unwrap().status,
            TaskStatus::Cancelled,
            "the owed cancellation is durable once the store takes commits"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(handle.live.borrow().fleet_paused);
        log.push(Seen::Mark("resume B"));
        assert!(operator_pause(&handle, false).await);
        until(Duration::from_secs(10), "stopPause to every robot", || {
            paused_robots(&log.since("resume B"), false).len() == ROBOTS
        })
        .await;

        // C: commits fail while a robot presents a pod; its task is done in memory only, and
        // droverd stops (as a crash would) before the store takes it.
        live_until(
            &handle,
            Duration::from_secs(60),
            "a robot presenting",
            |l| l.robots.iter().any(|r| r.activity == "presenting"),
        )
        .await;
        log.push(Seen::Mark("fail C"));
        store.fail_after(0);
        until(
            Duration::from_secs(30),
            "a refused commit carrying a done task",
            || {
                log.since("fail C")
                    .iter()
                    .any(|s| matches!(s, Seen::Commit { ok: false, done, .. } if !done.is_empty()))
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    })
    .await;
    let mut done_while_failing: Vec<u64> = Vec::new();
    for s in log.since("fail C") {
        if let Seen::Commit {
            ok: false, done, ..
        } = s
        {
            done_while_failing.extend(done);
        }
    }
    done_while_failing.sort_unstable();
    done_while_failing.dedup();

    let seen = log.all();
    // Never an order between a failed commit of transitions and the next successful commit.
    // (A failed insert of new tasks alone holds nothing: those tasks never existed.)
    let mut failing = false;
    for (k, s) in seen.iter().enumerate() {
        match s {
            Seen::Commit { ok: true, .. } => failing = false,
            Seen::Commit {
                ok: false,
                moves: true,
                ..
            } => failing = true,
            Seen::Order => assert!(
                !failing,
                "an order went out while commits failed (#{k}): {:?}",
                &seen[k.saturating_sub(12)..k + 1]
            ),
            _ => {}
        }
    }
    // A: every robot got startPause after the first failure and stopPause after the heal.
    let a = log.since("fail A");
    let first_failure = a
        .iter()
        .position(|s| matches!(s, Seen::Commit { ok: false, .. }))
        .expect("commits failed");
    let heal = a.iter().position(|s| *s == Seen::Mark("heal A")).unwrap();
    assert_eq!(
        paused_robots(&a[first_failure..heal], true).len(),
        ROBOTS,
        "startPause to every robot"
    );
    let after_heal = &a[heal..];
    let settled = after_heal
        .iter()
        .position(|s| matches!(s, Seen::Commit { ok: true, .. }))
        .unwrap();
    assert_eq!(
        paused_robots(&after_heal[settled..], false).len(),
        ROBOTS,
        "stopPause to every robot once the store took the writes"
    );
    // B: the store's recovery left the operator's pause alone.
    let b = log.since("heal B");
    let resume = b.iter().position(|s| *s == Seen::Mark("resume B")).unwrap();
    assert!(
        paused_robots(&b[..resume], false).is_empty(),
        "no stopPause while the operator's pause holds"
    );
    assert!(
        !done_while_failing.is_empty(),
        "a task finished in memory while commits failed"
    );
    for id in &done_while_failing {
        assert_eq!(
            flaky.entered(*id, TaskStatus::Done).unwrap(),
            0,
            "task {id}'s done was never committed"
        );
    }
    drop(flaky);

    // Restart from the same file with a healthy store: every task gets done, once.
    let log = Log::default();
    let store = Arc::new(Flaky::new(&db, log.clone()));
    let reader = store.clone();
    run_loop(store, &log, 0, |_handle| async move {
        until(Duration::from_secs(180), "every task to be final", || {
            reader
                .tasks(&TaskQuery {
                    statuses: vec![
                        TaskStatus::Queued,
                        TaskStatus::Assigned,
                        TaskStatus::InProgress,
                    ],
                    limit: 10_000,
                    ..TaskQuery::default()
                })
                .unwrap()
                .is_empty()
        })
        .await;
    })
    .await;
    let store = SqliteStore::open(&db).unwrap();
    let rows = store
        .tasks(&TaskQuery {
            limit: 10_000,
            ..TaskQuery::default()
        })
        .unwrap();
    assert!(rows.len() >= 10, "{} tasks", rows.len());
    let cancelled: Vec<u64> = rows
        .iter()
        .filter(|r| r.status == TaskStatus::Cancelled)
        .map(|r| r.id)
        .collect();
    assert_eq!(cancelled.len(), 1, "the one cancellation (B)");
    for row in rows.iter().filter(|r| r.status != TaskStatus::Cancelled) {
        assert_eq!(row.status, TaskStatus::Done, "task {}", row.id);
        assert_eq!(
            store.entered(row.id, TaskStatus::Done).unwrap(),
            1,
            "task {} done exactly once",
            row.id
        );
    }
    for id in &done_while_failing {
        let row = rows.iter().find(|r| r.id == *id).expect("kept");
        assert_eq!(
            row.status,
            TaskStatus::Done,
            "task {id} done after the restart"
        );
    }
}
