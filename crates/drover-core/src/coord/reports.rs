//! What robots report: states (progress, echoes, errors, safety and own pause, whether a robot
//! stands where the plan has it, node actions it reports FAILED), connections, factsheets, and
//! loads carried at startup.

use super::*;

impl Coordinator {
    /// Reads a robot's state: progress, echoes, battery, errors, safety and position.
    pub fn on_state(&mut self, robot: u32, state: &State) {
        let r = &mut self.robots[robot as usize];
        r.last_state = self.now;
        r.state_requested = false;
        r.battery = (state.battery_state.battery_charge / 100.0).clamp(0.0, 1.0);
        self.read_health(robot, state);
        let r = &mut self.robots[robot as usize];
        if let Some((sent, _)) = &r.instant
            && sent.actions.iter().all(|a| {
                state
                    .action_states
                    .iter()
                    .any(|s| s.action_id == a.action_id)
            })
        {
            r.instant = None;
        }
        let progress = r.order.on_state(state);
        if progress.foreign
            && r.refused.is_empty()
            && r.order.order_id().is_some()
            && r.order.pending_sends() >= 3
        {
            // The robot does not know our order (it restarted or rejected it) and stands
            // idle: start a new order where it stands.
            r.order.restart();
            self.events.push(CoordEvent::OrderRestarted { robot });
        }
        if let Some(index) = progress.reached
            && index != self.exec.first(robot)
            && let Err(e) = self.exec.reached(robot, index)
        {
            self.events.push(CoordEvent::BadProgress(e));
        }
        let r = &mut self.robots[robot as usize];
        if let Some(id) = &r.cancelling
            && state
                .action_states
                .iter()
                .any(|s| s.action_id == *id && s.action_status == ActionStatus::Finished)
        {
            // The robot stands still on the node it reported: what it was released beyond
            // goes back to the others, and its next order starts where it stands.
            r.cancelling = None;
            r.order.restart();
            self.exec.rewind();
            self.exec.truncate(robot);
            self.after_rewind();
            self.events.push(CoordEvent::Stopped { robot });
        }
        self.check_position(robot);
        self.read_failed_actions(robot, state);
    }

    /// Reads a robot's connection state (retained ONLINE, or the broker's last will).
    pub fn on_connection(&mut self, robot: u32, state: ConnectionState) {
        self.robots[robot as usize].online = state == ConnectionState::Online;
    }

    /// Reads a robot's factsheet (`tick_ms` per tick): its protocol limits bound its orders,
    /// its `speedMax` caps the `maxSpeed` drover writes on edges, and the actions it lists
    /// decide its work: without the configured pick and drop it gets no task, without
    /// startCharging no charger. A factsheet that lists no action at all says nothing about
    /// them (the robot keeps every job).
    pub fn read_factsheet(&mut self, robot: u32, sheet: &drover_vda5050::Factsheet, tick_ms: u64) {
        self.robots[robot as usize]
            .order
            .set_limits(crate::orders::OrderLimits::from_factsheet(sheet, tick_ms));
        let speed = sheet.physical_parameters.speed_max;
        self.robots[robot as usize].speed_max = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            f64::INFINITY
        };
        let listed: Vec<&str> = sheet
            .protocol_features
            .agv_actions
            .iter()
            .filter_map(|a| a.get("actionType").and_then(serde_json::Value::as_str))
            .collect();
        let can = if listed.is_empty() {
            drover_alloc::Capabilities::ALL
        } else {
            let has = |name: &str| listed.contains(&name);
            let names = &self.config.actions;
            drover_alloc::Capabilities {
                lift: has(&names.pick) && has(&names.drop),
                charge: has(&names.charge),
            }
        };
        self.alloc.set_capabilities(robot, can);
    }

    /// A fault found on the wire (an unsupported protocol version), or `None` once it is
    /// gone: the robot is down while it lasts.
    pub fn set_link_fault(&mut self, robot: u32, fault: Option<String>) {
        self.robots[robot as usize].link_fault = fault;
    }

    /// A robot reports a load at startup (it lifted a pod before the coordinator restarted):
    /// the allocator takes the pod off its slot and the robot brings it to one.
    pub fn adopt_load(&mut self, robot: u32, load_id: &str) -> Result<(), CoreError> {
        let pod = self
            .alloc
            .pod_by_name(load_id)
            .ok_or_else(|| CoreError::UnknownLoad(load_id.to_string()))?;
        Ok(self.alloc.adopt(robot, pod)?)
    }

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
