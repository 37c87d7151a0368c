use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::project::{Project, Role};

use crate::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::Refusal;
use crate::input::{CreateProject, UpdateProject};
use crate::state::AppState;
use crate::views::List;

#[utoipa::path(
    get,
    operation_id = "projects_list",
    path = "/projects",
    tag = "projects",
    responses((status = 200, body = List<Project>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<List<Project>, Refusal> {
    let member = (!user.is_admin).then_some(user.id);
    Ok(List::all(state.store.list_projects(member, true).await?))
}

#[utoipa::path(
    post,
    operation_id = "projects_create",
    path = "/projects",
    tag = "projects",
    request_body = CreateProject,
    responses((status = 201, body = Project), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<CreateProject>,
) -> Result<(StatusCode, axum::Json<Project>), Refusal> {
    let project = state
        .store
        .create_project(user.id, body.try_into()?)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(project)))
}

#[utoipa::path(
    get,
    operation_id = "projects_get",
    path = "/projects/{key}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = Project), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Project>, Refusal> {
    let key = parse_key(&key)?;
    Ok(axum::Json(
        project_for(&state, &user, &key, Role::Viewer).await?,
    ))
}

#[utoipa::path(
    patch,
    operation_id = "projects_update",
    path = "/projects/{key}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = UpdateProject,
    responses((status = 200, body = Project), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<UpdateProject>,
) -> Result<axum::Json<Project>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let patch = body.try_into()?;
    Ok(axum::Json(
        state
            .store
            .update_project(user.id, project.id, patch)
            .await?,
    ))
}

/// Moves the project, with everything in it, to the trash.
#[utoipa::path(
    delete,
    operation_id = "projects_delete",
    path = "/projects/{key}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 204, description = "moved to the trash"), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<StatusCode, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    state.store.delete_project(user.id, project.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
