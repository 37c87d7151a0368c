//! Comments on tasks, and activity logs. Viewers read; editors write; a comment can be edited
//! or deleted by its author, or by a project owner.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use taskflow_core::activity::ActivityEntry;
use taskflow_core::comment::Comment;
use taskflow_core::project::Role;
use taskflow_core::text::CommentBody;
use taskflow_core::user::User;
use taskflow_core::{ActivityId, CommentId};

use crate::api::access::{check_role, parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, Query};
use crate::api::tasks::visible_task;
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBodyIn {
    body: String,
}

#[utoipa::path(
    get,
    operation_id = "comments_list",
    path = "/tasks/{key}/comments",
    tag = "comments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    responses((status = 200, body = Vec<Comment>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Vec<Comment>>, ApiError> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    Ok(axum::Json(state.store.comments(task.id).await?))
}

#[utoipa::path(
    post,
    operation_id = "comments_create",
    path = "/tasks/{key}/comments",
    tag = "comments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    request_body = CommentBodyIn,
    responses((status = 201, body = Comment), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CommentBodyIn>,
) -> Result<(StatusCode, axum::Json<Comment>), ApiError> {
    let (task, _) = visible_task(&state, &user, &key, Role::Editor).await?;
    let body = CommentBody::parse(body.body)?;
    let comment = state.store.add_comment(user.id, task.id, body).await?;
    Ok((StatusCode::CREATED, axum::Json(comment)))
}

/// A comment the caller may change: theirs, or any in a project they own.
async fn own_comment(state: &AppState, user: &User, id: i64) -> Result<Comment, ApiError> {
    let comment = state.store.comment(CommentId(id)).await?;
    let task = state.store.task(comment.task_id).await?;
    let project = state.store.project(task.project_id).await?;
    let role = match check_role(state, user, &project, Role::Viewer).await {
        Ok(role) => role,
        Err(_) => return Err(ApiError::not_found("comment")),
    };
    if comment.author_id == Some(user.id) && role >= Role::Editor || role == Role::Owner {
        Ok(comment)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the author or a project owner can change a comment",
        ))
    }
}

#[utoipa::path(
    patch,
    operation_id = "comments_edit",
    path = "/comments/{id}",
    tag = "comments",
    params(("id" = i64, Path, description = "comment id")),
    request_body = CommentBodyIn,
    responses((status = 200, body = Comment), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn edit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<CommentBodyIn>,
) -> Result<axum::Json<Comment>, ApiError> {
    let comment = own_comment(&state, &user, id).await?;
    let body = CommentBody::parse(body.body)?;
    Ok(axum::Json(
        state.store.edit_comment(user.id, comment.id, body).await?,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "comments_delete",
    path = "/comments/{id}",
    tag = "comments",
    params(("id" = i64, Path, description = "comment id")),
    responses((status = 204), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let comment = own_comment(&state, &user, id).await?;
    state.store.delete_comment(user.id, comment.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    before: Option<i64>,
    limit: Option<u32>,
}

fn activity_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(taskflow_core::ValidationError::new("limit", "must be between 1 and 200").into()),
    }
}

#[utoipa::path(
    get,
    operation_id = "comments_task_activity",
    path = "/tasks/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ActivityParams),
    responses((status = 200, body = Vec<ActivityEntry>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn task_activity(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ActivityParams>,
) -> Result<axum::Json<Vec<ActivityEntry>>, ApiError> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    let limit = activity_limit(params.limit)?;
    Ok(axum::Json(
        state
            .store
            .task_activity(task.id, params.before.map(ActivityId), limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    operation_id = "comments_project_activity",
    path = "/projects/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ActivityParams),
    responses((status = 200, body = Vec<ActivityEntry>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn project_activity(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ActivityParams>,
) -> Result<axum::Json<Vec<ActivityEntry>>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    let limit = activity_limit(params.limit)?;
    Ok(axum::Json(
        state
            .store
            .project_activity(project.id, params.before.map(ActivityId), limit)
            .await?,
    ))
}
