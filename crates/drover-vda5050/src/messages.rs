//! The VDA 5050 2.1.0 messages, field for field (camelCase on the wire). Robot-to-fleet
//! messages reject unknown fields, so a misspelt field is an error, not a silent default.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The protocol version drover writes in headers until a robot says which it speaks
/// ([`crate::Version`]).
pub const VERSION: &str = "2.1.0";

/// How an action blocks driving and other actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BlockingType {
    /// Driving and other actions allowed.
    None,
    /// Other actions allowed, no driving.
    Soft,
    /// Nothing else.
    Hard,
}

/// One action parameter; `value` is any JSON value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionParameter {
    /// Name.
    pub key: String,
    /// Value.
    pub value: serde_json::Value,
}

/// An action on a node, an edge, or instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    /// `pick`, `drop`, `startCharging`, `cancelOrder`, …
    pub action_type: String,
    /// Unique id.
    pub action_id: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_description: Option<String>,
    /// Blocking behaviour.
    pub blocking_type: BlockingType,
    /// Parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_parameters: Option<Vec<ActionParameter>>,
}

/// Where a node is on the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePosition {
    /// Metres.
    pub x: f64,
    /// Metres.
    pub y: f64,
    /// Radians in [−π, π]; absent: any orientation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// Allowed deviation radius, metres (`allowedDeviationXy` in the first 2.0.0 schema).
    #[serde(
        default,
        rename = "allowedDeviationXY",
        alias = "allowedDeviationXy",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_deviation_x_y: Option<f64>,
    /// Allowed orientation deviation, radians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_deviation_theta: Option<f64>,
    /// The map (one per floor).
    pub map_id: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_description: Option<String>,
}

/// An order node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// drover: the cell id.
    pub node_id: String,
    /// Even numbers along the order: node 0, edge 1, node 2 …
    pub sequence_id: u32,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_description: Option<String>,
    /// Base (`true`) or horizon.
    pub released: bool,
    /// Position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_position: Option<NodePosition>,
    /// Actions when the node is reached (may be empty).
    pub actions: Vec<Action>,
}

/// An order edge between two consecutive nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    /// Id.
    pub edge_id: String,
    /// Odd numbers along the order.
    pub sequence_id: u32,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_description: Option<String>,
    /// Base or horizon.
    pub released: bool,
    /// Node before.
    pub start_node_id: String,
    /// Node after.
    pub end_node_id: String,
    /// Speed limit, m/s (lanes, slow zones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_speed: Option<f64>,
    /// Orientation on the edge, radians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<f64>,
    /// Whether the robot may rotate on the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_allowed: Option<bool>,
    /// Length, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<f64>,
    /// Actions while on the edge.
    pub actions: Vec<Action>,
}

/// `order`: fleet → robot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Order {
    /// Per-topic message counter.
    pub header_id: u32,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// `2.1.0`.
    pub version: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial_number: String,
    /// Order id.
    pub order_id: String,
    /// 0 first, +1 per update.
    pub order_update_id: u32,
    /// Zone set (unused by drover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_set_id: Option<String>,
    /// Nodes in traversal order.
    pub nodes: Vec<Node>,
    /// Edges in traversal order (`nodes.len() - 1` of them).
    pub edges: Vec<Edge>,
}

/// `instantActions`: fleet → robot. Read leniently (unknown fields ignored): for 2.0 robots
/// the list also goes out as `instantActions` ([`crate::instant_actions_json`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstantActions {
    /// Per-topic message counter.
    pub header_id: u32,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// `2.1.0`.
    pub version: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial_number: String,
    /// The actions.
    pub actions: Vec<Action>,
}

/// Progress of a node still ahead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeState {
    /// Node id.
    pub node_id: String,
    /// Its sequence id.
    pub sequence_id: u32,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_description: Option<String>,
    /// Position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_position: Option<NodePosition>,
    /// Base or horizon.
    pub released: bool,
}

/// Progress of an edge still ahead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgeState {
    /// Edge id.
    pub edge_id: String,
    /// Its sequence id.
    pub sequence_id: u32,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_description: Option<String>,
    /// Base or horizon.
    pub released: bool,
}

/// Where an action is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActionStatus {
    /// Not reached yet.
    Waiting,
    /// Preparing.
    Initializing,
    /// Running.
    Running,
    /// Paused (2.1 §6.11; missing from the 2.1 schema, accepted anyway).
    Paused,
    /// Done.
    Finished,
    /// Failed.
    Failed,
}

/// State of one action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionState {
    /// Action id.
    pub action_id: String,
    /// Action type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_description: Option<String>,
    /// Status.
    pub action_status: ActionStatus,
    /// Result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_description: Option<String>,
}

/// Battery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatteryState {
    /// State of charge, %.
    pub battery_charge: f64,
    /// Volts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_voltage: Option<f64>,
    /// State of health, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_health: Option<f64>,
    /// Charging now.
    pub charging: bool,
    /// Estimated reach, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reach: Option<f64>,
}

/// Who is in control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OperatingMode {
    /// Fleet control in charge.
    Automatic,
    /// Fleet control in charge, speed set on the robot.
    Semiautomatic,
    /// Manual: send nothing.
    Manual,
    /// Service: send nothing.
    Service,
    /// Teach-in: send nothing.
    Teachin,
}

/// How bad an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ErrorLevel {
    /// The robot may still work; may resolve itself.
    Warning,
    /// Needs a person.
    Fatal,
}

/// What an error refers to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorReference {
    /// e.g. `orderId`, `headerId`, `actionId`.
    pub reference_key: String,
    /// Its value.
    pub reference_value: String,
}

/// An error the robot reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RobotError {
    /// Type (free text in 2.1).
    pub error_type: String,
    /// References.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_references: Option<Vec<ErrorReference>>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_hint: Option<String>,
    /// Level.
    pub error_level: ErrorLevel,
}

/// Emergency stop kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EStop {
    /// Auto-acknowledged.
    Autoack,
    /// Manual.
    Manual,
    /// Remote.
    Remote,
    /// None.
    None,
}

/// Safety state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SafetyState {
    /// Emergency stop.
    pub e_stop: EStop,
    /// Protective field violated.
    pub field_violation: bool,
}

/// The robot's pose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgvPosition {
    /// Metres.
    pub x: f64,
    /// Metres.
    pub y: f64,
    /// Radians.
    pub theta: f64,
    /// Map.
    pub map_id: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_description: Option<String>,
    /// Whether the position is known.
    pub position_initialized: bool,
    /// 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localization_score: Option<f64>,
    /// Metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation_range: Option<f64>,
}

/// Velocity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Velocity {
    /// m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vx: Option<f64>,
    /// m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vy: Option<f64>,
    /// rad/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omega: Option<f64>,
}

/// A load on the robot (a pod).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Load {
    /// Pod id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_id: Option<String>,
    /// Load type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_type: Option<String>,
    /// Position on the robot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_position: Option<String>,
    /// Kilograms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Where the load's bounding box sits on the robot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounding_box_reference: Option<serde_json::Value>,
    /// Length, width, height, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_dimensions: Option<serde_json::Value>,
}

/// Information for display.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Information {
    /// Type.
    pub info_type: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info_description: Option<String>,
    /// INFO or DEBUG.
    pub info_level: String,
}

/// `state`: robot → fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    /// Per-topic message counter.
    pub header_id: u32,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// Protocol version.
    pub version: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial_number: String,
    /// Maps on the robot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maps: Option<Vec<serde_json::Value>>,
    /// Current or last order ("" if none).
    pub order_id: String,
    /// Its update id.
    pub order_update_id: u32,
    /// Zone set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_set_id: Option<String>,
    /// Last node reached ("" if none).
    pub last_node_id: String,
    /// Its sequence id.
    pub last_node_sequence_id: u32,
    /// Driving or rotating.
    pub driving: bool,
    /// Paused by instant action or button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The base is running short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_base_request: Option<bool>,
    /// Metres since the last node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_since_last_node: Option<f64>,
    /// Operating mode.
    pub operating_mode: OperatingMode,
    /// Nodes ahead.
    pub node_states: Vec<NodeState>,
    /// Edges ahead.
    pub edge_states: Vec<EdgeState>,
    /// Pose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agv_position: Option<AgvPosition>,
    /// Velocity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<Velocity>,
    /// Loads (absent: cannot sense; empty: unloaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loads: Option<Vec<Load>>,
    /// Actions of the order and instant actions since.
    pub action_states: Vec<ActionState>,
    /// Battery.
    pub battery_state: BatteryState,
    /// Errors.
    pub errors: Vec<RobotError>,
    /// Information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<Vec<Information>>,
    /// Safety.
    pub safety_state: SafetyState,
}

/// Connection states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConnectionState {
    /// Connected.
    Online,
    /// Left gracefully.
    Offline,
    /// The broker's last will: the connection dropped.
    Connectionbroken,
}

/// `connection`: robot or broker → fleet (QoS 1, retained).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Connection {
    /// Per-topic message counter.
    pub header_id: u32,
    /// When it was sent.
    pub timestamp: Timestamp,
    /// Protocol version.
    pub version: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial_number: String,
    /// State.
    pub connection_state: ConnectionState,
}

/// `visualization`: robot → fleet, optional, high rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Visualization {
    /// Per-topic message counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_id: Option<u32>,
    /// When it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Robot manufacturer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Robot serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Pose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agv_position: Option<AgvPosition>,
    /// Velocity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<Velocity>,
}

/// `factsheet`: robot → fleet (retained). The parts drover reads are typed; the rest is kept
/// as JSON so a full factsheet round-trips.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Factsheet {
    /// Per-topic message counter (optional in the 2.1 factsheet schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_id: Option<u32>,
    /// When it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// Protocol version.
    pub version: String,
    /// Robot manufacturer.
    pub manufacturer: String,
    /// Robot serial number.
    pub serial_number: String,
    /// Series, kinematics, class, localisation.
    pub type_specification: TypeSpecification,
    /// Speeds, accelerations, size.
    pub physical_parameters: PhysicalParameters,
    /// String and array limits, timing.
    pub protocol_limits: ProtocolLimits,
    /// Supported optional parameters and actions.
    pub protocol_features: ProtocolFeatures,
    /// Wheels and envelopes.
    pub agv_geometry: serde_json::Value,
    /// Load positions and sets.
    pub load_specification: serde_json::Value,
    /// Hardware and software versions (2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle_config: Option<serde_json::Value>,
    /// Localisation details (2.0 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localization_parameters: Option<serde_json::Value>,
}

/// Factsheet: what the robot is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypeSpecification {
    /// Series name.
    pub series_name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_description: Option<String>,
    /// DIFF, OMNI, THREEWHEEL.
    pub agv_kinematic: String,
    /// FORKLIFT, CONVEYOR, TUGGER, CARRIER.
    pub agv_class: String,
    /// Kilograms.
    pub max_load_mass: f64,
    /// e.g. DMC, GRID.
    pub localization_types: Vec<String>,
    /// e.g. AUTONOMOUS.
    pub navigation_types: Vec<String>,
}

/// Factsheet: physical limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhysicalParameters {
    /// m/s.
    pub speed_min: f64,
    /// m/s.
    pub speed_max: f64,
    /// m/s².
    pub acceleration_max: f64,
    /// m/s².
    pub deceleration_max: f64,
    /// Metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_min: Option<f64>,
    /// Metres.
    pub height_max: f64,
    /// Metres.
    pub width: f64,
    /// Metres.
    pub length: f64,
}

/// Factsheet: protocol limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtocolLimits {
    /// String lengths (`idLen`, `idNumericalOnly`, …).
    pub max_string_lens: serde_json::Value,
    /// Array lengths (`order.nodes`, `state.nodeStates`, …).
    pub max_array_lens: serde_json::Value,
    /// Timing.
    pub timing: Timing,
}

/// Factsheet: timing limits, seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timing {
    /// Minimum time between orders.
    pub min_order_interval: f64,
    /// Minimum time between state messages.
    pub min_state_interval: f64,
    /// Default time between state messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_state_interval: Option<f64>,
    /// Default time between visualization messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visualization_interval: Option<f64>,
}

/// Factsheet: supported features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtocolFeatures {
    /// `{parameter, support, description?}` entries.
    pub optional_parameters: Vec<serde_json::Value>,
    /// `{actionType, actionScopes, …}` entries.
    pub agv_actions: Vec<serde_json::Value>,
}
