//! Quick add: one line (`Fix login #bug @dev due:2026-12-24 !high ~2h`) that becomes a task,
//! from the board, the list and a task's subtask field. The line is read by
//! `taskflow_core::quick` and handed to `input` as a typed draft.

use axum::response::IntoResponse;
use serde::Deserialize;
use taskflow_core::ValidationError;
use taskflow_core::project::{Colour, NewLabel, Project};
use taskflow_core::text::LabelName;

use crate::error::Refusal;
use crate::input::TaskDraft;
use crate::state::AppState;

/// The quick-add field: what was typed and why it was refused, when it was.
#[derive(Default)]
pub struct QuickForm {
    pub line: String,
    pub problems: Vec<String>,
    /// Labels the line names that the project does not have, offered for creation with the
    /// task when they are all that is wrong with it.
    pub new_labels: Vec<String>,
}

impl QuickForm {
    /// The field after a refusal too long to read: empty, with why (the line is never kept,
    /// nor put in an address).
    pub fn unreadable(e: &Refusal) -> Self {
        Self {
            problems: super::words::problems(e),
            ..Self::default()
        }
    }

    /// The field after `line` was refused with `e`, as a page's script gets it back: the line
    /// read again with its problems and offers, or empty when it was too long to read.
    pub async fn refused(
        state: &AppState,
        project: &Project,
        line: &str,
        parent: Option<String>,
        today: time::Date,
        e: &Refusal,
    ) -> Result<Self, Refusal> {
        if too_long(line) {
            return Ok(Self::unreadable(e));
        }
        Self::again(state, project, Some(line), parent, today).await
    }

    /// A line that was refused, brought back by a page's `quick` (or `subtask`) parameter:
    /// read again (nothing is written) so the field says what is wrong with it now. A refused
    /// form redirects to such an address, so reloading or bookmarking it opens the page, and
    /// the line outlives a detour (to create the label it named, say).
    pub async fn again(
        state: &AppState,
        project: &Project,
        line: Option<&str>,
        parent: Option<String>,
        today: time::Date,
    ) -> Result<Self, Refusal> {
        let Some(line) = line.filter(|l| !l.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let problems = match quick_task(state, project, line, parent.clone(), today, false).await {
            Ok(_) => Vec::new(),
            Err(e) if e.kind == crate::error::Kind::Invalid => super::words::problems(&e),
            Err(e) => return Err(e),
        };
        // Would creating the labels it names make the line good? Then that is offered.
        let new_labels = match problems.is_empty() {
            true => Vec::new(),
            false => match quick_task(state, project, line, parent, today, true).await {
                Ok((_, labels)) => labels.into_iter().map(|l| l.name.to_string()).collect(),
                Err(_) => Vec::new(),
            },
        };
        Ok(Self {
            line: line.to_owned(),
            problems,
            new_labels,
        })
    }
}

/// A line longer than any quick add reads (`MAX_LINE_BYTES`): refused where it was posted, and
/// never put in an address.
pub fn too_long(line: &str) -> bool {
    line.len() > taskflow_core::quick::MAX_LINE_BYTES
}

/// Where a refused line goes back to: `page` (a path) with the line in `param`, at the field.
pub fn again_at(page: &str, param: &str, line: &str) -> String {
    let line: String = form_urlencoded::byte_serialize(line.as_bytes()).collect();
    format!("{page}?{param}={line}#quick-line")
}

#[derive(Deserialize)]
pub struct QuickAddForm {
    #[serde(default)]
    pub line: String,
    /// `list` to come back to the list; the board otherwise.
    #[serde(default)]
    pub back: String,
    /// Set (by the offer under a refused line) to create the labels it names that the project
    /// does not have yet.
    #[serde(default)]
    pub create_labels: String,
}

/// The colours new labels get, one by the name's hash: distinct, and legible with dark or
/// light text.
const NEW_LABEL_COLOURS: [&str; 8] = [
    "#0969da", "#1a7f37", "#8250df", "#bf3989", "#d1242f", "#bc4c00", "#4d2d00", "#0a3069",
];

fn new_label(name: &str) -> Result<NewLabel, ValidationError> {
    let colour = NEW_LABEL_COLOURS[super::card::fnv(name) % NEW_LABEL_COLOURS.len()];
    Ok(NewLabel {
        name: LabelName::parse(name).map_err(|e| ValidationError::new("labels", e.to_string()))?,
        colour: Colour::parse(colour).expect("a colour of the palette"),
    })
}

/// The task a quick-add line describes, in `project`, under `parent` when given; `today` is
/// the person's date (what `due:today` and `due:fri` count from). With `create`, the labels it
/// names that the project lacks come back as new labels to create with it. A line that cannot
/// be read is refused as the API refuses a body: 422 naming the field, `line`.
pub async fn quick_task(
    state: &AppState,
    project: &Project,
    line: &str,
    parent: Option<String>,
    today: time::Date,
    create: bool,
) -> Result<(taskflow_core::task::NewTask, Vec<NewLabel>), Refusal> {
    let (mut quick, wrong) = taskflow_core::quick::read(line, today);
    let store = state.store.as_ref();
    let mut errors: Vec<ValidationError> = wrong
        .iter()
        .map(|p| ValidationError::new("line", p.to_string()))
        .collect();
    let mut new_labels = Vec::new();
    if create && !quick.labels.is_empty() {
        let known = store.labels(project.id).await?;
        let (have, lack): (Vec<String>, Vec<String>) = quick
            .labels
            .into_iter()
            .partition(|name| known.iter().any(|l| l.name.as_str() == name.trim()));
        quick.labels = have;
        for name in lack {
            match new_label(name.trim()) {
                Ok(label) => new_labels.push(label),
                Err(e) => errors.push(e),
            }
        }
    }
    if !errors.is_empty() {
        // The names are checked too, so one try reports everything wrong with the line.
        errors.extend(
            crate::input::name_problems(store, project, &quick.assignees, &quick.labels).await?,
        );
        return Err(crate::input::all_valid(errors.iter().map(Some)).unwrap_err());
    }
    let draft = TaskDraft {
        title: quick.title,
        priority: quick.priority,
        due_date: quick.due_date,
        estimate: quick.estimate,
        assignees: quick.assignees,
        labels: quick.labels,
        parent,
        ..TaskDraft::default()
    };
    Ok((draft.resolve(store, project).await?, new_labels))
}

/// Creates the task a quick-add line describes (and, with `create`, the labels it names that
/// the project lacks, in the same transaction).
pub async fn create(
    state: &AppState,
    user: &taskflow_core::user::User,
    project: &Project,
    line: &str,
    parent: Option<String>,
    today: time::Date,
    create: bool,
) -> Result<taskflow_core::task::Task, Refusal> {
    let (new, labels) = quick_task(state, project, line, parent, today, create).await?;
    let store = state.store.as_ref();
    Ok(if labels.is_empty() {
        store.create_task(user.id, project.id, new).await?
    } else {
        store
            .create_task_with_labels(user.id, project.id, new, labels)
            .await?
    })
}

/// A task added by a quick-add line to the project `key`, if `user` may add tasks there.
pub async fn add(
    state: &AppState,
    user: &taskflow_core::user::User,
    key: &str,
    form: &QuickAddForm,
    today: time::Date,
) -> Result<(taskflow_core::task::Task, Project), Refusal> {
    let project = crate::access::editable_project(state, user, key).await?;
    let created = !form.create_labels.is_empty();
    let task = create(state, user, &project, &form.line, None, today, created).await?;
    Ok((task, project))
}

/// The quick-add form alone, as a page's script puts it back after a refusal.
#[derive(askama::Template)]
#[template(path = "quick_form.html")]
pub struct QuickFragment {
    page: super::kit::PageFrame,
    quick_action: String,
    quick_label: &'static str,
    quick_example: &'static str,
    back: String,
    quick: QuickForm,
}

impl QuickFragment {
    /// The subtask field of the task `key` again, with `quick` in it.
    pub fn subtask(page: super::kit::PageFrame, key: &str, quick: QuickForm) -> Self {
        Self {
            page,
            quick_action: format!("/t/{key}/subtasks"),
            quick_label: "Add a subtask",
            quick_example: "Write the migration @dev !high",
            back: String::new(),
            quick,
        }
    }
}

/// What a quick add from a page's script answers: the new card (or list row) to put in place,
/// 201 with its key in `X-Task-Key`; or the form again with the line and why it was refused,
/// 422; or the refusal.
pub async fn added_in_place(
    state: &AppState,
    viewer: &super::kit::Viewer,
    key: &str,
    form: QuickAddForm,
    added: Result<(taskflow_core::task::Task, Project), Refusal>,
) -> Result<axum::response::Response, super::kit::Refused> {
    use super::kit::render;
    use axum::http::StatusCode;
    match added {
        Ok((task, project)) => {
            let task_key = task.key().to_string();
            let response = if form.back == "list" {
                let row = super::card::RowFragment {
                    project_key: project.key.to_string(),
                    task: crate::views::TaskView::one(state.store.as_ref(), task).await?,
                    can_edit: true,
                    today: viewer.today(),
                };
                render(StatusCode::CREATED, &row)
            } else {
                let role = taskflow_core::project::Role::Editor;
                let card =
                    super::card::CardsFragment::one(state, viewer, &project, role, task).await?;
                render(StatusCode::CREATED, &card)
            };
            Ok(super::kit::with_task_key(response, &task_key))
        }
        Err(e) if e.kind == crate::error::Kind::Invalid => {
            let project = crate::access::editable_project(state, &viewer.user, key).await?;
            let quick =
                QuickForm::refused(state, &project, &form.line, None, viewer.today(), &e).await?;
            let fragment = QuickFragment {
                page: viewer.frame("projects"),
                quick_action: format!("/p/{}/tasks", project.key),
                quick_label: "Add a task",
                quick_example: "Fix login #bug @dev due:fri !high",
                back: form.back,
                quick,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &fragment))
        }
        Err(e) => Err(e.into()),
    }
}

/// What quick add completes, as `GET /p/{key}/names` answers it to the page's script.
#[derive(serde::Serialize)]
struct Names {
    /// The project's labels: `{"name", "colour"}`, by name.
    labels: Vec<crate::views::LabelRef>,
    /// Its members: `{"username", "display_name"}`, the person asking first, then by name.
    people: Vec<crate::views::Person>,
}

/// `GET /p/{key}/names`: the labels and members of a project the viewer may add tasks to,
/// for completing `#label` and `@username` as they are typed.
pub async fn names(
    axum::extract::State(state): axum::extract::State<AppState>,
    viewer: super::kit::Viewer,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Result<axum::response::Response, super::kit::Refused> {
    let project = crate::access::editable_project(&state, &viewer.user, &key).await?;
    let (labels, people) = tokio::try_join!(
        async { Ok::<_, Refusal>(state.store.labels(project.id).await?) },
        super::kit::members_named(&state, &project)
    )?;
    let me = viewer.user.username.as_str();
    let mut people: Vec<(String, String)> = people;
    people.sort_by_cached_key(|(username, name)| (username != me, name.to_lowercase()));
    let names = Names {
        labels: labels
            .into_iter()
            .map(|l| crate::views::LabelRef {
                name: l.name.to_string(),
                colour: l.colour.as_str().to_owned(),
            })
            .collect(),
        people: people
            .into_iter()
            .map(|(username, display_name)| crate::views::Person {
                username: username.into(),
                display_name: display_name.into(),
            })
            .collect(),
    };
    Ok(axum::Json(names).into_response())
}
