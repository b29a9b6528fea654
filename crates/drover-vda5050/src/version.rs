//! The protocol versions drover speaks on the wire (2.0.x and 2.1.x, topic level `v2`), read
//! from the `version` in a robot's own headers, and what differs between them.
//!
//! The messages drover sends carry no field that 2.0 lacks (2.1 adds only `edges[].corridor`
//! to orders, which drover never sends), so one typed [`crate::Order`] serves both: what
//! changes is the header's `version`. On the robot side 2.0 has `localizationParameters` in
//! the factsheet and node deviations in `nodeStates`, which the typed messages accept.
//!
//! One 2.0 difference is in the schemas' history rather than the document: the 2.0.0 schema
//! as first published (2021) names the instant actions' list `instantActions`, the re-issued
//! 2.0.0 schema (2024) and 2.1 name it `actions`. Vehicles built on the first schema refuse a
//! message without `instantActions`, so [`instant_actions_json`] writes the list under both
//! names for 2.0 (no 2.0 schema forbids a field it does not list).

use std::fmt;

/// A VDA 5050 version drover can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// 2.0.x.
    V2_0,
    /// 2.1.x (and later 2.x minors, spoken as 2.1: a minor release stays compatible).
    V2_1,
}

/// A version drover cannot speak, as the robot wrote it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("VDA 5050 version {0:?} is not supported (drover speaks 2.0.x and 2.1.x)")]
pub struct Unsupported(pub String);

impl Version {
    /// The newest version drover speaks, used until a robot says which it speaks.
    pub const NEWEST: Version = Version::V2_1;

    /// Reads a header's `version`: `2.0.x` is 2.0, `2.1.x` and later 2.x minors are 2.1;
    /// 1.x, 3.x and anything unreadable are unsupported.
    pub fn parse(text: &str) -> Result<Version, Unsupported> {
        let mut parts = text.trim().splitn(3, '.');
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
        match (major, minor) {
            (Some(2), Some(0)) => Ok(Version::V2_0),
            (Some(2), Some(_)) => Ok(Version::V2_1),
            _ => Err(Unsupported(text.to_string())),
        }
    }

    /// The `version` drover writes in headers for a robot of this version.
    pub fn wire(self) -> &'static str {
        match self {
            Version::V2_0 => "2.0.0",
            Version::V2_1 => "2.1.0",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire())
    }
}

/// Instant actions as JSON for a robot speaking `version`: for 2.0 the list goes under both
/// `actions` (the re-issued schema) and `instantActions` (the first 2.0.0 schema).
pub fn instant_actions_json(
    message: &crate::InstantActions,
    version: Version,
) -> serde_json::Result<Vec<u8>> {
    let mut value = serde_json::to_value(message)?;
    if version == Version::V2_0
        && let Some(map) = value.as_object_mut()
        && let Some(actions) = map.get("actions").cloned()
    {
        map.insert("instantActions".to_string(), actions);
    }
    serde_json::to_vec(&value)
}
