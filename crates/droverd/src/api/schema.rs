//! The API's request and response bodies (with their OpenAPI schemas): tasks, batches,
//! staffing, zones, the floor drawing; what the live view shows is in `crate::ops`.

use drover_grid::load::Floor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A task as clients submit it.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// `pick`, `stow` or `transport`.
    pub kind: TaskKindName,
    /// Pick/stow: this pod (give `pod` or `sku`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Pick/stow: any pod holding this SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Pick/stow: this station (default: the best one of the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Pick/stow: units (default 1; 1 to 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// Transport: stops in order (1 to 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errands: Option<Vec<ErrandIn>>,
    /// Higher goes first (default 0; -1,000 to 1,000).
    #[serde(default)]
    pub priority: i32,
    /// Deadline, Unix ms (from 2020 to a year from now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// Idempotency key: submitting the same key again returns the first task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Task kinds clients may submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKindName {
    /// Bring a pod to a pick station.
    Pick,
    /// Bring a pod to a stow station.
    Stow,
    /// Errands in order.
    Transport,
}

/// One transport stop.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrandIn {
    /// Cell id (`row * width + col`).
    pub cell: u32,
    /// `visit`, `lift`, `drop` or `dwell`.
    pub action: ErrandActionName,
    /// Dwell: ticks to stay (1 to 36,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<u32>,
}

/// What happens at a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrandActionName {
    /// Reach it.
    Visit,
    /// Lift the load.
    Lift,
    /// Set it down.
    Drop,
    /// Stay a while.
    Dwell,
}

/// A stored task.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaskOut {
    /// Id.
    pub id: u64,
    /// Status: queued, assigned, in_progress, done, failed, cancelled.
    pub status: String,
    /// The robot holding it (or that last held it).
    pub robot: Option<String>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// Accepted at, Unix ms.
    pub created_ms: u64,
    /// Last change, Unix ms.
    pub updated_ms: u64,
    /// What was asked.
    pub task: NewTask,
}

/// A batch of tasks.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Up to 10,000 tasks.
    pub tasks: Vec<serde_json::Value>,
}

/// Per-task result of a batch, in order.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchItem {
    /// HTTP status the task would have had alone (201, 200 for a repeated key, 4xx).
    pub status: u16,
    /// The task's id, when stored.
    pub id: Option<u64>,
    /// What was wrong.
    pub error: Option<ApiError>,
}

/// Batch answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// One per submitted task.
    pub results: Vec<BatchItem>,
}

/// Task list filters.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Only ids above this (paging).
    pub after: Option<u64>,
    /// At most this many (default 100, at most 10,000).
    pub limit: Option<usize>,
}

/// Staffing request.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffIn {
    /// Associate id.
    pub associate: String,
}

/// A zone request: cells or a rectangle.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneIn {
    /// Name for people.
    pub name: String,
    /// `blocked` or `slow`.
    pub mode: String,
    /// Cell ids.
    #[serde(default)]
    pub cells: Vec<u32>,
    /// Or a rectangle.
    #[serde(default)]
    pub rect: Option<RectIn>,
    /// Slow: speed limit, m/s.
    #[serde(default)]
    pub max_speed: Option<f32>,
    /// Blocked: also close the associates' walk from the floor's edge to the zone (the
    /// shortest path over aisles and highways), so they reach it on a path no robot enters.
    #[serde(default)]
    pub access: bool,
}

/// A rectangle of cells.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RectIn {
    /// Left column.
    pub col: u32,
    /// Top row.
    pub row: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// The floor, for drawing.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FloorOut {
    /// Floor name.
    pub name: String,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Cell edge, metres.
    pub cell_size_m: f64,
    /// One string per row: `@` obstacle, `.` travel, `s` storage, `f` face, `q` queue,
    /// `c` charger, `p` park.
    pub rows: Vec<String>,
    /// Stations.
    pub stations: Vec<FloorStation>,
    /// Pods on the floor.
    pub pods: usize,
}

/// A station on the floor.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FloorStation {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Face cell.
    pub face: u32,
    /// Queue lane cells.
    pub queue: Vec<u32>,
}

/// Acknowledgement.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Ack {
    /// Always true.
    pub ok: bool,
}

/// The floor as the API draws it.
pub fn floor_out(floor: &Floor) -> FloorOut {
    let rows = floor.grid.render().lines().map(str::to_string).collect();
    FloorOut {
        name: floor.name.clone(),
        width: floor.grid.width(),
        height: floor.grid.height(),
        cell_size_m: floor.cell_size_m,
        rows,
        stations: floor
            .stations
            .iter()
            .map(|s| FloorStation {
                name: s.name.clone(),
                kind: s.kind.name().into(),
                face: s.face.0,
                queue: s.queue.iter().map(|c| c.0).collect(),
            })
            .collect(),
        pods: floor.pods.len(),
    }
}
