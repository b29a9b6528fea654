//! The dashboard in a real browser: headless Chromium (Debian's package; `tests/run.sh` installs
//! it) loads `/` from a running `droverd demo`, and the DOM it ends with shows the robots,
//! that they moved while the page watched, and a zone made through the API.

mod common;

use std::process::Command;

use common::{DemoArgs, fail, start, temp_dir};
use serde_json::json;

/// Names the Chromium program when it is not Debian's.
const CHROMIUM_VAR: &str = "DROVER_CHROMIUM";

/// The Chromium program: `$DROVER_CHROMIUM` if set, else Debian's. When it is missing the test
/// fails with one line saying how to install it.
fn chromium() -> std::path::PathBuf {
    let candidates: Vec<std::path::PathBuf> = match std::env::var_os(CHROMIUM_VAR) {
        Some(p) => vec![p.into()],
        None => vec![
            "/usr/bin/chromium".into(),
            "/usr/bin/chromium-browser".into(),
        ],
    };
    if let Some(path) = candidates.iter().find(|p| p.is_file()) {
        return path.clone();
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    fail(format!(
        "chromium not found (tried {}): install it with \"apt-get install chromium\" or run bash tests/run.sh, which installs it",
        tried.join(", ")
    ))
}

/// Headless Chromium driven over the Chrome DevTools Protocol (a WebSocket).
struct Browser {
    child: std::process::Child,
    page: tungstenite::WebSocket<std::net::TcpStream>,
    next_id: u64,
}

impl Browser {
    fn launch(chromium: &std::path::Path, profile: &std::path::Path) -> Browser {
        use std::io::BufRead;
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let port: u16 = loop {
            let line = lines
                .next()
                .expect("chromium exited before announcing DevTools")
                .unwrap();
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        // Keep draining stderr so chromium never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut ws_url = None;
        common::wait_for(std::time::Duration::from_secs(20), "a page target", || {
            let (_, body) = common::request(addr, "GET", "/json/list", None, None).ok()?;
            let targets: serde_json::Value = serde_json::from_str(&body).ok()?;
            ws_url = targets
                .as_array()?
                .iter()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
                .map(str::to_string);
            Some(ws_url.is_some())
        });
        let url = ws_url.unwrap();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let (page, _) = tungstenite::client(url.as_str(), stream).expect("DevTools WebSocket");
        Browser {
            child,
            page,
            next_id: 0,
        }
    }

    /// Sends a CDP command and returns its result (events in between are skipped).
    fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.page
            .send(tungstenite::Message::Text(message.into()))
            .unwrap();
        loop {
            let reply = self.page.read().expect("DevTools reply");
            let tungstenite::Message::Text(text) = reply else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates a JavaScript expression in the page and returns its JSON value.
    fn eval(&mut self, expression: &str) -> serde_json::Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn robots_appear_and_move_and_a_zone_shows_up() {
    let chromium = chromium();
    let dir = temp_dir("dashboard");
    let d = start(
        &dir,
        &DemoArgs {
            robots: 10,
            queued: 12,
            ..DemoArgs::default()
        },
    );
    let (status, body) = d.req(
        "POST",
        "/api/zones",
        Some(
            &json!({"name": "chromium-zone", "mode": "blocked",
                    "rect": {"col": 30, "row": 2, "width": 4, "height": 2}})
            .to_string(),
        ),
        None,
    );
    assert_eq!(status, 201, "{body}");
    let mut browser = Browser::launch(&chromium, &dir.join("chromium"));
    browser.call(
        "Page.navigate",
        json!({"url": format!("http://{}/", d.api)}),
    );
    let probe = "JSON.stringify({ready: document.body.dataset.ready, \
                 robots: Number(document.body.dataset.robots), \
                 pods: Number(document.body.dataset.pods), \
                 moves: Number(document.body.dataset.moves), \
                 zone: !!document.querySelector('tr.zone[data-name=\"chromium-zone\"]'), \
                 stations: document.querySelectorAll('tr.station').length, \
                 drawn: document.getElementById('floor').width})";
    let mut seen = serde_json::Value::Null;
    common::wait_for(
        std::time::Duration::from_secs(40),
        "the dashboard to show moving robots",
        || {
            let v = browser.eval(probe);
            seen = serde_json::from_str(v.as_str()?).ok()?;
            Some(seen["ready"] == "true" && seen["robots"] == 10 && seen["moves"].as_u64()? > 10)
        },
    );
    assert!(
        seen["zone"].as_bool().unwrap(),
        "the zone is listed: {seen}"
    );
    assert!(seen["stations"].as_u64().unwrap() >= 6, "{seen}");
    // The demo floor has about 150 pods; a few ride on robots at any moment.
    assert!(seen["pods"].as_u64().unwrap() > 100, "pods drawn: {seen}");
    assert!(seen["drawn"].as_u64().unwrap() > 0, "{seen}");
    // A zone made through the API while the page is open arrives over the event stream.
    let (status, body) = d.req(
        "POST",
        "/api/zones",
        Some(
            &json!({"name": "late-zone", "mode": "slow", "max_speed": 0.3, "cells": [45, 46]})
                .to_string(),
        ),
        None,
    );
    assert_eq!(status, 201, "{body}");
    common::wait_for(
        std::time::Duration::from_secs(10),
        "the new zone on the page",
        || {
            let v = browser.eval("!!document.querySelector('tr.zone[data-name=\"late-zone\"]')");
            v.as_bool()
        },
    );
    // The fleet button pauses every robot, and its label follows.
    browser.eval("document.getElementById('fleet').click()");
    common::wait_for(
        std::time::Duration::from_secs(10),
        "the fleet paused from the page",
        || Some(d.get_json("/api/live")["fleet_paused"] == true),
    );
    common::wait_for(
        std::time::Duration::from_secs(10),
        "the button to offer resume",
        || {
            let v = browser.eval("document.getElementById('fleet').textContent");
            Some(v.as_str()? == "resume fleet")
        },
    );
    browser.eval("document.getElementById('fleet').click()");
    common::wait_for(
        std::time::Duration::from_secs(10),
        "the fleet resumed from the page",
        || Some(d.get_json("/api/live")["fleet_paused"] == false),
    );
}
