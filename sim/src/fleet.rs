//! A simulated floor of VDA 5050 drive units: the physical world (a collision detector that
//! knows nothing of the coordinator), simulated associates, seeded fault injection, and an
//! in-process runner that drives the coordinator and the units tick by tick through the JSON
//! wire format, without sleeping.
//!
//! The MQTT runner ([`crate::mqtt`]) reuses [`World`], [`Associates`] and [`Faults`]; only the
//! transport differs.

use drover_alloc::{PodSel, StationId, TaskKind, TaskState};
use drover_core::coord::{CoordEvent, Coordinator, ZoneArea};
use drover_core::session::{Discovery, Publish, Session, SessionConfig, SessionEvent};
use drover_grid::Cell;
use drover_grid::load::{Floor, StationKind};
use drover_plan::SplitMix64;
use drover_vda5050::{InstantActions, Order, Topic};
use serde::Serialize;

use crate::floor::{alloc_config, sku_count, start_cells, stock_floor};
use crate::unit::DriveUnit;

const FREE: u32 = u32::MAX;

/// The physical floor: which unit occupies which cell, counted independently of the
/// coordinator. A unit occupies the cell it stands on and, while driving, the cell it
/// drives into; two units in one cell (or swapping cells) is a collision.
pub struct World {
    owner: Vec<u32>,
    held: Vec<(Cell, Option<Cell>)>,
    /// Per unit: stands on the floor but has not connected yet ([`World::set_unheard`]).
    unheard: Vec<bool>,
    /// Collisions seen so far: (unit, other unit, cell).
    pub collisions: Vec<(u32, u32, Cell)>,
    /// Collisions with a unit that had not connected yet, kept apart: no coordinator can
    /// keep robots off a unit it has never heard of.
    pub unheard_collisions: Vec<(u32, u32, Cell)>,
}

impl World {
    /// A floor of `n_cells` with units standing at `starts`.
    pub fn new(n_cells: usize, starts: &[Cell]) -> World {
        let mut world = World {
            owner: vec![FREE; n_cells],
            held: Vec::new(),
            unheard: vec![false; starts.len()],
            collisions: Vec::new(),
            unheard_collisions: Vec::new(),
        };
        for (u, &c) in starts.iter().enumerate() {
            world.held.push((c, None));
            world.claim(u as u32, c);
        }
        world
    }

    fn claim(&mut self, unit: u32, cell: Cell) {
        let o = &mut self.owner[cell.index()];
        if *o != FREE && *o != unit {
            let other = *o;
            let unheard = |u: u32| self.unheard.get(u as usize).copied().unwrap_or(false);
            if unheard(unit) || unheard(other) {
                self.unheard_collisions.push((unit, other, cell));
            } else {
                self.collisions.push((unit, other, cell));
            }
        } else {
            *o = unit;
        }
    }

    fn free(&mut self, unit: u32, cell: Cell) {
        if self.owner[cell.index()] == unit {
            self.owner[cell.index()] = FREE;
        }
    }

    /// Marks unit `unit` as standing on the floor without having connected (`true`) or as
    /// connected (`false`, the default). Collisions with it while unheard are counted in
    /// [`World::unheard_collisions`].
    pub fn set_unheard(&mut self, unit: u32, unheard: bool) {
        if let Some(u) = self.unheard.get_mut(unit as usize) {
            *u = unheard;
        }
    }

    /// Unit `unit` now occupies `cells` (standing cell, cell driven into).
    pub fn update(&mut self, unit: u32, cells: (Cell, Option<Cell>)) {
        let old = self.held[unit as usize];
        if old == cells {
            return;
        }
        for c in [Some(old.0), old.1].into_iter().flatten() {
            if c != cells.0 && Some(c) != cells.1 {
                self.free(unit, c);
            }
        }
        for c in [Some(cells.0), cells.1].into_iter().flatten() {
            if c != old.0 && Some(c) != old.1 {
                self.claim(unit, c);
            }
        }
        self.held[unit as usize] = cells;
    }
}

/// Simulated associates: every staffed station releases its presented pod after a pick
/// time (milliseconds), optionally scaled per station.
pub struct Associates {
    /// Milliseconds per presented pod.
    pub pick_ms: u64,
    since: Vec<Option<(u32, u64)>>,
}

impl Associates {
    /// Staffs every pick and stow station of the coordinator's floor.
    pub fn staff_all(coord: &mut Coordinator, pick_ms: u64) -> Associates {
        let alloc = coord.allocator();
        let n = alloc.n_stations();
        for s in 0..n {
            let s = StationId(s as u16);
            if alloc.station_kind(s) != StationKind::Pack {
                alloc.staff(s, &format!("associate-{}", s.0 + 1));
            }
        }
        Associates {
            pick_ms,
            since: vec![None; n],
        }
    }

    /// Releases pods whose pick time is over.
    pub fn step(&mut self, coord: &mut Coordinator, now_ms: u64) -> Vec<CoordEvent> {
        let tick = coord.now();
        let alloc = coord.allocator();
        let mut events = Vec::new();
        for (s, since) in self.since.iter_mut().enumerate() {
            let station = StationId(s as u16);
            match (alloc.presented(station), *since) {
                (Some(p), Some((robot, t))) if p.robot == robot => {
                    if now_ms >= t + self.pick_ms {
                        if let Ok(e) = alloc.release(station, tick) {
                            events.extend(e.into_iter().map(CoordEvent::Alloc));
                        }
                        *since = None;
                    }
                }
                (Some(p), _) => *since = Some((p.robot, now_ms)),
                (None, _) => *since = None,
            }
        }
        events
    }
}

/// Seeded fault injection.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Probability that a unit stops on reaching a node.
    pub delay_prob: f64,
    /// How long it stops, milliseconds (uniform in this range).
    pub delay_ms: (u64, u64),
    /// Probability that any one message (either way) is lost.
    pub drop_prob: f64,
    /// Seed.
    pub seed: u64,
}

impl Faults {
    /// No faults.
    pub fn none() -> Faults {
        Faults {
            delay_prob: 0.0,
            delay_ms: (0, 0),
            drop_prob: 0.0,
            seed: 0,
        }
    }
}

/// The fault-injection stream under its old name, which droverd's crash test imports;
/// [`drover_plan::SplitMix64`] is the one generator.
pub use drover_plan::SplitMix64 as Rng;

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

/// The VDA interface name of in-process runs.
const INTERFACE: &str = "uagv";

/// The epoch of in-process runs' timestamps: simulated time starts here.
pub const EPOCH_MS: i64 = 1_790_000_000_000;

/// Hands one published message to its unit, as JSON, the way a robot reads it.
fn deliver(unit: &mut DriveUnit, p: &Publish, now_ms: u64) {
    match p.path.topic {
        Topic::Order => match serde_json::from_slice::<Order>(&p.payload) {
            Ok(o) => unit.on_order(o, now_ms),
            Err(e) => panic!("an order does not parse back: {e}"),
        },
        Topic::InstantActions => match serde_json::from_slice::<InstantActions>(&p.payload) {
            Ok(a) => unit.on_instant(a, now_ms),
            Err(e) => panic!("instant actions do not parse back: {e}"),
        },
        _ => {}
    }
}

/// The topic a unit publishes `topic` on.
fn unit_topic(unit: &DriveUnit, manufacturer: &str, topic: Topic) -> String {
    format!(
        "{INTERFACE}/{}/{manufacturer}/{}/{}",
        drover_vda5050::MAJOR,
        unit.serial(),
        topic.name()
    )
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

/// The serial of unit `k` (0-based).
pub fn serial(k: usize) -> String {
    format!("du-{:04}", k + 1)
}

/// The tick length [`coord_config`]'s tick counts are meant for, ms.
pub const TICK_MS: u64 = 250;

/// Coordinator settings for simulated floors (droverd's defaults in `config/droverd.toml`).
pub fn coord_config(seed: u64) -> drover_core::coord::CoordConfig {
    let mut alloc = alloc_config();
    // Lifts and set-downs are the unit's own `pick`/`drop` actions, which hold it in place.
    alloc.lift_ticks = 0;
    alloc.drop_ticks = 0;
    alloc.optimal_max = 64;
    drover_core::coord::CoordConfig {
        alloc,
        seed,
        table_cache_bytes: 256 << 20,
        base_ahead: 2,
        max_lag: 3,
        resend_ticks: 10,
        max_orders_per_tick: 0,
        silent_ticks: 100,
        map_id: "floor".into(),
        placement: drover_core::orders::Placement::IDENTITY,
        manufacturer: "drover-sim".into(),
        actions: drover_core::orders::ActionNames::standard(),
        action_retries: 2,
        // One coordinator per simulated run: plain ids keep snapshots stable.
        instance: String::new(),
    }
}

/// A floor ready for a simulated shift: pods without contents get SKUs (seeded).
pub fn stocked(mut floor: Floor, seed: u64) -> Floor {
    let n_skus = sku_count(&floor);
    stock_floor(&mut floor, n_skus, &mut crate::sim_rng(seed));
    floor
}

/// `n` units standing on the floor's park cells (then chargers, then travel cells), facing
/// east, and the session that found them as droverd does: from their factsheets and first
/// states, through [`Discovery`].
pub fn spawn(
    floor: &Floor,
    n: usize,
    config: drover_core::coord::CoordConfig,
    unit: &crate::unit::UnitConfig,
) -> anyhow::Result<(Session, Vec<DriveUnit>)> {
    let specs = robot_specs(floor, n)?;
    let frame = drover_core::orders::MapFrame::new(&config.map_id, &floor.grid, floor.cell_size_m)
        .placed(config.placement);
    let mut units = units_at(&specs, &config.manufacturer, &frame, unit);
    let mut discovery = Discovery::new(
        floor,
        frame.clone(),
        SessionConfig {
            interface: INTERFACE.to_string(),
            manufacturer: config.manufacturer.clone(),
            serials: specs.iter().map(|s| s.serial.clone()).collect(),
            tick_ms: TICK_MS,
        },
    );
    for u in &mut units {
        let sheet = serde_json::to_vec(&u.factsheet(0, EPOCH_MS))?;
        let state = serde_json::to_vec(&u.state(0, EPOCH_MS))?;
        for (topic, payload) in [(Topic::Factsheet, sheet), (Topic::State, state)] {
            let topic = unit_topic(u, &config.manufacturer, topic);
            let events = discovery.receive(&topic, &payload, EPOCH_MS);
            anyhow::ensure!(
                events.is_empty(),
                "unit {} at startup: {events:?}",
                u.serial()
            );
        }
    }
    let tables = drover_alloc::TargetTables::for_floor(floor);
    let (session, events) = discovery.start(config, tables)?;
    anyhow::ensure!(events.is_empty(), "startup: {events:?}");
    Ok((session, units))
}

/// Drive units for `specs` in `frame`.
pub fn units_at(
    specs: &[drover_core::coord::RobotSpec],
    manufacturer: &str,
    frame: &drover_core::orders::MapFrame,
    unit: &crate::unit::UnitConfig,
) -> Vec<DriveUnit> {
    specs
        .iter()
        .map(|s| {
            DriveUnit::new(
                manufacturer,
                &s.serial,
                frame.clone(),
                s.start.cell,
                s.start.heading,
                unit.clone(),
            )
        })
        .collect()
}

/// `n` robots on the floor's park cells (then chargers, then travel cells), facing east,
/// with serials `du-0001`...
pub fn robot_specs(floor: &Floor, n: usize) -> anyhow::Result<Vec<drover_core::coord::RobotSpec>> {
    Ok(start_cells(floor, n)?
        .into_iter()
        .enumerate()
        .map(|(k, cell)| drover_core::coord::RobotSpec {
            serial: serial(k),
            start: drover_plan::AgentState {
                cell,
                heading: drover_grid::Heading::East,
            },
        })
        .collect())
}
