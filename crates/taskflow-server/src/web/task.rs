//! The task page and what changes a task: its fields (with the version the page showed, so a
//! conflicting edit is caught), subtasks by quick add, comments, attachments (uploads go to the
//! API from `app.js`; deleting works without it), moving the task to the trash, and its
//! activity a page at a time.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::project::{Project, Role};
use taskflow_core::task::{ParentFilter, Priority, Task, TaskQuery, TaskSort};
use taskflow_core::{ActivityId, CommentId, StoreError};

use super::kit::{OnlyToken, PageFrame, Posted, PostedFile, Refused, Viewer, redirect, render};
use super::quick::QuickForm;
use super::words::{activity_words, problems};
use crate::access::{deletable_attachment, own_comment, visible_task};
use crate::error::{Kind, Refusal};
use crate::input::{CommentInput, UpdateTask};
use crate::markdown::SanitizedHtml;
use crate::state::AppState;
use crate::views::{ActivityView, AttachmentView, CommentView, TaskView};

/// How many activity entries the task page shows at a time.
const ACTIVITY_PAGE: u32 = 20;

/// A comment as the page shows it.
struct CommentItem {
    id: i64,
    author: String,
    /// RFC 3339, for `<time datetime>`.
    at: String,
    at_words: String,
    edited: bool,
    body_html: SanitizedHtml,
    /// The viewer wrote it (and may still write here), or owns the project.
    can_change: bool,
}

/// One line of the task's history.
struct ActivityItem {
    at: String,
    at_words: String,
    words: String,
}

/// The comment form: what was typed and why it was refused, when it was.
#[derive(Default)]
struct CommentForm {
    body: String,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    page: PageFrame,
    task: TaskView,
    project_name: String,
    archived: bool,
    description_html: SanitizedHtml,
    subtasks: Vec<TaskView>,
    comments: Vec<CommentItem>,
    attachments: Vec<(AttachmentView, bool)>,
    activity: Vec<ActivityItem>,
    older: Option<String>,
    can_edit: bool,
    max_upload: u64,
    notice: Option<String>,
    quick: QuickForm,
    comment: CommentForm,
}

impl TaskPage {
    fn size(&self, bytes: &i64) -> String {
        taskflow_ops::human_bytes(u64::try_from(*bytes).unwrap_or(0))
    }

    fn limit(&self) -> String {
        taskflow_ops::human_bytes(self.max_upload)
    }
}

#[derive(Deserialize, Default)]
pub struct TaskParams {
    /// Where the activity page starts: entries older than this one.
    activity: Option<String>,
    /// What a form just did, for the notice.
    done: Option<String>,
    /// A subtask line that was refused, back in its field.
    subtask: Option<String>,
}

pub async fn task_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    Query(params): Query<TaskParams>,
) -> Result<Response, Refused> {
    let quick = match params.subtask.as_deref() {
        // Someone who cannot add tasks here gets the page without the line.
        Some(line) => match editable_task(&state, &viewer, &key).await {
            Ok((task, project)) => {
                let parent = Some(task.key().to_string());
                QuickForm::again(&state, &project, Some(line), parent, viewer.today()).await?
            }
            Err(_) => QuickForm::default(),
        },
        None => QuickForm::default(),
    };
    let forms = (quick, CommentForm::default());
    show(&state, &viewer, &key, params, StatusCode::OK, forms).await
}

async fn show(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    params: TaskParams,
    status: StatusCode,
    forms: (QuickForm, CommentForm),
) -> Result<Response, Refused> {
    let page = gather(state, viewer, key, params, forms).await?;
    Ok(render(status, &page))
}

async fn gather(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    params: TaskParams,
    (quick, comment): (QuickForm, CommentForm),
) -> Result<TaskPage, Refusal> {
    let store = state.store.as_ref();
    let (task, project, role) =
        crate::access::visible_task_with_role(state, &viewer.user, key, Role::Viewer).await?;
    let can_edit = !project.archived && role >= Role::Editor;
    let owner = !project.archived && role == Role::Owner;
    let before = match params.activity.as_deref() {
        Some(raw) => Some(ActivityId(raw.parse().map_err(|_| {
            Refusal::new(
                Kind::BadQuery,
                "activity must be an entry id from this page's \"older\" link",
            )
        })?)),
        None => None,
    };
    let mut children = TaskQuery::new(TaskSort::Position);
    children.filter.parent = Some(ParentFilter::Of(task.id));
    children.limit = TaskQuery::MAX_LIMIT;
    let (subtasks, comments, attachments, entries) = tokio::try_join!(
        store.list_tasks(project.id, &children),
        store.comments(task.id),
        store.attachments(task.id),
        store.task_activity(task.id, before, ACTIVITY_PAGE),
    )?;
    let comments = CommentView::many(store, comments).await?;
    let mut texts = Vec::with_capacity(comments.len() + 1);
    texts.push(task.description.as_str().to_owned());
    texts.extend(comments.iter().map(|c| c.body.as_str().to_owned()));
    let mut html = state.markdown.many(texts).await.into_iter();
    let description_html = html.next().expect("one per text");
    let comments = comments
        .into_iter()
        .zip(html)
        .map(|(c, body_html)| CommentItem {
            id: c.id,
            can_change: owner
                || can_edit
                    && c.author
                        .as_ref()
                        .is_some_and(|a| &*a.username == viewer.user.username.as_str()),
            author: c.author.map_or_else(
                || "a removed user".to_owned(),
                |p| p.display_name.to_string(),
            ),
            at: c.created_at.to_string(),
            at_words: viewer.when(c.created_at),
            edited: c.updated_at != c.created_at,
            body_html,
        })
        .collect();
    let attachments = AttachmentView::many(store, attachments)
        .await?
        .into_iter()
        .map(|a| {
            let own = a
                .uploaded_by
                .as_ref()
                .is_some_and(|p| &*p.username == viewer.user.username.as_str());
            let deletable = owner || can_edit && own;
            (a, deletable)
        })
        .collect();
    let history = ActivityView::page(store, entries, ACTIVITY_PAGE).await?;
    let older = history
        .next
        .map(|id| format!("/t/{}?activity={id}#activity", task.key()));
    let activity = history
        .items
        .into_iter()
        .map(|entry| ActivityItem {
            at: entry.at.to_string(),
            at_words: viewer.when(entry.at),
            words: activity_words(&entry),
        })
        .collect();
    let notice = params.done.as_deref().and_then(notice);
    Ok(TaskPage {
        page: viewer.frame("projects"),
        task: TaskView::one(store, task).await?,
        project_name: project.name.as_str().to_owned(),
        archived: project.archived,
        description_html,
        subtasks: TaskView::many(store, subtasks.items).await?,
        comments,
        attachments,
        activity,
        older,
        can_edit,
        max_upload: state.storage.max_upload_bytes,
        notice,
        quick,
        comment,
    })
}

fn notice(done: &str) -> Option<String> {
    let words = match done {
        "saved" => "Saved.",
        "uploaded" => "The file is stored.",
        "comment-deleted" => "The comment was deleted.",
        "attachment-deleted" => {
            "The attachment is in the project's trash; it can be restored from there."
        }
        _ => return None,
    };
    Some(words.to_owned())
}

/// The task `key` names, if the viewer may change it; the project too.
async fn editable_task(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
) -> Result<(Task, Project), Refusal> {
    let (task, project) = visible_task(state, &viewer.user, key, Role::Editor).await?;
    if project.archived {
        return Err(crate::access::archived());
    }
    Ok((task, project))
}

// ---- Editing the fields ----

/// The edit form's values: the task's, or what was typed.
struct Fields {
    title: String,
    description: String,
    status: String,
    priority: String,
    due_date: String,
    /// As typed (`1h 30m`), or the task's in the same form.
    estimate: String,
    assignees: Vec<String>,
    labels: Vec<String>,
    parent: String,
    version: i64,
}

impl Fields {
    fn of(task: &TaskView) -> Self {
        Self {
            title: task.title.as_str().to_owned(),
            description: task.description.as_str().to_owned(),
            status: task.status.as_str().to_owned(),
            priority: task.priority.as_str().to_owned(),
            due_date: task.due_date.clone().unwrap_or_default(),
            estimate: task
                .estimate
                .map(|m| taskflow_core::task::effort_text(m.into()))
                .unwrap_or_default(),
            assignees: task
                .assignees
                .iter()
                .map(|p| p.username.to_string())
                .collect(),
            labels: task.labels.iter().map(|l| l.name.clone()).collect(),
            parent: task.parent.clone().unwrap_or_default(),
            version: task.version,
        }
    }
}

#[derive(Template)]
#[template(path = "task_edit.html")]
struct EditPage {
    page: PageFrame,
    key: String,
    project_key: String,
    fields: Fields,
    /// (username, display name)
    members: Vec<(String, String)>,
    labels: Vec<String>,
    /// The project's statuses' names, in board order.
    statuses: Vec<String>,
    problems: Vec<String>,
    /// Someone else saved the task after this form was opened.
    conflict: bool,
    preview_html: Option<SanitizedHtml>,
}

impl EditPage {
    fn priorities(&self) -> [&'static str; 5] {
        Priority::ALL.map(|p| p.as_str())
    }

    fn assigned(&self, username: &str) -> bool {
        self.fields.assignees.iter().any(|a| a == username)
    }

    fn labelled(&self, name: &str) -> bool {
        self.fields.labels.iter().any(|l| l == name)
    }
}

async fn edit_page(
    state: &AppState,
    viewer: &Viewer,
    task: Task,
    project: &Project,
    fields: Option<Fields>,
) -> Result<EditPage, Refusal> {
    let store = state.store.as_ref();
    let (members, labels, workflow) = tokio::try_join!(
        super::kit::members_named(state, project),
        async { Ok(store.labels(project.id).await?) },
        async { Ok(store.workflow(project.id).await?) }
    )?;
    let view = TaskView::one(store, task).await?;
    Ok(EditPage {
        page: viewer.frame("projects"),
        key: view.key.clone(),
        project_key: project.key.to_string(),
        fields: fields.unwrap_or_else(|| Fields::of(&view)),
        members,
        labels: labels.into_iter().map(|l| l.name.to_string()).collect(),
        statuses: workflow
            .statuses()
            .iter()
            .map(|s| s.name.to_string())
            .collect(),
        problems: Vec::new(),
        conflict: false,
        preview_html: None,
    })
}

/// `GET /t/{key}/edit`: every field of the task in one form.
pub async fn edit_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Result<Response, Refused> {
    let (task, project) = editable_task(&state, &viewer, &key).await?;
    let page = edit_page(&state, &viewer, task, &project, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The edit form as posted; checkboxes arrive as repeated fields (`assignee`, `label`).
#[derive(Deserialize)]
pub struct EditPost {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    estimate: String,
    #[serde(default)]
    assignee: Vec<String>,
    #[serde(default)]
    label: Vec<String>,
    #[serde(default)]
    parent: String,
    /// Taken as text: a version that is not a number is a stale one.
    #[serde(default)]
    version: String,
    #[serde(default)]
    action: String,
}

/// The edit form's values, tidied as the form means them, and whether it asks for a preview.
struct EditForm {
    fields: Fields,
    preview: bool,
}

impl EditForm {
    fn read(post: EditPost) -> Self {
        EditForm {
            fields: Fields {
                title: post.title,
                description: post.description.replace("\r\n", "\n"),
                status: post.status,
                priority: post.priority,
                due_date: post.due_date.trim().to_owned(),
                estimate: post.estimate.trim().to_owned(),
                assignees: post.assignee,
                labels: post.label,
                parent: post.parent.trim().to_uppercase(),
                version: post.version.trim().parse().unwrap_or(-1),
            },
            preview: post.action == "preview",
        }
    }

    /// The change the form asks for; an estimate that cannot be read is refused here, as the
    /// API takes minutes.
    fn update(&self) -> Result<UpdateTask, Refusal> {
        let f = &self.fields;
        let optional = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let estimate = optional(&f.estimate)
            .map(|e| taskflow_core::task::Estimate::parse(&e).map(|e| i64::from(e.minutes())))
            .transpose()?;
        Ok(UpdateTask {
            title: Some(f.title.clone()),
            description: Some(f.description.clone()),
            status: Some(f.status.clone()),
            priority: Some(f.priority.clone()),
            due_date: Some(optional(&f.due_date)),
            estimate: Some(estimate),
            assignees: Some(f.assignees.clone()),
            labels: Some(f.labels.clone()),
            parent: Some(optional(&f.parent)),
        })
    }
}

/// `POST /t/{key}/edit`: saves every field with the version the form was opened at, or shows a
/// preview of the description. A task saved by someone else meanwhile is not overwritten: the
/// form comes back with what was typed and says so.
pub async fn save(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<EditPost>,
) -> Result<Response, Refused> {
    let form = EditForm::read(form);
    let (task, project) = editable_task(&state, &viewer, &key).await?;
    let task_key = task.key().to_string();
    let outcome = if form.preview {
        // A preview renders only what saving would accept.
        match taskflow_core::text::Markdown::parse(form.fields.description.as_str()) {
            Ok(_) => Err(None),
            Err(e) => Err(Some(
                crate::input::all_valid([Some(&e)]).expect_err("one error given"),
            )),
        }
    } else {
        let resolved = match form.update() {
            Ok(update) => update.resolve(state.store.as_ref(), &project).await,
            Err(e) => Err(e),
        };
        match resolved {
            Ok(patch) => state
                .store
                .update_task(viewer.user.id, task.id, patch, Some(form.fields.version))
                .await
                .map_err(|e| Some(Refusal::from(e))),
            Err(e) => Err(Some(e)),
        }
    };
    let failure = match outcome {
        Ok(_) => return Ok(redirect(&format!("/t/{task_key}?done=saved"))),
        Err(failure) => failure,
    };
    let preview = match (&failure, form.preview) {
        (None, true) => Some(state.markdown.one(&form.fields.description).await),
        _ => None,
    };
    let (status, problems_found, conflict) = match failure {
        None => (StatusCode::OK, Vec::new(), false),
        Some(e) if e.kind == Kind::Stale => (e.status(), Vec::new(), true),
        Some(e) if e.kind == Kind::Invalid => (e.status(), problems(&e), false),
        Some(e) => return Err(e.into()),
    };
    let mut fields = form.fields;
    // After a conflict the form keeps what was typed but carries the version saved meanwhile,
    // so saving it again (after reading the notice) is a deliberate choice.
    let current = if conflict {
        let current = state.store.task(task.id).await?;
        fields.version = current.version;
        current
    } else {
        task
    };
    let mut page = edit_page(&state, &viewer, current, &project, Some(fields)).await?;
    page.problems = problems_found;
    page.conflict = conflict;
    page.preview_html = preview;
    Ok(render(status, &page))
}

// ---- Subtasks, comments, attachments, the trash ----

/// A subtask as the task page lists it, alone: what a quick add from the page's script gets.
#[derive(Template)]
#[template(path = "subtask.html")]
struct SubtaskFragment {
    sub: TaskView,
}

/// `POST /t/{key}/subtasks`: a subtask by quick add. From the page's script
/// (`X-Taskflow-Fragment`) the answer is the new subtask's line, 201, or the field again with
/// why, 422, as quick add answers on the board.
pub async fn add_subtask(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: axum::http::HeaderMap,
    Posted { viewer, form }: Posted<super::quick::QuickAddForm>,
) -> Result<Response, Refused> {
    let created = new_subtask(&state, &viewer, &key, &form).await;
    if super::kit::from_script(&headers) {
        return match created {
            Ok((_, sub)) => {
                let sub_key = sub.key().to_string();
                let sub = TaskView::one(state.store.as_ref(), sub).await?;
                let response = render(StatusCode::CREATED, &SubtaskFragment { sub });
                Ok(super::kit::with_task_key(response, &sub_key))
            }
            Err(e) if e.kind == Kind::Invalid => {
                let (task, project) = editable_task(&state, &viewer, &key).await?;
                let parent = task.key().to_string();
                let (line, today) = (form.line.as_str(), viewer.today());
                let quick =
                    QuickForm::refused(&state, &project, line, Some(parent.clone()), today, &e)
                        .await?;
                let fragment =
                    super::quick::QuickFragment::subtask(viewer.frame("projects"), &parent, quick);
                Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &fragment))
            }
            Err(e) => Err(e.into()),
        };
    }
    match created {
        Ok((key, _)) => Ok(redirect(&format!("/t/{key}#subtasks"))),
        // A line too long to read is too long for an address: refused here, the field empty.
        Err(e) if e.kind == Kind::Invalid && super::quick::too_long(&form.line) => {
            let quick = QuickForm::unreadable(&e);
            let forms = (quick, CommentForm::default());
            show(
                &state,
                &viewer,
                &key,
                TaskParams::default(),
                e.status(),
                forms,
            )
            .await
        }
        // Back to the task with the line in its address (see `QuickForm::again`).
        Err(e) if e.kind == Kind::Invalid => Ok(redirect(&super::quick::again_at(
            &format!("/t/{}", key.to_uppercase()),
            "subtask",
            &form.line,
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A subtask of the task `key` from a quick-add line: the task's key, and the subtask.
async fn new_subtask(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    form: &super::quick::QuickAddForm,
) -> Result<(String, Task), Refusal> {
    let (task, project) = editable_task(state, viewer, key).await?;
    let parent = Some(task.key().to_string());
    let create = !form.create_labels.is_empty();
    let today = viewer.today();
    let sub = super::quick::create(
        state,
        &viewer.user,
        &project,
        &form.line,
        parent,
        today,
        create,
    )
    .await?;
    Ok((task.key().to_string(), sub))
}

#[derive(Deserialize)]
pub struct CommentPost {
    #[serde(default)]
    body: String,
}

/// `POST /t/{key}/comments`: a new comment.
pub async fn add_comment(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<CommentPost>,
) -> Result<Response, Refused> {
    let body = form.body.replace("\r\n", "\n");
    let added = new_comment(&state, &viewer, &key, &body).await;
    match added {
        Ok((key, id)) => Ok(redirect(&format!("/t/{key}#comment-{id}"))),
        Err(e) if e.kind == Kind::Invalid => {
            let comment = CommentForm {
                body,
                problem: problems(&e).into_iter().next(),
            };
            let forms = (QuickForm::default(), comment);
            show(
                &state,
                &viewer,
                &key,
                TaskParams::default(),
                e.status(),
                forms,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A comment on the task `key`; the task's key and the comment.
async fn new_comment(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    body: &str,
) -> Result<(String, CommentId), Refusal> {
    let (task, _) = editable_task(state, viewer, key).await?;
    let text = CommentInput {
        body: body.to_owned(),
    }
    .try_into()?;
    let comment = state
        .store
        .add_comment(viewer.user.id, task.id, text)
        .await?;
    Ok((task.key().to_string(), comment.id))
}

#[derive(Template)]
#[template(path = "comment_edit.html")]
struct CommentEditPage {
    page: PageFrame,
    key: String,
    id: i64,
    body: String,
    problem: Option<String>,
}

/// The comment `id` on the task `key`, if the viewer may change it.
async fn changeable_comment(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    id: i64,
) -> Result<(taskflow_core::comment::Comment, String), Refusal> {
    let (task, _) = editable_task(state, viewer, key).await?;
    let comment = own_comment(state, &viewer.user, id).await?;
    if comment.task_id != task.id {
        return Err(Refusal::not_found("comment"));
    }
    Ok((comment, task.key().to_string()))
}

/// `GET /t/{key}/comments/{id}/edit`.
pub async fn comment_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((key, id)): Path<(String, i64)>,
) -> Result<Response, Refused> {
    let (comment, key) = changeable_comment(&state, &viewer, &key, id).await?;
    Ok(render(
        StatusCode::OK,
        &CommentEditPage {
            page: viewer.frame("projects"),
            key,
            id,
            body: comment.body.as_str().to_owned(),
            problem: None,
        },
    ))
}

/// `POST /t/{key}/comments/{id}/edit`.
pub async fn edit_comment(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, i64)>,
    Posted { viewer, form }: Posted<CommentPost>,
) -> Result<Response, Refused> {
    let body = form.body.replace("\r\n", "\n");
    let edited = changed_comment(&state, &viewer, &key, id, &body).await;
    match edited {
        Ok(key) => Ok(redirect(&format!("/t/{key}#comment-{id}"))),
        Err(e) if e.kind == Kind::Invalid => Ok(render(
            e.status(),
            &CommentEditPage {
                page: viewer.frame("projects"),
                key,
                id,
                body,
                problem: problems(&e).into_iter().next(),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

/// The comment `id` with a new text; the task's key.
async fn changed_comment(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    id: i64,
    body: &str,
) -> Result<String, Refusal> {
    let (comment, key) = changeable_comment(state, viewer, key, id).await?;
    let text = CommentInput {
        body: body.to_owned(),
    }
    .try_into()?;
    state
        .store
        .edit_comment(viewer.user.id, comment.id, text)
        .await?;
    Ok(key)
}

/// `POST /t/{key}/comments/{id}/delete`.
pub async fn delete_comment(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, i64)>,
    Posted { viewer, .. }: Posted<OnlyToken>,
) -> Result<Response, Refused> {
    let (comment, key) = changeable_comment(&state, &viewer, &key, id).await?;
    state
        .store
        .delete_comment(viewer.user.id, CommentId(comment.id.0))
        .await?;
    Ok(redirect(&format!("/t/{key}?done=comment-deleted#comments")))
}

/// `POST /t/{key}/attachments/{id}/delete`: to the project's trash.
pub async fn delete_attachment(
    State(state): State<AppState>,
    Path((key, id)): Path<(String, i64)>,
    Posted { viewer, .. }: Posted<OnlyToken>,
) -> Result<Response, Refused> {
    let (task, _) = editable_task(&state, &viewer, &key).await?;
    let attachment = deletable_attachment(&state, &viewer.user, id).await?;
    if attachment.task_id != task.id {
        return Err(Refusal::not_found("attachment").into());
    }
    state
        .store
        .delete_attachment(viewer.user.id, attachment.id)
        .await?;
    let key = task.key().to_string();
    Ok(redirect(&format!(
        "/t/{key}?done=attachment-deleted#attachments"
    )))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    version: Option<i64>,
}

#[derive(Deserialize)]
pub struct CheckForm {
    /// Which checklist item of the description, as the page numbers them (`data-check`).
    index: usize,
    /// `true` to tick it, anything else to untick it.
    #[serde(default)]
    checked: String,
    /// The version the page showed.
    version: i64,
}

/// `POST /t/{key}/check`: ticks or unticks one checklist item of the description, with the
/// version the page showed (the page's script sends it; the edit form does the same without
/// it). Answers the task's new version; 412 when someone changed the task meanwhile, and
/// nothing is written.
pub async fn check(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<CheckForm>,
) -> Result<Response, Refused> {
    let (task, _) = editable_task(&state, &viewer, &key).await?;
    let ticked = form.checked == "true";
    let text = crate::markdown::toggle_check(task.description.as_str(), form.index, ticked)
        .ok_or_else(|| {
            Refusal::new(
                Kind::Invalid,
                "the description has no such checklist item; reload the task to see it as it is",
            )
        })?;
    let patch = taskflow_core::task::TaskPatch {
        description: Some(
            taskflow_core::text::Markdown::parse(text)
                .map_err(|e| crate::input::all_valid([Some(&e)]).expect_err("one error given"))?,
        ),
        ..Default::default()
    };
    match state
        .store
        .update_task(viewer.user.id, task.id, patch, Some(form.version))
        .await
    {
        Ok(now) => Ok(axum::response::IntoResponse::into_response(axum::Json(
            serde_json::json!({ "version": now.version }),
        ))),
        Err(StoreError::VersionMismatch { .. }) => Err(Refusal::new(
            Kind::Stale,
            "someone else changed this task meanwhile, so the item was not ticked; reload it to see it as it is",
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /t/{key}/delete`: the task and its subtasks to the project's trash, then the board.
pub async fn delete_task(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<DeleteForm>,
) -> Result<Response, Refused> {
    let (task, project) = editable_task(&state, &viewer, &key).await?;
    match state
        .store
        .delete_task(viewer.user.id, task.id, form.version)
        .await
    {
        Ok(()) => Ok(redirect(&format!("/p/{}?deleted={}", project.key, task.key()))),
        Err(StoreError::VersionMismatch { .. }) => Err(Refusal::new(
            Kind::Stale,
            "someone else changed this task after the page was opened, so it was not deleted; look at it again and delete it if you still want to",
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /t/{key}/attachments`: the upload form without JavaScript, as
/// `multipart/form-data` whose first part is the `csrf` field and whose `file` part is streamed
/// to the volume like an API upload. A refusal (too large, a full disk or quota) is a page in
/// words; nothing is stored.
pub async fn upload(
    State(state): State<AppState>,
    Path(key): Path<String>,
    PostedFile { viewer, mut form }: PostedFile,
) -> Result<Response, Refused> {
    let (task, project) = editable_task(&state, &viewer, &key).await?;
    crate::upload::from_form(&state, &viewer.user, &task, &project, &mut form, None).await?;
    Ok(redirect(&format!(
        "/t/{}?done=uploaded#attachments",
        task.key()
    )))
}
