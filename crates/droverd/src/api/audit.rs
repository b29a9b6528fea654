//! The audit trail of operator actions: every write that got past the token check is stored
//! with its role, time, method, path, a short summary of its body, the task it created or
//! concerned, and the status answered (`drover_store::Write::Audit`, committed before the
//! answer goes out); `GET /api/audit` pages through it.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Method, header};
use axum::response::Response;
use drover_store::{AuditEntry, AuditQuery, Write};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Role;
use super::{App, bounds};
use crate::error::ApiError;

/// Characters of a body kept in its summary.
const SUMMARY_CHARS: usize = 200;

/// One operator action.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Id (paging: `?after=`).
    pub id: u64,
    /// When it was answered, Unix ms.
    pub at_ms: u64,
    /// `operator` (the operator token) or `open` (no operator token configured).
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// The body's first 200 characters, whitespace folded.
    pub summary: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The task created or concerned.
    pub task: Option<u64>,
}

/// Paging.
#[derive(Clone, Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFilter {
    /// Only ids above this.
    pub(super) after: Option<u64>,
    /// At most this many (default 100, at most 1,000).
    pub(super) limit: Option<usize>,
}

/// The audit trail, oldest first: who did what through the API, and the answer.
#[utoipa::path(get, path = "/api/audit", tag = "floor", params(AuditFilter),
    responses((status = 200, body = Vec<AuditOut>), (status = 422, body = ApiError)))]
pub(super) async fn list_audit(
    State(app): State<App>,
    Query(filter): Query<AuditFilter>,
) -> Result<Json<Vec<AuditOut>>, ApiError> {
    let query = AuditQuery {
        after: filter
            .after
            .map(|a| bounds::check("after", a, &bounds::ID))
            .transpose()?,
        limit: bounds::check("limit", filter.limit.unwrap_or(100), &bounds::AUDIT_PAGE)?,
    };
    let store = app.ops.committer.store().clone();
    let rows = tokio::task::spawn_blocking(move || store.audit(&query))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditOut {
                id: r.id,
                at_ms: r.entry.at_ms,
                role: r.entry.role,
                method: r.entry.method,
                path: r.entry.path,
                summary: r.entry.summary,
                status: r.entry.status,
                task: r.entry.task,
            })
            .collect(),
    ))
}

/// A body as the audit trail keeps it: its first characters, whitespace and control
/// characters folded into single spaces. Bodies carry no tokens (those are headers).
pub(super) fn summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * SUMMARY_CHARS)]);
    let mut out = String::new();
    let (mut n, mut space) = (0, false);
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if n >= SUMMARY_CHARS {
            out.push('…');
            break;
        }
        if space && n > 0 {
            out.push(' ');
            n += 1;
        }
        space = false;
        out.push(c);
        n += 1;
    }
    out
}

/// Stores the entry for a write (waiting until it is durable) and passes the response on.
/// A store that refuses is logged and counted, the answer stays what the handler said.
pub(super) async fn record(
    app: &App,
    role: Role,
    method: &Method,
    path: &str,
    summary: String,
    response: Response,
) -> Response {
    let status = response.status().as_u16();
    let (response, task) = task_of(method, path, response).await;
    let entry = AuditEntry {
        at_ms: crate::clock::now_ms(),
        role: role.name().to_string(),
        method: method.to_string(),
        path: path.chars().take(500).collect(),
        summary,
        status,
        task,
    };
    if let Err(e) = app.ops.committer.commit(vec![Write::Audit(entry)]).await {
        metrics::counter!("drover_audit_failures_total").increment(1);
        tracing::warn!(error = %e, %method, path, "an audit entry could not be stored");
    }
    response
}

/// The task a write concerned: the id in `/api/tasks/{id}/...`, or the one a submission
/// created (read from the answer, which is small JSON).
async fn task_of(method: &Method, path: &str, response: Response) -> (Response, Option<u64>) {
    let rest = path.strip_prefix("/api/tasks/");
    if let Some(id) = rest.and_then(|r| r.split('/').next()?.parse::<u64>().ok()) {
        return (response, Some(id));
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(method == Method::POST && path == "/api/tasks" && response.status().is_success() && json) {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, 1 << 20).await {
        Ok(bytes) => {
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["id"].as_u64());
            (Response::from_parts(parts, Body::from(bytes)), id)
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading a task answer for the audit trail failed");
            (Response::from_parts(parts, Body::empty()), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn summaries_fold_whitespace_and_stay_short() {
        assert_eq!(
            summary(b"{\n  \"kind\":  \"pick\"\r\n}"),
            "{ \"kind\": \"pick\" }"
        );
        let long = summary(&vec![b'x'; 10_000]);
        assert_eq!(long.chars().count(), 201);
        assert!(long.ends_with('…'));
        assert_eq!(summary(b""), "");
    }
}
