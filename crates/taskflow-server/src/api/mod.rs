//! `/api/v1`: the JSON API.

mod activity;
pub(crate) mod attachments;
pub(crate) mod auth;
mod comments;
pub(crate) mod json;
mod labels;
mod members;
mod projects;
mod statuses;
mod tasks;
mod trash;
mod users;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use crate::session::LoginThrottle;
pub use auth::CurrentUser;

/// The document's frame; the paths come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Taskflow API",
        description = "A self-hosted task tracker that never loses its data. Errors are always \
            `{\"error\": {\"code\", \"message\", \"details\"}}`."
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("TASKFLOW_METRICS_TOKEN, for /metrics only"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::session::SESSION_COOKIE,
                "set by POST /api/v1/auth/login; unsafe requests also need X-CSRF-Token",
            ))),
        );
    }
}

/// Every route of `/api/v1`. Routes are only ever added through `routes!`, so each one is in
/// the OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::session))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(users::tokens, users::create_token))
        .routes(routes!(users::revoke_token))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::update))
        .routes(routes!(users::user_tokens, users::create_user_token))
        .routes(routes!(users::revoke_user_token))
        .routes(routes!(trash::list_all))
        .routes(routes!(trash::restore_any))
        .routes(routes!(trash::purge_any))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::update, projects::delete))
        .routes(routes!(members::list))
        .routes(routes!(members::put, members::remove))
        .routes(routes!(labels::list, labels::create))
        .routes(routes!(labels::update, labels::delete))
        .routes(routes!(statuses::list, statuses::create))
        .routes(routes!(statuses::update, statuses::delete))
        .routes(routes!(tasks::list, tasks::create))
        .routes(routes!(activity::project))
        .routes(routes!(trash::list))
        .routes(routes!(trash::restore))
        .routes(routes!(trash::purge))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(tasks::move_task))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(activity::task))
        .routes(routes!(comments::edit, comments::delete))
        .routes(routes!(attachments::get, attachments::delete))
        .routes(routes!(attachments::content))
        .merge(
            // Uploads are streamed against their own limit, TASKFLOW_MAX_UPLOAD_BYTES.
            OpenApiRouter::new()
                .routes(routes!(attachments::list, attachments::upload))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// Builds the answer to a write that has committed. Whatever goes wrong now, the write stands:
/// a failure is answered `committed` (503), never as a failure that changed nothing.
pub(crate) async fn after_commit<T>(
    answer: impl std::future::Future<Output = Result<T, crate::error::Refusal>>,
) -> Result<T, crate::error::Refusal> {
    taskflow_core::failpoint::failpoint("write-committed").await;
    answer.await.map_err(|e| {
        tracing::warn!(status = %e.status(), error = %e.message,
            "a write committed, but its answer could not be built");
        crate::error::Refusal::committed()
    })
}
