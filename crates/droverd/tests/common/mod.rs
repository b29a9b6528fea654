//! Helpers for droverd's process-level tests: start `droverd demo` on free ports, a small
//! HTTP/1.1 client over a plain TCP socket, and waiting with deadlines.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(unreachable_pub, reason = "test helpers")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Fails the test with `message` alone (a missing tool's message says how to install it): no
/// panic location and no backtrace, even with `RUST_BACKTRACE` set, since `resume_unwind`
/// skips the panic hook. The test still fails; it does not skip.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("{message}");
    std::panic::resume_unwind(Box::new(message.to_string()))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    drover_gateway::free_port().expect("a free port")
}

/// A fresh folder under the temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("droverd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The repository root (tests run in the crate folder).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `droverd demo`.
pub struct Daemon {
    pub child: Child,
    pub api: SocketAddr,
    pub broker: u16,
    pub data_dir: PathBuf,
}

/// Options for [`start`].
pub struct DemoArgs<'a> {
    pub robots: usize,
    pub queued: usize,
    pub speed: f64,
    /// The operator token (`DROVERD_WRITE_TOKEN`).
    pub token: Option<&'a str>,
    /// The read token (`DROVERD_READ_TOKEN`).
    pub read_token: Option<&'a str>,
    pub seed: u64,
    /// `[api]` keys set to other values than `config/droverd.toml`'s (`("body_timeout_ms",
    /// "1000")`): the daemon then reads a copy of it in the data dir.
    pub api: &'a [(&'a str, &'a str)],
}

impl Default for DemoArgs<'_> {
    fn default() -> Self {
        DemoArgs {
            robots: 8,
            queued: 0,
            speed: 8.0,
            token: None,
            read_token: None,
            seed: 1,
            api: &[],
        }
    }
}

/// `config/droverd.toml` with some `[api]` keys replaced, written into `dir`.
pub fn config_with_api(dir: &Path, keys: &[(&str, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("config/droverd.toml")).unwrap();
    let (head, tail) = text.split_once("[api]\n").expect("an [api] section");
    let (api, rest) = tail.split_once("\n[").expect("a section after [api]");
    let mut lines: Vec<String> = api.lines().map(str::to_string).collect();
    for (key, value) in keys {
        let line = lines
            .iter_mut()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("no api.{key} in config/droverd.toml"));
        *line = format!("{key} = {value}");
    }
    let path = dir.join("droverd.toml");
    std::fs::write(
        &path,
        format!("{head}[api]\n{}\n\n[{rest}", lines.join("\n")),
    )
    .unwrap();
    path
}

/// Starts `droverd demo` on free ports with its store in `data_dir`; returns once the API
/// answers.
pub fn start(data_dir: &Path, args: &DemoArgs<'_>) -> Daemon {
    let api: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let broker_port = free_port();
    let broker = format!("127.0.0.1:{broker_port}");
    let config = if args.api.is_empty() {
        repo().join("config/droverd.toml")
    } else {
        config_with_api(data_dir, args.api)
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_droverd"));
    cmd.current_dir(repo())
        .arg("demo")
        .arg("--config")
        .arg(&config)
        .args(["--robots", &args.robots.to_string()])
        .args(["--queued", &args.queued.to_string()])
        .args(["--speed", &args.speed.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--listen", &api.to_string()])
        .args(["--broker-listen", &broker])
        // hostile.rs publishes junk on the robots' topics, without a login.
        .arg("--open-broker")
        .arg("--data-dir")
        .arg(data_dir)
        .env("DROVERD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match args.token {
        Some(t) => cmd.env("DROVERD_WRITE_TOKEN", t),
        None => cmd.env_remove("DROVERD_WRITE_TOKEN"),
    };
    match args.read_token {
        Some(t) => cmd.env("DROVERD_READ_TOKEN", t),
        None => cmd.env_remove("DROVERD_READ_TOKEN"),
    };
    // The readiness probe below reads; with reads closed it needs a token.
    let probe_token = args.read_token.or(args.token);
    let child = cmd.spawn().expect("start droverd");
    let daemon = Daemon {
        child,
        api,
        broker: broker_port,
        data_dir: data_dir.to_path_buf(),
    };
    wait_for(Duration::from_secs(30), "the API to answer", || {
        request(api, "GET", "/api/floor", None, probe_token)
            .ok()
            .map(|r| r.0 == 200)
    });
    daemon
}

impl Daemon {
    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A request; panics on connection errors.
    pub fn req(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, String) {
        request(self.api, method, path, body.map(str::as_bytes), token)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A GET that must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.req("GET", path, None, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it returns `Some(true)` or the deadline passes (then panics).
pub fn wait_for(within: Duration, what: &str, mut check: impl FnMut() -> Option<bool>) {
    let deadline = Instant::now() + within;
    loop {
        if check() == Some(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.1 request with `Connection: close`, as a well-behaved client sends it: writes
/// (anything but GET and HEAD) say `Content-Type: application/json`, bodies or not, and the
/// token goes in the `Authorization` header. Returns status and body (chunked bodies
/// decoded).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !matches!(method, "GET" | "HEAD") {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    request_raw(addr, head, body)
}

/// A request from a head of one's own (request line and headers, without the blank line
/// ending it) and an optional body; returns status and body.
pub fn raw_request(
    addr: SocketAddr,
    head: &str,
    body: Option<&[u8]>,
) -> std::io::Result<(u16, String)> {
    let mut head = head.trim_end().to_string();
    head.push_str("\r\n");
    request_raw(addr, head, body)
}

fn request_raw(
    addr: SocketAddr,
    mut head: String,
    body: Option<&[u8]>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    if let Some(b) = body {
        // The server may answer (413) and close before reading a huge body.
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no response head in {text:?}")))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            out.push_str(&rest[..rest.len().min(n)]);
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
