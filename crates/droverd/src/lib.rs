//! droverd: runs the coordinator against robots over MQTT (`run`), or a whole simulated floor
//! with the embedded broker, virtual drive units and associates (`demo`).
//!
//! [`run_coordinator`] is the loop: it learns where every configured robot stands from its
//! first state, then ticks the pure [`Coordinator`] at a fixed rate, feeding it what the
//! strict [`Inbox`] accepts and publishing its orders through a [`RobotLink`] with per-topic
//! header ids and timestamps. It never panics on robot input: rejects are counted and logged.

pub mod api;
pub mod config;
pub mod demo;
pub mod ops;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use drover_core::coord::{CoordConfig, CoordEvent, Coordinator, Outbound, RobotSpec};
use drover_core::orders::{MapFrame, OrderLimits, heading_of};
use drover_gateway::{Incoming, RobotLink};
use drover_grid::Cell;
use drover_grid::load::Floor;
use drover_plan::AgentState;
use drover_sim::fleet::{Associates, task_outcomes};
use drover_sim::mqtt::epoch_ms;
use drover_vda5050::{Factsheet, HeaderIds, Inbound, Inbox, Reject, Timestamp, Topic};
use tokio::sync::{mpsc, watch};

use crate::ops::{Command, OpsLoop};

/// What the loop does besides coordinating.
#[derive(Clone, Debug)]
pub struct Control {
    /// Simulated associates release presented pods after this many ms (demo, tests).
    pub associates_pick_ms: Option<u64>,
    /// Pick tasks submitted once all robots are known.
    pub submit_picks: usize,
    /// Keep at least this many pick tasks queued (demo's endless order stream); 0: off.
    pub keep_queued: usize,
    /// Return once every submitted task is done.
    pub stop_when_done: bool,
    /// Seconds between progress log lines.
    pub progress_every: Duration,
    /// Stop (pausing every robot) this long after the robots are located; `None`: run until
    /// shutdown.
    pub run_for: Option<Duration>,
}

/// What a run of the loop measured.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Robots driven.
    pub robots: usize,
    /// Ticks run.
    pub ticks: u64,
    /// Tasks submitted / done / failed or cancelled / still open.
    pub submitted: usize,
    /// Done.
    pub done: usize,
    /// Failed or cancelled.
    pub failed: usize,
    /// Open.
    pub open: usize,
    /// Tick duration percentiles, ms.
    pub tick_ms_p50: f64,
    /// p99.
    pub tick_ms_p99: f64,
    /// Max.
    pub tick_ms_max: f64,
    /// Messages in (accepted by the inbox).
    pub messages_in: u64,
    /// Messages rejected by the inbox.
    pub rejected: u64,
    /// Messages published.
    pub messages_out: u64,
    /// Publishes that failed (queue full).
    pub publish_failures: u64,
    /// Robots that went silent at some point.
    pub silent_events: u64,
    /// Fleet robots that first reported after startup (not driven, their cells closed).
    pub late_robots: usize,
    /// Progress reports the executor refused.
    pub bad_progress: u64,
}

/// Waits for every robot's first state and returns where each stands and what it carries,
/// with the factsheets that arrived meanwhile (robots publish them retained on connecting). Robots that do not
/// report within `timeout` are left out (logged); the others must stand on distinct free
/// cells.
async fn discover(
    floor: &Floor,
    frame: &MapFrame,
    serials: &[String],
    inbox: &mut Inbox,
    rx: &mut mpsc::Receiver<Incoming>,
    timeout: Duration,
) -> anyhow::Result<Discovered> {
    let mut found: HashMap<String, AgentState> = HashMap::new();
    let mut loads: HashMap<String, Vec<String>> = HashMap::new();
    let mut sheets: HashMap<String, Factsheet> = HashMap::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while found.len() < serials.len() {
        let message = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => anyhow::bail!("the MQTT session closed during startup"),
            Err(_) => break,
        };
        let Incoming::Message { topic, payload } = message else {
            continue;
        };
        let Ok(received) = inbox.receive(&topic, &payload) else {
            continue;
        };
        if let Inbound::Factsheet(f) = received.message {
            sheets.insert(received.serial, *f);
        } else if let Inbound::State(s) = received.message {
            let cell = state_cell(frame, &s);
            let heading = s
                .agv_position
                .as_ref()
                .map_or(drover_grid::Heading::East, |p| heading_of(p.theta));
            match cell {
                Some(cell) if floor.grid.contains(cell) && floor.grid.is_free(cell) => {
                    let carried = s
                        .loads
                        .iter()
                        .flatten()
                        .filter_map(|l| l.load_id.clone())
                        .collect();
                    loads.insert(received.serial.clone(), carried);
                    found.insert(received.serial, AgentState { cell, heading });
                }
                _ => {
                    tracing::warn!(robot = %received.serial, "state without a position on the floor")
                }
            }
        }
    }
    let mut specs = Vec::new();
    let mut taken: HashMap<Cell, String> = HashMap::new();
    for serial in serials {
        match found.get(serial) {
            Some(start) => {
                if let Some(other) = taken.get(&start.cell) {
                    tracing::error!(robot = %serial, other = %other, cell = start.cell.0, "two robots report one cell; leaving the second out");
                    continue;
                }
                taken.insert(start.cell, serial.clone());
                specs.push(RobotSpec {
                    serial: serial.clone(),
                    start: *start,
                });
            }
            None => {
                tracing::warn!(robot = %serial, "no state within the startup timeout; not driven")
            }
        }
    }
    anyhow::ensure!(
        !specs.is_empty(),
        "no robot reported a state within {timeout:?}"
    );
    Ok(Discovered {
        specs,
        sheets,
        loads,
    })
}

/// The cell a state reports: its position, else its last node.
fn state_cell(frame: &MapFrame, s: &drover_vda5050::State) -> Option<Cell> {
    s.agv_position
        .as_ref()
        .and_then(|p| frame.cell_at(p.x, p.y))
        .or_else(|| s.last_node_id.parse().ok().map(Cell))
}

/// What [`discover`] learnt.
struct Discovered {
    specs: Vec<RobotSpec>,
    sheets: HashMap<String, Factsheet>,
    /// Load ids each robot reports carrying.
    loads: HashMap<String, Vec<String>>,
}

/// The `p` quantile (0..=1) of sorted values, 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// Runs the coordinator until shutdown (or, with `stop_when_done`, until every submitted
/// task is done). On shutdown every robot is told to pause.
#[allow(
    clippy::too_many_arguments,
    reason = "the loop's inputs are all distinct"
)]
pub async fn run_coordinator(
    floor: Floor,
    serials: Vec<String>,
    config: CoordConfig,
    tick: Duration,
    startup_timeout: Duration,
    link: &mut dyn RobotLink,
    rx: &mut mpsc::Receiver<Incoming>,
    control: Control,
    mut shutdown: watch::Receiver<bool>,
    mut ops: Option<&mut OpsLoop>,
) -> anyhow::Result<Summary> {
    let frame = MapFrame::new(&config.map_id, &floor.grid, floor.cell_size_m);
    let manufacturer = config.manufacturer.clone();
    let mut inbox = Inbox::new();
    for s in &serials {
        inbox.register(&manufacturer, s);
    }
    // The allocation tables (about a second of BFS on a large floor) are computed off the
    // runtime while the robots report, so the first tick does not stall every connection.
    let tables = {
        let floor = floor.clone();
        tokio::task::spawn_blocking(move || drover_alloc::TargetTables::for_floor(&floor))
    };
    tracing::info!(
        robots = serials.len(),
        "waiting for the robots' first states"
    );
    let Discovered {
        specs,
        sheets,
        loads,
    } = discover(&floor, &frame, &serials, &mut inbox, rx, startup_timeout).await?;
    let index: HashMap<String, u32> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.serial.clone(), i as u32))
        .collect();
    tracing::info!(robots = specs.len(), "all robots located; coordinating");
    // Order ids of this run differ from a previous run's, which robots may still run.
    let mut config = config;
    config.instance = format!("{:x}", crate::ops::now_ms());
    let tables = tables
        .await
        .map_err(|e| anyhow::anyhow!("computing the allocation tables failed: {e}"))?;
    let mut coord = Coordinator::with_tables(&floor, &specs, config, tables);
    let tick_ms = tick.as_millis() as u64;
    for (robot, spec) in specs.iter().enumerate() {
        if let Some(sheet) = sheets.get(&spec.serial) {
            coord.set_order_limits(robot as u32, OrderLimits::from_factsheet(sheet, tick_ms));
        }
        // A pod lifted before a restart goes back to a slot from where the robot stands.
        for load in loads.get(&spec.serial).into_iter().flatten() {
            match coord.adopt_load(robot as u32, load) {
                Ok(()) => {
                    tracing::info!(robot = %spec.serial, %load, "robot carries a pod: it goes to a slot")
                }
                Err(e) => {
                    tracing::warn!(robot = %spec.serial, %load, error = %e, "robot reports a load that cannot be adopted")
                }
            }
        }
    }
    let mut headers: Vec<HeaderIds> = vec![HeaderIds::default(); specs.len()];
    // Robots of the fleet that first reported after startup, where they stand.
    let mut late: HashMap<String, Cell> = HashMap::new();
    let mut associates = control
        .associates_pick_ms
        .map(|ms| Associates::staff_all(&mut coord, ms));
    let mut tasks = Vec::new();
    let mut stream_k = 0;
    let mut summary = Summary {
        robots: specs.len(),
        ..Summary::default()
    };
    match ops.as_deref_mut() {
        Some(o) => {
            for (robot, message) in o.restore(&mut coord).await? {
                publish(&mut coord, &mut headers, link, &mut summary, robot, message);
            }
            o.top_up(&mut coord, control.submit_picks, &mut stream_k)
                .await;
        }
        None => tasks = drover_sim::fleet::submit_picks(&mut coord, control.submit_picks),
    }
    // Shown at 0 until the broker connection drops and comes back.
    metrics::counter!("drover_mqtt_reconnects_total").increment(0);
    let mut durations: Vec<f64> = Vec::new();
    let start = Instant::now();
    let mut last_progress = Instant::now();
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stop_at = control.run_for.map(|d| tokio::time::Instant::now() + d);
    loop {
        let mut command = None;
        let mut stop = false;
        tokio::select! {
            _ = interval.tick() => {}
            c = next_command(&mut ops) => command = Some(c),
            _ = shutdown.changed() => stop = true,
            _ = until(stop_at) => stop = true,
        }
        if stop {
            tracing::info!("shutting down: pausing every robot");
            // Nothing resends after shutdown: a pause the full client queue refused is
            // retried until it goes out (thousands of robots overflow the queue at once).
            let mut pending = coord.pause_all();
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                pending.retain(|(robot, message)| {
                    let sent = send(&mut coord, &mut headers, link, *robot, message.clone());
                    count_send(&mut summary, &sent);
                    sent.is_err()
                });
                if pending.is_empty() || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !pending.is_empty() {
                tracing::error!(
                    robots = pending.len(),
                    "the broker took no pause for these robots within 5 s"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            break;
        }
        if let (Some(c), Some(o)) = (command, ops.as_deref_mut()) {
            // Operator commands run between ticks, at once (their commits are awaited).
            for (robot, message) in o.handle(&mut coord, c).await {
                publish(&mut coord, &mut headers, link, &mut summary, robot, message);
            }
            continue;
        }
        // Everything that arrived since the last tick.
        while let Ok(message) = rx.try_recv() {
            let (topic, payload) = match message {
                Incoming::Message { topic, payload } => (topic, payload),
                Incoming::Connected => {
                    // Discovery saw the first connect: every later one is a reconnect.
                    metrics::counter!("drover_mqtt_reconnects_total").increment(1);
                    continue;
                }
                _ => continue,
            };
            match inbox.receive(&topic, &payload) {
                Ok(received) => {
                    summary.messages_in += 1;
                    metrics::counter!("drover_mqtt_messages_in_total").increment(1);
                    let Some(&robot) = index.get(&received.serial) else {
                        // A robot of the fleet that missed startup: not driven, but nobody
                        // may run into it.
                        if let Inbound::State(s) = &received.message
                            && let Some(cell) = state_cell(&frame, s)
                            && late.get(&received.serial) != Some(&cell)
                        {
                            if !late.contains_key(&received.serial) {
                                summary.late_robots += 1;
                                tracing::warn!(robot = %received.serial, cell = cell.0, "robot reported after startup: not driven (restart droverd to drive it); its cell is closed to the others");
                            }
                            late.insert(received.serial.clone(), cell);
                            coord.set_foreign(&late.values().copied().collect::<Vec<_>>());
                        }
                        continue;
                    };
                    match received.message {
                        Inbound::State(s) => {
                            if let Some(o) = ops.as_deref_mut() {
                                o.on_state(robot, &s);
                            }
                            coord.on_state(robot, &s)
                        }
                        Inbound::Connection(c) => coord.on_connection(robot, c.connection_state),
                        Inbound::Factsheet(f) => {
                            coord.set_order_limits(robot, OrderLimits::from_factsheet(&f, tick_ms))
                        }
                        Inbound::Visualization(_) => {}
                    }
                }
                Err(reject) => {
                    summary.rejected += 1;
                    metrics::counter!("drover_mqtt_rejected_total").increment(1);
                    match reject {
                        Reject::Duplicate { .. } | Reject::Stale { .. } => {
                            tracing::debug!(%reject, "robot message dropped")
                        }
                        _ => tracing::warn!(%reject, "robot message rejected"),
                    }
                }
            }
        }
        let now_ms = start.elapsed().as_millis() as u64;
        if let Some(a) = associates.as_mut() {
            a.step(&mut coord, now_ms);
        }
        if control.keep_queued > 0 && coord.alloc().queued() < control.keep_queued {
            let more = control.keep_queued - coord.alloc().queued();
            match ops.as_deref_mut() {
                Some(o) => o.top_up(&mut coord, more, &mut stream_k).await,
                None => tasks.extend(drover_sim::fleet::submit_picks(&mut coord, more)),
            }
        }
        let t0 = Instant::now();
        let out = coord.tick_timed(&|| t0.elapsed().as_secs_f64());
        let tick_s = t0.elapsed().as_secs_f64();
        metrics::histogram!("drover_alloc_seconds").record(out.phases.alloc_s);
        metrics::histogram!("drover_planner_seconds").record(out.phases.plan_s);
        durations.push(tick_s * 1000.0);
        metrics::histogram!("drover_tick_seconds").record(tick_s);
        summary.ticks += 1;
        for e in &out.events {
            match e {
                CoordEvent::Silent { robot } => {
                    summary.silent_events += 1;
                    tracing::warn!(robot = %coord.serial(*robot), "robot silent: its task goes back to the queue, its cells stay blocked");
                }
                CoordEvent::Back { robot } => {
                    tracing::info!(robot = %coord.serial(*robot), "robot reports again")
                }
                CoordEvent::BadProgress(e) => {
                    summary.bad_progress += 1;
                    tracing::error!(error = %e, "progress report refused");
                }
                CoordEvent::OrderRestarted { robot } => {
                    tracing::info!(robot = %coord.serial(*robot), "robot runs no order of ours: new order")
                }
                CoordEvent::Stopped { robot } => {
                    tracing::info!(robot = %coord.serial(*robot), "order cancelled: robot stopped")
                }
                CoordEvent::ZoneHold { robot, held } => {
                    tracing::info!(robot = %coord.serial(*robot), held, "blocked zone: robot held (paused) or let go")
                }
                CoordEvent::Alloc(e) => tracing::debug!(event = ?e, "allocator"),
            }
        }
        if let Some(o) = ops.as_deref_mut() {
            // Transitions are durable before the orders that follow them go out.
            o.after_tick(&coord, &out.events, tick_s * 1000.0).await;
        }
        for (robot, message) in out.outbound {
            publish(&mut coord, &mut headers, link, &mut summary, robot, message);
        }
        if let Some(o) = ops.as_deref_mut() {
            o.publish(&coord, start.elapsed().as_secs_f64());
        }
        // Task outcomes scan every task: only when a log line or the stop rule needs them.
        let progress_due = last_progress.elapsed() >= control.progress_every;
        if !progress_due && !control.stop_when_done {
            continue;
        }
        let (done, failed, mut open) = task_outcomes(&coord, &tasks);
        if let Some(o) = ops.as_deref() {
            open += o.open_tasks();
        }
        if progress_due {
            last_progress = Instant::now();
            let silent = (0..coord.n_robots() as u32)
                .filter(|r| coord.is_silent(*r))
                .count();
            tracing::info!(
                done,
                open,
                failed,
                silent,
                ticks = summary.ticks,
                "progress"
            );
        }
        if control.stop_when_done && open == 0 {
            break;
        }
    }
    let (done, failed, open) = task_outcomes(&coord, &tasks);
    summary.submitted = tasks.len();
    summary.done = done;
    summary.failed = failed;
    summary.open = open;
    durations.sort_by(f64::total_cmp);
    summary.tick_ms_p50 = percentile(&durations, 0.5);
    summary.tick_ms_p99 = percentile(&durations, 0.99);
    summary.tick_ms_max = durations.last().copied().unwrap_or(0.0);
    Ok(summary)
}

/// Resolves at `at`; never without one.
async fn until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next operator command; never resolves without an API (or once every handle is gone).
async fn next_command(ops: &mut Option<&mut OpsLoop>) -> Command {
    if let Some(o) = ops.as_deref_mut()
        && let Some(c) = o.next_command().await
    {
        return c;
    }
    std::future::pending().await
}

/// Sends `message` to `robot`; a refused publish is logged (the order book resends it).
fn publish(
    coord: &mut Coordinator,
    headers: &mut [HeaderIds],
    link: &mut dyn RobotLink,
    summary: &mut Summary,
    robot: u32,
    message: Outbound,
) {
    let sent = send(coord, headers, link, robot, message);
    count_send(summary, &sent);
    if let Err(e) = sent {
        tracing::warn!(robot = %coord.serial(robot), error = %e, "publish failed; the order book resends");
    }
}

/// Stamps `message` with the robot's next header id and the time, and hands it to the link.
fn send(
    coord: &mut Coordinator,
    headers: &mut [HeaderIds],
    link: &mut dyn RobotLink,
    robot: u32,
    message: Outbound,
) -> Result<(), anyhow::Error> {
    let serial = coord.serial(robot).to_string();
    let now = Timestamp(epoch_ms());
    let h = &mut headers[robot as usize];
    let (topic, payload) = match message {
        Outbound::Order(mut o) => {
            o.header_id = h.next(Topic::Order);
            o.timestamp = now;
            (Topic::Order, serde_json::to_vec(&o))
        }
        Outbound::InstantActions(mut a) => {
            a.header_id = h.next(Topic::InstantActions);
            a.timestamp = now;
            (Topic::InstantActions, serde_json::to_vec(&a))
        }
    };
    let payload = payload.map_err(|e| anyhow::anyhow!("message did not serialise: {e}"))?;
    link.send(coord.manufacturer(), &serial, topic, payload)?;
    Ok(())
}

fn count_send(summary: &mut Summary, sent: &Result<(), anyhow::Error>) {
    if sent.is_ok() {
        summary.messages_out += 1;
        metrics::counter!("drover_mqtt_messages_out_total").increment(1);
    } else {
        summary.publish_failures += 1;
        metrics::counter!("drover_mqtt_publish_failures_total").increment(1);
    }
}
