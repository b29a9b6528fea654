//! What a robot's state says besides progress: its errors, safety and own pause, whether it stands
//! where the plan has it, and node actions it reports FAILED.

use super::*;

impl Coordinator {
    /// Acts on node actions of ours the robot reports FAILED, once each. Where the pod is
    /// afterwards comes from the robot's `loads`: a failed pick with the pod not on the robot
    /// leaves it in its slot and the visit's tasks are tried again (up to `action_retries`
    /// times, then failed with the robot's reason); a failed drop with the pod still on the
    /// robot sends it to a slot again; failed charging `action_retries` times in a row keeps
    /// the robot off chargers.
    pub(super) fn read_failed_actions(&mut self, robot: u32, state: &State) {
        let r = &mut self.robots[robot as usize];
        r.failed_seen
            .retain(|id| state.action_states.iter().any(|a| a.action_id == *id));
        let prefix = format!("{}-", r.order.id_prefix());
        let failed: Vec<&drover_vda5050::ActionState> = state
            .action_states
            .iter()
            .filter(|a| {
                a.action_status == ActionStatus::Failed
                    && a.action_id.starts_with(&prefix)
                    && !r.failed_seen.contains(&a.action_id)
            })
            .collect();
        if failed.is_empty() {
            return;
        }
        let carrying = state.loads.as_ref().map(|l| !l.is_empty());
        let cell = state
            .last_node_id
            .parse()
            .ok()
            .map(Cell)
            .filter(|c| self.base_grid.contains(*c))
            .unwrap_or_else(|| self.exec.position(robot));
        for a in failed {
            self.robots[robot as usize]
                .failed_seen
                .push(a.action_id.clone());
            // Our ids end in the action type (`…-pick`).
            let kind = a
                .action_type
                .clone()
                .unwrap_or_else(|| a.action_id.rsplit('-').next().unwrap_or("").to_string());
            let reason = a
                .result_description
                .clone()
                .filter(|d| !d.is_empty())
                .or_else(|| {
                    state
                        .errors
                        .iter()
                        .find(|e| {
                            e.error_references
                                .iter()
                                .flatten()
                                .any(|x| x.reference_value == a.action_id)
                        })
                        .map(health::error_text)
                })
                .unwrap_or_else(|| format!("{kind} failed"));
            // Where it ran: the node we sent it on, else where the robot reports itself.
            let cell = self.robots[robot as usize]
                .order
                .action_cell(&a.action_id)
                .unwrap_or(cell);
            let names = &self.config.actions;
            let events = if kind == names.pick && carrying != Some(true) {
                let events =
                    self.alloc
                        .lift_failed(robot, cell, &reason, self.config.action_retries);
                // A retry of this pick is a new action (the old one is spent), attached
                // where the plan reaches the slot again.
                self.robots[robot as usize].attached = None;
                events
            } else if kind == names.drop && carrying != Some(false) {
                self.robots[robot as usize].attached = None;
                match self.alloc.pod_in_slot(cell).or(self.alloc.carrying(robot)) {
                    Some(pod) => self.alloc.drop_failed(robot, pod, cell),
                    None => Vec::new(),
                }
            } else if kind == names.charge {
                let r = &mut self.robots[robot as usize];
                r.charge_failures += 1;
                if r.charge_failures >= self.config.action_retries.max(1) {
                    let mut can = self.alloc.capabilities(robot);
                    can.charge = false;
                    self.alloc.set_capabilities(robot, can);
                }
                Vec::new()
            } else {
                Vec::new()
            };
            self.events
                .extend(events.into_iter().map(CoordEvent::Alloc));
            self.events.push(CoordEvent::ActionFailed {
                robot,
                action: kind,
                reason,
            });
        }
    }

    /// Errors, safety and the robot's own pause, from one state. An error that refuses an
    /// order of ours stops its resends at once; the robot goes down on the next tick.
    pub(super) fn read_health(&mut self, robot: u32, state: &State) {
        let r = &mut self.robots[robot as usize];
        r.errors = state.errors.iter().map(health::error_text).collect();
        r.acked.retain(|t| r.errors.contains(t));
        r.fatal = health::fatal_errors(state);
        r.safety = health::safety_stop(state);
        r.self_paused = state.paused == Some(true);
        r.pose = state
            .agv_position
            .as_ref()
            .filter(|p| p.position_initialized)
            .map(|p| (p.x, p.y, p.theta));
        // A refusal stays until the robot no longer reports it (or it is acknowledged).
        let awaiting = r.order.awaiting_echo();
        let prefix = r.order.id_prefix().to_string();
        let mut refused: Vec<String> = state
            .errors
            .iter()
            .filter(|e| {
                let text = health::error_text(e);
                !r.acked.contains(&text)
                    && (r.refused.contains(&text) || health::refuses_order(e, &prefix, awaiting))
            })
            .map(health::error_text)
            .collect();
        refused.dedup();
        if !refused.is_empty() && r.refused.is_empty() {
            // No resend of what the robot refused; when it is driven again a new order
            // starts where it stands.
            r.order.restart();
        }
        r.refused = refused;
    }

    /// Holds a robot whose reported position lies off the map, on another map, or away from
    /// the cells released to it (pushed by hand, or lost): it must not be planned as if it
    /// stood where the plan says.
    pub(super) fn check_position(&mut self, robot: u32) {
        let r = &self.robots[robot as usize];
        let Some((x, y, _)) = r.pose else {
            self.robots[robot as usize].misplaced = None;
            return;
        };
        let misplaced = match self.frame.cell_at(x, y) {
            None => Some((format!("position ({x:.2}, {y:.2}) lies off the map"), None)),
            Some(c) if !self.base_grid.is_free(c) => Some((
                format!("position ({x:.2}, {y:.2}) lies on blocked cell {}", c.0),
                None,
            )),
            Some(c) => {
                let own = (self.exec.first(robot)..=self.exec.released(robot))
                    .any(|k| self.exec.entry(robot, k).is_some_and(|e| e.cell == c));
                (!own).then(|| {
                    (
                        format!(
                            "position ({x:.2}, {y:.2}) is cell {}, away from its released cells",
                            c.0
                        ),
                        Some(c),
                    )
                })
            }
        };
        self.robots[robot as usize].misplaced = misplaced;
    }
}
