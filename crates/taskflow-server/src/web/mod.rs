//! The web UI: pages rendered on the server (askama), every form working without JavaScript
//! (POST → 303 → GET), a strict Content-Security-Policy on every page, and the API's sessions,
//! throttle and CSRF token. See `shared/UI.md` for the brief this follows.

// Pages, one module each; none imports another.
mod account;
mod admin;
mod board;
mod card;
mod edit;
mod list;
mod my;
mod project;
mod projects;
mod signin;
mod task;
mod trash;
mod workflow;

// What pages are made with.
pub mod assets;
mod kit;
mod login_form;
mod quick;
mod words;

pub use kit::{CSP, Posted, Refused, is_local};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

use crate::error::Kind;
use crate::state::AppState;
use kit::redirect;
use quick::QuickAddForm;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(signin::home))
        .route("/login", get(signin::login_page).post(signin::login))
        .route("/logout", post(signin::logout))
        .route(
            "/projects",
            get(projects::projects).post(projects::create_project),
        )
        .route("/theme", post(signin::theme))
        .route("/p/{key}", get(board::board))
        .route("/p/{key}/move", get(to_board).post(board::move_card))
        .route("/p/{key}/tasks", get(to_board).post(quick_add))
        .route("/p/{key}/cards", get(board::cards))
        .route("/p/{key}/names", get(quick::names))
        .route("/p/{key}/card/{task}", get(board::card))
        .route("/p/{key}/list", get(list::list))
        .route("/t/{key}", get(task::task_page))
        .route("/t/{key}/edit", get(task::edit_form).post(task::save))
        .route("/t/{key}/menu/{field}", get(edit::menu))
        .route("/t/{key}/set", get(to_task).post(edit::set))
        .route("/t/{key}/subtasks", get(to_task).post(task::add_subtask))
        .route("/t/{key}/comments", get(to_task).post(task::add_comment))
        .route(
            "/t/{key}/comments/{id}/edit",
            get(task::comment_form).post(task::edit_comment),
        )
        .route("/t/{key}/comments/{id}/delete", post(task::delete_comment))
        .route(
            "/t/{key}/attachments/{id}/delete",
            post(task::delete_attachment),
        )
        .route("/t/{key}/delete", get(to_task).post(task::delete_task))
        .route("/t/{key}/check", get(to_task).post(task::check))
        .route(
            "/t/{key}/attachments",
            get(to_task)
                .post(task::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/my", get(my::my_tasks))
        .route("/shortcuts", get(my::shortcuts))
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
            "/p/{key}/workflow",
            get(workflow::workflow).post(workflow::change),
        )
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
        .layer(axum::middleware::from_fn(kit::draw_refusals))
        .layer(axum::middleware::map_response(kit::page_headers))
        // Pages and assets are text that shrinks to a fifth; browsers all take gzip.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

/// `POST /p/{key}/tasks`: quick add from the board or the list. A line that cannot be used
/// comes back in its field with the reasons under it, on the page it came from (the one route
/// that answers with either of two pages, so it is made here, above both).
/// A form's address opened as a page (reloaded, bookmarked, typed): the page the form is on,
/// never the API's refusal of a method.
async fn to_board(Path(key): Path<String>) -> Response {
    redirect(&format!("/p/{}", key.to_uppercase()))
}

/// As `to_board`, for a task's forms.
async fn to_task(Path(key): Path<String>) -> Response {
    redirect(&format!("/t/{}", key.to_uppercase()))
}

async fn quick_add(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: axum::http::HeaderMap,
    Posted { viewer, form }: Posted<QuickAddForm>,
) -> Result<Response, Refused> {
    let to_list = form.back == "list";
    let added = quick::add(&state, &viewer.user, &key, &form, viewer.today()).await;
    // From the page's script: the new card (or row) to put in place, or the field again.
    if kit::from_script(&headers) {
        return quick::added_in_place(&state, &viewer, &key, form, added).await;
    }
    match added {
        Ok((task, _)) if to_list => Ok(redirect(&format!(
            "/p/{}/list#task-{}",
            task.project_key,
            task.key()
        ))),
        Ok((task, _)) => Ok(redirect(&format!(
            "/p/{}#card-{}",
            task.project_key,
            task.key()
        ))),
        // A line too long to read is too long for an address: the page says so here, and the
        // field comes back empty.
        Err(e) if e.kind == Kind::Invalid && quick::too_long(&form.line) => {
            let quick = quick::QuickForm::unreadable(&e);
            let status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            if to_list {
                list::list_page(
                    &state,
                    &viewer,
                    &key,
                    Default::default(),
                    None,
                    status,
                    quick,
                )
                .await
            } else {
                board::board_page(&state, &viewer, &key, status, None, quick).await
            }
        }
        // Back to the page with the line in its address: a reload or a bookmark opens the
        // page (not this form's address), and the page says again what is wrong with it.
        Err(e) if e.kind == Kind::Invalid => {
            let page = if to_list {
                format!("/p/{}/list", key.to_uppercase())
            } else {
                format!("/p/{}", key.to_uppercase())
            };
            Ok(redirect(&quick::again_at(&page, "quick", &form.line)))
        }
        Err(e) => Err(e.into()),
    }
}
