//! Debian's mosquitto as a throwaway broker for interop tests (feature `mosquitto`): started
//! on a loopback port with a config of its own, killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A mosquitto process on `port`, killed on drop.
pub struct Mosquitto {
    child: Child,
    /// The port it listens on (loopback).
    pub port: u16,
    dir: std::path::PathBuf,
}

impl Mosquitto {
    /// Starts it on `port` (anonymous clients, loopback only), returning once it listens.
    ///
    /// # Panics
    /// If mosquitto is not installed or does not listen within 5 s.
    pub fn start(port: u16) -> Mosquitto {
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

    /// Kills it (a broker crash); [`Mosquitto::start`] on the same port brings one back.
    pub fn stop(&mut self) {
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
