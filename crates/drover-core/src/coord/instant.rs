//! Instant actions: one message per action, resent until the robot's state echoes it.

use super::*;

impl Coordinator {
    /// `factsheetRequest` for a robot whose factsheet drover has not seen (its answer is a
    /// factsheet, so it is not tracked for an echo).
    pub fn factsheet_request(&self, robot: u32) -> Outbound {
        Outbound::InstantActions(self.instant_message(robot, "factsheetRequest"))
    }

    /// `cancelOrder` for one robot, resent until echoed: it stops at its next node, and once
    /// it reports the cancel finished, the cells it was released beyond that node are given
    /// back (until then they stay its own).
    pub(super) fn cancel_order(&mut self, robot: u32) -> Outbound {
        let message = self.instant(robot, "cancelOrder");
        self.robots[robot as usize].cancelling = Some(message.actions[0].action_id.clone());
        Outbound::InstantActions(message)
    }

    /// One instant action for a robot, id `serial-type-tick`.
    pub(super) fn instant_message(&self, robot: u32, action_type: &str) -> InstantActions {
        let serial = &self.robots[robot as usize].serial;
        InstantActions {
            header_id: 0,
            timestamp: Timestamp(0),
            version: VERSION.to_string(),
            manufacturer: self.config.manufacturer.clone(),
            serial_number: serial.clone(),
            actions: vec![Action {
                action_type: action_type.to_string(),
                action_id: format!("{serial}-{action_type}-{}", self.now),
                action_description: None,
                blocking_type: BlockingType::None,
                action_parameters: None,
            }],
        }
    }

    /// An instant action resent until the robot's state echoes it.
    pub(super) fn instant(&mut self, robot: u32, action_type: &str) -> InstantActions {
        let message = self.instant_message(robot, action_type);
        self.robots[robot as usize].instant = Some((message.clone(), self.now));
        message
    }
}
