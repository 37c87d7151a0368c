//! Tasks, addressed by their key (`OPS-42`). Responses carry an `ETag` of the task's version;
//! updates and deletes honour `If-Match`, answering 412 with the current version when stale.

use axum::extract::State;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taskflow_core::project::{Project, Role};
use taskflow_core::task::*;
use taskflow_core::text::{Markdown, TaskTitle};
use taskflow_core::user::{User, Username};
use taskflow_core::{LabelId, TaskId, UserId, ValidationError};
use time::Date;

use crate::api::access::{check_role, parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, Query, all_valid, present};
use crate::{ApiError, AppState};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskView {
    key: String,
    #[serde(flatten)]
    task: Task,
}

impl From<Task> for TaskView {
    fn from(task: Task) -> Self {
        Self {
            key: task.key().to_string(),
            task,
        }
    }
}

fn with_etag(status: StatusCode, task: Task) -> Response {
    let etag =
        HeaderValue::from_str(&format!("\"{}\"", task.version)).expect("digits are a valid header");
    (status, [(ETAG, etag)], axum::Json(TaskView::from(task))).into_response()
}

/// The version an `If-Match` header asks for: `None` when absent or `*`.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "If-Match must be an ETag from this API, like \"3\"",
            )
        })
}

fn parse_date(field: &str, value: &str) -> Result<Date, ValidationError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, format).map_err(|_| {
        ValidationError::new(field, format!("{value:?} is not a date like 2026-12-31"))
    })
}

/// A task the caller can see with at least the `needed` role (404 when they cannot see it,
/// 403 when their role is too low), and its project.
pub async fn visible_task(
    state: &AppState,
    user: &User,
    raw_key: &str,
    needed: Role,
) -> Result<(Task, Project), ApiError> {
    let key = TaskKey::parse(raw_key).map_err(|_| ApiError::not_found("task"))?;
    let project = state
        .store
        .project_by_key(&key.project)
        .await
        .map_err(|_| ApiError::not_found("task"))?;
    match check_role(state, user, &project, needed).await {
        Err(e) if e.status == StatusCode::NOT_FOUND => return Err(ApiError::not_found("task")),
        other => other?,
    };
    Ok((state.store.task_by_key(&key).await?, project))
}

async fn resolve_users(
    state: &AppState,
    names: &[String],
) -> Result<Result<Vec<UserId>, ValidationError>, ApiError> {
    let mut ids = Vec::new();
    for name in names {
        let Ok(username) = Username::parse(name) else {
            return Ok(Err(ValidationError::new(
                "assignees",
                format!("{name:?} is not a username"),
            )));
        };
        match state.store.user_by_username(&username).await {
            Ok(user) => ids.push(user.id),
            Err(taskflow_core::StoreError::NotFound { .. }) => {
                return Ok(Err(ValidationError::new(
                    "assignees",
                    format!("no user named {name:?}"),
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Ok(ids))
}

async fn resolve_labels(
    state: &AppState,
    project: &Project,
    names: &[String],
) -> Result<Result<Vec<LabelId>, ValidationError>, ApiError> {
    let labels = state.store.labels(project.id).await?;
    let mut ids = Vec::new();
    for name in names {
        match labels.iter().find(|l| l.name.as_str() == name) {
            Some(label) => ids.push(label.id),
            None => {
                return Ok(Err(ValidationError::new(
                    "labels",
                    format!("no label {name:?} in this project"),
                )));
            }
        }
    }
    Ok(Ok(ids))
}

/// The task a key names, if it is in `project`; otherwise a validation error for `field`.
async fn resolve_task(
    state: &AppState,
    project: &Project,
    raw: &str,
    field: &str,
) -> Result<Result<TaskId, ValidationError>, ApiError> {
    let invalid = || ValidationError::new(field, format!("{raw:?} is not a task of this project"));
    let Ok(key) = TaskKey::parse(raw) else {
        return Ok(Err(invalid()));
    };
    if key.project != project.key {
        return Ok(Err(invalid()));
    }
    match state.store.task_by_key(&key).await {
        Ok(task) => Ok(Ok(task.id)),
        Err(taskflow_core::StoreError::NotFound { .. }) => Ok(Err(invalid())),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    title: String,
    #[serde(default)]
    description: String,
    status: Option<String>,
    priority: Option<String>,
    due_date: Option<String>,
    #[serde(default)]
    assignees: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    parent: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "tasks_create",
    path = "/projects/{key}/tasks",
    tag = "tasks",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = CreateTask,
    responses((status = 201, body = TaskView, headers(("ETag" = String, description = "the task's version"))), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CreateTask>,
) -> Result<Response, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let title = TaskTitle::parse(body.title);
    let description = Markdown::parse(body.description);
    let status = body
        .status
        .as_deref()
        .map(Status::parse)
        .unwrap_or(Ok(Status::Todo));
    let priority = body
        .priority
        .as_deref()
        .map(Priority::parse)
        .unwrap_or(Ok(Priority::None));
    let due_date = body
        .due_date
        .as_deref()
        .map(|d| parse_date("due_date", d))
        .transpose();
    let assignees = resolve_users(&state, &body.assignees).await?;
    let labels = resolve_labels(&state, &project, &body.labels).await?;
    let parent = match body.parent.as_deref() {
        Some(raw) => resolve_task(&state, &project, raw, "parent")
            .await?
            .map(Some),
        None => Ok(None),
    };
    all_valid([
        title.as_ref().err(),
        description.as_ref().err(),
        status.as_ref().err(),
        priority.as_ref().err(),
        due_date.as_ref().err(),
        assignees.as_ref().err(),
        labels.as_ref().err(),
        parent.as_ref().err(),
    ])?;
    let new = NewTask {
        title: title?,
        description: description?,
        status: status?,
        priority: priority?,
        due_date: due_date?,
        assignees: assignees?,
        labels: labels?,
        parent_id: parent?,
    };
    let task = state.store.create_task(user.id, project.id, new).await?;
    Ok(with_etag(StatusCode::CREATED, task))
}

#[utoipa::path(
    get,
    operation_id = "tasks_get",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    responses((status = 200, body = TaskView, headers(("ETag" = String))), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    Ok(with_etag(StatusCode::OK, task))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    title: Option<String>,
    description: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    #[serde(default, deserialize_with = "present")]
    due_date: Option<Option<String>>,
    assignees: Option<Vec<String>>,
    labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    parent: Option<Option<String>>,
}

#[utoipa::path(
    patch,
    operation_id = "tasks_update",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header, description = "the ETag this change is based on")),
    request_body = UpdateTask,
    responses((status = 200, body = TaskView, headers(("ETag" = String))), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<UpdateTask>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let title = body.title.map(TaskTitle::parse).transpose();
    let description = body.description.map(Markdown::parse).transpose();
    let status = body.status.as_deref().map(Status::parse).transpose();
    let priority = body.priority.as_deref().map(Priority::parse).transpose();
    let due_date = body
        .due_date
        .map(|d| d.as_deref().map(|d| parse_date("due_date", d)).transpose())
        .transpose();
    let assignees = match &body.assignees {
        Some(names) => resolve_users(&state, names).await?.map(Some),
        None => Ok(None),
    };
    let labels = match &body.labels {
        Some(names) => resolve_labels(&state, &project, names).await?.map(Some),
        None => Ok(None),
    };
    let parent = match &body.parent {
        Some(Some(raw)) => resolve_task(&state, &project, raw, "parent")
            .await?
            .map(|p| Some(Some(p))),
        Some(None) => Ok(Some(None)),
        None => Ok(None),
    };
    all_valid([
        title.as_ref().err(),
        description.as_ref().err(),
        status.as_ref().err(),
        priority.as_ref().err(),
        due_date.as_ref().err(),
        assignees.as_ref().err(),
        labels.as_ref().err(),
        parent.as_ref().err(),
    ])?;
    let patch = TaskPatch {
        title: title?,
        description: description?,
        status: status?,
        priority: priority?,
        due_date: due_date?,
        assignees: assignees?,
        labels: labels?,
        parent_id: parent?,
    };
    let task = state
        .store
        .update_task(user.id, task.id, patch, expected)
        .await?;
    Ok(with_etag(StatusCode::OK, task))
}

#[utoipa::path(
    delete,
    operation_id = "tasks_delete",
    path = "/tasks/{key}",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "moved to the trash with its subtasks"), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let expected = if_match(&headers)?;
    let (task, _) = visible_task(&state, &user, &key, Role::Editor).await?;
    state.store.delete_task(user.id, task.id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated statuses.
    status: Option<String>,
    assignee: Option<String>,
    label: Option<String>,
    due_before: Option<String>,
    due_after: Option<String>,
    /// A task key, or `none` for top-level tasks only.
    parent: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskPage {
    items: Vec<TaskView>,
    next: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "tasks_list",
    path = "/projects/{key}/tasks",
    tag = "tasks",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ListParams),
    responses((status = 200, body = TaskPage), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<TaskPage>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    let sort = params
        .sort
        .as_deref()
        .map(TaskSort::parse)
        .unwrap_or(Ok(TaskSort::Position));
    let statuses: Result<Vec<Status>, ValidationError> = params
        .status
        .as_deref()
        .map(|s| {
            s.split(',')
                .filter(|s| !s.is_empty())
                .map(Status::parse)
                .collect()
        })
        .unwrap_or(Ok(Vec::new()));
    let assignee = match params.assignee.as_deref() {
        Some(name) => resolve_users(&state, &[name.to_owned()])
            .await?
            .map(|ids| ids.first().copied()),
        None => Ok(None),
    };
    let label = match params.label.as_deref() {
        Some(name) => resolve_labels(&state, &project, &[name.to_owned()])
            .await?
            .map(|ids| ids.first().copied()),
        None => Ok(None),
    };
    let due_before = params
        .due_before
        .as_deref()
        .map(|d| parse_date("due_before", d))
        .transpose();
    let due_after = params
        .due_after
        .as_deref()
        .map(|d| parse_date("due_after", d))
        .transpose();
    let parent = match params.parent.as_deref() {
        Some("none") => Ok(Some(ParentFilter::TopLevel)),
        Some(raw) => resolve_task(&state, &project, raw, "parent")
            .await?
            .map(|id| Some(ParentFilter::Of(id))),
        None => Ok(None),
    };
    let text = params.q.as_deref().map(SearchText::parse).transpose();
    let limit = TaskQuery::check_limit(params.limit.unwrap_or(TaskQuery::DEFAULT_LIMIT));
    all_valid([
        sort.as_ref().err(),
        statuses.as_ref().err(),
        assignee.as_ref().err(),
        label.as_ref().err(),
        due_before.as_ref().err(),
        due_after.as_ref().err(),
        parent.as_ref().err(),
        text.as_ref().err(),
        limit.as_ref().err(),
    ])?;
    let sort = sort?;
    let after = params
        .after
        .as_deref()
        .map(|c| Cursor::decode(c, sort))
        .transpose()?;
    let query = TaskQuery {
        filter: TaskFilter {
            statuses: statuses?,
            assignee: assignee?,
            label: label?,
            due_before: due_before?,
            due_after: due_after?,
            parent: parent?,
            text: text?,
        },
        sort,
        limit: limit?,
        after,
    };
    let page = state.store.list_tasks(project.id, &query).await?;
    Ok(axum::Json(TaskPage {
        items: page.items.into_iter().map(TaskView::from).collect(),
        next: page.next,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTask {
    status: String,
    /// Put the task right after this one (a task key) in the column…
    after: Option<String>,
    /// …or right before this one…
    before: Option<String>,
    /// …or at the `top` or `bottom` (the default).
    position: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "tasks_move_task",
    path = "/tasks/{key}/move",
    tag = "tasks",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("If-Match" = Option<String>, Header)),
    request_body = MoveTask,
    responses((status = 200, body = TaskView, headers(("ETag" = String))), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn move_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<MoveTask>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let status = Status::parse(&body.status);
    let placement = match (
        body.after.as_deref(),
        body.before.as_deref(),
        body.position.as_deref(),
    ) {
        (Some(anchor), None, None) => resolve_task(&state, &project, anchor, "placement")
            .await?
            .map(Placement::After),
        (None, Some(anchor), None) => resolve_task(&state, &project, anchor, "placement")
            .await?
            .map(Placement::Before),
        (None, None, Some("top")) => Ok(Placement::Top),
        (None, None, Some("bottom") | None) => Ok(Placement::Bottom),
        (None, None, Some(other)) => Err(ValidationError::new(
            "position",
            format!("{other:?} is not top or bottom"),
        )),
        _ => Err(ValidationError::new(
            "placement",
            "give at most one of after, before and position",
        )),
    };
    all_valid([status.as_ref().err(), placement.as_ref().err()])?;
    let to = TaskMove {
        status: status?,
        placement: placement?,
    };
    let task = state
        .store
        .move_task(user.id, task.id, to, expected)
        .await?;
    Ok(with_etag(StatusCode::OK, task))
}
