//! Operator commands: a robot reset, taken out of service or paused, and the whole fleet
//! paused.

use super::*;

impl Coordinator {
    /// An operator resets a robot that refused an order: the errors it reports now refuse
    /// nothing any more, and it is driven again from the next tick (a new order from where
    /// it stands). FATAL errors, safety stops and positions are the robot's to clear.
    /// Returns whether there was a refusal to reset.
    pub fn reset(&mut self, robot: u32) -> bool {
        let r = &mut self.robots[robot as usize];
        let had = !r.refused.is_empty() || r.link_fault.is_some();
        let refused = std::mem::take(&mut r.refused);
        r.acked.extend(refused);
        r.link_fault = None;
        had
    }

    /// An operator takes a robot out of service (its task goes back to the queue, a carried
    /// pod stays with it and goes home when it returns; it gets `cancelOrder`, returned to
    /// send) or puts it back.
    pub fn set_out_of_service(&mut self, robot: u32, out: bool) -> (Vec<Event>, Option<Outbound>) {
        self.robots[robot as usize].manual_out = out;
        let events = self.sync_service(robot);
        (events, out.then(|| self.cancel_order(robot)))
    }

    /// Tells the allocator whether the robot may take work: not silent, not taken out by an
    /// operator, not held in a blocked zone.
    pub(super) fn sync_service(&mut self, robot: u32) -> Vec<Event> {
        let r = &self.robots[robot as usize];
        let in_service = !r.down && !r.manual_out && !r.zone_held;
        self.alloc.set_in_service(robot, in_service)
    }

    /// `startPause` (or `stopPause`) for one robot, resent until echoed. A paused robot
    /// holds its released cells; robots planned behind it wait for it (the executor's
    /// release rule), so pausing is always safe. A robot held in a blocked zone cannot be
    /// resumed: it drives again when the zone is lifted.
    pub fn pause(&mut self, robot: u32, paused: bool) -> Result<Outbound, CoreError> {
        let r = &mut self.robots[robot as usize];
        if !paused && r.zone_held {
            return Err(CoreError::ZoneHeld {
                serial: r.serial.clone(),
            });
        }
        if !paused && self.fleet_paused {
            return Err(CoreError::FleetPaused {
                serial: r.serial.clone(),
            });
        }
        Ok(self.set_pause(robot, paused))
    }

    /// Pauses (or resumes) the whole fleet: `startPause` to every robot, and nothing planned
    /// or released until resume; resume sends `stopPause` to every robot not paused on its
    /// own (by an operator, or held in a blocked zone). Returns the instant actions to send.
    pub fn set_fleet_paused(&mut self, paused: bool) -> Vec<(u32, Outbound)> {
        self.fleet_paused = paused;
        let action = if paused { "startPause" } else { "stopPause" };
        let robots: Vec<u32> = (0..self.robots.len() as u32)
            .filter(|&r| {
                let robot = &self.robots[r as usize];
                paused || !(robot.manual_pause || robot.zone_held)
            })
            .collect();
        robots
            .into_iter()
            .map(|r| (r, Outbound::InstantActions(self.instant(r, action))))
            .collect()
    }

    pub(super) fn set_pause(&mut self, robot: u32, paused: bool) -> Outbound {
        self.robots[robot as usize].manual_pause = paused;
        let action = if paused { "startPause" } else { "stopPause" };
        Outbound::InstantActions(self.instant(robot, action))
    }

    /// Sends every robot `startPause` (on shutdown) until each echoes it.
    pub fn pause_all(&mut self) -> Vec<(u32, Outbound)> {
        (0..self.robots.len() as u32)
            .map(|r| (r, self.set_pause(r, true)))
            .collect()
    }
}
