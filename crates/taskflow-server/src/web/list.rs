//! A project's tasks as a list: filters, search, sorting and pages, all in the URL.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::kit::{PageFrame, ProjectNav, Refused, Viewer, render};
use super::quick::QuickForm;
use crate::access::viewed_project;
use crate::input::ListParams;
use crate::state::AppState;
use crate::views::TaskView;

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    page: PageFrame,
    nav: ProjectNav,
    filters: Filters,
    /// Usernames of the members, for the assignee filter.
    members: Vec<String>,
    /// The project's label names, for the label filter.
    labels: Vec<String>,
    /// The status filter's choices: (value, words, chosen), the groups then the statuses.
    status_choices: Vec<(String, String, bool)>,
    project_key: String,
    project_name: String,
    archived: bool,
    can_add: bool,
    /// Rows change in place (the viewer may edit tasks here).
    can_edit: bool,
    /// The viewer's date, for the due chips.
    today: time::Date,
    quick: QuickForm,
    tasks: Vec<TaskView>,
    filtered: bool,
    next: Option<String>,
}

/// The filter form's values, as the URL gave them.
#[derive(Default)]
struct Filters {
    q: String,
    status: String,
    assignee: String,
    label: String,
    due_after: String,
    due_before: String,
    top_level: bool,
    sort: String,
}

impl Filters {
    fn of(params: &ListParams) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            q: text(&params.q),
            status: text(&params.status),
            assignee: text(&params.assignee),
            label: text(&params.label),
            due_after: text(&params.due_after),
            due_before: text(&params.due_before),
            top_level: params.parent.as_deref() == Some("none"),
            sort: text(&params.sort),
        }
    }
}

/// The choices of the status filter before the project's statuses: (value, words).
const STATUS_GROUPS: [(&str, &str); 3] = [
    ("", "any status"),
    ("backlog,unstarted,started", "open"),
    ("completed,cancelled", "closed"),
];

/// The choices of the sort: (value, words).
const SORT_CHOICES: [(&str, &str); 4] = [
    ("", "board order"),
    ("due_date", "due date"),
    ("priority", "priority"),
    ("updated", "recently updated"),
];

impl ListPage {
    fn sort_choices(&self) -> &'static [(&'static str, &'static str)] {
        &SORT_CHOICES
    }
}

/// A project's tasks as a table, filtered and sorted as the API's listing is (the URL is the
/// view), a page at a time.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(key): axum::extract::Path<String>,
    uri: axum::http::Uri,
    Query(mut params): Query<ListParams>,
) -> Result<Response, Refused> {
    // A quick-add line that was refused, back in its field; not a filter.
    let quick = match params.unknown.remove("quick") {
        // Someone who cannot add tasks here gets the page without the line.
        Some(line) => match crate::access::editable_project(&state, &viewer.user, &key).await {
            Ok(project) => {
                QuickForm::again(&state, &project, Some(&line), None, viewer.today()).await?
            }
            Err(_) => QuickForm::default(),
        },
        None => QuickForm::default(),
    };
    list_page(
        &state,
        &viewer,
        &key,
        params,
        uri.query(),
        StatusCode::OK,
        quick,
    )
    .await
}

/// The list page for `params`; `query` is the URL's query, kept in the next page's link.
pub(super) async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
    params: ListParams,
    query: Option<&str>,
    status: StatusCode,
    quick: QuickForm,
) -> Result<Response, Refused> {
    let (project, role) = viewed_project(state, &viewer.user, key).await?;
    let params = params.blanks_as_absent();
    let filtered = params.filters_anything();
    let filters = Filters::of(&params);
    let (members, labels, workflow) = tokio::try_join!(
        state.store.members(project.id),
        state.store.labels(project.id),
        state.store.workflow(project.id)
    )?;
    // A status named as the URL spells it (`status=done`) is chosen as "Done".
    let chosen = workflow
        .find(&filters.status)
        .map_or_else(|| filters.status.clone(), |s| s.name.to_string());
    let status_choices = STATUS_GROUPS
        .iter()
        .map(|(value, words)| ((*value).to_owned(), (*words).to_owned()))
        .chain(
            workflow
                .statuses()
                .iter()
                .map(|s| (s.name.to_string(), s.name.to_string())),
        )
        .map(|(value, words)| {
            let selected = value == chosen;
            (value, words, selected)
        })
        .collect();
    let task_query = params.resolve(state.store.as_ref(), &project).await?;
    let page = state.store.list_tasks(project.id, &task_query).await?;
    let tasks = TaskView::many(state.store.as_ref(), page.items).await?;
    let next = page.next.map(|cursor| {
        let kept = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("after=") && !p.starts_with("quick="))
            .map(|p| format!("{p}&"))
            .collect::<String>();
        let cursor: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        format!("/p/{}/list?{kept}after={cursor}", project.key)
    });
    let page = ListPage {
        page: viewer.frame("projects"),
        nav: ProjectNav::new(&project, role, "list"),
        filters,
        members: members
            .into_iter()
            .map(|m| m.username.as_str().to_owned())
            .collect(),
        labels: labels
            .into_iter()
            .map(|l| l.name.as_str().to_owned())
            .collect(),
        status_choices,
        project_key: project.key.as_str().to_owned(),
        project_name: project.name.as_str().to_owned(),
        archived: project.archived,
        can_add: crate::access::can_edit(&project, role),
        can_edit: crate::access::can_edit(&project, role),
        today: viewer.today(),
        quick,
        tasks,
        filtered,
        next,
    };
    Ok(render(status, &page))
}
