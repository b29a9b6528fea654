//! A store that fails on command and the real coordinator loop to run it with: [`Flaky`]
//! wraps a real `SqliteStore` and refuses commits after a given number more, until healed;
//! [`Tap`] notes every order and pause handed to the MQTT link; [`run_loop`] runs
//! `run_coordinator` with its operations half over the store, simulated units on an embedded
//! broker of their own and associates at every station, beside a test script.

#![allow(dead_code, reason = "test helpers")]
#![allow(unreachable_pub, reason = "test helpers")]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use drover_core::coord::Coordinator;
use drover_gateway::{
    BrokerAddr, Incoming, MqttLink, PublishError, RobotLink, Session, SessionConfig,
    fleet_subscriptions,
};
use drover_sim::fleet::{Associates, Faults, World, robot_specs, units_at};
use drover_sim::mqtt::{UnitFleet, UnitFleetConfig};
use drover_sim::unit::UnitConfig;
use drover_store::{
    AuditQuery, AuditRow, Committer, Outcome, Recovered, SqliteStore, Store, StoreError, TaskQuery,
    TaskRow, TaskStatus, Write,
};
use drover_vda5050::Topic;
use droverd::ops::{Command as OpsCommand, Live, OpsHandle};
use droverd::{Control, Sidecar};
use tokio::sync::{oneshot, watch};

use crate::common::{free_port, repo};

/// What happened, in order: the store's commits and the messages handed to the link.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// A commit; whether it carried task transitions or pod moves (writes the loop makes
    /// after the fact, unlike new tasks); the tasks whose `Done` it carried.
    Commit {
        ok: bool,
        moves: bool,
        done: Vec<u64>,
    },
    /// An order (or order update) to a robot.
    Order,
    /// `startPause` (true) or `stopPause` (false) to a robot.
    Pause { serial: String, on: bool },
    /// A step of the test.
    Mark(&'static str),
}

/// What happened, shared by the store, the link and the test script.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, seen: Seen) {
        self.0.lock().unwrap().push(seen);
    }
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
    /// What happened after `mark`.
    pub fn since(&self, mark: &'static str) -> Vec<Seen> {
        let all = self.all();
        let at = all
            .iter()
            .position(|s| *s == Seen::Mark(mark))
            .unwrap_or_else(|| panic!("no mark {mark}"));
        all[at + 1..].to_vec()
    }
}

/// A real SQLite store whose commits fail, after a given number more succeed, until healed.
pub struct Flaky {
    inner: SqliteStore,
    log: Log,
    /// Commits that still succeed; `u64::MAX`: all.
    allowed: AtomicU64,
    refused: AtomicU64,
}

impl Flaky {
    pub fn new(path: &Path, log: Log) -> Flaky {
        Flaky {
            inner: SqliteStore::open(path).unwrap(),
            log,
            allowed: AtomicU64::new(u64::MAX),
            refused: AtomicU64::new(0),
        }
    }
    /// `n` more commits succeed, then every one fails.
    pub fn fail_after(&self, n: u64) {
        self.allowed.store(n, Ordering::SeqCst);
    }
    pub fn heal(&self) {
        self.allowed.store(u64::MAX, Ordering::SeqCst);
    }
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Store for Flaky {
    fn apply(&self, writes: &[Write]) -> Result<Vec<Outcome>, StoreError> {
        let ok = self
            .allowed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                u64::MAX => Some(n),
                n => n.checked_sub(1),
            })
            .is_ok();
        let done = writes
            .iter()
            .filter_map(|w| match w {
                Write::Transition {
                    id,
                    status: TaskStatus::Done,
                    ..
                } => Some(*id),
                _ => None,
            })
            .collect();
        let moves = writes
            .iter()
            .any(|w| matches!(w, Write::Transition { .. } | Write::PutPod { .. }));
        let result = if ok {
            self.inner.apply(writes)
        } else {
            self.refused.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Commit("database or disk is full".into()))
        };
        self.log.push(Seen::Commit {
            ok: result.is_ok(),
            moves,
            done,
        });
        result
    }
    fn recover(&self) -> Result<Recovered, StoreError> {
        self.inner.recover()
    }
    fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        self.inner.tasks(query)
    }
    fn task(&self, id: u64) -> Result<Option<TaskRow>, StoreError> {
        self.inner.task(id)
    }
    fn entered(&self, id: u64, status: TaskStatus) -> Result<u64, StoreError> {
        self.inner.entered(id, status)
    }
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit(query)
    }
}

/// The MQTT link, noting every order and pause handed to it.
pub struct Tap {
    inner: MqttLink,
    log: Log,
}

impl RobotLink for Tap {
    fn interface(&self) -> &str {
        self.inner.interface()
    }

    fn send(
        &mut self,
        manufacturer: &str,
        serial: &str,
        topic: Topic,
        payload: Vec<u8>,
    ) -> Result<(), PublishError> {
        match topic {
            Topic::Order => self.log.push(Seen::Order),
            Topic::InstantActions => {
                let text = String::from_utf8_lossy(&payload);
                for (action, on) in [("\"startPause\"", true), ("\"stopPause\"", false)] {
                    if text.contains(action) {
                        self.log.push(Seen::Pause {
                            serial: serial.to_string(),
                            on,
                        });
                    }
                }
            }
            _ => {}
        }
        self.inner.send(manufacturer, serial, topic, payload)
    }
}

/// Associates at every station, releasing presented pods after a pick time.
pub struct Floorhands {
    associates: Option<Associates>,
}

impl Sidecar for Floorhands {
    fn start(&mut self, coord: &mut Coordinator) {
        self.associates = Some(Associates::staff_all(coord, 1000));
    }
    fn before_tick(&mut self, coord: &mut Coordinator, now_ms: u64) {
        if let Some(a) = self.associates.as_mut() {
            a.step(coord, now_ms);
        }
    }
    fn outcomes(&self, _: &Coordinator) -> (usize, usize, usize) {
        (0, 0, 0)
    }
}

pub const ROBOTS: usize = 6;

/// Runs the real coordinator loop over `store` with simulated units on a broker of its own,
/// while `script` runs beside it with the API's half of the loop; the loop stops when the
/// script returns.
pub async fn run_loop<F, Fut>(store: Arc<dyn Store>, log: &Log, keep_queued: usize, script: F)
where
    F: FnOnce(OpsHandle) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = droverd::config::Config::load(&repo().join("config/droverd.toml")).unwrap();
    let port = free_port();
    drover_gateway::start_embedded_broker(format!("127.0.0.1:{port}").parse().unwrap(), 1000)
        .unwrap();
    let broker = BrokerAddr::local(port);
    let mut floor = droverd::demo::load_floor(&repo().join(&config.floor.path), 1).unwrap();
    let recovered = store.recover().unwrap();
    droverd::pods::restore_pods(&mut floor, &recovered);
    let tick_ms = config.coordinator.tick_ms;
    let (handle, mut ops) =
        droverd::ops::ops(Committer::start(store), &floor, recovered, tick_ms, None);
    let coord = config.coord_config();
    let interface = config.vda5050.interface.clone();
    let mut session_config = SessionConfig::new("droverd-store-test");
    session_config.subscriptions = fleet_subscriptions(&interface);
    session_config.queue = 64 * 1024;
    let (session, mut rx) = Session::start(&broker, session_config);
    tokio::time::timeout(Duration::from_secs(10), async {
        while rx.recv().await != Some(Incoming::Connected) {}
    })
    .await
    .expect("connected to the broker");
    let specs = robot_specs(&floor, ROBOTS).unwrap();
    let frame = drover_core::orders::MapFrame::new(&coord.map_id, &floor.grid, floor.cell_size_m)
        .placed(coord.placement);
    let units = units_at(
        &specs,
        &coord.manufacturer,
        &frame,
        &UnitConfig::standard().scaled(8.0),
    );
    let starts: Vec<_> = specs.iter().map(|s| s.start.cell).collect();
    let fleet = UnitFleet::start(
        units,
        World::new(floor.grid.n_cells(), &starts),
        &UnitFleetConfig {
            host: broker.host.clone(),
            port: broker.port,
            passwords: Default::default(),
            interface: interface.clone(),
            step_ms: 50,
            state_every_ms: 1000,
            keep_alive: Duration::from_secs(15),
            network_timeout: Duration::from_secs(10),
            late: Vec::new(),
            faults: Faults::none(),
        },
    );
    let mut link = Tap {
        inner: MqttLink { session, interface },
        log: log.clone(),
    };
    let mut floorhands = Floorhands { associates: None };
    let (stop, shutdown) = watch::channel(false);
    let serials = specs.iter().map(|s| s.serial.clone()).collect();
    let coordinate = droverd::run_coordinator(
        floor,
        serials,
        coord,
        config.vda5050.intake(),
        Duration::from_millis(tick_ms),
        Duration::from_secs(30),
        &mut link,
        None,
        &mut rx,
        Control {
            submit_picks: 0,
            keep_queued,
            stop_when_done: false,
            progress_every: Duration::from_secs(3600),
            run_for: None,
        },
        shutdown,
        Some(&mut ops),
        Some(&mut floorhands),
    );
    let script = async move {
        script(handle).await;
        let _ = stop.send(true);
    };
    let (summary, ()) = tokio::join!(coordinate, script);
    summary.expect("the loop ends cleanly");
    fleet.stop().await;
    link.inner.session.disconnect().await;
}

/// Waits until the live view satisfies `check`.
pub async fn live_until(
    handle: &OpsHandle,
    within: Duration,
    what: &str,
    check: impl Fn(&Live) -> bool,
) -> Arc<Live> {
    let deadline = Instant::now() + within;
    loop {
        let live = handle.live.borrow().clone();
        if check(&live) {
            return live;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds.
pub async fn until(within: Duration, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The operator pauses or resumes the fleet, as `POST /api/fleet/...` does.
pub async fn operator_pause(handle: &OpsHandle, paused: bool) -> bool {
    let (reply, answer) = oneshot::channel();
    handle
        .commands
        .send(OpsCommand::Fleet { paused, reply })
        .await
        .unwrap();
    answer.await.unwrap().is_ok()
}

/// An operator cancels a task, as `DELETE /api/tasks/{id}` does; the error's text on failure.
pub async fn cancel(handle: &OpsHandle, id: u64) -> Result<(), String> {
    let (reply, answer) = oneshot::channel();
    handle
        .commands
        .send(OpsCommand::Cancel { id, reply })
        .await
        .unwrap();
    answer.await.unwrap().map_err(|e| e.message)
}

pub fn done_in_store(store: &dyn Store) -> usize {
    store
        .tasks(&TaskQuery {
            statuses: vec![TaskStatus::Done],
            limit: 10_000,
            ..TaskQuery::default()
        })
        .unwrap()
        .len()
}

pub fn tasks_done(live: &Live) -> u64 {
    live.kpis.tasks.get("done").copied().unwrap_or(0)
}

/// Robots that got `startPause` (`on`) or `stopPause` in `seen`.
pub fn paused_robots(seen: &[Seen], on: bool) -> std::collections::BTreeSet<String> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Pause { serial, on: o } if *o == on => Some(serial.clone()),
            _ => None,
        })
        .collect()
}
