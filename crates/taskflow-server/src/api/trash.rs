//! The trash. In a project, editors see it and restore from it; purging for good is for
//! owners (and administrators). Account-wide (`/api/v1/trash`), owners see the trash of every
//! project they own, trashed projects included, and restore or purge from there.

use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::project::Role;
use taskflow_core::trash::PurgeCounts;

use crate::access::{item_in, owned_item, owns, parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::Refusal;
use crate::input::ItemIn;
use crate::state::AppState;
use crate::views::{List, TrashItemView};

#[utoipa::path(
    get,
    operation_id = "trash_list",
    path = "/projects/{key}/trash",
    tag = "trash",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = List<TrashItemView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<TrashItemView>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let items = state.store.trash(Some(project.id)).await?;
    Ok(List::all(
        TrashItemView::many(state.store.as_ref(), items).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "trash_restore",
    path = "/projects/{key}/trash/restore",
    tag = "trash",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = ItemIn,
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn restore(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<ItemIn>,
) -> Result<StatusCode, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let item = item_in(&state, &project, body.into()).await?;
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
    responses((status = 200, body = PurgeCounts), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn purge(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<ItemIn>,
) -> Result<axum::Json<PurgeCounts>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let item = item_in(&state, &project, body.into()).await?;
    let counts = state.store.purge(user.id, item).await?;
    tracing::info!(project = %project.key, ?item, purged = counts.total(), "purged from the trash");
    Ok(axum::Json(counts))
}

/// The trash of every project the caller owns (everything, for administrators).
#[utoipa::path(
    get,
    operation_id = "trash_list_all",
    path = "/trash",
    tag = "trash",
    responses((status = 200, body = List<TrashItemView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<List<TrashItemView>, Refusal> {
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
    Ok(List::all(
        TrashItemView::many(state.store.as_ref(), items).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "trash_restore_any",
    path = "/trash/restore",
    tag = "trash",
    request_body = ItemIn,
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn restore_any(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<ItemIn>,
) -> Result<StatusCode, Refusal> {
    let item = owned_item(&state, &user, body.into()).await?;
    state.store.restore(user.id, item).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    operation_id = "trash_purge_any",
    path = "/trash/purge",
    tag = "trash",
    request_body = ItemIn,
    responses((status = 200, body = PurgeCounts), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn purge_any(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(body): Json<ItemIn>,
) -> Result<axum::Json<PurgeCounts>, Refusal> {
    let item = owned_item(&state, &user, body.into()).await?;
    let counts = state.store.purge(user.id, item).await?;
    tracing::info!(?item, purged = counts.total(), "purged from the trash");
    Ok(axum::Json(counts))
}
