//! The MQTT side of drover: resilient client sessions ([`Session`]), the embedded broker
//! ([`start_embedded_broker`], feature `embedded-broker`), and the [`RobotLink`] seam through
//! which the coordinator loop talks to robots without knowing whether they are real.
//!
//! A session polls rumqttc's event loop all the time and never blocks inside it: incoming
//! publishes are forwarded with `try_send` (drops are counted), publishes use `try_publish`.
//! It re-subscribes on every ConnAck (a clean session forgets subscriptions) and backs off
//! between reconnect attempts (rumqttc would otherwise spin while the broker is down).
//!
//! Brokers are reached over TCP or TLS (`mqtts://`, rustls with ring); passwords are held in
//! [`Secret`]s and URLs printed through [`redact_url`], so no log line or error shows one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use drover_vda5050::{Topic, TopicPath};
use rumqttc::tokio_rustls::rustls::AlertDescription;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

mod addr;
#[cfg(feature = "embedded-broker")]
mod broker;
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
pub use passwd::{Users, password_file_line};
pub use secret::{Secret, random_password};
pub use tls::ClientTls;
#[cfg(feature = "embedded-broker")]
pub use tls::ServerTls;

/// Why a broker URL, a TLS certificate or key, or a password file was refused. No variant
/// carries a password or key material.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The broker URL is malformed; `url` has its password replaced by `***`.
    #[error("broker url {url}: {problem}")]
    Url {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A PEM certificate or key is unusable.
    #[error("{what}: {problem}")]
    Tls {
        /// Which one: "CA file", "client certificate", "broker key", ...
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A line of a password file is malformed.
    #[error("password file line {line}: {problem}")]
    PasswordFile {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it (never the password).
        problem: String,
    },
}

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

/// The TLS alert the broker sent, if that is what `e` is.
fn tls_alert(e: &std::io::Error) -> Option<AlertDescription> {
    match e
        .get_ref()?
        .downcast_ref::<rumqttc::tokio_rustls::rustls::Error>()?
    {
        rumqttc::tokio_rustls::rustls::Error::AlertReceived(alert) => Some(*alert),
        _ => None,
    }
}

fn closed_early(detail: &str) -> String {
    format!(
        "the broker closed the connection before accepting it ({detail}): a wrong or missing \
         login (rumqttd drops those without an answer), or plain MQTT sent to a TLS listener"
    )
}

/// Why a connect attempt failed, said for people: what probably went wrong and what to check.
/// rumqttc's errors hold no login, and neither does this.
fn describe(error: &rumqttc::ConnectionError) -> String {
    use rumqttc::{ConnectReturnCode, ConnectionError, StateError};
    match error {
        ConnectionError::Tls(e) => format!(
            "TLS handshake failed: {e} (is the broker's certificate signed by the CA file \
             given, and issued for the host name in the URL?)"
        ),
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
        ) => "the broker refused the login (wrong user name or password)".to_string(),
        ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection: {code:?}")
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => closed_early("no answer"),
        ConnectionError::MqttState(StateError::Deserialization(rumqttc::Error::Io(e)))
            if tls_alert(e) == Some(AlertDescription::CertificateRequired) =>
        {
            format!(
                "the broker wants a client certificate: give one signed by a CA it trusts, \
                 and its key ({e})"
            )
        }
        ConnectionError::MqttState(StateError::Io(e)) | ConnectionError::Io(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            ) =>
        {
            closed_early(&e.to_string())
        }
        other => other.to_string(),
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
        let tls_problem = match &addr.tls {
            None => None,
            Some(tls) => match tls.client_config() {
                Ok(c) => {
                    options.set_transport(rumqttc::Transport::tls_with_config(
                        rumqttc::TlsConfiguration::Rustls(c),
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
                                // One line per distinct reason, not one per retry.
                                let reason = describe(&e);
                                if stats.last_error().as_deref() != Some(reason.as_str()) {
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
