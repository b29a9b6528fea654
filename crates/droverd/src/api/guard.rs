//! The gate in front of every API route. Reads need a token when the config says so (the
//! header's, or the URL's for `EventSource`). A write must come from the daemon's own pages
//! (`origin`), carry the operator token in its `Authorization` header (`auth`), say
//! `Content-Type: application/json` (415; an HTML form or a `text/plain` fetch cannot, and a
//! page that sets it needs a CORS preflight this server never grants), announce no more
//! than `max_body_bytes` (413 before a byte of the body is read) and send its whole body
//! within `body_timeout` (408). What passed the token check is written to the audit trail
//! with the answer.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio_stream::StreamExt;

use super::{App, Limits, audit, auth, origin};
use crate::error::ApiError;

pub(super) async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let query_token = take_query_token(&mut parts.uri);
    let header_token = auth::bearer(&parts.headers);
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return match app.auth.reader(header_token, query_token.as_deref()) {
            Ok(_) => next.run(Request::from_parts(parts, body)).await,
            Err(e) => refuse(e),
        };
    }
    if let Err(e) = origin::check(&app.auth, &parts.headers) {
        return refuse(e);
    }
    let role = match app.auth.writer(header_token, query_token.is_some()) {
        Ok(role) => role,
        Err(e) => return refuse(e),
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let (response, summary) = match read_body(&app.limits, &parts.headers, body).await {
        Ok(bytes) => {
            let summary = audit::summary(&bytes);
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            (response, summary)
        }
        Err(e) => {
            metrics::counter!("drover_api_refused_total", "reason" => e.error.clone()).increment(1);
            // The body may be half read: this connection cannot carry another request.
            let mut response = e.into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            (response, String::new())
        }
    };
    audit::record(&app, role, &method, &path, summary, response).await
}

fn refuse(e: ApiError) -> Response {
    metrics::counter!("drover_api_refused_total", "reason" => e.error.clone()).increment(1);
    auth::refusal(e)
}

/// Takes a token out of the URI's query (see [`auth::strip_query_token`]).
fn take_query_token(uri: &mut Uri) -> Option<String> {
    let query = uri.query()?;
    if !query
        .split('&')
        .any(|p| p.starts_with("access_token=") || p.starts_with("token="))
    {
        return None;
    }
    let (token, rest) = auth::strip_query_token(query);
    let path_and_query = if rest.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{rest}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = PathAndQuery::try_from(path_and_query).ok();
    if let Ok(stripped) = Uri::from_parts(parts) {
        *uri = stripped;
    }
    token
}

/// A write's body: JSON, announced within the limit, whole within the deadline.
async fn read_body(limits: &Limits, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim());
    if !media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/json")) {
        return Err(ApiError::new(
            415,
            "unsupported_media_type",
            format!(
                "writes need `Content-Type: application/json` (got {})",
                media_type.map_or("none".to_string(), |m| format!("{:?}", clip(m)))
            ),
        ));
    }
    let max = limits.max_body_bytes;
    let too_large = || {
        ApiError::new(
            413,
            "too_large",
            format!("the body is over the limit of {max} bytes (api.max_body_bytes)"),
        )
    };
    if let Some(announced) = headers.get(header::CONTENT_LENGTH) {
        let announced = announced
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| ApiError::invalid("Content-Length is not a number"))?;
        if announced > max as u64 {
            return Err(too_large());
        }
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::invalid(format!("the body could not be read: {e}")))?;
            if buf.len() + chunk.len() > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::new(
            408,
            "timeout",
            format!(
                "the body did not arrive within {} ms (api.body_timeout_ms)",
                limits.body_timeout.as_millis()
            ),
        )),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}
