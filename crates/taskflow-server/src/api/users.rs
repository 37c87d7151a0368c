//! Users (administrators manage them) and API tokens (each user manages their own).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use taskflow_core::TokenId;
use taskflow_core::user::{ApiToken, TokenSecret, User, Username};

use crate::access::{admin_only, administered};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::{Kind, Refusal};
use crate::input::{CreateToken, CreateUser, UpdateUser};
use crate::session::{ClientIp, confirm_current_password};
use crate::state::AppState;
use crate::views::List;

#[utoipa::path(
    get,
    operation_id = "users_list",
    path = "/users",
    tag = "users",
    responses((status = 200, body = List<User>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<List<User>, Refusal> {
    admin_only(&user)?;
    Ok(List::all(state.store.list_users().await?))
}

#[utoipa::path(
    post,
    operation_id = "users_create",
    path = "/users",
    tag = "users",
    request_body = CreateUser,
    responses((status = 201, body = User), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, axum::Json<User>), Refusal> {
    admin_only(&user)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            state
                .store
                .create_user(body.resolve(&state.passwords).await?)
                .await?,
        ),
    ))
}

/// Administrators change anyone; others change only their own name and password. Changing
/// your own password needs `current_password`; a new password ends the user's other sessions,
/// and disabling a user ends all of theirs.
#[utoipa::path(
    patch,
    operation_id = "users_update",
    path = "/users/{username}",
    tag = "users",
    params(("username" = String, Path)),
    request_body = UpdateUser,
    responses((status = 200, body = User), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(body): Json<UpdateUser>,
) -> Result<axum::Json<User>, Refusal> {
    let target = Username::parse(&username).map_err(|_| Refusal::not_found("user"))?;
    let target = state.store.user_by_username(&target).await?;
    if target.id != user.id {
        admin_only(&user)?;
    } else if !user.is_admin && body.changes_roles() {
        return Err(Refusal::new(
            Kind::Forbidden,
            "only administrators change roles",
        ));
    }
    let mut keep_session = None;
    if target.id == user.id && body.password.is_some() {
        let current = body.current_password.clone();
        keep_session = confirm_current_password(&state, &user, current, ip, &headers).await?;
    }
    let patch = body.resolve(&state.passwords, keep_session).await?;
    Ok(axum::Json(state.store.update_user(target.id, patch).await?))
}

#[utoipa::path(
    get,
    operation_id = "users_tokens",
    path = "/me/tokens",
    tag = "users",
    responses((status = 200, body = List<ApiToken>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<List<ApiToken>, Refusal> {
    Ok(List::all(state.store.tokens(user.id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    token: ApiToken,
    /// Shown this once.
    secret: String,
}

#[utoipa::path(
    post,
    operation_id = "users_create_token",
    path = "/me/tokens",
    tag = "users",
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), Refusal> {
    issue_token(&state, &user, body).await
}

async fn issue_token(
    state: &AppState,
    owner: &User,
    body: CreateToken,
) -> Result<(StatusCode, axum::Json<CreatedToken>), Refusal> {
    let secret = TokenSecret::generate();
    let new = body.into_new_token(owner.id, secret.hash())?;
    let token = state.store.create_token(new).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token,
            secret: secret.expose().to_owned(),
        }),
    ))
}

#[utoipa::path(
    delete,
    operation_id = "users_revoke_token",
    path = "/me/tokens/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, Refusal> {
    state.store.revoke_token(user.id, TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "users_user_tokens",
    path = "/users/{username}/tokens",
    tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = List<ApiToken>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn user_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(username): Path<String>,
) -> Result<List<ApiToken>, Refusal> {
    let target = administered(&state, &user, &username).await?;
    Ok(List::all(state.store.tokens(target.id).await?))
}

#[utoipa::path(
    post,
    operation_id = "users_create_user_token",
    path = "/users/{username}/tokens",
    tag = "users",
    params(("username" = String, Path)),
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create_user_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(username): Path<String>,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), Refusal> {
    let target = administered(&state, &user, &username).await?;
    issue_token(&state, &target, body).await
}

#[utoipa::path(
    delete,
    operation_id = "users_revoke_user_token",
    path = "/users/{username}/tokens/{id}",
    tag = "users",
    params(("username" = String, Path), ("id" = i64, Path, description = "token id")),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn revoke_user_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((username, id)): Path<(String, i64)>,
) -> Result<StatusCode, Refusal> {
    let target = administered(&state, &user, &username).await?;
    state.store.revoke_token(target.id, TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
