//! Workflow requests: a project's statuses added, changed and deleted.

use serde::Deserialize;
use taskflow_core::project::Colour;
use taskflow_core::text::StatusName;
use taskflow_core::workflow::{Category, NewStatus, StatusPatch, WipLimit, Workflow};
use taskflow_core::{StatusId, ValidationError};

use super::{all_valid, present};
use crate::error::Refusal;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStatus {
    /// One line, 1 to 40 characters, unique in the project (ignoring case, spaces, hyphens and
    /// underscores).
    pub name: String,
    /// `backlog`, `unstarted`, `started` (the default), `completed` or `cancelled`: tasks in a
    /// completed or cancelled status are closed.
    pub category: Option<String>,
    /// `#rrggbb`; a colour of its category when not given.
    pub colour: Option<String>,
    /// At most this many tasks are meant to be in it at once (1 to 999); the board says when
    /// more are.
    pub wip_limit: Option<i64>,
    /// Its place on the board from 0 at the left; at the right when not given.
    pub position: Option<u32>,
}

/// The colour a status of `category` gets when none is given.
pub fn category_colour(category: Category) -> Colour {
    let hex = match category {
        Category::Backlog => "#6e7781",
        Category::Unstarted => "#8b949e",
        Category::Started => "#1f6feb",
        Category::Completed => "#2da44e",
        Category::Cancelled => "#cf222e",
    };
    Colour::parse(hex).expect("a colour")
}

impl TryFrom<CreateStatus> for NewStatus {
    type Error = Refusal;

    fn try_from(body: CreateStatus) -> Result<Self, Refusal> {
        let name = StatusName::parse(body.name);
        let category = body
            .category
            .as_deref()
            .map_or(Ok(Category::Started), Category::parse);
        let colour = body.colour.map(Colour::parse).transpose();
        let wip_limit = body.wip_limit.map(WipLimit::new).transpose();
        all_valid([
            name.as_ref().err(),
            category.as_ref().err(),
            colour.as_ref().err(),
            wip_limit.as_ref().err(),
        ])?;
        let category = category?;
        Ok(NewStatus {
            name: name?,
            colour: colour?.unwrap_or_else(|| category_colour(category)),
            category,
            wip_limit: wip_limit?,
            position: body.position.map(|p| p as usize),
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatus {
    /// A new name; its tasks keep it.
    pub name: Option<String>,
    pub category: Option<String>,
    /// `#rrggbb`.
    pub colour: Option<String>,
    /// A limit on the tasks in it (1 to 999), or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub wip_limit: Option<Option<i64>>,
    /// Its new place on the board, from 0 at the left.
    pub position: Option<u32>,
}

impl TryFrom<UpdateStatus> for StatusPatch {
    type Error = Refusal;

    fn try_from(body: UpdateStatus) -> Result<Self, Refusal> {
        let name = body.name.map(StatusName::parse).transpose();
        let category = body.category.as_deref().map(Category::parse).transpose();
        let colour = body.colour.map(Colour::parse).transpose();
        let wip_limit = body
            .wip_limit
            .map(|l| l.map(WipLimit::new).transpose())
            .transpose();
        all_valid([
            name.as_ref().err(),
            category.as_ref().err(),
            colour.as_ref().err(),
            wip_limit.as_ref().err(),
        ])?;
        Ok(StatusPatch {
            name: name?,
            colour: colour?,
            category: category?,
            wip_limit: wip_limit?,
            position: body.position.map(|p| p as usize),
        })
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteStatus {
    /// The name of the status its tasks go to (trashed ones too), at the bottom of that
    /// column; needed when it holds any.
    pub move_to: Option<String>,
}

impl DeleteStatus {
    /// The status named to take the tasks, in `workflow`.
    pub fn resolve(&self, workflow: &Workflow) -> Result<Option<StatusId>, Refusal> {
        let target: Result<Option<StatusId>, ValidationError> = self
            .move_to
            .as_deref()
            .filter(|name| !name.trim().is_empty())
            .map(|name| workflow.resolve("move_to", name).map(|s| s.id))
            .transpose();
        all_valid([target.as_ref().err()])?;
        Ok(target?)
    }
}
