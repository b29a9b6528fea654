//! Running the fleet: a fleet-wide pause, a floor placed in the robots' map, factsheets that
//! limit a robot's work and speed, slow zones, and node actions that fail.

use super::*;

#[test]
fn a_paused_fleet_gets_start_pause_and_nothing_more_is_released() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    // The robots echo what they get (and stay put).
    let run = |session: &mut Session, bots: &mut [Bot], from: i64, ticks: i64| {
        let mut orders = Vec::new();
        for t in from..from + ticks {
            let (publish, _) = step(session, bots, t * 250);
            for b in bots.iter_mut() {
                for o in orders_to(&publish, &b.serial) {
                    b.order_id = o["orderId"].as_str().unwrap().to_string();
                    b.update_id = o["orderUpdateId"].as_u64().unwrap() as u32;
                    orders.push(o);
                }
            }
        }
        orders
    };
    // Paused before anything was released: the robots' work waits for the resume.
    let pause = session.coordinator_mut().set_fleet_paused(true);
    assert_eq!(pause.len(), 2);
    for (robot, m) in pause {
        let m = json_of(&session.encode(robot, m, EPOCH));
        assert_eq!(m["actions"][0]["actionType"], "startPause");
    }
    assert!(session.coordinator().is_fleet_paused());
    // Paused: nothing goes out, though both robots have a task.
    assert_eq!(run(&mut session, &mut bots, 0, 40), Vec::<Value>::new());
    assert!(!session.coordinator().alloc().robot_tasks(0).is_empty());
    let err = session.coordinator_mut().pause(0, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the fleet is paused; robot a resumes with the fleet"
    );
    let resume = session.coordinator_mut().set_fleet_paused(false);
    assert_eq!(resume.len(), 2);
    let orders = run(&mut session, &mut bots, 40, 20);
    assert!(
        orders.iter().any(|o| o["serialNumber"] == "a"),
        "driven again"
    );
}

#[test]
fn a_floor_rotated_and_shifted_in_the_map_drives_the_same_plan() {
    use crate::orders::Placement;
    let turned = Placement {
        x: 100.0,
        y: -20.0,
        rotation: std::f64::consts::FRAC_PI_2,
    };
    let orders = |placement: Placement| {
        let mut bots = [
            Bot::new("a", "2.1.0", park(0)),
            Bot::new("b", "2.1.0", park(1)),
        ];
        let mut session = located_in(&mut bots, placement);
        let mut out = Vec::new();
        for t in 0..40 {
            let (publish, events) = step(&mut session, &mut bots, t * 250);
            assert!(downs(&events).is_empty(), "{events:?}");
            for b in bots.iter_mut() {
                for o in orders_to(&publish, &b.serial) {
                    b.order_id = o["orderId"].as_str().unwrap().to_string();
                    b.update_id = o["orderUpdateId"].as_u64().unwrap() as u32;
                    out.push(o);
                }
            }
        }
        out
    };
    let (plain, placed) = (orders(Placement::IDENTITY), orders(turned));
    assert!(!plain.is_empty());
    assert_eq!(plain.len(), placed.len());
    for (p, q) in plain.iter().zip(&placed) {
        let ids = |o: &Value| -> Vec<Value> {
            o["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["nodeId"].clone())
                .collect()
        };
        assert_eq!(ids(p), ids(q), "the same cells in the same order");
        for (n, m) in p["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .zip(q["nodes"].as_array().unwrap())
        {
            let (a, b) = (&n["nodePosition"], &m["nodePosition"]);
            let (x, y) = (a["x"].as_f64().unwrap(), a["y"].as_f64().unwrap());
            // Turned a quarter counter-clockwise, then shifted.
            assert!(
                (b["x"].as_f64().unwrap() - (100.0 - y)).abs() < 1e-9,
                "{a} -> {b}"
            );
            assert!(
                (b["y"].as_f64().unwrap() - (-20.0 + x)).abs() < 1e-9,
                "{a} -> {b}"
            );
            let dt = b["theta"].as_f64().unwrap() - a["theta"].as_f64().unwrap();
            let dt = dt.rem_euclid(std::f64::consts::TAU);
            assert!(
                (dt - std::f64::consts::FRAC_PI_2).abs() < 1e-9,
                "{a} -> {b}"
            );
        }
    }
}

/// A factsheet listing `actions`, with `speed_max` m/s.
fn factsheet(serial: &str, actions: &[&str], speed_max: f64) -> Vec<u8> {
    let actions: Vec<Value> = actions
        .iter()
        .map(|a| json!({ "actionType": a, "actionScopes": ["NODE"] }))
        .collect();
    serde_json::to_vec(&json!({
        "headerId": 0, "timestamp": "2026-09-21T10:00:00.00Z", "version": "2.1.0",
        "manufacturer": "acme", "serialNumber": serial,
        "typeSpecification": { "seriesName": "s", "agvKinematic": "DIFF", "agvClass": "CARRIER",
            "maxLoadMass": 500.0, "localizationTypes": ["DMC"], "navigationTypes": ["AUTONOMOUS"] },
        "physicalParameters": { "speedMin": 0.0, "speedMax": speed_max, "accelerationMax": 1.0,
            "decelerationMax": 1.0, "heightMax": 0.4, "width": 0.8, "length": 0.8 },
        "protocolLimits": { "maxStringLens": {}, "maxArrayLens": {},
            "timing": { "minOrderInterval": 0.0, "minStateInterval": 0.0 } },
        "protocolFeatures": { "optionalParameters": [], "agvActions": actions },
        "agvGeometry": {}, "loadSpecification": {},
    }))
    .unwrap()
}

#[test]
fn a_robot_whose_factsheet_lacks_pick_and_drop_gets_no_task() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    // Neither published a factsheet before coordinating started: both are asked for one.
    let greet = session.greet(EPOCH);
    assert_eq!(greet.len(), 2);
    for p in &greet {
        assert_eq!(json_of(p)["actions"][0]["actionType"], "factsheetRequest");
    }
    assert!(session.greet(EPOCH).is_empty(), "asked once");
    let sheet = factsheet("a", &["startPause", "stopPause", "startCharging"], 1.0);
    assert!(
        session
            .receive("uagv/v2/acme/a/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    let sheet = factsheet("b", &["pick", "drop", "startCharging"], 1.0);
    assert!(
        session
            .receive("uagv/v2/acme/b/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    let coord = session.coordinator();
    assert!(!coord.alloc().capabilities(0).lift && coord.alloc().capabilities(0).charge);
    assert!(coord.alloc().capabilities(1).lift);
    for t in 0..20 {
        step(&mut session, &mut bots, t * 250);
        assert!(
            session.coordinator().alloc().robot_tasks(0).is_empty(),
            "tick {t}"
        );
    }
    assert!(!session.coordinator().alloc().robot_tasks(1).is_empty());
}

#[test]
fn slow_zone_limits_never_exceed_the_robots_speed_max() {
    use crate::coord::ZoneArea;
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    let sheet = factsheet("a", &[], 0.4);
    assert!(
        session
            .receive("uagv/v2/acme/a/factsheet", &sheet, EPOCH)
            .is_empty()
    );
    // A slow zone of 2 m/s over the whole floor: above what the robot can do.
    let cells = (0..40 * 22).map(Cell).collect();
    let pauses = session.coordinator_mut().set_zones(&[ZoneArea {
        cells,
        max_speed: Some(2.0),
    }]);
    assert!(pauses.is_empty());
    let order = first_order(&mut session, &mut bots, "a");
    let edges = order["edges"].as_array().unwrap();
    assert!(!edges.is_empty(), "{order}");
    for e in edges {
        assert_eq!(e["maxSpeed"], 0.4, "{e}");
    }
}

#[test]
fn a_failed_pick_leaves_the_pod_in_its_slot_and_the_task_fails_after_its_retries() {
    use drover_alloc::{PodId, PodLoc, PodSel, StationId, TaskState};
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    let mut session = located(&mut bots);
    // Only the pick: the transport `located` submitted is cancelled.
    let coord = session.coordinator_mut();
    let transport = coord.alloc().tasks()[0].id;
    coord.allocator().cancel(transport).unwrap();
    coord.allocator().staff(StationId(0), "ann");
    let pod = PodId(0);
    let PodLoc::Slot(slot) = coord.alloc().pod_loc(pod) else {
        panic!("pods start in slots")
    };
    let kind = TaskKind::Pick {
        pod: PodSel::Pod(pod),
        station: None,
        units: 1,
    };
    let task = coord.allocator().submit(kind, 0, None).unwrap();
    bots[0].fail_picks = Some("no pod under the robot".into());
    let mut failures = Vec::new();
    for t in 0..400 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        for e in &events {
            if let SessionEvent::Coord(CoordEvent::ActionFailed { action, reason, .. }) = e {
                failures.push((action.clone(), reason.clone()));
            }
        }
        for o in orders_to(&publish, "a") {
            bots[0].drive(&o);
        }
        if session
            .coordinator()
            .alloc()
            .task(task)
            .unwrap()
            .state
            .is_final()
        {
            break;
        }
    }
    let alloc = session.coordinator().alloc();
    assert_eq!(
        alloc.task(task).unwrap().state,
        TaskState::Failed {
            reason: "no pod under the robot (tried 2 times)".into()
        },
        "tried once more (action_retries 1), then failed with the robot's words"
    );
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .all(|f| f == &("pick".to_string(), "no pod under the robot".to_string()))
    );
    assert_eq!(
        alloc.pod_loc(pod),
        PodLoc::Slot(slot),
        "the pod never left its slot"
    );
    assert_eq!(alloc.carrying(0), None);
}

#[test]
fn a_failed_drop_keeps_the_pod_on_the_robot_until_a_drop_succeeds() {
    use drover_alloc::PodLoc;
    // The robot starts carrying pod-0001 (lifted before a restart): it must set it down.
    let mut bots = [Bot::new("a", "2.1.0", park(0))];
    bots[0].loads = Some(vec!["pod-0001".into()]);
    bots[0].fail_drops = 1;
    let mut session = located(&mut bots);
    let coord = session.coordinator_mut();
    let transport = coord.alloc().tasks()[0].id;
    coord.allocator().cancel(transport).unwrap();
    let pod = coord.alloc().pod_by_name("pod-0001").unwrap();
    assert_eq!(
        coord.alloc().pod_loc(pod),
        PodLoc::Robot(0),
        "adopted at startup"
    );
    let mut failed = 0;
    let mut stored = None;
    for t in 0..400 {
        let (publish, events) = step(&mut session, &mut bots, t * 250);
        for e in &events {
            match e {
                SessionEvent::Coord(CoordEvent::ActionFailed { action, .. }) => {
                    assert_eq!(action, "drop");
                    failed += 1;
                    // The robot still has it, and the allocator knows.
                    let alloc = session.coordinator().alloc();
                    assert_eq!(alloc.pod_loc(pod), PodLoc::Robot(0));
                    assert_eq!(alloc.carrying(0), Some(pod));
                }
                SessionEvent::Coord(CoordEvent::Alloc(drover_alloc::Event::PodStored {
                    slot,
                    ..
                })) => {
                    stored = Some(*slot);
                }
                _ => {}
            }
        }
        for o in orders_to(&publish, "a") {
            bots[0].drive(&o);
        }
        if stored.is_some() {
            break;
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(bots[0].loads, Some(Vec::new()), "the second drop worked");
    assert!(stored.is_some());
    let PodLoc::Slot(_) = session.coordinator().alloc().pod_loc(pod) else {
        panic!("the pod ends in a slot")
    };
}
