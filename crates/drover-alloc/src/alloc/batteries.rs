//! Batteries and chargers: which robot charges where and when, operator charge requests, and
//! the trip to the nearest charger every job's energy check includes.

use super::*;

impl Allocator {
    /// The charger a robot owns.
    pub fn charger_of(&self, robot: u32) -> Option<usize> {
        match self.robots[robot as usize].job {
            Job::Charge { charger, .. } => Some(charger),
            _ => None,
        }
    }

    /// An operator sends a robot to charge: it goes to a free charger as soon as it has no
    /// client work (a task under way is finished first).
    pub fn request_charge(&mut self, robot: u32) -> Result<(), AllocError> {
        if self.config.battery.is_none() {
            return Err(AllocError::BatteryOff);
        }
        if self.chargers.is_empty() {
            return Err(AllocError::NoChargers);
        }
        let r = self
            .robots
            .get_mut(robot as usize)
            .ok_or(AllocError::UnknownRobot(robot))?;
        r.charge_requested = true;
        self.dirty = true;
        Ok(())
    }

    /// Idle robots below `level` take the nearest free charger. Opportunistic charging
    /// (idle robots below "may work" after allocation) leaves a tenth of the chargers free
    /// for robots that must charge, and staggers the fleet's charging over the shift.
    pub(super) fn send_to_chargers(
        &mut self,
        costs: &mut dyn Costs,
        events: &mut Vec<Event>,
        opportunistic: bool,
    ) {
        let Some(b) = self.config.battery.clone() else {
            return;
        };
        let level = if opportunistic {
            b.may_work
        } else {
            b.go_charge
        };
        let keep_free = if opportunistic {
            self.chargers.len().div_ceil(10)
        } else {
            0
        };
        let mut needy: Vec<u32> = (0..self.robots.len() as u32)
            .filter(|&r| {
                let robot = &self.robots[r as usize];
                robot.in_service
                    && robot.can.charge
                    && robot.hold_until <= self.now
                    && matches!(robot.job, Job::None | Job::Park { .. })
                    && (robot.battery < level || (robot.charge_requested && !opportunistic))
            })
            .collect();
        // The emptiest first: chargers are scarce.
        needy.sort_by(|&a, &c| {
            self.robots[a as usize]
                .battery
                .total_cmp(&self.robots[c as usize].battery)
        });
        for robot in needy {
            let free = self.charger_owner.iter().filter(|o| o.is_none()).count();
            if free <= keep_free {
                break;
            }
            let from = self.robots[robot as usize].cell;
            let best = (0..self.chargers.len())
                .filter(|&k| self.charger_owner[k].is_none())
                .map(|k| (costs.cost(from, self.chargers[k]), k))
                .filter(|(d, _)| *d != UNREACHABLE)
                .min();
            let Some((_, charger)) = best else {
                break;
            };
            self.release_internal(robot);
            self.robots[robot as usize].charge_requested = false;
            self.charger_owner[charger] = Some(robot);
            let task = self.push_task(TaskKind::Charge { charger }, 0, None);
            self.tasks[task.0 as usize].state = TaskState::Assigned { robot };
            self.robots[robot as usize].job = Job::Charge {
                task,
                charger,
                opportunistic,
            };
            events.push(Event::Assigned { task, robot });
        }
    }

    pub(super) fn to_charger(&self, cell: Cell) -> u32 {
        self.to_charger.as_ref().map_or(0, |t| {
            match t.get(&self.grid, cell, drover_grid::Heading::East) {
                UNREACHABLE => 0,
                d => d,
            }
        })
    }
}
