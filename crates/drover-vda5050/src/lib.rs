//! VDA 5050 2.0 and 2.1, the robot protocol: typed messages ([`Order`], [`InstantActions`],
//! [`State`], [`Connection`], [`Factsheet`], [`Visualization`]), topic names ([`TopicPath`])
//! with their QoS and retain rules, per-topic header ids ([`HeaderIds`]), spec timestamps
//! ([`Timestamp`]), each robot's protocol [`Version`], and a strict [`Inbox`] for what robots
//! send.
//!
//! This is the only crate with serialisable robot messages. It does no IO and reads no
//! clock: callers pass timestamps in. The internal model stays close to 3.0.0 where the
//! names allow; 3.0 on the wire is a later step.

mod inbox;
mod messages;
#[cfg(any(test, feature = "schemas"))]
pub mod schemas;
mod time;
mod topic;
mod version;

pub use inbox::{Inbound, Inbox, MAX_HEADER_JUMP, Received, Reject};
pub use messages::*;
pub use time::Timestamp;
pub use topic::{HeaderIds, MAJOR, Topic, TopicPath};
pub use version::{Unsupported, Version, instant_actions_json};

#[cfg(test)]
mod tests;
