//! A JSON body extractor whose rejections use the API's error shape: malformed JSON is 400 and
//! says where; a well-formed body of the wrong shape (missing or unknown fields, wrong types)
//! is 422 naming the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use taskflow_core::ValidationError;

use crate::error::{Kind, Refusal};

/// The largest JSON body read: axum's default body limit, which the API keeps.
pub const BODY_LIMIT: usize = 2 << 20;

pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        if !is_json(req.headers()) {
            return Err(Refusal::new(
                Kind::UnsupportedMediaType,
                "send the body as Content-Type: application/json",
            ));
        }
        // Too large (413) or unreadable (400): the rejection knows its status.
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Kind::TooLarge
            } else {
                Kind::BadRequest
            };
            Refusal::new(kind, rejection.body_text())
        })?;
        let mut reader = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
            let detail = e.to_string();
            let field = field_at(e.path(), e.inner(), "body");
            match e.inner().classify() {
                Category::Data => invalid(
                    field,
                    detail,
                    "the request body does not fit",
                    Kind::Invalid,
                ),
                _ => malformed(&detail),
            }
        })?;
        reader.end().map_err(|e| malformed(&e.to_string()))?;
        Ok(Json(value))
    }
}

/// `application/json`, or a type with the `+json` suffix.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(essence) = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    essence == "application/json"
        || essence.starts_with("application/") && essence.ends_with("+json")
}

fn malformed(detail: &str) -> Refusal {
    Refusal::new(Kind::MalformedJson, format!("malformed JSON: {detail}"))
}

/// A value of the wrong shape, naming where it is.
fn invalid(field: String, detail: String, what: &str, kind: Kind) -> Refusal {
    Refusal {
        fields: vec![ValidationError::new(field, detail.clone())],
        ..Refusal::new(kind, format!("{what}: {detail}"))
    }
}

/// Where a deserialisation error is: the path `serde_path_to_error` tracked (`labels[0]`,
/// `colour`), or `whole` when it is about all of the input. A missing field is the one error
/// serde raises before there is a path to it: it is named in the error itself.
fn field_at(
    path: &serde_path_to_error::Path,
    error: &impl std::fmt::Display,
    whole: &str,
) -> String {
    let path = path.to_string();
    if path != "." {
        return path;
    }
    let message = error.to_string();
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map_or_else(|| whole.to_owned(), |(name, _)| name.to_owned())
}

/// Query-string parameters, rejected in the API's error shape (400, naming the problem).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Refusal> {
        let query = parts.uri.query().unwrap_or_default();
        let reader = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(reader)
            .map(Query)
            .map_err(|e| {
                let detail = format!("Failed to deserialize query string: {e}");
                let field = field_at(e.path(), e.inner(), "query");
                invalid(
                    field,
                    detail,
                    "the query string does not fit",
                    Kind::BadQuery,
                )
            })
    }
}

/// Path parameters, rejected in the API's error shape: a parameter of the wrong type (`/comments/abc`)
/// names nothing that exists, so it answers 404.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Refusal> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                Refusal::new(
                    Kind::NotFound,
                    format!("no such resource: {}", rejection.body_text()),
                )
            })
    }
}
