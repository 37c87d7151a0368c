//! Refusals: why a request was not done, in one type both front ends render. The API answers
//! with one error shape: `{"error": {"code": "not_found", "message": "…", "details": …}}`.

use std::any::Any;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use taskflow_core::{StoreError, ValidationError};

/// How long a client is asked to wait after a 503.
const RETRY_AFTER_UNAVAILABLE: std::time::Duration = std::time::Duration::from_secs(5);

/// What kind of refusal it is, said once for both front ends: the API answers it with its
/// HTTP status and `code`, the web UI with a page in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Fields that are wrong, each named (`fields`).
    Invalid,
    /// Query-string parameters that are wrong, each named.
    BadQuery,
    /// A request that cannot be read (an unreadable body, a bad upload).
    BadRequest,
    MalformedJson,
    UnsupportedMediaType,
    Unauthorized,
    Forbidden,
    /// A cookie-authenticated write without its CSRF token.
    Csrf,
    NotFound,
    /// `/metrics` asked for on a port that does not serve it.
    MetricsOff,
    MethodNotAllowed,
    Conflict,
    /// The project is archived, so read-only.
    Archived,
    /// An `Idempotency-Key` already used for another create (`details.id`).
    KeyUsed,
    /// An `Idempotency-Key` sent again with a different request.
    KeyReused,
    /// The version the client read is not the current one (`details.current_version`).
    Stale,
    TooLarge,
    RangeNotSatisfiable,
    /// Too many failed attempts; wait `retry_after`.
    Throttled,
    /// The database or file storage cannot be reached; try again (`retry_after`).
    Unavailable,
    /// The write was saved but its answer could not be read back.
    Committed,
    /// The disk is full.
    Full,
    /// The project's attachment quota is used up.
    QuotaExceeded,
    Internal,
}

impl Kind {
    /// The HTTP status and the `code` the API answers with.
    pub const fn http(self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::Invalid => (S::UNPROCESSABLE_ENTITY, "invalid"),
            Self::BadQuery => (S::BAD_REQUEST, "bad_query"),
            Self::BadRequest => (S::BAD_REQUEST, "bad_request"),
            Self::MalformedJson => (S::BAD_REQUEST, "malformed_json"),
            Self::UnsupportedMediaType => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::Unauthorized => (S::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden => (S::FORBIDDEN, "forbidden"),
            Self::Csrf => (S::FORBIDDEN, "csrf"),
            Self::NotFound => (S::NOT_FOUND, "not_found"),
            Self::MetricsOff => (S::NOT_FOUND, "metrics_off"),
            Self::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict => (S::CONFLICT, "conflict"),
            Self::Archived => (S::CONFLICT, "archived"),
            Self::KeyUsed => (S::CONFLICT, "idempotency_key_used"),
            Self::KeyReused => (S::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            Self::Stale => (S::PRECONDITION_FAILED, "version_mismatch"),
            Self::TooLarge => (S::PAYLOAD_TOO_LARGE, "too_large"),
            Self::RangeNotSatisfiable => (S::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
            Self::Throttled => (S::TOO_MANY_REQUESTS, "too_many_attempts"),
            Self::Unavailable => (S::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Committed => (S::SERVICE_UNAVAILABLE, "committed"),
            Self::Full => (S::INSUFFICIENT_STORAGE, "insufficient_storage"),
            Self::QuotaExceeded => (S::INSUFFICIENT_STORAGE, "quota_exceeded"),
            Self::Internal => (S::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// Whether the request clashed with the state of things (a name taken, an archived
    /// project…): a form shows it beside its fields.
    pub const fn is_conflict(self) -> bool {
        matches!(self, Self::Conflict | Self::Archived | Self::KeyUsed)
    }
}

/// Why a request was refused, for both front ends: what kind of refusal, in words, with the
/// fields that were wrong and what a client may act on. `input`, `access`, `session` and
/// `upload` return it; the API renders it as JSON (`IntoResponse` here), the web UI as a page
/// (`web::kit::refusal`).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: Kind,
    pub message: String,
    /// For `invalid` and `bad_query`: each field that is wrong and why, in the order of the
    /// request's fields. Sent as `details.fields`; pages show the messages.
    pub fields: Vec<ValidationError>,
    /// Anything else a client may act on (`current_version`, `id`), sent as `details`.
    pub details: Option<Value>,
    /// How long to wait before trying again: sent as `Retry-After` (every 503 has one).
    pub retry_after: Option<std::time::Duration>,
}

impl Refusal {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            fields: Vec::new(),
            details: None,
            retry_after: None,
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> StatusCode {
        self.kind.http().0
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, format!("{what} not found"))
    }

    /// 503 `unavailable`: answered with `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }

    /// A write that committed, whose answer could not be built (the database went away
    /// between the commit and the reads the answer needs): never "nothing was written".
    pub fn committed() -> Self {
        Self {
            retry_after: Some(std::time::Duration::from_secs(5)),
            ..Self::new(
                Kind::Committed,
                "the change was saved, but its answer could not be read back; read it again in a \
                 moment instead of repeating the request",
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(Kind::Internal, "internal error; it has been logged")
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code) = self.kind.http();
        let mut body = json!({ "error": { "code": code, "message": self.message } });
        if let Some(details) = self.details {
            body["error"]["details"] = details;
        }
        if !self.fields.is_empty() {
            body["error"]["details"]["fields"] = json!(self.fields);
        }
        let mut response = (status, Json(body)).into_response();
        let retry_after = self
            .retry_after
            .or((status == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_UNAVAILABLE));
        if let Some(wait) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        response
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => Self::not_found(entity),
            StoreError::Conflict(message) => Self::new(Kind::Conflict, message),
            StoreError::VersionMismatch { current } => Self {
                details: Some(json!({ "current_version": current })),
                ..Self::new(
                    Kind::Stale,
                    format!("the task has changed; its current version is {current}"),
                )
            },
            // Like every other 422, it names the field that is wrong.
            StoreError::Cycle => Self {
                fields: vec![ValidationError::new("parent", err.to_string())],
                ..Self::new(Kind::Invalid, format!("parent: {err}"))
            },
            StoreError::Invalid(v) => Self {
                message: v.to_string(),
                fields: vec![v],
                ..Self::new(Kind::Invalid, "")
            },
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "the database is unavailable");
                Self::unavailable("the database is unavailable; try again shortly")
            }
            // Handlers of creates answer a replay with what the first request made; reaching
            // here means one did not expect it.
            StoreError::Replayed { id } => Self {
                details: Some(json!({ "id": id })),
                ..Self::new(Kind::KeyUsed, err.to_string())
            },
            StoreError::KeyReused => Self::new(Kind::KeyReused, err.to_string()),
            StoreError::Full => Self::new(
                Kind::Full,
                "the database's disk is full; nothing was written",
            ),
            StoreError::Backend(source) => {
                tracing::error!(error = %source, "storage backend error");
                Self::internal()
            }
        }
    }
}

impl From<taskflow_core::ValidationError> for Refusal {
    fn from(err: taskflow_core::ValidationError) -> Self {
        StoreError::Invalid(err).into()
    }
}

/// A known path asked with a method it does not answer; the router adds `Allow`.
pub async fn method_not_allowed() -> Refusal {
    Refusal::new(
        Kind::MethodNotAllowed,
        "this path does not answer that method; see the Allow header",
    )
}

pub async fn not_found() -> Refusal {
    Refusal::not_found("route")
}

pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!(panic = what, "request handler panicked");
    Refusal::internal().into_response()
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
/// `Refusal`).
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
