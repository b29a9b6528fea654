//! The operator endpoints: robots, stations, zones, pod contents and the fleet-wide pause;
//! reads come from the live view, commands go to the loop and answer once committed.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use drover_store::ZoneSpec;

use super::tasks::ask;
use super::{Ack, App, StaffIn, ZoneIn, bounds, live, parse_json};
use crate::error::ApiError;
use crate::ops::{Command, RobotOp, RobotOut, StationOp, StationOut, ZoneOut};

/// Every robot.
#[utoipa::path(get, path = "/api/robots", tag = "robots", responses((status = 200, body = Vec<RobotOut>)))]
pub(super) async fn list_robots(State(app): State<App>) -> Json<Vec<RobotOut>> {
    Json(live(&app).robots.clone())
}

/// One robot: position, heading, battery, task, connection, errors.
#[utoipa::path(get, path = "/api/robots/{serial}", tag = "robots", params(("serial" = String, Path)),
    responses((status = 200, body = RobotOut), (status = 404, body = ApiError)))]
pub(super) async fn get_robot(
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
pub(super) async fn robot_action(
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
pub(super) async fn list_stations(State(app): State<App>) -> Json<Vec<StationOut>> {
    Json(live(&app).stations.clone())
}

/// An associate takes the station.
#[utoipa::path(post, path = "/api/stations/{name}/staff", tag = "stations", params(("name" = String, Path)),
    request_body = StaffIn, responses((status = 200, body = Ack), (status = 404, body = ApiError)))]
pub(super) async fn staff_station(
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
pub(super) async fn unstaff_station(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Ack>, ApiError> {
    station_command(&app, name, StationOp::Unstaff).await
}

/// The associate is done with the presented pod (its tasks are done, durably, before this
/// answers).
#[utoipa::path(post, path = "/api/stations/{name}/release", tag = "stations", params(("name" = String, Path)),
    responses((status = 200, body = Ack), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn release_station(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Ack>, ApiError> {
    station_command(&app, name, StationOp::Release).await
}

/// Zones for associates in the robot field.
#[utoipa::path(get, path = "/api/zones", tag = "zones", responses((status = 200, body = Vec<ZoneOut>)))]
pub(super) async fn list_zones(State(app): State<App>) -> Json<Vec<ZoneOut>> {
    Json(live(&app).zones.clone())
}

/// Create a zone from cells or a rectangle.
#[utoipa::path(post, path = "/api/zones", tag = "zones", request_body = ZoneIn,
    responses((status = 201, body = ZoneOut), (status = 400, body = ApiError), (status = 422, body = ApiError)))]
pub(super) async fn create_zone(State(app): State<App>, body: Bytes) -> Result<Response, ApiError> {
    let z: ZoneIn = parse_json(&body)?;
    let names = &app.ops.names;
    if z.name.is_empty() || z.name.len() > 100 {
        return Err(ApiError::invalid("name must be 1 to 100 bytes"));
    }
    let max_speed = match (z.mode.as_str(), z.max_speed) {
        ("blocked", None) => None,
        ("blocked", Some(_)) => return Err(ApiError::invalid("max_speed goes with mode slow")),
        ("slow", Some(v)) if v.is_finite() && v > 0.0 && v < 10.0 => Some(v),
        ("slow", Some(v)) => {
            return Err(ApiError::new(
                422,
                "out_of_range",
                format!("max_speed must be above 0 and below 10 m/s, got {v}"),
            ));
        }
        ("slow", None) => {
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
    let n = (names.width * names.height) as usize;
    bounds::check("number of cells", z.cells.len(), &(0..=n))?;
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
pub(super) async fn put_pods(State(app): State<App>, body: Bytes) -> Result<Json<Ack>, ApiError> {
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
pub(super) async fn fleet_action(
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
pub(super) async fn delete_zone(
    State(app): State<App>,
    Path(id): Path<u64>,
) -> Result<Json<Ack>, ApiError> {
    if !bounds::ID.contains(&id) {
        return Err(ApiError::not_found(format!("no zone {id}")));
    }
    ask(&app, |reply| Command::DeleteZone { id, reply }).await?;
    Ok(Json(Ack { ok: true }))
}
