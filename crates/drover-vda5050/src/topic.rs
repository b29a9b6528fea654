//! Topic names (`interfaceName/v2/manufacturer/serialNumber/topic`) and per-topic header ids.

use std::fmt;

/// The VDA 5050 topics drover uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Fleet → robot.
    Order,
    /// Fleet → robot.
    InstantActions,
    /// Robot → fleet.
    State,
    /// Robot → fleet, optional.
    Visualization,
    /// Robot (or the broker's last will) → fleet; QoS 1, retained.
    Connection,
    /// Robot → fleet; retained.
    Factsheet,
}

impl Topic {
    /// Every topic, in a fixed order.
    pub const ALL: [Topic; 6] = [
        Topic::Order,
        Topic::InstantActions,
        Topic::State,
        Topic::Visualization,
        Topic::Connection,
        Topic::Factsheet,
    ];

    /// The last topic level.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Order => "order",
            Topic::InstantActions => "instantActions",
            Topic::State => "state",
            Topic::Visualization => "visualization",
            Topic::Connection => "connection",
            Topic::Factsheet => "factsheet",
        }
    }

    /// The MQTT QoS the spec prescribes (2.1 §6.1 table): 1 for connection, else 0.
    pub fn qos(self) -> u8 {
        u8::from(self == Topic::Connection)
    }

    /// Whether publishes on this topic are retained: connection and factsheet only. Commands
    /// are never retained, or a reconnecting robot would replay them.
    pub fn retained(self) -> bool {
        matches!(self, Topic::Connection | Topic::Factsheet)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A full topic path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPath {
    /// First level, e.g. `uagv`.
    pub interface: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial: String,
    /// Which topic.
    pub topic: Topic,
}

/// The major version level on the wire.
pub const MAJOR: &str = "v2";

impl fmt::Display for TopicPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{MAJOR}/{}/{}/{}",
            self.interface,
            self.manufacturer,
            self.serial,
            self.topic.name()
        )
    }
}

impl TopicPath {
    /// Parses `interface/v2/manufacturer/serial/topic`; says what is wrong otherwise.
    pub fn parse(path: &str) -> Result<TopicPath, String> {
        let levels: Vec<&str> = path.split('/').collect();
        let [interface, major, manufacturer, serial, topic] = levels[..] else {
            return Err(format!(
                "topic {path:?} has {} levels, expected interface/{MAJOR}/manufacturer/serialNumber/topic",
                levels.len()
            ));
        };
        if major != MAJOR {
            return Err(format!(
                "topic {path:?}: version level {major:?}, expected {MAJOR:?}"
            ));
        }
        for (what, level) in [
            ("interface", interface),
            ("manufacturer", manufacturer),
            ("serial number", serial),
        ] {
            if level.is_empty() || level.contains(['+', '#', '$']) {
                return Err(format!("topic {path:?}: empty or wildcard {what} level"));
            }
        }
        let topic = Topic::ALL
            .into_iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| format!("topic {path:?}: unknown topic {topic:?}"))?;
        Ok(TopicPath {
            interface: interface.into(),
            manufacturer: manufacturer.into(),
            serial: serial.into(),
            topic,
        })
    }
}

/// Header ids for messages one sender publishes: one counter per topic, +1 per message sent
/// (received or not).
#[derive(Clone, Debug, Default)]
pub struct HeaderIds {
    next: [u32; 6],
}

impl HeaderIds {
    /// The id for the next message on `topic`.
    pub fn next(&mut self, topic: Topic) -> u32 {
        let slot = &mut self.next[topic.index()];
        let id = *slot;
        *slot = slot.wrapping_add(1);
        id
    }
}
