//! From executor tracks to VDA 5050 orders: one order per robot, extended by order updates
//! that keep the stitching rule, resent until the robot's state echoes them.
//!
//! Node = cell (`nodeId` = cell id, position in metres from the floor's cell size, `theta`
//! from the heading); edge = the move between two consecutive entries. The base is what the
//! executor released, the horizon the planned entries after it. An update starts at the
//! previous update's decision point (same `nodeId` and `sequenceId`, its actions not
//! repeated) and is sent only once the previous one was echoed, so a lost update is resent,
//! never skipped. Headers (`headerId`, `timestamp`, `version`) are left for the session to
//! stamp on sending.

use drover_grid::{Cell, Grid, Heading};
use drover_vda5050::{
    Action, ActionParameter, BlockingType, Edge, Node, NodePosition, Order, State, Timestamp,
    VERSION,
};

use crate::exec::{Entry, Executor, NodeAction};

/// Where the floor's own frame (origin at the bottom-left corner of the grid, x along the
/// rows eastwards, y northwards) lies in the robots' map: a rigid transform, the floor's
/// origin at (`x`, `y`) metres and its x axis turned `rotation` radians counter-clockwise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Map x of the floor's origin, metres.
    pub x: f64,
    /// Map y of the floor's origin, metres.
    pub y: f64,
    /// Rotation of the floor in the map, radians, counter-clockwise.
    pub rotation: f64,
}

impl Placement {
    /// The floor's frame is the map's.
    pub const IDENTITY: Placement = Placement {
        x: 0.0,
        y: 0.0,
        rotation: 0.0,
    };

    /// Floor frame -> map.
    fn to_map(self, x: f64, y: f64) -> (f64, f64) {
        let (sin, cos) = self.rotation.sin_cos();
        (self.x + cos * x - sin * y, self.y + sin * x + cos * y)
    }

    /// Map -> floor frame.
    fn to_floor(self, x: f64, y: f64) -> (f64, f64) {
        let (sin, cos) = self.rotation.sin_cos();
        let (dx, dy) = (x - self.x, y - self.y);
        (cos * dx + sin * dy, -sin * dx + cos * dy)
    }
}

/// Where the floor sits in the robot's map.
#[derive(Clone, Debug)]
pub struct MapFrame {
    /// The map id robots know the floor by.
    pub map_id: String,
    /// Cell edge length in metres.
    pub cell_size_m: f64,
    /// Grid height, to put row 0 at the top (y grows northwards).
    pub height: u32,
    /// Grid width.
    pub width: u32,
    /// Where the floor lies in the map.
    pub placement: Placement,
}

impl MapFrame {
    /// The frame of `grid` with cells of `cell_size_m`, the floor's frame being the map's.
    pub fn new(map_id: &str, grid: &Grid, cell_size_m: f64) -> MapFrame {
        MapFrame {
            map_id: map_id.to_string(),
            cell_size_m,
            height: grid.height(),
            width: grid.width(),
            placement: Placement::IDENTITY,
        }
    }

    /// The same frame with the floor placed in the map by `placement`.
    pub fn placed(mut self, placement: Placement) -> MapFrame {
        self.placement = placement;
        self
    }

    /// Centre of `cell` in map metres.
    pub fn position(&self, cell: Cell) -> (f64, f64) {
        let (row, col) = (cell.0 / self.width, cell.0 % self.width);
        let s = self.cell_size_m;
        self.placement.to_map(
            (f64::from(col) + 0.5) * s,
            (f64::from(self.height - 1 - row) + 0.5) * s,
        )
    }

    /// A heading as map theta (radians in (-π, π]).
    pub fn theta(&self, heading: Heading) -> f64 {
        use std::f64::consts::{PI, TAU};
        let t = (theta(heading) + self.placement.rotation) % TAU;
        if t > PI {
            t - TAU
        } else if t <= -PI {
            t + TAU
        } else {
            t
        }
    }

    /// The heading closest to a map theta.
    pub fn heading_at(&self, theta: f64) -> Heading {
        heading_of(theta - self.placement.rotation)
    }

    /// The cell whose square contains the map point (x, y), if any.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<Cell> {
        let (x, y) = self.placement.to_floor(x, y);
        let col = (x / self.cell_size_m).floor();
        let row_up = (y / self.cell_size_m).floor();
        if col < 0.0
            || row_up < 0.0
            || col >= f64::from(self.width)
            || row_up >= f64::from(self.height)
        {
            return None;
        }
        let row = self.height - 1 - row_up as u32;
        Some(Cell(row * self.width + col as u32))
    }
}

/// Heading as VDA 5050 theta (radians, counter-clockwise from east).
pub fn theta(heading: Heading) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    match heading {
        Heading::East => 0.0,
        Heading::North => FRAC_PI_2,
        Heading::West => PI,
        Heading::South => -FRAC_PI_2,
    }
}

/// The heading closest to theta.
pub fn heading_of(theta: f64) -> Heading {
    let q = (theta / std::f64::consts::FRAC_PI_2).round() as i64;
    match q.rem_euclid(4) {
        0 => Heading::East,
        1 => Heading::North,
        2 => Heading::West,
        _ => Heading::South,
    }
}

/// One robot's order as the coordinator last sent it.
#[derive(Clone, Debug)]
pub struct OrderTrack {
    serial: String,
    /// Order ids start with this (serial, and the coordinator instance if any).
    id_prefix: String,
    manufacturer: String,
    /// Orders started so far (the order id counter).
    orders: u32,
    /// The current order, if any.
    order_id: Option<String>,
    update_id: u32,
    /// Global entry index of sequence id 0.
    start: u64,
    /// Global index of the last sent decision point.
    sent_released: u64,
    /// The last sent message, not yet echoed, with when it was (re)sent and how often.
    pending: Option<(Order, u64, u32)>,
    /// What the robot's factsheet allows.
    limits: OrderLimits,
    /// Tick of the last message sent.
    last_sent: Option<u64>,
    /// The node actions sent lately and the cell of their node (a failed action is acted on
    /// where it ran, not where the robot reports itself later).
    sent_actions: std::collections::VecDeque<(String, Cell)>,
}

/// What drover calls its node actions on the wire: the VDA 5050 predefined names by default,
/// a vendor's own where it names them differently (`[vda5050.actions]` in droverd's config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionNames {
    /// Lifting a pod (`pick`).
    pub pick: String,
    /// Setting it down (`drop`).
    pub drop: String,
    /// Charging on a charger cell (`startCharging`).
    pub charge: String,
    /// `loadType` parameter of pick and drop.
    pub load_type: String,
    /// `stationType` parameter of pick and drop.
    pub station_type: String,
}

impl ActionNames {
    /// The VDA 5050 predefined action types, `loadType` `pod`, `stationType` `floor`.
    pub fn standard() -> ActionNames {
        ActionNames {
            pick: "pick".into(),
            drop: "drop".into(),
            charge: "startCharging".into(),
            load_type: "pod".into(),
            station_type: "floor".into(),
        }
    }
}

/// Limits a robot declares in its factsheet (`protocolLimits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLimits {
    /// Nodes per order message at most (`maxArrayLens` `order.nodes`, and `order.edges` + 1).
    pub max_nodes: usize,
    /// Ticks between two order messages at least (`timing.minOrderInterval`).
    pub min_interval_ticks: u64,
}

impl Default for OrderLimits {
    /// No limits: what a robot without a factsheet gets.
    fn default() -> OrderLimits {
        OrderLimits {
            max_nodes: usize::MAX,
            min_interval_ticks: 0,
        }
    }
}

impl OrderLimits {
    /// The limits a factsheet declares, for ticks of `tick_ms`. A missing or malformed entry
    /// is no limit; a node limit below 2 is raised to 2 (an order must move somewhere).
    pub fn from_factsheet(factsheet: &drover_vda5050::Factsheet, tick_ms: u64) -> OrderLimits {
        let lens = &factsheet.protocol_limits.max_array_lens;
        let len = |key: &str| lens.get(key).and_then(serde_json::Value::as_u64);
        let nodes = [
            len("order.nodes"),
            len("order.edges").map(|e| e.saturating_add(1)),
        ]
        .into_iter()
        .flatten()
        .min()
        .map_or(usize::MAX, |n| (n as usize).max(2));
        let interval_s = factsheet.protocol_limits.timing.min_order_interval;
        let min_interval_ticks = if interval_s.is_finite() && interval_s > 0.0 {
            ((interval_s * 1000.0) / tick_ms.max(1) as f64).ceil() as u64
        } else {
            0
        };
        OrderLimits {
            max_nodes: nodes,
            min_interval_ticks,
        }
    }
}

/// What [`OrderTrack::on_state`] learnt from a state message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The entry the robot stands on, if the state refers to the current order.
    pub reached: Option<u64>,
    /// The robot echoed the pending order or update.
    pub echoed: bool,
    /// The robot runs no order of ours and is idle (a restart, or it rejected the order).
    pub foreign: bool,
}

impl OrderTrack {
    /// A robot with no order yet.
    /// Order ids are `serial-instance-n` (`serial-n` for an empty `instance`): a coordinator
    /// that restarts must not reuse the ids a robot may still run, or that robot's states
    /// would read as progress on the new order.
    pub fn new(manufacturer: &str, serial: &str, instance: &str) -> OrderTrack {
        OrderTrack {
            serial: serial.to_string(),
            id_prefix: if instance.is_empty() {
                serial.to_string()
            } else {
                format!("{serial}-{instance}")
            },
            manufacturer: manufacturer.to_string(),
            orders: 0,
            order_id: None,
            update_id: 0,
            start: 0,
            sent_released: 0,
            pending: None,
            limits: OrderLimits::default(),
            last_sent: None,
            sent_actions: std::collections::VecDeque::new(),
        }
    }

    /// Applies the robot's factsheet limits to every later message.
    pub fn set_limits(&mut self, limits: OrderLimits) {
        self.limits = limits;
    }

    /// The cell of the node a recently sent action `id` was on.
    pub fn action_cell(&self, id: &str) -> Option<Cell> {
        self.sent_actions
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, c)| *c)
    }

    /// What every order id of this robot and coordinator run starts with.
    pub fn id_prefix(&self) -> &str {
        &self.id_prefix
    }

    /// The current order id.
    pub fn order_id(&self) -> Option<&str> {
        self.order_id.as_deref()
    }

    /// Whether a sent message waits for its echo.
    pub fn awaiting_echo(&self) -> bool {
        self.pending.is_some()
    }

    /// How often the pending message was sent.
    pub fn pending_sends(&self) -> u32 {
        self.pending.as_ref().map_or(0, |p| p.2)
    }

    /// Reads a state: progress along the current order and echoes.
    pub fn on_state(&mut self, state: &State) -> Progress {
        let mut progress = Progress {
            reached: None,
            echoed: false,
            foreign: false,
        };
        match &self.order_id {
            Some(id) if *id == state.order_id => {
                progress.reached = Some(self.start + u64::from(state.last_node_sequence_id / 2));
                if let Some((order, _, _)) = &self.pending
                    && state.order_update_id >= order.order_update_id
                {
                    self.pending = None;
                    progress.echoed = true;
                }
            }
            _ => {
                let idle = state.node_states.is_empty()
                    && state.edge_states.is_empty()
                    && state.action_states.iter().all(|a| {
                        matches!(
                            a.action_status,
                            drover_vda5050::ActionStatus::Finished
                                | drover_vda5050::ActionStatus::Failed
                        )
                    });
                progress.foreign = idle;
            }
        }
        progress
    }

    /// Forgets the current order: the next message starts a new one where the robot stands.
    pub fn restart(&mut self) {
        self.order_id = None;
        self.pending = None;
    }

    /// The message to send now, if any: a resend of the pending one after `resend_ticks`, or
    /// an update when the executor released more entries to `robot`.
    pub fn poll(
        &mut self,
        robot: u32,
        exec: &Executor,
        frame: &MapFrame,
        speed_limit: &[f64],
        speed_max: f64,
        names: &ActionNames,
        now: u64,
        resend_ticks: u64,
    ) -> Option<Order> {
        let gap = self.limits.min_interval_ticks;
        if self.last_sent.is_some_and(|t| now < t + gap) {
            return None;
        }
        if let Some((order, sent, count)) = &mut self.pending {
            if now >= *sent + resend_ticks {
                *sent = now;
                *count += 1;
                self.last_sent = Some(now);
                return Some(order.clone());
            }
            return None;
        }
        let released = exec.released(robot);
        let (from, update_id) = match &self.order_id {
            Some(_) if released > self.sent_released => (self.sent_released, self.update_id + 1),
            Some(_) => return None,
            None => {
                self.orders += 1;
                self.order_id = Some(format!("{}-{}", self.id_prefix, self.orders));
                self.start = exec.first(robot);
                (self.start, 0)
            }
        };
        let order_id = self.order_id.clone().expect("set above");
        // The whole base, and as much horizon as the robot's factsheet allows.
        let room = (self.limits.max_nodes as u64).saturating_sub(1);
        let last = exec
            .last(robot)
            .min(released.max(from.saturating_add(room)));
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        let mut prev: Option<Cell> = None;
        for index in from..=last {
            let Some(entry) = exec.entry(robot, index) else {
                // The robot reported past what we sent (it ran an older order): start over.
                self.restart();
                return None;
            };
            let seq = (2 * (index - self.start)) as u32;
            let released_node = index <= released;
            if let Some(pc) = prev {
                let limit = speed_limit
                    .get(pc.index())
                    .copied()
                    .unwrap_or(f64::INFINITY)
                    .min(
                        speed_limit
                            .get(entry.cell.index())
                            .copied()
                            .unwrap_or(f64::INFINITY),
                    );
                let mut e = edge(pc, entry, seq - 1, released_node, frame);
                // A zone's limit, never above what the robot's factsheet says it can do.
                e.max_speed = limit.is_finite().then_some(limit.min(speed_max));
                edges.push(e);
            }
            let mut n = node(&order_id, entry, seq, released_node, frame, names);
            for a in &n.actions {
                if !self.sent_actions.iter().any(|(id, _)| *id == a.action_id) {
                    if self.sent_actions.len() == 32 {
                        self.sent_actions.pop_front();
                    }
                    self.sent_actions
                        .push_back((a.action_id.clone(), entry.cell));
                }
            }
            if update_id > 0 && index == from {
                // The stitching node's actions went out with the previous message. Robots
                // append a stitching node's actions to their decision point's (vda-5050-lib
                // does), so sending them again would run them twice.
                n.actions.clear();
            }
            nodes.push(n);
            prev = Some(entry.cell);
        }
        let order = Order {
            header_id: 0,
            timestamp: Timestamp(0),
            version: VERSION.to_string(),
            manufacturer: self.manufacturer.clone(),
            serial_number: self.serial.clone(),
            order_id,
            order_update_id: update_id,
            zone_set_id: None,
            nodes,
            edges,
        };
        self.update_id = update_id;
        self.sent_released = released;
        self.pending = Some((order.clone(), now, 1));
        self.last_sent = Some(now);
        Some(order)
    }
}

fn node(
    order_id: &str,
    entry: &Entry,
    seq: u32,
    released: bool,
    frame: &MapFrame,
    names: &ActionNames,
) -> Node {
    let (x, y) = frame.position(entry.cell);
    Node {
        node_id: entry.cell.0.to_string(),
        sequence_id: seq,
        node_description: None,
        released,
        node_position: Some(NodePosition {
            x,
            y,
            theta: Some(frame.theta(entry.heading)),
            allowed_deviation_x_y: Some(frame.cell_size_m / 10.0),
            allowed_deviation_theta: None,
            map_id: frame.map_id.clone(),
            map_description: None,
        }),
        actions: entry
            .actions
            .iter()
            .enumerate()
            .map(|(k, a)| action(order_id, seq, k, a, names))
            .collect(),
    }
}

fn edge(from: Cell, to: &Entry, seq: u32, released: bool, frame: &MapFrame) -> Edge {
    Edge {
        edge_id: format!("{}-{}", from.0, to.cell.0),
        sequence_id: seq,
        edge_description: None,
        released,
        start_node_id: from.0.to_string(),
        end_node_id: to.cell.0.to_string(),
        max_speed: None,
        orientation: None,
        rotation_allowed: None,
        length: Some(if from == to.cell {
            0.0
        } else {
            frame.cell_size_m
        }),
        actions: Vec::new(),
    }
}

fn action(order_id: &str, seq: u32, k: usize, a: &NodeAction, names: &ActionNames) -> Action {
    let param = |key: &str, value: &str| ActionParameter {
        key: key.to_string(),
        value: serde_json::Value::String(value.to_string()),
    };
    let (action_type, params) = match a {
        NodeAction::Pick { pod } => (
            &names.pick,
            vec![
                param("stationType", &names.station_type),
                param("loadType", &names.load_type),
                param("loadId", pod),
            ],
        ),
        NodeAction::Drop { pod } => (
            &names.drop,
            vec![
                param("stationType", &names.station_type),
                param("loadType", &names.load_type),
                param("loadId", pod),
            ],
        ),
        NodeAction::Charge => (&names.charge, Vec::new()),
    };
    Action {
        action_type: action_type.to_string(),
        action_id: format!("{order_id}-{seq}-{k}-{action_type}"),
        action_description: None,
        blocking_type: BlockingType::Hard,
        action_parameters: if params.is_empty() {
            None
        } else {
            Some(params)
        },
    }
}
