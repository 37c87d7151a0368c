//! Project members and labels. Everyone in a project can read them; owners manage members,
//! editors manage labels.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use taskflow_core::LabelId;
use taskflow_core::project::{Colour, Label, LabelPatch, Member, NewLabel, Role};
use taskflow_core::text::LabelName;
use taskflow_core::user::Username;

use crate::api::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path, all_valid};
use crate::{ApiError, AppState};

#[utoipa::path(
    get,
    operation_id = "members_list",
    path = "/projects/{key}/members",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = Vec<Member>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Vec<Member>>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    Ok(axum::Json(state.store.members(project.id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    role: String,
}

#[utoipa::path(
    put,
    operation_id = "members_put",
    path = "/projects/{key}/members/{username}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("username" = String, Path)),
    request_body = SetMember,
    responses((status = 200, body = Member), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, username)): Path<(String, String)>,
    Json(body): Json<SetMember>,
) -> Result<axum::Json<Member>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let role = Role::parse(&body.role)?;
    let member = Username::parse(&username).map_err(|_| ApiError::not_found("user"))?;
    let member = state.store.user_by_username(&member).await?;
    Ok(axum::Json(
        state
            .store
            .set_member(user.id, project.id, member.id, role)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "members_remove",
    path = "/projects/{key}/members/{username}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("username" = String, Path)),
    responses((status = 204), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let member = Username::parse(&username).map_err(|_| ApiError::not_found("member"))?;
    let member = state.store.user_by_username(&member).await?;
    state
        .store
        .remove_member(user.id, project.id, member.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "members_labels",
    path = "/projects/{key}/labels",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = Vec<Label>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn labels(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<axum::Json<Vec<Label>>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    Ok(axum::Json(state.store.labels(project.id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabel {
    name: String,
    colour: String,
}

#[utoipa::path(
    post,
    operation_id = "members_create_label",
    path = "/projects/{key}/labels",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    request_body = CreateLabel,
    responses((status = 201, body = Label), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn create_label(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Json(body): Json<CreateLabel>,
) -> Result<(StatusCode, axum::Json<Label>), ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let name = LabelName::parse(body.name);
    let colour = Colour::parse(body.colour);
    all_valid([name.as_ref().err(), colour.as_ref().err()])?;
    let label = state
        .store
        .create_label(
            project.id,
            NewLabel {
                name: name?,
                colour: colour?,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(label)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLabel {
    name: Option<String>,
    colour: Option<String>,
}

/// The label, if it belongs to the project (404 otherwise).
async fn label_in(
    state: &AppState,
    project: taskflow_core::ProjectId,
    id: i64,
) -> Result<Label, ApiError> {
    match state.store.label(LabelId(id)).await {
        Ok(label) if label.project_id == project => Ok(label),
        Ok(_) => Err(ApiError::not_found("label")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(
    patch,
    operation_id = "members_update_label",
    path = "/projects/{key}/labels/{id}",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "label id")),
    request_body = UpdateLabel,
    responses((status = 200, body = Label), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn update_label(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
    Json(body): Json<UpdateLabel>,
) -> Result<axum::Json<Label>, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let label = label_in(&state, project.id, id).await?;
    let name = body.name.map(LabelName::parse).transpose();
    let colour = body.colour.map(Colour::parse).transpose();
    all_valid([name.as_ref().err(), colour.as_ref().err()])?;
    let patch = LabelPatch {
        name: name?,
        colour: colour?,
    };
    Ok(axum::Json(state.store.update_label(label.id, patch).await?))
}

#[utoipa::path(
    delete,
    operation_id = "members_delete_label",
    path = "/projects/{key}/labels/{id}",
    tag = "labels",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("id" = i64, Path, description = "label id")),
    responses((status = 204), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete_label(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Editor).await?;
    let label = label_in(&state, project.id, id).await?;
    state.store.delete_label(label.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
