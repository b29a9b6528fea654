//! Simulated associates for floors of drive units: every staffed station releases its
//! presented pod after a fixed pick time.

use drover_alloc::StationId;
use drover_core::coord::{CoordEvent, Coordinator};
use drover_grid::load::StationKind;

/// Simulated associates: every staffed station releases its presented pod after a pick
/// time (milliseconds), optionally scaled per station.
pub struct Associates {
    /// Milliseconds per presented pod.
    pub pick_ms: u64,
    since: Vec<Option<(u32, u64)>>,
}

impl Associates {
    /// Staffs every pick and stow station of the coordinator's floor.
    pub fn staff_all(coord: &mut Coordinator, pick_ms: u64) -> Associates {
        let alloc = coord.allocator();
        let n = alloc.n_stations();
        for s in 0..n {
            let s = StationId(s as u16);
            if alloc.station_kind(s) != StationKind::Pack {
                alloc.staff(s, &format!("associate-{}", s.0 + 1));
            }
        }
        Associates {
            pick_ms,
            since: vec![None; n],
        }
    }

    /// Releases pods whose pick time is over.
    pub fn step(&mut self, coord: &mut Coordinator, now_ms: u64) -> Vec<CoordEvent> {
        let tick = coord.now();
        let alloc = coord.allocator();
        let mut events = Vec::new();
        for (s, since) in self.since.iter_mut().enumerate() {
            let station = StationId(s as u16);
            match (alloc.presented(station), *since) {
                (Some(p), Some((robot, t))) if p.robot == robot => {
                    if now_ms >= t + self.pick_ms {
                        if let Ok(e) = alloc.release(station, tick) {
                            events.extend(e.into_iter().map(CoordEvent::Alloc));
                        }
                        *since = None;
                    }
                }
                (Some(p), _) => *since = Some((p.robot, now_ms)),
                (None, _) => *since = None,
            }
        }
        events
    }
}
