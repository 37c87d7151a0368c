//! Administration (administrators only): users (create, disable and enable, reset a password,
//! make or unmake an administrator), everyone's API tokens, and storage as `taskflow storage`
//! reports it, with a bar per project.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::TokenId;
use taskflow_core::user::{User, Username};
use taskflow_ops::human_bytes;

use super::kit::{OnlyToken, PageFrame, Posted, Refused, Viewer, redirect, render};
use super::words::problems;
use crate::error::{Kind, Refusal};
use crate::input::{CreateUser, UpdateUser};
use crate::state::AppState;

fn admins_only(viewer: &Viewer) -> Result<(), Refusal> {
    crate::access::admin_only(&viewer.user)
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    page: PageFrame,
    users: Vec<User>,
    me: String,
    notice: Option<String>,
    problem: Option<String>,
    typed: (String, String),
}

#[derive(Deserialize, Default)]
pub struct DoneParams {
    /// What was done (the form's action), for the notice.
    done: Option<String>,
    /// To whom.
    who: Option<String>,
}

/// The notice after `action` was done to `who`.
fn done_words(action: &str, who: &str) -> Option<String> {
    Some(match action {
        "create" => {
            format!("Created the account {who}. They can sign in with the password you chose.")
        }
        "disable" => format!("Disabled {who}: they are signed out and cannot sign in."),
        "enable" => format!("{who} can sign in again."),
        "admin" => format!("{who} is now an administrator."),
        "unadmin" => format!("{who} is no longer an administrator."),
        "password" => format!("Set a new password for {who}; their sessions have ended."),
        _ => return None,
    })
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
    typed: (String, String),
) -> Result<Response, Refused> {
    admins_only(viewer)?;
    Ok(render(
        status,
        &UsersPage {
            page: viewer.frame("admin"),
            users: state.store.list_users().await?,
            me: viewer.user.username.to_string(),
            notice,
            problem,
            typed,
        },
    ))
}

/// `GET /admin/users`.
pub async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(params): axum::extract::Query<DoneParams>,
) -> Result<Response, Refused> {
    let notice = match (params.done.as_deref(), params.who.as_deref()) {
        (Some(action), Some(who)) => done_words(action, who),
        _ => None,
    };
    users_page(
        &state,
        &viewer,
        StatusCode::OK,
        notice,
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct UserForm {
    /// `create`, `disable`, `enable`, `admin`, `unadmin` or `password`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    is_admin: Option<String>,
}

/// `POST /admin/users`.
pub async fn change_user(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<UserForm>,
) -> Result<Response, Refused> {
    let changed = change(&state, &viewer, &form).await;
    match changed {
        Ok(who) => Ok(redirect(&format!(
            "/admin/users?done={}&who={who}",
            form.action
        ))),
        Err(e) if e.kind == Kind::Invalid || e.kind.is_conflict() => {
            let typed = if form.action == "create" {
                (form.username, form.display_name)
            } else {
                Default::default()
            };
            let problem = Some(problems(&e).join(" "));
            users_page(&state, &viewer, e.status(), None, problem, typed).await
        }
        Err(e) => Err(e.into()),
    }
}

/// What an administration form asks for; the username it was done to.
async fn change(state: &AppState, viewer: &Viewer, form: &UserForm) -> Result<String, Refusal> {
    admins_only(viewer)?;
    if form.action == "create" {
        let display_name = form.display_name.trim();
        let new = CreateUser {
            username: form.username.trim().to_owned(),
            display_name: (!display_name.is_empty()).then(|| display_name.to_owned()),
            password: form.password.clone(),
            is_admin: form.is_admin.is_some(),
        }
        .resolve(&state.passwords)
        .await?;
        let user = state.store.create_user(new).await?;
        return Ok(user.username.to_string());
    }
    let target = Username::parse(&form.username).map_err(|_| Refusal::not_found("user"))?;
    let target = state.store.user_by_username(&target).await?;
    if target.id == viewer.user.id && form.action == "password" {
        // As everywhere else, changing one's own password needs the current one.
        return Err(Refusal::new(
            Kind::Conflict,
            "change your own password on your account page, which asks for the current one",
        ));
    }
    if target.id == viewer.user.id && matches!(form.action.as_str(), "disable" | "unadmin") {
        return Err(Refusal::new(
            Kind::Conflict,
            "you cannot disable yourself or take away your own administration; ask another administrator",
        ));
    }
    let mut change = UpdateUser::default();
    match form.action.as_str() {
        "disable" => change.is_disabled = Some(true),
        "enable" => change.is_disabled = Some(false),
        "admin" => change.is_admin = Some(true),
        "unadmin" => change.is_admin = Some(false),
        "password" => change.password = Some(form.password.clone()),
        _ => return Err(Refusal::not_found("action")),
    }
    // A reset password ends every session of that user, so a lost device is signed out.
    let patch = change.resolve(&state.passwords, None).await?;
    state.store.update_user(target.id, patch).await?;
    Ok(target.username.to_string())
}

/// A token with its owner's username, as the page lists it.
struct TokenRow {
    username: String,
    token: super::words::TokenRow,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    page: PageFrame,
    tokens: Vec<TokenRow>,
    notice: bool,
}

/// `GET /admin/tokens`: every user's API tokens.
pub async fn tokens(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(params): axum::extract::Query<DoneParams>,
) -> Result<Response, Refused> {
    admins_only(&viewer)?;
    let mut rows = Vec::new();
    for user in state.store.list_users().await? {
        for token in state.store.tokens(user.id).await? {
            rows.push(TokenRow {
                username: user.username.to_string(),
                token: super::words::TokenRow::new(token, &viewer.zone()),
            });
        }
    }
    Ok(render(
        StatusCode::OK,
        &TokensPage {
            page: viewer.frame("admin"),
            tokens: rows,
            notice: params.done.is_some(),
        },
    ))
}

/// `POST /admin/tokens/{username}/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path((username, id)): Path<(String, i64)>,
    Posted { viewer, .. }: Posted<OnlyToken>,
) -> Result<Response, Refused> {
    admins_only(&viewer)?;
    let owner = Username::parse(&username).map_err(|_| Refusal::not_found("user"))?;
    let owner = state.store.user_by_username(&owner).await?;
    state.store.revoke_token(owner.id, TokenId(id)).await?;
    Ok(redirect("/admin/tokens?done=revoked"))
}

/// One project's share of the attachments.
struct ProjectBar {
    key: String,
    attachments: u64,
    bytes: String,
    /// Per mille of the largest project, for the bar.
    share: u64,
}

#[derive(Template)]
#[template(path = "admin_storage.html")]
struct StoragePage {
    page: PageFrame,
    backend: &'static str,
    data_dir: String,
    volume_total: String,
    volume_used: String,
    volume_available: String,
    /// Per mille of the volume in use.
    volume_share: u64,
    filesystem: String,
    database: String,
    blobs: String,
    tmp: String,
    last_backup: String,
    projects: Vec<ProjectBar>,
}

/// `GET /admin/storage`: what `taskflow storage` reports.
pub async fn storage(State(state): State<AppState>, viewer: Viewer) -> Result<Response, Refused> {
    admins_only(&viewer)?;
    let report = taskflow_ops::storage::report(
        state.store.as_ref(),
        &state.blobs,
        &state.data_dir,
        state.backup_dir.as_ref(),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the storage report failed");
        Refusal::internal()
    })?;
    let largest = report
        .projects
        .iter()
        .map(|p| p.bytes)
        .max()
        .unwrap_or(0)
        .max(1);
    let v = &report.volume;
    let last_backup = match &report.backups {
        None => "unknown: TASKFLOW_BACKUP_DIR is not set".to_owned(),
        Some((dir, None)) => format!("none yet in {dir}"),
        Some((_, Some(last))) => format!(
            "{} ({}, {})",
            last.time
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .unwrap_or_default(),
            last.name,
            human_bytes(last.bytes)
        ),
    };
    Ok(render(
        StatusCode::OK,
        &StoragePage {
            page: viewer.frame("admin"),
            backend: report.backend,
            data_dir: report.data_dir.display().to_string(),
            volume_total: human_bytes(v.total_bytes),
            volume_used: human_bytes(v.used_bytes),
            volume_available: human_bytes(v.available_bytes),
            volume_share: (v.used_fraction() * 1000.0).round() as u64,
            filesystem: v.filesystem.name().to_owned(),
            database: human_bytes(report.database_bytes),
            blobs: format!(
                "{} file(s), {}",
                report.blob_count,
                human_bytes(report.blob_bytes)
            ),
            tmp: format!(
                "{} file(s), {}",
                report.tmp_files,
                human_bytes(report.tmp_bytes)
            ),
            last_backup,
            projects: report
                .projects
                .iter()
                .map(|p| ProjectBar {
                    key: p.key.to_string(),
                    attachments: p.attachments,
                    bytes: human_bytes(p.bytes),
                    share: p.bytes * 1000 / largest,
                })
                .collect(),
        },
    ))
}
