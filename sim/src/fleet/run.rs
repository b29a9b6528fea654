//! The in-process runner: coordinator and units in one thread, tick by tick through the JSON
//! wire format, with zones, deaths, out-of-service periods and strangers scheduled, and no
//! sleeping.

use drover_alloc::{PodSel, TaskKind, TaskState};
use drover_core::coord::{CoordEvent, Coordinator, ZoneArea};
use drover_core::session::{Publish, Session, SessionEvent};
use drover_grid::Cell;
use drover_grid::load::Floor;
use drover_plan::SplitMix64;
use drover_vda5050::{Order, Topic};
use serde::Serialize;

use super::associates::Associates;
use super::faults::Faults;
use super::wire::{EPOCH_MS, deliver, unit_topic};
use super::world::World;
use crate::unit::DriveUnit;

/// Submits `n` pick tasks for SKUs the floor's pods hold (round robin over SKUs), one unit each.
pub fn submit_picks(coord: &mut Coordinator, n: usize) -> Vec<drover_alloc::TaskId> {
    let alloc = coord.allocator();
    let skus = alloc.sku_names().len();
    let mut ids = Vec::new();
    let mut k = 0;
    while ids.len() < n && k < n * 4 + 16 {
        let sku = drover_alloc::SkuId((k % skus.max(1)) as u32);
        k += 1;
        let kind = TaskKind::Pick {
            pod: PodSel::Sku(sku),
            station: None,
            units: 1,
        };
        if let Ok(id) = alloc.submit(kind, 0, None) {
            ids.push(id);
        }
    }
    ids
}

/// Counts of the given tasks by outcome: (done, failed or cancelled, still open).
pub fn task_outcomes(coord: &Coordinator, ids: &[drover_alloc::TaskId]) -> (usize, usize, usize) {
    let mut out = (0, 0, 0);
    for id in ids {
        match coord.alloc().task(*id).map(|t| &t.state) {
            Some(TaskState::Done { .. }) => out.0 += 1,
            Some(TaskState::Failed { .. } | TaskState::Cancelled) => out.1 += 1,
            _ => out.2 += 1,
        }
    }
    out
}

/// What an in-process run measured.
#[derive(Clone, Debug, Serialize)]
pub struct FleetReport {
    /// Units on the floor.
    pub units: usize,
    /// Ticks run.
    pub ticks: u64,
    /// Simulated seconds.
    pub seconds: f64,
    /// Pick tasks done / submitted.
    pub done: usize,
    /// Submitted.
    pub submitted: usize,
    /// Tasks failed or cancelled.
    pub failed: usize,
    /// Physical collisions.
    pub collisions: usize,
    /// Messages lost by fault injection.
    pub dropped: u64,
    /// Progress reports the coordinator refused (a unit off its released base).
    pub bad_progress: usize,
    /// Orders restarted because a unit ran none of ours.
    pub restarts: usize,
    /// Unit steps on which a unit the coordinator did not hold stood in (or drove into) an
    /// active blocked zone.
    pub intrusions: usize,
    /// Most units held in blocked zones at once.
    pub held_max: usize,
    /// Order edges sent with a `maxSpeed`.
    pub limited_edges: usize,
    /// Of those, edges with neither end in an active slow zone.
    pub limited_outside: usize,
    /// Units that confirmed a `cancelOrder` (stopped and gave their further cells back).
    pub stopped: usize,
    /// Order messages the units rejected (over their factsheet limits, or refused).
    pub rejected: u64,
    /// Times the coordinator took a unit down (refused order, FATAL, safety, misplaced).
    pub downs: usize,
}

/// Settings of an in-process run.
#[derive(Clone, Debug)]
pub struct FleetRun {
    /// Milliseconds per coordinator tick.
    pub tick_ms: u64,
    /// Milliseconds between unit steps within a tick.
    pub unit_step_ms: u64,
    /// Pick tasks to submit at the start.
    pub tasks: usize,
    /// Associate time per pod, ms.
    pub pick_ms: u64,
    /// Give up after this many ticks.
    pub max_ticks: u64,
    /// Faults.
    pub faults: Faults,
    /// Zones set and lifted during the run.
    pub zones: Vec<ScheduledZone>,
    /// Units that die: (unit, tick). A dead unit stands where it is, reports nothing and
    /// hears nothing, for the rest of the run.
    pub deaths: Vec<(usize, u64)>,
    /// Operators take units out of service: (unit, from tick, until tick). The unit gets
    /// `cancelOrder` and stops at its next node; at `until` it is put back.
    pub out_of_service: Vec<(usize, u64, u64)>,
    /// Robots the coordinator does not drive, standing on these cells for the whole run
    /// (the collision detector sees them), reported to the coordinator from a tick on
    /// ([`Coordinator::set_foreign`], as droverd does for a robot that missed startup) or
    /// never (`None`).
    pub strangers: Vec<(Cell, Option<u64>)>,
}

/// A zone that is active from one tick until another.
#[derive(Clone, Debug)]
pub struct ScheduledZone {
    /// First tick it is active.
    pub from_tick: u64,
    /// Tick it is lifted.
    pub until_tick: u64,
    /// Its cells.
    pub cells: ZoneCells,
    /// `None`: blocked; `Some(v)`: speed limit, m/s.
    pub max_speed: Option<f64>,
}

/// Where a scheduled zone lies.
#[derive(Clone, Debug)]
pub enum ZoneCells {
    /// These cells.
    Cells(Vec<Cell>),
    /// The square of `radius` cells around where unit `unit` stands when the zone starts (so
    /// a test knows a unit is inside).
    AroundUnit {
        /// Unit index.
        unit: usize,
        /// Half-width of the square.
        radius: u32,
    },
}

/// Runs coordinator and units in one thread until every submitted task is done (or
/// `max_ticks`). Every message crosses as JSON through the [`Session`], as over MQTT.
pub fn run_in_process(
    floor: &Floor,
    session: &mut Session,
    units: &mut [DriveUnit],
    run: &FleetRun,
) -> FleetReport {
    let manufacturer = session.coordinator().manufacturer().to_string();
    let mut starts: Vec<Cell> = units.iter().map(|u| u.occupied().0).collect();
    starts.extend(run.strangers.iter().map(|s| s.0));
    let mut world = World::new(floor.grid.n_cells(), &starts);
    let mut associates = Associates::staff_all(session.coordinator_mut(), run.pick_ms);
    let ids = submit_picks(session.coordinator_mut(), run.tasks);
    let mut rng = SplitMix64(run.faults.seed);
    let mut dropped = 0u64;
    let (mut bad_progress, mut restarts) = (0, 0);
    let epoch = EPOCH_MS;
    let mut last_state_ms = vec![0u64; units.len()];
    let mut ticks = 0;
    let (mut intrusions, mut held_max, mut limited_edges, mut limited_outside) = (0, 0, 0, 0);
    let (mut stopped, mut downs) = (0, 0);
    let n_cells = floor.grid.n_cells();
    let mut resolved: Vec<Option<Vec<Cell>>> = vec![None; run.zones.len()];
    let mut active: Vec<bool> = vec![false; run.zones.len()];
    let (mut blocked, mut slow) = (vec![false; n_cells], vec![false; n_cells]);
    for t in 0..run.max_ticks {
        ticks = t + 1;
        let now_ms = t * run.tick_ms;
        // Zones start and end between ticks, as an operator's command would.
        let mut zone_out = Vec::new();
        let now_active: Vec<bool> = run
            .zones
            .iter()
            .map(|z| (z.from_tick..z.until_tick).contains(&t))
            .collect();
        if now_active != active {
            active = now_active;
            let mut areas = Vec::new();
            blocked.fill(false);
            slow.fill(false);
            for (k, z) in run.zones.iter().enumerate() {
                if !active[k] {
                    continue;
                }
                let cells = resolved[k]
                    .get_or_insert_with(|| match &z.cells {
                        ZoneCells::Cells(c) => c.clone(),
                        ZoneCells::AroundUnit { unit, radius } => {
                            square(&floor.grid, units[*unit].occupied().0, *radius)
                        }
                    })
                    .clone();
                let mask = if z.max_speed.is_some() {
                    &mut slow
                } else {
                    &mut blocked
                };
                for c in &cells {
                    mask[c.index()] = true;
                }
                areas.push(ZoneArea {
                    cells,
                    max_speed: z.max_speed,
                });
            }
            zone_out = session.coordinator_mut().set_zones(&areas);
        }
        for &(unit, from, until) in &run.out_of_service {
            if t == from || t == until {
                let (_, cancel) = session
                    .coordinator_mut()
                    .set_out_of_service(unit as u32, t == from);
                zone_out.extend(cancel.map(|m| (unit as u32, m)));
            }
        }
        let stamp = epoch + now_ms as i64;
        let mut zone_out: Vec<Publish> = zone_out
            .into_iter()
            .map(|(robot, m)| session.encode(robot, m, stamp))
            .collect();
        if run.strangers.iter().any(|s| s.1 == Some(t)) {
            let known: Vec<Cell> = run
                .strangers
                .iter()
                .filter(|s| s.1.is_some_and(|at| at <= t))
                .map(|s| s.0)
                .collect();
            session.coordinator_mut().set_foreign(&known);
        }
        let dead: Vec<bool> = (0..units.len())
            .map(|u| run.deaths.iter().any(|&(d, at)| d == u && t >= at))
            .collect();
        // Units drive between ticks and report.
        let mut ms = now_ms.saturating_sub(run.tick_ms) + run.unit_step_ms;
        while ms <= now_ms {
            for (u, unit) in units.iter_mut().enumerate() {
                if dead[u] {
                    continue;
                }
                unit.advance(ms);
                let occupied = unit.occupied();
                world.update(u as u32, occupied);
                let inside = [Some(occupied.0), occupied.1]
                    .into_iter()
                    .flatten()
                    .any(|c| blocked[c.index()]);
                if inside && !session.coordinator().is_zone_held(u as u32) {
                    intrusions += 1;
                }
                let dirty = unit.take_dirty();
                if dirty && run.faults.delay_prob > 0.0 && rng.next_f64() < run.faults.delay_prob {
                    let (lo, hi) = run.faults.delay_ms;
                    unit.stop_until(ms + rng.range(lo, hi));
                }
                if dirty || ms >= last_state_ms[u] + 1000 {
                    last_state_ms[u] = ms;
                    let state = unit.state(ms, epoch);
                    if rng.next_f64() < run.faults.drop_prob {
                        dropped += 1;
                        continue;
                    }
                    let topic = unit_topic(unit, &manufacturer, Topic::State);
                    let payload = serde_json::to_vec(&state).expect("states serialise");
                    session.receive(&topic, &payload, epoch + ms as i64);
                }
            }
            ms += run.unit_step_ms;
        }
        associates.step(session.coordinator_mut(), now_ms);
        let mut tick = session.tick(stamp, &|| 0.0);
        held_max = held_max.max(
            (0..units.len() as u32)
                .filter(|&r| session.coordinator().is_zone_held(r))
                .count(),
        );
        zone_out.append(&mut tick.publish);
        tick.publish = zone_out;
        for p in &tick.publish {
            if p.path.topic == Topic::Order
                && let Ok(o) = serde_json::from_slice::<Order>(&p.payload)
            {
                for e in o.edges.iter().filter(|e| e.max_speed.is_some()) {
                    limited_edges += 1;
                    let ends = [&e.start_node_id, &e.end_node_id];
                    if !ends
                        .iter()
                        .any(|id| id.parse::<usize>().is_ok_and(|c| c < n_cells && slow[c]))
                    {
                        limited_outside += 1;
                    }
                }
            }
        }
        for e in &tick.events {
            match e {
                SessionEvent::Coord(CoordEvent::BadProgress(_)) => bad_progress += 1,
                SessionEvent::Coord(CoordEvent::OrderRestarted { .. }) => restarts += 1,
                SessionEvent::Coord(CoordEvent::Stopped { .. }) => stopped += 1,
                SessionEvent::Coord(CoordEvent::Down { .. }) => downs += 1,
                _ => {}
            }
        }
        for p in tick.publish {
            if rng.next_f64() < run.faults.drop_prob {
                dropped += 1;
                continue;
            }
            let Some(u) = units.iter().position(|u| u.serial() == p.path.serial) else {
                continue;
            };
            if dead[u] {
                continue;
            }
            deliver(&mut units[u], &p, now_ms);
        }
        if task_outcomes(session.coordinator(), &ids).2 == 0 {
            break;
        }
    }
    let (done, failed, _) = task_outcomes(session.coordinator(), &ids);
    FleetReport {
        units: units.len(),
        ticks,
        seconds: (ticks * run.tick_ms) as f64 / 1000.0,
        done,
        submitted: ids.len(),
        failed,
        collisions: world.collisions.len(),
        dropped,
        bad_progress,
        restarts,
        intrusions,
        held_max,
        limited_edges,
        limited_outside,
        stopped,
        rejected: units.iter().map(DriveUnit::rejected).sum(),
        downs,
    }
}

/// The free cells of the square of `radius` around `center`.
fn square(grid: &drover_grid::Grid, center: Cell, radius: u32) -> Vec<Cell> {
    let (row, col) = grid.row_col(center);
    let r = i64::from(radius);
    let mut out = Vec::new();
    for dr in -r..=r {
        for dc in -r..=r {
            if let Some(c) = grid.cell_at(i64::from(row) + dr, i64::from(col) + dc)
                && grid.is_free(c)
            {
                out.push(c);
            }
        }
    }
    out
}
