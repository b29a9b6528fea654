//! The operations side of the coordinator loop: durable tasks, operator commands, the live
//! view, the event log the dashboard and SSE clients follow, and metrics.
//!
//! Rules: a task is committed before the API answers; task transitions and pod moves are
//! committed before the orders that follow them are published; staffing and zones are
//! committed before they take effect. After a restart [`OpsLoop::restore`] resubmits every
//! open task (it goes back to the queue: the robot that held it may have moved on) and
//! restaffs stations, so nothing accepted is lost, and the store refuses a second final
//! transition, so nothing is done twice.
//!
//! The store fails safe. A task transition is in effect in memory once the allocator made it,
//! so a commit of it that fails cannot be taken back: the loop owes it to the store. Owed
//! writes are kept in order and retried first in every later commit (every tick at least);
//! while any are owed the fleet is paused (a pause of the store's own, apart from the
//! operator's), no order is published ([`OpsLoop::holds_orders`]), no new demo task is
//! generated, and what waits on them (task events, final counts) waits. The first commit that
//! succeeds settles them and lifts the store's pause. A restart in between recovers the store's
//! last state: nothing owed was ever acknowledged as done, so nothing is done twice.
//!
//! This file holds the two halves ([`OpsHandle`] for the API, [`OpsLoop`] for the loop), the
//! task bookkeeping and the commits after each tick; `commands` runs operator commands, `live`
//! rebuilds the live view, `events` keeps the event log, `names` checks client names.

mod commands;
mod events;
mod live;
mod names;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use drover_alloc::{Errand, ErrandAction, PodId, PodSel, StationId, TaskId, TaskKind, TaskState};
use drover_core::coord::{CoordEvent, Coordinator, Outbound, ZoneArea};
use drover_grid::Cell;
use drover_grid::load::Floor;
use drover_store::{
    Committer, ContentsRecord, ErrandKind, Outcome, PodChoice, Recovered, SpecKind, StoreError,
    TaskSpec, TaskStatus, Write,
};
use tokio::sync::{mpsc, watch};

use crate::clock::now_ms;
use commands::FLEET_PAUSED;
pub use commands::{Command, RobotOp, StationOp};
pub use events::{Event, EventLog, Resume};
pub(crate) use live::zone_out;
pub use live::{Kpis, Live, RobotOut, StationOut, ZoneOut};
pub use names::FloorNames;

/// What the API side holds: how to reach the loop, the store, the live view and events.
#[derive(Clone)]
pub struct OpsHandle {
    /// Commands to the loop.
    pub commands: mpsc::Sender<Command>,
    /// The store's writer (reads through `committer.store()`).
    pub committer: Committer,
    /// The live view.
    pub live: watch::Receiver<Arc<Live>>,
    /// Events.
    pub events: Arc<EventLog>,
    /// Names for validation.
    pub names: Arc<FloorNames>,
    /// Zone ids.
    pub next_zone: Arc<std::sync::atomic::AtomicU64>,
}

/// What the loop holds.
pub struct OpsLoop {
    names: Arc<FloorNames>,
    commands: mpsc::Receiver<Command>,
    committer: Committer,
    live: watch::Sender<Arc<Live>>,
    events: Arc<EventLog>,
    recovered: Recovered,
    /// Open client tasks: store id -> allocator id, last status and robot.
    open: HashMap<u64, (TaskId, TaskStatus, Option<u32>)>,
    by_alloc: HashMap<TaskId, u64>,
    /// Final counts since the store opened (plus what recovery found).
    finals: HashMap<TaskStatus, u64>,
    pods: HashMap<String, PodId>,
    stations: HashMap<String, StationId>,
    zones: Vec<ZoneOut>,
    /// Speed limit on the ring around blocked zones, m/s.
    ring_speed: Option<f64>,
    width: u32,
    height: u32,
    stats: Vec<StationStats>,
    last_cells: Vec<u32>,
    last_stations: Vec<StationOut>,
    ticks_ms: VecDeque<f64>,
    tick_ms: u64,
    done_since_start: u64,
    /// Writes in effect in memory that the store has not taken yet.
    owed: Owed,
    /// Set while commits fail (and something is owed).
    failing: Option<Failing>,
    /// An operator paused the fleet (`POST /api/fleet/pause`, stored). The store's pause is
    /// `failing`; the coordinator's fleet is paused while either is.
    operator_paused: bool,
    /// Pause and resume actions from the store's pause, sent with the next batch of messages.
    outbox: Vec<(u32, Outbound)>,
}

/// What the loop owes the store: writes already in effect in memory, in the order they
/// happened, and what waits until they are durable (task events for clients, final counts).
#[derive(Default)]
struct Owed {
    writes: Vec<Write>,
    events: Vec<serde_json::Value>,
    finals: Vec<TaskStatus>,
}

/// Commits are failing: the fleet is paused and orders are held.
struct Failing {
    since: Instant,
    /// The last error.
    error: String,
    /// Failed commits in this episode.
    tries: u64,
}

#[derive(Clone, Default)]
struct StationStats {
    /// Ticks staffed with work for the station.
    demand_ticks: u64,
    starved_ticks: u64,
    presentations: u64,
    /// Units picked or stowed here since droverd started.
    units: u64,
    last_presented: Option<(u32, u32)>,
}

/// Builds the two halves. `recovered` is what the store held at startup.
pub fn ops(
    committer: Committer,
    floor: &Floor,
    recovered: Recovered,
    tick_ms: u64,
    ring_speed: Option<f64>,
) -> (OpsHandle, OpsLoop) {
    let (tx, rx) = mpsc::channel(64 * 1024);
    // Stored zones are served before the coordinator starts (it waits for the robots).
    let (live_tx, live_rx) = watch::channel(Arc::new(Live {
        zones: recovered
            .zones
            .iter()
            .map(|(id, z)| zone_out(*id, &z.spec()))
            .collect(),
        ..Live::default()
    }));
    let events = Arc::new(EventLog::new(20_000));
    let next_zone = recovered.zones.iter().map(|z| z.0).max().unwrap_or(0) + 1;
    let mut finals = HashMap::new();
    for (s, n) in &recovered.counts {
        if s.is_final() {
            finals.insert(*s, *n);
        }
    }
    let names = Arc::new(FloorNames::new(floor));
    let handle = OpsHandle {
        commands: tx,
        committer: committer.clone(),
        live: live_rx,
        events: events.clone(),
        names: names.clone(),
        next_zone: Arc::new(std::sync::atomic::AtomicU64::new(next_zone)),
    };
    let ops = OpsLoop {
        names,
        commands: rx,
        committer,
        live: live_tx,
        events,
        recovered,
        open: HashMap::new(),
        by_alloc: HashMap::new(),
        finals,
        pods: floor
            .pods
            .iter()
            .enumerate()
            .map(|(k, p)| (p.id.clone(), PodId(k as u32)))
            .collect(),
        stations: floor
            .stations
            .iter()
            .enumerate()
            .map(|(k, s)| (s.name.clone(), StationId(k as u16)))
            .collect(),
        zones: Vec::new(),
        ring_speed,
        width: floor.grid.width(),
        height: floor.grid.height(),
        stats: vec![StationStats::default(); floor.stations.len()],
        last_cells: Vec::new(),
        last_stations: Vec::new(),
        ticks_ms: VecDeque::new(),
        tick_ms: tick_ms.max(1),
        done_since_start: 0,
        owed: Owed::default(),
        failing: None,
        operator_paused: false,
        outbox: Vec::new(),
    };
    // Shown at 0 until a commit fails.
    metrics::counter!("drover_store_commit_failures_total").increment(0);
    metrics::gauge!("drover_store_failing").set(0.0);
    (handle, ops)
}

fn status_of(state: &TaskState) -> (TaskStatus, Option<u32>) {
    let status = match state {
        TaskState::Queued => TaskStatus::Queued,
        TaskState::Assigned { .. } => TaskStatus::Assigned,
        TaskState::InProgress { .. } => TaskStatus::InProgress,
        TaskState::Done { .. } => TaskStatus::Done,
        TaskState::Failed { .. } => TaskStatus::Failed,
        TaskState::Cancelled => TaskStatus::Cancelled,
    };
    (status, state.robot())
}

/// The cells next to `cells` (8-neighbourhood) that are not in it.
fn ring(cells: &[Cell], width: u32, height: u32) -> Vec<Cell> {
    let inside: std::collections::HashSet<u32> = cells.iter().map(|c| c.0).collect();
    let mut out: Vec<Cell> = Vec::new();
    for c in cells {
        let (row, col) = (i64::from(c.0 / width), i64::from(c.0 % width));
        for dr in -1..=1 {
            for dc in -1..=1 {
                let (r, k) = (row + dr, col + dc);
                if r < 0 || k < 0 || r >= i64::from(height) || k >= i64::from(width) {
                    continue;
                }
                let id = (r * i64::from(width) + k) as u32;
                if !inside.contains(&id) {
                    out.push(Cell(id));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl OpsLoop {
    /// After the coordinator is built: resubmits open tasks, restaffs stations, reloads
    /// zones. Tasks that were under way go back to the queue (committed). Returns the pauses
    /// for robots that stand in a blocked zone.
    pub async fn restore(
        &mut self,
        coord: &mut Coordinator,
    ) -> anyhow::Result<Vec<(u32, Outbound)>> {
        let recovered = std::mem::take(&mut self.recovered);
        let mut writes = Vec::new();
        for (station, associate) in &recovered.staffed {
            match self.stations.get(station) {
                Some(&s) => coord.allocator().staff(s, associate),
                None => tracing::warn!(%station, "stored staffing for an unknown station"),
            }
        }
        for (id, zone) in &recovered.zones {
            self.zones.push(zone_out(*id, &zone.spec()));
        }
        // Without zones there is nothing to close (and no distance table to restart).
        let mut pauses = if self.zones.is_empty() {
            Vec::new()
        } else {
            coord.set_zones(&self.zone_areas())
        };
        if recovered
            .settings
            .iter()
            .any(|(k, v)| k == FLEET_PAUSED && v == "true")
        {
            tracing::warn!(
                "the fleet was paused before the restart: it stays paused until resumed"
            );
            self.operator_paused = true;
            pauses = coord.set_fleet_paused(true);
        }
        let n = recovered.open.len();
        for row in recovered.open {
            if row.status != TaskStatus::Queued {
                writes.push(Write::Transition {
                    id: row.id,
                    status: TaskStatus::Queued,
                    robot: None,
                    reason: Some("requeued after a coordinator restart".into()),
                    at_ms: now_ms(),
                });
            }
            writes.extend(self.submit(coord, row.id, &row.spec));
        }
        self.committer.commit(writes).await?;
        if n > 0 {
            tracing::info!(tasks = n, "open tasks recovered from the store");
        }
        Ok(pauses)
    }

    /// Hands a committed task to the allocator; a refusal is a failed task (returned write).
    fn submit(&mut self, coord: &mut Coordinator, id: u64, spec: &TaskSpec) -> Option<Write> {
        let now_tick = coord.now();
        let kind = match self.kind_of(coord, spec) {
            Ok(kind) => kind,
            Err(reason) => return Some(self.failed(id, reason)),
        };
        let deadline = spec.deadline_ms.map(|d| {
            let ahead = d.saturating_sub(now_ms()) / self.tick_ms;
            now_tick + ahead
        });
        match coord.allocator().submit(kind, spec.priority, deadline) {
            Ok(tid) => {
                self.open.insert(id, (tid, TaskStatus::Queued, None));
                self.by_alloc.insert(tid, id);
                None
            }
            Err(e) => Some(self.failed(id, e.to_string())),
        }
    }

    fn failed(&mut self, id: u64, reason: String) -> Write {
        tracing::warn!(task = id, %reason, "task refused by the allocator");
        Write::Transition {
            id,
            status: TaskStatus::Failed,
            robot: None,
            reason: Some(reason),
            at_ms: now_ms(),
        }
    }

    fn kind_of(&self, coord: &Coordinator, spec: &TaskSpec) -> Result<TaskKind, String> {
        let alloc = coord.alloc();
        let pod_sel = |p: &PodChoice| -> Result<PodSel, String> {
            match p {
                PodChoice::Pod(name) => self
                    .pods
                    .get(name)
                    .map(|p| PodSel::Pod(*p))
                    .ok_or_else(|| format!("no pod {name:?}")),
                PodChoice::Sku(name) => alloc
                    .sku(name)
                    .map(PodSel::Sku)
                    .ok_or_else(|| format!("no pod holds SKU {name:?}")),
            }
        };
        let station = |s: &Option<String>| -> Result<Option<StationId>, String> {
            match s {
                None => Ok(None),
                Some(name) => self
                    .stations
                    .get(name)
                    .map(|s| Some(*s))
                    .ok_or_else(|| format!("no station {name:?}")),
            }
        };
        Ok(match &spec.kind {
            SpecKind::Pick {
                pod,
                station: s,
                units,
            } => TaskKind::Pick {
                pod: pod_sel(pod)?,
                station: station(s)?,
                units: *units,
            },
            SpecKind::Stow {
                pod,
                station: s,
                units,
            } => TaskKind::Stow {
                pod: pod_sel(pod)?,
                station: station(s)?,
                units: *units,
            },
            SpecKind::Transport { errands } => TaskKind::Transport {
                errands: errands
                    .iter()
                    .map(|e| Errand {
                        cell: Cell(e.cell),
                        action: match e.action {
                            ErrandKind::Visit => ErrandAction::Visit,
                            ErrandKind::Lift => ErrandAction::Lift,
                            ErrandKind::Drop => ErrandAction::Drop,
                            ErrandKind::Dwell(t) => ErrandAction::Dwell(t),
                        },
                    })
                    .collect(),
            },
        })
    }

    /// Receives the next command (for the loop's `select!`).
    pub async fn next_command(&mut self) -> Option<Command> {
        self.commands.recv().await
    }

    /// Commands waiting now.
    pub fn try_command(&mut self) -> Option<Command> {
        self.commands.try_recv().ok()
    }

    /// Generates `n` pick tasks through the store (demo's order stream); none while the
    /// store fails.
    pub async fn top_up(&mut self, coord: &mut Coordinator, n: usize, k: &mut u64) {
        let names = coord.alloc().sku_names().to_vec();
        if names.is_empty() || self.failing.is_some() {
            return;
        }
        let mut writes = Vec::new();
        let mut specs = Vec::new();
        for _ in 0..n {
            let spec = TaskSpec {
                kind: SpecKind::Pick {
                    pod: PodChoice::Sku(names[(*k as usize) % names.len()].clone()),
                    station: None,
                    units: 1,
                },
                priority: 0,
                deadline_ms: None,
            };
            *k += 1;
            writes.push(Write::InsertTask {
                key: None,
                spec: spec.clone(),
                at_ms: now_ms(),
            });
            specs.push(spec);
        }
        match self.commit(coord, writes).await {
            Ok(outcomes) => {
                for (o, spec) in outcomes.iter().zip(&specs) {
                    if let Outcome::Inserted { id } = o {
                        // A refusal is owed, committed with this tick's transitions.
                        let refused = self.submit(coord, *id, spec);
                        self.owed.writes.extend(refused);
                        self.events
                            .push("task", &task_event(*id, TaskStatus::Queued, None));
                    }
                }
            }
            // Nothing was generated: the tasks exist neither in memory nor in the store.
            Err(e) => tracing::debug!(error = %e, "order stream: commit failed"),
        }
    }

    /// The zones as the coordinator takes them: a blocked zone with its access path, and a
    /// slow ring of one cell around it; a slow zone as it is.
    fn zone_areas(&self) -> Vec<ZoneArea> {
        let mut areas = Vec::new();
        for z in &self.zones {
            let cells = |ids: &[u32]| ids.iter().map(|&c| Cell(c)).collect::<Vec<Cell>>();
            match z.max_speed {
                Some(v) => areas.push(ZoneArea {
                    cells: cells(&z.cells),
                    max_speed: Some(f64::from(v)),
                }),
                None => {
                    let mut inner = cells(&z.cells);
                    inner.extend(cells(&z.access));
                    if let Some(v) = self.ring_speed {
                        areas.push(ZoneArea {
                            cells: ring(&inner, self.width, self.height),
                            max_speed: Some(v),
                        });
                    }
                    areas.push(ZoneArea {
                        cells: inner,
                        max_speed: None,
                    });
                }
            }
        }
        areas
    }

    /// After a coordinator tick: commits every task transition and pod move it caused (after
    /// whatever is still owed). Returns when they are durable, or when the commit failed; the
    /// caller publishes orders after this, unless [`OpsLoop::holds_orders`]. Returns the
    /// store's pause (or resume) actions to send.
    pub async fn after_tick(
        &mut self,
        coord: &mut Coordinator,
        events: &[CoordEvent],
        tick_ms: f64,
    ) -> Vec<(u32, Outbound)> {
        self.ticks_ms.push_back(tick_ms);
        let keep = (60_000 / self.tick_ms).max(10) as usize;
        while self.ticks_ms.len() > keep {
            self.ticks_ms.pop_front();
        }
        self.owe_moves(coord);
        for e in events {
            if let CoordEvent::Alloc(drover_alloc::Event::PodStored { pod, slot }) = e {
                let alloc = coord.alloc();
                let contents = alloc
                    .pod_contents(*pod)
                    .into_iter()
                    .map(|(s, q)| (alloc.sku_names()[s.0 as usize].clone(), q))
                    .collect();
                self.owed.writes.push(Write::PutPod {
                    name: alloc.pod_name(*pod).to_string(),
                    slot: slot.0,
                    contents: ContentsRecord::V1(contents),
                });
            }
        }
        // A failure is handled inside: the writes stay owed, the fleet is paused.
        let _ = self.commit(coord, Vec::new()).await;
        std::mem::take(&mut self.outbox)
    }

    /// Whether orders must not go out: a commit failed and its writes are still owed (the
    /// order book resends the held orders once they are durable).
    pub fn holds_orders(&self) -> bool {
        self.failing.is_some()
    }

    /// Commits everything owed, then `writes`, in one transaction, and returns the outcomes
    /// of `writes`. The caller puts `writes` into effect only once this returns `Ok`: on
    /// failure nothing is stored, the owed writes stay owed (in order), and while any are
    /// owed the fleet is paused. The first success after failures lifts that pause.
    async fn commit(
        &mut self,
        coord: &mut Coordinator,
        writes: Vec<Write>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let n_owed = self.owed.writes.len();
        if n_owed == 0 && writes.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = self.owed.writes.clone();
        batch.extend(writes);
        match self.committer.commit(batch).await {
            Ok(mut outcomes) => {
                let mine = outcomes.split_off(n_owed.min(outcomes.len()));
                self.settled(coord);
                Ok(mine)
            }
            Err(e) => {
                if n_owed > 0 {
                    self.unsettled(coord, &e);
                }
                Err(e)
            }
        }
    }

    /// The owed writes are durable: what waited on them follows, and the store's pause ends.
    fn settled(&mut self, coord: &mut Coordinator) {
        let owed = std::mem::take(&mut self.owed);
        for event in &owed.events {
            self.events.push("task", event);
        }
        for status in owed.finals {
            *self.finals.entry(status).or_default() += 1;
            if status == TaskStatus::Done {
                self.done_since_start += 1;
            }
        }
        if let Some(f) = self.failing.take() {
            metrics::gauge!("drover_store_failing").set(0.0);
            tracing::warn!(
                failed_commits = f.tries,
                seconds = f.since.elapsed().as_secs(),
                writes = owed.writes.len(),
                operator_paused = self.operator_paused,
                "store: commits succeed again and the owed writes are durable; the store's fleet pause ends"
            );
            let resume = self.sync_fleet_pause(coord);
            self.outbox.extend(resume);
        }
    }

    /// A commit of owed writes failed: pause the fleet and hold orders (logged once per
    /// episode, not per retry).
    fn unsettled(&mut self, coord: &mut Coordinator, e: &StoreError) {
        match &mut self.failing {
            Some(f) => {
                f.tries += 1;
                f.error = e.to_string();
            }
            None => {
                tracing::error!(
                    error = %e,
                    writes = self.owed.writes.len(),
                    "store: a commit failed; the fleet is paused and no order goes out until the store takes the owed writes (retried every tick)"
                );
                self.failing = Some(Failing {
                    since: Instant::now(),
                    error: e.to_string(),
                    tries: 1,
                });
                metrics::gauge!("drover_store_failing").set(1.0);
                let pause = self.sync_fleet_pause(coord);
                self.outbox.extend(pause);
            }
        }
    }

    /// Pauses or resumes the coordinator's fleet to match the two pauses (the operator's and
    /// the store's); returns the instant actions to send (none when nothing changes).
    fn sync_fleet_pause(&self, coord: &mut Coordinator) -> Vec<(u32, Outbound)> {
        let paused = self.operator_paused || self.failing.is_some();
        if coord.is_fleet_paused() == paused {
            return Vec::new();
        }
        coord.set_fleet_paused(paused)
    }

    /// Owes the transitions since the last call, and commits them. On failure they stay
    /// owed; the error is for the operator whose command caused them.
    async fn commit_moves(
        &mut self,
        coord: &mut Coordinator,
    ) -> Result<(), crate::error::ApiError> {
        self.owe_moves(coord);
        self.commit(coord, Vec::new()).await.map(|_| ()).map_err(|e| {
            crate::error::ApiError::unavailable(format!(
                "done, but not durable yet: the store refused the commit ({e}); it is retried every tick and the fleet stays paused until it succeeds"
            ))
        })
    }

    /// Owes the task transitions since the last call (with their events, which wait for the
    /// commit).
    fn owe_moves(&mut self, coord: &Coordinator) {
        let alloc = coord.alloc();
        let mut writes = Vec::new();
        let mut events = Vec::new();
        let mut closed = Vec::new();
        for (&id, (tid, last, last_robot)) in self.open.iter_mut() {
            let Some(task) = alloc.task(*tid) else {
                continue;
            };
            let (status, robot) = status_of(&task.state);
            if status == *last && robot == *last_robot {
                continue;
            }
            *last = status;
            *last_robot = robot;
            let serial = robot.map(|r| coord.serial(r).to_string());
            let reason = match &task.state {
                TaskState::Failed { reason } => Some(reason.clone()),
                TaskState::Cancelled => Some("cancelled by a client".into()),
                _ => None,
            };
            writes.push(Write::Transition {
                id,
                status,
                robot: serial.clone(),
                reason,
                at_ms: now_ms(),
            });
            events.push((id, task_event(id, status, serial)));
            if status.is_final() {
                closed.push((id, *tid, status));
            }
        }
        for (id, tid, status) in closed {
            self.open.remove(&id);
            self.by_alloc.remove(&tid);
            self.owed.finals.push(status);
        }
        writes.sort_by_key(|w| match w {
            Write::Transition { id, .. } => *id,
            _ => 0,
        });
        events.sort_by_key(|e| e.0);
        self.owed.writes.extend(writes);
        self.owed.events.extend(events.into_iter().map(|e| e.1));
    }

    /// Store tasks done, failed or cancelled, and open, as the API counts them (a task whose
    /// final transition is owed is still open: the store has not taken it).
    pub fn outcomes(&self) -> (usize, usize, usize) {
        let n = |s: TaskStatus| self.finals.get(&s).copied().unwrap_or(0) as usize;
        (
            n(TaskStatus::Done),
            n(TaskStatus::Failed) + n(TaskStatus::Cancelled),
            self.open.len() + self.owed.finals.len(),
        )
    }
}

fn task_event(id: u64, status: TaskStatus, robot: Option<String>) -> serde_json::Value {
    serde_json::json!({ "id": id, "status": status.name(), "robot": robot })
}
