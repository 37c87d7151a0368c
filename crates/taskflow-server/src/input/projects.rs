//! Project, membership and label requests.

use serde::Deserialize;
use taskflow_core::project::{
    Colour, LabelPatch, NewLabel, NewProject, ProjectKey, ProjectPatch, Role,
};
use taskflow_core::text::{LabelName, Markdown, ProjectName};

use super::all_valid;
use crate::error::Refusal;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// 2 to 10 capital letters and digits, starting with a letter (`OPS`): tasks are `OPS-1`,
    /// `OPS-2`…; it never changes.
    pub key: String,
    /// One line, 1 to 100 characters.
    pub name: String,
    /// Markdown.
    #[serde(default)]
    pub description: String,
}

impl TryFrom<CreateProject> for NewProject {
    type Error = Refusal;

    fn try_from(body: CreateProject) -> Result<Self, Refusal> {
        let key = ProjectKey::parse(&body.key);
        let name = ProjectName::parse(body.name);
        let description = Markdown::parse(body.description);
        all_valid([
            key.as_ref().err(),
            name.as_ref().err(),
            description.as_ref().err(),
        ])?;
        Ok(NewProject {
            key: key?,
            name: name?,
            description: description?,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    /// Fields left out stay as they are.
    pub name: Option<String>,
    /// Markdown.
    pub description: Option<String>,
    /// An archived project is read-only until unarchived.
    pub archived: Option<bool>,
}

impl TryFrom<UpdateProject> for ProjectPatch {
    type Error = Refusal;

    fn try_from(body: UpdateProject) -> Result<Self, Refusal> {
        let name = body.name.map(ProjectName::parse).transpose();
        let description = body.description.map(Markdown::parse).transpose();
        all_valid([name.as_ref().err(), description.as_ref().err()])?;
        Ok(ProjectPatch {
            name: name?,
            description: description?,
            archived: body.archived,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMember {
    /// `owner`, `editor` or `viewer`.
    pub role: String,
}

impl TryFrom<SetMember> for Role {
    type Error = Refusal;

    fn try_from(body: SetMember) -> Result<Self, Refusal> {
        Ok(Role::parse(&body.role)?)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabel {
    /// Unique in the project; one line, 1 to 50 characters.
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
}

impl TryFrom<CreateLabel> for NewLabel {
    type Error = Refusal;

    fn try_from(body: CreateLabel) -> Result<Self, Refusal> {
        let name = LabelName::parse(body.name);
        let colour = Colour::parse(body.colour);
        all_valid([name.as_ref().err(), colour.as_ref().err()])?;
        Ok(NewLabel {
            name: name?,
            colour: colour?,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLabel {
    /// A new name; tasks keep the label.
    pub name: Option<String>,
    /// `#rrggbb`.
    pub colour: Option<String>,
}

impl TryFrom<UpdateLabel> for LabelPatch {
    type Error = Refusal;

    fn try_from(body: UpdateLabel) -> Result<Self, Refusal> {
        let name = body.name.map(LabelName::parse).transpose();
        let colour = body.colour.map(Colour::parse).transpose();
        all_valid([name.as_ref().err(), colour.as_ref().err()])?;
        Ok(LabelPatch {
            name: name?,
            colour: colour?,
        })
    }
}
