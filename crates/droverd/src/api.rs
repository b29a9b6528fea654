//! The HTTP API (axum, OpenAPI from code with utoipa, Swagger UI served offline), the live
//! dashboard's assets, the SSE event stream and Prometheus `/metrics`.
//!
//! Writes need `Authorization: Bearer <token>` when the config sets a write token; reads
//! need it too when `read_token_required` is set (browsers' `EventSource` cannot send
//! headers, so `?access_token=` is accepted as well). Every client error is a 4xx with a
//! JSON body `{"error": code, "message": text}`: handlers return [`ApiError`], and a last
//! layer turns axum's own plain-text rejections (bad paths, 404, 405, 413) into JSON.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use drover_grid::load::Floor;
use drover_store::{
    ErrandKind, ErrandSpec, Outcome, PodChoice, SpecKind, TaskQuery, TaskRow, TaskSpec, TaskStatus,
    Write, ZoneSpec,
};
use metrics_exporter_prometheus::PrometheusHandle;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

mod tasks;

use tasks::*;

use crate::ops::{
    ApiError, Command, Kpis, Live, OpsHandle, RobotOp, RobotOut, StationOp, StationOut, ZoneOut,
};

/// Largest request body (a batch of 10,000 tasks fits).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Most tasks in one batch.
pub const MAX_BATCH: usize = 10_000;

/// Who may do what.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// Bearer token for writes (`None`: writes are open; only for demos and tests).
    pub write_token: Option<String>,
    /// Reads need the token too.
    pub read_token_required: bool,
}

/// Shared by every handler.
#[derive(Clone)]
pub struct App {
    ops: OpsHandle,
    floor: Arc<FloorOut>,
    auth: Arc<Auth>,
    metrics: PrometheusHandle,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}

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
    /// Pick/stow: units (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// Transport: stops in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errands: Option<Vec<ErrandIn>>,
    /// Higher goes first (default 0).
    #[serde(default)]
    pub priority: i32,
    /// Deadline, Unix ms.
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
    /// Dwell: ticks to stay.
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
    /// Accepted for `EventSource`-style clients.
    pub access_token: Option<String>,
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "drover",
        description = "Fleet coordinator for sortable fulfillment centres: tasks, robots, stations, zones, KPIs."
    ),
    components(schemas(ApiError))
)]
struct ApiDoc;

/// The metrics recorder, installed once per process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
                    ],
                )
                .expect("static buckets are valid");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
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

/// The whole router: API, OpenAPI JSON, Swagger UI, SSE, metrics, dashboard.
pub fn router(ops: OpsHandle, floor: &Floor, auth: Auth) -> Router {
    let app = App {
        ops,
        floor: Arc::new(floor_out(floor)),
        auth: Arc::new(auth),
        metrics: metrics_handle(),
    };
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(submit_task, list_tasks))
        .routes(routes!(submit_batch))
        .routes(routes!(get_task))
        .routes(routes!(cancel_task))
        .routes(routes!(list_robots))
        .routes(routes!(get_robot))
        .routes(routes!(robot_action))
        .routes(routes!(list_stations))
        .routes(routes!(staff_station))
        .routes(routes!(unstaff_station))
        .routes(routes!(release_station))
        .routes(routes!(list_zones, create_zone))
        .routes(routes!(delete_zone))
        .routes(routes!(put_pods))
        .routes(routes!(fleet_action))
        .routes(routes!(get_floor))
        .routes(routes!(get_kpis))
        .routes(routes!(get_live))
        .routes(routes!(events))
        .split_for_parts();
    let api = api
        .route("/metrics", axum::routing::get(render_metrics))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .with_state(app);
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/swagger-ui").url("/api/openapi.json", openapi))
        .route("/", axum::routing::get(dashboard_page))
        .route("/app.js", axum::routing::get(dashboard_js))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(json_errors))
}

/// Turns axum's plain-text client errors into the JSON shape every other error has.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "invalid",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status.as_u16(), code, message).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

fn bearer(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION)
        && let Ok(v) = v.to_str()
        && let Some(token) = v.strip_prefix("Bearer ")
    {
        return Some(token.trim().to_string());
    }
    uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_string)
    })
}

async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    let write = !matches!(*request.method(), Method::GET | Method::HEAD);
    if let Some(token) = &app.auth.write_token
        && (write || app.auth.read_token_required)
        && bearer(request.headers(), request.uri()).as_deref() != Some(token.as_str())
    {
        let mut r = ApiError::new(
            401,
            "unauthorized",
            "this endpoint needs `Authorization: Bearer <token>` (see api.write_token in the config)",
        )
        .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    next.run(request).await
}

fn parse_json<T: for<'a> Deserialize<'a>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("body: {e}")))
}

fn live(app: &App) -> Arc<Live> {
    app.ops.live.borrow().clone()
}

/// Every robot.
#[utoipa::path(get, path = "/api/robots", tag = "robots", responses((status = 200, body = Vec<RobotOut>)))]
async fn list_robots(State(app): State<App>) -> Json<Vec<RobotOut>> {
    Json(live(&app).robots.clone())
}

/// One robot: position, heading, battery, task, connection, errors.
#[utoipa::path(get, path = "/api/robots/{serial}", tag = "robots", params(("serial" = String, Path)),
    responses((status = 200, body = RobotOut), (status = 404, body = ApiError)))]
async fn get_robot(
    State(app): State<App>,
    Path(serial): Path<String>,
) -> Result<Json<RobotOut>, ApiError> {
    live(&app)
        .robots
        .iter()
        .find(|r| r.serial == serial)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no robot {serial:?}")))
}

/// `pause`, `resume`, `charge`, `out-of-service`, `in-service` or `reset` (a robot that
/// refused an order is driven again).
#[utoipa::path(post, path = "/api/robots/{serial}/{action}", tag = "robots",
    params(("serial" = String, Path), ("action" = String, Path, description = "pause | resume | charge | out-of-service | in-service | reset")),
    responses((status = 200, body = Ack), (status = 400, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn robot_action(
    State(app): State<App>,
    Path((serial, action)): Path<(String, String)>,
) -> Result<Json<Ack>, ApiError> {
    let op = match action.as_str() {
        "pause" => RobotOp::Pause,
        "resume" => RobotOp::Resume,
        "charge" => RobotOp::Charge,
        "out-of-service" => RobotOp::OutOfService,
        "in-service" => RobotOp::InService,
        "reset" => RobotOp::Reset,
        other => {
            return Err(ApiError::invalid(format!(
                "unknown robot action {other:?}; use pause, resume, charge, out-of-service, in-service or reset"
            )));
        }
    };
    ask(&app, |reply| Command::Robot { serial, op, reply }).await?;
    Ok(Json(Ack { ok: true }))
}

async fn station_command(app: &App, name: String, op: StationOp) -> Result<Json<Ack>, ApiError> {
    ask(app, |reply| Command::Station { name, op, reply }).await?;
    Ok(Json(Ack { ok: true }))
}

/// Every station with its queue and KPIs.
#[utoipa::path(get, path = "/api/stations", tag = "stations", responses((status = 200, body = Vec<StationOut>)))]
async fn list_stations(State(app): State<App>) -> Json<Vec<StationOut>> {
    Json(live(&app).stations.clone())
}

/// An associate takes the station.
#[utoipa::path(post, path = "/api/stations/{name}/staff", tag = "stations", params(("name" = String, Path)),
    request_body = StaffIn, responses((status = 200, body = Ack), (status = 404, body = ApiError)))]
async fn staff_station(
    State(app): State<App>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Ack>, ApiError> {
    let staff: StaffIn = parse_json(&body)?;
    if staff.associate.is_empty() || staff.associate.len() > 100 {
        return Err(ApiError::invalid("associate must be 1 to 100 bytes"));
    }
    station_command(&app, name, StationOp::Staff(staff.associate)).await
}

/// The associate leaves: robots on the way go elsewhere or back.
#[utoipa::path(post, path = "/api/stations/{name}/unstaff", tag = "stations", params(("name" = String, Path)),
    responses((status = 200, body = Ack), (status = 404, body = ApiError)))]
async fn unstaff_station(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Ack>, ApiError> {
    station_command(&app, name, StationOp::Unstaff).await
}

/// The associate is done with the presented pod (its tasks are done, durably, before this
/// answers).
#[utoipa::path(post, path = "/api/stations/{name}/release", tag = "stations", params(("name" = String, Path)),
    responses((status = 200, body = Ack), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn release_station(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Ack>, ApiError> {
    station_command(&app, name, StationOp::Release).await
}

/// Zones for associates in the robot field.
#[utoipa::path(get, path = "/api/zones", tag = "zones", responses((status = 200, body = Vec<ZoneOut>)))]
async fn list_zones(State(app): State<App>) -> Json<Vec<ZoneOut>> {
    Json(live(&app).zones.clone())
}

/// Create a zone from cells or a rectangle.
#[utoipa::path(post, path = "/api/zones", tag = "zones", request_body = ZoneIn,
    responses((status = 201, body = ZoneOut), (status = 400, body = ApiError)))]
async fn create_zone(State(app): State<App>, body: Bytes) -> Result<Response, ApiError> {
    let z: ZoneIn = parse_json(&body)?;
    let names = &app.ops.names;
    if z.name.is_empty() || z.name.len() > 100 {
        return Err(ApiError::invalid("name must be 1 to 100 bytes"));
    }
    let max_speed = match (z.mode.as_str(), z.max_speed) {
        ("blocked", None) => None,
        ("blocked", Some(_)) => return Err(ApiError::invalid("max_speed goes with mode slow")),
        ("slow", Some(v)) if v.is_finite() && v > 0.0 && v < 10.0 => Some(v),
        ("slow", _) => {
            return Err(ApiError::invalid(
                "mode slow needs max_speed in (0, 10) m/s",
            ));
        }
        (other, _) => {
            return Err(ApiError::invalid(format!(
                "unknown mode {other:?}; use blocked or slow"
            )));
        }
    };
    let mut cells = z.cells.clone();
    if let Some(r) = z.rect {
        let fits = r.width > 0
            && r.height > 0
            && r.col.checked_add(r.width).is_some_and(|c| c <= names.width)
            && r.row
                .checked_add(r.height)
                .is_some_and(|c| c <= names.height);
        if !fits {
            return Err(ApiError::invalid(
                "rect must be non-empty and inside the floor",
            ));
        }
        for row in r.row..r.row + r.height {
            for col in r.col..r.col + r.width {
                cells.push(row * names.width + col);
            }
        }
    }
    if cells.is_empty() {
        return Err(ApiError::invalid("a zone needs cells or a rect"));
    }
    let n = (names.width * names.height) as usize;
    if let Some(bad) = cells.iter().find(|c| **c as usize >= n) {
        return Err(ApiError::invalid(format!("cell {bad} is off the floor")));
    }
    cells.sort_unstable();
    cells.dedup();
    let access = match (z.access, max_speed) {
        (false, _) => Vec::new(),
        (true, Some(_)) => return Err(ApiError::invalid("access goes with mode blocked")),
        (true, None) => names
            .access_path(&cells)
            .ok_or_else(|| ApiError::invalid("no walk from the floor's edge reaches this zone"))?,
    };
    let id = app.ops.next_zone.fetch_add(1, Ordering::Relaxed);
    let zone = ZoneSpec {
        name: z.name,
        cells,
        max_speed,
        access,
    };
    let out = crate::ops::zone_out(id, &zone);
    ask(&app, |reply| Command::PutZone { id, zone, reply }).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Replace what pods hold (an inventory import): `{"pods": [{"pod", "contents": {SKU:
/// units}}]}`, all or nothing. Answers once the contents are durable; pods out on a station
/// visit are refused (409) until they are back in a slot.
#[utoipa::path(put, path = "/api/pods", tag = "floor", request_body = crate::pods::PodsIn,
    responses((status = 200, body = Ack), (status = 400, body = ApiError),
              (status = 409, body = ApiError), (status = 422, body = ApiError)))]
async fn put_pods(State(app): State<App>, body: Bytes) -> Result<Json<Ack>, ApiError> {
    let input: crate::pods::PodsIn = parse_json(&body)?;
    if input.pods.len() > 100_000 {
        return Err(ApiError::invalid("at most 100000 pods per import"));
    }
    let pods =
        crate::pods::from_input(input, &app.ops.names.pods).map_err(ApiError::unprocessable)?;
    ask(&app, |reply| Command::PutPods { pods, reply }).await?;
    Ok(Json(Ack { ok: true }))
}

/// `pause` or `resume` the whole fleet: `startPause` to every robot and nothing planned or
/// released until `resume` (`stopPause` to every robot not paused on its own). Survives a
/// restart.
#[utoipa::path(post, path = "/api/fleet/{action}", tag = "robots",
    params(("action" = String, Path, description = "pause | resume")),
    responses((status = 200, body = Ack), (status = 400, body = ApiError)))]
async fn fleet_action(
    State(app): State<App>,
    Path(action): Path<String>,
) -> Result<Json<Ack>, ApiError> {
    let paused = match action.as_str() {
        "pause" => true,
        "resume" => false,
        other => {
            return Err(ApiError::invalid(format!(
                "unknown fleet action {other:?}; use pause or resume"
            )));
        }
    };
    ask(&app, |reply| Command::Fleet { paused, reply }).await?;
    Ok(Json(Ack { ok: true }))
}

/// Delete a zone.
#[utoipa::path(delete, path = "/api/zones/{id}", tag = "zones", params(("id" = u64, Path)),
    responses((status = 200, body = Ack), (status = 404, body = ApiError)))]
async fn delete_zone(State(app): State<App>, Path(id): Path<u64>) -> Result<Json<Ack>, ApiError> {
    ask(&app, |reply| Command::DeleteZone { id, reply }).await?;
    Ok(Json(Ack { ok: true }))
}

/// The floor map.
#[utoipa::path(get, path = "/api/floor", tag = "floor", responses((status = 200, body = FloorOut)))]
async fn get_floor(State(app): State<App>) -> Json<FloorOut> {
    Json((*app.floor).clone())
}

/// KPIs, live.
#[utoipa::path(get, path = "/api/kpis", tag = "floor", responses((status = 200, body = Kpis)))]
async fn get_kpis(State(app): State<App>) -> Json<Kpis> {
    Json(live(&app).kpis.clone())
}

/// Everything live in one document (robots, stations, zones, KPIs, alerts): what the
/// dashboard loads before following the event stream.
#[utoipa::path(get, path = "/api/live", tag = "floor", responses((status = 200, body = Live)))]
async fn get_live(State(app): State<App>) -> Json<Live> {
    let live = live(&app);
    Json((*live).clone())
}

/// Server-sent events: `robots` (moves), `task`, `station`, `zone`; `reset` tells the
/// client to reload (it fell too far behind). Resume with `Last-Event-ID`.
#[utoipa::path(get, path = "/api/events", tag = "floor",
    responses((status = 200, description = "text/event-stream")))]
async fn events(
    State(app): State<App>,
    headers: HeaderMap,
) -> Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let crate::ops::Resume {
        rx,
        head: seen,
        replay,
    } = app.ops.events.resume(last);
    let event = |e: &crate::ops::Event| {
        Ok(SseEvent::default()
            .id(e.id.to_string())
            .event(e.kind)
            .data(e.data.clone()))
    };
    let reset = || Ok(SseEvent::default().event("reset").data("{}"));
    let head: Vec<Result<SseEvent, Infallible>> = match replay {
        None => vec![reset()],
        Some(events) => events.iter().map(|e| event(e)).collect(),
    };
    // The replay ends at `seen`; the receiver may also hold those events.
    let live = BroadcastStream::new(rx).filter_map(move |r| match r {
        Ok(e) if e.id > seen => Some(event(&e)),
        Ok(_) => None,
        Err(_) => Some(reset()),
    });
    Sse::new(tokio_stream::iter(head).chain(live)).keep_alive(KeepAlive::default())
}

async fn render_metrics(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

async fn dashboard_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(include_str!("../assets/index.html")),
    )
        .into_response()
}

async fn dashboard_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        Body::from(include_str!("../assets/app.js")),
    )
        .into_response()
}

/// Where the API listens, who may write, and where the store lives.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// Listen address (port 0: any free port; the bound one is returned).
    pub listen: std::net::SocketAddr,
    /// Tokens.
    pub auth: Auth,
    /// The store's folder (`drover.db` inside).
    pub data_dir: std::path::PathBuf,
    /// Speed limit on the ring around blocked zones, m/s (`None`: no ring).
    pub zone_ring_speed: Option<f64>,
}

/// A running API: the loop's half of the operations state, and the bound address.
pub struct Served {
    /// For [`crate::run_coordinator`].
    pub ops: crate::ops::OpsLoop,
    /// The address the API listens on.
    pub addr: std::net::SocketAddr,
    /// The server task (aborted on drop of the demo).
    pub server: tokio::task::JoinHandle<()>,
}

/// Opens the store, recovers (pods go back to the floor before robots and tasks are
/// placed), and starts the HTTP server. Returns once it accepts connections.
pub async fn serve(
    floor: &mut Floor,
    options: &ApiOptions,
    tick_ms: u64,
) -> anyhow::Result<Served> {
    let path = options.data_dir.join("drover.db");
    let store = drover_store::SqliteStore::open(&path)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", path.display()))?;
    let recovered = drover_store::Store::recover(&store)?;
    crate::ops::restore_pods(floor, &recovered);
    tracing::info!(
        db = %path.display(),
        open_tasks = recovered.open.len(),
        pods = recovered.pods.len(),
        "store opened"
    );
    let committer = drover_store::Committer::start(Arc::new(store));
    let (handle, ops) = crate::ops::ops(
        committer,
        floor,
        recovered,
        tick_ms,
        options.zone_ring_speed,
    );
    let app = router(handle, floor, options.auth.clone());
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    tracing::info!(%addr, "HTTP API and dashboard listening");
    Ok(Served { ops, addr, server })
}
