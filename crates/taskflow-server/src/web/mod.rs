//! The web UI: pages rendered on the server (askama), every form working without JavaScript
//! (POST → 303 → GET), a strict Content-Security-Policy on every page, and the API's sessions,
//! throttle and CSRF token. See `shared/UI.md` for the brief this follows.

mod account;
mod admin;
pub mod assets;
mod board;
mod login_form;
mod pages;
mod project;
mod task;
mod trash;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use taskflow_core::StoreError;
use taskflow_core::user::{Session, User};

use crate::session::{cookie_value, same, session_cookie};
use crate::state::AppState;

/// Every page's policy: nothing inline, nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route(
            "/projects",
            get(pages::projects).post(pages::create_project),
        )
        .route("/theme", post(pages::theme))
        .route("/p/{key}", get(board::board))
        .route("/p/{key}/move", post(board::move_card))
        .route("/p/{key}/tasks", post(board::quick_add))
        .route("/p/{key}/cards", get(board::cards))
        .route("/p/{key}/card/{task}", get(board::card))
        .route("/p/{key}/list", get(pages::list))
        .route("/t/{key}", get(task::task_page))
        .route("/t/{key}/edit", get(task::edit_form).post(task::save))
        .route("/t/{key}/subtasks", post(task::add_subtask))
        .route("/t/{key}/comments", post(task::add_comment))
        .route(
            "/t/{key}/comments/{id}/edit",
            get(task::comment_form).post(task::edit_comment),
        )
        .route("/t/{key}/comments/{id}/delete", post(task::delete_comment))
        .route(
            "/t/{key}/attachments/{id}/delete",
            post(task::delete_attachment),
        )
        .route("/t/{key}/delete", post(task::delete_task))
        .route(
            "/t/{key}/attachments",
            post(task::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/my", get(pages::my_tasks))
        .route("/shortcuts", get(pages::shortcuts))
        .route("/p/{key}/trash", get(trash::project_trash))
        .route(
            "/p/{key}/members",
            get(project::members).post(project::change_member),
        )
        .route(
            "/p/{key}/labels",
            get(project::labels).post(project::change_label),
        )
        .route("/p/{key}/labels.css", get(project::label_styles))
        .route(
            "/p/{key}/settings",
            get(project::settings).post(project::save_settings),
        )
        .route("/p/{key}/activity", get(project::activity))
        .route("/trash", get(trash::all_trash))
        .route(
            "/account",
            get(account::account).post(account::save_account),
        )
        .route(
            "/settings/tokens",
            get(account::tokens).post(account::create_token),
        )
        .route("/settings/tokens/{id}/revoke", post(account::revoke_token))
        .route("/admin/users", get(admin::users).post(admin::change_user))
        .route("/admin/tokens", get(admin::tokens))
        .route(
            "/admin/tokens/{username}/{id}/revoke",
            post(admin::revoke_token),
        )
        .route("/admin/storage", get(admin::storage))
        .route("/trash/restore", post(trash::restore))
        .route("/trash/purge", get(trash::confirm_purge).post(trash::purge))
        .route("/assets/{version}/{name}", get(assets::asset))
        .layer(axum::middleware::map_response(page_headers))
        // Pages and assets are text that shrinks to a fifth; browsers all take gzip.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// What the layout of every page needs.
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
}

/// A signed-in person looking at a page. Without a valid session a page answers 303 to the
/// sign-in page, which comes back here afterwards.
pub struct Viewer {
    pub user: User,
    pub session: Session,
    theme: Option<&'static str>,
    path: String,
}

impl Viewer {
    pub fn frame(&self, here: &'static str) -> PageFrame {
        PageFrame {
            user: Some(self.user.display_name.as_str().to_owned()),
            csrf: self.session.csrf_token.clone(),
            theme: self.theme,
            assets: assets::urls(),
            path: self.path.clone(),
            here,
            admin: self.user.is_admin,
        }
    }

    /// A form's `csrf` field must be this session's token; otherwise the post is refused with
    /// this page.
    pub fn csrf_refusal(&self, sent: &str) -> Option<Response> {
        if same(sent, &self.session.csrf_token) {
            return None;
        }
        Some(message(
            StatusCode::FORBIDDEN,
            self.frame(""),
            "This form has expired",
            "The page was open too long or came from elsewhere. Go back, reload it and try again.",
        ))
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
            Ok((user, session)) => Ok(Viewer {
                user,
                session,
                theme,
                path,
            }),
            Err(StoreError::NotFound { .. }) => Err(signed_out()),
            Err(e) => Err(trouble(anonymous(parts), e)),
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
fn anonymous(parts: &Parts) -> PageFrame {
    PageFrame {
        user: None,
        csrf: String::new(),
        theme: theme(parts),
        assets: assets::urls(),
        path: path_of(parts),
        here: "",
        admin: false,
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
pub fn refusal(page: PageFrame, e: crate::error::ApiError) -> Response {
    let (heading, text) = match e.status {
        StatusCode::NOT_FOUND => (
            "Not found",
            "There is no such page, or you cannot see it.".to_owned(),
        ),
        StatusCode::FORBIDDEN => (
            "Not allowed",
            "Your role in this project does not allow that.".to_owned(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("That did not work", problems(&e).join(" ")),
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
            ("That did not work", sentence(&e.message))
        }
        StatusCode::PRECONDITION_FAILED => (
            "Someone else changed this meanwhile",
            format!(
                "{} Go back and reload the page to see it as it is now.",
                sentence(&e.message)
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("That is too large", sentence(&e.message)),
        StatusCode::TOO_MANY_REQUESTS => (
            "Too many attempts",
            format!(
                "Wait {} and try again.",
                match e.retry_after.map_or(60, |d| d.as_secs()) {
                    s if s < 90 => format!("{} seconds", s.max(1)),
                    s => format!("{} minutes", s.div_ceil(60)),
                }
            ),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "Taskflow cannot reach its database",
            "Nothing was changed. Try again in a few seconds.".to_owned(),
        ),
        StatusCode::INSUFFICIENT_STORAGE => (
            "The disk is full",
            "Nothing was changed. An administrator needs to free some space.".to_owned(),
        ),
        _ => (
            "Something went wrong",
            "The error has been logged. Nothing was changed.".to_owned(),
        ),
    };
    message(e.status, page, heading, &text)
}

/// A message as a sentence: a capital first letter and a full stop.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Why a request was refused, one sentence per field when the API names fields.
pub fn problems(e: &crate::error::ApiError) -> Vec<String> {
    let fields = e
        .details
        .as_ref()
        .and_then(|d| d.get("fields"))
        .and_then(|f| f.as_array());
    match fields {
        Some(fields) if !fields.is_empty() => fields
            .iter()
            .filter_map(|f| f.get("message").and_then(|m| m.as_str()))
            .map(sentence)
            .collect(),
        _ => vec![sentence(&e.message)],
    }
}

/// A change refused because the project is archived (read-only until unarchived).
pub fn archived() -> crate::error::ApiError {
    crate::error::ApiError::new(
        StatusCode::CONFLICT,
        "archived",
        "this project is archived, so it is read-only",
    )
}

/// A form that sends only its CSRF token (sign out, revoke, delete…).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A store error as a page: what the API would answer, in words.
pub fn trouble(page: PageFrame, e: StoreError) -> Response {
    refusal(page, e.into())
}

/// A task's status as a person reads it.
pub fn status_words(status: taskflow_core::task::Status) -> &'static str {
    match status {
        taskflow_core::task::Status::Todo => "to do",
        taskflow_core::task::Status::InProgress => "in progress",
        taskflow_core::task::Status::Done => "done",
    }
}
