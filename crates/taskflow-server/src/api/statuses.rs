//! A project's workflow: its statuses in board order. Everyone in a project can read them;
//! owners add, change, reorder and delete them.

use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::StatusId;
use taskflow_core::project::Role;
use taskflow_core::workflow::Status;

use crate::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, Query};
use crate::error::Refusal;
use crate::input::{CreateStatus, DeleteStatus, UpdateStatus};
use crate::state::AppState;
use crate::views::List;

#[utoipa::path(
    get,
    operation_id = "statuses_list",
    path = "/projects/{key}/statuses",
    tag = "statuses",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = List<Status>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<Status>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    Ok(List::all(state.store.workflow(project.id).await?.0))
}

#[utoipa::path(
    post,
    operation_id = "statuses_create",
    path = "/projects/{key}/statuses",
    tag = "statuses",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = CreateStatus,
    responses((status = 201, body = Status), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CreateStatus>,
) -> Result<(StatusCode, axum::Json<Status>), Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let status = state
        .store
        .create_status(user.id, project.id, body.try_into()?)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(status)))
}

#[utoipa::path(
    patch,
    operation_id = "statuses_update",
    path = "/projects/{key}/statuses/{id}",
    tag = "statuses",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "status id")),
    request_body = UpdateStatus,
    responses((status = 200, body = Status), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
    Json(body): Json<UpdateStatus>,
) -> Result<axum::Json<Status>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let patch = body.try_into()?;
    let status = state
        .store
        .update_status(user.id, project.id, StatusId(id), patch)
        .await?;
    Ok(axum::Json(status))
}

#[utoipa::path(
    delete,
    operation_id = "statuses_delete",
    path = "/projects/{key}/statuses/{id}",
    tag = "statuses",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "status id"), DeleteStatus),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
    Query(params): Query<DeleteStatus>,
) -> Result<StatusCode, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let workflow = state.store.workflow(project.id).await?;
    let move_to = params.resolve(&workflow)?;
    state
        .store
        .delete_status(user.id, project.id, StatusId(id), move_to)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
