//! Coordinator and virtual VDA 5050 drive units in one process, tick by tick through the
//! JSON wire format: picks complete, nobody collides, faults lose nothing.

use drover_core::session::Session;
use drover_grid::load::parse_floor;
use drover_sim::fleet::{
    Faults, FleetReport, FleetRun, ScheduledZone, ZoneCells, coord_config, run_in_process, spawn,
    stocked,
};
use drover_sim::unit::UnitConfig;

fn demo() -> drover_grid::load::Floor {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/floors/demo.toml");
    let text = std::fs::read_to_string(path).unwrap();
    stocked(parse_floor("demo.toml", &text).unwrap(), 1)
}

/// A run of `tasks` picks on the demo floor: 250 ms ticks, no faults, no zones.
fn picks(tasks: usize) -> FleetRun {
    FleetRun {
        tick_ms: 250,
        unit_step_ms: 50,
        tasks,
        pick_ms: 3000,
        max_ticks: 20_000,
        faults: Faults::none(),
        zones: Vec::new(),
        deaths: Vec::new(),
        out_of_service: Vec::new(),
        strangers: Vec::new(),
    }
}

/// `units` standard units on the demo floor run `run`; the coordinator is returned for
/// inspection.
fn run_with(units: usize, run: &FleetRun) -> (Session, FleetReport) {
    run_units(units, &UnitConfig::standard(), run)
}

fn run_units(units: usize, unit: &UnitConfig, run: &FleetRun) -> (Session, FleetReport) {
    let floor = demo();
    let (mut session, mut units) = spawn(&floor, units, coord_config(1), unit).unwrap();
    let report = run_in_process(&floor, &mut session, &mut units, run);
    eprintln!("{report:?}");
    (session, report)
}

fn run(units: usize, tasks: usize, faults: Faults) -> FleetReport {
    run_with(
        units,
        &FleetRun {
            faults,
            ..picks(tasks)
        },
    )
    .1
}

fn run_zoned(units: usize, tasks: usize, zones: Vec<ScheduledZone>) -> FleetReport {
    run_with(
        units,
        &FleetRun {
            zones,
            ..picks(tasks)
        },
    )
    .1
}

#[test]
fn units_complete_picks_without_collisions() {
    let report = run(12, 40, Faults::none());
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
    assert_eq!(report.bad_progress, 0, "{report:?}");
}

#[test]
fn units_on_a_floor_turned_and_shifted_in_their_map_complete_picks() {
    // The floor lies in the units' map turned 90 degrees and shifted: every position and
    // theta crosses the wire through the placement, both ways.
    let floor = demo();
    let mut config = coord_config(1);
    config.placement = drover_core::orders::Placement {
        x: 250.0,
        y: -40.0,
        rotation: std::f64::consts::FRAC_PI_2,
    };
    let (mut session, mut units) = spawn(&floor, 12, config, &UnitConfig::standard()).unwrap();
    let report = run_in_process(&floor, &mut session, &mut units, &picks(40));
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.downs, 0, "no unit off its cells: {report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
}

#[test]
fn robots_the_coordinator_does_not_drive_are_never_run_into_once_they_report() {
    // Three robots that missed startup stand on the highway in front of the pick stations.
    let cells: Vec<_> = [[17, 12], [18, 20], [16, 27]]
        .iter()
        .map(|&[r, c]| drover_grid::Cell(r * 40 + c))
        .collect();
    let with = |reports: Option<u64>| FleetRun {
        strangers: cells.iter().map(|&c| (c, reports)).collect(),
        ..picks(40)
    };
    let unknown = run_with(12, &with(None)).1;
    assert!(
        unknown.collisions > 0,
        "the strangers stand where traffic goes: {unknown:?}"
    );
    let known = run_with(12, &with(Some(0))).1;
    assert_eq!(known.collisions, 0, "{known:?}");
    assert_eq!(known.done, known.submitted, "{known:?}");
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
    assert!(report.dropped > 0, "faults were injected: {report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
}

#[test]
fn a_blocked_zone_holds_the_units_inside_and_keeps_the_others_out() {
    // A square around a unit that is at work, for 120 s of a run; then it is lifted.
    let zones = vec![ScheduledZone {
        from_tick: 60,
        until_tick: 540,
        cells: ZoneCells::AroundUnit { unit: 3, radius: 2 },
        max_speed: None,
    }];
    let report = run_zoned(20, 80, zones);
    assert!(report.held_max >= 1, "the unit inside is held: {report:?}");
    assert_eq!(report.intrusions, 0, "{report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.bad_progress, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
    assert!(report.ticks > 540, "the run outlasts the zone: {report:?}");
}

#[test]
fn a_unit_that_dies_mid_run_loses_no_task() {
    // Two units die at work (they stand where they are and never report again). The others
    // plan around them and finish every task except those that need a pod a dead unit
    // carries: those wait in the queue, not lost and not done twice.
    use drover_alloc::{PodId, PodLoc, PodSel, TaskKind, TaskState};
    let run = FleetRun {
        max_ticks: 3000,
        deaths: vec![(4, 120), (9, 200)],
        ..picks(80)
    };
    let (session, report) = run_with(20, &run);
    let coord = session.coordinator();
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.bad_progress, 0, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(coord.is_silent(4) && coord.is_silent(9));
    let alloc = coord.alloc();
    let mut waiting = 0;
    for t in alloc.tasks().iter().filter(|t| !t.state.is_final()) {
        let TaskKind::Pick {
            pod: PodSel::Sku(sku),
            ..
        } = t.kind
        else {
            continue;
        };
        waiting += 1;
        assert_eq!(t.state, TaskState::Queued, "{t:?}");
        for p in (0..alloc.n_pods() as u32).map(PodId) {
            if alloc.pod_units(p, sku) > 0 {
                assert!(
                    matches!(alloc.pod_loc(p), PodLoc::Stranded(_)),
                    "{t:?} waits although pod {p:?} is at {:?}",
                    alloc.pod_loc(p)
                );
            }
        }
    }
    assert_eq!(report.done + waiting, report.submitted, "{report:?}");
}

#[test]
fn a_unit_taken_out_of_service_stops_at_its_next_node() {
    // Three units get cancelOrder at work and come back later: each stops at its next node,
    // gives its further cells back, and every task is still done once.
    let run = FleetRun {
        out_of_service: vec![(2, 80, 300), (6, 101, 301), (11, 150, 420)],
        ..picks(80)
    };
    let (_, report) = run_with(20, &run);
    assert_eq!(report.stopped, 3, "{report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.bad_progress, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
}

#[test]
fn orders_respect_the_units_factsheet_limits() {
    // Units that take at most 3 nodes per order and one order per second: the coordinator
    // reads their factsheets, so none of its orders is rejected and every pick is done.
    let strict = UnitConfig {
        max_order_nodes: 3,
        min_order_interval_s: 1.0,
        ..UnitConfig::standard()
    };
    let (_, report) = run_units(12, &strict, &picks(30));
    assert_eq!(report.rejected, 0, "{report:?}");
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
}

#[test]
fn a_unit_that_starts_with_a_pod_on_it_brings_it_to_a_slot() {
    // After a coordinator restart a unit still carries a pod: the coordinator adopts it, the
    // unit sets it down in a free slot, and picks go on around it.
    use drover_alloc::PodLoc;
    let floor = demo();
    let (mut session, mut units) =
        spawn(&floor, 8, coord_config(1), &UnitConfig::standard()).unwrap();
    let coord = session.coordinator_mut();
    let pod = coord.alloc().pod_by_name("pod-0005").unwrap();
    let PodLoc::Slot(old) = coord.alloc().pod_loc(pod) else {
        panic!("pods start in slots")
    };
    units[2].set_load(Some("pod-0005".into()));
    coord.adopt_load(2, "pod-0005").unwrap();
    assert_eq!(coord.alloc().pod_loc(pod), PodLoc::Robot(2));
    assert_eq!(coord.alloc().pod_in_slot(old), None);
    assert!(
        coord.adopt_load(3, "pod-0005").is_err(),
        "one pod, one robot"
    );
    assert!(coord.adopt_load(3, "no-such-pod").is_err());
    let report = run_in_process(&floor, &mut session, &mut units, &picks(20));
    assert_eq!(report.collisions, 0, "{report:?}");
    assert_eq!(report.done, report.submitted, "{report:?}");
    let coord = session.coordinator();
    let PodLoc::Slot(slot) = coord.alloc().pod_loc(pod) else {
        panic!("pod-0005 ends in a slot: {:?}", coord.alloc().pod_loc(pod))
    };
    assert_eq!(coord.alloc().pod_in_slot(slot), Some(pod));
    assert_eq!(units[2].load(), None, "the unit set it down");
}

#[test]
fn a_slow_zone_limits_speed_only_on_its_cells() {
    // The lower one-way highway (row 17) and the rows around it.
    let cells = (16..=18)
        .flat_map(|row| (1..39).map(move |col| drover_grid::Cell(row * 40 + col)))
        .collect();
    let zones = vec![ScheduledZone {
        from_tick: 0,
        until_tick: u64::MAX,
        cells: ZoneCells::Cells(cells),
        max_speed: Some(0.3),
    }];
    let report = run_zoned(12, 40, zones);
    assert!(report.limited_edges > 0, "{report:?}");
    assert_eq!(report.limited_outside, 0, "{report:?}");
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

fn schema(version: drover_vda5050::Version, name: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&drover_vda5050::schemas::schema(version, name)).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, name: &str, value: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name} invalid:\n{}\n{value:#}",
        errors.join("\n")
    );
}

/// Units speaking `version` work picks through the session: every order and instant action
/// the session publishes and every state, connection and factsheet the units send validates
/// against that version's official schema, goes out stamped with that version, and no unit
/// refuses anything. Returns the first order with a pick, header id zeroed.
fn messages_in(version: drover_vda5050::Version) -> drover_vda5050::Order {
    use drover_core::session::SessionEvent;
    use drover_sim::fleet::{Associates, EPOCH_MS, submit_picks};
    use drover_vda5050::{ConnectionState, Topic};
    let floor = demo();
    let unit = UnitConfig {
        version,
        ..UnitConfig::standard()
    };
    let (mut session, mut units) = spawn(&floor, 4, coord_config(1), &unit).unwrap();
    let mut associates = Associates::staff_all(session.coordinator_mut(), 2000);
    submit_picks(session.coordinator_mut(), 4);
    let [order, instant, state, connection, factsheet] = [
        "order",
        "instantActions",
        "state",
        "connection",
        "factsheet",
    ]
    .map(|k| schema(version, k));
    for u in units.iter_mut() {
        for c in [ConnectionState::Online, ConnectionState::Connectionbroken] {
            assert_valid(
                &connection,
                "connection",
                &json(&u.connection(c, 0, EPOCH_MS)),
            );
        }
        assert_valid(&factsheet, "factsheet", &json(&u.factsheet(0, EPOCH_MS)));
    }
    let (mut orders, mut picks, mut loaded, mut instants) = (0, 0, 0, 0);
    let mut first_pick: Option<drover_vda5050::Order> = None;
    for t in 0..1200u64 {
        let now = t * 250;
        for u in units.iter_mut() {
            u.advance(now);
            let s = u.state(now, EPOCH_MS);
            if s.loads.as_ref().is_some_and(|l| !l.is_empty()) {
                loaded += 1;
            }
            if t % 20 == 0 || u.take_dirty() {
                assert_valid(&state, "state", &json(&s));
            }
            let topic = format!("uagv/v2/drover-sim/{}/state", u.serial());
            let payload = serde_json::to_vec(&s).unwrap();
            let events = session.receive(&topic, &payload, EPOCH_MS + now as i64);
            assert!(events.is_empty(), "{version} state: {events:?}");
        }
        associates.step(session.coordinator_mut(), now);
        let tick = session.tick(EPOCH_MS + now as i64, &|| 0.0);
        if t == 600 {
            // Instant actions too: pause and resume one unit.
            let coord = session.coordinator_mut();
            let pause = coord.pause(0, true).unwrap();
            let resume = coord.pause(0, false).unwrap();
            for m in [pause, resume] {
                let p = session.encode(0, m, EPOCH_MS + now as i64);
                let value: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                assert_valid(&instant, "instantActions", &value);
                assert_eq!(value["version"], version.wire());
                instants += 1;
                units[0].on_instant(serde_json::from_value(value).unwrap(), now);
            }
        }
        for e in &tick.events {
            assert!(
                !matches!(
                    e,
                    SessionEvent::Coord(drover_core::coord::CoordEvent::Down { .. })
                ),
                "{version}: {e:?}"
            );
        }
        for p in tick.publish {
            let value: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
            assert_eq!(value["version"], version.wire(), "{value}");
            let u = units
                .iter()
                .position(|u| u.serial() == p.path.serial)
                .unwrap();
            match p.path.topic {
                Topic::Order => {
                    assert_valid(&order, "order", &value);
                    let mut o: drover_vda5050::Order = serde_json::from_value(value).unwrap();
                    orders += 1;
                    if o.nodes
                        .iter()
                        .any(|n| n.actions.iter().any(|a| a.action_type == "pick"))
                    {
                        picks += 1;
                        o.header_id = 0;
                        first_pick.get_or_insert_with(|| o.clone());
                    }
                    units[u].on_order(o, now);
                }
                Topic::InstantActions => {
                    assert_valid(&instant, "instantActions", &value);
                    instants += 1;
                    units[u].on_instant(serde_json::from_value(value).unwrap(), now);
                }
                other => panic!("the fleet publishes no {other:?}"),
            }
        }
    }
    assert!(
        orders > 20 && picks > 0 && loaded > 0 && instants >= 2,
        "{version}: orders {orders}, with pick {picks}, loaded states {loaded}, instant actions {instants}"
    );
    let refused: u64 = units.iter().map(|u| u.rejected()).sum();
    assert_eq!(refused, 0, "{version}: messages the units refused");
    first_pick.unwrap()
}

fn json(message: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(message).unwrap()
}

#[test]
fn messages_both_ways_validate_against_the_2_0_schemas() {
    messages_in(drover_vda5050::Version::V2_0);
}

#[test]
fn messages_both_ways_validate_against_the_2_1_schemas() {
    let first_pick = messages_in(drover_vda5050::Version::V2_1);
    insta::assert_json_snapshot!("first_pick_order", first_pick);
}

/// Milliseconds a standard unit needs to drive one cell east on the demo floor, under an
/// edge `maxSpeed` (or none).
fn one_cell_ms(max_speed: Option<f64>) -> u64 {
    use drover_core::orders::MapFrame;
    use drover_grid::{Cell, Heading};
    let floor = demo();
    let frame = MapFrame::new("floor", &floor.grid, floor.cell_size_m);
    let (from, to) = (Cell(2 * 40 + 5), Cell(2 * 40 + 6));
    let mut unit = drover_sim::unit::DriveUnit::new(
        "drover-sim",
        "du-0001",
        frame.clone(),
        from,
        Heading::East,
        UnitConfig::standard(),
    );
    let node = |cell: Cell, seq: u32| {
        let (x, y) = frame.position(cell);
        serde_json::json!({
            "nodeId": cell.0.to_string(), "sequenceId": seq, "released": true, "actions": [],
            "nodePosition": { "x": x, "y": y, "theta": 0.0, "mapId": "floor" }
        })
    };
    let mut edge = serde_json::json!({
        "edgeId": "e", "sequenceId": 1, "released": true, "actions": [],
        "startNodeId": from.0.to_string(), "endNodeId": to.0.to_string(), "length": 1.0
    });
    if let Some(v) = max_speed {
        edge["maxSpeed"] = v.into();
    }
    let order = serde_json::json!({
        "headerId": 1, "timestamp": "2026-11-23T10:00:00.000Z", "version": "2.1.0",
        "manufacturer": "drover-sim", "serialNumber": "du-0001",
        "orderId": "o-1", "orderUpdateId": 0,
        "nodes": [node(from, 0), node(to, 2)], "edges": [edge]
    });
    unit.on_order(serde_json::from_value(order).unwrap(), 0);
    (1..100_000)
        .map(|k| k * 10)
        .find(|&ms| {
            unit.advance(ms);
            unit.occupied() == (to, None)
        })
        .expect("the unit arrives")
}

#[test]
fn units_drive_no_faster_than_an_edge_allows() {
    let free = one_cell_ms(None);
    let slow = one_cell_ms(Some(0.3));
    eprintln!("one cell: {free} ms free, {slow} ms at 0.3 m/s");
    assert!(slow >= 3000, "1 m at 0.3 m/s takes over 3 s: {slow} ms");
    assert!(free < slow / 2, "{free} ms vs {slow} ms");
}

#[test]
fn a_robot_quiet_for_half_the_silence_limit_gets_one_state_request() {
    use drover_core::coord::Outbound;
    let floor = demo();
    let config = coord_config(1);
    let half = config.silent_ticks / 2;
    let (mut session, _units) = spawn(&floor, 3, config, &UnitConfig::standard()).unwrap();
    let coord = session.coordinator_mut();
    let mut requests = Vec::new();
    for t in 0..=half + 5 {
        for (robot, message) in coord.tick().outbound {
            if let Outbound::InstantActions(a) = message
                && a.actions.iter().any(|x| x.action_type == "stateRequest")
            {
                requests.push((t, robot));
            }
        }
    }
    assert_eq!(requests, vec![(half, 0), (half, 1), (half, 2)]);
}

#[test]
fn a_restarted_coordinator_never_reuses_an_order_id() {
    // A robot may still run the previous coordinator's order: the ids must differ, or its
    // states would read as progress on the new order.
    use drover_core::coord::Outbound;
    let floor = demo();
    let first_order = |instance: &str| {
        let mut config = coord_config(1);
        config.instance = instance.to_string();
        let (mut session, _units) = spawn(&floor, 2, config, &UnitConfig::standard()).unwrap();
        let coord = session.coordinator_mut();
        drover_sim::fleet::submit_picks(coord, 2);
        (0..200)
            .flat_map(|_| coord.tick().outbound)
            .find_map(|(_, m)| match m {
                Outbound::Order(o) => Some(o.order_id),
                Outbound::InstantActions(_) => None,
            })
            .expect("an order goes out")
    };
    let (a, b) = (first_order("18c2f"), first_order("18c30"));
    assert_ne!(a, b);
    assert!(a.contains("-18c2f-"), "{a}");
}
