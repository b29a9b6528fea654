//! [`ApiError`], the one error shape clients see: an HTTP status, a stable code and a message,
//! whether a handler refused the request or the loop refused the command.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A client-facing error: HTTP status, a stable code, and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// Stable machine-readable code (`not_found`, `invalid`, `conflict`, ...).
    pub error: String,
    /// What is wrong, for people.
    pub message: String,
}

impl ApiError {
    /// 400.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid", message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }
    /// 422: well-formed, but this floor cannot do it (no such pod, SKU or station).
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "unprocessable", message)
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "conflict", message)
    }
    /// 503: the coordinator or the store is not available.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "unavailable", message)
    }
    /// Any status.
    pub fn new(status: u16, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.to_string(),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self)).into_response()
    }
}
