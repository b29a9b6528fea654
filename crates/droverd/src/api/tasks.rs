//! The task endpoints: submit (one, or a batch in one transaction, idempotent by key), list
//! with filters and paging, get and cancel; submitted tasks become stored specs checked
//! against the floor.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use drover_store::{
    ErrandKind, ErrandSpec, Outcome, PodChoice, SpecKind, TaskQuery, TaskRow, TaskSpec, TaskStatus,
    Write,
};
use tokio::sync::oneshot;

use super::{
    App, Batch, BatchItem, BatchOut, ErrandActionName, ErrandIn, MAX_BATCH, NewTask, TaskFilter,
    TaskKindName, TaskOut, bounds, parse_json,
};
use crate::error::ApiError;
use crate::ops::Command;

/// A submitted task -> the stored spec, checked against the floor.
pub(super) fn to_spec(app: &App, t: &NewTask) -> Result<TaskSpec, ApiError> {
    for (field, name) in [
        ("key", &t.key),
        ("pod", &t.pod),
        ("sku", &t.sku),
        ("station", &t.station),
    ] {
        if let Some(name) = name {
            bounds::name(field, name)?;
        }
    }
    bounds::check("priority", t.priority, &bounds::PRIORITY)?;
    if let Some(d) = t.deadline_ms {
        bounds::deadline("deadline_ms", d, crate::clock::now_ms())?;
    }
    let kind = match t.kind {
        TaskKindName::Pick | TaskKindName::Stow => {
            if t.errands.is_some() {
                return Err(ApiError::invalid("errands belong to transport tasks"));
            }
            let pod = match (&t.pod, &t.sku) {
                (Some(p), None) => PodChoice::Pod(p.clone()),
                (None, Some(s)) => PodChoice::Sku(s.clone()),
                _ => return Err(ApiError::invalid("give exactly one of pod or sku")),
            };
            let units = bounds::check("units", t.units.unwrap_or(1), &bounds::UNITS)?;
            if t.kind == TaskKindName::Pick {
                SpecKind::Pick {
                    pod,
                    station: t.station.clone(),
                    units,
                }
            } else {
                SpecKind::Stow {
                    pod,
                    station: t.station.clone(),
                    units,
                }
            }
        }
        TaskKindName::Transport => {
            if t.pod.is_some() || t.sku.is_some() || t.station.is_some() || t.units.is_some() {
                return Err(ApiError::invalid(
                    "a transport takes errands only (no pod, sku, station or units)",
                ));
            }
            let errands = t
                .errands
                .as_ref()
                .ok_or_else(|| ApiError::invalid("a transport needs errands"))?;
            if !errands.is_empty() {
                bounds::check("number of errands", errands.len(), &bounds::ERRANDS)?;
            }
            let mut out = Vec::new();
            for (k, e) in errands.iter().enumerate() {
                let action = match (e.action, e.ticks) {
                    (ErrandActionName::Dwell, Some(t)) => ErrandKind::Dwell(bounds::check(
                        &format!("errands[{k}].ticks"),
                        t,
                        &bounds::DWELL_TICKS,
                    )?),
                    (ErrandActionName::Dwell, None) => {
                        return Err(ApiError::invalid(format!("errand {k}: dwell needs ticks")));
                    }
                    (_, Some(_)) => {
                        return Err(ApiError::invalid(format!(
                            "errand {k}: ticks only go with dwell"
                        )));
                    }
                    (ErrandActionName::Visit, None) => ErrandKind::Visit,
                    (ErrandActionName::Lift, None) => ErrandKind::Lift,
                    (ErrandActionName::Drop, None) => ErrandKind::Drop,
                };
                out.push(ErrandSpec {
                    cell: e.cell,
                    action,
                });
            }
            SpecKind::Transport { errands: out }
        }
    };
    let spec = TaskSpec {
        kind,
        priority: t.priority,
        deadline_ms: t.deadline_ms,
    };
    app.ops.names.check(&spec)?;
    Ok(spec)
}

pub(super) fn from_spec(spec: &TaskSpec, key: Option<String>) -> NewTask {
    let mut t = NewTask {
        kind: TaskKindName::Pick,
        pod: None,
        sku: None,
        station: None,
        units: None,
        errands: None,
        priority: spec.priority,
        deadline_ms: spec.deadline_ms,
        key,
    };
    match &spec.kind {
        SpecKind::Pick {
            pod,
            station,
            units,
        }
        | SpecKind::Stow {
            pod,
            station,
            units,
        } => {
            if matches!(spec.kind, SpecKind::Stow { .. }) {
                t.kind = TaskKindName::Stow;
            }
            match pod {
                PodChoice::Pod(p) => t.pod = Some(p.clone()),
                PodChoice::Sku(s) => t.sku = Some(s.clone()),
            }
            t.station = station.clone();
            t.units = Some(*units);
        }
        SpecKind::Transport { errands } => {
            t.kind = TaskKindName::Transport;
            t.errands = Some(
                errands
                    .iter()
                    .map(|e| {
                        let (action, ticks) = match e.action {
                            ErrandKind::Visit => (ErrandActionName::Visit, None),
                            ErrandKind::Lift => (ErrandActionName::Lift, None),
                            ErrandKind::Drop => (ErrandActionName::Drop, None),
                            ErrandKind::Dwell(t) => (ErrandActionName::Dwell, Some(t)),
                        };
                        ErrandIn {
                            cell: e.cell,
                            action,
                            ticks,
                        }
                    })
                    .collect(),
            );
        }
    }
    t
}

pub(super) fn task_out(row: TaskRow) -> TaskOut {
    TaskOut {
        id: row.id,
        status: row.status.name().to_string(),
        robot: row.robot,
        reason: row.reason,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
        task: from_spec(&row.spec, row.key),
    }
}

/// Commits checked specs in one transaction and hands new ones to the loop.
pub(super) async fn store_tasks(
    app: &App,
    items: Vec<(Option<String>, TaskSpec)>,
    now: u64,
) -> Result<Vec<Outcome>, ApiError> {
    let writes = items
        .iter()
        .map(|(key, spec)| Write::InsertTask {
            key: key.clone(),
            spec: spec.clone(),
            at_ms: now,
        })
        .collect();
    let outcomes = app
        .ops
        .committer
        .commit(writes)
        .await
        .map_err(|e| ApiError::unavailable(format!("the store refused the commit: {e}")))?;
    for (o, (_, spec)) in outcomes.iter().zip(items) {
        if let Outcome::Inserted { id } = o {
            metrics::counter!("drover_tasks_submitted_total").increment(1);
            // Durable already: if the loop is gone, a restart picks the task up.
            let _ = app
                .ops
                .commands
                .send(Command::Submit { id: *id, spec })
                .await;
        }
    }
    Ok(outcomes)
}

/// Reads a task on a blocking thread (SQLite IO stays off the runtime's workers).
pub(super) async fn stored(app: &App, id: u64) -> Result<TaskOut, ApiError> {
    if !bounds::ID.contains(&id) {
        return Err(ApiError::not_found(format!("no task {id}")));
    }
    let store = app.ops.committer.store().clone();
    match tokio::task::spawn_blocking(move || store.task(id)).await {
        Ok(Ok(Some(row))) => Ok(task_out(row)),
        Ok(Ok(None)) => Err(ApiError::not_found(format!("no task {id}"))),
        Ok(Err(e)) => Err(ApiError::unavailable(e.to_string())),
        Err(e) => Err(ApiError::unavailable(e.to_string())),
    }
}

/// Submit one task. Answers 201 once it is durable; a repeated idempotency key answers 200
/// with the first task, or 409 when the body differs.
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = TaskOut), (status = 200, description = "repeated key", body = TaskOut),
              (status = 400, body = ApiError), (status = 409, body = ApiError),
              (status = 413, body = ApiError), (status = 415, body = ApiError),
              (status = 422, description = "no such pod, SKU or station on this floor, or a number out of range", body = ApiError)))]
pub(super) async fn submit_task(State(app): State<App>, body: Bytes) -> Result<Response, ApiError> {
    let t: NewTask = parse_json(&body)?;
    let spec = to_spec(&app, &t)?;
    let at = crate::clock::now_ms();
    let outcomes = store_tasks(&app, vec![(t.key.clone(), spec.clone())], at).await?;
    match outcomes.first() {
        // Just stored: the row is what was sent, queued (no read back on the hot path).
        Some(Outcome::Inserted { id }) => {
            let row = TaskRow {
                id: *id,
                key: t.key,
                spec,
                status: TaskStatus::Queued,
                robot: None,
                reason: None,
                created_ms: at,
                updated_ms: at,
            };
            Ok((StatusCode::CREATED, Json(task_out(row))).into_response())
        }
        Some(Outcome::Existing { id }) => {
            Ok((StatusCode::OK, Json(stored(&app, *id).await?)).into_response())
        }
        Some(Outcome::KeyConflict { id }) => Err(ApiError::conflict(format!(
            "key already used by task {id} with a different body"
        ))),
        other => Err(ApiError::unavailable(format!(
            "unexpected store outcome {other:?}"
        ))),
    }
}

/// Submit up to 10,000 tasks in one transaction. Each gets its own result.
#[utoipa::path(post, path = "/api/tasks/batch", tag = "tasks", request_body = Batch,
    responses((status = 200, body = BatchOut), (status = 400, body = ApiError)))]
pub(super) async fn submit_batch(
    State(app): State<App>,
    body: Bytes,
) -> Result<Json<BatchOut>, ApiError> {
    let batch: Batch = parse_json(&body)?;
    if batch.tasks.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "a batch takes at most {MAX_BATCH} tasks, got {}",
            batch.tasks.len()
        )));
    }
    let mut results: Vec<BatchItem> = Vec::with_capacity(batch.tasks.len());
    let mut good = Vec::new();
    let mut slots = Vec::new();
    for (k, value) in batch.tasks.into_iter().enumerate() {
        let checked = serde_json::from_value::<NewTask>(value)
            .map_err(|e| ApiError::invalid(format!("task {k}: {e}")))
            .and_then(|t| to_spec(&app, &t).map(|s| (t.key.clone(), s)));
        match checked {
            Ok(item) => {
                slots.push(results.len());
                good.push(item);
                results.push(BatchItem {
                    status: 0,
                    id: None,
                    error: None,
                });
            }
            Err(e) => results.push(BatchItem {
                status: e.status,
                id: None,
                error: Some(e),
            }),
        }
    }
    let outcomes = store_tasks(&app, good, crate::clock::now_ms()).await?;
    for (slot, o) in slots.into_iter().zip(outcomes) {
        results[slot] = match o {
            Outcome::Inserted { id } => BatchItem {
                status: 201,
                id: Some(id),
                error: None,
            },
            Outcome::Existing { id } => BatchItem {
                status: 200,
                id: Some(id),
                error: None,
            },
            Outcome::KeyConflict { id } => BatchItem {
                status: 409,
                id: Some(id),
                error: Some(ApiError::conflict(format!(
                    "key already used by task {id} with a different body"
                ))),
            },
            other => BatchItem {
                status: 503,
                id: None,
                error: Some(ApiError::unavailable(format!(
                    "unexpected outcome {other:?}"
                ))),
            },
        };
    }
    Ok(Json(BatchOut { results }))
}

/// List tasks, oldest first, with filters and paging.
#[utoipa::path(get, path = "/api/tasks", tag = "tasks", params(TaskFilter),
    responses((status = 200, body = Vec<TaskOut>), (status = 400, body = ApiError), (status = 422, body = ApiError)))]
pub(super) async fn list_tasks(
    State(app): State<App>,
    Query(filter): Query<TaskFilter>,
) -> Result<Json<Vec<TaskOut>>, ApiError> {
    let mut statuses = Vec::new();
    for s in filter.status.iter().flat_map(|s| s.split(',')) {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        statuses.push(TaskStatus::parse(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "unknown status {s:?}; use queued, assigned, in_progress, done, failed or cancelled"
            ))
        })?);
    }
    let limit = bounds::check("limit", filter.limit.unwrap_or(100), &bounds::TASK_PAGE)?;
    let after = filter
        .after
        .map(|a| bounds::check("after", a, &bounds::ID))
        .transpose()?;
    let query = TaskQuery {
        statuses,
        after,
        limit,
    };
    let store = app.ops.committer.store().clone();
    let rows = tokio::task::spawn_blocking(move || store.tasks(&query))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(rows.into_iter().map(task_out).collect()))
}

/// One task.
#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", params(("id" = u64, Path)),
    responses((status = 200, body = TaskOut), (status = 404, body = ApiError)))]
pub(super) async fn get_task(
    State(app): State<App>,
    Path(id): Path<u64>,
) -> Result<Json<TaskOut>, ApiError> {
    stored(&app, id).await.map(Json)
}

pub(super) async fn ask(
    app: &App,
    make: impl FnOnce(oneshot::Sender<Result<(), ApiError>>) -> Command,
) -> Result<(), ApiError> {
    let (tx, rx) = oneshot::channel();
    app.ops
        .commands
        .send(make(tx))
        .await
        .map_err(|_| ApiError::unavailable("the coordinator is not running"))?;
    rx.await
        .map_err(|_| ApiError::unavailable("the coordinator is still locating robots; try again"))?
}

/// Cancel a task (queued, or under way: a carried pod goes back to storage).
#[utoipa::path(post, path = "/api/tasks/{id}/cancel", tag = "tasks", params(("id" = u64, Path)),
    responses((status = 200, body = TaskOut), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn cancel_task(
    State(app): State<App>,
    Path(id): Path<u64>,
) -> Result<Json<TaskOut>, ApiError> {
    if !bounds::ID.contains(&id) {
        return Err(ApiError::not_found(format!("no task {id}")));
    }
    ask(&app, |reply| Command::Cancel { id, reply }).await?;
    stored(&app, id).await.map(Json)
}
