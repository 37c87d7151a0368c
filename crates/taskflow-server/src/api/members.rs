//! Project members. Everyone in a project can read them; owners manage them.

use axum::extract::State;
use axum::http::StatusCode;
use taskflow_core::project::Role;
use taskflow_core::user::Username;

use crate::access::{parse_key, project_for};
use crate::api::auth::CurrentUser;
use crate::api::json::{Json, Path};
use crate::error::{Kind, Refusal};
use crate::input::SetMember;
use crate::state::AppState;
use crate::views::{List, MemberView};

#[utoipa::path(
    get,
    operation_id = "members_list",
    path = "/projects/{key}/members",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS")),
    responses((status = 200, body = List<MemberView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<MemberView>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    let members = state.store.members(project.id).await?;
    Ok(List::all(
        MemberView::many(state.store.as_ref(), members).await?,
    ))
}

#[utoipa::path(
    put,
    operation_id = "members_put",
    path = "/projects/{key}/members/{username}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("username" = String, Path)),
    request_body = SetMember,
    responses((status = 200, body = MemberView), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, username)): Path<(String, String)>,
    Json(body): Json<SetMember>,
) -> Result<axum::Json<MemberView>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let role = body.try_into()?;
    let member = match crate::access::addable_member(&state, &user, &project, &username).await? {
        crate::access::Addable::Yes(member) => member,
        crate::access::Addable::Unknown => return Err(Refusal::not_found("user")),
        crate::access::Addable::AdministratorsOnly => {
            return Err(Refusal::new(
                Kind::Forbidden,
                "only administrators add people to projects on this installation",
            ));
        }
    };
    let member = state
        .store
        .set_member(user.id, project.id, member.id, role)
        .await?;
    let mut views =
        super::after_commit(MemberView::many(state.store.as_ref(), vec![member])).await?;
    Ok(axum::Json(
        views.pop().expect("one member in, one view out"),
    ))
}

#[utoipa::path(
    delete,
    operation_id = "members_remove",
    path = "/projects/{key}/members/{username}",
    tag = "projects",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ("username" = String, Path)),
    responses((status = 204), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((key, username)): Path<(String, String)>,
) -> Result<StatusCode, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Owner).await?;
    let member = Username::parse(&username).map_err(|_| Refusal::not_found("member"))?;
    let member = state.store.user_by_username(&member).await?;
    state
        .store
        .remove_member(user.id, project.id, member.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
