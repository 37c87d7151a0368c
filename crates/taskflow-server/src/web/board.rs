//! The board: a column per status, each its first cards in board order with "load more".
//! Cards move by drag and drop or `Alt`+arrow keys (`app.js`, through the API's move
//! endpoint with `If-Match`), or by each card's "Move…" form, which needs no JavaScript.
//! Quick add (shared with the list) lives here too.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::StoreError;
use taskflow_core::project::{Project, Role};
use taskflow_core::task::{Cursor, TaskQuery, TaskSort, effort_text};
use taskflow_core::workflow::Status;

use super::kit::{PageFrame, Posted, ProjectNav, Refused, Viewer, redirect, render};
use super::quick::QuickForm;
use crate::access::can_edit;
use crate::access::viewed_project;
use crate::error::{Kind, Refusal};
use crate::state::AppState;
use crate::views::TaskView;

pub use super::card::{Card, CardsFragment, More};

/// How many cards a column shows at first, and loads each time after.
pub const COLUMN_PAGE: u32 = 50;

/// One column of the board: a status of the project's workflow.
struct Column {
    /// The status's id, for the page's element ids.
    id: i64,
    /// The status's name: its heading, and what a move names.
    name: String,
    /// The class that draws it in its colour (from the project's `labels.css`).
    colour: String,
    category: &'static str,
    /// How many live tasks it holds.
    count: u64,
    wip_limit: Option<u32>,
    cards: Vec<Card>,
    more: Option<More>,
    /// Its tasks' estimates added up (`1d 4h`), when any has one.
    estimate: Option<String>,
}

impl Column {
    /// It holds more tasks than its limit.
    fn over_limit(&self) -> bool {
        self.wip_limit.is_some_and(|l| self.count > u64::from(l))
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: PageFrame,
    nav: ProjectNav,
    project_key: String,
    project_name: String,
    archived: bool,
    columns: Vec<Column>,
    can_move: bool,
    notice: Option<String>,
    quick: QuickForm,
    /// The statuses' names, for each card's "Move…" form.
    choices: Vec<String>,
}

/// Cards on their own: the next page of a column, or one card as it is now.
impl BoardPage {
    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }
}

/// A page of `status`'s cards in board order, starting after `after`.
async fn column_page(
    state: &AppState,
    project: &Project,
    status: &Status,
    after: Option<Cursor>,
    today: time::Date,
) -> Result<(Vec<Card>, Option<More>), Refusal> {
    let store = state.store.as_ref();
    let mut query = TaskQuery::new(TaskSort::Position);
    query.filter.statuses = vec![status.id];
    query.limit = COLUMN_PAGE;
    query.after = after;
    let page = store.list_tasks(project.id, &query).await?;
    let ids: Vec<taskflow_core::TaskId> = page.items.iter().map(|t| t.id).collect();
    let (views, counts) = tokio::try_join!(TaskView::many(store, page.items), async {
        Ok(store.task_counts(&ids).await?)
    })?;
    let more = page.next.map(|cursor| {
        let cursor: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        let status: String =
            form_urlencoded::byte_serialize(status.name.as_str().as_bytes()).collect();
        More {
            href: format!("/p/{}/list?status={status}&after={cursor}", project.key),
            fragment: format!("/p/{}/cards?status={status}&after={cursor}", project.key),
        }
    });
    let cards = views
        .into_iter()
        .zip(ids)
        .map(|(view, id)| {
            let counts = counts.iter().find(|c| c.task == id).copied();
            Card::new(view, counts, today)
        })
        .collect();
    Ok((cards, more))
}

#[derive(Deserialize)]
pub struct BoardParams {
    /// Set by a move that could not be made, for the notice.
    moved: Option<String>,
    /// Set after a task went to the trash, for the notice.
    deleted: Option<String>,
    /// A quick-add line that was refused, back in its field.
    quick: Option<String>,
}

/// The board page.
pub async fn board(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    Query(params): Query<BoardParams>,
) -> Result<Response, Refused> {
    let notice = match (params.moved.as_deref(), params.deleted) {
        (Some("conflict"), _) => Some(
            "Someone else changed that task meanwhile, so it was not moved. The board shows it as it is now; move it again if you still want to."
                .to_owned(),
        ),
        (_, Some(task)) => Some(format!(
            "{task} and its subtasks are in the project's trash; they can be restored from there."
        )),
        _ => None,
    };
    let quick = match params.quick.as_deref() {
        // Someone who cannot add tasks here gets the page without the line.
        Some(line) => match crate::access::editable_project(&state, &viewer.user, &key).await {
            Ok(project) => {
                QuickForm::again(&state, &project, Some(line), None, viewer.today()).await?
            }
            Err(_) => QuickForm::default(),
        },
        None => QuickForm::default(),
    };
    board_page(&state, &viewer, &key, StatusCode::OK, notice, quick).await
}

pub(super) async fn board_page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    status: StatusCode,
    notice: Option<String>,
    quick: QuickForm,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    let store = state.store.as_ref();
    let (workflow, totals) = tokio::try_join!(
        store.workflow(project.id),
        store.estimate_totals(project.id)
    )?;
    let mut columns = Vec::new();
    for status in workflow.statuses() {
        let (cards, more) = column_page(state, &project, status, None, viewer.today()).await?;
        columns.push(Column {
            id: status.id.0,
            name: status.name.to_string(),
            colour: crate::views::colour_class(status.colour.as_str()),
            category: status.category.as_str(),
            count: status.tasks,
            wip_limit: status.wip_limit.map(|l| l.get()),
            cards,
            more,
            estimate: totals
                .iter()
                .find(|(s, _)| *s == status.id)
                .map(|(_, minutes)| effort_text(*minutes)),
        });
    }
    Ok(render(
        status,
        &BoardPage {
            page: viewer.frame("projects"),
            nav: ProjectNav::new(&project, role, "board"),
            project_key: project.key.as_str().to_owned(),
            project_name: project.name.as_str().to_owned(),
            archived: project.archived,
            columns,
            can_move: can_edit(&project, role),
            notice,
            quick,
            choices: super::card::status_names(&workflow),
        },
    ))
}

#[derive(Deserialize)]
pub struct CardsParams {
    #[serde(default)]
    status: String,
    after: Option<String>,
}

/// `GET /p/{key}/cards?status=…&after=…`: the next cards of a column, for "load more".
pub async fn cards(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
    Query(params): Query<CardsParams>,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(&state, &viewer.user, &key).await?;
    let workflow = state.store.workflow(project.id).await?;
    let status = workflow
        .resolve("status", &params.status)
        .map_err(|e| crate::input::bad_query(crate::input::all_valid([Some(&e)]).unwrap_err()))?;
    let after = params
        .after
        .as_deref()
        .map(|c| Cursor::decode(c, TaskSort::Position))
        .transpose()
        .map_err(|_| Refusal::new(Kind::BadQuery, "that cursor is not from this board"))?;
    let (cards, more) = column_page(&state, &project, status, after, viewer.today()).await?;
    Ok(render(
        StatusCode::OK,
        &CardsFragment {
            page: viewer.frame("projects"),
            project_key: project.key.as_str().to_owned(),
            status: status.name.to_string(),
            cards,
            more,
            can_move: can_edit(&project, role),
            choices: super::card::status_names(&workflow),
        },
    ))
}

/// `GET /p/{key}/card/{task}`: one card as it is now, to replace a stale one on the board.
pub async fn card(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((key, task)): Path<(String, String)>,
) -> Result<Response, Refused> {
    let (task, project, role) =
        crate::access::visible_task_with_role(&state, &viewer.user, &task, Role::Viewer).await?;
    if project.key.as_str() != key {
        return Err(Refusal::not_found("task").into());
    }
    let fragment = CardsFragment::one(&state, &viewer, &project, role, task).await?;
    Ok(render(StatusCode::OK, &fragment))
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    task: String,
    #[serde(default)]
    status: String,
    position: Option<String>,
    version: Option<i64>,
}

/// The "Move…" form: moves a card with the version the page showed, then back to the board
/// at that card. A task changed meanwhile is not moved, and the board says so.
pub async fn move_card(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Posted { viewer, form }: Posted<MoveForm>,
) -> Result<Response, Refused> {
    let (task, project) =
        crate::access::visible_task(&state, &viewer.user, &form.task, Role::Editor).await?;
    if project.key.as_str() != key {
        return Err(Refusal::not_found("task").into());
    }
    let request = crate::input::MoveTask {
        status: form.status,
        after: None,
        before: None,
        position: form.position,
    };
    let to = request.resolve(state.store.as_ref(), &project).await?;
    let board = format!("/p/{}", project.key);
    match state
        .store
        .move_task(viewer.user.id, task.id, to, form.version)
        .await
    {
        Ok(moved) => Ok(redirect(&format!("{board}#card-{}", moved.key()))),
        Err(StoreError::VersionMismatch { .. }) => Ok(redirect(&format!(
            "{board}?moved=conflict#card-{}",
            task.key()
        ))),
        Err(e) => Err(e.into()),
    }
}
