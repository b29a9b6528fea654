//! The strict intake of robot messages: `Inbox::receive` over every topic (the fleet's own,
//! fleet-to-robot echoes, strangers, made-up topics) and whatever payload, in sequence, so
//! header-id tracking sees what comes before; control records move the receiver's clock
//! (a tick by 250 ms). An accepted message names a registered robot, the one its topic names.
#![no_main]

use drover_fuzz::{EPOCH, MANUFACTURER, MAX_SKEW_MS, SERIALS, Step, TICK_MS, steps};
use drover_vda5050::{Inbox, Timestamp, TopicPath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut inbox = Inbox::new(MAX_SKEW_MS);
    for serial in &SERIALS[..3] {
        inbox.register(MANUFACTURER, serial);
    }
    let mut now = EPOCH;
    for step in steps(data) {
        let (topic, payload) = match step {
            Step::Message { topic, payload } => (topic, payload),
            Step::Tick => {
                now += TICK_MS as i64;
                continue;
            }
            Step::Clock(ms) => {
                now = now.saturating_add(ms);
                continue;
            }
            Step::Start => continue,
        };
        if let Ok(received) = inbox.receive(&topic, payload, Timestamp(now)) {
            let path = TopicPath::parse(&topic).expect("an accepted topic parses");
            assert_eq!(received.manufacturer, path.manufacturer);
            assert_eq!(received.serial, path.serial);
            assert!(inbox.knows(&received.manufacturer, &received.serial));
        }
    }
});
