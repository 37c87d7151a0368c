//! A project's labels. Everyone in a project can read them; editors manage them.

use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::project::{Label, Role};

use crate::access::{label_in, parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::Refusal;
use crate::input::{CreateLabel, UpdateLabel};
use crate::state::AppState;
use crate::views::List;

#[utoipa::path(
    get,
    operation_id = "labels_list",
    path = "/projects/{key}/labels",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = List<Label>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<Label>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    Ok(List::all(state.store.labels(project.id).await?))
}

#[utoipa::path(
    post,
    operation_id = "labels_create",
    path = "/projects/{key}/labels",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = CreateLabel,
    responses((status = 201, body = Label), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CreateLabel>,
) -> Result<(StatusCode, axum::Json<Label>), Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let label = state
        .store
        .create_label(project.id, body.try_into()?)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(label)))
}

#[utoipa::path(
    patch,
    operation_id = "labels_update",
    path = "/projects/{key}/labels/{id}",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "label id")),
    request_body = UpdateLabel,
    responses((status = 200, body = Label), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
    Json(body): Json<UpdateLabel>,
) -> Result<axum::Json<Label>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let label = label_in(&state, project.id, id).await?;
    let patch = body.try_into()?;
    Ok(axum::Json(state.store.update_label(label.id, patch).await?))
}

#[utoipa::path(
    delete,
    operation_id = "labels_delete",
    path = "/projects/{key}/labels/{id}",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "label id")),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
) -> Result<StatusCode, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let label = label_in(&state, project.id, id).await?;
    state.store.delete_label(label.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
