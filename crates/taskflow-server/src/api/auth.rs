//! Who is calling: a bearer API token (`Authorization: Bearer tf_…`), or the web UI's session
//! cookie. Cookie-authenticated unsafe requests must carry the session's CSRF token in
//! `X-CSRF-Token`; a token in a header cannot be sent by another site's form.

use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taskflow_core::user::{TokenSecret, User};
use taskflow_core::{StoreError, Timestamp};

use crate::api::json::Json;
use crate::error::{Kind, Refusal};
use crate::session::{
    CSRF_HEADER, ClientIp, cookie, live_session, same, session_cookie, sign_in, unauthorized,
};
use crate::state::AppState;

/// The authenticated user of a request. Extracting it answers 401 when there is no valid
/// credential; credentials never reach a log.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Refusal;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        if let Some(header) = parts.headers.get(AUTHORIZATION) {
            let presented = header
                .to_str()
                .ok()
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    unauthorized("malformed Authorization header; expected Bearer <token>")
                })?;
            // A token not of our form is no different from one we never issued.
            let Some(secret) = TokenSecret::parse(presented) else {
                return Err(unauthorized("invalid, expired or revoked token"));
            };
            return match state
                .store
                .authenticate_token(&secret.hash(), Timestamp::now())
                .await
            {
                Ok((user, _token)) => Ok(CurrentUser(user)),
                Err(StoreError::NotFound { .. }) => {
                    Err(unauthorized("invalid, expired or revoked token"))
                }
                Err(e) => Err(e.into()),
            };
        }
        let Some(secret) = session_cookie(&parts.headers) else {
            return Err(unauthorized(
                "authentication required: log in, or send Authorization: Bearer <token>",
            ));
        };
        let (user, session) = match live_session(state, &secret).await {
            Ok(found) => found,
            Err(StoreError::NotFound { .. }) => {
                return Err(unauthorized("the session has expired; log in again"));
            }
            Err(e) => return Err(e.into()),
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same(sent, &session.csrf_token) {
                return Err(Refusal::new(
                    Kind::Csrf,
                    "missing or wrong X-CSRF-Token for a cookie-authenticated request",
                ));
            }
        }
        Ok(CurrentUser(user))
    }
}

#[utoipa::path(
    get,
    operation_id = "auth_me",
    path = "/me",
    tag = "users",
    responses((status = 200, body = User), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn me(CurrentUser(user): CurrentUser) -> axum::Json<User> {
    axum::Json(user)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    user: User,
    /// Send in `X-CSRF-Token` with every unsafe request made with the session cookie.
    csrf_token: String,
    expires_at: Timestamp,
}

#[utoipa::path(
    post,
    operation_id = "auth_login",
    path = "/auth/login",
    tag = "auth",
    request_body = Login,
    responses((status = 200, body = SessionInfo, description = "logged in; sets the session cookie"), crate::error::Failures)
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<Login>,
) -> Result<Response, Refusal> {
    let (user, secret, session) =
        sign_in(&state, &body.username, body.password, ip, &headers).await?;
    let info = SessionInfo {
        user,
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    };
    Ok((
        [(
            SET_COOKIE,
            cookie(&state, secret.expose(), state.auth.session_ttl),
        )],
        axum::Json(info),
    )
        .into_response())
}

/// The signed-in user and the CSRF token, for a page that has only the cookie.
#[utoipa::path(
    get,
    operation_id = "auth_session",
    path = "/auth/session",
    tag = "auth",
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::ErrorBody, description = "no session, or it expired or ended"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`)"))
)]
pub async fn session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::Json<SessionInfo>, Refusal> {
    let secret = session_cookie(&headers).ok_or_else(|| unauthorized("not logged in"))?;
    match live_session(&state, &secret).await {
        Ok((user, session)) => Ok(axum::Json(SessionInfo {
            user,
            csrf_token: session.csrf_token,
            expires_at: session.expires_at,
        })),
        Err(StoreError::NotFound { .. }) => Err(unauthorized("not logged in")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    post,
    operation_id = "auth_logout",
    path = "/auth/logout",
    tag = "auth",
    responses((status = 204, description = "logged out; clears the cookie"), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    if let Some(secret) = session_cookie(&headers) {
        match state.store.delete_session(&secret.hash()).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, cookie(&state, "", Duration::ZERO))],
    )
        .into_response())
}
