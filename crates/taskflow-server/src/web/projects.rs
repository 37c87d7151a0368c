//! The projects page: every project the person can see, and a new one.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::project::{NewProject, Project};

use super::kit::{PageFrame, Posted, Refused, Viewer, message, redirect, render};
use crate::error::{Kind, Refusal};
use crate::input::CreateProject;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    page: PageFrame,
    projects: Vec<Project>,
    archived: bool,
    problem: Option<String>,
    form_key: String,
    form_name: String,
}

#[derive(Deserialize)]
pub struct ProjectsParams {
    archived: Option<String>,
}

async fn projects_page(
    state: &AppState,
    viewer: &Viewer,
    archived: bool,
    status: StatusCode,
    problem: Option<String>,
    form: (String, String),
) -> Result<Response, Refused> {
    let member = (!viewer.user.is_admin).then_some(viewer.user.id);
    let projects = state.store.list_projects(member, archived).await?;
    let page = ProjectsPage {
        page: viewer.frame("projects"),
        projects,
        archived,
        problem,
        form_key: form.0,
        form_name: form.1,
    };
    Ok(render(status, &page))
}

/// The projects the viewer is a member of (every project, for administrators); archived ones
/// only when asked for.
pub async fn projects(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<ProjectsParams>,
) -> Result<Response, Refused> {
    let archived = params.archived.is_some_and(|v| v == "1" || v == "true");
    projects_page(
        &state,
        &viewer,
        archived,
        StatusCode::OK,
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct NewProjectForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
}

pub async fn create_project(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<NewProjectForm>,
) -> Result<Response, Refused> {
    let typed = (form.key.clone(), form.name.clone());
    let input = CreateProject {
        key: form.key.trim().to_uppercase(),
        name: form.name,
        description: String::new(),
    };
    let new: Result<NewProject, Refusal> = input.try_into();
    let created = match new {
        Ok(new) => state
            .store
            .create_project(viewer.user.id, new)
            .await
            .map_err(Refusal::from),
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(redirect("/projects")),
        Err(e) if e.kind == Kind::Invalid || e.kind.is_conflict() => {
            let problem = super::words::sentence(&e.message);
            projects_page(&state, &viewer, false, e.status(), Some(problem), typed).await
        }
        Err(e) => Ok(message(
            e.status(),
            viewer.frame("projects"),
            "The project was not created",
            &e.message,
        )),
    }
}
