//! End to end over MQTT: droverd's coordinator and simulated VDA 5050 units through the
//! embedded broker, with delays and lost messages.

use std::time::Duration;

use drover_gateway::{BrokerAddr, free_port, start_embedded_broker};
use drover_sim::fleet::Faults;
use drover_sim::unit::UnitConfig;
use droverd::Control;
use droverd::demo::{DemoOptions, DemoReport, run_demo};

pub(crate) fn options(
    broker: BrokerAddr,
    robots: usize,
    tasks: usize,
    faults: Faults,
) -> DemoOptions {
    let mut coord = drover_sim::fleet::coord_config(1);
    // 50 ms ticks: resend after 0.5 s, silent after 3 s without a state.
    coord.resend_ticks = 10;
    coord.silent_ticks = 60;
    DemoOptions {
        floor: crate::workspace_dir().join("config/floors/demo.toml"),
        robots,
        broker,
        unit_logins: None,
        coord,
        intake: drover_core::session::Intake {
            max_clock_skew_ms: 5000,
            connection_doubt_ms: 2000,
        },
        tick: Duration::from_millis(50),
        // Four times a real unit's speed keeps the test short; timing ratios stay the same.
        unit: UnitConfig::standard().scaled(4.0),
        unit_step_ms: 20,
        faults,
        associates_pick_ms: 400,
        control: Control {
            submit_picks: tasks,
            keep_queued: 0,
            stop_when_done: true,
            progress_every: Duration::from_secs(5),
            run_for: None,
        },
        startup_timeout: Duration::from_secs(30),
        late: Vec::new(),
        interface: "uagv".into(),
        seed: 1,
        api: None,
    }
}

pub(crate) fn faults() -> Faults {
    Faults {
        delay_prob: 0.1,
        delay_ms: (200, 1500),
        drop_prob: 0.01,
        seed: 11,
    }
}

pub(crate) fn check(report: &DemoReport, tasks: usize) {
    let c = &report.coordinator;
    assert_eq!(report.collisions, 0, "physical collisions: {report:#?}");
    assert_eq!(c.submitted, tasks, "{report:#?}");
    assert_eq!(c.done, tasks, "every task done, none lost: {report:#?}");
    assert_eq!(c.failed, 0, "{report:#?}");
    assert_eq!(c.bad_progress, 0, "{report:#?}");
}

pub(crate) async fn run_with_deadline(options: DemoOptions, deadline: Duration) -> DemoReport {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    tokio::time::timeout(deadline, run_demo(options, rx))
        .await
        .expect("no deadlock: the run finishes in time")
        .expect("the demo runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_units_complete_200_picks_over_the_embedded_broker() {
    let port = free_port().unwrap();
    start_embedded_broker(format!("127.0.0.1:{port}").parse().unwrap(), 100).unwrap();
    let report = run_with_deadline(
        options(BrokerAddr::local(port), 50, 200, faults()),
        Duration::from_secs(240),
    )
    .await;
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    check(&report, 200);
    assert!(report.dropped > 0, "faults were injected: {report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_that_connects_after_startup_is_not_driven_and_not_run_into() {
    let port = free_port().unwrap();
    start_embedded_broker(format!("127.0.0.1:{port}").parse().unwrap(), 100).unwrap();
    let mut o = options(BrokerAddr::local(port), 10, 20, Faults::none());
    // Unit 3 stands on the floor from the start but connects 4 s late, after a 2 s startup.
    // Until it connects nobody knows it is there: a robot that drives into it then (unit 2,
    // its neighbour on the park row, did once the planner looked three moves ahead) is
    // counted in `unheard_collisions`, not `collisions`. Once it has reported, its cell is
    // closed and `check` requires no collision at all.
    o.startup_timeout = Duration::from_secs(2);
    o.late = vec![(3, Duration::from_secs(4))];
    let report = run_with_deadline(o, Duration::from_secs(180)).await;
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(
        report.coordinator.robots, 9,
        "driven: the units located at startup"
    );
    assert_eq!(report.coordinator.late_robots, 1, "{report:#?}");
    check(&report, 20);
}
