//! `/api/v1`: the JSON API.

mod access;
mod auth;
mod comments;
mod json;
mod members;
mod projects;
mod tasks;
mod trash;
mod users;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::AppState;

pub use auth::{CurrentUser, LoginThrottle};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/session", get(auth::session))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/me/tokens", get(users::tokens).post(users::create_token))
        .route("/me/tokens/{id}", delete(users::revoke_token))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}", patch(users::update))
        .route("/projects", get(projects::list).post(projects::create))
        .route(
            "/projects/{key}",
            get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route("/projects/{key}/members", get(members::list))
        .route(
            "/projects/{key}/members/{username}",
            put(members::put).delete(members::remove),
        )
        .route(
            "/projects/{key}/labels",
            get(members::labels).post(members::create_label),
        )
        .route(
            "/projects/{key}/labels/{id}",
            patch(members::update_label).delete(members::delete_label),
        )
        .route(
            "/projects/{key}/tasks",
            get(tasks::list).post(tasks::create),
        )
        .route("/projects/{key}/activity", get(comments::project_activity))
        .route("/projects/{key}/trash", get(trash::list))
        .route("/projects/{key}/trash/restore", post(trash::restore))
        .route("/projects/{key}/trash/purge", post(trash::purge))
        .route(
            "/tasks/{key}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
        .route("/tasks/{key}/move", post(tasks::move_task))
        .route(
            "/tasks/{key}/comments",
            get(comments::list).post(comments::create),
        )
        .route("/tasks/{key}/activity", get(comments::task_activity))
        .route(
            "/comments/{id}",
            patch(comments::edit).delete(comments::delete),
        )
}
