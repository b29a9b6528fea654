//! The embedded MQTT broker (rumqttd), so `droverd demo` and the tests need nothing else.
//!
//! rumqttd cannot bind port 0, never reports its port, has no shutdown and only logs a bind
//! failure: the caller reserves a port ([`free_port`]), and [`start_broker`] probes it until
//! it answers an MQTT CONNECT.
//!
//! Logins: rumqttd asks our [`Users`] table for each CONNECT. TLS: terminated here, with
//! tokio-rustls (rustls 0.23 with ring), in front of rumqttd's plain listener, and not by
//! rumqttd's own `use-rustls`: that one runs each handshake inside its accept loop (one client
//! that stalls its handshake holds up every other connect), reads the certificate files again
//! for every connection, and would build an old rustls (0.22, with rustls-webpki 0.102, which
//! has advisories) plus x509-parser and rustls-pemfile.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::passwd::Users;
use crate::secret::random_password;
use crate::tls::ServerTls;

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// What the embedded broker listens on and whom it lets in.
#[derive(Clone, Debug)]
pub struct EmbeddedBroker {
    /// The plain MQTT listener (droverd itself connects here).
    pub listen: SocketAddr,
    /// Clients at most, on each listener.
    pub max_connections: usize,
    /// The logins it accepts; `None`: anyone, without a login (loopback demos only).
    pub users: Option<Users>,
    /// A TLS listener too: its address (port 0 picks one) and certificate.
    pub tls: Option<(SocketAddr, ServerTls)>,
}

impl EmbeddedBroker {
    /// Plain TCP on `listen`, anyone let in.
    pub fn open(listen: SocketAddr, max_connections: usize) -> EmbeddedBroker {
        EmbeddedBroker {
            listen,
            max_connections,
            users: None,
            tls: None,
        }
    }
}

/// Starts rumqttd on `listen`, anyone let in ([`EmbeddedBroker::open`]); see [`start_broker`].
pub fn start_embedded_broker(listen: SocketAddr, max_connections: usize) -> anyhow::Result<()> {
    start_broker(&EmbeddedBroker::open(listen, max_connections)).map(|_| ())
}

/// The client id and user name of the readiness probe.
const PROBE: &str = "drover-broker-probe";

/// Starts rumqttd in a background thread (it lives until the process exits), and the TLS
/// listener if configured, and waits until the broker accepts connections. Returns the TLS
/// listener's address.
pub fn start_broker(config: &EmbeddedBroker) -> anyhow::Result<Option<SocketAddr>> {
    let listen = config.listen;
    if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
        anyhow::bail!("port {listen} is already in use: cannot start the embedded broker there");
    }
    // Bound before rumqttd starts, so a taken TLS port fails here, not later.
    let tls = match &config.tls {
        Some((addr, tls)) => Some(
            TcpListener::bind(addr)
                .with_context(|| format!("cannot listen for MQTT over TLS on {addr}"))
                .map(|l| (l, tls.clone()))?,
        ),
        None => None,
    };
    let mut server = ServerSettings {
        name: "v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 5_000,
            max_payload_size: 1 << 20,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let probe = config.users.as_ref().map(|users| {
        let password = random_password();
        users.add(PROBE, &password);
        password
    });
    if let Some(users) = config.users.clone() {
        let refusals = Arc::new(Throttle::default());
        server.set_auth_handler(move |client_id: String, user: String, password: String| {
            let ok = users.check(&user, &password);
            if !ok && let Some(more) = refusals.allow() {
                // The user name and client id, never the password.
                tracing::warn!(%user, %client_id, refused_before = more, "MQTT login refused");
            }
            std::future::ready(ok)
        });
    }
    let broker_config = Config {
        id: 0,
        v4: Some(HashMap::from([("1".to_string(), server)])),
        router: RouterConfig {
            max_connections: config.max_connections + 10,
            max_outgoing_packet_count: 2000,
            max_segment_size: 100 << 20,
            max_segment_count: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut broker = Broker::new(broker_config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })?;
    let login = probe.as_ref().map(|p| (PROBE, p.expose()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut up = false;
    while !up && Instant::now() < deadline {
        up = mqtt_answers(listen, login);
        if !up {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    if let Some(users) = &config.users {
        users.remove(PROBE);
    }
    anyhow::ensure!(
        up,
        "the embedded MQTT broker did not start listening on {listen} within 5 s"
    );
    match tls {
        Some((listener, tls)) => Ok(Some(start_tls_front(
            listener,
            tls,
            loopback(listen),
            config.max_connections,
        )?)),
        None => Ok(None),
    }
}

/// Where to reach a listener on `listen` from this machine.
fn loopback(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

/// A client gets this long for its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS on `listener` and pipes each connection, once its handshake is done, to the
/// plain listener at `backend`. Handshakes run in their own tasks, under a deadline, at most
/// `max_connections` connections at once.
fn start_tls_front(
    listener: TcpListener,
    tls: ServerTls,
    backend: SocketAddr,
    max_connections: usize,
) -> anyhow::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mqtt-tls")
        .enable_all()
        .build()
        .context("starting the MQTT TLS listener's runtime")?;
    std::thread::Builder::new()
        .name("mqtt-tls-accept".into())
        .spawn(move || runtime.block_on(tls_front(listener, tls, backend, max_connections)))?;
    tracing::info!(%addr, "embedded MQTT broker listening for TLS");
    Ok(addr)
}

async fn tls_front(
    listener: TcpListener,
    tls: ServerTls,
    backend: SocketAddr,
    max_connections: usize,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "the MQTT TLS listener cannot start");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.0);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let failures = Arc::new(Throttle::default());
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to be closed.
                tracing::warn!(error = %e, "MQTT TLS listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "MQTT TLS listener full: connection closed");
            continue;
        };
        let acceptor = acceptor.clone();
        let failures = failures.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tcp.set_nodelay(true);
            let mut stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    if let Some(more) = failures.allow() {
                        tracing::warn!(%peer, error = %e, failed_before = more, "MQTT TLS handshake failed");
                    }
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "MQTT TLS handshake timed out");
                    return;
                }
            };
            let mut inner = match tokio::net::TcpStream::connect(backend).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%backend, error = %e, "MQTT TLS listener cannot reach the broker");
                    return;
                }
            };
            let _ = inner.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut inner).await;
        });
    }
}

/// At most one log line per 10 s for a kind of event, with the count of those not logged.
#[derive(Default)]
struct Throttle {
    last: Mutex<Option<Instant>>,
    quiet: AtomicU64,
}

impl Throttle {
    /// `Some(events not logged since the last line)` when a line may be written now.
    fn allow(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
            self.quiet.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(Instant::now());
        Some(self.quiet.swap(0, Ordering::Relaxed))
    }
}

/// Whether an MQTT broker on `listen` accepts a CONNECT (it answers a CONNACK with return code
/// 0), logging in as `login` if given. The probe is a proper MQTT 3.1.1 session, so the broker
/// logs nothing alarming: a bare TCP connect makes rumqttd log "Error while handling MQTT
/// connect packet", and a DISCONNECT makes it log "router-drop", both at ERROR. Closing the
/// socket after the CONNACK is an ordinary client going away, which rumqttd logs at INFO.
fn mqtt_answers(listen: SocketAddr, login: Option<(&str, &str)>) -> bool {
    let timeout = Duration::from_millis(200);
    let Ok(mut stream) = TcpStream::connect_timeout(&listen, timeout) else {
        return false;
    };
    let mut connack = [0u8; 4];
    stream.set_read_timeout(Some(timeout)).is_ok()
        && stream.set_write_timeout(Some(timeout)).is_ok()
        && stream.write_all(&connect_packet(PROBE, login)).is_ok()
        && stream.read_exact(&mut connack).is_ok()
        && connack == [0x20, 2, 0, 0]
}

/// An MQTT 3.1.1 CONNECT: clean session, keep-alive 10 s, the client id, the login if given.
fn connect_packet(client_id: &str, login: Option<(&str, &str)>) -> Vec<u8> {
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let flags = 0x02 | if login.is_some() { 0xC0 } else { 0 };
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 10];
    string(&mut body, client_id);
    if let Some((user, password)) = login {
        string(&mut body, user);
        string(&mut body, password);
    }
    let mut packet = vec![0x10];
    let mut len = body.len();
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        packet.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    packet.extend_from_slice(&body);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BrokerAddr, ClientTls, Incoming, Secret, Session, SessionConfig};

    #[test]
    fn the_readiness_probe_wants_a_connack_not_just_a_listening_socket() {
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!mqtt_answers(silent.local_addr().unwrap(), None));
        let listen = local(free_port().unwrap());
        start_embedded_broker(listen, 1).unwrap();
        assert!(mqtt_answers(listen, None));
    }

    fn local(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    /// A session to `addr` as `id`: `Ok` once connected, else why not (the first reason the
    /// session gives, or a timeout after 3 s).
    async fn connect(
        addr: &BrokerAddr,
        id: &str,
    ) -> Result<(Session, tokio::sync::mpsc::Receiver<Incoming>), String> {
        let mut config = SessionConfig::new(id);
        config.subscriptions = vec![("t/#".to_string(), 1)];
        config.backoff = Duration::from_millis(50);
        let (session, mut rx) = Session::start(addr, config);
        match session.connected(&mut rx, Duration::from_secs(3)).await {
            Ok(()) => Ok((session, rx)),
            Err(why) => {
                session.kill();
                Err(why)
            }
        }
    }

    /// `rx`'s next message within 2 s.
    async fn next_message(
        rx: &mut tokio::sync::mpsc::Receiver<Incoming>,
    ) -> Option<(String, Vec<u8>)> {
        tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(m) = rx.recv().await {
                if let Incoming::Message { topic, payload } = m {
                    return Some((topic, payload));
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_users_only_their_logins_get_in() {
        let users = Users::new();
        users.add("du-0001", &Secret::new("robot-pw"));
        let listen = local(free_port().unwrap());
        let config = EmbeddedBroker {
            users: Some(users.clone()),
            ..EmbeddedBroker::open(listen, 10)
        };
        start_broker(&config).unwrap();
        let anonymous = BrokerAddr::local(listen.port());
        let why = connect(&anonymous, "anon")
            .await
            .err()
            .expect("anonymous is refused");
        assert!(
            why.contains("closed the connection before accepting it"),
            "{why}"
        );
        let wrong = anonymous
            .clone()
            .with_login("du-0001", Secret::new("guess"));
        let why = connect(&wrong, "wrong")
            .await
            .err()
            .expect("a wrong password is refused");
        assert!(!why.contains("guess"), "{why}");
        let right = anonymous
            .clone()
            .with_login("du-0001", Secret::new("robot-pw"));
        let (session, mut rx) = connect(&right, "du-0001").await.unwrap();
        // Logins added while the broker runs count at once.
        users.add("droverd", &Secret::new("d-pw"));
        let (_d, _) = connect(
            &anonymous.with_login("droverd", Secret::new("d-pw")),
            "droverd",
        )
        .await
        .unwrap();
        session.publish("t/x", 1, false, b"hello".to_vec()).unwrap();
        assert_eq!(
            next_message(&mut rx).await,
            Some(("t/x".into(), b"hello".to_vec()))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tls_listener_serves_mqtts_with_a_login() {
        let dir = std::env::temp_dir().join(format!("drover-broker-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let certs = crate::test_certs::TestCerts::generate(&dir).unwrap();
        let read = |p: &std::path::Path| std::fs::read(p).unwrap();
        let users = Users::new();
        users.add("du-0001", &Secret::new("tls-robot-pw"));
        let listen = local(free_port().unwrap());
        let config = EmbeddedBroker {
            users: Some(users),
            tls: Some((
                local(0),
                ServerTls::from_pem(&read(&certs.server_cert), &read(&certs.server_key)).unwrap(),
            )),
            ..EmbeddedBroker::open(listen, 10)
        };
        let tls_addr = start_broker(&config).unwrap().expect("a TLS listener");
        let url = format!("mqtts://du-0001:tls-robot-pw@127.0.0.1:{}", tls_addr.port());
        let mut addr = BrokerAddr::parse(&url).unwrap();
        addr.tls = Some(ClientTls::from_pem(Some(&read(&certs.ca)), None).unwrap());
        let (session, mut rx) = connect(&addr, "du-0001").await.unwrap();
        session
            .publish("t/tls", 1, false, b"over tls".to_vec())
            .unwrap();
        assert_eq!(
            next_message(&mut rx).await,
            Some(("t/tls".into(), b"over tls".to_vec()))
        );
        // A CA that did not sign the broker's certificate: a clear error, no password.
        addr.tls = Some(ClientTls::from_pem(Some(&read(&certs.other_ca)), None).unwrap());
        let why = connect(&addr, "doubter")
            .await
            .err()
            .expect("an unknown CA fails");
        assert!(
            why.starts_with("TLS handshake failed: the broker's certificate is not signed by a CA"),
            "{why}"
        );
        assert!(
            why.contains("unable to get local issuer certificate"),
            "{why}"
        );
        assert!(!why.contains("tls-robot-pw"), "{why}");
        // TLS to the plain listener fails: never plain MQTT instead.
        let mut to_plain = addr.clone();
        to_plain.port = listen.port();
        to_plain.tls = Some(ClientTls::from_pem(Some(&read(&certs.ca)), None).unwrap());
        let why = connect(&to_plain, "downgrade")
            .await
            .err()
            .expect("no TLS, no connection");
        assert!(
            why.starts_with("TLS handshake failed: the broker closed the connection"),
            "{why}"
        );
        // Plain MQTT on the TLS port is refused too.
        addr.tls = None;
        let why = connect(&addr, "plain").await.err().expect("refused");
        assert!(why.contains("is the port a TLS listener"), "{why}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
