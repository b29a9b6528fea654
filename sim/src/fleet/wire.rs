//! How in-process runs speak to their units: the VDA 5050 topics and JSON a real robot would
//! see, on a simulated clock.

use drover_core::session::Publish;
use drover_vda5050::{InstantActions, Order, Topic};

use crate::unit::DriveUnit;

/// The VDA interface name of in-process runs.
pub(super) const INTERFACE: &str = "uagv";

/// The epoch of in-process runs' timestamps: simulated time starts here.
pub const EPOCH_MS: i64 = 1_790_000_000_000;

/// Hands one published message to its unit, as JSON, the way a robot reads it.
pub(super) fn deliver(unit: &mut DriveUnit, p: &Publish, now_ms: u64) {
    match p.path.topic {
        Topic::Order => match serde_json::from_slice::<Order>(&p.payload) {
            Ok(o) => unit.on_order(o, now_ms),
            Err(e) => panic!("an order does not parse back: {e}"),
        },
        Topic::InstantActions => match serde_json::from_slice::<InstantActions>(&p.payload) {
            Ok(a) => unit.on_instant(a, now_ms),
            Err(e) => panic!("instant actions do not parse back: {e}"),
        },
        _ => {}
    }
}

/// The topic a unit publishes `topic` on.
pub(super) fn unit_topic(unit: &DriveUnit, manufacturer: &str, topic: Topic) -> String {
    format!(
        "{INTERFACE}/{}/{manufacturer}/{}/{}",
        drover_vda5050::MAJOR,
        unit.serial(),
        topic.name()
    )
}
