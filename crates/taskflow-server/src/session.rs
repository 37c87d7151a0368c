//! Who a browser is, shared by both front ends: session cookies and the sessions they stand for,
//! sign-in with a password (throttled and counted in the database), the check of a current
//! password, and the client's address behind trusted proxies.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use taskflow_core::user::{
    LoginAttempt, LoginCounts, NewSession, PasswordHash, Session, TokenSecret, User, Username,
    csrf_token,
};
use taskflow_core::{StoreError, Timestamp};

use crate::error::{Kind, Refusal};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "taskflow_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn unauthorized(message: &str) -> Refusal {
    Refusal::new(Kind::Unauthorized, message)
}

/// The value of the cookie `name` the request carries.
pub(crate) fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<TokenSecret> {
    cookie_value(headers, SESSION_COOKIE).and_then(TokenSecret::parse)
}

/// Equal strings, compared in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How failed logins are throttled. Each attempt is counted in the database before its
/// password is checked — against the name at the client's address and against the address —
/// so concurrent guesses cannot slip past the limits and every replica sees the same counts.
/// Past a few failures for a name at an address, its answers are delayed, doubling each time;
/// past `user_limit` it is refused for `window`. An address is refused past `address_limit`
/// failures under any names. An attacker elsewhere therefore cannot lock a user out.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    pub free: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub user_limit: u32,
    pub address_limit: u32,
    pub window: Duration,
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
    /// An address may fail five times as often as one name at it.
    pub fn new(
        free: u32,
        base_delay: Duration,
        max_delay: Duration,
        user_limit: u32,
        window: Duration,
    ) -> Self {
        Self {
            free,
            base_delay,
            max_delay,
            user_limit,
            address_limit: user_limit.saturating_mul(5),
            window,
        }
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

    fn refuses(&self, counts: LoginCounts) -> bool {
        counts.user > self.user_limit || counts.address.is_some_and(|n| n > self.address_limit)
    }
}

/// What a login attempt is counted under: the name as typed (so names that do not exist are
/// throttled like names that do), bounded, and the client's address.
fn attempt_for(state: &AppState, typed: &str, ip: Option<IpAddr>) -> LoginAttempt {
    let throttle = &state.throttle;
    LoginAttempt {
        username: typed.trim().to_lowercase().chars().take(64).collect(),
        address: ip.map(|ip| ip.to_string()),
        at: Timestamp::now(),
        window: throttle.window,
        user_limit: throttle.user_limit,
        address_limit: throttle.address_limit,
    }
}

/// Counts the attempt, refuses it past a limit and otherwise waits the delay it owes.
pub(crate) async fn admit(state: &AppState, attempt: &LoginAttempt) -> Result<(), Refusal> {
    let counts = state.store.count_login_attempt(attempt).await?;
    if state.throttle.refuses(counts) {
        tracing::warn!(
            username = %attempt.username.escape_debug(),
            client = attempt.address.as_deref().unwrap_or("unknown"),
            failures = counts.user,
            address_failures = counts.address,
            "login refused: too many failed attempts"
        );
        return Err(Refusal {
            retry_after: Some(state.throttle.window),
            ..Refusal::new(Kind::Throttled, "too many failed logins; try again later")
        });
    }
    tokio::time::sleep(state.throttle.delay(counts.user.saturating_sub(1))).await;
    Ok(())
}

/// Someone changing their own password proves they know the current one, throttled like a
/// login. Returns the session to keep signed in: the one making the request, when it is a
/// browser session.
pub(crate) async fn confirm_current_password(
    state: &AppState,
    user: &User,
    current: Option<String>,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<Option<taskflow_core::user::TokenHash>, Refusal> {
    let field = |message: &str| {
        crate::input::all_valid([Some(&taskflow_core::ValidationError::new(
            "current_password",
            message,
        ))])
        .expect_err("one field failed")
    };
    let Some(current) = current else {
        return Err(field("is required to change your own password"));
    };
    let attempt = attempt_for(state, user.username.as_str(), ip);
    admit(state, &attempt).await?;
    if !state
        .passwords
        .verify(user.password_hash.clone(), current)
        .await?
    {
        failed(
            &attempt,
            "wrong current password when changing the password",
        );
        return Err(field("that is not your current password"));
    }
    state
        .store
        .login_succeeded(&attempt.username, attempt.address.as_deref())
        .await?;
    let by_cookie = !headers.contains_key(AUTHORIZATION);
    Ok(by_cookie
        .then(|| session_cookie(headers).map(|s| s.hash()))
        .flatten())
}

/// Logs a failed password check; its count was taken by `admit`.
pub(crate) fn failed(attempt: &LoginAttempt, what: &str) {
    tracing::warn!(
        username = %attempt.username.escape_debug(),
        client = attempt.address.as_deref().unwrap_or("unknown"),
        "{what}"
    );
}

/// The user and session a session cookie's secret stands for, if the session is live: not
/// expired, and used within the idle timeout (`TASKFLOW_SESSION_IDLE_TIMEOUT`). A session idle
/// for longer is ended here; either way the answer is `NotFound`.
pub(crate) async fn live_session(
    state: &AppState,
    secret: &TokenSecret,
) -> Result<(User, Session), StoreError> {
    let now = Timestamp::now();
    let (user, session) = state
        .store
        .authenticate_session(&secret.hash(), now)
        .await?;
    if session.last_seen_at < now.saturating_sub(state.auth.session_idle) {
        match state.store.delete_session(&secret.hash()).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        return Err(StoreError::not_found("session"));
    }
    Ok((user, session))
}

pub(crate) fn cookie(state: &AppState, value: &str, max_age: Duration) -> HeaderValue {
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

/// Checks a username and password (throttled, counted, logged) and starts a browser session:
/// the login of the API and of the web page alike.
pub(crate) async fn sign_in(
    state: &AppState,
    username: &str,
    password: String,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<(User, TokenSecret, Session), Refusal> {
    let attempt = attempt_for(state, username, ip);
    admit(state, &attempt).await?;
    let user = match Username::parse(username) {
        Ok(name) => match state.store.user_by_username(&name).await {
            Ok(user) => Some(user),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().clone(), |u| u.password_hash.clone());
    let verified = state.passwords.verify(hash, password).await?;
    let Some(user) = user.filter(|u| verified && !u.is_disabled) else {
        failed(&attempt, "failed login");
        return Err(unauthorized("invalid username or password"));
    };
    state
        .store
        .login_succeeded(&attempt.username, attempt.address.as_deref())
        .await?;
    let secret = TokenSecret::generate();
    let session = state
        .store
        .create_session(NewSession {
            user_id: user.id,
            hash: secret.hash(),
            csrf_token: csrf_token(),
            expires_at: Timestamp::now().saturating_add(state.auth.session_ttl),
        })
        .await?;
    // The session this browser held before (someone else's, perhaps) ends: one browser, one
    // session.
    if let Some(previous) = session_cookie(headers) {
        match state.store.delete_session(&previous.hash()).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not end the session this browser held before")
            }
        }
    }
    Ok((user, secret, session))
}

/// The client's address, when the server knows it (not in in-process tests). A peer that is
/// a trusted proxy (`TASKFLOW_TRUSTED_PROXIES`) speaks for the client in `X-Forwarded-For`:
/// the address is the right-most entry that is not itself a trusted proxy. From any other
/// peer the header is ignored, so a client cannot choose its own address.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        Ok(ClientIp(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.auth.trusted_proxies)
        })))
    }
}

fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|v| v.to_str().unwrap_or("").rsplit(','));
    for hop in hops {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // Not an address: what lies to its left cannot be trusted either.
            break;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}
