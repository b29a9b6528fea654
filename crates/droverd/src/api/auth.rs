//! Who may call the API: a bearer token for writes, and for reads too when the config asks;
//! `?access_token=` for browsers' `EventSource`, which cannot send headers.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use crate::error::ApiError;

/// Who may do what.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// Bearer token for writes (`None`: writes are open; only for demos and tests).
    pub write_token: Option<String>,
    /// Reads need the token too.
    pub read_token_required: bool,
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

pub(super) async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
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
