//! What the dashboard and monitoring read: the floor, KPIs, the live document, the SSE event
//! stream, Prometheus `/metrics`, and the dashboard's own page and script.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::{App, FloorOut, live};
use crate::ops::{Kpis, Live};

/// The floor map.
#[utoipa::path(get, path = "/api/floor", tag = "floor", responses((status = 200, body = FloorOut)))]
pub(super) async fn get_floor(State(app): State<App>) -> Json<FloorOut> {
    Json((*app.floor).clone())
}

/// KPIs, live.
#[utoipa::path(get, path = "/api/kpis", tag = "floor", responses((status = 200, body = Kpis)))]
pub(super) async fn get_kpis(State(app): State<App>) -> Json<Kpis> {
    Json(live(&app).kpis.clone())
}

/// Everything live in one document (robots, stations, zones, KPIs, alerts): what the
/// dashboard loads before following the event stream.
#[utoipa::path(get, path = "/api/live", tag = "floor", responses((status = 200, body = Live)))]
pub(super) async fn get_live(State(app): State<App>) -> Json<Live> {
    let live = live(&app);
    Json((*live).clone())
}

/// Server-sent events: `robots` (moves), `task`, `station`, `zone`; `reset` tells the
/// client to reload (it fell too far behind). Resume with `Last-Event-ID`.
#[utoipa::path(get, path = "/api/events", tag = "floor",
    responses((status = 200, description = "text/event-stream")))]
pub(super) async fn events(
    State(app): State<App>,
    headers: HeaderMap,
) -> Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        // No event id is ever that high; clamped, it asks for a reset instead of wrapping.
        .map(|id| id.min(super::bounds::ID.end() - 1));
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

pub(super) async fn render_metrics(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

pub(super) async fn dashboard_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(include_str!("../../assets/index.html")),
    )
        .into_response()
}

pub(super) async fn dashboard_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        Body::from(include_str!("../../assets/app.js")),
    )
        .into_response()
}
