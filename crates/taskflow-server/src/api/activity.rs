//! Activity logs: who changed what, newest first, for a task or a whole project.

use axum::extract::State;
use serde::Deserialize;
use taskflow_core::ActivityId;
use taskflow_core::project::Role;

use crate::access::{parse_key, project_for, visible_task};
use crate::api::auth::CurrentUser;
use crate::api::json::{Path, Query};
use crate::error::Refusal;
use crate::state::AppState;
use crate::views::{ActivityView, List};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// An entry id: only older entries are listed.
    #[param(value_type = Option<i64>)]
    before: Option<String>,
    /// 1 to 200; 50 when not given.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

impl ActivityParams {
    /// The page asked for: entries before this one, this many. Bad values are 400 `bad_query`
    /// naming the parameter.
    fn page(&self) -> Result<(Option<ActivityId>, u32), Refusal> {
        use taskflow_core::ValidationError;
        let before = match self.before.as_deref().map(str::trim) {
            None => Ok(None),
            Some(raw) => raw
                .parse::<i64>()
                .map(|id| Some(ActivityId(id)))
                .map_err(|_| ValidationError::new("before", format!("{raw:?} is not an entry id"))),
        };
        let limit = match self.limit.as_deref().map(str::trim) {
            None => Ok(50),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n @ 1..=200) => Ok(n),
                _ => Err(ValidationError::new(
                    "limit",
                    "must be a number from 1 to 200",
                )),
            },
        };
        crate::input::all_valid([before.as_ref().err(), limit.as_ref().err()])
            .map_err(crate::input::bad_query)?;
        Ok((before?, limit?))
    }
}

#[utoipa::path(
    get,
    operation_id = "activity_task",
    path = "/tasks/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), ActivityParams),
    responses((status = 200, body = List<ActivityView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ActivityParams>,
) -> Result<List<ActivityView>, Refusal> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    let (before, limit) = params.page()?;
    let entries = state.store.task_activity(task.id, before, limit).await?;
    ActivityView::page(state.store.as_ref(), entries, limit).await
}

#[utoipa::path(
    get,
    operation_id = "activity_project",
    path = "/projects/{key}/activity",
    tag = "activity",
    params(("key" = String, Path, description = "project key, e.g. OPS"), ActivityParams),
    responses((status = 200, body = List<ActivityView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn project(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<ActivityParams>,
) -> Result<List<ActivityView>, Refusal> {
    let project = project_for(&state, &user, &parse_key(&key)?, Role::Viewer).await?;
    let (before, limit) = params.page()?;
    let entries = state
        .store
        .project_activity(project.id, before, limit)
        .await?;
    ActivityView::page(state.store.as_ref(), entries, limit).await
}
