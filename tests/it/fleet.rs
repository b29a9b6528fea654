//! Coordinator and virtual VDA 5050 drive units in one process, tick by tick through the
//! JSON wire format: picks complete, nobody collides, faults lose nothing.

use drover_grid::load::parse_floor;
use drover_sim::fleet::{Faults, FleetRun, coord_config, run_in_process, spawn, stocked};
use drover_sim::unit::UnitConfig;

fn demo() -> drover_grid::load::Floor {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/floors/demo.toml");
    let text = std::fs::read_to_string(path).unwrap();
    stocked(parse_floor("demo.toml", &text).unwrap(), 1)
}

fn run(units: usize, tasks: usize, faults: Faults) -> drover_sim::fleet::FleetReport {
    let floor = demo();
    let unit = UnitConfig::standard();
    let (mut coord, mut units) = spawn(&floor, units, coord_config(1), &unit).unwrap();
    let run = FleetRun {
        tick_ms: 250,
        unit_step_ms: 50,
        tasks,
        pick_ms: 3000,
        max_ticks: 20_000,
        faults,
    };
    run_in_process(&floor, &mut coord, &mut units, &run)
}

#[test]
fn units_complete_picks_without_collisions() {
    let report = run(12, 40, Faults::none());
    eprintln!("{report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
    assert_eq!(report.bad_progress, 0, "{report:?}");
}

#[test]
fn delays_and_lost_messages_lose_nothing() {
    let faults = Faults {
        delay_prob: 0.1,
        delay_ms: (500, 3000),
        drop_prob: 0.01,
        seed: 7,
    };
    let report = run(50, 200, faults);
    eprintln!("{report:?}");
    assert!(report.dropped > 0, "faults were injected: {report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
}

#[test]
fn the_collision_detector_sees_units_meet() {
    use drover_grid::Cell;
    use drover_sim::fleet::World;
    let mut world = World::new(10, &[Cell(0), Cell(2)]);
    world.update(0, (Cell(0), Some(Cell(1))));
    assert!(world.collisions.is_empty());
    world.update(1, (Cell(2), Some(Cell(1))));
    assert_eq!(world.collisions, vec![(1, 0, Cell(1))]);
}
