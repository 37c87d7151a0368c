//! Editing a task in place: one field at a time, from a card, a list row or the task page.
//!
//! `GET /t/{key}/menu/{field}?in=card|row|task` is a small form for one field (a menu of
//! statuses, members, labels or priorities to filter by typing; a date read as quick add reads
//! it; an estimate; the title; the description). `POST /t/{key}/set` saves that one field with
//! the version the page showed and answers with the item drawn again (the card, the row, or
//! the task page's parts), its new version in `X-Task-Version`. A task changed meanwhile is not
//! changed: the answer is 412 with the item as it is now. A value that cannot be used is 422
//! with the menu again, saying why. `app.js` opens the menus (by mouse, or `s` `a` `l` `p` `d`)
//! and swaps what comes back; without it the links go to the whole edit form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::project::{Project, Role};
use taskflow_core::task::{Priority, Task};

use super::card::{CardsFragment, RowFragment};
use super::kit::{PageFrame, Posted, Refused, Viewer, members_named, redirect, render};
use super::words::problems;
use crate::error::{Kind, Refusal};
use crate::input::UpdateTask;
use crate::markdown::SanitizedHtml;
use crate::state::AppState;
use crate::views::{TaskView, colour_class};

/// A field that changes in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Status,
    Assignees,
    Labels,
    Priority,
    Due,
    Estimate,
    Title,
    Description,
}

impl Field {
    fn parse(name: &str) -> Result<Self, Refusal> {
        Ok(match name {
            "status" => Self::Status,
            "assignees" => Self::Assignees,
            "labels" => Self::Labels,
            "priority" => Self::Priority,
            "due" => Self::Due,
            "estimate" => Self::Estimate,
            "title" => Self::Title,
            "description" => Self::Description,
            _ => {
                return Err(Refusal::new(
                    Kind::BadQuery,
                    "the field must be status, assignees, labels, priority, due, estimate, title or description",
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Assignees => "assignees",
            Self::Labels => "labels",
            Self::Priority => "priority",
            Self::Due => "due",
            Self::Estimate => "estimate",
            Self::Title => "title",
            Self::Description => "description",
        }
    }

    /// How the menu asks: `one` of a list, `many` of a list, or `text`.
    fn kind(self) -> &'static str {
        match self {
            Self::Status | Self::Priority => "one",
            Self::Assignees | Self::Labels => "many",
            Self::Due | Self::Estimate | Self::Title | Self::Description => "text",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Status => "Status",
            Self::Assignees => "Assignees",
            Self::Labels => "Labels",
            Self::Priority => "Priority",
            Self::Due => "Due date",
            Self::Estimate => "Estimate",
            Self::Title => "Title",
            Self::Description => "Description",
        }
    }
}

/// Where the item being changed is drawn, and so what a change answers with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Card,
    Row,
    Task,
}

impl Place {
    fn parse(name: &str) -> Self {
        match name {
            "card" => Self::Card,
            "row" => Self::Row,
            _ => Self::Task,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Row => "row",
            Self::Task => "task",
        }
    }
}

/// One choice of a menu.
struct Choice {
    value: String,
    words: String,
    /// A class drawing a swatch or mark before the words (a status's or label's colour).
    mark: Option<String>,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "edit_menu.html")]
struct Menu {
    page: PageFrame,
    key: String,
    field: &'static str,
    kind: &'static str,
    heading: String,
    place: &'static str,
    version: i64,
    choices: Vec<Choice>,
    /// Suggestions under a text field, each set with one click: (value, words).
    picks: Vec<(&'static str, &'static str)>,
    /// The text field's value.
    text: String,
    problem: Option<String>,
}

#[derive(Deserialize)]
pub struct MenuParams {
    #[serde(rename = "in", default)]
    place: String,
}

/// The task `key` names and its project, if the viewer may change it.
async fn changeable(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
) -> Result<(Task, Project, Role), Refusal> {
    let (task, project, role) =
        crate::access::visible_task_with_role(state, &viewer.user, key, Role::Editor).await?;
    if project.archived {
        return Err(crate::access::archived());
    }
    Ok((task, project, role))
}

/// `GET /t/{key}/menu/{field}`: the small form that changes one field.
pub async fn menu(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((key, field)): Path<(String, String)>,
    Query(params): Query<MenuParams>,
) -> Result<Response, Refused> {
    let field = Field::parse(&field)?;
    let (task, project, _) = changeable(&state, &viewer, &key).await?;
    let view = TaskView::one(state.store.as_ref(), task).await?;
    let menu = draw_menu(
        &state,
        &viewer,
        &project,
        &view,
        field,
        Place::parse(&params.place),
    )
    .await?;
    Ok(render(StatusCode::OK, &menu))
}

async fn draw_menu(
    state: &AppState,
    viewer: &Viewer,
    project: &Project,
    task: &TaskView,
    field: Field,
    place: Place,
) -> Result<Menu, Refusal> {
    let store = state.store.as_ref();
    let mut picks = Vec::new();
    let mut text = String::new();
    let choices = match field {
        Field::Status => store
            .workflow(project.id)
            .await?
            .statuses()
            .iter()
            .map(|s| Choice {
                chosen: s.name.as_str() == task.status.as_str(),
                value: s.name.to_string(),
                words: s.name.to_string(),
                mark: Some(format!("dot {}", colour_class(s.colour.as_str()))),
            })
            .collect(),
        Field::Priority => Priority::ALL
            .iter()
            .rev()
            .map(|p| Choice {
                chosen: *p == task.priority,
                value: p.as_str().to_owned(),
                words: priority_words(*p).to_owned(),
                mark: Some(format!("dot prio-mark prio-{}", p.as_str())),
            })
            .collect(),
        Field::Assignees => {
            let mut people: Vec<Choice> = members_named(state, project)
                .await?
                .into_iter()
                .map(|(username, name)| Choice {
                    chosen: task.assignees.iter().any(|a| *a.username == *username),
                    words: if name == username {
                        name
                    } else {
                        format!("{name} ({username})")
                    },
                    value: username,
                    mark: None,
                })
                .collect();
            // The viewer first: assigning oneself is the commonest change.
            if let Some(me) = people
                .iter()
                .position(|c| c.value == viewer.user.username.as_str())
            {
                let mine = people.remove(me);
                people.insert(0, mine);
            }
            people
        }
        Field::Labels => store
            .labels(project.id)
            .await?
            .into_iter()
            .map(|l| Choice {
                chosen: task.labels.iter().any(|t| t.name == l.name.as_str()),
                value: l.name.to_string(),
                words: l.name.to_string(),
                mark: Some(format!("dot {}", colour_class(l.colour.as_str()))),
            })
            .collect(),
        Field::Due => {
            picks = vec![
                ("today", "Today"),
                ("tomorrow", "Tomorrow"),
                ("fri", "Friday"),
                ("next-week", "Next week"),
                ("", "No due date"),
            ];
            text = task.due_date.clone().unwrap_or_default();
            Vec::new()
        }
        Field::Estimate => {
            picks = vec![
                ("30m", "30m"),
                ("1h", "1h"),
                ("2h", "2h"),
                ("4h", "4h"),
                ("1d", "1d"),
                ("", "None"),
            ];
            text = task
                .estimate
                .map(|m| super::words::effort(&m))
                .unwrap_or_default();
            Vec::new()
        }
        Field::Title => {
            text = task.title.as_str().to_owned();
            Vec::new()
        }
        Field::Description => {
            text = task.description.as_str().to_owned();
            Vec::new()
        }
    };
    Ok(Menu {
        page: viewer.frame("projects"),
        key: task.key.clone(),
        field: field.name(),
        kind: field.kind(),
        heading: format!("{} of {}", field.words(), task.key),
        place: place.name(),
        version: task.version,
        choices,
        picks,
        text,
        problem: None,
    })
}

fn priority_words(p: Priority) -> &'static str {
    match p {
        Priority::None => "No priority",
        Priority::Low => "Low",
        Priority::Medium => "Medium",
        Priority::High => "High",
        Priority::Urgent => "Urgent",
    }
}

/// One field's new value, as a menu posts it.
#[derive(Deserialize)]
pub struct SetPost {
    #[serde(default)]
    field: String,
    #[serde(rename = "in", default)]
    place: String,
    /// Taken as text: a version that is not a number is a stale one.
    #[serde(default)]
    version: String,
    /// The value: repeated for assignees and labels (none at all clears them).
    #[serde(default)]
    value: Vec<String>,
    /// A suggestion clicked under a text field, in place of what the field holds.
    pick: Option<String>,
}

impl SetPost {
    /// The one change this asks for, read as `today` (the viewer's date) for a due date.
    fn update(&self, field: Field, today: time::Date) -> Result<UpdateTask, Refusal> {
        let one = || {
            self.pick
                .clone()
                .or_else(|| self.value.first().cloned())
                .unwrap_or_default()
        };
        let mut update = UpdateTask::default();
        match field {
            Field::Status => update.status = Some(one()),
            Field::Priority => update.priority = Some(one()),
            Field::Assignees => update.assignees = Some(self.value.clone()),
            Field::Labels => update.labels = Some(self.value.clone()),
            Field::Title => update.title = Some(one()),
            Field::Description => update.description = Some(one().replace("\r\n", "\n")),
            Field::Due => {
                let typed = one();
                let typed = typed.trim();
                update.due_date = Some(if typed.is_empty() {
                    None
                } else {
                    let date = taskflow_core::quick::due(typed, today).ok_or_else(|| {
                        taskflow_core::ValidationError::new(
                            "due_date",
                            "must be a date such as 2026-12-24, today, tomorrow, fri, dec24, next-week or +3d",
                        )
                    })?;
                    Some(taskflow_core::task::date_text(date))
                });
            }
            Field::Estimate => {
                let typed = one();
                let typed = typed.trim();
                update.estimate = Some(if typed.is_empty() {
                    None
                } else {
                    let estimate = taskflow_core::task::Estimate::parse(typed)?;
                    Some(i64::from(estimate.minutes()))
                });
            }
        }
        Ok(update)
    }
}

/// `POST /t/{key}/set`: saves one field with the version the page showed.
pub async fn set(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    Posted { viewer, form }: Posted<SetPost>,
) -> Result<Response, Refused> {
    let field = Field::parse(&form.field)?;
    let place = Place::parse(&form.place);
    let (task, project, role) = changeable(&state, &viewer, &key).await?;
    let version = form.version.trim().parse().unwrap_or(-1);
    let saved = match form.update(field, viewer.today()) {
        Ok(update) => match update.resolve(state.store.as_ref(), &project).await {
            Ok(patch) => state
                .store
                .update_task(viewer.user.id, task.id, patch, Some(version))
                .await
                .map_err(Refusal::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    // Without the page's script (a menu posted as a plain form), back to the page.
    if !super::kit::from_script(&headers) {
        saved?;
        let to = match place {
            Place::Card => format!("/p/{}#card-{}", project.key, task.key()),
            Place::Row => format!("/p/{}/list#task-{}", project.key, task.key()),
            Place::Task => format!("/t/{}?done=saved", task.key()),
        };
        return Ok(redirect(&to));
    }
    let (status, now) = match saved {
        Ok(task) => (StatusCode::OK, task),
        Err(e) if e.kind == Kind::Stale => (e.status(), state.store.task(task.id).await?),
        Err(e) if e.kind == Kind::Invalid => {
            let view = TaskView::one(state.store.as_ref(), task).await?;
            let mut menu = draw_menu(&state, &viewer, &project, &view, field, place).await?;
            menu.problem = Some(problems(&e).join(" "));
            if menu.kind == "text" {
                menu.text = form
                    .pick
                    .or(form.value.into_iter().next())
                    .unwrap_or_default();
            }
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &menu));
        }
        Err(e) => return Err(e.into()),
    };
    let version = now.version;
    let mut response = match place {
        Place::Card => render(
            status,
            &CardsFragment::one(&state, &viewer, &project, role, now).await?,
        ),
        Place::Row => render(
            status,
            &RowFragment {
                project_key: project.key.to_string(),
                task: TaskView::one(state.store.as_ref(), now).await?,
                can_edit: true,
                today: viewer.today(),
            },
        ),
        Place::Task => {
            let description_html = match field {
                Field::Description => Some(state.markdown.one(now.description.as_str()).await),
                _ => None,
            };
            render(
                status,
                &TaskParts {
                    task: TaskView::one(state.store.as_ref(), now).await?,
                    can_edit: true,
                    description_html,
                },
            )
        }
    };
    response
        .headers_mut()
        .insert("x-task-version", HeaderValue::from(version));
    Ok(response)
}

/// The task page's parts a change redraws: its heading and facts, and its description when
/// that is what changed.
#[derive(Template)]
#[template(path = "task_parts.html")]
struct TaskParts {
    task: TaskView,
    can_edit: bool,
    description_html: Option<SanitizedHtml>,
}
