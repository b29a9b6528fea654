//! The API's defences against a running `droverd demo`: tokens by role (the read token reads,
//! only the operator's writes, and only from the `Authorization` header), writes refused from
//! a foreign `Origin` or without `Content-Type: application/json`, numbers out of range
//! refused by name, the audit trail, body and head deadlines, the connection limit, the
//! refusal to serve open writes beyond loopback, and the target: 500 trickling
//! connections closed within 30 s while `GET /api/kpis` stays fast (figures printed; run
//! with `--no-capture`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Daemon, DemoArgs, raw_request, request, start, temp_dir};
use serde_json::{Value, json};

const OPERATOR: &str = "op-s3cret-token";
const READER: &str = "read-s3cret-token";

/// A pick the demo floor can do.
fn pick() -> String {
    json!({"kind": "pick", "pod": "pod-0001", "station": "pick-1"}).to_string()
}

/// A POST with a head of the test's making.
fn post_with(d: &Daemon, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        d.api,
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    raw_request(d.api, &head, Some(body.as_bytes())).unwrap()
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{e}: {body}"))["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn writes_need_the_operator_token_json_and_the_daemons_own_origin_and_are_audited() {
    let dir = temp_dir("guard-roles");
    let d = start(
        &dir,
        &DemoArgs {
            robots: 2,
            token: Some(OPERATOR),
            read_token: Some(READER),
            ..DemoArgs::default()
        },
    );
    let bearer_op = format!("Authorization: Bearer {OPERATOR}");
    let json_type = "Content-Type: application/json";

    // A page on another site driving the operator's browser: refused before anything else.
    let (status, body) = post_with(
        &d,
        "/api/tasks",
        &[&bearer_op, json_type, "Origin: http://evil.example"],
        &pick(),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(&body), "forbidden");
    assert!(body.contains("evil.example"), "{body}");
    // The daemon's own page may.
    let own = format!("Origin: http://{}", d.api);
    let (status, body) = post_with(&d, "/api/tasks", &[&bearer_op, json_type, &own], &pick());
    assert_eq!(status, 201, "{body}");
    let created = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_u64()
        .unwrap();

    // What a form or a no-preflight fetch can send is not JSON: 415.
    let (status, body) = post_with(
        &d,
        "/api/tasks",
        &[&bearer_op, "Content-Type: text/plain"],
        &pick(),
    );
    assert_eq!(status, 415, "{body}");
    assert_eq!(error_code(&body), "unsupported_media_type");
    let (status, body) = post_with(&d, "/api/fleet/pause", &[&bearer_op], "");
    assert_eq!(status, 415, "a bodiless write says JSON too: {body}");

    // Tokens in the URL read, never write.
    let (status, body) = post_with(
        &d,
        &format!("/api/tasks?access_token={OPERATOR}"),
        &[json_type],
        &pick(),
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("reads only"), "{body}");
    assert!(!body.contains(OPERATOR), "a token is never echoed: {body}");
    let (status, body) = request(
        d.api,
        "GET",
        &format!("/api/kpis?access_token={READER}"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");

    // Roles: the read token reads (the dashboard, SSE, /metrics) but cannot write; without
    // a token nothing is read; the operator token does both.
    for path in ["/api/kpis", "/metrics", "/api/audit"] {
        assert_eq!(
            request(d.api, "GET", path, None, Some(READER)).unwrap().0,
            200,
            "{path}"
        );
        assert_eq!(
            request(d.api, "GET", path, None, Some(OPERATOR)).unwrap().0,
            200,
            "{path}"
        );
        assert_eq!(
            request(d.api, "GET", path, None, None).unwrap().0,
            401,
            "{path}"
        );
    }
    let (status, body) = request(
        d.api,
        "POST",
        "/api/tasks",
        Some(pick().as_bytes()),
        Some(READER),
    )
    .unwrap();
    assert_eq!(status, 403, "{body}");
    let (status, _) = request(
        d.api,
        "POST",
        "/api/tasks",
        Some(pick().as_bytes()),
        Some("nope"),
    )
    .unwrap();
    assert_eq!(status, 401);
    let mut sse = TcpStream::connect(d.api).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        sse,
        "GET /api/events?access_token={READER} HTTP/1.1\r\nHost: {}\r\n\r\n",
        d.api
    )
    .unwrap();
    let mut first = [0u8; 64];
    let n = sse.read(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "SSE with the read token in the URL: {:?}",
        String::from_utf8_lossy(&first[..n])
    );
    drop(sse);

    // Numbers out of range are refused by name, with the range.
    let op = |method: &str, path: &str, body: Value| {
        request(
            d.api,
            method,
            path,
            Some(body.to_string().as_bytes()),
            Some(OPERATOR),
        )
        .unwrap()
    };
    for (bad, needle) in [
        (
            json!({"kind": "pick", "pod": "pod-0001", "units": 4_294_967_295u32}),
            "units must be 1 to 10000, got 4294967295",
        ),
        (
            json!({"kind": "pick", "pod": "pod-0001", "units": 0}),
            "units must be 1 to 10000",
        ),
        (
            json!({"kind": "pick", "pod": "pod-0001", "priority": 2_000_000}),
            "priority must be -1000 to 1000",
        ),
        (
            json!({"kind": "pick", "pod": "pod-0001", "deadline_ms": u64::MAX}),
            "deadline_ms must be",
        ),
        (
            json!({"kind": "transport", "errands": [{"cell": 45, "action": "dwell", "ticks": 4_000_000_000u32}]}),
            "errands[0].ticks must be 1 to 36000",
        ),
    ] {
        let (status, body) = op("POST", "/api/tasks", bad.clone());
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(error_code(&body), "out_of_range", "{body}");
        assert!(body.contains(needle), "{bad}: {body}");
    }
    let (status, body) = op(
        "POST",
        "/api/zones",
        json!({"name": "z", "mode": "slow", "max_speed": 50.0, "cells": [45]}),
    );
    assert_eq!(status, 422, "{body}");
    for (path, needle) in [
        (
            "/api/tasks?after=18446744073709551615",
            "after must be 0 to 9223372036854775807",
        ),
        ("/api/tasks?limit=0", "limit must be 1 to 10000"),
        ("/api/audit?limit=100000", "limit must be 1 to 1000"),
    ] {
        let (status, body) = request(d.api, "GET", path, None, Some(READER)).unwrap();
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body.contains(needle), "{path}: {body}");
    }
    let (status, _) = request(
        d.api,
        "GET",
        "/api/tasks/18446744073709551615",
        None,
        Some(READER),
    )
    .unwrap();
    assert_eq!(status, 404);

    // The audit trail: operator actions with role, what and the answer; nothing for
    // requests refused before the token check; never a token.
    let (status, body) =
        request(d.api, "GET", "/api/audit?limit=1000", None, Some(READER)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(OPERATOR) && !body.contains(READER), "{body}");
    let audit: Vec<Value> = serde_json::from_str(&body).unwrap();
    let created_entry = audit
        .iter()
        .find(|e| e["task"] == created)
        .unwrap_or_else(|| panic!("the submission is audited: {body}"));
    assert_eq!(created_entry["role"], "operator");
    assert_eq!(created_entry["method"], "POST");
    assert_eq!(created_entry["path"], "/api/tasks");
    assert_eq!(created_entry["status"], 201);
    assert!(
        created_entry["summary"]
            .as_str()
            .unwrap()
            .contains("pod-0001"),
        "{created_entry}"
    );
    assert!(created_entry["at_ms"].as_u64().unwrap() > 1_577_836_800_000);
    let statuses: Vec<u64> = audit
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.contains(&415),
        "refused bodies are audited too: {statuses:?}"
    );
    assert!(statuses.contains(&422), "{statuses:?}");
    assert!(
        !statuses.contains(&403) && !statuses.contains(&401),
        "no entry for callers that did not prove the operator role: {statuses:?}"
    );
    assert!(audit.iter().all(|e| e["role"] == "operator"), "{body}");
    // Paging.
    let first_id = audit[0]["id"].as_u64().unwrap();
    let page: Vec<Value> = serde_json::from_str(
        &request(
            d.api,
            "GET",
            &format!("/api/audit?after={first_id}&limit=2"),
            None,
            Some(READER),
        )
        .unwrap()
        .1,
    )
    .unwrap();
    assert_eq!(page.len(), 2);
    assert!(page[0]["id"].as_u64().unwrap() > first_id);
    let openapi: Value = serde_json::from_str(
        &request(d.api, "GET", "/api/openapi.json", None, None)
            .unwrap()
            .1,
    )
    .unwrap();
    assert!(openapi["paths"]["/api/audit"]["get"].is_object());
    assert_eq!(
        openapi["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "Swagger UI's Authorize sends the token"
    );
}

#[test]
fn open_writes_take_no_token_but_still_need_json_and_an_ip_host() {
    let dir = temp_dir("guard-open");
    let d = start(
        &dir,
        &DemoArgs {
            robots: 1,
            ..DemoArgs::default()
        },
    );
    let (status, body) =
        request(d.api, "POST", "/api/tasks", Some(pick().as_bytes()), None).unwrap();
    assert_eq!(status, 201, "{body}");
    // DNS rebinding: a foreign name that resolves to 127.0.0.1 is refused while writes are
    // open, even with a matching Origin.
    let head = format!(
        "POST /api/tasks HTTP/1.1\r\nHost: rebound.evil.example:{port}\r\nOrigin: http://rebound.evil.example:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        pick().len(),
        port = d.api.port()
    );
    let (status, body) = raw_request(d.api, &head, Some(pick().as_bytes())).unwrap();
    assert_eq!(status, 403, "{body}");
    let audit: Vec<Value> =
        serde_json::from_str(&request(d.api, "GET", "/api/audit", None, None).unwrap().1).unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["role"], "open");
}

/// Reads until the server closes (or `within` passes); returns what it sent and when it
/// closed.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < within {
        match s.read(&mut buf) {
            Ok(0) => {
                return (
                    String::from_utf8_lossy(&got).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                return (
                    String::from_utf8_lossy(&got).into(),
                    Some(started.elapsed()),
                );
            }
        }
    }
    (String::from_utf8_lossy(&got).into(), None)
}

#[test]
fn big_announced_bodies_slow_bodies_slow_heads_and_too_many_connections_are_cut_off() {
    let dir = temp_dir("guard-limits");
    let d = start(
        &dir,
        &DemoArgs {
            robots: 1,
            api: &[
                ("header_timeout_ms", "1000"),
                ("body_timeout_ms", "1000"),
                ("max_connections", "8"),
            ],
            ..DemoArgs::default()
        },
    );
    let connect = || {
        let s = TcpStream::connect(d.api).unwrap();
        s.set_nodelay(true).unwrap();
        s
    };

    // 10 MB announced, 10 bytes sent: 413 at once, not after a wait for the rest.
    let mut s = connect();
    let started = Instant::now();
    write!(
        s,
        "POST /api/tasks HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n0123456789",
        d.api
    )
    .unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains("too_large"), "{answer:?}");
    assert!(closed.is_some(), "the connection is closed after a 413");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "413 took {:?}",
        started.elapsed()
    );

    // A body trickling in: 408 once body_timeout_ms passed, and the connection closes.
    let mut s = connect();
    write!(
        s,
        "POST /api/tasks HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
        d.api
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    while started.elapsed() < Duration::from_secs(5) {
        if s.write_all(b" ").is_err() {
            break;
        }
        let (got, closed) = read_until_closed(&mut s, Duration::from_millis(200));
        answer.push_str(&got);
        if closed.is_some() {
            break;
        }
    }
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );

    // A head trickling in, and an idle keep-alive connection: closed by header_timeout_ms.
    let mut trickle = connect();
    let mut idle = connect();
    write!(idle, "GET /api/kpis HTTP/1.1\r\nHost: {}\r\n\r\n", d.api).unwrap();
    let started = Instant::now();
    write!(trickle, "GET /api/kpis HTTP/1.1\r\n").unwrap();
    let mut closed_at = None;
    while started.elapsed() < Duration::from_secs(5) {
        if trickle.write_all(b"X-Slow: 1\r\n").is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        if let (_, Some(_)) = read_until_closed(&mut trickle, Duration::from_millis(200)) {
            closed_at = Some(started.elapsed());
            break;
        }
    }
    let closed_at = closed_at.expect("a trickling head is cut off");
    assert!(
        closed_at >= Duration::from_millis(900) && closed_at < Duration::from_secs(3),
        "{closed_at:?}"
    );
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(3));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        closed.is_some(),
        "an idle keep-alive connection is closed too"
    );

    // The connection limit: 8 open, the 9th is told 503 and closed; once the first ones
    // time out there is room again.
    let held: Vec<TcpStream> = (0..8).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut ninth = connect();
    let (answer, closed) = read_until_closed(&mut ninth, Duration::from_secs(2));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(closed.is_some());
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let (status, _) = request(d.api, "GET", "/api/kpis", None, None).unwrap();
    assert_eq!(status, 200);
    let (_, metrics) = request(d.api, "GET", "/metrics", None, None).unwrap();
    assert!(
        metrics.contains("drover_http_connections_refused_total"),
        "refusals are counted"
    );
}

#[test]
fn an_open_api_beyond_loopback_is_refused_unless_asked_for() {
    let dir = temp_dir("guard-listen");
    let port = common::free_port();
    let run = |command: &str, extra: &[&str], token: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_droverd"));
        cmd.current_dir(common::repo())
            .args([command, "--config", "config/droverd.toml"])
            .args(["--listen", &format!("0.0.0.0:{port}")])
            .arg("--data-dir")
            .arg(&dir)
            .args(extra)
            .env("DROVERD_LOG", "warn")
            .env_remove("DROVERD_READ_TOKEN");
        match token {
            Some(t) => cmd.env("DROVERD_WRITE_TOKEN", t),
            None => cmd.env_remove("DROVERD_WRITE_TOKEN"),
        };
        cmd
    };
    for command in ["run", "demo"] {
        let started = Instant::now();
        let out = run(command, &[], None).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command}: {err}");
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(
            err.contains(&format!(
                "refusing to listen on 0.0.0.0:{port} without an operator token"
            )) && err.contains("api.write_token")
                && err.contains("--insecure-open-api"),
            "{command}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{command} refused at once"
        );
    }
    // With a token, or with the override, the demo serves (on every address, so on
    // loopback too).
    let broker = format!("127.0.0.1:{}", common::free_port());
    for (extra, token) in [
        (&["--insecure-open-api"][..], None),
        (&[][..], Some(OPERATOR)),
    ] {
        let mut cmd = run("demo", extra, token);
        let child = cmd
            .args(["--robots", "1", "--broker-listen", &broker])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            api: SocketAddr::from(([127, 0, 0, 1], port)),
            broker: 0,
            data_dir: dir.clone(),
        };
        common::wait_for(Duration::from_secs(30), "the API on 0.0.0.0", || {
            Some(request(daemon.api, "GET", "/api/floor", None, None).ok()?.0 == 200)
        });
        daemon.kill();
    }
}

/// The target, measured with the shipped limits: 500 connections that trickle
/// (half their heads, half their bodies, a byte a second) are all closed within 30 s, while
/// `GET /api/kpis`, asked every 20 ms on fresh connections, answers with a p99 under 100 ms.
/// Prints the figures (`--no-capture`).
#[test]
fn five_hundred_trickling_connections_are_closed_within_30_s_while_kpis_stay_fast() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const TRICKLERS: usize = 500;
    let dir = temp_dir("guard-trickle");
    let d = start(&dir, &DemoArgs::default());
    let api = d.api;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut ms = Vec::new();
            let mut failures = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match request(api, "GET", "/api/kpis", None, None) {
                    Ok((200, _)) => ms.push(t.elapsed().as_secs_f64() * 1e3),
                    _ => failures += 1,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (ms, failures)
        })
    };

    // One thread drives every trickler: non-blocking sockets polled every 50 ms, a byte
    // each second, closed when a read says so.
    let started = Instant::now();
    let mut open: Vec<(TcpStream, usize)> = (0..TRICKLERS)
        .map(|k| {
            let mut s = TcpStream::connect(api).unwrap();
            let first = if k % 2 == 0 {
                format!("GET /api/kpis HTTP/1.1\r\nHost: {api}\r\n")
            } else {
                format!(
                    "POST /api/tasks HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
                )
            };
            s.write_all(first.as_bytes()).unwrap();
            s.set_nonblocking(true).unwrap();
            (s, k)
        })
        .collect();
    let opened = started.elapsed();
    // (trickles its body, closed after): the server's clock starts at its accept.
    let mut closed_after: Vec<(bool, Duration)> = Vec::new();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    let mut last_byte = Instant::now();
    while !open.is_empty() && started.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(50));
        let send = last_byte.elapsed() >= Duration::from_secs(1);
        if send {
            last_byte = Instant::now();
        }
        open.retain_mut(|(s, k)| {
            let mut buf = [0u8; 2048];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let line = String::from_utf8_lossy(&buf[..n]);
                        let status = line.lines().next().unwrap_or("").to_string();
                        *answers.entry(status).or_default() += 1;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if send {
                            let byte: &[u8] = if *k % 2 == 0 { b"X" } else { b" " };
                            if s.write_all(byte).is_err() {
                                break;
                            }
                        }
                        return true;
                    }
                    Err(_) => break,
                }
            }
            closed_after.push((*k % 2 == 1, started.elapsed()));
            false
        });
    }
    stop.store(true, Ordering::Relaxed);
    let (mut ms, failures) = reader.join().unwrap();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
    let last_closed = closed_after.iter().map(|c| c.1).max().unwrap_or_default();
    let span = |body: bool| {
        let t: Vec<f64> = closed_after
            .iter()
            .filter(|c| c.0 == body)
            .map(|c| c.1.as_secs_f64())
            .collect();
        let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = t.iter().copied().fold(0.0, f64::max);
        format!("{} closed after {lo:.1} to {hi:.1} s", t.len())
    };
    println!(
        "trickle: {} of {TRICKLERS} trickling connections closed by the server, the last {:.1} s \
         after the first opened (all open after {:.2} s): heads {}, bodies {}; answers {answers:?}",
        closed_after.len(),
        last_closed.as_secs_f64(),
        opened.as_secs_f64(),
        span(false),
        span(true)
    );
    println!(
        "trickle: GET /api/kpis meanwhile: {} requests, {failures} failed, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        pct(0.5),
        pct(0.99),
        ms.last().copied().unwrap_or_default()
    );
    assert!(
        open.is_empty(),
        "{} connections still open after 40 s",
        open.len()
    );
    assert!(last_closed < Duration::from_secs(30), "{last_closed:?}");
    assert_eq!(failures, 0);
    assert!(ms.len() >= 100, "{} KPI reads", ms.len());
    assert!(pct(0.99) < 100.0, "p99 {:.1} ms", pct(0.99));
    drop(d);
}
