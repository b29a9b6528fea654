//! Robust execution of planned steps on asynchronous robots: an action-dependency graph.
//!
//! Hönig et al., "Persistent and Robust Execution of MAPF Schedules in Warehouses" (RA-L
//! 2019). The planner's steps are appended to one track per robot (the cells it will visit,
//! waits collapsed). Every cell keeps the planned visits in plan order. A robot is *released*
//! into a cell only when it is that cell's first pending visit, that is, when every robot
//! planned to pass the cell earlier has reported leaving it. A late robot therefore delays
//! only the robots that depend on it and never meets them; because the plan has no vertex
//! conflicts, no swaps and no rotating cycles, the dependencies are acyclic and nobody waits
//! forever on a robot that makes progress.
//!
//! Released cells are never taken back (VDA 5050 forbids changing the base), so the executor
//! releases at most `base_ahead` cells past the robot's last reported position.
//! [`Executor::rewind`] drops every unreleased planned entry, for example when a robot goes
//! silent; the released frontier is always conflict-free, so the planner restarts from it.

use std::collections::VecDeque;

use drover_grid::{Cell, Heading};
use drover_plan::AgentState;

use crate::CoreError;

/// What a robot does on arriving at a planned entry, carried into the VDA order as a node
/// action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeAction {
    /// Lift the pod (`pick`, HARD).
    Pick {
        /// Pod id, sent as `loadId`.
        pod: String,
    },
    /// Set the pod down (`drop`, HARD).
    Drop {
        /// Pod id.
        pod: String,
    },
    /// Start charging (`startCharging`).
    Charge,
}

/// One planned position of a robot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The cell.
    pub cell: Cell,
    /// The heading on arrival.
    pub heading: Heading,
    /// Actions to run on arrival.
    pub actions: Vec<NodeAction>,
}

/// One robot's planned entries; global index `first` is where the robot last reported.
struct Track {
    first: u64,
    entries: VecDeque<Entry>,
    /// Global index of the last released entry (`>= first`).
    released: u64,
}

/// The action-dependency graph over all robots' tracks.
pub struct Executor {
    tracks: Vec<Track>,
    /// Per cell: pending visits (robot, global entry index) in plan order.
    visits: Vec<VecDeque<(u32, u64)>>,
    base_ahead: u64,
}

impl Executor {
    /// Robots standing at `starts` on a floor of `n_cells` cells; at most `base_ahead` cells
    /// are released past a robot's last reported position.
    ///
    /// # Panics
    /// If `base_ahead` is 0 or two robots share a start cell.
    pub fn new(n_cells: usize, starts: &[AgentState], base_ahead: u32) -> Executor {
        assert!(
            base_ahead > 0,
            "robots need at least one released cell ahead"
        );
        let mut visits = vec![VecDeque::new(); n_cells];
        let tracks = starts
            .iter()
            .enumerate()
            .map(|(r, s)| {
                let queue: &mut VecDeque<(u32, u64)> = &mut visits[s.cell.index()];
                assert!(queue.is_empty(), "two robots start on {:?}", s.cell);
                queue.push_back((r as u32, 0));
                Track {
                    first: 0,
                    entries: VecDeque::from([Entry {
                        cell: s.cell,
                        heading: s.heading,
                        actions: Vec::new(),
                    }]),
                    released: 0,
                }
            })
            .collect();
        Executor {
            tracks,
            visits,
            base_ahead: u64::from(base_ahead),
        }
    }

    /// Number of robots.
    pub fn n_robots(&self) -> usize {
        self.tracks.len()
    }

    /// Appends the planner's next states (one per robot). A robot whose cell did not change
    /// gets no new entry (a wait is not sent to the robot: its next cell is simply not
    /// released yet); a heading change updates its last entry if that one is not released.
    pub fn push_step(&mut self, next: &[AgentState]) {
        assert_eq!(next.len(), self.tracks.len(), "one state per robot");
        for (r, s) in next.iter().enumerate() {
            let track = &mut self.tracks[r];
            let last_index = track.first + track.entries.len() as u64 - 1;
            let last = track.entries.back_mut().expect("tracks are never empty");
            if last.cell == s.cell {
                if last_index > track.released {
                    last.heading = s.heading;
                }
                continue;
            }
            self.visits[s.cell.index()].push_back((r as u32, last_index + 1));
            track.entries.push_back(Entry {
                cell: s.cell,
                heading: s.heading,
                actions: Vec::new(),
            });
        }
    }

    /// Adds an action to robot `robot`'s last planned entry. If that entry is already
    /// released (its node cannot change), a new entry on the same cell carries the action.
    pub fn add_action(&mut self, robot: u32, action: NodeAction) {
        let track = &mut self.tracks[robot as usize];
        let last_index = track.first + track.entries.len() as u64 - 1;
        let last = track.entries.back_mut().expect("tracks are never empty");
        if last_index > track.released {
            last.actions.push(action);
        } else {
            let entry = Entry {
                cell: last.cell,
                heading: last.heading,
                actions: vec![action],
            };
            track.entries.push_back(entry);
        }
    }

    /// Releases as far as the dependencies and `base_ahead` allow; returns the robots whose
    /// released range grew.
    pub fn release(&mut self) -> Vec<u32> {
        let mut grown = Vec::new();
        for r in 0..self.tracks.len() {
            if self.release_robot(r as u32) {
                grown.push(r as u32);
            }
        }
        grown
    }

    fn release_robot(&mut self, robot: u32) -> bool {
        let track = &mut self.tracks[robot as usize];
        let mut grew = false;
        loop {
            let next = track.released + 1;
            let offset = (next - track.first) as usize;
            if offset >= track.entries.len() || next - track.first > self.base_ahead {
                break;
            }
            let cell = track.entries[offset].cell;
            let same = track.entries[offset - 1].cell == cell;
            if !same && self.visits[cell.index()].front() != Some(&(robot, next)) {
                break;
            }
            track.released = next;
            grew = true;
        }
        grew
    }

    /// The robot reports standing on entry `index` (and having left everything before it).
    pub fn reached(&mut self, robot: u32, index: u64) -> Result<(), CoreError> {
        let track = &mut self.tracks[robot as usize];
        if index > track.released {
            return Err(CoreError::PastBase {
                robot,
                index,
                released: track.released,
            });
        }
        if index < track.first {
            return Err(CoreError::Behind {
                robot,
                index,
                first: track.first,
            });
        }
        while track.first < index {
            let left = track
                .entries
                .pop_front()
                .expect("index is within the track");
            let now_on = &track.entries[0];
            if now_on.cell != left.cell {
                let queue = &mut self.visits[left.cell.index()];
                // The visit of the run of entries on `left.cell` that the robot now left.
                let pos = queue
                    .iter()
                    .position(|(r, _)| *r == robot)
                    .expect("a robot on a cell has a pending visit there");
                debug_assert_eq!(pos, 0, "a robot left a cell it was not first in");
                queue.remove(pos);
            }
            track.first += 1;
        }
        Ok(())
    }

    /// Drops every unreleased entry of every robot and returns the released frontier (each
    /// robot's last released state), which is free of vertex conflicts.
    pub fn rewind(&mut self) -> Vec<AgentState> {
        for (r, track) in self.tracks.iter_mut().enumerate() {
            let keep = (track.released - track.first + 1) as usize;
            while track.entries.len() > keep {
                let i = track.first + track.entries.len() as u64 - 1;
                let e = track.entries.pop_back().expect("len > keep >= 1");
                let queue = &mut self.visits[e.cell.index()];
                if let Some(pos) = queue.iter().position(|v| *v == (r as u32, i)) {
                    queue.remove(pos);
                }
            }
        }
        self.frontier()
    }

    /// The robot stopped where it last reported (its order was cancelled and it confirmed):
    /// every later entry, released or not, is dropped and its cells go to whoever is planned
    /// through them next.
    pub fn truncate(&mut self, robot: u32) {
        let track = &mut self.tracks[robot as usize];
        while track.entries.len() > 1 {
            let i = track.first + track.entries.len() as u64 - 1;
            let e = track.entries.pop_back().expect("len > 1");
            let queue = &mut self.visits[e.cell.index()];
            if let Some(pos) = queue.iter().position(|v| *v == (robot, i)) {
                queue.remove(pos);
            }
        }
        track.released = track.first;
    }

    /// Each robot's last planned state.
    pub fn planned(&self) -> Vec<AgentState> {
        self.tracks
            .iter()
            .map(|t| {
                let e = t.entries.back().expect("tracks are never empty");
                AgentState {
                    cell: e.cell,
                    heading: e.heading,
                }
            })
            .collect()
    }

    /// Each robot's last released state.
    pub fn frontier(&self) -> Vec<AgentState> {
        self.tracks
            .iter()
            .map(|t| {
                let e = &t.entries[(t.released - t.first) as usize];
                AgentState {
                    cell: e.cell,
                    heading: e.heading,
                }
            })
            .collect()
    }

    /// Planned entries the robot has not reached yet (lag behind the plan).
    pub fn lag(&self, robot: u32) -> usize {
        self.tracks[robot as usize].entries.len() - 1
    }

    /// Global index of the entry the robot last reported.
    pub fn first(&self, robot: u32) -> u64 {
        self.tracks[robot as usize].first
    }

    /// Global index of the robot's last released entry.
    pub fn released(&self, robot: u32) -> u64 {
        self.tracks[robot as usize].released
    }

    /// Global index of the robot's last planned entry.
    pub fn last(&self, robot: u32) -> u64 {
        let t = &self.tracks[robot as usize];
        t.first + t.entries.len() as u64 - 1
    }

    /// Entry `index` of the robot's track, if it is still kept.
    pub fn entry(&self, robot: u32, index: u64) -> Option<&Entry> {
        let t = &self.tracks[robot as usize];
        index
            .checked_sub(t.first)
            .and_then(|o| t.entries.get(o as usize))
    }

    /// The cell the robot last reported standing on.
    pub fn position(&self, robot: u32) -> Cell {
        self.tracks[robot as usize].entries[0].cell
    }
}
