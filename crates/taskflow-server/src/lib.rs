//! Taskflow's HTTP server. `app` builds the router from the state; `launch` serves it on a
//! listener until a shutdown future resolves, then drains. Nothing here names a database
//! driver: the store is an `Arc<dyn Store>`.

mod access;
pub mod api;
mod error;
mod health;
pub mod input;
pub mod metrics;
mod passwords;
mod state;
pub mod views;
pub mod web;

use std::future::Future;
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
        .merge(web::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn(one_snapshot))
        .layer(axum::middleware::map_response(nosniff))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(metrics::request_span))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// A `GET` or `HEAD` reads from one snapshot of the database where the store can
/// (`taskflow_core::store::snapshot`): its reads agree with each other, and cost less. The
/// snapshot ends with the handler, before a body such as a download is streamed.
async fn one_snapshot(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        taskflow_core::store::snapshot::in_one_snapshot(next.run(request)).await
    } else {
        next.run(request).await
    }
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

/// How the server treats connections.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Connections served at once; past it, new ones wait in the listen queue.
    pub max_connections: usize,
    /// A connection must send a complete request head within this of opening or of its last
    /// answer: it closes slow senders (slowloris) and idle keep-alive connections alike.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(20),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting and gives
/// in-flight requests up to `drain` to finish. Connections are HTTP/1.1 with keep-alive,
/// bounded in number and in how long they may sit without a complete request head.
pub async fn launch(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, draining requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!(timeout = ?drain, "requests still in flight after the shutdown timeout; exiting anyway");
        }
    }
    Ok(())
}

/// A failed accept: a connection that went away before it was accepted is nothing; running
/// out of file descriptors or memory is waited out rather than spun on.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
