//! Quick add: one line (`Fix login #bug @dev due:2026-12-24 !high ~2h`) that becomes a task,
//! from the board, the list and a task's subtask field. The line is read by
//! `taskflow_core::quick` and handed to `input` as a typed draft.

use serde::Deserialize;
use taskflow_core::ValidationError;
use taskflow_core::project::Project;

use crate::error::Refusal;
use crate::input::TaskDraft;
use crate::state::AppState;

/// The quick-add field: what was typed and why it was refused, when it was.
#[derive(Default)]
pub struct QuickForm {
    pub line: String,
    pub problems: Vec<String>,
}

impl QuickForm {
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
        let problems = match quick_task(state, project, line, parent, today).await {
            Ok(_) => Vec::new(),
            Err(e) if e.kind == crate::error::Kind::Invalid => super::words::problems(&e),
            Err(e) => return Err(e),
        };
        Ok(Self {
            line: line.to_owned(),
            problems,
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
}

/// The task a quick-add line describes, in `project`, under `parent` when given; `today` is
/// the person's date (what `due:today` and `due:fri` count from). A line that cannot be read is
/// refused as the API refuses a body: 422 naming the field, `line`.
pub async fn quick_task(
    state: &AppState,
    project: &Project,
    line: &str,
    parent: Option<String>,
    today: time::Date,
) -> Result<taskflow_core::task::NewTask, Refusal> {
    let (quick, wrong) = taskflow_core::quick::read(line, today);
    if !wrong.is_empty() {
        // The names are checked too, so one try reports everything wrong with the line.
        let mut errors: Vec<ValidationError> = wrong
            .iter()
            .map(|p| ValidationError::new("line", p.to_string()))
            .collect();
        let store = state.store.as_ref();
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
    draft.resolve(state.store.as_ref(), project).await
}

/// A task added by a quick-add line to the project `key`, if `user` may add tasks there.
pub async fn add(
    state: &AppState,
    user: &taskflow_core::user::User,
    key: &str,
    line: &str,
    today: time::Date,
) -> Result<taskflow_core::task::Task, Refusal> {
    let project = crate::access::editable_project(state, user, key).await?;
    let new = quick_task(state, &project, line, None, today).await?;
    Ok(state.store.create_task(user.id, project.id, new).await?)
}
