//! The trash. In a project, editors see it and restore from it; purging for good is for
//! owners (and administrators). Account-wide (`/api/v1/trash`), owners see the trash of every
//! project they own, trashed projects included, and restore or purge from there.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use taskflow_core::project::{Project, Role};
use taskflow_core::trash::{PurgeCounts, TrashItem, TrashRef};
use taskflow_core::user::User;
use taskflow_core::{AttachmentId, CommentId, ProjectId, TaskId};

use crate::api::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::{ApiError, AppState};

#[utoipa::path(
    get,
    operation_id = "trash_list",
    path = "/projects/{key}/trash",
    tag = "trash",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = Vec<TrashItem>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Vec<TrashItem>>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    Ok(axum::Json(state.store.trash(Some(project.id)).await?))
}

/// Names an item of this project's trash.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "snake_case",
    tag = "type",
    content = "id"
)]
pub enum ItemIn {
    Project(i64),
    Task(i64),
    Comment(i64),
    Attachment(i64),
}

/// The item, if it is in this project's trash (404 otherwise).
async fn item_in(state: &AppState, project: &Project, item: ItemIn) -> Result<TrashRef, ApiError> {
    let item = match item {
        ItemIn::Project(id) => TrashRef::Project(ProjectId(id)),
        ItemIn::Task(id) => TrashRef::Task(TaskId(id)),
        ItemIn::Comment(id) => TrashRef::Comment(CommentId(id)),
        ItemIn::Attachment(id) => TrashRef::Attachment(AttachmentId(id)),
    };
    let trash = state.store.trash(Some(project.id)).await?;
    trash
        .iter()
        .find(|t| t.item == item)
        .map(|t| t.item)
        .ok_or_else(|| ApiError::not_found("item in this project's trash"))
}

#[utoipa::path(
    post,
    operation_id = "trash_restore",
    path = "/projects/{key}/trash/restore",
    tag = "trash",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = ItemIn,
    responses((status = 204), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn restore(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<ItemIn>,
) -> Result<StatusCode, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let item = item_in(&state, &project, body).await?;
    state.store.restore(user.id, item).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "trash_purge",
    path = "/projects/{key}/trash/purge",
    tag = "trash",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = ItemIn,
    responses((status = 200, body = PurgeCounts), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn purge(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<ItemIn>,
) -> Result<axum::Json<PurgeCounts>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let item = item_in(&state, &project, body).await?;
    let counts = state.store.purge(user.id, item).await?;
    tracing::info!(project = %project.key, ?item, purged = counts.total(), "purged from the trash");
    Ok(axum::Json(counts))
}

/// Whether `user` owns (or administers) the project; non-members get 404, other members 403.
async fn owns(state: &AppState, user: &User, project: ProjectId) -> Result<(), ApiError> {
    if user.is_admin {
        return Ok(());
    }
    match state.store.member_role(project, user.id).await? {
        Some(Role::Owner) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the project's owners manage its trash here",
        )),
        None => Err(ApiError::not_found("item in the trash")),
    }
}

/// The trash of every project the caller owns (everything, for administrators).
#[utoipa::path(
    get,
    operation_id = "trash_list_all",
    path = "/trash",
    tag = "trash",
    responses((status = 200, body = Vec<TrashItem>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<Vec<TrashItem>>, ApiError> {
    let mut owned = std::collections::HashMap::new();
    let mut items = Vec::new();
    for item in state.store.trash(None).await? {
        let mine = match owned.get(&item.project_id) {
            Some(mine) => *mine,
            None => {
                let mine = owns(&state, &user, item.project_id).await.is_ok();
                owned.insert(item.project_id, mine);
                mine
            }
        };
        if mine {
            items.push(item);
        }
    }
    Ok(axum::Json(items))
}

/// The trashed item and its project, checked to belong to a project the caller owns.
async fn owned_item(state: &AppState, user: &User, item: ItemIn) -> Result<TrashRef, ApiError> {
    let wanted = match item {
        ItemIn::Project(id) => TrashRef::Project(ProjectId(id)),
        ItemIn::Task(id) => TrashRef::Task(TaskId(id)),
        ItemIn::Comment(id) => TrashRef::Comment(CommentId(id)),
        ItemIn::Attachment(id) => TrashRef::Attachment(AttachmentId(id)),
    };
    let found = state
        .store
        .trash(None)
        .await?
        .into_iter()
        .find(|t| t.item == wanted)
        .ok_or_else(|| ApiError::not_found("item in the trash"))?;
    owns(state, user, found.project_id).await?;
    Ok(found.item)
}

#[utoipa::path(
    post,
    operation_id = "trash_restore_any",
    path = "/trash/restore",
    tag = "trash",
    request_body = ItemIn,
    responses((status = 204), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn restore_any(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<ItemIn>,
) -> Result<StatusCode, ApiError> {
    let item = owned_item(&state, &user, body).await?;
    state.store.restore(user.id, item).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "trash_purge_any",
    path = "/trash/purge",
    tag = "trash",
    request_body = ItemIn,
    responses((status = 200, body = PurgeCounts), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn purge_any(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<ItemIn>,
) -> Result<axum::Json<PurgeCounts>, ApiError> {
    let item = owned_item(&state, &user, body).await?;
    let counts = state.store.purge(user.id, item).await?;
    tracing::info!(?item, purged = counts.total(), "purged from the trash");
    Ok(axum::Json(counts))
}
