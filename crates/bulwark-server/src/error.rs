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
    /// What was wrong with each field of the request; never empty.
    #[error("{}", FieldError::joined(.0))]
    Invalid(Vec<FieldError>),
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

/// One field of a request and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn joined(errors: &[FieldError]) -> String {
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        messages.join("; ")
    }
}

/// Collects every problem of a request, so that one answer names them all instead of the
/// first only.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// The value of a check that succeeded; the problems of one that answered `Invalid` are
    /// kept (`None`); any other error ends the request.
    pub fn check<T>(&mut self, outcome: ApiResult<T>) -> ApiResult<Option<T>> {
        match outcome {
            Ok(value) => Ok(Some(value)),
            Err(AppError::Invalid(errors)) => {
                self.0.extend(errors);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    pub fn into_result(self) -> ApiResult<()> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(AppError::Invalid(self.0)),
        }
    }
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// Every field problem of an `Invalid` error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Invalid(errors) => errors,
            _ => &[],
        }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The request field an `Invalid` error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid(errors) => errors.first().map(|e| e.field.as_str()),
            _ => None,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
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
            AppError::Invalid(errors) => {
                body["field"] = json!(self.field());
                body["errors"] = json!(errors);
            }
            AppError::Internal(detail) => tracing::error!(detail = %detail, "request failed"),
            _ => {}
        }
        let message = self.to_string();
        let mut response = (status, Json(json!({ "error": body }))).into_response();
        response
            .extensions_mut()
            .insert(crate::audit::ErrorMessage(message));
        response
    }
}

pub type ApiResult<T> = Result<T, AppError>;
