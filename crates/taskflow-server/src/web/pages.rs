//! Sign in and out, the projects page, the colour scheme.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use taskflow_core::StoreError;
use taskflow_core::project::{NewProject, Project};

use super::board::QuickForm;
use super::{PageFrame, Viewer, local, login_form, message, redirect, refusal, render, trouble};
use crate::access::{parse_key, project_with_role};
use crate::error::ApiError;
use crate::input::{CreateProject, ListParams};
use crate::session::{ClientIp, cookie, session_cookie, sign_in};
use crate::state::AppState;
use crate::views::TaskView;

/// `/`: the projects for someone signed in, the sign-in page for anyone else.
pub async fn home(viewer: Result<Viewer, Response>) -> Response {
    match viewer {
        Ok(_) => redirect("/projects"),
        Err(_) => redirect("/login"),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageFrame,
    problem: Option<String>,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

fn login_frame(parts: &Parts, token: String) -> PageFrame {
    PageFrame {
        csrf: token,
        ..super::anonymous(parts)
    }
}

/// The sign-in form (or, already signed in, where it would lead). Its token is one this
/// installation signed (`login_form`), held by the browser in a cookie as well.
pub async fn login_page(
    State(state): State<AppState>,
    viewer: Result<Viewer, Response>,
    Query(params): Query<NextParam>,
    parts: Parts,
) -> Response {
    let next = local(params.next.as_deref().unwrap_or("/projects")).to_owned();
    if viewer.is_ok() {
        return redirect(&next);
    }
    let token = match login_form::current_or_new(&state, &parts.headers).await {
        Ok(token) => token,
        Err(e) => return refusal(super::anonymous(&parts), e),
    };
    let page = LoginPage {
        page: login_frame(&parts, token.clone()),
        problem: None,
        next,
        username: String::new(),
    };
    login_form::set_cookie(&state, render(StatusCode::OK, &page), &token)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local(&form.next).to_owned();
    match login_form::accepted(&state, &parts.headers, &form.csrf).await {
        Ok(true) => {}
        Ok(false) => {
            return message(
                StatusCode::FORBIDDEN,
                super::anonymous(&parts),
                "This sign-in form has expired",
                "Open the sign-in page again and sign in from there.",
            );
        }
        Err(e) => return refusal(super::anonymous(&parts), e),
    }
    let token = form.csrf.clone();
    match sign_in(&state, &form.username, form.password, ip, &parts.headers).await {
        Ok((_, secret, _)) => {
            let mut response = redirect(&next);
            response.headers_mut().append(
                SET_COOKIE,
                cookie(&state, secret.expose(), state.auth.session_ttl),
            );
            response
        }
        Err(e) => {
            let (status, problem) = login_problem(&e);
            let page = LoginPage {
                page: login_frame(&parts, token.clone()),
                problem: Some(problem),
                next,
                username: form.username,
            };
            login_form::set_cookie(&state, render(status, &page), &token)
        }
    }
}

/// Why a sign-in failed, in words.
fn login_problem(e: &ApiError) -> (StatusCode, String) {
    let words = match e.status {
        StatusCode::UNAUTHORIZED => "Wrong username or password.".to_owned(),
        StatusCode::TOO_MANY_REQUESTS => {
            let minutes = e.retry_after.map_or(15, |d| d.as_secs().div_ceil(60));
            format!(
                "Too many failed sign-ins from here. Try again in {minutes} minutes, or ask an administrator to unlock your account."
            )
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            "Taskflow cannot reach its database just now; try again in a few seconds.".to_owned()
        }
        StatusCode::INSUFFICIENT_STORAGE => {
            "The disk is full, so no one can sign in; an administrator needs to free space."
                .to_owned()
        }
        _ => "Signing in failed; the error has been logged.".to_owned(),
    };
    (e.status, words)
}

/// Ends this browser's session.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    if let Some(secret) = session_cookie(&headers) {
        match state.store.delete_session(&secret.hash()).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return trouble(viewer.frame(""), e),
        }
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .append(SET_COOKIE, cookie(&state, "", std::time::Duration::ZERO));
    response
}

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    page: PageFrame,
    projects: Vec<Project>,
    archived: bool,
    problem: Option<String>,
    form_key: String,
    form_name: String,
}

#[derive(Deserialize)]
pub struct ProjectsParams {
    archived: Option<String>,
}

async fn projects_page(
    state: &AppState,
    viewer: &Viewer,
    archived: bool,
    status: StatusCode,
    problem: Option<String>,
    form: (String, String),
) -> Response {
    let member = (!viewer.user.is_admin).then_some(viewer.user.id);
    let projects = match state.store.list_projects(member, archived).await {
        Ok(projects) => projects,
        Err(e) => return trouble(viewer.frame("projects"), e),
    };
    let page = ProjectsPage {
        page: viewer.frame("projects"),
        projects,
        archived,
        problem,
        form_key: form.0,
        form_name: form.1,
    };
    render(status, &page)
}

/// The projects the viewer is a member of (every project, for administrators); archived ones
/// only when asked for.
pub async fn projects(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<ProjectsParams>,
) -> Response {
    let archived = params.archived.is_some_and(|v| v == "1" || v == "true");
    projects_page(
        &state,
        &viewer,
        archived,
        StatusCode::OK,
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct NewProjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
}

pub async fn create_project(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewProjectForm>,
) -> Response {
    if let Some(refused) = viewer.csrf_refusal(&form.csrf) {
        return refused;
    }
    let typed = (form.key.clone(), form.name.clone());
    let input = CreateProject {
        key: form.key.trim().to_uppercase(),
        name: form.name,
        description: String::new(),
    };
    let new: Result<NewProject, ApiError> = input.try_into();
    let created = match new {
        Ok(new) => state
            .store
            .create_project(viewer.user.id, new)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => redirect("/projects"),
        Err(e)
            if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT =>
        {
            let problem = super::sentence(&e.message);
            projects_page(&state, &viewer, false, e.status, Some(problem), typed).await
        }
        Err(e) => message(
            e.status,
            viewer.frame("projects"),
            "The project was not created",
            &e.message,
        ),
    }
}

#[derive(Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    set: String,
    /// The page to go back to.
    #[serde(default)]
    to: String,
}

/// `POST /theme`: light, dark, or the system's, kept in a cookie so the page is drawn right
/// the first time. A form with the page's CSRF token (the session's, or the sign-in form's),
/// so no other site, and no image in a task, can change it.
pub async fn theme(
    State(state): State<AppState>,
    viewer: Result<Viewer, Response>,
    parts: Parts,
    Form(form): Form<ThemeForm>,
) -> Response {
    // Signed in, the session's token (as every form); signed out, the sign-in form's.
    let refused = match &viewer {
        Ok(viewer) => viewer.csrf_refusal(&form.csrf),
        Err(_) => match login_form::accepted(&state, &parts.headers, &form.csrf).await {
            Ok(true) => None,
            _ => Some(message(
                StatusCode::FORBIDDEN,
                super::anonymous(&parts),
                "This form has expired",
                "The page was open too long or came from elsewhere. Go back, reload it and try again.",
            )),
        },
    };
    if let Some(refused) = refused {
        return refused;
    }
    let next = local(&form.to).to_owned();
    let (value, age) = match form.set.as_str() {
        "light" | "dark" => (form.set.as_str(), "31536000"),
        _ => ("", "0"),
    };
    let secure = if state.auth.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("taskflow_theme={value}; SameSite=Lax; Path=/; Max-Age={age}{secure}");
    let mut response = redirect(&next);
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// The project `key` names and the viewer's role in it, if they may see it.
pub(super) async fn viewed_project(
    state: &AppState,
    viewer: &Viewer,
    key: &str,
) -> Result<
    (
        taskflow_core::project::Project,
        taskflow_core::project::Role,
    ),
    ApiError,
> {
    project_with_role(
        state,
        &viewer.user,
        &parse_key(key)?,
        taskflow_core::project::Role::Viewer,
    )
    .await
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    page: PageFrame,
    filters: Filters,
    /// Usernames of the members, for the assignee filter.
    members: Vec<String>,
    /// The project's label names, for the label filter.
    labels: Vec<String>,
    project_key: String,
    project_name: String,
    archived: bool,
    can_add: bool,
    owner: bool,
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

/// The choices of the status and sort filters: (value, words).
const STATUS_CHOICES: [(&str, &str); 5] = [
    ("", "any status"),
    ("todo,in_progress", "not done"),
    ("todo", "to do"),
    ("in_progress", "in progress"),
    ("done", "done"),
];
const SORT_CHOICES: [(&str, &str); 4] = [
    ("", "board order"),
    ("due_date", "due date"),
    ("priority", "priority"),
    ("updated", "recently updated"),
];

impl ListPage {
    fn status_choices(&self) -> &'static [(&'static str, &'static str)] {
        &STATUS_CHOICES
    }

    fn sort_choices(&self) -> &'static [(&'static str, &'static str)] {
        &SORT_CHOICES
    }

    fn status_label(&self, status: &taskflow_core::task::Status) -> &'static str {
        super::status_words(*status)
    }
}

/// A project's tasks as a table, filtered and sorted as the API's listing is (the URL is the
/// view), a page at a time.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(key): axum::extract::Path<String>,
    uri: axum::http::Uri,
    Query(params): Query<ListParams>,
) -> Response {
    let quick = QuickForm::default();
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
) -> Response {
    let frame = || viewer.frame("projects");
    let (project, role) = match viewed_project(state, viewer, key).await {
        Ok(found) => found,
        Err(e) => return refusal(frame(), e),
    };
    let params = params.blanks_as_absent();
    let filtered = params.filters_anything();
    let filters = Filters::of(&params);
    let (members, labels) = match tokio::try_join!(
        state.store.members(project.id),
        state.store.labels(project.id)
    ) {
        Ok(found) => found,
        Err(e) => return trouble(frame(), e),
    };
    let task_query = match params.resolve(state.store.as_ref(), &project).await {
        Ok(query) => query,
        Err(e) => return refusal(frame(), e),
    };
    let page = match state.store.list_tasks(project.id, &task_query).await {
        Ok(page) => page,
        Err(e) => return trouble(frame(), e),
    };
    let tasks = match TaskView::many(state.store.as_ref(), page.items).await {
        Ok(tasks) => tasks,
        Err(e) => return refusal(frame(), e),
    };
    let next = page.next.map(|cursor| {
        let kept = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("after="))
            .map(|p| format!("{p}&"))
            .collect::<String>();
        let cursor: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
        format!("/p/{}/list?{kept}after={cursor}", project.key)
    });
    let page = ListPage {
        page: frame(),
        filters,
        members: members
            .into_iter()
            .map(|m| m.username.as_str().to_owned())
            .collect(),
        labels: labels
            .into_iter()
            .map(|l| l.name.as_str().to_owned())
            .collect(),
        project_key: project.key.as_str().to_owned(),
        project_name: project.name.as_str().to_owned(),
        archived: project.archived,
        can_add: !project.archived && role >= taskflow_core::project::Role::Editor,
        owner: role == taskflow_core::project::Role::Owner,
        quick,
        tasks,
        filtered,
        next,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "my.html")]
struct MyTasksPage {
    page: PageFrame,
    tasks: Vec<TaskView>,
    done: bool,
}

impl MyTasksPage {
    fn status_label(&self, status: &taskflow_core::task::Status) -> &'static str {
        super::status_words(*status)
    }
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
) -> Response {
    let done = params.done.is_some_and(|v| v == "1" || v == "true");
    let store = state.store.as_ref();
    let tasks = match store
        .assigned_tasks(viewer.user.id, done, viewer.user.is_admin, 200)
        .await
    {
        Ok(tasks) => tasks,
        Err(e) => return trouble(viewer.frame("my"), e),
    };
    match TaskView::many(store, tasks).await {
        Ok(tasks) => render(
            StatusCode::OK,
            &MyTasksPage {
                page: viewer.frame("my"),
                tasks,
                done,
            },
        ),
        Err(e) => refusal(viewer.frame("my"), e),
    }
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
