//! Stored record types: postcard blobs of versioned enums.
//!
//! postcard is positional and not self-describing: a record type never changes once
//! released. A new field means a new variant at the end of the enum (`V2`), and readers
//! convert old variants by hand.

use serde::{Deserialize, Serialize};

/// A stored task spec, versioned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskRecord {
    /// First version.
    V1(TaskSpec),
}

/// What a client asked for, in floor names (not allocator indices, which may change when
/// the floor file is edited).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The work.
    pub kind: SpecKind,
    /// Higher goes first.
    pub priority: i32,
    /// Optional deadline, wall-clock ms.
    pub deadline_ms: Option<u64>,
}

/// Which work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpecKind {
    /// Bring a pod to a pick station.
    Pick {
        /// Which pod.
        pod: PodChoice,
        /// A named station, or the best one.
        station: Option<String>,
        /// Units.
        units: u32,
    },
    /// Bring a pod to a stow station.
    Stow {
        /// Which pod.
        pod: PodChoice,
        /// A named station, or the best one.
        station: Option<String>,
        /// Units.
        units: u32,
    },
    /// Errands in order.
    Transport {
        /// The stops.
        errands: Vec<ErrandSpec>,
    },
}

/// A pod by name, or any pod holding a SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodChoice {
    /// This pod.
    Pod(String),
    /// Any pod with this SKU.
    Sku(String),
}

/// One transport stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrandSpec {
    /// Cell id.
    pub cell: u32,
    /// What happens there.
    pub action: ErrandKind,
}

/// What happens at a transport stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrandKind {
    /// Just reach it.
    Visit,
    /// Lift the load.
    Lift,
    /// Set the load down.
    Drop,
    /// Stay this many ticks.
    Dwell(u32),
}

/// A zone for associates in the robot field, versioned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ZoneRecord {
    /// First version (no access path).
    V1(ZoneSpecV1),
    /// With the associates' access path.
    V2(ZoneSpec),
}

impl ZoneRecord {
    /// The zone in the current shape.
    pub fn spec(&self) -> ZoneSpec {
        match self {
            ZoneRecord::V1(z) => ZoneSpec {
                name: z.name.clone(),
                cells: z.cells.clone(),
                max_speed: z.max_speed,
                access: Vec::new(),
            },
            ZoneRecord::V2(z) => z.clone(),
        }
    }
}

/// A zone as version 1 stored it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneSpecV1 {
    /// Name for people.
    pub name: String,
    /// Cell ids.
    pub cells: Vec<u32>,
    /// Blocked or slow (`Some(max m/s)`).
    pub max_speed: Option<f32>,
}

/// A zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneSpec {
    /// Name for people.
    pub name: String,
    /// Cell ids.
    pub cells: Vec<u32>,
    /// Blocked (robots plan around it) or slow (`Some(max m/s)`).
    pub max_speed: Option<f32>,
    /// The cells of the associates' walk into a blocked zone, closed to robots like the zone.
    pub access: Vec<u32>,
}

/// A pod's contents, SKU -> units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContentsRecord {
    /// Nothing known.
    #[default]
    Unknown,
    /// First version.
    V1(Vec<(String, u32)>),
}

/// Encodes a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("postcard encodes into a Vec")
}

/// Decodes a record, naming the row on failure.
pub(crate) fn decode<T: for<'a> Deserialize<'a>>(
    what: &'static str,
    id: &dyn std::fmt::Display,
    bytes: &[u8],
) -> Result<T, crate::error::StoreError> {
    postcard::from_bytes(bytes).map_err(|e| crate::error::StoreError::Decode {
        what,
        id: id.to_string(),
        error: e.to_string(),
    })
}
