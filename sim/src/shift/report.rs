//! The KPIs of a shift (DOMAIN.md §7), computed from what its phases counted, and the
//! readable table `drover-sim shift` prints.

use drover_alloc::{Allocator, StationId};
use drover_grid::load::{Floor, StationKind};
use serde::Serialize;

use super::associates::Associate;
use super::carts::Carts;
use super::demand::Demand;
use super::dispatch::Batches;
use super::robots::{self, Robots};
use super::stations::StationStats;

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

impl ShiftReport {
    /// The report as a readable table: the headline KPIs, then one line per station.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let r = self;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} robots, {} staffed stations ({} per station), {} h, seed {}",
            r.floor, r.robots, r.staffed_stations, r.robots_per_station, r.hours, r.seed
        );
        let _ = writeln!(
            out,
            "units picked {} ({:.0}/h, {:.0} UPH per pick station), stowed {}; pile-on {:.2} units/pod",
            r.units_picked, r.uph_total, r.uph_per_pick_station, r.units_stowed, r.pile_on
        );
        let _ = writeln!(
            out,
            "pick stations: starvation {:.2}% (robot-caused), associate absent {:.2}%, {:.1} pods per station-hour",
            r.starvation_pct, r.absent_pct, r.pods_per_station_hour
        );
        let _ = writeln!(
            out,
            "orders {} of {} done, cycle mean {:.0} s, p95 {:.0} s; pod trips {} at {:.0} s ({:.0}% moving); carts {}",
            r.orders_done,
            r.orders_released,
            r.order_cycle_s_mean,
            r.order_cycle_s_p95,
            r.trips,
            r.trip_seconds,
            r.trip_moving_pct,
            r.carts_done
        );
        let t = &r.robot_time;
        let _ = writeln!(
            out,
            "robot time %: loaded {:.1}, empty {:.1}, blocked {:.1}, queueing {:.1}, presenting {:.1}, lifting {:.1}, to charger {:.1}, charging {:.1}, idle {:.1}, out of service {:.1}",
            t.moving_loaded,
            t.moving_empty,
            t.waiting_blocked,
            t.queueing,
            t.presenting,
            t.lifting,
            t.to_charger,
            t.charging,
            t.idle,
            t.out_of_service
        );
        let _ = writeln!(
            out,
            "chargers busy {:.1}%; {:.3} ms per tick (p95 {:.3}); batches {} exact, {} greedy",
            r.chargers_busy_pct,
            r.ms_per_tick_mean,
            r.ms_per_tick_p95,
            r.batches_optimal,
            r.batches_greedy
        );
        let _ = writeln!(
            out,
            "{:<12} {:<5} {:>7} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7} {:>7}",
            "station",
            "kind",
            "units",
            "UPH",
            "pods/h",
            "starve%",
            "absent%",
            "nowork%",
            "queue",
            "target"
        );
        for s in &r.stations {
            let _ = writeln!(
                out,
                "{:<12} {:<5} {:>7} {:>7.0} {:>7.1} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2}",
                s.name,
                s.kind,
                s.units,
                s.uph,
                s.pods_per_hour,
                s.starvation_pct,
                s.absent_pct,
                s.no_work_pct,
                s.mean_queue,
                s.mean_target
            );
        }
        out
    }
}

/// What a shift counted, as a report.
pub(super) fn build(
    floor: &Floor,
    alloc: &Allocator,
    robots_n: usize,
    hours: f64,
    seed: u64,
    staffed_stations: usize,
    total_ticks: u64,
    associates: &[Associate],
    stats: &[StationStats],
    robots: &Robots,
    demand: &Demand,
    carts: &Carts,
    batches: &Batches,
    step_ms: &[f64],
) -> ShiftReport {
    let stations: Vec<StationId> = (0..floor.stations.len() as u16).map(StationId).collect();
    let is_pick = |s: &StationId| floor.stations[s.0 as usize].kind == StationKind::Pick;
    let units_picked: u64 = stations
        .iter()
        .filter(|s| is_pick(s))
        .map(|s| associates[s.0 as usize].units)
        .sum();
    let pick_pods: u64 = stations
        .iter()
        .filter(|s| is_pick(s))
        .map(|s| associates[s.0 as usize].pods)
        .sum();
    let units_stowed: u64 = stations
        .iter()
        .filter(|s| !is_pick(s))
        .map(|s| associates[s.0 as usize].units)
        .sum();
    let ticks = total_ticks.max(1) as f64;
    let robot_ticks = (ticks * robots_n as f64).max(1.0);
    let pct = |bucket: usize| 100.0 * robots.split[bucket] as f64 / robot_ticks;
    let station_kpis: Vec<StationKpi> = stations
        .iter()
        .map(|&s| {
            let st = &stats[s.0 as usize];
            let a = &associates[s.0 as usize];
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
                units: a.units,
                uph: round(per_hour(a.units as f64, hours), 1),
                pods: a.pods,
                pods_per_hour: round(per_hour(a.pods as f64, hours), 1),
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
        .filter(|s| is_pick(s))
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
    let mut cycle = demand.cycle.clone();
    cycle.sort_unstable();
    let mut sorted_ms = step_ms.to_vec();
    sorted_ms.sort_by(f64::total_cmp);
    let p95 = |v: &[f64]| {
        v.get((v.len() * 95 / 100).min(v.len().saturating_sub(1)))
            .copied()
    };
    ShiftReport {
        floor: floor.name.clone(),
        robots: robots_n,
        staffed_stations,
        robots_per_station: round(robots_n as f64 / staffed_stations.max(1) as f64, 2),
        hours,
        seed,
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
            moving_loaded: round(pct(robots::MOVING_LOADED), 2),
            moving_empty: round(pct(robots::MOVING_EMPTY), 2),
            waiting_blocked: round(pct(robots::WAITING_BLOCKED), 2),
            queueing: round(pct(robots::QUEUEING), 2),
            presenting: round(pct(robots::PRESENTING), 2),
            lifting: round(pct(robots::LIFTING), 2),
            to_charger: round(pct(robots::TO_CHARGER), 2),
            charging: round(pct(robots::CHARGING), 2),
            idle: round(pct(robots::IDLE), 2),
            out_of_service: round(pct(robots::OUT_OF_SERVICE), 2),
        },
        trips: robots.trips,
        trip_seconds: round(robots.trip_ticks as f64 / robots.trips.max(1) as f64, 1),
        trip_moving_pct: round(
            100.0 * robots.trip_moving_total as f64 / robots.trip_ticks.max(1) as f64,
            1,
        ),
        orders_done: cycle.len() as u64,
        orders_released: demand.released() as u64,
        order_cycle_s_mean: round(
            cycle.iter().sum::<u64>() as f64 / cycle.len().max(1) as f64,
            1,
        ),
        order_cycle_s_p95: cycle
            .get((cycle.len() * 95 / 100).min(cycle.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64,
        chargers_busy_pct: round(
            100.0 * robots.charger_ticks as f64 / (ticks * floor.chargers.len().max(1) as f64),
            2,
        ),
        carts_done: carts.done,
        ms_per_tick_mean: round(step_ms.iter().sum::<f64>() / step_ms.len().max(1) as f64, 3),
        ms_per_tick_p95: round(p95(&sorted_ms).unwrap_or(0.0), 3),
        batches_optimal: batches.optimal,
        batches_greedy: batches.greedy,
        stations: station_kpis,
    }
}

/// A count per hour, 0 over no time.
fn per_hour(count: f64, hours: f64) -> f64 {
    if hours > 0.0 { count / hours } else { 0.0 }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
