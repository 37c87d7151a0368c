//! A project's members (owners add people, change roles and remove them; the last owner stays)
//! and its labels (editors create, rename, recolour and delete them). Label colours come from a
//! small per-project stylesheet, never from a `style` attribute.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskflow_core::project::{Label, Project, Role};

use super::kit::{PageFrame, Posted, ProjectNav, Refused, Viewer, redirect, render};
use super::words::problems;
use crate::access::label_in;
use crate::access::viewed_project;
use crate::access::{Addable, addable_member};
use crate::error::{Kind, Refusal};
use crate::input::{CreateLabel, SetMember, UpdateLabel};
use crate::state::AppState;
use crate::views::MemberView;

/// `GET /p/{key}/labels.css`: a rule per colour of the project's labels and statuses, for the
/// pages' chips and column headings.
pub async fn label_styles(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Response {
    let colours = match viewed_project(&state, &viewer.user, &key).await {
        Ok((project, _)) => {
            let store = state.store.as_ref();
            tokio::try_join!(store.labels(project.id), store.workflow(project.id))
                .map_err(Refusal::from)
        }
        Err(e) => Err(e),
    };
    match colours {
        Ok((labels, workflow)) => {
            let mut colours: Vec<&str> = labels
                .iter()
                .map(|l| l.colour.as_str())
                .chain(workflow.statuses().iter().map(|s| s.colour.as_str()))
                .collect();
            colours.sort_unstable();
            colours.dedup();
            let css: String = colours
                .into_iter()
                .map(|c| format!(".{} {{ --label: {c}; }}\n", crate::views::colour_class(c)))
                .collect();
            (
                [
                    (CONTENT_TYPE, "text/css; charset=utf-8"),
                    (CACHE_CONTROL, "private, no-cache"),
                ],
                css,
            )
                .into_response()
        }
        Err(e) => (e.status(), "").into_response(),
    }
}

fn owner_only(project: &Project, role: Role) -> Result<(), Refusal> {
    if project.archived {
        return Err(crate::access::archived());
    }
    if role < Role::Owner {
        return Err(Refusal::new(
            Kind::Forbidden,
            "only the project's owners manage its members",
        ));
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    project_name: String,
    members: Vec<MemberView>,
    can_manage: bool,
    problem: Option<String>,
    typed: String,
}

const ROLES: [(&str, &str); 3] = [
    ("viewer", "Viewer: reads"),
    ("editor", "Editor: reads and writes"),
    ("owner", "Owner: also manages members and the trash"),
];

impl MembersPage {
    fn roles(&self) -> &'static [(&'static str, &'static str)] {
        &ROLES
    }

    fn is(&self, role: &Role, value: &str) -> bool {
        role.as_str() == value
    }
}

/// `GET /p/{key}/members`.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Result<Response, Refused> {
    members_page(&state, &viewer, &key, StatusCode::OK, None, String::new()).await
}

async fn members_page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    status: StatusCode,
    problem: Option<String>,
    typed: String,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    let members = state.store.members(project.id).await?;
    Ok(render(
        status,
        &MembersPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, role, "members"),
            project_key: project.key.to_string(),
            project_name: project.name.to_string(),
            members: MemberView::many(state.store.as_ref(), members).await?,
            can_manage: owner_only(&project, role).is_ok(),
            problem,
            typed,
        },
    ))
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    /// `remove` to take the member off the project.
    #[serde(default)]
    action: String,
}

/// `POST /p/{key}/members`: adds a member, changes a role or removes one. The last owner
/// cannot be demoted or removed; the page says so next to the list.
pub async fn change_member(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<MemberForm>,
) -> Result<Response, Refused> {
    match change_membership(&state, &viewer, &key, &form).await {
        Ok(key) => Ok(redirect(&format!("/p/{key}/members"))),
        Err(e) if e.kind == Kind::Invalid || e.kind.is_conflict() => {
            let problem = problems(&e).join(" ");
            members_page(
                &state,
                &viewer,
                &key,
                e.status(),
                Some(problem),
                form.username,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The change a members form asks for; the project's key when made.
async fn change_membership(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    form: &MemberForm,
) -> Result<String, Refusal> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    owner_only(&project, role)?;
    let name = form.username.trim().trim_start_matches('@');
    let person = match addable_member(state, &viewer.user, &project, name).await? {
        Addable::Yes(person) => person,
        Addable::Unknown => return Err(not_addable(name, false)),
        Addable::AdministratorsOnly => return Err(not_addable(name, true)),
    };
    if form.action == "remove" {
        state
            .store
            .remove_member(viewer.user.id, project.id, person.id)
            .await?;
    } else {
        let role: Role = SetMember {
            role: form.role.clone(),
        }
        .try_into()?;
        state
            .store
            .set_member(viewer.user.id, project.id, person.id, role)
            .await?;
    }
    Ok(project.key.to_string())
}

/// A person who cannot be added, in words that are the same whether they exist or not.
fn not_addable(name: &str, administrators_only: bool) -> Refusal {
    let words = if administrators_only {
        format!("only an administrator can add people to projects here; ask one to add {name:?}")
    } else {
        format!("there is no user named {name:?}")
    };
    crate::input::all_valid([Some(&taskflow_core::ValidationError::new(
        "username", words,
    ))])
    .unwrap_err()
}

#[derive(Template)]
#[template(path = "labels.html")]
struct LabelsPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    project_name: String,
    labels: Vec<Label>,
    can_edit: bool,
    problem: Option<String>,
    /// What the new-label form held when it was refused.
    typed: (String, String),
}

impl LabelsPage {
    fn class(&self, label: &Label) -> String {
        crate::views::colour_class(label.colour.as_str())
    }

    fn filter(&self, label: &Label) -> String {
        let name: String =
            form_urlencoded::byte_serialize(label.name.as_str().as_bytes()).collect();
        format!("/p/{}/list?label={name}", self.project_key)
    }
}

/// `GET /p/{key}/labels`.
pub async fn labels(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Result<Response, Refused> {
    labels_page(
        &state,
        &viewer,
        &key,
        StatusCode::OK,
        None,
        Default::default(),
    )
    .await
}

async fn labels_page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    status: StatusCode,
    problem: Option<String>,
    typed: (String, String),
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    Ok(render(
        status,
        &LabelsPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, role, "labels"),
            project_key: project.key.to_string(),
            project_name: project.name.to_string(),
            labels: state.store.labels(project.id).await?,
            can_edit: !project.archived && role >= Role::Editor,
            problem,
            typed,
        },
    ))
}

#[derive(Deserialize)]
pub struct LabelForm {
    /// Absent for a new label.
    id: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    colour: String,
    /// `delete` to delete the label (it comes off every task).
    #[serde(default)]
    action: String,
}

/// `POST /p/{key}/labels`: creates, renames and recolours, or deletes a label.
pub async fn change_label(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<LabelForm>,
) -> Result<Response, Refused> {
    match change_labels(&state, &viewer, &key, &form).await {
        Ok(key) => Ok(redirect(&format!("/p/{key}/labels"))),
        Err(e) if e.kind == Kind::Invalid || e.kind.is_conflict() => {
            let typed = if form.id.is_none() {
                (form.name, form.colour)
            } else {
                Default::default()
            };
            let problem = problems(&e).join(" ");
            labels_page(&state, &viewer, &key, e.status(), Some(problem), typed).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The change a labels form asks for; the project's key when made.
async fn change_labels(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    form: &LabelForm,
) -> Result<String, Refusal> {
    let project = crate::access::editable_project(state, &viewer.user, key).await?;
    match form.id {
        None => {
            let new = CreateLabel {
                name: form.name.trim().to_owned(),
                colour: form.colour.clone(),
            }
            .try_into()?;
            state.store.create_label(project.id, new).await?;
        }
        Some(id) => {
            let label = label_in(state, project.id, id).await?;
            if form.action == "delete" {
                state.store.delete_label(label.id).await?;
            } else {
                let patch = UpdateLabel {
                    name: Some(form.name.trim().to_owned()),
                    colour: Some(form.colour.clone()),
                }
                .try_into()?;
                state.store.update_label(label.id, patch).await?;
            }
        }
    }
    Ok(project.key.to_string())
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    name: String,
    description: String,
    archived: bool,
    problem: Option<String>,
    saved: bool,
}

#[derive(Deserialize, Default)]
pub struct SettingsParams {
    saved: Option<String>,
}

/// The project `key` if the viewer owns it (archived or not).
async fn owned_project(state: &AppState, viewer: &Viewer, key: &str) -> Result<Project, Refusal> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    if role < Role::Owner {
        return Err(Refusal::new(
            Kind::Forbidden,
            "only the project's owners change its settings",
        ));
    }
    Ok(project)
}

/// `GET /p/{key}/settings`: rename, describe, archive, move to the trash (owners).
pub async fn settings(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    axum::extract::Query(params): axum::extract::Query<SettingsParams>,
) -> Result<Response, Refused> {
    let project = owned_project(&state, &viewer, &key).await?;
    Ok(render(
        StatusCode::OK,
        &SettingsPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, Role::Owner, "settings"),
            project_key: project.key.to_string(),
            name: project.name.to_string(),
            description: project.description.as_str().to_owned(),
            archived: project.archived,
            problem: None,
            saved: params.saved.is_some(),
        },
    ))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// `save`, `archive`, `unarchive` or `trash`.
    #[serde(default)]
    action: String,
}

/// `POST /p/{key}/settings`.
pub async fn save_settings(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<SettingsForm>,
) -> Result<Response, Refused> {
    let description = form.description.replace("\r\n", "\n");
    match apply_settings(&state, &viewer, &key, &form, &description).await {
        Ok(to) => Ok(redirect(&to)),
        Err(e) if e.kind == Kind::Invalid => {
            let project = owned_project(&state, &viewer, &key).await?;
            let archived = project.archived;
            Ok(render(
                e.status(),
                &SettingsPage {
                    page: viewer.frame("projects"),
                    nav: ProjectNav::new(&project, Role::Owner, "settings"),
                    project_key: key.to_uppercase(),
                    name: form.name,
                    description,
                    archived,
                    problem: Some(problems(&e).join(" ")),
                    saved: false,
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// What a settings form asks for; where to go once it is done.
async fn apply_settings(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    form: &SettingsForm,
    description: &str,
) -> Result<String, Refusal> {
    let project = owned_project(state, viewer, key).await?;
    let change = |patch: crate::input::UpdateProject| patch.try_into();
    match form.action.as_str() {
        "trash" => {
            state
                .store
                .delete_project(viewer.user.id, project.id)
                .await?;
            return Ok("/trash?done=trashed".to_owned());
        }
        "archive" | "unarchive" => {
            let patch = change(crate::input::UpdateProject {
                name: None,
                description: None,
                archived: Some(form.action == "archive"),
            })?;
            state
                .store
                .update_project(viewer.user.id, project.id, patch)
                .await?;
        }
        _ => {
            let patch = change(crate::input::UpdateProject {
                name: Some(form.name.clone()),
                description: Some(description.to_owned()),
                archived: None,
            })?;
            state
                .store
                .update_project(viewer.user.id, project.id, patch)
                .await?;
        }
    }
    Ok(format!("/p/{}/settings?saved=1", project.key))
}

/// One entry of the activity page.
struct ActivityLine {
    at: String,
    at_words: String,
    /// The task's key, and whether it can be opened (it is not in the trash).
    task: Option<(String, bool)>,
    words: String,
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    project_name: String,
    entries: Vec<ActivityLine>,
    older: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ActivityParams {
    before: Option<String>,
}

/// How many entries the activity page shows at a time.
const ACTIVITY_PAGE: u32 = 50;

/// `GET /p/{key}/activity`: who changed what in the project, newest first, a page at a time.
pub async fn activity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    axum::extract::Query(params): axum::extract::Query<ActivityParams>,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(&state, &viewer.user, &key).await?;
    let before = match params.before.as_deref().filter(|b| !b.is_empty()) {
        Some(raw) => Some(taskflow_core::ActivityId(raw.parse().map_err(|_| {
            Refusal::new(
                Kind::BadQuery,
                "before must be an entry id from this page's \"older\" link",
            )
        })?)),
        None => None,
    };
    let entries = state
        .store
        .project_activity(project.id, before, ACTIVITY_PAGE)
        .await?;
    let list =
        crate::views::ActivityView::page(state.store.as_ref(), entries, ACTIVITY_PAGE).await?;
    // Tasks since moved to the trash or purged are named, not linked.
    let mut live = std::collections::HashMap::new();
    for key in list.items.iter().filter_map(|e| e.task.as_deref()) {
        if live.contains_key(key) {
            continue;
        }
        let found = match taskflow_core::task::TaskKey::parse(key) {
            Ok(parsed) => match state.store.task_by_key(&parsed).await {
                Ok(_) => true,
                Err(taskflow_core::StoreError::NotFound { .. }) => false,
                Err(e) => return Err(e.into()),
            },
            Err(_) => false,
        };
        live.insert(key.to_owned(), found);
    }
    Ok(render(
        StatusCode::OK,
        &ActivityPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, role, "activity"),
            older: list
                .next
                .map(|id| format!("/p/{}/activity?before={id}", project.key)),
            entries: list
                .items
                .iter()
                .map(|e| {
                    let task = e.task.clone().map(|key| {
                        let linked = live.get(&key).copied().unwrap_or(false);
                        (key, linked)
                    });
                    ActivityLine {
                        at: e.at.to_string(),
                        at_words: viewer.when(e.at),
                        task,
                        words: super::words::activity_words(e),
                    }
                })
                .collect(),
            project_key: project.key.to_string(),
            project_name: project.name.to_string(),
        },
    ))
}
