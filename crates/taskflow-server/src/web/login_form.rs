//! The sign-in form's CSRF token. Before there is a session there is nothing to tie a form to,
//! so the token is one this installation issued and signed: `<nonce>.<expiry>.<mac>`, the MAC an
//! HMAC-SHA256 of the nonce and expiry under a key every server of the installation shares (kept
//! in the database, made by the first server that needs it). The same token is set as a cookie
//! (`__Host-` prefixed and `Secure` when cookies are), and a sign-in must send both, equal and
//! valid: a value planted in a cookie by someone else, or made up, is refused.

use std::sync::Arc;

use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use taskflow_core::Timestamp;
use taskflow_core::user::csrf_token;

use crate::error::Refusal;
use crate::session::cookie_value;
use crate::state::AppState;

/// How long a sign-in form stays usable.
const LIFETIME_SECS: i64 = 24 * 3600;

/// The name of the key in the database.
const KEY_NAME: &str = "sign-in-form";

fn cookie_name(state: &AppState) -> &'static str {
    if state.auth.cookie_secure {
        "__Host-taskflow_login"
    } else {
        "taskflow_login"
    }
}

/// The installation's signing key, read (or made) once per process.
async fn key(state: &AppState) -> Result<Arc<[u8]>, Refusal> {
    let key = state
        .login_key
        .get_or_try_init(|| {
            let made = format!("{}{}", csrf_token(), csrf_token());
            async move {
                let secret = state.store.server_secret(KEY_NAME, &made).await?;
                Ok::<_, taskflow_core::StoreError>(Arc::from(secret.into_bytes()))
            }
        })
        .await?;
    Ok(key.clone())
}

fn mac(key: &[u8], nonce: &str, expiry: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(nonce.as_bytes());
    mac.update(b".");
    mac.update(expiry.to_string().as_bytes());
    mac
}

/// A new token, good for a day.
async fn issue(state: &AppState) -> Result<String, Refusal> {
    let key = key(state).await?;
    let nonce = csrf_token();
    let expiry = (Timestamp::now().unix_micros() / 1_000_000) + LIFETIME_SECS;
    let tag = hex::encode(mac(&key, &nonce, expiry).finalize().into_bytes());
    Ok(format!("{nonce}.{expiry}.{tag}"))
}

/// Whether `token` is one this installation issued, not yet expired.
async fn valid(state: &AppState, token: &str) -> Result<bool, Refusal> {
    let mut parts = token.splitn(3, '.');
    let (Some(nonce), Some(expiry), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(false);
    };
    let (Ok(expiry), Ok(tag)) = (expiry.parse::<i64>(), hex::decode(tag)) else {
        return Ok(false);
    };
    if expiry < (Timestamp::now().unix_micros() / 1_000_000) {
        return Ok(false);
    }
    let key = key(state).await?;
    Ok(mac(&key, nonce, expiry).verify_slice(&tag).is_ok())
}

/// The token this browser holds, if it is a valid one; else a new one. The page that shows the
/// form carries it, and `set_cookie` gives it to the browser.
pub async fn current_or_new(state: &AppState, headers: &HeaderMap) -> Result<String, Refusal> {
    if let Some(held) = cookie_value(headers, cookie_name(state))
        && valid(state, held).await?
    {
        return Ok(held.to_owned());
    }
    issue(state).await
}

/// Whether a form's `sent` token is the valid one this browser holds.
pub async fn accepted(state: &AppState, headers: &HeaderMap, sent: &str) -> Result<bool, Refusal> {
    match cookie_value(headers, cookie_name(state)) {
        Some(held) if crate::session::same(held, sent) => valid(state, held).await,
        _ => Ok(false),
    }
}

/// `response` with the token's cookie set: `HttpOnly`, `SameSite=Strict`, for the whole site
/// (the colour-scheme form on signed-out pages sends it too), `Secure` when cookies are.
pub fn set_cookie(state: &AppState, mut response: Response, token: &str) -> Response {
    let secure = if state.auth.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={LIFETIME_SECS}{secure}",
        cookie_name(state)
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
