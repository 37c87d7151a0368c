//! Taskflow's HTTP server. `app` builds the router from the state; `launch` serves it on a
//! listener until a shutdown future resolves, then drains. Nothing here names a database
//! driver: the store is an `Arc<dyn Store>`.

mod access;
pub mod api;
mod error;
mod health;
pub mod input;
pub mod metrics;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use state::{AppState, AuthSettings, StorageSettings};

pub fn app(state: AppState) -> Router {
    let (router, _) = routes();
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::map_response(nosniff))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(metrics::request_span))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// Browsers must take every answer for the type it says it is, never guess another.
async fn nosniff(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    response
}

/// Only `/metrics`, for a separate listener (`TASKFLOW_METRICS_LISTEN`).
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::render_always))
        .fallback(error::not_found)
        .with_state(state)
}

/// Every route, with the OpenAPI document describing them.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(api::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::render))
        .routes(routes!(openapi_json))
        .nest("/api/v1", api::router())
        .split_for_parts()
}

/// The OpenAPI document of this server, generated from the handlers.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static SPEC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| routes().1)
}

#[utoipa::path(
    get,
    operation_id = "server_openapi_json",
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "this document", content_type = "application/json", body = Object))
)]
async fn openapi_json() -> axum::Json<&'static utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting and gives
/// in-flight requests up to `drain` to finish.
pub async fn launch(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, draining requests in flight");
        let _ = stopping_tx.send(true);
    });
    let deadline = async move {
        let _ = stopping_rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(timeout = ?drain, "requests still in flight after the shutdown timeout; exiting anyway");
            Ok(())
        }
    }
}
