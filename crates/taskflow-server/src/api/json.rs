//! A JSON body extractor whose rejections use the API's error shape: malformed JSON is 400 and
//! says where; a well-formed body of the wrong shape (missing or unknown fields, wrong types)
//! is 422 naming the field.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::ApiError;
use crate::input::field_in;

/// The largest JSON body read: axum's default body limit, which the API keeps.
pub const BODY_LIMIT: usize = 2 << 20;

pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    let detail = std::error::Error::source(&rejection)
        .map(ToString::to_string)
        .unwrap_or_else(|| rejection.body_text());
    match rejection {
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {detail}"),
        ),
        JsonRejection::JsonDataError(_) => ApiError {
            details: Some(
                json!({ "fields": [{ "field": field_in(&detail, "body"), "message": detail }] }),
            ),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("the request body does not fit: {detail}"),
            )
        },
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        // Too large (413), unreadable body (400)…: the rejection knows its status.
        other => ApiError::new(
            other.status(),
            if other.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_request"
            },
            other.body_text(),
        ),
    }
}

/// Query-string parameters, rejected in the API's error shape (400, naming the problem).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                let detail = std::error::Error::source(&rejection)
                    .map(ToString::to_string)
                    .unwrap_or_else(|| rejection.body_text());
                ApiError {
                    details: Some(json!({ "fields": [{ "field": field_in(&detail, "query"), "message": detail }] })),
                    ..ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_query",
                        format!("the query string does not fit: {detail}"),
                    )
                }
            })
    }
}

/// Path parameters, rejected in the API's error shape: a parameter of the wrong type (`/comments/abc`)
/// names nothing that exists, so it answers 404.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no such resource: {}", rejection.body_text()),
                )
            })
    }
}
