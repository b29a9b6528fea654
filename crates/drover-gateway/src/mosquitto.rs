//! Debian's mosquitto as a throwaway broker for interop tests (feature `mosquitto`): started
//! on a loopback port with a config of its own (anonymous clients, or the caller's: logins,
//! ACL, TLS), killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Names the mosquitto program when it is not Debian's `/usr/sbin/mosquitto` or `mosquitto`
/// on `PATH`.
pub const PROGRAM_VAR: &str = "DROVER_MOSQUITTO";

/// A mosquitto process on `port`, killed on drop.
pub struct Mosquitto {
    child: Child,
    /// The port it listens on (loopback).
    pub port: u16,
    dir: PathBuf,
}

impl Mosquitto {
    /// Starts it on `port` (anonymous clients, loopback only), returning once it listens.
    ///
    /// The error is one line for people: when mosquitto is not installed it says how to
    /// install it, so a test can `panic!("{e:#}")` with it instead of unwrapping an io error.
    pub fn start(port: u16) -> anyhow::Result<Mosquitto> {
        Mosquitto::start_with_config(
            port,
            &format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n"
            ),
        )
    }

    /// Starts it with `config` (mosquitto.conf text: listeners, `password_file`, `acl_file`,
    /// TLS files), returning once it listens on `port`, one of the config's listeners.
    pub fn start_with_config(port: u16, config: &str) -> anyhow::Result<Mosquitto> {
        let bin = program()?;
        let dir = std::env::temp_dir().join(format!("drover-mosquitto-{port}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let conf = dir.join("mosquitto.conf");
        // Running as root, mosquitto would drop to user `mosquitto` (which then could not read
        // a caller's files); stay root instead.
        let user = if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            "user root\n"
        } else {
            ""
        };
        std::fs::write(&conf, format!("{user}{config}"))
            .with_context(|| format!("writing {}", conf.display()))?;
        let log = dir.join("mosquitto.log");
        let stderr =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(&bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let last = text.lines().last().unwrap_or("no output");
                anyhow::bail!("mosquitto exited ({status}) before listening on {port}: {last}");
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!("mosquitto did not listen on {port} within 5 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Mosquitto { child, port, dir })
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

/// The mosquitto program: `$DROVER_MOSQUITTO` if set, else Debian's, else the one on `PATH`.
fn program() -> anyhow::Result<PathBuf> {
    match std::env::var_os(PROGRAM_VAR) {
        Some(p) => first_that_runs(&[PathBuf::from(p)]),
        None => first_that_runs(&["/usr/sbin/mosquitto".into(), "mosquitto".into()]),
    }
}

/// The first of `candidates` that starts (with `-h`, which prints help and exits).
fn first_that_runs(candidates: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let runs = |bin: &PathBuf| {
        Command::new(bin)
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    match candidates.iter().find(|b| runs(b)) {
        Some(bin) => Ok(bin.clone()),
        None => {
            let tried = candidates
                .iter()
                .map(|b| b.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            anyhow::bail!(
                "mosquitto not found (tried {tried}): install it with \"apt-get install mosquitto\" \
                 or run bash tests/run.sh, which installs it"
            )
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_mosquitto_is_one_line_saying_how_to_install_it() {
        let e = first_that_runs(&["/nonexistent/mosquitto".into()]).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "mosquitto not found (tried /nonexistent/mosquitto): install it with \"apt-get \
             install mosquitto\" or run bash tests/run.sh, which installs it"
        );
    }
}
