//! What every page is made with: the frame around it, the signed-in viewer, rendering and
//! redirects, the page that says why something was refused, and the check that keeps every
//! redirect on this site.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use taskflow_core::StoreError;
use taskflow_core::user::{Session, User};

use serde::de::DeserializeOwned;

use super::assets;
use super::words::{problems, sentence};
use crate::error::{Kind, Refusal};
use crate::session::{cookie_value, same, session_cookie};
use crate::state::AppState;

/// Every page's policy: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// What the layout of every page needs.
#[derive(Clone)]
pub struct PageFrame {
    /// The signed-in user's display name.
    pub user: Option<String>,
    /// The token forms send back in their `csrf` field.
    pub csrf: String,
    pub theme: Option<&'static str>,
    pub assets: &'static assets::Urls,
    /// This page's path and query, for "come back here" links.
    pub path: String,
    /// Which navigation entry is current.
    pub here: &'static str,
    /// The viewer administers this installation (the navigation shows Administration).
    pub admin: bool,
    /// The icons the page draws (`<use href="#i-calendar">`), as one hidden sprite of inline
    /// symbols (a vendored file, not anyone's text): the page's own, so the content security
    /// policy needs no exception.
    pub icons_html: &'static str,
    /// The sidebar's projects: the person's own (those they are a member of), (key, name), by
    /// key; `None` when not looked up (a request that is not for a whole page).
    pub projects: Option<std::sync::Arc<[(String, String)]>>,
}

impl PageFrame {
    /// The project this page belongs to (`/p/OPS/list`, `/t/OPS-3`), for the sidebar.
    pub fn in_project(&self, key: &str) -> bool {
        let rest = self
            .path
            .strip_prefix("/p/")
            .or_else(|| self.path.strip_prefix("/t/"));
        rest.and_then(|r| r.strip_prefix(key))
            .is_some_and(|after| after.is_empty() || after.starts_with(['/', '-', '?', '#']))
    }
}

/// A project's pages, as every one of them links to the others (`_project_nav.html`): the same
/// entries in the same order, those the viewer's role can use.
pub struct ProjectNav {
    pub key: String,
    /// The page this is: `board`, `list`, `workflow`, `labels`, `members`, `activity`, `trash`
    /// or `settings`.
    pub here: &'static str,
    /// The viewer can change the project's tasks (the trash is theirs to use).
    pub editor: bool,
    /// The viewer owns the project (its settings are theirs).
    pub owner: bool,
}

impl ProjectNav {
    pub fn new(
        project: &taskflow_core::project::Project,
        role: taskflow_core::project::Role,
        here: &'static str,
    ) -> Self {
        use taskflow_core::project::Role;
        Self {
            key: project.key.to_string(),
            here,
            editor: role >= Role::Editor,
            owner: role == Role::Owner,
        }
    }

    /// Whether `page` is this one.
    pub fn is(&self, page: &str) -> bool {
        page == self.here
    }

    /// The entries: (page, its address, its name), those this viewer may open.
    pub fn entries(&self) -> Vec<(&'static str, String, &'static str)> {
        let base = format!("/p/{}", self.key);
        [
            ("board", String::new(), "Board", true),
            ("list", "/list".to_owned(), "List", true),
            ("workflow", "/workflow".to_owned(), "Workflow", true),
            ("labels", "/labels".to_owned(), "Labels", true),
            ("members", "/members".to_owned(), "Members", true),
            ("activity", "/activity".to_owned(), "Activity", true),
            ("trash", "/trash".to_owned(), "Trash", self.editor),
            ("settings", "/settings".to_owned(), "Settings", self.owner),
        ]
        .into_iter()
        .filter(|(.., shown)| *shown)
        .map(|(page, path, name, _)| (page, format!("{base}{path}"), name))
        .collect()
    }
}

/// A signed-in person looking at a page. Without a valid session a page answers 303 to the
/// sign-in page, which comes back here afterwards.
pub struct Viewer {
    pub user: User,
    pub session: Session,
    theme: Option<&'static str>,
    path: String,
    /// The browser's time zone, as its script last said (the `taskflow_tz` cookie).
    browser_zone: Option<String>,
    /// The person's projects for the sidebar, looked up for whole pages only.
    projects: Option<std::sync::Arc<[(String, String)]>>,
}

impl Viewer {
    /// The viewer's time zone: the one they chose on their account page, else their browser's,
    /// else UTC.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        self.user
            .time_zone
            .as_ref()
            .map(|z| z.as_str())
            .or(self.browser_zone.as_deref())
            .and_then(|name| jiff::tz::TimeZone::get(name).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The viewer's date today, in their time zone: what "due today" means to them.
    pub fn today(&self) -> time::Date {
        let now = jiff::Timestamp::now().to_zoned(self.zone()).date();
        time::Date::from_calendar_date(
            i32::from(now.year()),
            time::Month::try_from(now.month() as u8).unwrap_or(time::Month::January),
            now.day() as u8,
        )
        .unwrap_or_else(|_| taskflow_core::Timestamp::now().datetime().date())
    }

    /// A time as the viewer reads it, in their zone: `2026-12-02 14:31 CET`.
    pub fn when(&self, at: taskflow_core::Timestamp) -> String {
        super::words::when_in(at, &self.zone())
    }

    pub fn frame(&self, here: &'static str) -> PageFrame {
        PageFrame {
            user: Some(self.user.display_name.as_str().to_owned()),
            csrf: self.session.csrf_token.clone(),
            theme: self.theme,
            assets: assets::urls(),
            path: self.path.clone(),
            here,
            admin: self.user.is_admin,
            icons_html: super::assets::ICONS,
            projects: self.projects.clone(),
        }
    }

    /// A form's `csrf` field must be this session's token; otherwise the post is refused with
    /// this page. Only the extractors below ask.
    fn csrf_refusal(&self, sent: &str) -> Option<Response> {
        if same(sent, &self.session.csrf_token) {
            return None;
        }
        Some(expired(self.frame("")))
    }
}

/// The page a post with a missing or wrong token gets; nothing was changed.
fn expired(frame: PageFrame) -> Response {
    message(
        StatusCode::FORBIDDEN,
        frame,
        "This form has expired",
        "The page was open too long or came from elsewhere. Go back, reload it and try again.",
    )
}

/// The value of the field `name` in a form body, if it is there.
fn field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.into_owned())
}

/// A form body read into `T` with `serde_html_form` (a repeated field, such as a checkbox,
/// fills a `Vec`); one that does not fit is refused as the API refuses a body, naming its field.
fn read_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    let reader = serde_html_form::Deserializer::new(form_urlencoded::parse(body));
    serde_path_to_error::deserialize(reader).map_err(|e| {
        let field = e.path().to_string();
        taskflow_core::ValidationError::new(field, e.inner().to_string()).into()
    })
}

/// The body of a posted form, or the page saying why it could not be read.
async fn form_body(
    request: Request,
    state: &AppState,
    frame: impl FnOnce() -> PageFrame,
) -> Result<Bytes, Response> {
    Bytes::from_request(request, state).await.map_err(|e| {
        let kind = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Kind::TooLarge
        } else {
            Kind::BadRequest
        };
        refusal(frame(), Refusal::new(kind, e.body_text()))
    })
}

/// A form posted by someone signed in. Its `csrf` field is checked against their session
/// before any handler runs: a post without it, or with another session's, gets the "This form
/// has expired" page and changes nothing. The other fields are `T`.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let body = form_body(Request::from_parts(parts, body), state, || viewer.frame("")).await?;
        if let Some(refused) = viewer.csrf_refusal(&field(&body, "csrf").unwrap_or_default()) {
            return Err(refused);
        }
        let form = read_form(&body).map_err(|e| refusal(viewer.frame(""), e))?;
        Ok(Posted { viewer, form })
    }
}

/// A form anyone may post (the colour scheme): signed in, checked against the session's token
/// as `Posted` is; signed out, against the sign-in form's.
pub struct PostedByAnyone<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PostedByAnyone<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await.ok();
        let frame = anonymous(&parts);
        let headers = parts.headers.clone();
        let body = form_body(Request::from_parts(parts, body), state, || frame.clone()).await?;
        let sent = field(&body, "csrf").unwrap_or_default();
        match &viewer {
            Some(viewer) => {
                if let Some(refused) = viewer.csrf_refusal(&sent) {
                    return Err(refused);
                }
            }
            None => {
                if !matches!(
                    super::login_form::accepted(state, &headers, &sent).await,
                    Ok(true)
                ) {
                    return Err(expired(frame));
                }
            }
        }
        let form = read_form(&body).map_err(|e| refusal(frame, e))?;
        Ok(PostedByAnyone(form))
    }
}

/// The sign-in form, posted. Its `csrf` field must be the sign-in token this browser holds
/// (`login_form`), checked before the handler runs. `frame` is the signed-out frame carrying
/// that token, for drawing the form again.
pub struct SignInPosted<T> {
    pub frame: PageFrame,
    pub headers: axum::http::HeaderMap,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignInPosted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let frame = anonymous(&parts);
        let headers = parts.headers.clone();
        let body = form_body(Request::from_parts(parts, body), state, || frame.clone()).await?;
        let token = field(&body, "csrf").unwrap_or_default();
        match super::login_form::accepted(state, &headers, &token).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(message(
                    StatusCode::FORBIDDEN,
                    frame,
                    "This sign-in form has expired",
                    "Open the sign-in page again and sign in from there.",
                ));
            }
            Err(e) => return Err(refusal(frame, e)),
        }
        let form = read_form(&body).map_err(|e| refusal(frame.clone(), e))?;
        Ok(SignInPosted {
            frame: PageFrame {
                csrf: token,
                ..frame
            },
            headers,
            form,
        })
    }
}

/// A file posted with a form (`multipart/form-data`) by someone signed in. The form's first
/// part must be its `csrf` field, checked as `Posted` checks it before any byte of the file is
/// read; the rest of the form is the handler's to stream.
pub struct PostedFile {
    pub viewer: Viewer,
    pub form: Multipart,
}

impl FromRequest<AppState> for PostedFile {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let mut form = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| {
                refusal(
                    viewer.frame(""),
                    Refusal::new(Kind::BadRequest, e.body_text()),
                )
            })?;
        let sent = match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("csrf") => {
                field.text().await.unwrap_or_default()
            }
            _ => String::new(),
        };
        if let Some(refused) = viewer.csrf_refusal(&sent) {
            return Err(refused);
        }
        Ok(PostedFile { viewer, form })
    }
}

/// The theme cookie: `light` or `dark`; the system's choice when absent.
fn theme(parts: &Parts) -> Option<&'static str> {
    match cookie_value(&parts.headers, "taskflow_theme") {
        Some("light") => Some("light"),
        Some("dark") => Some("dark"),
        _ => None,
    }
}

fn path_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = path_of(parts);
        let theme = theme(parts);
        // A form posted after the session ended comes back to the page it was on.
        let back = if parts.method == axum::http::Method::GET {
            path.clone()
        } else {
            referring_page(parts).unwrap_or_else(|| "/projects".to_owned())
        };
        let signed_out = || {
            let next = form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>();
            redirect(&format!("/login?next={next}"))
        };
        let Some(secret) = session_cookie(&parts.headers) else {
            return Err(signed_out());
        };
        match crate::session::live_session(state, &secret).await {
            Ok((user, session)) => {
                let projects = sidebar_projects(state, parts, &user).await;
                let viewer = Viewer {
                    user,
                    session,
                    theme,
                    path,
                    browser_zone: cookie_value(&parts.headers, "taskflow_tz")
                        .filter(|z| z.len() <= 64)
                        .map(str::to_owned),
                    projects,
                };
                // A refusal this request ends in is drawn in this person's frame.
                if let Some(slot) = parts.extensions.get::<FrameSlot>() {
                    slot.fill(viewer.frame(""));
                }
                Ok(viewer)
            }
            Err(StoreError::NotFound { .. }) => Err(signed_out()),
            Err(e) => Err(trouble(anonymous(parts), e)),
        }
    }
}

/// The header a page's script sends when it wants a fragment to put in place (a card, a row, a
/// menu) rather than a page or a redirect.
pub const FRAGMENT_HEADER: &str = "x-taskflow-fragment";

/// The request comes from a page's script asking for a fragment (`FRAGMENT_HEADER`).
pub fn from_script(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(FRAGMENT_HEADER)
}

/// A fragment answering a quick add, with the new task's key in `X-Task-Key`.
pub fn with_task_key(mut response: Response, key: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(key) {
        response.headers_mut().insert("x-task-key", value);
    }
    response
}

/// The most projects the sidebar lists; the projects page has them all.
const SIDEBAR_PROJECTS: usize = 30;

/// The person's projects for the sidebar, for a whole page (a `GET` for HTML that is not a
/// fragment for a page's script): the projects they are a member of, by key. A store that cannot answer
/// leaves the sidebar without them; the page says what else is wrong.
async fn sidebar_projects(
    state: &AppState,
    parts: &Parts,
    user: &User,
) -> Option<std::sync::Arc<[(String, String)]>> {
    // A page a browser navigates to asks for HTML; its stylesheet, a script's fetch and an
    // htmx swap do not need the sidebar.
    let fragment = from_script(&parts.headers) || parts.headers.contains_key("hx-request");
    let html = parts
        .headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if parts.method != axum::http::Method::GET || fragment || !html {
        return None;
    }
    match state.store.list_projects(Some(user.id), false).await {
        Ok(projects) => Some(
            projects
                .into_iter()
                .take(SIDEBAR_PROJECTS)
                .map(|p| (p.key.to_string(), p.name.to_string()))
                .collect(),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the sidebar's projects could not be read");
            None
        }
    }
}

/// The local page (path and query) a request came from, by its `Referer`, when that is this
/// site.
fn referring_page(parts: &Parts) -> Option<String> {
    let referer = parts
        .headers
        .get(axum::http::header::REFERER)?
        .to_str()
        .ok()?;
    let host = parts.headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?
        .strip_prefix(host)?;
    is_local(rest).then(|| rest.to_owned())
}

/// The frame of a page for someone not signed in.
pub(super) fn anonymous(parts: &Parts) -> PageFrame {
    PageFrame {
        user: None,
        csrf: String::new(),
        theme: theme(parts),
        assets: assets::urls(),
        path: path_of(parts),
        here: "",
        admin: false,
        icons_html: super::assets::ICONS,
        projects: None,
    }
}

/// 303 See Other to `to`: where every form post ends.
pub fn redirect(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

/// A page of this site to go to after a form (`next`, the `Referer`); anything else goes to
/// the projects. Every redirect whose target comes from a request passes through here.
pub fn local(next: &str) -> &str {
    if is_local(next) { next } else { "/projects" }
}

/// Whether `target` can only mean a path on this site: it starts with one `/`, holds only
/// printable ASCII without a backslash, and once percent-decoded still holds no control
/// character or backslash and does not start with `//`. Browsers read a tab, a backslash or a
/// second slash as the start of another host (`/\tevil.example`, `/\\evil`, `//evil`).
pub fn is_local(target: &str) -> bool {
    fn path_start(bytes: &[u8]) -> bool {
        bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'))
    }
    let raw = target.as_bytes();
    if !path_start(raw) || !raw.iter().all(|b| b.is_ascii_graphic() && *b != b'\\') {
        return false;
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(raw).collect();
    path_start(&decoded) && !decoded.iter().any(|b| b.is_ascii_control() || *b == b'\\')
}

/// A project's members as (username, display name), in the store's order.
pub async fn members_named(
    state: &AppState,
    project: &taskflow_core::project::Project,
) -> Result<Vec<(String, String)>, Refusal> {
    let members = state.store.members(project.id).await?;
    let people = state
        .store
        .users_by_id(&members.iter().map(|m| m.user_id).collect::<Vec<_>>())
        .await?;
    Ok(members
        .iter()
        .map(|m| {
            let name = people
                .iter()
                .find(|u| u.id == m.user_id)
                .map_or_else(|| m.username.to_string(), |u| u.display_name.to_string());
            (m.username.to_string(), name)
        })
        .collect())
}

/// A page as HTML with its status.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; it has been logged",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    page: PageFrame,
    heading: &'a str,
    text: &'a str,
}

/// A page that only says something: an error in words.
pub fn message(status: StatusCode, page: PageFrame, heading: &str, text: &str) -> Response {
    render(
        status,
        &MessagePage {
            page,
            heading,
            text,
        },
    )
}

/// An error the API would answer, as a page in words.
pub fn refusal(page: PageFrame, e: Refusal) -> Response {
    let (heading, text) = match e.kind {
        Kind::NotFound | Kind::MetricsOff | Kind::MethodNotAllowed => (
            "Not found",
            "There is no such page, or you cannot see it.".to_owned(),
        ),
        Kind::Forbidden | Kind::Csrf | Kind::Unauthorized => (
            "Not allowed",
            "Your role in this project does not allow that.".to_owned(),
        ),
        Kind::Invalid | Kind::KeyReused => ("That did not work", problems(&e).join(" ")),
        Kind::BadQuery
        | Kind::BadRequest
        | Kind::MalformedJson
        | Kind::UnsupportedMediaType
        | Kind::RangeNotSatisfiable
        | Kind::Conflict
        | Kind::Archived
        | Kind::KeyUsed => ("That did not work", sentence(&e.message)),
        Kind::Stale => (
            "Someone else changed this meanwhile",
            format!(
                "{} Go back and reload the page to see it as it is now.",
                sentence(&e.message)
            ),
        ),
        Kind::TooLarge => ("That is too large", sentence(&e.message)),
        Kind::Throttled => (
            "Too many attempts",
            format!(
                "Wait {} and try again.",
                match e.retry_after.map_or(60, |d| d.as_secs()) {
                    s if s < 90 => format!("{} seconds", s.max(1)),
                    s => format!("{} minutes", s.div_ceil(60)),
                }
            ),
        ),
        Kind::Unavailable => (
            "Taskflow cannot reach its database",
            "Nothing was changed. Try again in a few seconds.".to_owned(),
        ),
        Kind::Committed => (
            "Saved, but not shown",
            "The change was saved, but the page could not be drawn. Reload it in a moment \
             instead of sending the form again."
                .to_owned(),
        ),
        Kind::Full => (
            "The disk is full",
            "Nothing was changed. An administrator needs to free some space.".to_owned(),
        ),
        Kind::QuotaExceeded => ("The project's storage is full", sentence(&e.message)),
        Kind::Internal => (
            "Something went wrong",
            "The error has been logged. Nothing was changed.".to_owned(),
        ),
    };
    message(e.status(), page, heading, &text)
}

/// A form that sends only its CSRF token (sign out, revoke, delete…): `Posted<OnlyToken>`.
#[derive(serde::Deserialize)]
pub struct OnlyToken {}

/// Why a page's request was refused, on its way to being drawn: handlers answer
/// `Result<Response, Refused>` and use `?` on what `input`, `access` and the store return. The
/// page in words (`refusal`) is drawn by `draw_refusals` around the handler, in the frame of the
/// person who asked (or a signed-out one).
#[derive(Debug)]
pub struct Refused(pub Refusal);

impl<E: Into<Refusal>> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused(e.into())
    }
}

/// A refusal in a response's extensions, not yet drawn.
#[derive(Clone)]
struct Undrawn(Refusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = self.0.status().into_response();
        response.extensions_mut().insert(Undrawn(self.0));
        response
    }
}

/// Where the viewer's frame is left for `draw_refusals`, one per request.
#[derive(Clone, Default)]
struct FrameSlot(std::sync::Arc<std::sync::Mutex<Option<PageFrame>>>);

impl FrameSlot {
    fn fill(&self, frame: PageFrame) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(frame);
    }

    fn take(&self) -> Option<PageFrame> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Draws every `Refused` a page handler answers as the page in words, in the frame of the
/// signed-in viewer when the handler had one.
pub(super) async fn draw_refusals(mut request: Request, next: axum::middleware::Next) -> Response {
    let slot = FrameSlot::default();
    request.extensions_mut().insert(slot.clone());
    let (parts, body) = request.into_parts();
    let signed_out = anonymous(&parts);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    match response.extensions_mut().remove::<Undrawn>() {
        Some(Undrawn(e)) => refusal(slot.take().unwrap_or(signed_out), e),
        None => response,
    }
}

/// A store error as a page: what the API would answer, in words.
pub fn trouble(page: PageFrame, e: StoreError) -> Response {
    refusal(page, e.into())
}
