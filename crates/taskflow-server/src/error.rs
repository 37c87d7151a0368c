//! The one error shape every endpoint answers with:
//! `{"error": {"code": "not_found", "message": "…", "details": …}}`.

use std::any::Any;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use taskflow_core::{StoreError, ValidationError};

/// How long a client is asked to wait after a 503.
const RETRY_AFTER_UNAVAILABLE: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For `invalid` and `bad_query`: each field that is wrong and why, in the order of the
    /// request's fields. Sent as `details.fields`; pages show the messages.
    pub fields: Vec<ValidationError>,
    /// Anything else a client may act on (`current_version`, `id`), sent as `details`.
    pub details: Option<Value>,
    /// Sent as `Retry-After` (every 503 has one).
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            details: None,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 503 `unavailable`: answered with `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// A write that committed, whose answer could not be built (the database went away
    /// between the commit and the reads the answer needs): never "nothing was written".
    pub fn committed() -> Self {
        Self {
            retry_after: Some(std::time::Duration::from_secs(5)),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "committed",
                "the change was saved, but its answer could not be read back; read it again in a \
                 moment instead of repeating the request",
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(details) = self.details {
            body["error"]["details"] = details;
        }
        if !self.fields.is_empty() {
            body["error"]["details"]["fields"] = json!(self.fields);
        }
        let mut response = (self.status, Json(body)).into_response();
        let retry_after =
            self.retry_after
                .or((self.status == StatusCode::SERVICE_UNAVAILABLE)
                    .then_some(RETRY_AFTER_UNAVAILABLE));
        if let Some(wait) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => Self::not_found(entity),
            StoreError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            StoreError::VersionMismatch { current } => Self {
                details: Some(json!({ "current_version": current })),
                ..Self::new(
                    StatusCode::PRECONDITION_FAILED,
                    "version_mismatch",
                    format!("the task has changed; its current version is {current}"),
                )
            },
            // Like every other 422, it names the field that is wrong.
            StoreError::Cycle => Self {
                fields: vec![ValidationError::new("parent", err.to_string())],
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!("parent: {err}"),
                )
            },
            StoreError::Invalid(v) => Self {
                message: v.to_string(),
                fields: vec![v],
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "")
            },
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "the database is unavailable");
                Self::unavailable("the database is unavailable; try again shortly")
            }
            // Handlers of creates answer a replay with what the first request made; reaching
            // here means one did not expect it.
            StoreError::Replayed { id } => Self {
                details: Some(json!({ "id": id })),
                ..Self::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_used",
                    err.to_string(),
                )
            },
            StoreError::KeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                err.to_string(),
            ),
            StoreError::Full => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                "the database's disk is full; nothing was written",
            ),
            StoreError::Backend(source) => {
                tracing::error!(error = %source, "storage backend error");
                Self::internal()
            }
        }
    }
}

impl From<taskflow_core::ValidationError> for ApiError {
    fn from(err: taskflow_core::ValidationError) -> Self {
        StoreError::Invalid(err).into()
    }
}

/// A known path asked with a method it does not answer; the router adds `Allow`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not answer that method; see the Allow header",
    )
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!(panic = what, "request handler panicked");
    ApiError::internal().into_response()
}

/// The failures every operation may answer with, listed once for the OpenAPI document: any
/// 4XX, and 503 or 507 from the server.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // a document only
pub enum Failures {
    #[response(
        status = "4XX",
        description = "an error; see the error table in docs/api.md"
    )]
    Client(ErrorBody),
    #[response(
        status = "5XX",
        description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full"
    )]
    Server(ErrorBody),
}

/// The error shape, as the OpenAPI document describes it (responses are built from
/// `ApiError`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub struct ErrorDetail {
    /// Machine-readable: `not_found`, `invalid`, `version_mismatch`…
    code: String,
    message: String,
    /// For `invalid`: `{"fields": [{"field", "message"}]}`; for `version_mismatch`:
    /// `{"current_version"}`.
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
}
