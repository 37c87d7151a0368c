//! Project roles. A project the caller cannot see answers 404 — never 403, which would confirm
//! it exists; a member without the needed role gets 403.

use axum::http::StatusCode;
use taskflow_core::project::{Project, ProjectKey, Role};
use taskflow_core::user::User;

use crate::{ApiError, AppState};

/// The project, if `user` holds at least `needed` in it (administrators hold every role).
pub async fn project_for(
    state: &AppState,
    user: &User,
    key: &ProjectKey,
    needed: Role,
) -> Result<Project, ApiError> {
    let project = state.store.project_by_key(key).await?;
    check_role(state, user, &project, needed).await?;
    Ok(project)
}

pub async fn check_role(
    state: &AppState,
    user: &User,
    project: &Project,
    needed: Role,
) -> Result<Role, ApiError> {
    if user.is_admin {
        return Ok(Role::Owner);
    }
    match state.store.member_role(project.id, user.id).await? {
        None => Err(ApiError::not_found("project")),
        Some(role) if role >= needed => Ok(role),
        Some(role) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this needs the {} role; you are a {}",
                needed.as_str(),
                role.as_str()
            ),
        )),
    }
}

pub fn parse_key(raw: &str) -> Result<ProjectKey, ApiError> {
    ProjectKey::parse(raw).map_err(|_| ApiError::not_found("project"))
}
