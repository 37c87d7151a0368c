//! What the server knows about itself, below every surface that reports it: the metrics
//! recorder and the middleware that counts and times requests (by *matched route*, such as
//! `/api/v1/tasks/{id}`, never by raw path, so the number of series stays bounded), the
//! readiness answer's shape, and the short-lived caches `/readyz` and `/metrics` reuse.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

/// The last answer of something costly, and when it was made.
pub type Recent<T> = Arc<tokio::sync::Mutex<Option<(Instant, T)>>>;

/// The process-wide recorder's handle. Installing is idempotent, so tests that build many
/// apps in one process share one recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    pub fn install() -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE
            .get_or_init(|| {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            "http_request_duration_seconds".to_owned(),
                        ),
                        &[
                            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                        ],
                    )
                    .expect("valid buckets")
                    .install_recorder()
                    .expect("the metrics recorder is installed once")
            })
            .clone();
        Self { handle }
    }

    /// Every series, in Prometheus' text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

pub fn request_span(request: &Request) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), route = %route_of(request))
}

pub async fn track(request: Request, next: Next) -> Response {
    let route = route_of(&request);
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

// What `/readyz` answers: each check by name.
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: Vec<Check>,
}
