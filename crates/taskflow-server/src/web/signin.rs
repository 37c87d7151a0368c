//! The front door: sign in and out, and the colour scheme.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::StoreError;

use super::kit::{
    OnlyToken, PageFrame, Posted, PostedByAnyone, Refused, SignInPosted, Viewer, local, redirect,
    render,
};
use super::login_form;
use crate::error::{Kind, Refusal};
use crate::session::{ClientIp, cookie, session_cookie, sign_in};
use crate::state::AppState;

/// `/`: the projects for someone signed in, the sign-in page for anyone else.
pub async fn home(viewer: Result<Viewer, Response>) -> Response {
    match viewer {
        Ok(_) => redirect("/projects"),
        Err(_) => redirect("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageFrame,
    problem: Option<String>,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

fn login_frame(parts: &Parts, token: String) -> PageFrame {
    PageFrame {
        csrf: token,
        ..super::kit::anonymous(parts)
    }
}

/// The sign-in form (or, already signed in, where it would lead). Its token is one this
/// installation signed (`login_form`), held by the browser in a cookie as well.
pub async fn login_page(
    State(state): State<AppState>,
    viewer: Result<Viewer, Response>,
    Query(params): Query<NextParam>,
    parts: Parts,
) -> Result<Response, Refused> {
    let next = local(params.next.as_deref().unwrap_or("/projects")).to_owned();
    if viewer.is_ok() {
        return Ok(redirect(&next));
    }
    let token = login_form::current_or_new(&state, &parts.headers).await?;
    let page = LoginPage {
        page: login_frame(&parts, token.clone()),
        problem: None,
        next,
        username: String::new(),
    };
    Ok(login_form::set_cookie(
        &state,
        render(StatusCode::OK, &page),
        &token,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    next: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SignInPosted {
        frame,
        headers,
        form,
    }: SignInPosted<LoginForm>,
) -> Response {
    let next = local(&form.next).to_owned();
    match sign_in(&state, &form.username, form.password, ip, &headers).await {
        Ok((_, secret, _)) => {
            let mut response = redirect(&next);
            response.headers_mut().append(
                SET_COOKIE,
                cookie(&state, secret.expose(), state.auth.session_ttl),
            );
            response
        }
        Err(e) => {
            let (status, problem) = login_problem(&e);
            let token = frame.csrf.clone();
            let page = LoginPage {
                page: frame,
                problem: Some(problem),
                next,
                username: form.username,
            };
            login_form::set_cookie(&state, render(status, &page), &token)
        }
    }
}

/// Why a sign-in failed, in words.
fn login_problem(e: &Refusal) -> (StatusCode, String) {
    let words = match e.kind {
        Kind::Unauthorized => "Wrong username or password.".to_owned(),
        Kind::Throttled => {
            let minutes = e.retry_after.map_or(15, |d| d.as_secs().div_ceil(60));
            format!(
                "Too many failed sign-ins from here. Try again in {minutes} minutes, or ask an administrator to unlock your account."
            )
        }
        Kind::Unavailable => {
            "Taskflow cannot reach its database just now; try again in a few seconds.".to_owned()
        }
        Kind::Full => {
            "The disk is full, so no one can sign in; an administrator needs to free space."
                .to_owned()
        }
        _ => "Signing in failed; the error has been logged.".to_owned(),
    };
    (e.status(), words)
}

/// Ends this browser's session.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { .. }: Posted<OnlyToken>,
) -> Result<Response, Refused> {
    if let Some(secret) = session_cookie(&headers) {
        match state.store.delete_session(&secret.hash()).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .append(SET_COOKIE, cookie(&state, "", std::time::Duration::ZERO));
    Ok(response)
}

#[derive(Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    set: String,
    /// The page to go back to.
    #[serde(default)]
    to: String,
}

/// `POST /theme`: light, dark, or the system's, kept in a cookie so the page is drawn right
/// the first time. A form with the page's CSRF token (the session's, or the sign-in form's),
/// so no other site, and no image in a task, can change it.
pub async fn theme(
    State(state): State<AppState>,
    PostedByAnyone(form): PostedByAnyone<ThemeForm>,
) -> Response {
    let next = local(&form.to).to_owned();
    let (value, age) = match form.set.as_str() {
        "light" | "dark" => (form.set.as_str(), "31536000"),
        _ => ("", "0"),
    };
    let secure = if state.auth.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("taskflow_theme={value}; SameSite=Lax; Path=/; Max-Age={age}{secure}");
    let mut response = redirect(&next);
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
