//! The person's own pages: the tasks assigned to them across projects, and the keyboard
//! shortcuts.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::kit::{PageFrame, Refused, Viewer, render};
use crate::state::AppState;
use crate::views::TaskView;

#[derive(Template)]
#[template(path = "my.html")]
struct MyTasksPage {
    page: PageFrame,
    tasks: Vec<TaskView>,
    done: bool,
}

#[derive(Deserialize)]
pub struct MyParams {
    done: Option<String>,
}

/// What is assigned to the viewer across projects, soonest due first.
pub async fn my_tasks(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<MyParams>,
) -> Result<Response, Refused> {
    let done = params.done.is_some_and(|v| v == "1" || v == "true");
    let store = state.store.as_ref();
    let tasks = store
        .assigned_tasks(viewer.user.id, done, viewer.user.is_admin, 200)
        .await?;
    let tasks = TaskView::many(store, tasks).await?;
    Ok(render(
        StatusCode::OK,
        &MyTasksPage {
            page: viewer.frame("my"),
            tasks,
            done,
        },
    ))
}

#[derive(Template)]
#[template(path = "shortcuts.html")]
struct ShortcutsPage {
    page: PageFrame,
}

/// `GET /shortcuts`: the keyboard shortcuts as a page (`?` shows them over any page).
pub async fn shortcuts(viewer: Viewer) -> Response {
    render(
        StatusCode::OK,
        &ShortcutsPage {
            page: viewer.frame(""),
        },
    )
}
