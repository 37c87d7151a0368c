//! Taskflow's HTTP server. `app` builds the router from the state; `launch` serves it on a
//! listener until a shutdown future resolves, then drains. Nothing here names a database
//! driver: the store is an `Arc<dyn Store>`.

pub mod api;
mod error;
mod health;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use taskflow_blobs::BlobStore;
use taskflow_core::Store;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The data directory, checked for writability by `/readyz`.
    pub data_dir: PathBuf,
    pub metrics: metrics::Metrics,
    pub auth: AuthSettings,
    pub throttle: Arc<api::LoginThrottle>,
    /// Whether the main listener serves `/metrics`; off when metrics have a listener of
    /// their own (`metrics_app`).
    pub metrics_on_main: bool,
    /// Attachment bytes, under the data directory.
    pub blobs: BlobStore,
    pub storage: StorageSettings,
    /// Where backups are written (`TASKFLOW_BACKUP_DIR`): the newest one is reported on
    /// `/metrics`.
    pub backup_dir: Option<PathBuf>,
    /// The last storage report, reused by `/metrics` for a few seconds.
    pub storage_cache: metrics::StorageCache,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, data_dir: PathBuf) -> Self {
        Self {
            store,
            metrics: metrics::Metrics::install(),
            auth: AuthSettings::default(),
            throttle: Arc::new(api::LoginThrottle::default()),
            metrics_on_main: true,
            blobs: BlobStore::new(&data_dir),
            storage: StorageSettings::default(),
            backup_dir: None,
            storage_cache: metrics::StorageCache::default(),
            data_dir,
        }
    }
}

/// Limits on what attachments may use.
#[derive(Clone, Debug)]
pub struct StorageSettings {
    /// The largest attachment accepted (`TASKFLOW_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
    /// Free space the data volume keeps: uploads are refused and `/readyz` fails below it
    /// (`TASKFLOW_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
    /// The most attachment bytes one project may hold, trash included
    /// (`TASKFLOW_PROJECT_QUOTA_BYTES`); none when unset.
    pub project_quota_bytes: Option<u64>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 100 << 20,
            min_free_bytes: 256 << 20,
            project_quota_bytes: None,
        }
    }
}

/// How browser sessions behave.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Mark the session cookie `Secure` (only sent over HTTPS).
    pub cookie_secure: bool,
    /// How long a login lasts.
    pub session_ttl: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

pub fn app(state: AppState) -> Router {
    let (router, _) = routes();
    router
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(metrics::request_span))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
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
    responses((status = 200, description = "this document", content_type = "application/json"))
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
