//! Task requests: create, update, list and move, with usernames, label names and task keys
//! resolved into ids.

use axum::http::HeaderMap;
use axum::http::header::IF_MATCH;
use serde::Deserialize;
use taskflow_core::project::Project;
use taskflow_core::task::*;
use taskflow_core::text::{Markdown, TaskTitle};
use taskflow_core::user::Username;
use taskflow_core::workflow::TaskStatus;
use taskflow_core::{LabelId, Store, StoreError, TaskId, UserId, ValidationError};
use time::Date;

use super::{all_valid, present};
use crate::error::{Kind, Refusal};

/// A lookup's outcome: an id, or a validation error for the field that named it; the outer
/// error is the store failing.
type Resolved<T> = Result<Result<T, ValidationError>, Refusal>;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// One line, 1 to 300 characters.
    pub title: String,
    /// Markdown; empty when not given.
    #[serde(default)]
    pub description: String,
    /// The name of one of the project's statuses (case, spaces, hyphens and underscores do
    /// not matter: `in_progress` names "In progress"); its first not-started status when left
    /// out.
    pub status: Option<String>,
    /// `none` (the default), `low`, `medium`, `high` or `urgent`.
    pub priority: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// Estimated effort in minutes, 1 to 600000 (10 000 hours).
    pub estimate: Option<i64>,
    /// Usernames of project members (at most 100).
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Names of the project's labels (at most 100).
    #[serde(default)]
    pub labels: Vec<String>,
    /// The key of a task in the same project, making this a subtask.
    pub parent: Option<String>,
}

impl CreateTask {
    /// The new task this asks for in `project`. Every problem is reported, each by its field.
    pub async fn resolve(self, store: &dyn Store, project: &Project) -> Result<NewTask, Refusal> {
        let priority = self.priority.as_deref().map(Priority::parse).transpose();
        let due_date = self
            .due_date
            .as_deref()
            .map(|d| parse_date("due_date", d))
            .transpose();
        let estimate = self.estimate.map(Estimate::from_minutes).transpose();
        let typed = [
            priority.as_ref().err(),
            due_date.as_ref().err(),
            estimate.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let draft = TaskDraft {
            title: self.title,
            description: self.description,
            status: self.status,
            priority: priority.ok().flatten(),
            due_date: due_date.ok().flatten(),
            estimate: estimate.ok().flatten(),
            assignees: self.assignees,
            labels: self.labels,
            parent: self.parent,
        };
        draft.resolve_with(store, project, typed).await
    }
}

/// A new task with its values typed and its names (people, labels, the parent's key) not yet
/// looked up: what the API's create hands over once its text is parsed, and what quick add
/// makes of its line.
#[derive(Debug, Default)]
pub struct TaskDraft {
    pub title: String,
    pub description: String,
    /// A status's name.
    pub status: Option<String>,
    pub priority: Option<Priority>,
    pub due_date: Option<Date>,
    pub estimate: Option<Estimate>,
    pub assignees: Vec<String>,
    pub labels: Vec<String>,
    pub parent: Option<String>,
}

impl TaskDraft {
    /// The new task this asks for in `project`.
    pub async fn resolve(self, store: &dyn Store, project: &Project) -> Result<NewTask, Refusal> {
        self.resolve_with(store, project, Vec::new()).await
    }

    /// As `resolve`, reporting `earlier` (problems with the typed values' text) among its own,
    /// in the order of the fields.
    async fn resolve_with(
        self,
        store: &dyn Store,
        project: &Project,
        earlier: Vec<ValidationError>,
    ) -> Result<NewTask, Refusal> {
        let title = TaskTitle::parse(self.title);
        let description = Markdown::parse(self.description);
        let status = match self.status.as_deref() {
            Some(name) => status(store, project, "status", name).await?.map(Some),
            None => Ok(None),
        };
        let assignees = members(store, project, "assignees", &self.assignees).await?;
        let labels = labels(store, project, "labels", &self.labels).await?;
        let parent = match self.parent.as_deref() {
            Some(raw) => task(store, project, raw, "parent").await?.map(Some),
            None => Ok(None),
        };
        all_valid(
            [
                title.as_ref().err(),
                description.as_ref().err(),
                status.as_ref().err(),
            ]
            .into_iter()
            .chain(earlier.iter().map(Some))
            .chain([
                assignees.as_ref().err(),
                labels.as_ref().err(),
                parent.as_ref().err(),
            ]),
        )?;
        Ok(NewTask {
            title: title?,
            description: description?,
            status: status?.map(|s| s.id),
            priority: self.priority.unwrap_or(Priority::None),
            due_date: self.due_date,
            estimate: self.estimate,
            assignees: assignees?,
            labels: labels?,
            parent_id: parent?,
        })
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    /// Fields left out stay as they are.
    pub title: Option<String>,
    /// Markdown.
    pub description: Option<String>,
    /// The name of one of the project's statuses.
    pub status: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: Option<String>,
    /// `YYYY-MM-DD`, or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    pub due_date: Option<Option<String>>,
    /// Estimated effort in minutes (1 to 600000), or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    pub estimate: Option<Option<i64>>,
    /// Replaces the assignees: usernames of project members.
    pub assignees: Option<Vec<String>>,
    /// Replaces the labels: names of the project's labels.
    pub labels: Option<Vec<String>>,
    /// A task key, or `null` to make this a top-level task.
    #[serde(default, deserialize_with = "present")]
    pub parent: Option<Option<String>>,
}

impl UpdateTask {
    /// The change this asks for to a task of `project`.
    pub async fn resolve(self, store: &dyn Store, project: &Project) -> Result<TaskPatch, Refusal> {
        let title = self.title.map(TaskTitle::parse).transpose();
        let description = self.description.map(Markdown::parse).transpose();
        let status = match self.status.as_deref() {
            Some(name) => status(store, project, "status", name).await?.map(Some),
            None => Ok(None),
        };
        let priority = self.priority.as_deref().map(Priority::parse).transpose();
        let due_date = self
            .due_date
            .map(|d| d.as_deref().map(|d| parse_date("due_date", d)).transpose())
            .transpose();
        let estimate = self
            .estimate
            .map(|e| e.map(Estimate::from_minutes).transpose())
            .transpose();
        let assignees = match &self.assignees {
            Some(names) => members(store, project, "assignees", names).await?.map(Some),
            None => Ok(None),
        };
        let labels = match &self.labels {
            Some(names) => labels(store, project, "labels", names).await?.map(Some),
            None => Ok(None),
        };
        let parent = match &self.parent {
            Some(Some(raw)) => task(store, project, raw, "parent")
                .await?
                .map(|p| Some(Some(p))),
            Some(None) => Ok(Some(None)),
            None => Ok(None),
        };
        all_valid([
            title.as_ref().err(),
            description.as_ref().err(),
            status.as_ref().err(),
            priority.as_ref().err(),
            due_date.as_ref().err(),
            estimate.as_ref().err(),
            assignees.as_ref().err(),
            labels.as_ref().err(),
            parent.as_ref().err(),
        ])?;
        Ok(TaskPatch {
            title: title?,
            description: description?,
            status: status?,
            priority: priority?,
            due_date: due_date?,
            estimate: estimate?,
            assignees: assignees?,
            labels: labels?,
            parent_id: parent?,
        })
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated: status names (any of them), or categories (`backlog`, `unstarted`,
    /// `started`, `completed`, `cancelled`: every status of one).
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub label: Option<String>,
    pub due_before: Option<String>,
    pub due_after: Option<String>,
    /// A task key, or `none` for top-level tasks only.
    pub parent: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    /// Taken as text so a bad value is reported like any other parameter's.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    pub after: Option<String>,
    /// Parameters this list does not take: refused, each named, beside any bad value of the
    /// others (not only the first problem).
    #[serde(flatten)]
    #[param(ignore)]
    pub unknown: std::collections::BTreeMap<String, String>,
}

impl ListParams {
    /// A form sends every field, the empty ones as `name=`: those mean "not given".
    pub fn blanks_as_absent(self) -> Self {
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        Self {
            status: given(self.status),
            assignee: given(self.assignee),
            label: given(self.label),
            due_before: given(self.due_before),
            due_after: given(self.due_after),
            parent: given(self.parent),
            q: given(self.q),
            sort: given(self.sort),
            limit: given(self.limit),
            after: given(self.after),
            unknown: self.unknown,
        }
    }

    /// Whether any filter is set (sorting and paging are not filters).
    pub fn filters_anything(&self) -> bool {
        [
            &self.status,
            &self.assignee,
            &self.label,
            &self.due_before,
            &self.due_after,
            &self.parent,
            &self.q,
        ]
        .iter()
        .any(|f| f.is_some())
    }

    /// The listing of `project` these parameters ask for. A bad value is a 400 `bad_query`
    /// naming each parameter that is wrong.
    pub async fn resolve(self, store: &dyn Store, project: &Project) -> Result<TaskQuery, Refusal> {
        self.resolve_fields(store, project)
            .await
            .map_err(super::bad_query)
    }

    async fn resolve_fields(
        self,
        store: &dyn Store,
        project: &Project,
    ) -> Result<TaskQuery, Refusal> {
        // Each problem is named by the parameter it came from.
        let at =
            |param: &'static str| move |e: ValidationError| ValidationError::new(param, e.message);
        let sort = self
            .sort
            .as_deref()
            .map(TaskSort::parse)
            .unwrap_or(Ok(TaskSort::Position))
            .map_err(at("sort"));
        let statuses = match self.status.as_deref() {
            Some(values) => store
                .workflow(project.id)
                .await?
                .matching("status", values.split(',').filter(|s| !s.trim().is_empty())),
            None => Ok(Vec::new()),
        };
        let assignee = match self.assignee {
            Some(name) => users(store, "assignee", &[name])
                .await?
                .map(|ids| ids.first().copied()),
            None => Ok(None),
        };
        let label = match self.label {
            Some(name) => labels(store, project, "label", &[name])
                .await?
                .map(|ids| ids.first().copied()),
            None => Ok(None),
        };
        let due_before = self
            .due_before
            .as_deref()
            .map(|d| parse_date("due_before", d))
            .transpose();
        let due_after = self
            .due_after
            .as_deref()
            .map(|d| parse_date("due_after", d))
            .transpose();
        let parent = match self.parent.as_deref() {
            Some("none") => Ok(Some(ParentFilter::TopLevel)),
            Some(raw) => task(store, project, raw, "parent")
                .await?
                .map(|id| Some(ParentFilter::Of(id))),
            None => Ok(None),
        };
        let text = self
            .q
            .as_deref()
            .map(SearchText::parse)
            .transpose()
            .map_err(at("q"));
        let limit = match self.limit.as_deref().map(str::trim) {
            None => Ok(TaskQuery::DEFAULT_LIMIT),
            Some(raw) => raw
                .parse::<u32>()
                .map_err(|_| ValidationError::new("limit", format!("{raw:?} is not a number"))),
        }
        .and_then(TaskQuery::check_limit)
        .map_err(at("limit"));
        let unknown: Vec<ValidationError> = self
            .unknown
            .keys()
            .map(|name| {
                ValidationError::new(
                    name.clone(),
                    "is not a parameter of this list (it takes status, assignee, label, \
                     due_before, due_after, parent, q, sort, limit and after)",
                )
            })
            .collect();
        all_valid(
            [
                sort.as_ref().err(),
                statuses.as_ref().err(),
                assignee.as_ref().err(),
                label.as_ref().err(),
                due_before.as_ref().err(),
                due_after.as_ref().err(),
                parent.as_ref().err(),
                text.as_ref().err(),
                limit.as_ref().err(),
            ]
            .into_iter()
            .chain(unknown.iter().map(Some)),
        )?;
        let sort = sort?;
        let after = self
            .after
            .as_deref()
            .map(|c| Cursor::decode(c, sort))
            .transpose()
            .map_err(at("after"))?;
        Ok(TaskQuery {
            filter: TaskFilter {
                statuses: statuses?,
                assignee: assignee?,
                label: label?,
                due_before: due_before?,
                due_after: due_after?,
                parent: parent?,
                text: text?,
            },
            sort,
            limit: limit?,
            after,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTask {
    /// The column: the name of one of the project's statuses.
    pub status: String,
    /// Put the task right after this one (a task key) in the column…
    pub after: Option<String>,
    /// …or right before this one…
    pub before: Option<String>,
    /// …or at the `top` or `bottom` (the default).
    pub position: Option<String>,
}

impl MoveTask {
    /// Where this asks a task of `project` to go on the board.
    pub async fn resolve(self, store: &dyn Store, project: &Project) -> Result<TaskMove, Refusal> {
        let status = status(store, project, "status", &self.status).await?;
        let placement = match (
            self.after.as_deref(),
            self.before.as_deref(),
            self.position.as_deref(),
        ) {
            (Some(anchor), None, None) => task(store, project, anchor, "placement")
                .await?
                .map(Placement::After),
            (None, Some(anchor), None) => task(store, project, anchor, "placement")
                .await?
                .map(Placement::Before),
            (None, None, Some("top")) => Ok(Placement::Top),
            (None, None, Some("bottom") | None) => Ok(Placement::Bottom),
            (None, None, Some(other)) => Err(ValidationError::new(
                "position",
                format!("{other:?} is not top or bottom"),
            )),
            _ => Err(ValidationError::new(
                "placement",
                "give at most one of after, before and position",
            )),
        };
        all_valid([status.as_ref().err(), placement.as_ref().err()])?;
        Ok(TaskMove {
            status: status?.id,
            placement: placement?,
        })
    }
}

/// The version an `If-Match` header asks for: `None` when absent or `*`.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Refusal> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    if value == "*" {
        return Ok(None);
    }
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            Refusal::new(
                Kind::BadRequest,
                "If-Match must be an ETag from this API, like \"3\"",
            )
        })
}

fn parse_date(field: &str, value: &str) -> Result<Date, ValidationError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value, format).map_err(|_| {
        ValidationError::new(field, format!("{value:?} is not a date like 2026-12-31"))
    })
}

/// The most names one list in a request may hold: a task has a handful of assignees and
/// labels, and a request naming thousands is a mistake or an attack. Quick add keeps the same.
pub const MAX_NAMES: usize = taskflow_core::quick::MAX_NAMES;

fn too_many(field: &str, names: &[String]) -> Option<ValidationError> {
    (names.len() > MAX_NAMES).then(|| {
        ValidationError::new(
            field,
            format!(
                "names {} entries; at most {MAX_NAMES} are allowed",
                names.len()
            ),
        )
    })
}

/// The users these names belong to, in their order, found with one query. Every name that is
/// not a username, or that no user has, is named in the one error.
async fn users(store: &dyn Store, field: &str, names: &[String]) -> Resolved<Vec<UserId>> {
    if let Some(too_many) = too_many(field, names) {
        return Ok(Err(too_many));
    }
    let parsed: Vec<Option<Username>> = names.iter().map(|n| Username::parse(n).ok()).collect();
    let wanted: Vec<Username> = parsed.iter().flatten().cloned().collect();
    let found = if wanted.is_empty() {
        Vec::new()
    } else {
        store.users_named(&wanted).await?
    };
    let mut ids = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for (name, username) in names.iter().zip(&parsed) {
        match username
            .as_ref()
            .and_then(|u| found.iter().find(|f| f.username == *u))
        {
            Some(user) => ids.push(user.id),
            None if username.is_none() => problems.push(format!("{name:?} is not a username")),
            None => problems.push(format!("no user is named {name:?}")),
        }
    }
    Ok(all_named(field, ids, problems))
}

/// The members of `project` these usernames name, in their order: every name that is no
/// user's, or a user's who is not a member, is named in the one error.
async fn members(
    store: &dyn Store,
    project: &Project,
    field: &str,
    names: &[String],
) -> Resolved<Vec<UserId>> {
    if names.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let ids = match users(store, field, names).await? {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(e)),
    };
    let members = store.members(project.id).await?;
    let outsiders: Vec<String> = ids
        .iter()
        .zip(names)
        .filter(|(id, _)| !members.iter().any(|m| m.user_id == **id))
        .map(|(_, name)| {
            format!(
                "the user {} is not a member of {}",
                name.trim(),
                project.key
            )
        })
        .collect();
    Ok(all_named(field, ids, outsiders))
}

/// What is wrong with these assignees' and labels' names in `project`, if anything: for a
/// request that has other problems, so all of them are reported at once.
pub async fn name_problems(
    store: &dyn Store,
    project: &Project,
    assignees: &[String],
    label_names: &[String],
) -> Result<Vec<ValidationError>, Refusal> {
    let people = members(store, project, "assignees", assignees).await?;
    let labelled = labels(store, project, "labels", label_names).await?;
    Ok([people.err(), labelled.err()]
        .into_iter()
        .flatten()
        .collect())
}

/// The ids, or one error for `field` naming every problem.
fn all_named<T>(
    field: &str,
    ids: Vec<T>,
    problems: Vec<String>,
) -> Result<Vec<T>, ValidationError> {
    if problems.is_empty() {
        Ok(ids)
    } else {
        Err(ValidationError::new(field, problems.join("; ")))
    }
}

/// The labels of `project` these names belong to, in their order; every name that is not one
/// is named in the one error.
async fn labels(
    store: &dyn Store,
    project: &Project,
    field: &str,
    names: &[String],
) -> Resolved<Vec<LabelId>> {
    if names.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    if let Some(too_many) = too_many(field, names) {
        return Ok(Err(too_many));
    }
    let labels = store.labels(project.id).await?;
    let mut ids = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for name in names {
        match labels.iter().find(|l| l.name.as_str() == name.trim()) {
            Some(label) => ids.push(label.id),
            None => problems.push(format!(
                "there is no label {:?} in {}",
                name.trim(),
                project.key
            )),
        }
    }
    Ok(all_named(field, ids, problems))
}

/// The status of `project` a name names.
async fn status(
    store: &dyn Store,
    project: &Project,
    field: &str,
    name: &str,
) -> Resolved<TaskStatus> {
    let workflow = store.workflow(project.id).await?;
    Ok(workflow.resolve(field, name).map(TaskStatus::from))
}

/// The task a key names, if it is in `project`; otherwise a validation error for `field`.
async fn task(store: &dyn Store, project: &Project, raw: &str, field: &str) -> Resolved<TaskId> {
    let invalid = || ValidationError::new(field, format!("{raw:?} is not a task of this project"));
    let Ok(key) = TaskKey::parse(raw) else {
        return Ok(Err(invalid()));
    };
    if key.project != project.key {
        return Ok(Err(invalid()));
    }
    match store.task_by_key(&key).await {
        Ok(task) => Ok(Ok(task.id)),
        Err(StoreError::NotFound { .. }) => Ok(Err(invalid())),
        Err(e) => Err(e.into()),
    }
}
