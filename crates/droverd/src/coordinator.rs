//! The coordinator loop: it learns where every configured robot stands from its first state,
//! then ticks the pure [`Coordinator`] at a fixed rate, feeding it what the strict inbox of the
//! [`Session`] accepts and publishing its orders through a [`RobotLink`] with per-topic header
//! ids and timestamps. It never panics on robot input: rejects are counted per robot and
//! reason, and logged at most once per robot and reason a minute ([`Noise`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use drover_core::coord::{CoordConfig, CoordEvent, Coordinator};
use drover_core::session::{Discovery, Intake, Publish, Session, SessionConfig, SessionEvent};
use drover_gateway::{Incoming, RobotLink};
use drover_grid::load::Floor;
use drover_vda5050::Reject;

use crate::clock::epoch_ms;
use crate::noise::{LOG_INTERVAL, Noise};
use tokio::sync::{mpsc, watch};

use crate::ops::{Command, OpsLoop};
use crate::stats::percentile;

/// What runs beside the coordinator in the loop without being part of it: the demo's
/// simulated associates, and its pick tasks when no API runs.
pub trait Sidecar: Send {
    /// Once, when the coordinator exists.
    fn start(&mut self, coord: &mut Coordinator);
    /// Before every tick; `now_ms` counts from the start of coordinating.
    fn before_tick(&mut self, coord: &mut Coordinator, now_ms: u64);
    /// Its own tasks: done, failed or cancelled, open.
    fn outcomes(&self, coord: &Coordinator) -> (usize, usize, usize);
}

/// What the loop does besides coordinating.
#[derive(Clone, Debug)]
pub struct Control {
    /// Pick tasks submitted through the store once all robots are known (with an API).
    pub submit_picks: usize,
    /// Keep at least this many pick tasks queued through the store (demo's endless order
    /// stream, with an API); 0: off.
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
    /// Messages dropped before the inbox: the MQTT session's incoming queue was full.
    pub dropped_in: u64,
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
    /// Times a robot went down (refused an order, FATAL error, safety stop, misplaced).
    pub down_events: u64,
}

/// Runs the coordinator until shutdown (or, with `stop_when_done`, until every submitted
/// task is done). On shutdown every robot is told to pause. `intake` says how far robots'
/// messages are believed; `link_stats`, the MQTT session's counters, feed the dropped-message
/// metric.
#[allow(
    clippy::too_many_arguments,
    reason = "the loop's inputs are all distinct"
)]
pub async fn run_coordinator(
    floor: Floor,
    serials: Vec<String>,
    config: CoordConfig,
    intake: Intake,
    tick: Duration,
    startup_timeout: Duration,
    link: &mut dyn RobotLink,
    link_stats: Option<Arc<drover_gateway::Stats>>,
    rx: &mut mpsc::Receiver<Incoming>,
    control: Control,
    mut shutdown: watch::Receiver<bool>,
    mut ops: Option<&mut OpsLoop>,
    mut sidecar: Option<&mut dyn Sidecar>,
) -> anyhow::Result<Summary> {
    let frame = drover_core::orders::MapFrame::new(&config.map_id, &floor.grid, floor.cell_size_m)
        .placed(config.placement);
    let mut discovery = Discovery::new(
        &floor,
        frame,
        SessionConfig {
            interface: link.interface().to_string(),
            manufacturer: config.manufacturer.clone(),
            serials: serials.clone(),
            tick_ms: tick.as_millis() as u64,
            intake,
        },
    );
    let mut noise = Noise::new(&serials, LOG_INTERVAL);
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
    let deadline = tokio::time::Instant::now() + startup_timeout;
    let mut summary = Summary::default();
    while !discovery.complete() {
        let message = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => anyhow::bail!("the MQTT session closed during startup"),
            Err(_) => break,
        };
        if let Incoming::Message { topic, payload } = message {
            for e in discovery.receive(&topic, &payload, epoch_ms()) {
                log_event(&mut summary, &mut noise, None, &e);
            }
        }
    }
    // Order ids of this run differ from a previous run's, which robots may still run.
    let mut config = config;
    config.instance = format!("{:x}", crate::clock::now_ms());
    let tables = tables
        .await
        .map_err(|e| anyhow::anyhow!("computing the allocation tables failed: {e}"))?;
    let (mut session, events) = discovery.start(config, tables)?;
    for e in &events {
        log_event(&mut summary, &mut noise, Some(&session), e);
    }
    tracing::info!(
        robots = session.coordinator().n_robots(),
        "robots located; coordinating"
    );
    for p in session.greet(epoch_ms()) {
        publish(link, &mut summary, p);
    }
    if let Some(s) = sidecar.as_deref_mut() {
        s.start(session.coordinator_mut());
    }
    let mut stream_k = 0;
    summary.robots = session.coordinator().n_robots();
    if let Some(o) = ops.as_deref_mut() {
        for (robot, message) in o.restore(session.coordinator_mut()).await? {
            let p = session.encode(robot, message, epoch_ms());
            publish(link, &mut summary, p);
        }
        o.top_up(
            session.coordinator_mut(),
            control.submit_picks,
            &mut stream_k,
        )
        .await;
    }
    // Shown at 0 until the broker connection drops and comes back, or messages are dropped.
    metrics::counter!("drover_mqtt_reconnects_total").increment(0);
    metrics::counter!("drover_mqtt_dropped_in_total").increment(0);
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
            let mut pending = session.pause_all(epoch_ms());
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                pending.retain(|(_, p)| {
                    let sent = send(link, p.clone());
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
            for (robot, message) in o.handle(session.coordinator_mut(), c).await {
                let p = session.encode(robot, message, epoch_ms());
                publish(link, &mut summary, p);
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
            summary.messages_in += 1;
            metrics::counter!("drover_mqtt_messages_in_total").increment(1);
            for e in session.receive(&topic, &payload, epoch_ms()) {
                log_event(&mut summary, &mut noise, Some(&session), &e);
            }
        }
        count_dropped(&mut summary, &mut noise, link_stats.as_deref());
        log_suppressed(&mut noise);
        let now_ms = start.elapsed().as_millis() as u64;
        if let Some(s) = sidecar.as_deref_mut() {
            s.before_tick(session.coordinator_mut(), now_ms);
        }
        let queued = session.coordinator().alloc().queued();
        if control.keep_queued > 0
            && queued < control.keep_queued
            && let Some(o) = ops.as_deref_mut()
        {
            let more = control.keep_queued - queued;
            o.top_up(session.coordinator_mut(), more, &mut stream_k)
                .await;
        }
        let t0 = Instant::now();
        let out = session.tick(epoch_ms(), &|| t0.elapsed().as_secs_f64());
        let tick_s = t0.elapsed().as_secs_f64();
        metrics::histogram!("drover_alloc_seconds").record(out.phases.alloc_s);
        metrics::histogram!("drover_planner_seconds").record(out.phases.plan_s);
        durations.push(tick_s * 1000.0);
        metrics::histogram!("drover_tick_seconds").record(tick_s);
        summary.ticks += 1;
        for e in &out.events {
            log_event(&mut summary, &mut noise, Some(&session), e);
        }
        let coord_events: Vec<CoordEvent> = out
            .events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Coord(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let mut hold_orders = false;
        if let Some(o) = ops.as_deref_mut() {
            // Transitions are durable before the orders that follow them go out. A failed
            // commit pauses the fleet (its actions go out) and holds this tick's orders, and
            // every later tick's, until the store takes the writes; the order book resends.
            let pauses = o
                .after_tick(session.coordinator_mut(), &coord_events, tick_s * 1000.0)
                .await;
            for (robot, message) in pauses {
                let p = session.encode(robot, message, epoch_ms());
                publish(link, &mut summary, p);
            }
            hold_orders = o.holds_orders();
        }
        for p in out.publish {
            if hold_orders && p.path.topic == drover_vda5050::Topic::Order {
                metrics::counter!("drover_orders_held_total").increment(1);
                continue;
            }
            publish(link, &mut summary, p);
        }
        if let Some(o) = ops.as_deref_mut() {
            o.publish(&session, start.elapsed().as_secs_f64());
        }
        // Task outcomes scan every task: only when a log line or the stop rule needs them.
        let progress_due = last_progress.elapsed() >= control.progress_every;
        if !progress_due && !control.stop_when_done {
            continue;
        }
        let coord = session.coordinator();
        let (done, failed, open) = outcomes(coord, sidecar.as_deref(), ops.as_deref());
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
    let (done, failed, open) = outcomes(session.coordinator(), sidecar.as_deref(), ops.as_deref());
    summary.submitted = done + failed + open;
    summary.done = done;
    summary.failed = failed;
    summary.open = open;
    durations.sort_by(f64::total_cmp);
    summary.tick_ms_p50 = percentile(&durations, 0.5);
    summary.tick_ms_p99 = percentile(&durations, 0.99);
    summary.tick_ms_max = durations.last().copied().unwrap_or(0.0);
    Ok(summary)
}

/// Tasks done, failed or cancelled, and open: the store's tasks (what the API and dashboard
/// count) and the loop's own submissions.
fn outcomes(
    coord: &Coordinator,
    sidecar: Option<&dyn Sidecar>,
    ops: Option<&OpsLoop>,
) -> (usize, usize, usize) {
    let (mut done, mut failed, mut open) = sidecar.map_or((0, 0, 0), |s| s.outcomes(coord));
    if let Some(o) = ops {
        let (d, f, n) = o.outcomes();
        done += d;
        failed += f;
        open += n;
    }
    (done, failed, open)
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

/// Publishes `p`; a refused publish is logged (the order book resends it).
fn publish(link: &mut dyn RobotLink, summary: &mut Summary, p: Publish) {
    let serial = p.path.serial.clone();
    let sent = send(link, p);
    count_send(summary, &sent);
    if let Err(e) = sent {
        tracing::warn!(robot = %serial, error = %e, "publish failed; the order book resends");
    }
}

/// Hands `p` to the link.
fn send(link: &mut dyn RobotLink, p: Publish) -> Result<(), anyhow::Error> {
    link.send(
        &p.path.manufacturer,
        &p.path.serial,
        p.path.topic,
        p.payload,
    )?;
    Ok(())
}

/// Counts messages the MQTT session dropped (its incoming queue was full) since the last
/// call, in the summary and in `drover_mqtt_dropped_in_total`; a log line at most once a
/// minute.
fn count_dropped(summary: &mut Summary, noise: &mut Noise, stats: Option<&drover_gateway::Stats>) {
    let Some(stats) = stats else {
        return;
    };
    let total = stats.dropped_in.load(Ordering::Relaxed);
    if total <= summary.dropped_in {
        return;
    }
    metrics::counter!("drover_mqtt_dropped_in_total").increment(total - summary.dropped_in);
    summary.dropped_in = total;
    if let Some(suppressed) = noise.admit("droverd", "queue_full", Instant::now()) {
        tracing::warn!(
            dropped = total,
            suppressed,
            "incoming MQTT queue full: robot messages dropped (total so far)"
        );
    }
}

/// Writes the lines owed for robot messages left out of the log in the last interval.
fn log_suppressed(noise: &mut Noise) {
    for s in noise.overdue(Instant::now()) {
        if matches!(s.reason, "duplicate" | "stale") {
            tracing::debug!(robot = %s.robot, reason = s.reason, suppressed = s.count, "robot messages dropped (not logged one by one)");
        } else {
            tracing::warn!(robot = %s.robot, reason = s.reason, suppressed = s.count, "robot messages rejected (not logged one by one)");
        }
    }
}

/// Logs and counts one session event; refusals and other per-message lines go through
/// `noise`, at most one per robot and reason a minute.
fn log_event(
    summary: &mut Summary,
    noise: &mut Noise,
    session: Option<&Session>,
    e: &SessionEvent,
) {
    let serial = |robot: &u32| {
        session.map_or_else(
            || robot.to_string(),
            |s| s.coordinator().serial(*robot).to_string(),
        )
    };
    match e {
        SessionEvent::Refused(reject) => {
            summary.rejected += 1;
            // A robot outside the fleet (by serial, or by manufacturer) is "unknown".
            let serial = match reject {
                Reject::UnknownRobot { .. } => None,
                _ => reject.serial(),
            };
            let robot = noise.robot_label(serial.as_deref());
            let reason = reject.reason();
            metrics::counter!("drover_mqtt_rejected_total", "robot" => robot.clone(), "reason" => reason)
                .increment(1);
            let Some(suppressed) = noise.admit(&robot, reason, Instant::now()) else {
                return;
            };
            match reject {
                Reject::Duplicate { .. } | Reject::Stale { .. } => {
                    tracing::debug!(robot = %robot, reason, suppressed, %reject, "robot message dropped")
                }
                _ => {
                    tracing::warn!(robot = %robot, reason, suppressed, %reject, "robot message rejected")
                }
            }
        }
        SessionEvent::Doubted {
            serial,
            state,
            state_age_ms,
        } => {
            metrics::counter!("drover_robot_connection_doubted_total", "robot" => serial.clone())
                .increment(1);
            if let Some(suppressed) = noise.admit(serial, "connection_doubted", Instant::now()) {
                tracing::warn!(robot = %serial, ?state, state_age_ms, suppressed, "connection message while the robot's states are fresh: held, believed only if no state follows");
            }
        }
        SessionEvent::Alert { serial, text } => {
            metrics::counter!("drover_robot_alerts_total").increment(1);
            tracing::warn!(robot = %serial, "{text}")
        }
        SessionEvent::Late { serial, cell } => {
            summary.late_robots += 1;
            if let Some(suppressed) = noise.admit(serial, "late", Instant::now()) {
                tracing::warn!(robot = %serial, cell = cell.0, suppressed, "robot reported after startup: not driven (restart droverd to drive it); its cell is closed to the others");
            }
        }
        SessionEvent::Coord(c) => match c {
            CoordEvent::Silent { robot } => {
                summary.silent_events += 1;
                tracing::warn!(robot = %serial(robot), "robot silent: its task goes back to the queue, its cells stay blocked");
            }
            CoordEvent::Back { robot } => {
                tracing::info!(robot = %serial(robot), "robot reports again")
            }
            CoordEvent::Down { robot, why } => {
                summary.down_events += 1;
                metrics::counter!("drover_robot_faults_total").increment(1);
                tracing::warn!(robot = %serial(robot), why = %why, "robot not driven: its task goes back to the queue, its cells are closed");
            }
            CoordEvent::ActionFailed {
                robot,
                action,
                reason,
            } => {
                metrics::counter!("drover_robot_actions_failed_total").increment(1);
                tracing::warn!(robot = %serial(robot), %action, %reason, "node action failed");
            }
            CoordEvent::Up { robot } => {
                tracing::info!(robot = %serial(robot), "robot driven again")
            }
            CoordEvent::BadProgress(e) => {
                summary.bad_progress += 1;
                tracing::error!(error = %e, "progress report refused");
            }
            CoordEvent::OrderRestarted { robot } => {
                tracing::info!(robot = %serial(robot), "robot runs no order of ours: new order")
            }
            CoordEvent::Stopped { robot } => {
                tracing::info!(robot = %serial(robot), "order cancelled: robot stopped")
            }
            CoordEvent::ZoneHold { robot, held } => {
                tracing::info!(robot = %serial(robot), held, "blocked zone: robot held (paused) or let go")
            }
            CoordEvent::Alloc(e) => tracing::debug!(event = ?e, "allocator"),
        },
    }
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
