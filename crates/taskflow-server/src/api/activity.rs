//! Activity logs: who changed what, newest first, for a task or a whole project.

use axum::extract::State;
use serde::Deserialize;
use taskflow_core::ActivityId;
use taskflow_core::activity::ActivityEntry;
use taskflow_core::project::Role;

use crate::access::{parse_key, project_for, visible_task};
use crate::api::auth::CurrentUser;
use crate::api::json::{Path, Query};
use crate::error::ApiError;
use crate::state::AppState;

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
    operation_id = "activity_task",
    path = "/tasks/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ActivityParams),
    responses((status = 200, body = Vec<ActivityEntry>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn task(
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
    operation_id = "activity_project",
    path = "/projects/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ActivityParams),
    responses((status = 200, body = Vec<ActivityEntry>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn project(
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
