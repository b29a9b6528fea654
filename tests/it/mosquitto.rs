//! Interop with Debian's mosquitto: the same end-to-end flow through an external broker, and
//! a broker restart in the middle of a run (the gateway and the units reconnect and
//! re-subscribe; every task still completes).

use std::time::Duration;

use drover_gateway::mosquitto::Mosquitto;
use drover_gateway::{BrokerAddr, free_port};

use crate::wire::{check, faults, options, run_with_deadline};

/// Fails the test with the launcher's one-line error (a missing mosquitto says how to install
/// it): no panic location and no backtrace, even with `RUST_BACKTRACE` set, since
/// `resume_unwind` skips the panic hook. The test still fails; it does not skip.
fn fail(e: impl std::fmt::Display) -> ! {
    let message = format!("{e:#}");
    eprintln!("{message}");
    std::panic::resume_unwind(Box::new(message))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_runs_through_mosquitto() {
    let broker = Mosquitto::start(free_port().unwrap()).unwrap_or_else(|e| fail(e));
    let report = run_with_deadline(
        options(BrokerAddr::local(broker.port), 20, 60, faults()),
        Duration::from_secs(180),
    )
    .await;
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    check(&report, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_run_loses_no_task() {
    let port = free_port().unwrap();
    let mut broker = Mosquitto::start(port).unwrap_or_else(|e| fail(e));
    let run = tokio::spawn(run_with_deadline(
        options(BrokerAddr::local(port), 20, 60, faults()),
        Duration::from_secs(240),
    ));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        !run.is_finished(),
        "the run should still be going when the broker goes down"
    );
    broker.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let broker = Mosquitto::start(port).unwrap_or_else(|e| fail(e));
    let report = run.await.unwrap();
    drop(broker);
    eprintln!("{}", serde_json::to_string(&report).unwrap());
    check(&report, 60);
    assert!(
        report.coordinator_reconnects >= 1,
        "the coordinator reconnected: {report:#?}"
    );
    assert!(
        report.unit_reconnects >= 20,
        "every unit reconnected: {report:#?}"
    );
}
