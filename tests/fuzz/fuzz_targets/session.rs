//! The pure robot session: `Discovery::receive`, `Discovery::start`, then `Session::receive`
//! and coordinator ticks on the demo floor, fed records of robot messages on every topic, in
//! both protocol versions (the seeds) and whatever the fuzzer makes of them. What the session
//! publishes in answer must be JSON.
#![no_main]

use drover_fuzz::{Rig, steps};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rig = Rig::new();
    for step in steps(data) {
        rig.apply(step);
    }
});
