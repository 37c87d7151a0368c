//! Tasks, addressed by their key (`OPS-42`). Responses carry an `ETag` of the task's version;
//! updates and deletes honour `If-Match`, answering 412 with the current version when stale.

use axum::extract::State;
use axum::http::header::ETAG;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use taskflow_core::project::Role;
use taskflow_core::task::*;
use taskflow_core::{StoreError, TaskId};

use crate::access::{parse_key, project_for, visible_task};
use crate::api::after_commit;
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, Query};
use crate::error::Refusal;
use crate::input::{CreateTask, ListParams, MoveTask, UpdateTask, if_match};
use crate::state::AppState;
use crate::views::{List, TaskView};

/// A task with its `ETag`, its names looked up.
async fn with_etag(state: &AppState, status: StatusCode, task: Task) -> Result<Response, Refusal> {
    let etag =
        HeaderValue::from_str(&format!("\"{}\"", task.version)).expect("digits are a valid header");
    let view = TaskView::one(state.store.as_ref(), task).await?;
    Ok((status, [(ETAG, etag)], view.to_json()?).into_response())
}

#[utoipa::path(
    post,
    operation_id = "tasks_create",
    path = "/projects/{key}/tasks",
    tag = "tasks",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("Idempotency-Key" = Option<String>, Header, description = "a key of the client's (1 to 255 visible ASCII characters): the same create sent again with it within a day makes nothing and answers with what the first made")),
    request_body = CreateTask,
    responses((status = 201, body = TaskView, headers(("ETag" = String, description = "the task's version"))), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CreateTask>,
) -> Result<Response, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let new = body.resolve(state.store.as_ref(), &project).await?;
    let task = match state.store.create_task(user.id, project.id, new).await {
        // Sent again with its Idempotency-Key: the task the first request made.
        Err(StoreError::Replayed { id }) => state.store.task(TaskId(id)).await?,
        made => made?,
    };
    after_commit(with_etag(&state, StatusCode::CREATED, task)).await
}

#[utoipa::path(
    get,
    operation_id = "tasks_get",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    responses((status = 200, body = TaskView, headers(("ETag" = String))), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<Response, Refusal> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    with_etag(&state, StatusCode::OK, task).await
}

#[utoipa::path(
    patch,
    operation_id = "tasks_update",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header, description = "the ETag this change is based on")),
    request_body = UpdateTask,
    responses((status = 200, body = TaskView, headers(("ETag" = String))), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<UpdateTask>,
) -> Result<Response, Refusal> {
    let expected = if_match(&headers)?;
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let patch = body.resolve(state.store.as_ref(), &project).await?;
    let task = state
        .store
        .update_task(user.id, task.id, patch, expected)
        .await?;
    after_commit(with_etag(&state, StatusCode::OK, task)).await
}

#[utoipa::path(
    delete,
    operation_id = "tasks_delete",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "moved to the trash with its subtasks"), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    let expected = if_match(&headers)?;
    let (task, _) = visible_task(&state, &user, &key, Role::Editor).await?;
    state.store.delete_task(user.id, task.id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "tasks_list",
    path = "/projects/{key}/tasks",
    tag = "tasks",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ListParams),
    responses((status = 200, body = List<TaskView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<List<TaskView>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    let query = params.resolve(state.store.as_ref(), &project).await?;
    let page = state.store.list_tasks(project.id, &query).await?;
    Ok(List {
        items: TaskView::many(state.store.as_ref(), page.items).await?,
        next: page.next,
    })
}

#[utoipa::path(
    post,
    operation_id = "tasks_move_task",
    path = "/tasks/{key}/move",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header)),
    request_body = MoveTask,
    responses((status = 200, body = TaskView, headers(("ETag" = String))), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn move_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<MoveTask>,
) -> Result<Response, Refusal> {
    let expected = if_match(&headers)?;
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let to = body.resolve(state.store.as_ref(), &project).await?;
    let task = state
        .store
        .move_task(user.id, task.id, to, expected)
        .await?;
    after_commit(with_etag(&state, StatusCode::OK, task)).await
}
