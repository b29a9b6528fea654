//! Interop with Debian's mosquitto: the same end-to-end flow through an external broker, and
//! a broker restart in the middle of a run (the gateway and the units reconnect and
//! re-subscribe; every task still completes).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use drover_gateway::{BrokerAddr, free_port};

use crate::wire::{check, faults, options, run_with_deadline};

/// A mosquitto process on `port`, killed on drop.
struct Mosquitto {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Mosquitto {
    fn start(port: u16) -> Mosquitto {
        let dir = std::env::temp_dir().join(format!("drover-mosquitto-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("mosquitto.conf");
        // Running as root, mosquitto would drop to user `mosquitto`; stay root instead.
        let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            "user root\n"
        } else {
            ""
        };
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n{user}"
            ),
        )
        .unwrap();
        let bin = ["/usr/sbin/mosquitto", "mosquitto"]
            .into_iter()
            .find(|b| {
                Command::new(b)
                    .arg("-h")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            })
            .expect("mosquitto is installed (.ci/run installs the Debian package)");
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "mosquitto did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Mosquitto { child, port, dir }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flow_runs_through_mosquitto() {
    let broker = Mosquitto::start(free_port().unwrap());
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
    let mut broker = Mosquitto::start(port);
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
    let broker = Mosquitto::start(port);
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
