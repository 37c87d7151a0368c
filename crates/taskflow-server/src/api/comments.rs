//! Comments on tasks. Viewers read; editors write; a comment can be edited or deleted by its
//! author, or by a project owner.

use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::project::Role;
use taskflow_core::{CommentId, StoreError};

use crate::access::{own_comment, visible_task};
use crate::api::after_commit;
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::Refusal;
use crate::input::CommentInput;
use crate::state::AppState;
use crate::views::{CommentView, List};

#[utoipa::path(
    get,
    operation_id = "comments_list",
    path = "/tasks/{key}/comments",
    tag = "comments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    responses((status = 200, body = List<CommentView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<CommentView>, Refusal> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    let comments = state.store.comments(task.id).await?;
    Ok(List::all(
        CommentView::many(state.store.as_ref(), comments).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "comments_create",
    path = "/tasks/{key}/comments",
    tag = "comments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ("Idempotency-Key" = Option<String>, Header, description = "a key of the client's (1 to 255 visible ASCII characters): the same create sent again with it within a day makes nothing and answers with what the first made")),
    request_body = CommentInput,
    responses((status = 201, body = CommentView), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CommentInput>,
) -> Result<(StatusCode, axum::Json<CommentView>), Refusal> {
    let (task, _) = visible_task(&state, &user, &key, Role::Editor).await?;
    let body = body.try_into()?;
    let comment = match state.store.add_comment(user.id, task.id, body).await {
        // Sent again with its Idempotency-Key: the comment the first request made.
        Err(StoreError::Replayed { id }) => state.store.comment(CommentId(id)).await?,
        made => made?,
    };
    let view = after_commit(CommentView::one(state.store.as_ref(), comment)).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(
    patch,
    operation_id = "comments_edit",
    path = "/comments/{id}",
    tag = "comments",
    params(("id" = i64, Path, description = "comment id")),
    request_body = CommentInput,
    responses((status = 200, body = CommentView), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn edit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<CommentInput>,
) -> Result<axum::Json<CommentView>, Refusal> {
    let comment = own_comment(&state, &user, id).await?;
    let body = body.try_into()?;
    let edited = state.store.edit_comment(user.id, comment.id, body).await?;
    Ok(axum::Json(
        after_commit(CommentView::one(state.store.as_ref(), edited)).await?,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "comments_delete",
    path = "/comments/{id}",
    tag = "comments",
    params(("id" = i64, Path, description = "comment id")),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, Refusal> {
    let comment = own_comment(&state, &user, id).await?;
    state.store.delete_comment(user.id, comment.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
