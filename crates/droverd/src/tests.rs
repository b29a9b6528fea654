//! droverd's own logic without a socket: the log limiter for robots' bad messages.

use std::time::{Duration, Instant};

use crate::noise::{Noise, Suppressed, UNKNOWN};

#[test]
fn bad_messages_get_one_line_per_robot_and_reason_per_interval() {
    let fleet = ["du-0001".to_string(), "du-0002".to_string()];
    let mut noise = Noise::new(&fleet, Duration::from_secs(60));
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    assert_eq!(noise.robot_label(Some("du-0001")), "du-0001");
    assert_eq!(noise.robot_label(Some("forged-42")), UNKNOWN);
    assert_eq!(noise.robot_label(None), UNKNOWN);
    // 10,000 messages in a minute: one line for each robot and reason.
    let mut lines = 0;
    for k in 0..10_000u64 {
        let robot = ["du-0001", "du-0002", UNKNOWN][(k % 3) as usize];
        let reason = ["malformed", "clock_skew"][(k % 2) as usize];
        lines += usize::from(noise.admit(robot, reason, at(k * 59 / 10_000)).is_some());
    }
    assert_eq!(lines, 6);
    // Nothing owed within the interval; then one line each for what was left out.
    assert_eq!(noise.overdue(at(59)), []);
    let owed = noise.overdue(at(61));
    assert_eq!(owed.len(), 6);
    assert_eq!(owed.iter().map(|s| s.count).sum::<u64>(), 10_000 - 6);
    assert_eq!(
        owed[0],
        Suppressed {
            robot: "du-0001".into(),
            reason: "clock_skew",
            count: 1666
        }
    );
    // The interval restarted with the owed line: the next message waits for it to end.
    assert_eq!(noise.admit("du-0001", "clock_skew", at(62)), None);
    assert_eq!(noise.admit("du-0001", "clock_skew", at(121)), Some(1));
    // A new reason is logged at once; quiet slots are forgotten.
    assert_eq!(noise.admit("du-0001", "stale", at(121)), Some(0));
    assert_eq!(noise.overdue(at(500)), []);
    assert_eq!(noise.admit("du-0002", "malformed", at(501)), Some(0));
}
