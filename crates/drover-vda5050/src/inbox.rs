//! Strict intake of robot messages: topic, payload and header are checked before anything is
//! acted on. Unknown robots, topic/header mismatches, stale or duplicate header ids and
//! malformed payloads come back as a [`Reject`] that says which and why.

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::Version;
use crate::messages::{Connection, Factsheet, State, Visualization};
use crate::topic::{Topic, TopicPath};

/// A message from a robot, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// `state`.
    State(Box<State>),
    /// `connection`.
    Connection(Connection),
    /// `factsheet`.
    Factsheet(Box<Factsheet>),
    /// `visualization`.
    Visualization(Visualization),
}

/// An accepted message.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// Manufacturer, from the topic.
    pub manufacturer: String,
    /// Serial number, from the topic.
    pub serial: String,
    /// The protocol version in its header (visualization without one: the newest).
    pub version: Version,
    /// The message.
    pub message: Inbound,
    /// Messages missed on this topic just before this one (header id gap).
    pub lost: u32,
}

/// Why a robot message was not accepted. Nothing is acted on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// The topic is not `interface/v2/manufacturer/serial/topic`.
    #[error("bad topic: {0}")]
    BadTopic(String),
    /// A fleet-to-robot topic (order, instantActions) arrived on the fleet side.
    #[error("{topic}: {kind} is a fleet-to-robot topic")]
    WrongDirection {
        /// The topic.
        topic: String,
        /// Which one.
        kind: &'static str,
    },
    /// No such robot is registered.
    #[error("{topic}: unknown robot {manufacturer}/{serial}")]
    UnknownRobot {
        /// The topic.
        topic: String,
        /// Manufacturer level.
        manufacturer: String,
        /// Serial level.
        serial: String,
    },
    /// The payload is not the message the topic promises.
    #[error("{topic}: malformed {kind}: {why}")]
    Malformed {
        /// The topic.
        topic: String,
        /// Which message.
        kind: &'static str,
        /// What is wrong (the field, the expected type, the position).
        why: String,
    },
    /// The header names another robot than the topic.
    #[error("{topic}: header says {header_manufacturer}/{header_serial}")]
    HeaderMismatch {
        /// The topic.
        topic: String,
        /// Header manufacturer.
        header_manufacturer: String,
        /// Header serial number.
        header_serial: String,
    },
    /// The header's `version` is one drover cannot speak (1.x, 3.x, unreadable).
    #[error("{topic}: robot {serial} speaks VDA 5050 {version:?}; drover speaks 2.0.x and 2.1.x")]
    UnsupportedVersion {
        /// The topic.
        topic: String,
        /// Serial level.
        serial: String,
        /// What the header says.
        version: String,
    },
    /// The header id was seen already.
    #[error("{topic}: duplicate headerId {header_id}")]
    Duplicate {
        /// The topic.
        topic: String,
        /// The id.
        header_id: u32,
    },
    /// Older than the last accepted message on this topic.
    #[error("{topic}: stale headerId {header_id} (last {last}) with an older timestamp")]
    Stale {
        /// The topic.
        topic: String,
        /// The id.
        header_id: u32,
        /// The last accepted id.
        last: u32,
    },
}

#[derive(Clone, Debug, Default)]
struct Track {
    last: BTreeMap<Topic, (u32, Timestamp)>,
}

/// Registered robots and the last header seen per topic.
#[derive(Clone, Debug, Default)]
pub struct Inbox {
    robots: BTreeMap<(String, String), Track>,
}

impl Inbox {
    /// An inbox that knows no robots yet.
    pub fn new() -> Inbox {
        Inbox::default()
    }

    /// Accepts messages from this robot from now on.
    pub fn register(&mut self, manufacturer: &str, serial: &str) {
        self.robots
            .entry((manufacturer.to_string(), serial.to_string()))
            .or_default();
    }

    /// Whether a robot is registered.
    pub fn knows(&self, manufacturer: &str, serial: &str) -> bool {
        self.robots
            .contains_key(&(manufacturer.to_string(), serial.to_string()))
    }

    /// Parses and checks one MQTT message.
    pub fn receive(&mut self, topic: &str, payload: &[u8]) -> Result<Received, Reject> {
        let path = TopicPath::parse(topic).map_err(Reject::BadTopic)?;
        let t = topic.to_string();
        let kind = path.topic.name();
        if matches!(path.topic, Topic::Order | Topic::InstantActions) {
            return Err(Reject::WrongDirection { topic: t, kind });
        }
        let key = (path.manufacturer.clone(), path.serial.clone());
        if !self.robots.contains_key(&key) {
            return Err(Reject::UnknownRobot {
                topic: t,
                manufacturer: path.manufacturer,
                serial: path.serial,
            });
        }
        let malformed = |e: serde_json::Error| Reject::Malformed {
            topic: topic.to_string(),
            kind,
            why: e.to_string(),
        };
        // The version decides how the rest is read, so it is checked first (a 3.0 state would
        // otherwise read as a malformed 2.x one).
        #[derive(serde::Deserialize)]
        struct Head {
            version: Option<serde_json::Value>,
        }
        let version = match serde_json::from_slice::<Head>(payload).map(|h| h.version) {
            Ok(Some(serde_json::Value::String(v))) => match Version::parse(&v) {
                Ok(v) => v,
                Err(_) => {
                    return Err(Reject::UnsupportedVersion {
                        topic: t,
                        serial: path.serial,
                        version: v,
                    });
                }
            },
            Ok(Some(other)) => {
                return Err(Reject::UnsupportedVersion {
                    topic: t,
                    serial: path.serial,
                    version: other.to_string(),
                });
            }
            // Missing or not JSON: the typed parse below says what is wrong.
            Ok(None) | Err(_) => Version::NEWEST,
        };
        let (message, header) = match path.topic {
            Topic::State => {
                let m: State = serde_json::from_slice(payload).map_err(malformed)?;
                let h = (
                    m.manufacturer.clone(),
                    m.serial_number.clone(),
                    Some((m.header_id, m.timestamp)),
                );
                (Inbound::State(Box::new(m)), h)
            }
            Topic::Connection => {
                let m: Connection = serde_json::from_slice(payload).map_err(malformed)?;
                // The will's header is fixed at CONNECT and a retained ONLINE is re-delivered
                // unchanged: on `connection` the last message received is the truth, so no
                // header-id filter applies.
                let h = (m.manufacturer.clone(), m.serial_number.clone(), None);
                (Inbound::Connection(m), h)
            }
            Topic::Factsheet => {
                let m: Factsheet = serde_json::from_slice(payload).map_err(malformed)?;
                let h = (m.manufacturer.clone(), m.serial_number.clone(), None);
                (Inbound::Factsheet(Box::new(m)), h)
            }
            Topic::Visualization => {
                let m: Visualization = serde_json::from_slice(payload).map_err(malformed)?;
                let h = (
                    m.manufacturer.clone().unwrap_or_else(|| key.0.clone()),
                    m.serial_number.clone().unwrap_or_else(|| key.1.clone()),
                    m.header_id.zip(m.timestamp),
                );
                (Inbound::Visualization(m), h)
            }
            Topic::Order | Topic::InstantActions => unreachable!("rejected above"),
        };
        let (manufacturer, serial, counter) = header;
        if manufacturer != key.0 || serial != key.1 {
            return Err(Reject::HeaderMismatch {
                topic: t,
                header_manufacturer: manufacturer,
                header_serial: serial,
            });
        }
        let track = self.robots.get_mut(&key).expect("checked above");
        let mut lost = 0;
        if let Some((id, stamp)) = counter {
            if let Some(&(last, last_stamp)) = track.last.get(&path.topic) {
                if id == last && stamp <= last_stamp {
                    return Err(Reject::Duplicate {
                        topic: t,
                        header_id: id,
                    });
                }
                if id < last && stamp <= last_stamp {
                    return Err(Reject::Stale {
                        topic: t,
                        header_id: id,
                        last,
                    });
                }
                // A lower id with a newer timestamp is a reboot: the counter starts again.
                if id > last {
                    lost = id - last - 1;
                }
            }
            track.last.insert(path.topic, (id, stamp));
        }
        if let Inbound::Connection(c) = &message
            && c.connection_state == crate::ConnectionState::Online
        {
            // Counters restart when a robot comes back online.
            track.last.clear();
        }
        Ok(Received {
            manufacturer: key.0,
            serial: key.1,
            version,
            message,
            lost,
        })
    }
}
