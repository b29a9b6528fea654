//! What the session believes of robot messages: a forged state stamped in 2099 with
//! the highest header id, a forged jump in header ids, a forged `CONNECTIONBROKEN` and a forged
//! state in a version drover cannot speak leave the real robot driven; a genuine last will
//! still silences a robot that stopped reporting, and a robot that speaks only 3.0 goes down.

use drover_alloc::{Errand, ErrandAction, TaskKind};
use drover_vda5050::{ConnectionState, Reject};

use super::*;

/// Ticks of 100 ms, as droverd's default loop runs.
const TICK: i64 = 100;

/// One tick at `t` ms: the bots marked in `reporting` send their state first, and every bot
/// drives the orders it gets.
fn tick(
    session: &mut Session,
    bots: &mut [Bot],
    reporting: &[bool],
    t: i64,
) -> (Vec<Publish>, Vec<SessionEvent>) {
    let f = frame(session);
    let mut events = Vec::new();
    for (b, _) in bots.iter_mut().zip(reporting).filter(|(_, r)| **r) {
        b.stamp_ms = EPOCH + t;
        let (topic, payload) = b.state(&f);
        events.extend(session.receive(&topic, &payload, EPOCH + t));
    }
    let out = session.tick(EPOCH + t, &|| 0.0);
    events.extend(out.events);
    for b in bots.iter_mut() {
        for o in orders_to(&out.publish, &b.serial) {
            b.drive(&o);
        }
    }
    (out.publish, events)
}

/// Runs ticks `from..to` (in ticks of [`TICK`]) with `reporting`; returns the orders each bot
/// got and the events.
fn run(
    session: &mut Session,
    bots: &mut [Bot],
    reporting: &[bool],
    ticks: std::ops::Range<i64>,
) -> (Vec<usize>, Vec<SessionEvent>) {
    let mut orders = vec![0; bots.len()];
    let mut events = Vec::new();
    for k in ticks {
        let (publish, e) = tick(session, bots, reporting, k * TICK);
        for (n, b) in orders.iter_mut().zip(bots.iter()) {
            *n += orders_to(&publish, &b.serial).len();
        }
        events.extend(e);
    }
    (orders, events)
}

/// `bot`'s next state with its header id and timestamp replaced, as a forger would send it
/// (the bot's own counter is left as it was).
fn forged_state(bot: &mut Bot, frame: &MapFrame, header_id: u32, timestamp: &str) -> Vec<u8> {
    let (_, payload) = bot.state(frame);
    bot.header -= 1;
    let mut state: Value = serde_json::from_slice(&payload).unwrap();
    state["headerId"] = json!(header_id);
    state["timestamp"] = json!(timestamp);
    serde_json::to_vec(&state).unwrap()
}

fn connection(serial: &str, state: &str, at_ms: i64) -> (String, Vec<u8>) {
    let message = json!({
        "headerId": 0, "timestamp": drover_vda5050::Timestamp(at_ms).to_string(),
        "version": "2.1.0", "manufacturer": "acme", "serialNumber": serial,
        "connectionState": state,
    });
    (
        format!("uagv/v2/acme/{serial}/connection"),
        serde_json::to_vec(&message).unwrap(),
    )
}

fn refusals(events: &[SessionEvent]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Refused(r) => Some(r.reason()),
            _ => None,
        })
        .collect()
}

fn silences(events: &[SessionEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Coord(CoordEvent::Silent { robot }) => Some(*robot),
            _ => None,
        })
        .collect()
}

/// A transport for each of `n` robots, back to the park cells.
fn more_work(session: &mut Session, n: usize) {
    for k in 0..n {
        let kind = TaskKind::Transport {
            errands: vec![Errand {
                cell: park(k),
                action: ErrandAction::Visit,
            }],
        };
        session
            .coordinator_mut()
            .allocator()
            .submit(kind, 0, None)
            .unwrap();
    }
}

#[test]
fn forged_states_and_a_forged_connectionbroken_leave_the_real_robots_driven() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    let all = [true, true];
    let (orders, events) = run(&mut session, &mut bots, &all, 0..20);
    assert!(orders.iter().all(|n| *n > 0), "{orders:?}");
    assert!(refusals(&events).is_empty(), "{events:?}");

    // The forgeries, at 2 s: a state for `a` with the highest header id stamped in
    // 2099, the same stamped now, and a CONNECTIONBROKEN for `b` stamped now (and one in 2099).
    let t = 20 * TICK;
    let f = frame(&session);
    let from_2099 = forged_state(&mut bots[0], &f, u32::MAX, "2099-01-01T00:00:00.00Z");
    let now = drover_vda5050::Timestamp(EPOCH + t).to_string();
    let jump = forged_state(&mut bots[0], &f, u32::MAX, &now);
    let mut v: Value = serde_json::from_slice(&forged_state(&mut bots[0], &f, 1, &now)).unwrap();
    v["version"] = json!("3.0.0");
    let version = serde_json::to_vec(&v).unwrap();
    let mut events = Vec::new();
    for payload in [&from_2099, &jump, &version] {
        events.extend(session.receive("uagv/v2/acme/a/state", payload, EPOCH + t));
    }
    for (topic, payload) in [
        connection("b", "CONNECTIONBROKEN", EPOCH + t),
        connection("b", "CONNECTIONBROKEN", 4_070_908_800_000),
    ] {
        events.extend(session.receive(&topic, &payload, EPOCH + t));
    }
    assert_eq!(
        refusals(&events),
        [
            "clock_skew",
            "header_jump",
            "unsupported_version",
            "clock_skew"
        ],
        "{events:?}"
    );
    let [
        SessionEvent::Refused(Reject::AheadOfClock { max_skew_ms, .. }),
        ..,
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(*max_skew_ms, INTAKE.max_clock_skew_ms);
    assert!(
        events.iter().any(|e| matches!(
            e,
            SessionEvent::Doubted { serial, state: ConnectionState::Connectionbroken, .. }
                if serial == "b"
        )),
        "the CONNECTIONBROKEN arrived while b's states are fresh: {events:?}"
    );

    // Ten seconds on: every genuine state is taken, nobody fell silent or down.
    let (_, events) = run(&mut session, &mut bots, &all, 20..120);
    assert!(refusals(&events).is_empty(), "{events:?}");
    assert!(silences(&events).is_empty(), "{events:?}");
    assert!(downs(&events).is_empty(), "{events:?}");
    let coord = session.coordinator();
    for r in 0..2 {
        assert!(coord.is_online(r) && !coord.is_silent(r));
        assert_eq!(coord.down_reason(r), None);
    }
    // And both are still driven: new work reaches them as orders.
    more_work(&mut session, 2);
    let (orders, _) = run(&mut session, &mut bots, &all, 120..140);
    assert!(orders.iter().all(|n| *n > 0), "{orders:?}");
}

#[test]
fn a_last_will_silences_a_robot_that_stopped_reporting_and_a_state_brings_it_back() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    run(&mut session, &mut bots, &[true, true], 0..20);

    // `b` dies at 2 s: no more states, and the broker publishes its will 100 ms later. The
    // will arrives while b's last state is fresh, so it is held, and believed once no state
    // followed within the doubt window: long before the state-age watchdog would notice.
    let (topic, will) = connection("b", "CONNECTIONBROKEN", EPOCH);
    let events = session.receive(&topic, &will, EPOCH + 20 * TICK);
    assert!(
        matches!(
            &events[..],
            [SessionEvent::Doubted {
                state_age_ms: 100,
                ..
            }]
        ),
        "{events:?}"
    );
    let doubt_ticks = INTAKE.connection_doubt_ms as i64 / TICK;
    let a_only = [true, false];
    let (_, events) = run(&mut session, &mut bots, &a_only, 20..20 + doubt_ticks);
    assert!(silences(&events).is_empty(), "held: {events:?}");
    let (_, events) = run(
        &mut session,
        &mut bots,
        &a_only,
        20 + doubt_ticks..21 + doubt_ticks,
    );
    assert_eq!(silences(&events), [1], "{events:?}");
    assert!(!session.coordinator().is_online(1));

    // A will that arrives when the robot's last state is already older than the doubt
    // window is believed at once: `a` falls quiet too, and its will comes 2.1 s later.
    let quiet = 21 + doubt_ticks;
    let (_, events) = run(
        &mut session,
        &mut bots,
        &[false, false],
        quiet..quiet + doubt_ticks + 1,
    );
    assert!(silences(&events).is_empty(), "{events:?}");
    let at = quiet + doubt_ticks + 1;
    let (topic, will) = connection("a", "CONNECTIONBROKEN", EPOCH);
    let events = session.receive(&topic, &will, EPOCH + at * TICK);
    assert!(events.is_empty(), "{events:?}");
    let (_, events) = run(&mut session, &mut bots, &[false, false], at..at + 1);
    assert_eq!(silences(&events), [0], "{events:?}");

    // b reconnects and reports: connected again, driven again.
    let (_, events) = run(&mut session, &mut bots, &[true, true], at + 1..at + 21);
    let backs: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Coord(CoordEvent::Back { robot }) => Some(*robot),
            _ => None,
        })
        .collect();
    assert_eq!(backs, [0, 1], "{events:?}");
    assert!((0..2).all(|r| session.coordinator().is_online(r)));
}

#[test]
fn a_robot_whose_messages_are_all_in_an_unsupported_version_goes_down_after_the_doubt_window() {
    let mut bots = [
        Bot::new("a", "2.1.0", park(0)),
        Bot::new("b", "2.1.0", park(1)),
    ];
    let mut session = located(&mut bots);
    run(&mut session, &mut bots, &[true, true], 0..10);
    // From 1 s on, `a` speaks 3.0.0 only: held while its 2.1 states are fresh, then believed.
    bots[0].version = "3.0.0";
    let doubt_ticks = INTAKE.connection_doubt_ms as i64 / TICK;
    let (_, events) = run(&mut session, &mut bots, &[true, true], 10..9 + doubt_ticks);
    assert!(downs(&events).is_empty(), "{events:?}");
    let (_, events) = run(
        &mut session,
        &mut bots,
        &[true, true],
        9 + doubt_ticks..20 + doubt_ticks,
    );
    let down = downs(&events);
    assert_eq!(down.len(), 1, "{events:?}");
    assert_eq!(down[0].0, 0);
    assert!(down[0].1.contains("3.0.0"), "{down:?}");
    let alerts = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Alert { serial, .. } if serial == "a"))
        .count();
    assert_eq!(alerts, 1, "{events:?}");
}
