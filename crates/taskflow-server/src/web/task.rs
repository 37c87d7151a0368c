//! The task page: its fields, its description as Markdown, its subtasks, comments and
//! attachments. (Editing comes next; the API does it today.)

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use taskflow_core::project::Role;
use taskflow_core::task::{ParentFilter, Status, TaskQuery, TaskSort};

use super::markdown::{SanitizedHtml, render as markdown};
use super::{PageFrame, Viewer, refusal, render};
use crate::access::visible_task;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{AttachmentView, CommentView, TaskView};

/// A comment as the page shows it.
struct CommentItem {
    author: String,
    /// RFC 3339, for `<time datetime>`.
    at: String,
    /// As a person reads it: `2026-12-02 03:31 UTC`.
    at_words: String,
    body_html: SanitizedHtml,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    page: PageFrame,
    task: TaskView,
    project_name: String,
    description_html: SanitizedHtml,
    subtasks: Vec<TaskView>,
    comments: Vec<CommentItem>,
    attachments: Vec<AttachmentView>,
}

impl TaskPage {
    fn status_label(&self, status: &Status) -> &'static str {
        super::status_words(*status)
    }

    fn size(&self, bytes: &i64) -> String {
        match *bytes {
            b if b < 1024 => format!("{b} B"),
            b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
            b => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        }
    }
}

pub async fn task_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Response {
    match gather(&state, &viewer, &key).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => refusal(viewer.frame("projects"), e),
    }
}

async fn gather(state: &AppState, viewer: &Viewer, key: &str) -> Result<TaskPage, ApiError> {
    let store = state.store.as_ref();
    let (task, project) = visible_task(state, &viewer.user, key, Role::Viewer).await?;
    let mut children = TaskQuery::new(TaskSort::Position);
    children.filter.parent = Some(ParentFilter::Of(task.id));
    let (subtasks, comments, attachments) = tokio::try_join!(
        store.list_tasks(project.id, &children),
        store.comments(task.id),
        store.attachments(task.id),
    )?;
    let description_html = markdown(task.description.as_str());
    let comments = CommentView::many(store, comments)
        .await?
        .into_iter()
        .map(|c| CommentItem {
            author: c
                .author
                .map_or_else(|| "a removed user".to_owned(), |p| p.display_name),
            at: c.created_at.to_string(),
            at_words: c
                .created_at
                .datetime()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .unwrap_or_default(),
            body_html: markdown(c.body.as_str()),
        })
        .collect();
    Ok(TaskPage {
        page: viewer.frame("projects"),
        task: TaskView::one(store, task).await?,
        project_name: project.name.as_str().to_owned(),
        description_html,
        subtasks: TaskView::many(store, subtasks.items).await?,
        comments,
        attachments: AttachmentView::many(store, attachments).await?,
    })
}
