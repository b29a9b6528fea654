//! Strict intake of robot messages: topic, payload and header are checked before anything is
//! acted on. Unknown robots, topic/header mismatches, stale or duplicate header ids, messages
//! stamped ahead of the coordinator's clock, implausible header-id jumps and malformed
//! payloads come back as a [`Reject`] that says which and why.
//!
//! Anyone who may publish on the broker can speak for a robot, so one forged message must not
//! lock a robot out. Two rules see to it. A timestamp more than the allowed skew ahead of the
//! caller's clock is refused, so no accepted message carries a timestamp that genuine ones
//! cannot overtake within that skew (a lower id with a newer timestamp is a reboot). And a
//! header id more than [`MAX_HEADER_JUMP`] past the last accepted one is refused and held as a
//! candidate: it becomes the baseline only when the topic's next message continues from it
//! (the robot's counter really jumped), while the robot's genuine next message, continuing
//! from the old baseline, is accepted and drops the candidate.

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::Version;
use crate::messages::{Connection, Factsheet, State, Visualization};
use crate::topic::{Topic, TopicPath};

/// Header ids further than this past the last accepted one on a topic are implausible: such a
/// message is refused until the next one confirms the jump. Lost messages leave gaps of a few
/// ids; a robot that reconnects announces itself with ONLINE, which restarts the count.
pub const MAX_HEADER_JUMP: u32 = 1000;

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
    /// The timestamp lies further ahead of the coordinator's clock than the allowed skew (a
    /// robot's clock far ahead, or a forged message that would make every later genuine one
    /// look stale).
    #[error(
        "{topic}: timestamp {timestamp} is {ahead_ms} ms ahead of the coordinator's clock (max skew {max_skew_ms} ms)"
    )]
    AheadOfClock {
        /// The topic.
        topic: String,
        /// What the header says.
        timestamp: Timestamp,
        /// How far ahead of the coordinator's clock, ms.
        ahead_ms: i64,
        /// The allowed skew, ms.
        max_skew_ms: u64,
    },
    /// The header id lies more than [`MAX_HEADER_JUMP`] past the last accepted one: held until
    /// the topic's next message continues from it.
    #[error(
        "{topic}: headerId {header_id} jumps too far past the last ({last}); taken once the next message confirms it"
    )]
    HeaderJump {
        /// The topic.
        topic: String,
        /// The id.
        header_id: u32,
        /// The last accepted id.
        last: u32,
    },
}

impl Reject {
    /// A short, fixed name for the kind of refusal (a metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::BadTopic(_) => "bad_topic",
            Reject::WrongDirection { .. } => "wrong_direction",
            Reject::UnknownRobot { .. } => "unknown_robot",
            Reject::Malformed { .. } => "malformed",
            Reject::HeaderMismatch { .. } => "header_mismatch",
            Reject::UnsupportedVersion { .. } => "unsupported_version",
            Reject::Duplicate { .. } => "duplicate",
            Reject::Stale { .. } => "stale",
            Reject::AheadOfClock { .. } => "clock_skew",
            Reject::HeaderJump { .. } => "header_jump",
        }
    }

    /// The serial number level of the topic the refused message came on, if the topic has one.
    pub fn serial(&self) -> Option<String> {
        let topic = match self {
            Reject::BadTopic(_) => return None,
            Reject::WrongDirection { topic, .. }
            | Reject::UnknownRobot { topic, .. }
            | Reject::Malformed { topic, .. }
            | Reject::HeaderMismatch { topic, .. }
            | Reject::UnsupportedVersion { topic, .. }
            | Reject::Duplicate { topic, .. }
            | Reject::Stale { topic, .. }
            | Reject::AheadOfClock { topic, .. }
            | Reject::HeaderJump { topic, .. } => topic,
        };
        TopicPath::parse(topic).ok().map(|p| p.serial)
    }
}

/// One robot's header counters: per topic, the last accepted (id, timestamp) and a refused
/// jump waiting for confirmation.
#[derive(Clone, Debug, Default)]
struct Track {
    last: BTreeMap<Topic, (u32, Timestamp)>,
    jump: BTreeMap<Topic, u32>,
}

/// Registered robots and the last header seen per topic.
#[derive(Clone, Debug)]
pub struct Inbox {
    robots: BTreeMap<(String, String), Track>,
    max_skew_ms: u64,
}

impl Inbox {
    /// An inbox that knows no robots yet and refuses messages stamped more than
    /// `max_skew_ms` ahead of the clock [`Inbox::receive`] is given.
    pub fn new(max_skew_ms: u64) -> Inbox {
        Inbox {
            robots: BTreeMap::new(),
            max_skew_ms,
        }
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

    /// Parses and checks one MQTT message, received at `now` by the caller's clock.
    pub fn receive(
        &mut self,
        topic: &str,
        payload: &[u8],
        now: Timestamp,
    ) -> Result<Received, Reject> {
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
                    Some(m.timestamp),
                    Some(m.header_id),
                );
                (Inbound::State(Box::new(m)), h)
            }
            Topic::Connection => {
                let m: Connection = serde_json::from_slice(payload).map_err(malformed)?;
                // The will's header is fixed at CONNECT and a retained ONLINE is re-delivered
                // unchanged: on `connection` the last message received is the truth, so no
                // header-id filter applies.
                let h = (
                    m.manufacturer.clone(),
                    m.serial_number.clone(),
                    Some(m.timestamp),
                    None,
                );
                (Inbound::Connection(m), h)
            }
            Topic::Factsheet => {
                let m: Factsheet = serde_json::from_slice(payload).map_err(malformed)?;
                let h = (
                    m.manufacturer.clone(),
                    m.serial_number.clone(),
                    m.timestamp,
                    None,
                );
                (Inbound::Factsheet(Box::new(m)), h)
            }
            Topic::Visualization => {
                let m: Visualization = serde_json::from_slice(payload).map_err(malformed)?;
                let h = (
                    m.manufacturer.clone().unwrap_or_else(|| key.0.clone()),
                    m.serial_number.clone().unwrap_or_else(|| key.1.clone()),
                    m.timestamp,
                    m.header_id,
                );
                (Inbound::Visualization(m), h)
            }
            Topic::Order | Topic::InstantActions => unreachable!("rejected above"),
        };
        let (manufacturer, serial, stamp, header_id) = header;
        if manufacturer != key.0 || serial != key.1 {
            return Err(Reject::HeaderMismatch {
                topic: t,
                header_manufacturer: manufacturer,
                header_serial: serial,
            });
        }
        if let Some(stamp) = stamp {
            let ahead_ms = stamp.0.saturating_sub(now.0);
            if ahead_ms > i64::try_from(self.max_skew_ms).unwrap_or(i64::MAX) {
                return Err(Reject::AheadOfClock {
                    topic: t,
                    timestamp: stamp,
                    ahead_ms,
                    max_skew_ms: self.max_skew_ms,
                });
            }
        }
        let track = self.robots.get_mut(&key).expect("checked above");
        let mut lost = 0;
        if let (Some(id), Some(stamp)) = (header_id, stamp) {
            lost = track.check(path.topic, id, stamp, &t)?;
        }
        if let Inbound::Connection(c) = &message
            && c.connection_state == crate::ConnectionState::Online
        {
            // Counters restart when a robot comes back online.
            track.last.clear();
            track.jump.clear();
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

impl Track {
    /// Checks header id `id` stamped `stamp` on `topic` against the last accepted one and
    /// takes it as the new last; returns the messages lost in between.
    fn check(&mut self, topic: Topic, id: u32, stamp: Timestamp, t: &str) -> Result<u32, Reject> {
        let Some(&(last, last_stamp)) = self.last.get(&topic) else {
            self.last.insert(topic, (id, stamp));
            return Ok(0);
        };
        if id == last && stamp <= last_stamp {
            return Err(Reject::Duplicate {
                topic: t.to_string(),
                header_id: id,
            });
        }
        if id < last && stamp <= last_stamp {
            return Err(Reject::Stale {
                topic: t.to_string(),
                header_id: id,
                last,
            });
        }
        // A lower id with a newer timestamp is a reboot: the counter starts again.
        let mut lost = id.saturating_sub(last).saturating_sub(1);
        if id > last && id - last > MAX_HEADER_JUMP {
            // Confirmed when it continues a jump refused just before: the counter really
            // jumped (the refused message counts as lost).
            match self.jump.get(&topic) {
                Some(&held) if id > held && id - held <= MAX_HEADER_JUMP => lost = id - held,
                _ => {
                    self.jump.insert(topic, id);
                    return Err(Reject::HeaderJump {
                        topic: t.to_string(),
                        header_id: id,
                        last,
                    });
                }
            }
        }
        self.jump.remove(&topic);
        self.last.insert(topic, (id, stamp));
        Ok(lost)
    }
}
