//! The shipped mosquitto example (`config/mosquitto/`: mosquitto.conf, the ACL, the
//! mosquitto_passwd recipe) run by Debian's mosquitto, with only paths and ports replaced:
//! anonymous and wrong logins are refused, a robot cannot publish under another robot's serial
//! nor read its orders, and droverd's gateway connects over TLS with the CA file (a wrong CA
//! fails with a clear error that holds no password), with a client certificate where required.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use drover_gateway::mosquitto::Mosquitto;
use drover_gateway::test_certs::TestCerts;
use drover_gateway::{
    BrokerAddr, ClientTls, Incoming, Secret, Session, SessionConfig, fleet_subscriptions,
    free_port, password_file_line,
};
use tokio::sync::mpsc::Receiver;

const PW_DROVERD: &str = "droverd-pw-5c1e";
const PW_A: &str = "robot-a-pw-93d0";
const PW_B: &str = "robot-b-pw-1f7a";

/// Fails the test with a one-line error (a missing mosquitto says how to install it).
fn fail(e: impl std::fmt::Display) -> ! {
    let message = format!("{e:#}");
    eprintln!("{message}");
    std::panic::resume_unwind(Box::new(message))
}

/// A mosquitto running the shipped config, and the folder of its files.
struct Secured {
    _broker: Mosquitto,
    plain: u16,
    tls: u16,
    certs: TestCerts,
    dir: PathBuf,
}

impl Drop for Secured {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `text` with `from` replaced by `to`, which must occur in it.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "config/mosquitto/mosquitto.conf has no {from:?}"
    );
    text.replace(from, to)
}

/// The password file, as the recipe makes it: mosquitto_passwd for the robots, and for
/// droverd a line from `password_file_line` (so mosquitto reads drover's own lines too).
fn password_file(dir: &Path) -> PathBuf {
    let path = dir.join("passwd");
    std::fs::write(
        &path,
        password_file_line("droverd", &Secret::new(PW_DROVERD)) + "\n",
    )
    .unwrap();
    for (user, password) in [("du-a", PW_A), ("du-b", PW_B)] {
        let status = std::process::Command::new("mosquitto_passwd")
            .arg("-b")
            .arg(&path)
            .args([user, password])
            .status()
            .unwrap_or_else(|e| fail(format!("mosquitto_passwd: {e} (apt-get install mosquitto)")));
        assert!(status.success(), "mosquitto_passwd -b {user}");
    }
    path
}

/// Starts mosquitto with config/mosquitto/mosquitto.conf and config/mosquitto/acl, on free
/// loopback ports, with fresh certificates.
fn start_secured(require_certificate: bool) -> Secured {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "drover-mosquitto-secure-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let certs = TestCerts::generate(&dir).unwrap_or_else(|e| fail(e));
    let passwd = password_file(&dir);
    let shipped = crate::workspace_dir().join("config/mosquitto");
    let conf = std::fs::read_to_string(shipped.join("mosquitto.conf")).unwrap();
    let (plain, tls) = (free_port().unwrap(), free_port().unwrap());
    let show = |p: &Path| p.display().to_string();
    let mut conf = replace(
        &conf,
        "listener 1883 127.0.0.1",
        &format!("listener {plain} 127.0.0.1"),
    );
    conf = replace(
        &conf,
        "listener 8883\n",
        &format!("listener {tls} 127.0.0.1\n"),
    );
    conf = replace(&conf, "/etc/mosquitto/drover/passwd", &show(&passwd));
    conf = replace(
        &conf,
        "/etc/mosquitto/drover/acl",
        &show(&shipped.join("acl")),
    );
    conf = replace(&conf, "/etc/mosquitto/drover/ca.crt", &show(&certs.ca));
    conf = replace(
        &conf,
        "/etc/mosquitto/drover/broker.crt",
        &show(&certs.server_cert),
    );
    conf = replace(
        &conf,
        "/etc/mosquitto/drover/broker.key",
        &show(&certs.server_key),
    );
    if require_certificate {
        conf = replace(
            &conf,
            "#require_certificate true",
            "require_certificate true",
        );
    }
    let broker = Mosquitto::start_with_config(plain, &conf).unwrap_or_else(|e| fail(e));
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", tls)).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto's TLS listener on {tls}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Secured {
        _broker: broker,
        plain,
        tls,
        certs,
        dir,
    }
}

pub(crate) fn filters(topics: &[&str]) -> Vec<(String, u8)> {
    topics.iter().map(|t| (t.to_string(), 1)).collect()
}

/// A session to `addr` as `id` subscribed to `subscriptions`: `Ok` once connected and its
/// subscriptions had a moment to settle, else the reason the session gives (or a timeout).
pub(crate) async fn connect(
    addr: &BrokerAddr,
    id: &str,
    subscriptions: Vec<(String, u8)>,
) -> Result<(Session, Receiver<Incoming>), String> {
    let mut config = SessionConfig::new(id);
    config.subscriptions = subscriptions;
    config.backoff = Duration::from_millis(50);
    let (session, mut rx) = Session::start(addr, config);
    match session.connected(&mut rx, Duration::from_secs(5)).await {
        Ok(()) => {
            // Subscribing starts at the CONNACK; let the SUBACKs come back.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok((session, rx))
        }
        Err(why) => {
            session.kill();
            Err(why)
        }
    }
}

/// What `rx` receives until a message with payload `last` (which must come within 5 s), and
/// for half a second more.
pub(crate) async fn received_until(
    rx: &mut Receiver<Incoming>,
    last: &[u8],
) -> Vec<(String, String)> {
    let mut got = Vec::new();
    let mut until = Instant::now() + Duration::from_secs(5);
    let mut seen = false;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(Incoming::Message { topic, payload })) => {
                if !seen && payload == last {
                    seen = true;
                    until = Instant::now() + Duration::from_millis(500);
                }
                got.push((topic, String::from_utf8_lossy(&payload).into_owned()));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert!(
        seen,
        "{:?} never arrived; got {got:?}",
        String::from_utf8_lossy(last)
    );
    got
}

fn login(port: u16, user: &str, password: &str) -> BrokerAddr {
    BrokerAddr::local(port).with_login(user, Secret::new(password))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_with_the_shipped_acl_keeps_each_robot_in_its_own_topics() {
    let m = start_secured(false);
    // No login, or a wrong one: refused at the door.
    for (addr, id) in [
        (BrokerAddr::local(m.plain), "anonymous"),
        (login(m.plain, "du-a", "guess"), "guesser"),
    ] {
        let why = connect(&addr, id, Vec::new()).await.err().expect("refused");
        assert!(why.contains("refused the login"), "{why}");
        assert!(!why.contains("guess"), "{why}");
    }
    let (droverd, mut fleet) = connect(
        &login(m.plain, "droverd", PW_DROVERD),
        "droverd",
        fleet_subscriptions("uagv"),
    )
    .await
    .unwrap();
    let a_topics = [
        "uagv/v2/acme/du-a/order",
        "uagv/v2/acme/du-a/instantActions",
    ];
    let (a, mut a_rx) = connect(&login(m.plain, "du-a", PW_A), "du-a", filters(&a_topics))
        .await
        .unwrap();
    // B asks for A's orders, for everything, and for its own orders.
    let b_topics = [
        "uagv/v2/acme/du-a/order",
        "uagv/v2/#",
        "uagv/v2/acme/du-b/order",
    ];
    let (b, mut b_rx) = connect(&login(m.plain, "du-b", PW_B), "du-b", filters(&b_topics))
        .await
        .unwrap();

    // B publishes as A (a state from the future, a broken connection), then as itself.
    b.publish(
        "uagv/v2/acme/du-a/state",
        1,
        false,
        b"B posing as A".to_vec(),
    )
    .unwrap();
    b.publish(
        "uagv/v2/acme/du-a/connection",
        1,
        true,
        b"B breaking A".to_vec(),
    )
    .unwrap();
    b.publish("uagv/v2/acme/du-b/state", 1, false, b"B itself".to_vec())
        .unwrap();
    a.publish("uagv/v2/acme/du-a/state", 1, false, b"A itself".to_vec())
        .unwrap();
    // droverd gets each robot's own state; B's publishes under A's serial never arrive (they
    // went out before B's own, so they would have come first).
    let mut got = received_until(&mut fleet, b"B itself").await;
    if !got.iter().any(|(_, p)| p == "A itself") {
        got.extend(received_until(&mut fleet, b"A itself").await);
    }
    assert!(
        got.contains(&("uagv/v2/acme/du-a/state".into(), "A itself".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("uagv/v2/acme/du-b/state".into(), "B itself".into())),
        "{got:?}"
    );
    assert!(
        got.iter()
            .all(|(_, p)| !p.starts_with("B posing") && !p.starts_with("B breaking")),
        "a robot published under another robot's serial: {got:?}"
    );

    // droverd orders both: A gets its order, B only its own.
    droverd
        .publish("uagv/v2/acme/du-a/order", 1, false, b"order for A".to_vec())
        .unwrap();
    droverd
        .publish("uagv/v2/acme/du-b/order", 1, false, b"order for B".to_vec())
        .unwrap();
    let a_got = received_until(&mut a_rx, b"order for A").await;
    assert_eq!(
        a_got,
        [(
            "uagv/v2/acme/du-a/order".to_string(),
            "order for A".to_string()
        )]
    );
    let b_got = received_until(&mut b_rx, b"order for B").await;
    assert!(
        b_got
            .iter()
            .all(|m| *m == ("uagv/v2/acme/du-b/order".into(), "order for B".into())),
        "B read what is not its own: {b_got:?}"
    );
    // A robot cannot order a robot around either.
    a.publish(
        "uagv/v2/acme/du-b/order",
        1,
        false,
        b"A ordering B".to_vec(),
    )
    .unwrap();
    droverd
        .publish(
            "uagv/v2/acme/du-b/order",
            1,
            false,
            b"second order for B".to_vec(),
        )
        .unwrap();
    let b_got = received_until(&mut b_rx, b"second order for B").await;
    assert!(b_got.iter().all(|(_, p)| p != "A ordering B"), "{b_got:?}");
}

/// droverd's `[broker]` for mosquitto's TLS listener, with `extra` keys.
fn tls_config(m: &Secured, extra: &str) -> droverd::config::BrokerConfig {
    let text = std::fs::read_to_string(crate::workspace_dir().join("config/droverd.toml")).unwrap();
    let text = text.replace("mode = \"embedded\"", "mode = \"external\"").replace(
        "url = \"mqtt://127.0.0.1:1883\"",
        &format!(
            "url = \"mqtts://127.0.0.1:{}\"\nusername = \"droverd\"\npassword = \"{PW_DROVERD}\"\n{extra}",
            m.tls
        ),
    );
    droverd::config::Config::parse(&text).unwrap().broker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_over_tls_with_droverds_ca_file() {
    let m = start_secured(false);
    let config = tls_config(&m, &format!("ca_file = {:?}", m.certs.ca));
    let addr = droverd::broker::external(&config, None).unwrap();
    let (droverd, mut fleet) = connect(&addr, "droverd", fleet_subscriptions("uagv"))
        .await
        .unwrap();
    // A robot over TLS too.
    let mut robot = BrokerAddr::parse(&format!("mqtts://du-a:{PW_A}@127.0.0.1:{}", m.tls)).unwrap();
    robot.tls =
        Some(ClientTls::from_pem(Some(&std::fs::read(&m.certs.ca).unwrap()), None).unwrap());
    let (a, mut a_rx) = connect(&robot, "du-a", filters(&["uagv/v2/acme/du-a/order"]))
        .await
        .unwrap();
    a.publish(
        "uagv/v2/acme/du-a/state",
        1,
        false,
        b"state over TLS".to_vec(),
    )
    .unwrap();
    received_until(&mut fleet, b"state over TLS").await;
    droverd
        .publish(
            "uagv/v2/acme/du-a/order",
            1,
            false,
            b"order over TLS".to_vec(),
        )
        .unwrap();
    received_until(&mut a_rx, b"order over TLS").await;

    // A CA that did not sign mosquitto's certificate: a clear error without the password.
    let config = tls_config(&m, &format!("ca_file = {:?}", m.certs.other_ca));
    let addr = droverd::broker::external(&config, None).unwrap();
    let why = connect(&addr, "droverd-2", Vec::new())
        .await
        .err()
        .expect("an unknown CA fails");
    assert!(
        why.starts_with("TLS handshake failed: the broker's certificate is not signed by a CA"),
        "{why}"
    );
    // OpenSSL's verdict: mosquitto sends its CA along with its certificate.
    assert!(
        why.contains("(self-signed certificate in certificate chain)"),
        "{why}"
    );
    let shown = format!("{why} {addr} {addr:?} {config:?}");
    assert!(!shown.contains(PW_DROVERD), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_requiring_client_certificates_takes_droverds() {
    let m = start_secured(true);
    let ca = format!("ca_file = {:?}", m.certs.ca);
    let without = droverd::broker::external(&tls_config(&m, &ca), None).unwrap();
    let why = connect(&without, "no-cert", Vec::new())
        .await
        .err()
        .expect("no client certificate, no connection");
    assert!(
        why.starts_with("the broker wants a client certificate"),
        "{why}"
    );
    assert!(!why.contains(PW_DROVERD), "{why}");
    let with = tls_config(
        &m,
        &format!(
            "{ca}\nclient_cert = {:?}\nclient_key = {:?}",
            m.certs.client_cert, m.certs.client_key
        ),
    );
    let addr = droverd::broker::external(&with, None).unwrap();
    connect(&addr, "droverd", Vec::new()).await.unwrap();
}
