//! A virtual drive unit: the robot side of VDA 5050 2.1 as a pure state machine.
//!
//! It accepts orders and updates by the spec's rules (new order only when idle and standing
//! on the first node; updates must stitch at the decision point; lower update ids are
//! rejected with an error), drives released nodes one cell at a time at a configured speed
//! (acceleration from standstill and quarter turns cost time), runs `pick`, `drop` and
//! `startCharging` node actions with durations, honours `startPause`/`stopPause`,
//! `cancelOrder` and `stateRequest`, and drains and charges its battery. Time arrives in
//! milliseconds; the in-process runner ([`crate::fleet`]), the MQTT runner ([`crate::mqtt`])
//! and tests drive it.

use std::collections::VecDeque;

use drover_core::orders::MapFrame;
use drover_grid::{Cell, Heading};
use drover_vda5050::{
    Action, ActionState, ActionStatus, AgvPosition, BatteryState, Connection, ConnectionState,
    Edge, EdgeState, ErrorLevel, ErrorReference, Factsheet, HeaderIds, InstantActions, Load, Node,
    NodeState, OperatingMode, Order, PhysicalParameters, ProtocolFeatures, ProtocolLimits,
    RobotError, SafetyState, State, Timestamp, Timing, Topic, TypeSpecification, Version,
};
use serde_json::json;

/// How a unit drives and acts.
#[derive(Clone, Debug)]
pub struct UnitConfig {
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Acceleration from standstill, m/s².
    pub accel_mps2: f64,
    /// Seconds per quarter turn in place.
    pub turn_s: f64,
    /// Seconds to lift a pod.
    pub pick_s: f64,
    /// Seconds to set a pod down.
    pub drop_s: f64,
    /// Battery percent used per metre driven.
    pub drain_per_m: f64,
    /// Battery percent used per lift.
    pub drain_per_lift: f64,
    /// Battery percent gained per second on a charger.
    pub charge_per_s: f64,
    /// Nodes per order message at most (factsheet `order.nodes`); longer orders are rejected.
    pub max_order_nodes: usize,
    /// Seconds between two order messages at least (factsheet `minOrderInterval`); orders
    /// that come sooner are rejected.
    pub min_order_interval_s: f64,
    /// The VDA 5050 version it speaks; orders and instant actions in another minor version
    /// are rejected (`validationError`), as field robots do.
    pub version: Version,
}

impl UnitConfig {
    /// A Kiva-like unit: 1.5 m/s, 1 m/s², 1 s per quarter turn, 2 s lifts.
    pub fn standard() -> UnitConfig {
        UnitConfig {
            speed_mps: 1.5,
            accel_mps2: 1.0,
            turn_s: 1.0,
            pick_s: 2.0,
            drop_s: 2.0,
            drain_per_m: 0.01,
            drain_per_lift: 0.05,
            charge_per_s: 0.5,
            max_order_nodes: 128,
            min_order_interval_s: 0.0,
            version: Version::V2_1,
        }
    }

    /// The same unit `factor` times faster in every respect (for quick tests).
    pub fn scaled(&self, factor: f64) -> UnitConfig {
        UnitConfig {
            speed_mps: self.speed_mps * factor,
            accel_mps2: self.accel_mps2 * factor * factor,
            turn_s: self.turn_s / factor,
            pick_s: self.pick_s / factor,
            drop_s: self.drop_s / factor,
            drain_per_m: self.drain_per_m,
            drain_per_lift: self.drain_per_lift,
            charge_per_s: self.charge_per_s * factor,
            max_order_nodes: self.max_order_nodes,
            min_order_interval_s: self.min_order_interval_s / factor,
            version: self.version,
        }
    }
}

struct Move {
    to: Cell,
    heading: Heading,
    arrive_ms: u64,
}

struct Running {
    index: usize,
    end_ms: u64,
}

/// One virtual drive unit.
pub struct DriveUnit {
    manufacturer: String,
    serial: String,
    frame: MapFrame,
    config: UnitConfig,
    cell: Cell,
    heading: Heading,
    order_id: String,
    order_update_id: u32,
    last_node_id: String,
    last_seq: u32,
    nodes: VecDeque<Node>,
    edges: VecDeque<Edge>,
    actions: Vec<(Action, ActionStatus)>,
    /// Actions of the node just reached, by index into `actions`, not started yet.
    to_run: VecDeque<usize>,
    running: Option<Running>,
    moving: Option<Move>,
    paused: bool,
    stopped_until: u64,
    battery: f64,
    charging: bool,
    load: Option<String>,
    errors: Vec<RobotError>,
    headers: HeaderIds,
    dirty: bool,
    last_ms: u64,
    metres: f64,
    /// When the last order message was accepted, ms.
    last_order_ms: Option<u64>,
    /// Order messages rejected so far.
    rejected: u64,
}

impl DriveUnit {
    /// A unit standing on `cell`, facing `heading`, battery full.
    pub fn new(
        manufacturer: &str,
        serial: &str,
        frame: MapFrame,
        cell: Cell,
        heading: Heading,
        config: UnitConfig,
    ) -> DriveUnit {
        DriveUnit {
            manufacturer: manufacturer.to_string(),
            serial: serial.to_string(),
            frame,
            config,
            cell,
            heading,
            order_id: String::new(),
            order_update_id: 0,
            last_node_id: cell.0.to_string(),
            last_seq: 0,
            nodes: VecDeque::new(),
            edges: VecDeque::new(),
            actions: Vec::new(),
            to_run: VecDeque::new(),
            running: None,
            moving: None,
            paused: false,
            stopped_until: 0,
            battery: 100.0,
            charging: false,
            load: None,
            errors: Vec::new(),
            headers: HeaderIds::default(),
            dirty: true,
            last_ms: 0,
            metres: 0.0,
            last_order_ms: None,
            rejected: 0,
        }
    }

    /// Manufacturer (topic level).
    pub fn manufacturer(&self) -> &str {
        &self.manufacturer
    }

    /// Serial number.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Cells the unit occupies: where it stands, and the cell it drives into.
    pub fn occupied(&self) -> (Cell, Option<Cell>) {
        (self.cell, self.moving.as_ref().map(|m| m.to))
    }

    /// Metres driven so far.
    pub fn metres(&self) -> f64 {
        self.metres
    }

    /// Sets the battery level (percent), for scenarios.
    pub fn set_battery(&mut self, percent: f64) {
        self.battery = percent.clamp(0.0, 100.0);
    }

    /// Whether something happened that the fleet should hear about now; clears the flag.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Fault injection: the unit stands still (does not start moving) until `until_ms`.
    pub fn stop_until(&mut self, until_ms: u64) {
        self.stopped_until = self.stopped_until.max(until_ms);
    }

    fn idle(&self) -> bool {
        self.nodes.is_empty()
            && self.edges.is_empty()
            && self.moving.is_none()
            && self.running.is_none()
            && self.to_run.is_empty()
    }

    /// The pod the unit carries.
    pub fn load(&self) -> Option<&str> {
        self.load.as_deref()
    }

    /// Puts a pod on the unit (a unit that lifted it before a coordinator restart).
    pub fn set_load(&mut self, load: Option<String>) {
        self.load = load;
        self.dirty = true;
    }

    /// Order messages this unit rejected (malformed, over its factsheet limits, or refused).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    fn reject(&mut self, error_type: &str, order: &Order, why: &str) {
        self.rejected += 1;
        self.errors.push(RobotError {
            error_type: error_type.to_string(),
            error_references: Some(vec![
                ErrorReference {
                    reference_key: "orderId".into(),
                    reference_value: order.order_id.clone(),
                },
                ErrorReference {
                    reference_key: "orderUpdateId".into(),
                    reference_value: order.order_update_id.to_string(),
                },
            ]),
            error_description: Some(why.to_string()),
            error_hint: None,
            error_level: ErrorLevel::Warning,
        });
        self.dirty = true;
    }

    /// Receives an order or order update (2.1 Fig. 8).
    pub fn on_order(&mut self, order: Order, now_ms: u64) {
        self.advance(now_ms);
        if Version::parse(&order.version).ok() != Some(self.config.version) {
            let why = format!(
                "order version {} is not compatible with client version {}",
                order.version,
                self.config.version.wire()
            );
            return self.reject("validationError", &order, &why);
        }
        if order.nodes.is_empty() || order.edges.len() + 1 != order.nodes.len() {
            return self.reject(
                "validationError",
                &order,
                "nodes and edges do not form a path",
            );
        }
        if order.nodes.len() > self.config.max_order_nodes {
            return self.reject(
                "validationError",
                &order,
                "more nodes than the factsheet's order.nodes",
            );
        }
        let gap_ms = (self.config.min_order_interval_s * 1000.0) as u64;
        if self
            .last_order_ms
            .is_some_and(|t| now_ms < t.saturating_add(gap_ms))
        {
            return self.reject(
                "orderError",
                &order,
                "sooner than the factsheet's minOrderInterval",
            );
        }
        self.last_order_ms = Some(now_ms);
        if order.order_id != self.order_id {
            if !self.idle() {
                return self.reject("orderError", &order, "not idle: a new order must wait");
            }
            if order.nodes[0].node_id != self.cell.0.to_string() {
                return self.reject("orderError", &order, "start node out of range");
            }
            self.order_id = order.order_id.clone();
            self.order_update_id = order.order_update_id;
            self.actions
                .retain(|(_, s)| matches!(s, ActionStatus::Running | ActionStatus::Paused));
            self.errors.clear();
            let mut nodes: VecDeque<Node> = order.nodes.into();
            self.edges = order.edges.into();
            let first = nodes.pop_front().expect("checked non-empty");
            self.nodes = nodes;
            self.register_actions();
            self.reach(first);
            return;
        }
        if order.order_update_id < self.order_update_id {
            return self.reject("orderUpdateError", &order, "order update id is lower");
        }
        if order.order_update_id == self.order_update_id {
            return; // a resend of what we already run
        }
        // Stitching: the first node must be the decision point (last released node), or the
        // last node if the base is done.
        let decision = self
            .nodes
            .iter()
            .rev()
            .find(|n| n.released)
            .map(|n| (n.node_id.clone(), n.sequence_id))
            .unwrap_or((self.last_node_id.clone(), self.last_seq));
        let first = &order.nodes[0];
        if (first.node_id.clone(), first.sequence_id) != decision {
            return self.reject(
                "orderUpdateError",
                &order,
                "update does not stitch at the decision point",
            );
        }
        self.order_update_id = order.order_update_id;
        self.errors.clear();
        self.nodes.retain(|n| n.released);
        self.edges.retain(|e| e.released);
        self.nodes.extend(order.nodes.into_iter().skip(1));
        self.edges.extend(order.edges);
        self.register_actions();
        self.dirty = true;
    }

    /// Adds the actions of nodes ahead that are not listed yet as WAITING.
    fn register_actions(&mut self) {
        for n in &self.nodes {
            for a in &n.actions {
                if !self.actions.iter().any(|(x, _)| x.action_id == a.action_id) {
                    self.actions.push((a.clone(), ActionStatus::Waiting));
                }
            }
        }
    }

    /// The unit stands on `node` now.
    fn reach(&mut self, node: Node) {
        self.last_node_id = node.node_id;
        self.last_seq = node.sequence_id;
        for (a, s) in &mut self.actions {
            if a.action_type == "cancelOrder" && *s == ActionStatus::Running {
                *s = ActionStatus::Finished;
            }
        }
        for a in node.actions {
            let index = match self
                .actions
                .iter()
                .position(|(x, _)| x.action_id == a.action_id)
            {
                Some(i) => i,
                None => {
                    self.actions.push((a, ActionStatus::Waiting));
                    self.actions.len() - 1
                }
            };
            self.to_run.push_back(index);
        }
        self.dirty = true;
    }

    /// Receives instant actions.
    pub fn on_instant(&mut self, message: InstantActions, now_ms: u64) {
        self.advance(now_ms);
        for a in message.actions {
            if self.actions.iter().any(|(x, _)| x.action_id == a.action_id) {
                continue; // a resend
            }
            let mut status = ActionStatus::Finished;
            match a.action_type.as_str() {
                "startPause" => self.paused = true,
                "stopPause" => self.paused = false,
                "cancelOrder" => {
                    // Stop at the next node: a unit between nodes drives on to the one it
                    // is driving to (and runs nothing there); the cancel is RUNNING until then.
                    let keep = usize::from(self.moving.is_some());
                    self.nodes.truncate(keep);
                    self.edges.truncate(keep);
                    if let Some(n) = self.nodes.front_mut() {
                        n.actions.clear();
                        status = ActionStatus::Running;
                    }
                    self.to_run.clear();
                    for (_, s) in &mut self.actions {
                        if *s == ActionStatus::Waiting {
                            *s = ActionStatus::Failed;
                        }
                    }
                }
                _ => {}
            }
            self.actions.push((a, status));
            self.dirty = true;
        }
    }

    /// Moves time forward to `now_ms`.
    pub fn advance(&mut self, now_ms: u64) {
        let dt = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.last_ms = self.last_ms.max(now_ms);
        if self.charging {
            self.battery = (self.battery + dt * self.config.charge_per_s).min(100.0);
        }
        loop {
            if let Some(run) = &self.running {
                if now_ms < run.end_ms {
                    return;
                }
                let index = run.index;
                self.running = None;
                self.finish_action(index);
                continue;
            }
            if let Some(index) = self.to_run.pop_front() {
                if self.actions[index].1 != ActionStatus::Waiting {
                    continue;
                }
                let secs = match self.actions[index].0.action_type.as_str() {
                    "pick" => self.config.pick_s,
                    "drop" => self.config.drop_s,
                    _ => 0.0,
                };
                self.actions[index].1 = ActionStatus::Running;
                self.running = Some(Running {
                    index,
                    end_ms: now_ms + (secs * 1000.0) as u64,
                });
                self.dirty = true;
                continue;
            }
            if let Some(m) = &self.moving {
                if now_ms < m.arrive_ms {
                    return;
                }
                let (to, heading) = (m.to, m.heading);
                if to != self.cell {
                    self.metres += self.frame.cell_size_m;
                    self.battery =
                        (self.battery - self.config.drain_per_m * self.frame.cell_size_m).max(0.0);
                }
                self.cell = to;
                self.heading = heading;
                self.moving = None;
                self.edges.pop_front();
                let node = self
                    .nodes
                    .pop_front()
                    .expect("a move targets the next node");
                self.reach(node);
                continue;
            }
            // Start the next move if it is released and nothing holds the unit.
            if self.paused || now_ms < self.stopped_until || self.battery <= 0.0 {
                return;
            }
            let (Some(node), Some(edge)) = (self.nodes.front(), self.edges.front()) else {
                return;
            };
            if !node.released || !edge.released {
                return;
            }
            let to = node
                .node_position
                .as_ref()
                .and_then(|p| self.frame.cell_at(p.x, p.y))
                .or_else(|| node.node_id.parse().ok().map(Cell))
                .unwrap_or(self.cell);
            let target_heading = if to == self.cell {
                node.node_position
                    .as_ref()
                    .and_then(|p| p.theta)
                    .map_or(self.heading, |t| self.frame.heading_at(t))
            } else {
                direction(&self.frame, self.cell, to).unwrap_or(self.heading)
            };
            let turns = f64::from(self.heading.turns_to(target_heading));
            let mut secs = turns * self.config.turn_s;
            if to != self.cell {
                let d = self.frame.cell_size_m;
                // From standstill: accelerate (v²/2a metres) then cruise; short cells are
                // covered at the speed reached.
                // The edge's `maxSpeed` (a slow zone) caps the cruise speed.
                let v = edge
                    .max_speed
                    .filter(|m| m.is_finite() && *m > 0.0)
                    .map_or(self.config.speed_mps, |m| m.min(self.config.speed_mps));
                let a = self.config.accel_mps2;
                let ramp = v * v / (2.0 * a);
                secs += if d <= ramp {
                    (2.0 * d / a).sqrt()
                } else {
                    v / a + (d - ramp) / v
                };
            }
            self.charging = false;
            self.moving = Some(Move {
                to,
                heading: target_heading,
                arrive_ms: now_ms + (secs * 1000.0) as u64,
            });
            self.dirty = true;
        }
    }

    fn finish_action(&mut self, index: usize) {
        let (action, status) = &mut self.actions[index];
        *status = ActionStatus::Finished;
        let param = |key: &str| {
            action
                .action_parameters
                .iter()
                .flatten()
                .find(|p| p.key == key)
                .and_then(|p| p.value.as_str().map(str::to_string))
        };
        match action.action_type.as_str() {
            "pick" => {
                self.load = Some(param("loadId").unwrap_or_else(|| "load".into()));
                self.battery = (self.battery - self.config.drain_per_lift).max(0.0);
            }
            "drop" => self.load = None,
            "startCharging" => self.charging = true,
            "stopCharging" => self.charging = false,
            _ => {}
        }
        self.dirty = true;
    }

    /// The state message now (takes the next header id).
    pub fn state(&mut self, now_ms: u64, epoch_ms: i64) -> State {
        let (x, y) = self.frame.position(self.cell);
        State {
            header_id: self.headers.next(Topic::State),
            timestamp: Timestamp(epoch_ms + now_ms as i64),
            version: self.config.version.wire().into(),
            manufacturer: self.manufacturer.clone(),
            serial_number: self.serial.clone(),
            maps: None,
            order_id: self.order_id.clone(),
            order_update_id: self.order_update_id,
            zone_set_id: None,
            last_node_id: self.last_node_id.clone(),
            last_node_sequence_id: self.last_seq,
            driving: self.moving.is_some(),
            paused: Some(self.paused),
            new_base_request: None,
            distance_since_last_node: None,
            operating_mode: OperatingMode::Automatic,
            node_states: self
                .nodes
                .iter()
                .map(|n| NodeState {
                    node_id: n.node_id.clone(),
                    sequence_id: n.sequence_id,
                    node_description: None,
                    node_position: None,
                    released: n.released,
                })
                .collect(),
            edge_states: self
                .edges
                .iter()
                .map(|e| EdgeState {
                    edge_id: e.edge_id.clone(),
                    sequence_id: e.sequence_id,
                    edge_description: None,
                    released: e.released,
                })
                .collect(),
            agv_position: Some(AgvPosition {
                x,
                y,
                theta: self.frame.theta(self.heading),
                map_id: self.frame.map_id.clone(),
                map_description: None,
                position_initialized: true,
                localization_score: None,
                deviation_range: None,
            }),
            velocity: None,
            loads: Some(
                self.load
                    .iter()
                    .map(|id| Load {
                        load_id: Some(id.clone()),
                        load_type: Some("pod".into()),
                        load_position: None,
                        weight: None,
                        bounding_box_reference: None,
                        load_dimensions: None,
                    })
                    .collect(),
            ),
            action_states: self
                .actions
                .iter()
                .map(|(a, s)| ActionState {
                    action_id: a.action_id.clone(),
                    action_type: Some(a.action_type.clone()),
                    action_description: None,
                    action_status: *s,
                    result_description: None,
                })
                .collect(),
            battery_state: BatteryState {
                battery_charge: (self.battery * 10.0).round() / 10.0,
                battery_voltage: None,
                battery_health: None,
                charging: self.charging,
                reach: None,
            },
            errors: self.errors.clone(),
            information: None,
            safety_state: SafetyState {
                e_stop: drover_vda5050::EStop::None,
                field_violation: false,
            },
        }
    }

    /// A connection message (takes the next header id).
    pub fn connection(&mut self, state: ConnectionState, now_ms: u64, epoch_ms: i64) -> Connection {
        Connection {
            header_id: self.headers.next(Topic::Connection),
            timestamp: Timestamp(epoch_ms + now_ms as i64),
            version: self.config.version.wire().into(),
            manufacturer: self.manufacturer.clone(),
            serial_number: self.serial.clone(),
            connection_state: state,
        }
    }

    /// The factsheet (takes the next header id).
    pub fn factsheet(&mut self, now_ms: u64, epoch_ms: i64) -> Factsheet {
        Factsheet {
            header_id: Some(self.headers.next(Topic::Factsheet)),
            timestamp: Some(Timestamp(epoch_ms + now_ms as i64)),
            version: self.config.version.wire().into(),
            manufacturer: self.manufacturer.clone(),
            serial_number: self.serial.clone(),
            type_specification: TypeSpecification {
                series_name: "drover-sim-drive-unit".into(),
                series_description: Some("simulated pod carrier".into()),
                agv_kinematic: "DIFF".into(),
                agv_class: "CARRIER".into(),
                max_load_mass: 567.0,
                localization_types: vec!["GRID".into(), "DMC".into()],
                navigation_types: vec!["AUTONOMOUS".into()],
            },
            physical_parameters: PhysicalParameters {
                speed_min: 0.0,
                speed_max: self.config.speed_mps,
                acceleration_max: self.config.accel_mps2,
                deceleration_max: self.config.accel_mps2,
                height_min: Some(0.3),
                height_max: 0.35,
                width: 0.8,
                length: 0.8,
            },
            protocol_limits: ProtocolLimits {
                max_string_lens: json!({"idLen": 64, "idNumericalOnly": false}),
                max_array_lens: json!({
                    "order.nodes": self.config.max_order_nodes,
                    "order.edges": self.config.max_order_nodes.saturating_sub(1),
                    "state.nodeStates": self.config.max_order_nodes,
                }),
                timing: Timing {
                    min_order_interval: self.config.min_order_interval_s,
                    min_state_interval: 0.0,
                    default_state_interval: Some(30.0),
                    visualization_interval: None,
                },
            },
            protocol_features: ProtocolFeatures {
                optional_parameters: vec![],
                agv_actions: [
                    "pick",
                    "drop",
                    "startCharging",
                    "stopCharging",
                    "startPause",
                    "stopPause",
                    "cancelOrder",
                    "stateRequest",
                ]
                .iter()
                .map(|t| json!({"actionType": t, "actionScopes": ["NODE", "INSTANT"]}))
                .collect(),
            },
            agv_geometry: json!({}),
            load_specification: json!({"loadSets": [{"setName": "pod", "loadType": "pod"}]}),
            vehicle_config: None,
            localization_parameters: None,
        }
    }
}

/// The heading from `from` to its 4-neighbour `to`.
fn direction(frame: &MapFrame, from: Cell, to: Cell) -> Option<Heading> {
    let (w, f, t) = (frame.width, from.0, to.0);
    if t == f + 1 && t / w == f / w {
        Some(Heading::East)
    } else if f == t + 1 && t / w == f / w {
        Some(Heading::West)
    } else if t == f + w {
        Some(Heading::South)
    } else if f == t + w {
        Some(Heading::North)
    } else {
        None
    }
}
