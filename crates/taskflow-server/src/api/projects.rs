use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use taskflow_core::project::{NewProject, Project, ProjectKey, ProjectPatch, Role};
use taskflow_core::text::{Markdown, ProjectName};

use crate::api::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, all_valid};
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    key: String,
    name: String,
    #[serde(default)]
    description: String,
}

#[utoipa::path(
    get,
    operation_id = "projects_list",
    path = "/projects",
    tag = "projects",
    responses((status = 200, body = Vec<Project>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<Vec<Project>>, ApiError> {
    let member = (!user.is_admin).then_some(user.id);
    Ok(axum::Json(state.store.list_projects(member, true).await?))
}

#[utoipa::path(
    post,
    operation_id = "projects_create",
    path = "/projects",
    tag = "projects",
    request_body = CreateProject,
    responses((status = 201, body = Project), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<CreateProject>,
) -> Result<(StatusCode, axum::Json<Project>), ApiError> {
    let key = ProjectKey::parse(&body.key);
    let name = ProjectName::parse(body.name);
    let description = Markdown::parse(body.description);
    all_valid([
        key.as_ref().err(),
        name.as_ref().err(),
        description.as_ref().err(),
    ])?;
    let new = NewProject {
        key: key?,
        name: name?,
        description: description?,
    };
    let project = state.store.create_project(user.id, new).await?;
    Ok((StatusCode::CREATED, axum::Json(project)))
}

#[utoipa::path(
    get,
    operation_id = "projects_get",
    path = "/projects/{key}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = Project), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Project>, ApiError> {
    let key = parse_key(&key)?;
    Ok(axum::Json(
        project_for(&state, &user, &key, Role::Viewer).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    name: Option<String>,
    description: Option<String>,
    archived: Option<bool>,
}

#[utoipa::path(
    patch,
    operation_id = "projects_update",
    path = "/projects/{key}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = UpdateProject,
    responses((status = 200, body = Project), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<UpdateProject>,
) -> Result<axum::Json<Project>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let name = body.name.map(ProjectName::parse).transpose();
    let description = body.description.map(Markdown::parse).transpose();
    all_valid([name.as_ref().err(), description.as_ref().err()])?;
    let patch = ProjectPatch {
        name: name?,
        description: description?,
        archived: body.archived,
    };
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
    responses((status = 204, description = "moved to the trash"), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    state.store.delete_project(user.id, project.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
