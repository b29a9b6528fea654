//! Seeded shift scenarios on the demo floor: KPI summaries are snapshot-tested, and the
//! curve a floor manager reads (fewer robots per station, more starvation) holds.

use drover_grid::Motion;
use drover_grid::load::{Floor, parse_floor};
use drover_sim::shift::{ShiftConfig, ShiftReport, run_shift};

fn demo() -> Floor {
    let path = crate::workspace_dir().join("config/floors/demo.toml");
    parse_floor("demo.toml", &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn shift(robots: usize, minutes: f64, seed: u64) -> ShiftReport {
    let config = ShiftConfig {
        robots,
        hours: minutes / 60.0,
        seed,
        motion: Motion::Rotate,
        table_cache_bytes: 64 << 20,
        demand: 1.0,
    };
    run_shift(demo(), &config, &|_, _| {}).unwrap()
}

/// The report without wall-clock figures, which differ from run to run.
fn stable(report: &ShiftReport) -> serde_json::Value {
    let mut v = serde_json::to_value(report).unwrap();
    let map = v.as_object_mut().unwrap();
    map.remove("ms_per_tick_mean");
    map.remove("ms_per_tick_p95");
    v
}

#[test]
fn a_demo_shift_is_seeded_and_its_kpis_are_stable() {
    let report = shift(15, 20.0, 1);
    assert_eq!(
        stable(&report),
        stable(&shift(15, 20.0, 1)),
        "same seed, same shift"
    );
    insta::assert_json_snapshot!(stable(&report));
}

#[test]
fn a_demo_shift_keeps_staffed_stations_busy_and_balances_robot_time() {
    let r = shift(25, 30.0, 2);
    assert!(r.units_picked > 300, "{} units", r.units_picked);
    assert!(r.starvation_pct < 25.0, "starvation {}%", r.starvation_pct);
    assert!(r.pile_on >= 1.0);
    let t = &r.robot_time;
    let sum = t.moving_loaded
        + t.moving_empty
        + t.waiting_blocked
        + t.queueing
        + t.presenting
        + t.lifting
        + t.to_charger
        + t.charging
        + t.idle
        + t.out_of_service;
    assert!((sum - 100.0).abs() < 0.1, "robot time sums to {sum}");
    assert!(
        r.stations.iter().any(|s| s.kind == "stow" && s.units > 0),
        "the stow wave is worked"
    );
    assert!(r.carts_done > 0, "tote carts reach the pack station");
    let pack = r.stations.iter().find(|s| s.kind == "pack").unwrap();
    assert_eq!(pack.pods, 0, "pods never go to a pack station");
}

#[test]
fn fewer_robots_per_station_starve_the_stations_more() {
    let (few, many) = (shift(5, 20.0, 3), shift(25, 20.0, 3));
    assert!(
        few.starvation_pct > many.starvation_pct + 10.0,
        "1 per station {}% vs 5 per station {}%",
        few.starvation_pct,
        many.starvation_pct
    );
    assert!(few.units_picked < many.units_picked);
}
