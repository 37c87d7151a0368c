//! A project's workflow page: its statuses in board order. Everyone in the project sees them;
//! owners add, rename, recolour, recategorise, limit, reorder and delete them (deleting asks
//! where the status's tasks go). Colours come from the project's stylesheet.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::StatusId;
use taskflow_core::project::Role;
use taskflow_core::workflow::{Category, Status, StatusPatch};

use super::kit::{PageFrame, Posted, ProjectNav, Refused, Viewer, redirect, render};
use super::words::problems;
use crate::access::viewed_project;
use crate::error::{Kind, Refusal};
use crate::input::{CreateStatus, DeleteStatus, UpdateStatus};
use crate::state::AppState;

/// A status as the page lists it.
struct Row {
    status: Status,
    colour_class: String,
    /// Its live tasks.
    tasks: u64,
}

#[derive(Template)]
#[template(path = "workflow.html")]
struct WorkflowPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    project_name: String,
    rows: Vec<Row>,
    can_manage: bool,
    problem: Option<String>,
    /// What the new-status form held when it was refused: name, category, limit.
    typed: (String, String, String),
}

impl WorkflowPage {
    fn categories(&self) -> [(&'static str, &'static str); 5] {
        Category::ALL.map(|c| (c.as_str(), c.words()))
    }

    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }

    fn limit(&self, status: &Status) -> String {
        status
            .wip_limit
            .map(|l| l.get().to_string())
            .unwrap_or_default()
    }

    /// Every other status, for "move its tasks to".
    fn others<'a>(&'a self, status: &Status) -> Vec<&'a Status> {
        self.rows
            .iter()
            .map(|r| &r.status)
            .filter(|s| s.id != status.id)
            .collect()
    }
}

/// `GET /p/{key}/workflow`.
pub async fn workflow(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Result<Response, Refused> {
    page(
        &state,
        &viewer,
        &key,
        StatusCode::OK,
        None,
        Default::default(),
    )
    .await
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    status: StatusCode,
    problem: Option<String>,
    typed: (String, String, String),
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    let store = state.store.as_ref();
    let rows = store
        .workflow(project.id)
        .await?
        .0
        .into_iter()
        .map(|status| Row {
            colour_class: crate::views::colour_class(status.colour.as_str()),
            tasks: status.tasks,
            status,
        })
        .collect();
    Ok(render(
        status,
        &WorkflowPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, role, "workflow"),
            project_key: project.key.to_string(),
            project_name: project.name.to_string(),
            rows,
            can_manage: !project.archived && role == Role::Owner,
            problem,
            typed,
        },
    ))
}

#[derive(Deserialize)]
pub struct WorkflowForm {
    /// Absent for a new status.
    id: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    colour: String,
    #[serde(default)]
    category: String,
    /// Empty for no limit.
    #[serde(default)]
    wip_limit: String,
    /// `save` (the default), `left`, `right` or `delete`.
    #[serde(default)]
    action: String,
    /// With `delete`: the name of the status its tasks go to.
    #[serde(default)]
    move_to: String,
}

/// `POST /p/{key}/workflow`: adds, changes, moves or deletes a status, then back to the page.
/// A refused change redraws the page (which a reload opens as it is) and says why.
pub async fn change(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<WorkflowForm>,
) -> Result<Response, Refused> {
    match apply(&state, &viewer, &key, &form).await {
        Ok(key) => Ok(redirect(&format!("/p/{key}/workflow"))),
        Err(e) if e.kind == Kind::Invalid || e.kind.is_conflict() => {
            let typed = if form.id.is_none() {
                (form.name, form.category, form.wip_limit)
            } else {
                Default::default()
            };
            let problem = problems(&e).join(" ");
            page(&state, &viewer, &key, e.status(), Some(problem), typed).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A limit as typed: none when empty.
fn limit(typed: &str) -> Result<Option<i64>, Refusal> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    typed.parse().map(Some).map_err(|_| {
        crate::input::all_valid([Some(&taskflow_core::ValidationError::new(
            "wip_limit",
            format!("a limit is a whole number of tasks, not {typed:?}"),
        ))])
        .unwrap_err()
    })
}

/// The change a form asks for; the project's key once made.
async fn apply(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    form: &WorkflowForm,
) -> Result<String, Refusal> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    if project.archived {
        return Err(crate::access::archived());
    }
    if role < Role::Owner {
        return Err(Refusal::new(
            Kind::Forbidden,
            "only the project's owners change its workflow",
        ));
    }
    let store = state.store.as_ref();
    let actor = viewer.user.id;
    let Some(id) = form.id else {
        let new = CreateStatus {
            name: form.name.clone(),
            category: Some(form.category.clone()).filter(|c| !c.is_empty()),
            colour: None,
            wip_limit: limit(&form.wip_limit)?,
            position: None,
        }
        .try_into()?;
        store.create_status(actor, project.id, new).await?;
        return Ok(project.key.to_string());
    };
    let id = StatusId(id);
    let workflow = store.workflow(project.id).await?;
    let Some(index) = workflow.statuses().iter().position(|s| s.id == id) else {
        return Err(Refusal::not_found("status"));
    };
    match form.action.as_str() {
        "delete" => {
            let move_to = DeleteStatus {
                move_to: Some(form.move_to.clone()),
            }
            .resolve(&workflow)?;
            store.delete_status(actor, project.id, id, move_to).await?;
        }
        "left" | "right" => {
            let position = if form.action == "left" {
                index.saturating_sub(1)
            } else {
                index + 1
            };
            let patch = StatusPatch {
                position: Some(position),
                ..StatusPatch::default()
            };
            store.update_status(actor, project.id, id, patch).await?;
        }
        _ => {
            let patch = UpdateStatus {
                name: Some(form.name.clone()),
                category: Some(form.category.clone()),
                colour: Some(form.colour.clone()),
                wip_limit: Some(limit(&form.wip_limit)?),
                position: None,
            }
            .try_into()?;
            store.update_status(actor, project.id, id, patch).await?;
        }
    }
    Ok(project.key.to_string())
}
