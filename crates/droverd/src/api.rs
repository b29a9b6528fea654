//! The HTTP API (axum, OpenAPI from code with utoipa, Swagger UI served offline), the live
//! dashboard's assets, the SSE event stream and Prometheus `/metrics`.
//!
//! Every API route sits behind `guard`: reads need the read or operator token when the
//! config asks (in the `Authorization` header, or `?access_token=` for `EventSource`);
//! writes need the operator token in the header, the daemon's own `Origin` (if any),
//! `Content-Type: application/json`, a body within `max_body_bytes` and `body_timeout`,
//! and are written to the audit trail (`GET /api/audit`). Numbers are checked against
//! `bounds`. The listener (`listener`) limits connections and the time a request head may
//! take. Every client error is a 4xx with a JSON body `{"error": code, "message": text}`:
//! handlers return [`ApiError`], and a last layer turns axum's own plain-text rejections
//! (bad paths, 404, 405) into JSON.
//!
//! This file is the router (every route in one place); the handlers live in `tasks`,
//! `operate` (robots, stations, zones, pods, fleet), `dashboard` (reads, SSE, metrics,
//! assets) and `audit`, the bodies in `schema`, the tokens in `auth`, the origin rules in
//! `origin`, the store and listen checks in `server`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use drover_grid::load::Floor;
use metrics_exporter_prometheus::PrometheusHandle;
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

mod audit;
mod auth;
mod bounds;
mod dashboard;
mod guard;
mod listener;
mod operate;
mod origin;
mod schema;
mod server;
mod tasks;

pub use audit::AuditOut;
pub use auth::{Auth, MAX_TOKEN_BYTES, Role};
pub use schema::{
    Ack, Batch, BatchItem, BatchOut, ErrandActionName, ErrandIn, FloorOut, FloorStation, NewTask,
    RectIn, StaffIn, TaskFilter, TaskKindName, TaskOut, ZoneIn, floor_out,
};
pub use server::{ApiOptions, Limits, Served, check_listen, metrics_handle, serve};

use crate::error::ApiError;
use crate::ops::{Live, OpsHandle};

/// Most tasks in one batch.
pub const MAX_BATCH: usize = 10_000;

/// Shared by every handler.
#[derive(Clone)]
pub struct App {
    ops: OpsHandle,
    floor: Arc<FloorOut>,
    auth: Arc<Auth>,
    limits: Limits,
    metrics: PrometheusHandle,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "drover",
        description = "Fleet coordinator for sortable fulfillment centres: tasks, robots, stations, zones, KPIs."
    ),
    components(schemas(ApiError)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// Says in the OpenAPI document that requests carry `Authorization: Bearer <token>`, so
/// Swagger UI's "Authorize" sends it.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The whole router: API, OpenAPI JSON, Swagger UI, SSE, metrics, dashboard.
pub fn router(ops: OpsHandle, floor: &Floor, auth: Auth, limits: Limits) -> Router {
    let app = App {
        ops,
        floor: Arc::new(floor_out(floor)),
        auth: Arc::new(auth),
        limits,
        metrics: metrics_handle(),
    };
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(tasks::submit_task, tasks::list_tasks))
        .routes(routes!(tasks::submit_batch))
        .routes(routes!(tasks::get_task))
        .routes(routes!(tasks::cancel_task))
        .routes(routes!(operate::list_robots))
        .routes(routes!(operate::get_robot))
        .routes(routes!(operate::robot_action))
        .routes(routes!(operate::list_stations))
        .routes(routes!(operate::staff_station))
        .routes(routes!(operate::unstaff_station))
        .routes(routes!(operate::release_station))
        .routes(routes!(operate::list_zones, operate::create_zone))
        .routes(routes!(operate::delete_zone))
        .routes(routes!(operate::put_pods))
        .routes(routes!(operate::fleet_action))
        .routes(routes!(dashboard::get_floor))
        .routes(routes!(dashboard::get_kpis))
        .routes(routes!(dashboard::get_live))
        .routes(routes!(dashboard::events))
        .routes(routes!(audit::list_audit))
        .split_for_parts();
    let api = api
        .route("/metrics", axum::routing::get(dashboard::render_metrics))
        .layer(middleware::from_fn_with_state(app.clone(), guard::guard))
        .with_state(app);
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/swagger-ui").url("/api/openapi.json", openapi))
        .route("/", axum::routing::get(dashboard::dashboard_page))
        .route("/app.js", axum::routing::get(dashboard::dashboard_js))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        // The guard already read the body within the limit; extractors must not cut it at
        // axum's 2 MB default.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
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

fn parse_json<T: for<'a> Deserialize<'a>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("body: {e}")))
}

fn live(app: &App) -> Arc<Live> {
    app.ops.live.borrow().clone()
}
