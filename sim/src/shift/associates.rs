//! The associates at the stations: each works at a personal pace, takes the shift's breaks
//! (staggered by station), steps away now and then, and releases the presented pod when its
//! units are done. Picked units fill tote carts ([`super::carts`]).

use drover_alloc::{Allocator, Event, StationId};
use drover_grid::load::{Floor, StationKind};
use drover_plan::SplitMix64;

use super::carts::Carts;
use super::demand::Demand;
use crate::floor::uniform;

/// Seconds per unit for an average picker; each associate gets a personal factor.
const PICK_SECONDS_PER_UNIT: f64 = 8.5;
/// Seconds per pod presentation on top of the units (scan, confirm, light guidance).
const PICK_OVERHEAD_SECONDS: f64 = 8.0;
/// Seconds per unit stowed.
const STOW_SECONDS_PER_UNIT: f64 = 5.0;

/// The associate of one station, and what they did.
pub(super) struct Associate {
    /// Personal speed factor (>1 is slower).
    factor: f64,
    /// Break windows [start, end) in ticks.
    breaks: Vec<(u64, u64)>,
    on_break: bool,
    /// Stepped away until this tick.
    pub(super) away_until: u64,
    /// Working the presented pod until this tick.
    working_until: Option<u64>,
    /// Units picked or stowed.
    pub(super) units: u64,
    /// Pods released.
    pub(super) pods: u64,
}

/// An average picker's seconds per unit, the presentation overhead spread over a typical pod
/// of four units: the pick stations' nominal rate.
pub(super) fn nominal_seconds_per_unit() -> f64 {
    let mean_units_per_pod = 4.0;
    PICK_SECONDS_PER_UNIT + PICK_OVERHEAD_SECONDS / mean_units_per_pod
}

/// Whether an associate works station `s` (pick and stow stations do; pack stations are
/// outside the simulation).
pub(super) fn worked(floor: &Floor, s: StationId) -> bool {
    floor.stations[s.0 as usize].kind != StationKind::Pack
}

/// One associate per station (pack stations included, unused), with a personal pace and
/// the breaks that fall in a shift of `total_ticks`.
pub(super) fn hire(n_stations: usize, total_ticks: u64, rng: &mut SplitMix64) -> Vec<Associate> {
    (0..n_stations as u16)
        .map(StationId)
        .map(|s| {
            let factor = (0.75 + 0.5 * uniform(rng)).clamp(0.6, 1.5);
            // 15-minute breaks at 2 h and 6 h, lunch at 4 h; staggered by five minutes.
            let offset = s.0 as u64 * 300 % 1800;
            let breaks = [(7200, 900), (14_400, 1800), (21_600, 900)]
                .into_iter()
                .map(|(at, len)| (at + offset, at + offset + len))
                .filter(|(start, _)| *start < total_ticks)
                .collect();
            Associate {
                factor,
                breaks,
                on_break: false,
                away_until: 0,
                working_until: None,
                units: 0,
                pods: 0,
            }
        })
        .collect()
}

/// Staffs every worked station at the start of the shift; returns how many there are.
pub(super) fn staff_all(floor: &Floor, alloc: &mut Allocator) -> usize {
    let mut staffed = 0;
    for s in (0..floor.stations.len() as u16).map(StationId) {
        if worked(floor, s) {
            alloc.staff(s, &name(s));
            staffed += 1;
        }
    }
    staffed
}

fn name(s: StationId) -> String {
    format!("associate-{}", s.0 + 1)
}

/// One tick at the stations: breaks begin and end, pods whose units are done are released
/// (their lines counted towards their orders, picked units into carts), and an associate
/// who is free either steps away for a moment or starts on the presented pod.
pub(super) fn work(
    now: u64,
    floor: &Floor,
    alloc: &mut Allocator,
    associates: &mut [Associate],
    demand: &mut Demand,
    carts: &mut Carts,
    rng: &mut SplitMix64,
) {
    for s in (0..floor.stations.len() as u16).map(StationId) {
        if !worked(floor, s) {
            continue;
        }
        let a = &mut associates[s.0 as usize];
        let breaking = a.breaks.iter().any(|(b, e)| (*b..*e).contains(&now));
        if breaking != a.on_break {
            a.on_break = breaking;
            if breaking {
                alloc.unstaff(s);
                a.working_until = None;
            } else {
                alloc.staff(s, &name(s));
            }
        }
        if a.on_break {
            continue;
        }
        if let Some(done) = a.working_until
            && done <= now
        {
            a.working_until = None;
            let p = alloc.presented(s);
            if let Ok(events) = alloc.release(s, now) {
                let units = p.map_or(0, |p| p.units) as u64;
                a.units += units;
                a.pods += 1;
                if floor.stations[s.0 as usize].kind == StationKind::Pick {
                    carts.add_units(floor, alloc, s, units as u32);
                }
                for e in events {
                    if let Event::Done { task } = e {
                        demand.task_done(task, now);
                    }
                }
            }
        }
        if a.away_until <= now && a.working_until.is_none() {
            // About once per 20 minutes an associate steps away for 30 to 90 seconds.
            if rng.below(1200) == 0 {
                a.away_until = now + 30 + rng.below(61) as u64;
            } else if let Some(p) = alloc.presented(s) {
                let per_unit = if floor.stations[s.0 as usize].kind == StationKind::Stow {
                    STOW_SECONDS_PER_UNIT
                } else {
                    PICK_SECONDS_PER_UNIT
                };
                let secs = (PICK_OVERHEAD_SECONDS + per_unit * p.units as f64) * a.factor;
                a.working_until = Some(now + secs.round().max(1.0) as u64);
            }
        }
    }
}
