//! Project, membership and label requests.

use serde::Deserialize;
use taskflow_core::project::{
    Colour, LabelPatch, NewLabel, NewProject, ProjectKey, ProjectPatch, Role,
};
use taskflow_core::text::{LabelName, Markdown, ProjectName};

use super::all_valid;
use crate::error::ApiError;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl TryFrom<CreateProject> for NewProject {
    type Error = ApiError;

    fn try_from(body: CreateProject) -> Result<Self, ApiError> {
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
    pub name: Option<String>,
    pub description: Option<String>,
    pub archived: Option<bool>,
}

impl TryFrom<UpdateProject> for ProjectPatch {
    type Error = ApiError;

    fn try_from(body: UpdateProject) -> Result<Self, ApiError> {
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
    pub role: String,
}

impl TryFrom<SetMember> for Role {
    type Error = ApiError;

    fn try_from(body: SetMember) -> Result<Self, ApiError> {
        Ok(Role::parse(&body.role)?)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabel {
    pub name: String,
    pub colour: String,
}

impl TryFrom<CreateLabel> for NewLabel {
    type Error = ApiError;

    fn try_from(body: CreateLabel) -> Result<Self, ApiError> {
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
    pub name: Option<String>,
    pub colour: Option<String>,
}

impl TryFrom<UpdateLabel> for LabelPatch {
    type Error = ApiError;

    fn try_from(body: UpdateLabel) -> Result<Self, ApiError> {
        let name = body.name.map(LabelName::parse).transpose();
        let colour = body.colour.map(Colour::parse).transpose();
        all_valid([name.as_ref().err(), colour.as_ref().err()])?;
        Ok(LabelPatch {
            name: name?,
            colour: colour?,
        })
    }
}
