//! The server's one error type. Every handler returns it with `?`; it becomes the JSON error
//! shape `{"error": {"code", "message", "field"?}}` with the matching status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bulwark_store::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooMany(String),
    #[error("request body is larger than the limit")]
    TooLarge,
    #[error("this endpoint does not answer that method")]
    MethodNotAllowed,
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The request field an `Invalid` error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            AppError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what.into()),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Forbidden(m) => AppError::Forbidden(m),
            StoreError::Invalid(m) => AppError::BadRequest(m),
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let mut body = json!({ "code": code, "message": self.to_string() });
        match &self {
            AppError::Invalid { field, .. } => body["field"] = json!(field),
            AppError::Internal(detail) => tracing::error!(detail = %detail, "request failed"),
            _ => {}
        }
        (status, Json(json!({ "error": body }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, AppError>;
