//! The MQTT side of drover: resilient client sessions ([`Session`]), the embedded broker
//! ([`start_embedded_broker`], feature `embedded-broker`), and the [`RobotLink`] seam through
//! which the coordinator loop talks to robots without knowing whether they are real.
//!
//! A session polls rumqttc's event loop all the time and never blocks inside it: incoming
//! publishes are forwarded with `try_send` (drops are counted), publishes use `try_publish`.
//! It re-subscribes on every ConnAck (a clean session forgets subscriptions) and backs off
//! between reconnect attempts (rumqttc would otherwise spin while the broker is down).
//!
//! Brokers are reached over TCP or TLS (`mqtts://`, native-tls: OpenSSL); passwords are held in
//! [`Secret`]s and URLs printed through [`redact_url`], so no log line or error shows one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use drover_vda5050::{Topic, TopicPath};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

mod addr;
#[cfg(feature = "embedded-broker")]
mod broker;
mod error;
#[cfg(feature = "mosquitto")]
pub mod mosquitto;
mod passwd;
mod secret;
#[cfg(any(test, feature = "mosquitto"))]
pub mod test_certs;
mod tls;

pub use addr::{BrokerAddr, redact_url};
#[cfg(feature = "embedded-broker")]
pub use broker::{EmbeddedBroker, free_port, start_broker, start_embedded_broker};
pub use error::ConfigError;
pub use passwd::{Users, password_file_line};
pub use secret::{Secret, random_password};
pub use tls::ClientTls;
#[cfg(feature = "embedded-broker")]
pub use tls::ServerTls;

/// Session settings.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Client id (unique per broker: a duplicate kicks the other off).
    pub client_id: String,
    /// Keep-alive; the broker fires the will after 1.5 times this.
    pub keep_alive: Duration,
    /// Largest packet each way (VDA orders can be long; rumqttc's default is 10 KiB).
    pub max_packet_bytes: usize,
    /// Topic filters to (re-)subscribe on every ConnAck.
    pub subscriptions: Vec<(String, u8)>,
    /// The last will: topic, payload, QoS, retained.
    pub last_will: Option<(String, Vec<u8>, u8, bool)>,
    /// Messages published on every ConnAck (a robot's retained ONLINE).
    pub on_connect: Vec<(String, Vec<u8>, u8, bool)>,
    /// Capacity of the incoming queue; messages past it are dropped and counted.
    pub queue: usize,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
}

impl SessionConfig {
    /// Spec-friendly defaults: keep-alive 10 s, 1 MiB packets, back-off 100 ms to 5 s.
    pub fn new(client_id: &str) -> SessionConfig {
        SessionConfig {
            client_id: client_id.to_string(),
            keep_alive: Duration::from_secs(10),
            max_packet_bytes: 1 << 20,
            subscriptions: Vec::new(),
            last_will: None,
            on_connect: Vec::new(),
            queue: 4096,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What arrives from a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Connected (again); subscriptions are in place.
    Connected,
    /// The connection broke; the session reconnects by itself.
    Disconnected,
    /// A publish.
    Message {
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
    },
}

/// Counters of one session.
#[derive(Debug, Default)]
pub struct Stats {
    /// Publishes received.
    pub received: AtomicU64,
    /// Publishes sent.
    pub sent: AtomicU64,
    /// Received but dropped: the incoming queue was full.
    pub dropped_in: AtomicU64,
    /// Not sent: the client's request queue was full.
    pub dropped_out: AtomicU64,
    /// Successful connects after the first.
    pub reconnects: AtomicU64,
    /// Set once `disconnect` was called: a lost connection is then expected.
    pub closing: std::sync::atomic::AtomicBool,
    /// Why the last attempt to connect failed (cleared on connect); never holds a password.
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl Stats {
    /// Why the session could not connect last time, if it could not.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_last_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }
}

fn closed_early(detail: &str) -> String {
    format!(
        "the broker closed the connection before accepting it ({detail}): a wrong or missing \
         login (rumqttd drops those without an answer), or plain MQTT sent to a TLS listener"
    )
}

/// The I/O error inside `error`, if that is what it is: a broken or refused connection, or a
/// TLS alert (OpenSSL's errors reach rumqttc as I/O errors once the handshake is done).
fn io_error(error: &rumqttc::ConnectionError) -> Option<&std::io::Error> {
    use rumqttc::{ConnectionError, StateError};
    match error {
        ConnectionError::Io(e)
        | ConnectionError::MqttState(
            StateError::Io(e) | StateError::Deserialization(rumqttc::Error::Io(e)),
        ) => Some(e),
        _ => None,
    }
}

/// A failed TLS handshake said for people, from native-tls's error text: OpenSSL's reasons,
/// then its verdict on the broker's certificate in parentheses, if it reached one.
fn handshake_failed(text: &str) -> String {
    let (errors, verdict) = match text.strip_suffix(')').and_then(|t| t.rsplit_once(" (")) {
        Some((errors, verdict)) => (errors, Some(verdict)),
        None => (text, None),
    };
    let reasons = tls::openssl_reasons(errors);
    match verdict {
        Some(v)
            if v.contains("issuer") || v.contains("self-signed") || v.contains("self signed") =>
        {
            format!(
                "TLS handshake failed: the broker's certificate is not signed by a CA trusted \
                 here ({v}): give the CA that signed it as the CA file"
            )
        }
        Some(v) if v.contains("mismatch") => format!(
            "TLS handshake failed: the broker's certificate is not issued for the host in the \
             URL ({v})"
        ),
        Some(v) if v.contains("expired") || v.contains("not yet valid") => {
            format!("TLS handshake failed: the broker's certificate is out of date ({v})")
        }
        Some(v) => format!("TLS handshake failed: the broker's certificate was refused ({v})"),
        None if reasons.contains("certificate required") => client_certificate_wanted(&reasons),
        None if reasons.to_lowercase().contains("unexpected eof") => format!(
            "TLS handshake failed: the broker closed the connection ({reasons}): is the port a \
             TLS listener, and does the broker want a client certificate?"
        ),
        None if reasons.contains("wrong version number")
            || reasons.contains("packet length too long") =>
        {
            format!(
                "TLS handshake failed: {reasons} (the port does not seem to speak TLS: is it \
                 the broker's plain MQTT listener?)"
            )
        }
        None => format!(
            "TLS handshake failed: {reasons} (is the broker's certificate signed by the CA \
             file given, and issued for the host name in the URL?)"
        ),
    }
}

/// How every message about a missing client certificate starts.
const CERTIFICATE_WANTED: &str = "the broker wants a client certificate";

fn client_certificate_wanted(detail: &str) -> String {
    format!("{CERTIFICATE_WANTED}: give one signed by a CA it trusts, and its key ({detail})")
}

/// Why a connect attempt failed, said for people: what probably went wrong and what to check.
/// `tls_without_cert`: the session speaks TLS and presents no client certificate. rumqttc's
/// errors hold no login, and neither does this.
fn describe(error: &rumqttc::ConnectionError, tls_without_cert: bool) -> String {
    use rumqttc::{ConnectReturnCode, ConnectionError, StateError, TlsError};
    match error {
        ConnectionError::Tls(TlsError::NativeTls(e)) => handshake_failed(&e.to_string()),
        ConnectionError::Tls(e) => handshake_failed(&e.to_string()),
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
        ) => "the broker refused the login (wrong user name or password)".to_string(),
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection: {code:?}")
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => closed_early("no answer"),
        // A TLS listener's alert, read as MQTT.
        ConnectionError::MqttState(StateError::Deserialization(e))
            if !matches!(e, rumqttc::Error::Io(_)) =>
        {
            format!(
                "the broker's answer is not MQTT ({e}): is the port a TLS listener (then use \
                 mqtts://)?"
            )
        }
        _ => match io_error(error) {
            // TLS 1.3: the broker checks the client certificate after the handshake and
            // answers the first read with a "certificate required" alert.
            Some(e) if e.to_string().contains("certificate required") => {
                client_certificate_wanted(&tls::openssl_reasons(&e.to_string()))
            }
            // The same, when the broker's reset overtook its alert: it closes with our CONNECT
            // unread, and the kernel then sends a reset instead (and may drop the alert).
            Some(e) if tls_without_cert && e.kind() == std::io::ErrorKind::ConnectionReset => {
                format!(
                    "{CERTIFICATE_WANTED}, it seems: it reset the connection right after the TLS \
                     handshake, and none is given ({e}); give one signed by a CA it trusts, and \
                     its key"
                )
            }
            Some(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                ) || e.to_string().to_lowercase().contains("unexpected eof") =>
            {
                closed_early(&tls::openssl_reasons(&e.to_string()))
            }
            _ => error.to_string(),
        },
    }
}

/// Why a publish did not go out.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The client's request queue is full (the broker is slow or gone).
    #[error("MQTT request queue full: publish to {0} dropped")]
    Full(String),
}

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// A connected (or reconnecting) MQTT client.
pub struct Session {
    client: AsyncClient,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Starts a session; the returned receiver yields what arrives. Must be called inside a
    /// tokio runtime. Connecting happens in the background and never fails here.
    pub fn start(addr: &BrokerAddr, config: SessionConfig) -> (Session, mpsc::Receiver<Incoming>) {
        let mut options = MqttOptions::new(&config.client_id, &addr.host, addr.port);
        options.set_keep_alive(config.keep_alive);
        options.set_max_packet_size(config.max_packet_bytes, config.max_packet_bytes);
        options.set_clean_session(true);
        if let Some(u) = &addr.username {
            let password = addr.password.as_ref().map_or("", Secret::expose);
            options.set_credentials(u, password);
        }
        if let Some((topic, payload, q, retain)) = &config.last_will {
            options.set_last_will(LastWill::new(topic, payload.clone(), qos(*q), *retain));
        }
        // A TLS setup that cannot be built (no system roots) leaves the session unconnected,
        // with the reason in `last_error`: never plain TCP instead.
        let tls_without_cert = addr.tls.as_ref().is_some_and(|t| !t.client_cert());
        let tls_problem = match &addr.tls {
            None => None,
            Some(tls) => match tls.connector() {
                Ok(c) => {
                    options.set_transport(rumqttc::Transport::tls_with_config(
                        rumqttc::TlsConfiguration::NativeConnector(c),
                    ));
                    None
                }
                Err(e) => Some(e.to_string()),
            },
        };
        let (client, mut eventloop) = AsyncClient::new(options, 1024);
        let (tx, rx) = mpsc::channel(config.queue);
        let stats = Arc::new(Stats::default());
        let broker = addr.to_string();
        let task = {
            let client = client.clone();
            let stats = stats.clone();
            tokio::spawn(async move {
                if let Some(problem) = tls_problem {
                    tracing::error!(client = %config.client_id, %broker, error = %problem, "MQTT session cannot start");
                    stats.set_last_error(Some(problem));
                    tx.closed().await;
                    return;
                }
                let mut backoff = config.backoff;
                let mut connected_once = false;
                let mut up = false;
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            backoff = config.backoff;
                            up = true;
                            stats.set_last_error(None);
                            if connected_once {
                                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                            }
                            connected_once = true;
                            for (filter, q) in &config.subscriptions {
                                let _ = client.try_subscribe(filter, qos(*q));
                            }
                            for (topic, payload, q, retain) in &config.on_connect {
                                let _ =
                                    client.try_publish(topic, qos(*q), *retain, payload.clone());
                            }
                            let _ = tx.try_send(Incoming::Connected);
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                            let message = Incoming::Message {
                                topic: p.topic.clone(),
                                payload: p.payload.to_vec(),
                            };
                            if tx.try_send(message).is_err() {
                                stats.dropped_in.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let closing = stats.closing.load(Ordering::Relaxed);
                            if up && !closing {
                                tracing::warn!(client = %config.client_id, %broker, error = %e, "MQTT connection lost");
                                let _ = tx.try_send(Incoming::Disconnected);
                            } else if !up && !closing {
                                // One line per distinct reason, not one per retry (a wanted
                                // client certificate shows as an alert or as a reset).
                                let reason = describe(&e, tls_without_cert);
                                let last = stats.last_error().unwrap_or_default();
                                let same = last == reason
                                    || (last.starts_with(CERTIFICATE_WANTED)
                                        && reason.starts_with(CERTIFICATE_WANTED));
                                if !same {
                                    tracing::warn!(client = %config.client_id, %broker, error = %reason, "cannot connect to the MQTT broker; retrying");
                                    stats.set_last_error(Some(reason));
                                }
                            }
                            up = false;
                            if tx.is_closed() {
                                return;
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(config.max_backoff);
                        }
                    }
                }
            })
        };
        (
            Session {
                client,
                stats,
                task,
            },
            rx,
        )
    }

    /// Publishes without waiting; fails only when the request queue is full.
    pub fn publish(
        &self,
        topic: &str,
        q: u8,
        retain: bool,
        payload: Vec<u8>,
    ) -> Result<(), PublishError> {
        match self.client.try_publish(topic, qos(q), retain, payload) {
            Ok(()) => {
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => {
                self.stats.dropped_out.fetch_add(1, Ordering::Relaxed);
                Err(PublishError::Full(topic.to_string()))
            }
        }
    }

    /// Disconnects cleanly (no last will) and stops the session.
    pub async fn disconnect(self) {
        self.stats.closing.store(true, Ordering::Relaxed);
        let _ = self.client.disconnect().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.task.abort();
    }

    /// Drops the connection without DISCONNECT, as a crash would (the broker sends the will).
    pub fn kill(self) {
        self.task.abort();
    }

    /// The session's counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Waits up to `within` for `rx` (this session's receiver) to report the connection, other
    /// messages before it dropped. `Err` carries why not: the first reason the session gives
    /// (a refused login, a failed TLS handshake, …), that it ended, or that time ran out.
    pub async fn connected(
        &self,
        rx: &mut mpsc::Receiver<Incoming>,
        within: Duration,
    ) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout(Duration::from_millis(20), rx.recv()).await {
                Ok(Some(Incoming::Connected)) => return Ok(()),
                Ok(Some(_)) => {}
                Ok(None) => return Err("the session ended".to_string()),
                Err(_) => {
                    if let Some(why) = self.stats.last_error() {
                        return Err(why);
                    }
                    if tokio::time::Instant::now() > deadline {
                        return Err(format!("not connected within {within:?}"));
                    }
                }
            }
        }
    }
}

/// The seam between the coordinator loop and robots: sends VDA 5050 payloads to a robot's
/// topic. Implemented over MQTT by [`MqttLink`]; a test or an in-process simulator can
/// provide another.
pub trait RobotLink: Send {
    /// The VDA interface name (first topic level) it publishes under.
    fn interface(&self) -> &str;

    /// Sends `payload` (JSON) on `topic` of robot `manufacturer/serial`, with the topic's
    /// QoS and retain rule.
    fn send(
        &mut self,
        manufacturer: &str,
        serial: &str,
        topic: Topic,
        payload: Vec<u8>,
    ) -> Result<(), PublishError>;
}

/// [`RobotLink`] over an MQTT session.
pub struct MqttLink {
    /// The session.
    pub session: Session,
    /// The VDA interface name (first topic level).
    pub interface: String,
}

impl RobotLink for MqttLink {
    fn interface(&self) -> &str {
        &self.interface
    }

    fn send(
        &mut self,
        manufacturer: &str,
        serial: &str,
        topic: Topic,
        payload: Vec<u8>,
    ) -> Result<(), PublishError> {
        let path = TopicPath {
            interface: self.interface.clone(),
            manufacturer: manufacturer.to_string(),
            serial: serial.to_string(),
            topic,
        };
        // Commands are never retained (a retained order would replay to a reconnecting robot).
        self.session
            .publish(&path.to_string(), topic.qos(), topic.retained(), payload)
    }
}

/// The fleet side's subscriptions: every robot's state, connection (QoS 1), factsheet.
pub fn fleet_subscriptions(interface: &str) -> Vec<(String, u8)> {
    [Topic::State, Topic::Connection, Topic::Factsheet]
        .into_iter()
        .map(|t| {
            (
                format!("{interface}/{}/+/+/{}", drover_vda5050::MAJOR, t.name()),
                t.qos().max(u8::from(t == Topic::Connection)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::handshake_failed;

    /// native-tls's texts for OpenSSL's verdicts, as the tests with brokers cannot easily
    /// provoke them all.
    #[test]
    fn openssl_handshake_failures_say_what_to_check() {
        let failed = "error:0A000086:SSL routines:tls_post_process_server_certificate:\
                      certificate verify failed:../ssl/statem/statem_clnt.c:1889:";
        let why = handshake_failed(&format!("{failed} (self-signed certificate)"));
        assert!(why.contains("not signed by a CA trusted here"), "{why}");
        let why = handshake_failed(&format!("{failed} (hostname mismatch)"));
        assert_eq!(
            why,
            "TLS handshake failed: the broker's certificate is not issued for the host in the \
             URL (hostname mismatch)"
        );
        let why = handshake_failed(&format!("{failed} (certificate has expired)"));
        assert!(
            why.contains("out of date (certificate has expired)"),
            "{why}"
        );
        let why = handshake_failed(
            "error:0A00010B:SSL routines:ssl3_get_record:wrong version number:x.c:1:",
        );
        assert!(
            why.contains("wrong version number (the port does not seem to speak TLS"),
            "{why}"
        );
    }
}
