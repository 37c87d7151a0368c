//! Who is calling: a bearer API token (`Authorization: Bearer tf_…`), or the web UI's session
//! cookie. Cookie-authenticated unsafe requests must carry the session's CSRF token in
//! `X-CSRF-Token`; a token in a header cannot be sent by another site's form.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taskflow_core::user::{
    NewSession, PasswordHash, Session, TokenSecret, User, Username, csrf_token,
};
use taskflow_core::{StoreError, Timestamp};

use crate::api::json::Json;
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "taskflow_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated user of a request. Extracting it answers 401 when there is no valid
/// credential; credentials never reach a log.
pub struct CurrentUser(pub User);

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn session_cookie(headers: &HeaderMap) -> Option<TokenSecret> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| TokenSecret::parse(value))
}

/// Equal strings, compared in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
        let (user, session) = match state
            .store
            .authenticate_session(&secret.hash(), Timestamp::now())
            .await
        {
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
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
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
    responses((status = 200, body = User), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn me(CurrentUser(user): CurrentUser) -> axum::Json<User> {
    axum::Json(user)
}

/// Counts failed logins per username and per client address; past a few, every answer to
/// that key is delayed, doubling each time, and past a limit refused for a while.
pub struct LoginThrottle {
    free: u32,
    base_delay: Duration,
    max_delay: Duration,
    lockout_after: u32,
    window: Duration,
    /// Past this many tracked keys, expired ones are dropped on the next failure, so failed
    /// logins under ever-new names cannot grow the map without bound.
    prune_above: usize,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(
            3,
            Duration::from_millis(250),
            Duration::from_secs(5),
            20,
            Duration::from_secs(900),
        )
    }
}

impl LoginThrottle {
    pub fn new(
        free: u32,
        base_delay: Duration,
        max_delay: Duration,
        lockout_after: u32,
        window: Duration,
    ) -> Self {
        Self {
            free,
            base_delay,
            max_delay,
            lockout_after,
            window,
            prune_above: 10_000,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Sets how many keys are tracked before expired ones are dropped.
    pub fn prune_above(mut self, keys: usize) -> Self {
        self.prune_above = keys;
        self
    }

    /// How many usernames and addresses currently have failures counted.
    pub fn tracked_keys(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn count(&self, key: &str) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((n, at)) if at.elapsed() < self.window => *n,
            Some(_) => {
                map.remove(key);
                0
            }
            None => 0,
        }
    }

    fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.prune_above {
            map.retain(|_, (_, at)| at.elapsed() < self.window);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The delay owed after `failures` failed attempts: none for the first `free`, then
    /// doubling from `base_delay` up to `max_delay`.
    fn delay(&self, failures: u32) -> Duration {
        match failures.checked_sub(self.free) {
            None => Duration::ZERO,
            Some(over) => self
                .base_delay
                .saturating_mul(1 << over.min(16))
                .min(self.max_delay),
        }
    }
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

fn cookie(state: &AppState, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if state.auth.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        max_age.as_secs()
    ))
    .expect("cookie characters are valid")
}

/// A hash to verify against when the user does not exist, so an unknown name costs the same
/// time as a wrong password.
fn decoy_hash() -> &'static PasswordHash {
    static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| taskflow_core::user::Password::generate().hash())
}

/// The client's address, when the server knows it (not in in-process tests).
pub struct ClientIp(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(addr.map(|ConnectInfo(a)| a.ip())))
    }
}

#[utoipa::path(
    post,
    operation_id = "auth_login",
    path = "/auth/login",
    tag = "auth",
    request_body = Login,
    responses((status = 200, body = SessionInfo, description = "logged in; sets the session cookie"), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full"))
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Login>,
) -> Result<Response, ApiError> {
    let name_key = format!("user:{}", body.username.trim().to_ascii_lowercase());
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    let keys: Vec<&str> = std::iter::once(name_key.as_str())
        .chain(ip_key.as_deref())
        .collect();
    let failures = keys
        .iter()
        .map(|k| state.throttle.count(k))
        .max()
        .unwrap_or(0);
    if failures >= state.throttle.lockout_after {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins; try again later",
        )
        .into_response();
        let wait = state.throttle.window.as_secs().to_string();
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_str(&wait).expect("digits"));
        return Ok(response);
    }
    tokio::time::sleep(state.throttle.delay(failures)).await;

    let user = match Username::parse(&body.username) {
        Ok(name) => match state.store.user_by_username(&name).await {
            Ok(user) => Some(user),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let password = body.password;
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().clone(), |u| u.password_hash.clone());
    let verified = tokio::task::spawn_blocking(move || hash.verify(&password))
        .await
        .map_err(|_| ApiError::internal())?;
    let Some(user) = user.filter(|u| verified && !u.is_disabled) else {
        for key in &keys {
            state.throttle.fail(key);
        }
        tracing::warn!(failures = failures + 1, "failed login");
        return Err(unauthorized("invalid username or password"));
    };
    for key in &keys {
        state.throttle.clear(key);
    }

    let secret = TokenSecret::generate();
    let session: Session = state
        .store
        .create_session(NewSession {
            user_id: user.id,
            hash: secret.hash(),
            csrf_token: csrf_token(),
            expires_at: Timestamp::now().saturating_add(state.auth.session_ttl),
        })
        .await?;
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
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let secret = session_cookie(&headers).ok_or_else(|| unauthorized("not logged in"))?;
    match state
        .store
        .authenticate_session(&secret.hash(), Timestamp::now())
        .await
    {
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
    responses((status = 204, description = "logged out; clears the cookie"), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
