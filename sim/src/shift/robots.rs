//! The drive units over a shift: battery drain and charging, where each robot's time went
//! (the split of DOMAIN.md §7), and pod trips from dispatch until the pod is stored again.

use drover_alloc::{Activity, Allocator, BatteryConfig, Event, TaskKind};
use drover_plan::{AgentState, SplitMix64};

use crate::floor::uniform;

/// Charge gained per tick on a charger (full in about ten minutes).
const CHARGE_PER_TICK: f64 = 1.0 / 600.0;

// Where robot time goes: the buckets of `Robots::split`, in `RobotSplit`'s order.
/// Driving with a pod or cart.
pub(super) const MOVING_LOADED: usize = 0;
/// Driving empty.
pub(super) const MOVING_EMPTY: usize = 1;
/// On a trip but not moving this tick.
pub(super) const WAITING_BLOCKED: usize = 2;
/// In a station lane.
pub(super) const QUEUEING: usize = 3;
/// At the face.
pub(super) const PRESENTING: usize = 4;
/// Lifting, setting down, dwelling.
pub(super) const LIFTING: usize = 5;
/// Driving to a charger.
pub(super) const TO_CHARGER: usize = 6;
/// On a charger.
pub(super) const CHARGING: usize = 7;
/// Parked or idle.
pub(super) const IDLE: usize = 8;
/// Out of service.
pub(super) const OUT_OF_SERVICE: usize = 9;

/// Every robot's battery and the shift's robot-time and trip counts.
pub(super) struct Robots {
    /// Per robot: charge, 0..=1.
    batteries: Vec<f64>,
    /// Robot-ticks per time bucket (`MOVING_LOADED`..`OUT_OF_SERVICE`).
    pub(super) split: [u64; 10],
    /// Per robot: the tick its current pod trip was dispatched.
    trip_start: Vec<Option<u64>>,
    /// Per robot: ticks of the current trip it moved.
    trip_moving: Vec<u64>,
    /// Pod trips completed.
    pub(super) trips: u64,
    /// Their ticks, summed.
    pub(super) trip_ticks: u64,
    /// Their moving ticks, summed.
    pub(super) trip_moving_total: u64,
    /// Robot-ticks on a charger.
    pub(super) charger_ticks: u64,
}

impl Robots {
    /// `n` robots at mixed charge, as a fleet would start after the previous shift.
    pub(super) fn new(n: usize, rng: &mut SplitMix64) -> Robots {
        Robots {
            batteries: (0..n).map(|_| 0.6 + 0.4 * uniform(rng)).collect(),
            split: [0; 10],
            trip_start: vec![None; n],
            trip_moving: vec![0; n],
            trips: 0,
            trip_ticks: 0,
            trip_moving_total: 0,
            charger_ticks: 0,
        }
    }

    /// Per robot: charge, 0..=1.
    pub(super) fn batteries(&self) -> &[f64] {
        &self.batteries
    }

    /// A pod trip starts when a robot without one is assigned a pick or stow task.
    pub(super) fn start_trips(&mut self, now: u64, events: &[Event], alloc: &Allocator) {
        for e in events {
            if let Event::Assigned { task, robot } = e
                && matches!(
                    alloc.task(*task).map(|t| &t.kind),
                    Some(TaskKind::Pick { .. } | TaskKind::Stow { .. })
                )
                && self.trip_start[*robot as usize].is_none()
            {
                self.trip_start[*robot as usize] = Some(now);
                self.trip_moving[*robot as usize] = 0;
            }
        }
    }

    /// The physics of one step from `before` to `after`: energy spent driving and lifting,
    /// charge gained on chargers; and where each robot's tick went, and which trips ended.
    pub(super) fn after_step(
        &mut self,
        now: u64,
        before: &[AgentState],
        after: &[AgentState],
        alloc: &Allocator,
        battery: &BatteryConfig,
    ) {
        for (r, (b, a)) in before.iter().zip(after).enumerate() {
            let moved = b != a;
            if b.cell != a.cell {
                self.batteries[r] = (self.batteries[r] - battery.per_cell).max(0.0);
            }
            let activity = alloc.activity(r as u32);
            if activity == Activity::Lifting {
                // A lift or set-down takes two ticks.
                self.batteries[r] = (self.batteries[r] - battery.per_lift / 2.0).max(0.0);
            }
            if activity == Activity::Charging {
                self.batteries[r] = (self.batteries[r] + CHARGE_PER_TICK).min(1.0);
                self.charger_ticks += 1;
            }
            let loaded = alloc.carrying(r as u32).is_some();
            let travelling = matches!(
                activity,
                Activity::ToPod
                    | Activity::ToStation
                    | Activity::Returning
                    | Activity::Transport
                    | Activity::ToCharger
            );
            let bucket = match activity {
                _ if travelling && !moved => WAITING_BLOCKED,
                Activity::ToCharger => TO_CHARGER,
                _ if travelling && loaded => MOVING_LOADED,
                _ if travelling => MOVING_EMPTY,
                Activity::Queueing => QUEUEING,
                Activity::Presenting => PRESENTING,
                Activity::Lifting => LIFTING,
                Activity::Charging => CHARGING,
                Activity::Idle | Activity::Parked => IDLE,
                _ => OUT_OF_SERVICE,
            };
            self.split[bucket] += 1;
            // Pod trips: dispatch to the pod standing in a slot again.
            if self.trip_start[r].is_some() {
                if moved {
                    self.trip_moving[r] += 1;
                }
                if !alloc.has_job(r as u32) || matches!(activity, Activity::Idle | Activity::Parked)
                {
                    let start = self.trip_start[r].take().expect("checked");
                    self.trips += 1;
                    self.trip_ticks += now - start;
                    self.trip_moving_total += self.trip_moving[r];
                }
            }
        }
    }
}
