//! `/api/v1`: the JSON API.

mod access;
mod auth;
mod json;
mod projects;
mod tasks;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub use auth::CurrentUser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(auth::me))
        .route("/projects", get(projects::list).post(projects::create))
        .route("/projects/{key}", get(projects::get))
        .route(
            "/projects/{key}/tasks",
            get(tasks::list).post(tasks::create),
        )
        .route(
            "/tasks/{key}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
}
