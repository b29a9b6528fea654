//! A shift on a sortable-FC floor: orders and stow waves create tasks, simulated associates
//! work the stations, the allocator and planner run the robots, and the KPIs of DOMAIN.md §7
//! come out at the end. In-process, tick-driven (one tick = one second), seeded.

use std::collections::BTreeMap;
use std::time::Instant;

use drover_alloc::{
    Activity, Allocator, Errand, ErrandAction, Event, PodSel, RobotView, StationId, TaskId,
    TaskKind, floor_targets,
};
use drover_core::{CoreConfig, FleetState, Tick, tick};
use drover_grid::load::{Floor, StationKind};
use drover_grid::{Cell, CellKind, DistTable, Heading, Motion};
use drover_plan::{AgentState, PlanConfig, Unlimited};
use rayon::prelude::*;
use serde::Serialize;

use crate::floor::{
    Zipf, alloc_config, sku_count, sku_name, start_cells, stock_floor, tables_for, uniform,
};

/// How to run a shift.
#[derive(Clone, Debug)]
pub struct ShiftConfig {
    /// Robots on the floor.
    pub robots: usize,
    /// Shift length in hours.
    pub hours: f64,
    /// Seed for orders, associates and stock.
    pub seed: u64,
    /// Motion model for the planner.
    pub motion: Motion,
    /// Memory cap for the planner's distance tables.
    pub table_cache_bytes: usize,
    /// Order demand as a share of the pick stations' nominal capacity (1.0 = just enough).
    pub demand: f64,
}

/// Charge gained per tick on a charger (full in about ten minutes).
const CHARGE_PER_TICK: f64 = 1.0 / 600.0;
/// Seconds per unit for an average picker; each associate gets a personal factor.
const PICK_SECONDS_PER_UNIT: f64 = 8.5;
/// Seconds per pod presentation on top of the units (scan, confirm, light guidance).
const PICK_OVERHEAD_SECONDS: f64 = 8.0;
/// Seconds per unit stowed.
const STOW_SECONDS_PER_UNIT: f64 = 5.0;
/// Units picked at a station before a full tote cart goes to a pack station.
const UNITS_PER_CART: u32 = 40;

/// Per-station KPIs.
#[derive(Clone, Debug, Serialize)]
pub struct StationKpi {
    /// Station name.
    pub name: String,
    /// pick / stow / pack.
    pub kind: String,
    /// Staffed hours (breaks excluded).
    pub staffed_hours: f64,
    /// Units picked or stowed.
    pub units: u64,
    /// Units per staffed hour.
    pub uph: f64,
    /// Pod presentations.
    pub pods: u64,
    /// Pods per staffed hour.
    pub pods_per_hour: f64,
    /// Staffed, associate present, work queued, no pod at the face: robot-caused idle.
    pub starvation_pct: f64,
    /// A pod waited at the face while the associate was away: people-caused.
    pub absent_pct: f64,
    /// Staffed with no work of the station's kind queued anywhere.
    pub no_work_pct: f64,
    /// Time-weighted mean robots in the lane (face included).
    pub mean_queue: f64,
    /// Time-weighted mean pacing target.
    pub mean_target: f64,
}

/// Share of robot time in each state; sums to 100.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RobotSplit {
    /// Driving with a pod or cart.
    pub moving_loaded: f64,
    /// Driving empty.
    pub moving_empty: f64,
    /// On a trip but not moving this tick (blocked by traffic).
    pub waiting_blocked: f64,
    /// In a station lane.
    pub queueing: f64,
    /// At the face.
    pub presenting: f64,
    /// Lifting, setting down, dwelling.
    pub lifting: f64,
    /// Driving to a charger.
    pub to_charger: f64,
    /// On a charger.
    pub charging: f64,
    /// Parked or idle.
    pub idle: f64,
    /// Out of service.
    pub out_of_service: f64,
}

/// What a shift measured.
#[derive(Clone, Debug, Serialize)]
pub struct ShiftReport {
    /// Floor name.
    pub floor: String,
    /// Robots.
    pub robots: usize,
    /// Staffed pick and stow stations at shift start.
    pub staffed_stations: usize,
    /// Robots per staffed station.
    pub robots_per_station: f64,
    /// Simulated hours.
    pub hours: f64,
    /// Seed.
    pub seed: u64,
    /// Units picked.
    pub units_picked: u64,
    /// Units stowed.
    pub units_stowed: u64,
    /// Units picked per hour, whole floor.
    pub uph_total: f64,
    /// Mean over pick stations of units per staffed hour.
    pub uph_per_pick_station: f64,
    /// Pick stations: starvation share of staffed time (robot-caused), %.
    pub starvation_pct: f64,
    /// Pick stations: associate-absent share of staffed time (people-caused), %.
    pub absent_pct: f64,
    /// Pick stations: pods per staffed station-hour.
    pub pods_per_station_hour: f64,
    /// Units per pod presentation at pick stations.
    pub pile_on: f64,
    /// Robot time split, %.
    pub robot_time: RobotSplit,
    /// Pod trips completed (dispatch to pod stored again).
    pub trips: u64,
    /// Mean trip time, seconds.
    pub trip_seconds: f64,
    /// Share of trip time spent moving, %.
    pub trip_moving_pct: f64,
    /// Orders completed.
    pub orders_done: u64,
    /// Orders released.
    pub orders_released: u64,
    /// Mean order cycle time (release to last unit picked), seconds.
    pub order_cycle_s_mean: f64,
    /// 95th percentile order cycle time, seconds.
    pub order_cycle_s_p95: f64,
    /// Share of charger-time with a robot on it, %.
    pub chargers_busy_pct: f64,
    /// Transport (tote cart) tasks done.
    pub carts_done: u64,
    /// Mean wall milliseconds per tick (allocation + planning).
    pub ms_per_tick_mean: f64,
    /// 95th percentile, milliseconds.
    pub ms_per_tick_p95: f64,
    /// Allocation batches solved exactly / greedily.
    pub batches_optimal: u64,
    /// Greedy batches.
    pub batches_greedy: u64,
    /// Per-station detail.
    pub stations: Vec<StationKpi>,
}

struct Associate {
    /// Personal speed factor (>1 is slower).
    factor: f64,
    /// Break windows [start, end) in ticks.
    breaks: Vec<(u64, u64)>,
    on_break: bool,
    away_until: u64,
    working_until: Option<u64>,
}

#[derive(Default)]
struct StationStats {
    staffed: u64,
    starved: u64,
    absent: u64,
    no_work: u64,
    units: u64,
    pods: u64,
    queue_sum: u64,
    target_sum: u64,
    units_since_cart: u32,
}

struct Order {
    released: u64,
    open_lines: u32,
}

/// Runs a shift. `progress(tick, total)` is called every simulated minute.
pub fn run_shift(
    mut floor: Floor,
    config: &ShiftConfig,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<ShiftReport> {
    let mut rng = crate::sim_rng(config.seed);
    let n_skus = sku_count(&floor);
    stock_floor(&mut floor, n_skus, &mut rng);
    let grid = floor.grid.clone();
    let starts = start_cells(&floor, config.robots)?;
    let aconf = alloc_config();
    let battery = aconf.battery.clone().expect("the shift models batteries");
    let mut alloc = Allocator::new(&floor, &starts, aconf);

    // Allocation costs: one 4-connected table per target, computed up front in parallel.
    let mut costs = tables_for(&floor, &floor_targets(&floor));

    let core = CoreConfig {
        plan: PlanConfig {
            motion: config.motion,
            seed: config.seed,
        },
        table_cache_bytes: config.table_cache_bytes,
    };
    let agents: Vec<AgentState> = starts
        .iter()
        .map(|&cell| AgentState {
            cell,
            heading: Heading::East,
        })
        .collect();
    let mut fleet = FleetState::new(&grid, &core, agents);
    // Plain PIBT: lookahead (EPIBT) measured no better here (fc-large, 5 per station:
    // starvation 10.74% against 10.85%) at 1.6x the planning time per tick.
    fleet.set_lookahead(false);
    // A fleet starts a shift at mixed charge, as it would after the previous one.
    let mut batteries: Vec<f64> = (0..config.robots)
        .map(|_| 0.6 + 0.4 * uniform(&mut rng))
        .collect();

    let total_ticks = (config.hours * 3600.0).round() as u64;
    let stations: Vec<StationId> = (0..floor.stations.len() as u16).map(StationId).collect();
    let worked = |s: StationId| floor.stations[s.0 as usize].kind != StationKind::Pack;
    let mut associates: Vec<Associate> = stations
        .iter()
        .map(|s| {
            let factor = (0.75 + 0.5 * uniform(&mut rng)).clamp(0.6, 1.5);
            // 15-minute breaks at 2 h and 6 h, lunch at 4 h; staggered by five minutes.
            let offset = s.0 as u64 * 300 % 1800;
            let breaks = [(7200, 900), (14_400, 1800), (21_600, 900)]
                .into_iter()
                .map(|(at, len)| (at + offset, at + offset + len))
                .filter(|(start, _)| *start < total_ticks)
                .collect();
            Associate {
                factor,
                breaks,
                on_break: false,
                away_until: 0,
                working_until: None,
            }
        })
        .collect();
    for &s in &stations {
        if worked(s) {
            alloc.staff(s, &format!("associate-{}", s.0 + 1));
        }
    }
    let staffed_stations = stations.iter().filter(|&&s| worked(s)).count();

    // Demand: the pick stations' nominal unit rate, times the demand factor.
    let pick_stations = floor
        .stations
        .iter()
        .filter(|s| s.kind == StationKind::Pick)
        .count();
    let mean_units_per_pod = 4.0;
    let secs_per_unit = PICK_SECONDS_PER_UNIT + PICK_OVERHEAD_SECONDS / mean_units_per_pod;
    let units_per_tick = config.demand * pick_stations as f64 / secs_per_unit;
    let mean_line_units = 1.5;
    let mean_lines_per_order = 2.0;
    let orders_per_tick = units_per_tick / (mean_line_units * mean_lines_per_order);
    let backlog_cap = 60 * pick_stations.max(1);
    let zipf = Zipf::new(n_skus, 0.9);

    let mut stats: Vec<StationStats> = stations.iter().map(|_| StationStats::default()).collect();
    let mut orders: Vec<Order> = Vec::new();
    let mut line_order: BTreeMap<TaskId, usize> = BTreeMap::new();
    let mut cycle: Vec<u64> = Vec::new();
    let mut order_credit = 0.0f64;
    let mut split = [0u64; 10];
    let mut trip_start: Vec<Option<u64>> = vec![None; config.robots];
    let mut trip_moving = vec![0u64; config.robots];
    let (mut trips, mut trip_ticks, mut trip_moving_total) = (0u64, 0u64, 0u64);
    let mut charger_ticks = 0u64;
    let mut carts_done = 0u64;
    let mut carts: std::collections::BTreeSet<TaskId> = Default::default();
    let (mut units_picked, mut units_stowed, mut pick_pods) = (0u64, 0u64, 0u64);
    let (mut batches_optimal, mut batches_greedy) = (0u64, 0u64);
    let mut step_ms: Vec<f64> = Vec::with_capacity(total_ticks as usize);
    let mut missing: Vec<(Cell, bool)> = Vec::new();
    let tote_point = |s: usize| {
        let face = floor.stations[s].face;
        Heading::ALL
            .iter()
            .filter_map(|&h| grid.neighbor(face, h))
            .find(|&c| grid.kind(c) == CellKind::Travel)
    };
    let pack_faces: Vec<Cell> = floor
        .stations
        .iter()
        .filter(|s| s.kind == StationKind::Pack)
        .map(|s| s.face)
        .collect();

    for now in 1..=total_ticks {
        let started = Instant::now();
        // Orders arrive (Poisson-like, by credit); the WMS holds them back past a backlog cap.
        order_credit += orders_per_tick;
        while order_credit >= 1.0 {
            order_credit -= 1.0;
            let queued_picks = alloc.queued();
            if queued_picks > backlog_cap {
                continue;
            }
            let lines = 1 + rng.below(3) as u32;
            let id = orders.len();
            let mut open = 0;
            for _ in 0..lines {
                let units = 1 + rng.below(2) as u32;
                // The WMS only releases lines it has stock for.
                let Some(sku) = (0..20)
                    .map(|_| zipf.sample(&mut rng))
                    .find_map(|k| alloc.sku(&sku_name(k)))
                else {
                    continue;
                };
                let kind = TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    station: None,
                    units,
                };
                if let Ok(t) = alloc.submit(kind, 0, None) {
                    line_order.insert(t, id);
                    open += 1;
                }
            }
            orders.push(Order {
                released: now,
                open_lines: open,
            });
        }
        // Stow waves ten minutes into every hour: inbound totes for each stow station.
        if now % 3600 == 600 {
            let stow_stations = floor
                .stations
                .iter()
                .filter(|s| s.kind == StationKind::Stow)
                .count();
            for _ in 0..stow_stations * 30 {
                if let Some(sku) = alloc.sku(&sku_name(zipf.sample(&mut rng))) {
                    let kind = TaskKind::Stow {
                        pod: PodSel::Sku(sku),
                        station: None,
                        units: 6,
                    };
                    let _ = alloc.submit(kind, 1, None);
                }
            }
        }
        // Associates: breaks, short absences, finishing pods.
        for &s in &stations {
            if !worked(s) {
                continue;
            }
            let a = &mut associates[s.0 as usize];
            let breaking = a.breaks.iter().any(|(b, e)| (*b..*e).contains(&now));
            if breaking != a.on_break {
                a.on_break = breaking;
                if breaking {
                    alloc.unstaff(s);
                    a.working_until = None;
                } else {
                    alloc.staff(s, &format!("associate-{}", s.0 + 1));
                }
            }
            if a.on_break {
                continue;
            }
            if let Some(done) = a.working_until
                && done <= now
            {
                a.working_until = None;
                let p = alloc.presented(s);
                if let Ok(events) = alloc.release(s, now) {
                    let units = p.map_or(0, |p| p.units) as u64;
                    let st = &mut stats[s.0 as usize];
                    st.units += units;
                    st.pods += 1;
                    if floor.stations[s.0 as usize].kind == StationKind::Pick {
                        units_picked += units;
                        pick_pods += 1;
                        st.units_since_cart += units as u32;
                        if st.units_since_cart >= UNITS_PER_CART
                            && let (Some(from), Some(&to)) =
                                (tote_point(s.0 as usize), pack_faces.first())
                        {
                            st.units_since_cart = 0;
                            let errands = vec![
                                Errand {
                                    cell: from,
                                    action: ErrandAction::Lift,
                                },
                                Errand {
                                    cell: to,
                                    action: ErrandAction::Dwell(20),
                                },
                            ];
                            if let Ok(t) = alloc.submit(TaskKind::Transport { errands }, 0, None) {
                                carts.insert(t);
                            }
                        }
                    } else {
                        units_stowed += units;
                    }
                    for e in events {
                        if let Event::Done { task } = e
                            && let Some(o) = line_order.remove(&task)
                        {
                            orders[o].open_lines -= 1;
                            if orders[o].open_lines == 0 {
                                cycle.push(now - orders[o].released);
                            }
                        }
                    }
                }
            }
            if a.away_until <= now && a.working_until.is_none() {
                // About once per 20 minutes an associate steps away for 30 to 90 seconds.
                if rng.below(1200) == 0 {
                    a.away_until = now + 30 + rng.below(61) as u64;
                } else if let Some(p) = alloc.presented(s) {
                    let per_unit = if floor.stations[s.0 as usize].kind == StationKind::Stow {
                        STOW_SECONDS_PER_UNIT
                    } else {
                        PICK_SECONDS_PER_UNIT
                    };
                    let secs = (PICK_OVERHEAD_SECONDS + per_unit * p.units as f64) * a.factor;
                    a.working_until = Some(now + secs.round().max(1.0) as u64);
                }
            }
        }

        // Allocation, then one planning step.
        let views: Vec<RobotView> = fleet
            .agents()
            .iter()
            .zip(&batteries)
            .map(|(a, &battery)| RobotView {
                cell: a.cell,
                battery,
            })
            .collect();
        let report = alloc.tick(now, &views, &mut costs);
        match report.method {
            Some(drover_alloc::assign::Method::Optimal) => batches_optimal += 1,
            Some(drover_alloc::assign::Method::Greedy) => batches_greedy += 1,
            None => {}
        }
        for e in &report.events {
            if let Event::Assigned { task, robot } = e
                && matches!(
                    alloc.task(*task).map(|t| &t.kind),
                    Some(TaskKind::Pick { .. } | TaskKind::Stow { .. })
                )
                && trip_start[*robot as usize].is_none()
            {
                trip_start[*robot as usize] = Some(now);
                trip_moving[*robot as usize] = 0;
            }
            if let Event::Done { task } = e
                && carts.contains(task)
            {
                carts_done += 1;
            }
        }
        for r in 0..config.robots {
            fleet.set_goal(r, alloc.goals()[r]);
            fleet.set_loaded(r, alloc.loaded(r as u32));
        }
        fleet.missing_tables(&mut missing);
        if !missing.is_empty() {
            let tables: Vec<DistTable> = missing
                .par_iter()
                .map(|&(g, loaded)| DistTable::compute_for(&grid, g, config.motion, loaded))
                .collect();
            for t in tables {
                fleet.insert_table(t);
            }
        }
        let before: Vec<AgentState> = fleet.agents().to_vec();
        tick(&mut fleet, &grid, &core, Tick(now), &Unlimited);
        step_ms.push(started.elapsed().as_secs_f64() * 1000.0);

        // Physics of the simulated drive units: energy, charging.
        for (r, (b, a)) in before.iter().zip(fleet.agents()).enumerate() {
            let moved = b != a;
            if b.cell != a.cell {
                batteries[r] = (batteries[r] - battery.per_cell).max(0.0);
            }
            let activity = alloc.activity(r as u32);
            if activity == Activity::Lifting {
                // A lift or set-down takes two ticks.
                batteries[r] = (batteries[r] - battery.per_lift / 2.0).max(0.0);
            }
            if activity == Activity::Charging {
                batteries[r] = (batteries[r] + CHARGE_PER_TICK).min(1.0);
                charger_ticks += 1;
            }
            let loaded = alloc.carrying(r as u32).is_some();
            let travelling = matches!(
                activity,
                Activity::ToPod
                    | Activity::ToStation
                    | Activity::Returning
                    | Activity::Transport
                    | Activity::ToCharger
            );
            let bucket = match activity {
                _ if travelling && !moved => 2,
                Activity::ToCharger => 6,
                _ if travelling && loaded => 0,
                _ if travelling => 1,
                Activity::Queueing => 3,
                Activity::Presenting => 4,
                Activity::Lifting => 5,
                Activity::Charging => 7,
                Activity::Idle | Activity::Parked => 8,
                _ => 9,
            };
            split[bucket] += 1;
            // Pod trips: dispatch to the pod standing in a slot again.
            if trip_start[r].is_some() {
                if moved {
                    trip_moving[r] += 1;
                }
                if !alloc.has_job(r as u32) || matches!(activity, Activity::Idle | Activity::Parked)
                {
                    let start = trip_start[r].take().expect("checked");
                    trips += 1;
                    trip_ticks += now - start;
                    trip_moving_total += trip_moving[r];
                }
            }
        }

        // Station bookkeeping.
        let work_of = |kind: StationKind| {
            alloc
                .queued_tasks()
                .any(|t| station_kind(&t.kind) == Some(kind))
        };
        let pick_work = work_of(StationKind::Pick);
        let stow_work = work_of(StationKind::Stow);
        for &s in &stations {
            if !worked(s) || alloc.staffed(s).is_none() {
                continue;
            }
            let a = &associates[s.0 as usize];
            let st = &mut stats[s.0 as usize];
            st.staffed += 1;
            st.queue_sum += alloc.station_queue(s) as u64;
            st.target_sum += alloc.station_target(s) as u64;
            // A pod is at the face from the tick its robot stands there (the allocator
            // registers the presentation at its next tick).
            let face = floor.stations[s.0 as usize].face;
            let at_face = alloc.presented(s).is_some()
                || alloc
                    .lane_head(s)
                    .is_some_and(|r| fleet.agents()[r as usize].cell == face);
            let away = a.away_until > now;
            let has_work = match floor.stations[s.0 as usize].kind {
                StationKind::Pick => pick_work,
                _ => stow_work,
            } || alloc.station_load(s).0 > 0;
            if at_face && away {
                st.absent += 1;
            } else if !at_face && !away {
                if has_work {
                    st.starved += 1;
                } else {
                    st.no_work += 1;
                }
            }
        }
        if now % 60 == 0 {
            progress(now, total_ticks);
        }
    }

    let ticks = total_ticks.max(1) as f64;
    let robot_ticks = (ticks * config.robots as f64).max(1.0);
    let pct = |x: u64| 100.0 * x as f64 / robot_ticks;
    let station_kpis: Vec<StationKpi> = stations
        .iter()
        .map(|&s| {
            let st = &stats[s.0 as usize];
            let hours = st.staffed as f64 / 3600.0;
            let per = |x: u64| {
                if st.staffed > 0 {
                    100.0 * x as f64 / st.staffed as f64
                } else {
                    0.0
                }
            };
            StationKpi {
                name: alloc.station_name(s).to_string(),
                kind: floor.stations[s.0 as usize].kind.name().into(),
                staffed_hours: round(hours, 3),
                units: st.units,
                uph: round(per_hour(st.units as f64, hours), 1),
                pods: st.pods,
                pods_per_hour: round(per_hour(st.pods as f64, hours), 1),
                starvation_pct: round(per(st.starved), 2),
                absent_pct: round(per(st.absent), 2),
                no_work_pct: round(per(st.no_work), 2),
                mean_queue: round(st.queue_sum as f64 / st.staffed.max(1) as f64, 2),
                mean_target: round(st.target_sum as f64 / st.staffed.max(1) as f64, 2),
            }
        })
        .collect();
    let picks: Vec<&StationStats> = stations
        .iter()
        .filter(|s| floor.stations[s.0 as usize].kind == StationKind::Pick)
        .map(|s| &stats[s.0 as usize])
        .collect();
    let pick_staffed: u64 = picks.iter().map(|s| s.staffed).sum();
    let pick_share = |f: &dyn Fn(&StationStats) -> u64| {
        100.0 * picks.iter().map(|s| f(s)).sum::<u64>() as f64 / pick_staffed.max(1) as f64
    };
    let uph_per_pick_station = {
        let v: Vec<f64> = station_kpis
            .iter()
            .filter(|k| k.kind == "pick")
            .map(|k| k.uph)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    cycle.sort_unstable();
    let mut sorted_ms = step_ms.clone();
    sorted_ms.sort_by(f64::total_cmp);
    let p95 = |v: &[f64]| {
        v.get((v.len() * 95 / 100).min(v.len().saturating_sub(1)))
            .copied()
    };
    Ok(ShiftReport {
        floor: floor.name.clone(),
        robots: config.robots,
        staffed_stations,
        robots_per_station: round(config.robots as f64 / staffed_stations.max(1) as f64, 2),
        hours: config.hours,
        seed: config.seed,
        units_picked,
        units_stowed,
        uph_total: round(units_picked as f64 / (ticks / 3600.0), 1),
        uph_per_pick_station: round(uph_per_pick_station, 1),
        starvation_pct: round(pick_share(&|s| s.starved), 2),
        absent_pct: round(pick_share(&|s| s.absent), 2),
        pods_per_station_hour: round(
            pick_pods as f64 / (pick_staffed as f64 / 3600.0).max(1e-9),
            1,
        ),
        pile_on: round(units_picked as f64 / pick_pods.max(1) as f64, 2),
        robot_time: RobotSplit {
            moving_loaded: round(pct(split[0]), 2),
            moving_empty: round(pct(split[1]), 2),
            waiting_blocked: round(pct(split[2]), 2),
            queueing: round(pct(split[3]), 2),
            presenting: round(pct(split[4]), 2),
            lifting: round(pct(split[5]), 2),
            to_charger: round(pct(split[6]), 2),
            charging: round(pct(split[7]), 2),
            idle: round(pct(split[8]), 2),
            out_of_service: round(pct(split[9]), 2),
        },
        trips,
        trip_seconds: round(trip_ticks as f64 / trips.max(1) as f64, 1),
        trip_moving_pct: round(
            100.0 * trip_moving_total as f64 / trip_ticks.max(1) as f64,
            1,
        ),
        orders_done: cycle.len() as u64,
        orders_released: orders.len() as u64,
        order_cycle_s_mean: round(
            cycle.iter().sum::<u64>() as f64 / cycle.len().max(1) as f64,
            1,
        ),
        order_cycle_s_p95: cycle
            .get((cycle.len() * 95 / 100).min(cycle.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64,
        chargers_busy_pct: round(
            100.0 * charger_ticks as f64 / (ticks * floor.chargers.len().max(1) as f64),
            2,
        ),
        carts_done,
        ms_per_tick_mean: round(step_ms.iter().sum::<f64>() / step_ms.len().max(1) as f64, 3),
        ms_per_tick_p95: round(p95(&sorted_ms).unwrap_or(0.0), 3),
        batches_optimal,
        batches_greedy,
        stations: station_kpis,
    })
}

/// A count per hour, 0 over no time.
fn per_hour(count: f64, hours: f64) -> f64 {
    if hours > 0.0 { count / hours } else { 0.0 }
}

fn station_kind(kind: &TaskKind) -> Option<StationKind> {
    match kind {
        TaskKind::Pick { .. } => Some(StationKind::Pick),
        TaskKind::Stow { .. } => Some(StationKind::Stow),
        _ => None,
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
