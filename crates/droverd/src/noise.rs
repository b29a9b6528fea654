//! Bad robot messages in the log: at most one line per robot and reason per interval, the next
//! one saying how many were left out (before it, 20,000 junk MQTT messages wrote 20,009 WARN
//! lines). Every message is still counted in metrics by the caller. Serials outside the fleet
//! all count as `unknown`, so forged serials can grow neither the log nor the metrics' label
//! set.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

/// At most one line per robot and reason this often.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The robot label of serials outside the fleet.
pub const UNKNOWN: &str = "unknown";

/// Which lines about robots' messages are written and which are left out.
#[derive(Debug)]
pub struct Noise {
    fleet: BTreeSet<String>,
    interval: Duration,
    slots: HashMap<(String, &'static str), Slot>,
}

/// One robot and reason: when its last line was written, and what was left out since.
#[derive(Debug)]
struct Slot {
    logged_at: Instant,
    suppressed: u64,
}

/// A line owed for messages left out of the log during an interval.
#[derive(Debug, PartialEq, Eq)]
pub struct Suppressed {
    /// The robot label.
    pub robot: String,
    /// The reason.
    pub reason: &'static str,
    /// Messages left out.
    pub count: u64,
}

impl Noise {
    /// A line per robot and reason per `interval` for the robots in `fleet`; every other
    /// serial counts as [`UNKNOWN`].
    pub fn new(fleet: &[String], interval: Duration) -> Noise {
        Noise {
            fleet: fleet.iter().cloned().collect(),
            interval,
            slots: HashMap::new(),
        }
    }

    /// The label of `serial` in metrics and in this limiter: itself in the fleet, else
    /// [`UNKNOWN`].
    pub fn robot_label(&self, serial: Option<&str>) -> String {
        match serial {
            Some(s) if self.fleet.contains(s) => s.to_string(),
            _ => UNKNOWN.to_string(),
        }
    }

    /// Whether a line about `robot` for `reason` may be written at `now`: `Some(n)`, `n`
    /// the messages left out since the last one, or `None` (then this one is left out too).
    pub fn admit(&mut self, robot: &str, reason: &'static str, now: Instant) -> Option<u64> {
        let key = (robot.to_string(), reason);
        let Some(slot) = self.slots.get_mut(&key) else {
            self.slots.insert(
                key,
                Slot {
                    logged_at: now,
                    suppressed: 0,
                },
            );
            return Some(0);
        };
        if now.saturating_duration_since(slot.logged_at) >= self.interval {
            let n = std::mem::take(&mut slot.suppressed);
            slot.logged_at = now;
            Some(n)
        } else {
            slot.suppressed += 1;
            None
        }
    }

    /// Lines owed at `now`: robots and reasons whose interval ended with messages left out
    /// (their interval restarts now). Quiet slots are forgotten.
    pub fn overdue(&mut self, now: Instant) -> Vec<Suppressed> {
        let interval = self.interval;
        let mut owed = Vec::new();
        self.slots.retain(|(robot, reason), slot| {
            if now.saturating_duration_since(slot.logged_at) < interval {
                return true;
            }
            if slot.suppressed == 0 {
                return false;
            }
            owed.push(Suppressed {
                robot: robot.clone(),
                reason,
                count: std::mem::take(&mut slot.suppressed),
            });
            slot.logged_at = now;
            true
        });
        owed.sort_by(|a, b| (&a.robot, a.reason).cmp(&(&b.robot, b.reason)));
        owed
    }
}
