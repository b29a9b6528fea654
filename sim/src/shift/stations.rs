//! How each staffed station's time went, tick by tick: a pod at the face, starved (work
//! queued but no pod: robot-caused), associate away with a pod waiting (people-caused), or no
//! work of its kind; and the lane length and pacing target it ran with.

use drover_alloc::{Allocator, StationId, TaskKind};
use drover_grid::load::{Floor, StationKind};
use drover_plan::AgentState;

use super::associates::{Associate, worked};

/// One station's staffed ticks, counted by what happened in them.
#[derive(Default)]
pub(super) struct StationStats {
    /// Ticks staffed.
    pub(super) staffed: u64,
    /// No pod at the face, associate present, work queued.
    pub(super) starved: u64,
    /// A pod at the face, associate away.
    pub(super) absent: u64,
    /// No pod at the face and no work of the station's kind.
    pub(super) no_work: u64,
    /// Robots in the lane (face included), summed over staffed ticks.
    pub(super) queue_sum: u64,
    /// Pacing target, summed over staffed ticks.
    pub(super) target_sum: u64,
}

/// Counts one tick at every staffed station, after the robots moved to `agents`.
pub(super) fn observe(
    now: u64,
    floor: &Floor,
    alloc: &Allocator,
    associates: &[Associate],
    agents: &[AgentState],
    stats: &mut [StationStats],
) {
    let work_of = |kind: StationKind| {
        alloc
            .queued_tasks()
            .any(|t| station_kind(&t.kind) == Some(kind))
    };
    let pick_work = work_of(StationKind::Pick);
    let stow_work = work_of(StationKind::Stow);
    for s in (0..floor.stations.len() as u16).map(StationId) {
        if !worked(floor, s) || alloc.staffed(s).is_none() {
            continue;
        }
        let a = &associates[s.0 as usize];
        let st = &mut stats[s.0 as usize];
        st.staffed += 1;
        st.queue_sum += alloc.station_queue(s) as u64;
        st.target_sum += alloc.station_target(s) as u64;
        // A pod is at the face from the tick its robot stands there (the allocator
        // registers the presentation at its next tick).
        let face = floor.stations[s.0 as usize].face;
        let at_face = alloc.presented(s).is_some()
            || alloc
                .lane_head(s)
                .is_some_and(|r| agents[r as usize].cell == face);
        let away = a.away_until > now;
        let has_work = match floor.stations[s.0 as usize].kind {
            StationKind::Pick => pick_work,
            _ => stow_work,
        } || alloc.station_load(s).0 > 0;
        if at_face && away {
            st.absent += 1;
        } else if !at_face && !away {
            if has_work {
                st.starved += 1;
            } else {
                st.no_work += 1;
            }
        }
    }
}

/// The kind of station a task is worked at, if any.
fn station_kind(kind: &TaskKind) -> Option<StationKind> {
    match kind {
        TaskKind::Pick { .. } => Some(StationKind::Pick),
        TaskKind::Stow { .. } => Some(StationKind::Stow),
        _ => None,
    }
}
