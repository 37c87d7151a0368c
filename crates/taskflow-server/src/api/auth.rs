//! Who is calling: a bearer API token (`Authorization: Bearer tf_…`).

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use taskflow_core::Timestamp;
use taskflow_core::user::{TokenSecret, User};

use crate::{ApiError, AppState};

/// The authenticated user of a request. Extracting it answers 401 when there is no valid
/// credential; the token itself never reaches a log.
pub struct CurrentUser(pub User);

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthorized("authentication required: send Authorization: Bearer <token>")
        })?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| TokenSecret::parse(t.trim()))
            .ok_or_else(|| {
                unauthorized("malformed Authorization header; expected Bearer <token>")
            })?;
        match state
            .store
            .authenticate_token(&secret.hash(), Timestamp::now())
            .await
        {
            Ok((user, _token)) => Ok(CurrentUser(user)),
            Err(taskflow_core::StoreError::NotFound { .. }) => {
                Err(unauthorized("invalid, expired or revoked token"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}
