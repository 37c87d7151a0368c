//! Taskflow's HTTP server. `app` builds the router from the state; `launch` serves it on a
//! listener until a shutdown future resolves, then drains. Nothing here names a database
//! driver: the store is an `Arc<dyn Store>`.

mod access;
pub mod api;
mod connections;
mod error;
mod health;
pub mod input;
mod markdown;
pub mod metrics;
mod passwords;
mod session;
mod state;
mod telemetry;
mod upload;
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

pub use error::{Kind, Refusal};
pub use state::{AppState, AuthSettings, MetricsAccess, StorageSettings};

pub fn app(state: AppState) -> Router {
    let (router, _) = routes();
    let router = router
        .merge(web::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed);
    // Served over HTTPS (the cookies are Secure): browsers are told to come back only that way.
    let router = if state.auth.cookie_secure {
        router.layer(axum::middleware::map_response(hsts))
    } else {
        router
    };
    router
        .layer(axum::middleware::from_fn(idempotency))
        .layer(axum::middleware::from_fn_with_state(
            state.store.clone(),
            one_snapshot,
        ))
        .layer(axum::middleware::map_response(nosniff))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .with_state(state)
}

/// A `GET` or `HEAD` reads from one snapshot of the database where the store can
/// (`StoreAdmin::in_one_snapshot`): its reads agree with each other, and cost less. The
/// snapshot ends with the handler, before a body such as a download is streamed.
async fn one_snapshot(
    axum::extract::State(store): axum::extract::State<std::sync::Arc<dyn taskflow_core::Store>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let mut answer = None;
    let slot = &mut answer;
    store
        .in_one_snapshot(Box::pin(async move {
            *slot = Some(next.run(request).await);
        }))
        .await;
    answer.expect("the request ran to its answer")
}

/// A `POST` with an `Idempotency-Key` runs with the key (`taskflow_core::store::once`): the
/// create it makes is recorded under it with what was asked (method, path, content type and
/// length, and a JSON body itself, digested), and a retry within a day gets what the first made.
async fn idempotency(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{Method, header};
    use axum::response::IntoResponse;
    use sha2::{Digest, Sha256};
    use taskflow_core::store::once::{Once, with_key};

    let Some(value) = request.headers().get("idempotency-key") else {
        return next.run(request).await;
    };
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            key.to_owned()
        }
        _ => {
            return Refusal::new(
                Kind::BadRequest,
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, say)",
            )
            .into_response();
        }
    };
    let [content_type, content_length] =
        [header::CONTENT_TYPE, header::CONTENT_LENGTH].map(|name| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        });
    let mut digest = Sha256::new();
    for part in [
        request.method().as_str(),
        request.uri().path(),
        request.uri().query().unwrap_or(""),
        content_type.as_str(),
        content_length.as_str(),
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    // A JSON body is small (the API's limit) and read whole anyway; a file is not re-read.
    let request = if content_type.starts_with("application/json") {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, api::json::BODY_LIMIT).await else {
            return Refusal::new(
                Kind::TooLarge,
                "the request body is too large or could not be read",
            )
            .into_response();
        };
        digest.update(&bytes);
        axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))
    } else {
        request
    };
    let once = Once {
        key,
        fingerprint: hex::encode(digest.finalize()),
    };
    with_key(once, next.run(request)).await
}

/// `Strict-Transport-Security` for a year, on every answer.
async fn hsts(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    response
}

/// Browsers must take every answer for the type it says it is, never guess another.
async fn nosniff(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    response
}

/// `/metrics` and the health checks, for a separate listener (`TASKFLOW_METRICS_LISTEN`): what
/// a Prometheus scrape and a kubelet probe need, on an address kept off the public network.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::render_always))
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz))
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
    /// Connections one address may hold at once; more from it are answered 503 and closed,
    /// so one client cannot take every connection.
    pub max_per_client: usize,
    /// Addresses the per-client cap does not apply to: reverse proxies, which carry many
    /// clients (`TASKFLOW_TRUSTED_PROXIES`).
    pub shared_clients: Vec<ipnet::IpNet>,
    /// A connection must send a complete request head within this of opening or of its last
    /// answer: it closes slow senders (slowloris) and idle keep-alive connections alike.
    pub header_timeout: Duration,
    /// After `header_timeout`, a request body must have arrived at this many bytes a second on
    /// average, or the request fails and its connection closes; 0 turns the rule off.
    pub body_min_rate: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_per_client: 256,
            shared_clients: Vec::new(),
            header_timeout: Duration::from_secs(20),
            body_min_rate: 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting and gives
/// in-flight requests up to `drain` to finish. Connections are HTTP/1.1 with keep-alive,
/// bounded in number (in all and per address), in how long they may sit without a complete
/// request head, and in how slowly a body may arrive.
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
    let clients = connections::PerClient::new(limits.max_per_client, limits.shared_clients.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let (rate, grace) = (limits.body_min_rate, limits.header_timeout);
    // Past the cap, a few connections more are taken for the health checks alone, so a
    // liveness probe is answered while every other connection is busy.
    let reserve = std::sync::Arc::new(tokio::sync::Semaphore::new(RESERVE));
    let mut probes = hyper::server::conn::http1::Builder::new();
    probes
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout.min(Duration::from_secs(2)))
        .keep_alive(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let mut permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => Ok(permit.expect("the semaphore is never closed")),
            permit = reserve.clone().acquire_owned() => Err(permit.expect("the semaphore is never closed")),
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
        if permit.is_err()
            && let Ok(freed) = permits.clone().try_acquire_owned()
        {
            permit = Ok(freed);
        }
        let Some(slot) = clients.admit(peer.ip()) else {
            tokio::spawn(turn_away(stream, permit));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let permit = match permit {
            Ok(permit) => permit,
            Err(reserved) => {
                let connection = probes.serve_connection(
                    TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(probe_only(app.clone(), peer)),
                );
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                    drop((slot, reserved));
                });
                continue;
            }
        };
        let service = app.clone().map_request(
            move |request: axum::extract::Request<hyper::body::Incoming>| {
                let mut request = if rate > 0 {
                    request.map(|body| {
                        axum::body::Body::new(connections::MinRate::new(body, rate, grace))
                    })
                } else {
                    request.map(axum::body::Body::new)
                };
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
            drop((slot, permit));
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

/// Connections taken past `max_connections`, for `/healthz` and `/readyz` only.
const RESERVE: usize = 16;

/// The service of a connection in the reserve: the health checks, and 503 for anything else.
fn probe_only(
    app: Router,
    peer: std::net::SocketAddr,
) -> impl tower::Service<
    axum::extract::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    use tower::ServiceExt;
    tower::service_fn(
        move |request: axum::extract::Request<hyper::body::Incoming>| {
            let app = app.clone();
            async move {
                let path = request.uri().path();
                if matches!(path, "/healthz" | "/readyz") {
                    let mut request = request.map(axum::body::Body::new);
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    app.oneshot(request).await
                } else {
                    Ok(busy(
                        "the server is at its connection limit; try again in a few seconds",
                    ))
                }
            }
        },
    )
}

/// 503 with `Retry-After`, in the API's error shape.
fn busy(message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    Refusal {
        retry_after: Some(Duration::from_secs(5)),
        ..Refusal::new(Kind::Unavailable, message)
    }
    .into_response()
}

/// A connection from an address that holds its share already: a short 503 and closed, within
/// two seconds whatever the client does. What the client sent meanwhile is read and dropped
/// first, so closing does not reset the connection before the answer is read.
async fn turn_away<P: Send>(mut stream: tokio::net::TcpStream, permit: P) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BODY: &str = r#"{"error":{"code":"unavailable","message":"too many connections from this address; close some and try again"}}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
    drop(permit);
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
