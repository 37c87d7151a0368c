//! The signed-in person's own settings: display name, password (with the current one; other
//! sessions end), signing out everywhere, and API tokens (the secret shown once).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::TokenId;
use taskflow_core::user::TokenSecret;

use super::kit::{OnlyToken, PageFrame, Posted, Refused, Viewer, redirect, render};
use super::words::{TokenRow, problems};
use crate::error::{Kind, Refusal};
use crate::input::{CreateToken, UpdateUser};
use crate::session::{ClientIp, confirm_current_password};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: PageFrame,
    username: String,
    display_name: String,
    notice: Option<String>,
    name_problem: Option<String>,
    password_problem: Option<String>,
    /// The zone they chose; empty for their browser's.
    time_zone: String,
    /// The zone the pages use now, and the time there.
    zone_now: String,
}

impl AccountPage {
    /// Every zone this server knows, by name.
    fn zones(&self) -> Vec<String> {
        let mut zones: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name.contains('/') || name == "UTC")
            .collect();
        zones.sort();
        zones
    }
}

#[derive(Deserialize, Default)]
pub struct AccountParams {
    done: Option<String>,
}

fn account_page(viewer: &Viewer, notice: Option<String>) -> AccountPage {
    AccountPage {
        page: viewer.frame("account"),
        username: viewer.user.username.to_string(),
        display_name: viewer.user.display_name.to_string(),
        notice,
        name_problem: None,
        password_problem: None,
        time_zone: viewer
            .user
            .time_zone
            .as_ref()
            .map(|z| z.to_string())
            .unwrap_or_default(),
        zone_now: viewer.when(taskflow_core::Timestamp::now()),
    }
}

/// `GET /account`.
pub async fn account(
    viewer: Viewer,
    axum::extract::Query(params): axum::extract::Query<AccountParams>,
) -> Response {
    let notice = match params.done.as_deref() {
        Some("name") => Some("Your name is saved.".to_owned()),
        Some("password") => {
            Some("Your password is changed; every other session has ended.".to_owned())
        }
        Some("zone") => Some("Your time zone is saved.".to_owned()),
        _ => None,
    };
    render(StatusCode::OK, &account_page(&viewer, notice))
}

#[derive(Deserialize)]
pub struct AccountForm {
    /// `name`, `password` or `everywhere`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    /// Empty for the browser's own.
    #[serde(default)]
    time_zone: String,
}

/// `POST /account`: saves the display name, changes the password, or signs out everywhere.
pub async fn save_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Posted { viewer, form }: Posted<AccountForm>,
) -> Result<Response, Refused> {
    match form.action.as_str() {
        "everywhere" => {
            state.store.delete_user_sessions(viewer.user.id).await?;
            let mut response = redirect("/login");
            response.headers_mut().append(
                SET_COOKIE,
                crate::session::cookie(&state, "", std::time::Duration::ZERO),
            );
            Ok(response)
        }
        "zone" => {
            let zone = Some(form.time_zone.trim().to_owned()).filter(|z| !z.is_empty());
            let patch = UpdateUser {
                time_zone: Some(zone),
                ..UpdateUser::default()
            }
            .resolve(&state.passwords, None)
            .await?;
            state.store.update_user(viewer.user.id, patch).await?;
            Ok(redirect("/account?done=zone"))
        }
        "password" => match change_password(&state, &viewer, &form, ip, &headers).await {
            Ok(()) => Ok(redirect("/account?done=password")),
            Err(e) if e.kind == Kind::Invalid => {
                let mut page = account_page(&viewer, None);
                page.password_problem = Some(problems(&e).join(" "));
                Ok(render(e.status(), &page))
            }
            Err(e) if e.kind == Kind::Throttled => {
                let minutes = e.retry_after.map_or(15, |d| d.as_secs().div_ceil(60));
                let mut page = account_page(&viewer, None);
                page.password_problem = Some(format!(
                    "Too many wrong passwords. Try again in {minutes} minutes."
                ));
                Ok(render(e.status(), &page))
            }
            Err(e) => Err(e.into()),
        },
        _ => match save_name(&state, &viewer, &form).await {
            Ok(()) => Ok(redirect("/account?done=name")),
            Err(e) if e.kind == Kind::Invalid => {
                let mut page = account_page(&viewer, None);
                page.display_name = form.display_name;
                page.name_problem = Some(problems(&e).join(" "));
                Ok(render(e.status(), &page))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// A new password, given twice, with the current one.
async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    form: &AccountForm,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    if form.new_password != form.repeat_password {
        return Err(taskflow_core::ValidationError::new(
            "repeat_password",
            "the two new passwords are not the same",
        )
        .into());
    }
    let keep = confirm_current_password(
        state,
        &viewer.user,
        Some(form.current_password.clone()),
        ip,
        headers,
    )
    .await?;
    let patch = UpdateUser {
        password: Some(form.new_password.clone()),
        ..UpdateUser::default()
    }
    .resolve(&state.passwords, keep)
    .await?;
    state.store.update_user(viewer.user.id, patch).await?;
    Ok(())
}

/// A new display name.
async fn save_name(state: &AppState, viewer: &Viewer, form: &AccountForm) -> Result<(), Refusal> {
    let patch = UpdateUser {
        display_name: Some(form.display_name.trim().to_owned()),
        ..UpdateUser::default()
    }
    .resolve(&state.passwords, None)
    .await?;
    state.store.update_user(viewer.user.id, patch).await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    page: PageFrame,
    tokens: Vec<TokenRow>,
    /// A token just created: its name and its secret, shown this once.
    created: Option<(String, String)>,
    problem: Option<String>,
    notice: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    created: Option<(String, String)>,
    problem: Option<String>,
    notice: Option<String>,
) -> Result<Response, Refused> {
    let tokens = state.store.tokens(viewer.user.id).await?;
    Ok(render(
        status,
        &TokensPage {
            page: viewer.frame("account"),
            tokens: tokens
                .into_iter()
                .map(|t| TokenRow::new(t, &viewer.zone()))
                .collect(),
            created,
            problem,
            notice,
        },
    ))
}

/// `GET /settings/tokens`.
pub async fn tokens(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(params): axum::extract::Query<AccountParams>,
) -> Result<Response, Refused> {
    let notice = (params.done.as_deref() == Some("revoked")).then(|| "Revoked.".to_owned());
    tokens_page(&state, &viewer, StatusCode::OK, None, None, notice).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// Days; empty for a token that does not expire.
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /settings/tokens`: a new token; the page shows its secret this once (it is stored
/// only as a hash), so this answers with the page rather than a redirect.
pub async fn create_token(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<TokenForm>,
) -> Result<Response, Refused> {
    let created = new_token(&state, &viewer, &form).await;
    match created {
        Ok(created) => {
            tokens_page(
                &state,
                &viewer,
                StatusCode::CREATED,
                Some(created),
                None,
                None,
            )
            .await
        }
        Err(e) if e.kind == Kind::Invalid => {
            let problem = Some(problems(&e).join(" "));
            tokens_page(&state, &viewer, e.status(), None, problem, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A token as the form asks for it: its name and its secret, shown this once.
async fn new_token(
    state: &AppState,
    viewer: &Viewer,
    form: &TokenForm,
) -> Result<(String, String), Refusal> {
    let days = match form.expires_in_days.trim() {
        "" | "never" => None,
        days => Some(days.parse::<u32>().map_err(|_| {
            crate::input::all_valid([Some(&taskflow_core::ValidationError::new(
                "expires_in_days",
                "choose how many days the token lasts",
            ))])
            .unwrap_err()
        })?),
    };
    let secret = TokenSecret::generate();
    let new = CreateToken {
        name: form.name.trim().to_owned(),
        expires_in_days: days,
    }
    .into_new_token(viewer.user.id, secret.hash())?;
    let token = state.store.create_token(new).await?;
    Ok((token.name.to_string(), secret.expose().to_owned()))
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted { viewer, .. }: Posted<OnlyToken>,
) -> Result<Response, Refused> {
    state
        .store
        .revoke_token(viewer.user.id, TokenId(id))
        .await?;
    Ok(redirect("/settings/tokens?done=revoked"))
}
