//! `/metrics`: Prometheus' text format, with the storage and pool gauges measured when scraped.
//! Requests are counted by `telemetry::track`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use taskflow_ops::storage::StorageReport;

use crate::error::Kind;
use crate::state::AppState;

#[utoipa::path(
    get,
    operation_id = "metrics_render",
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "Prometheus text format"),
        (status = 401, body = crate::error::ErrorBody, description = "no bearer token, or not `TASKFLOW_METRICS_TOKEN`"),
        (status = 404, body = crate::error::ErrorBody, description = "metrics are off on this port: no `TASKFLOW_METRICS_TOKEN` is set, or they are served on their own listener (`TASKFLOW_METRICS_LISTEN`)"),
        (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md")
    ),
    security(("metrics_token" = []))
)]
pub async fn render(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let access = &state.metrics_access;
    let Some(token) = access.token.as_deref() else {
        let words = if access.own_listener {
            "metrics are served on their own listener (TASKFLOW_METRICS_LISTEN), not here"
        } else {
            "metrics are off: set TASKFLOW_METRICS_TOKEN to read them here with a bearer token, \
             or TASKFLOW_METRICS_LISTEN to serve them on an address of their own"
        };
        return crate::error::Refusal::new(Kind::MetricsOff, words).into_response();
    };
    let sent = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::session::same(sent.trim(), token) {
        return crate::error::Refusal::new(
            Kind::Unauthorized,
            "metrics need Authorization: Bearer with TASKFLOW_METRICS_TOKEN",
        )
        .into_response();
    }
    render_always(State(state)).await
}

/// How long a storage report is reused: walking the blob store on every scrape would cost too
/// much with many attachments.
const STORAGE_REFRESH: Duration = Duration::from_secs(10);

/// The storage report, measured at most every [`STORAGE_REFRESH`].
async fn storage_report(state: &AppState) -> Option<Arc<StorageReport>> {
    let mut last = state.storage_cache.lock().await;
    if let Some((at, report)) = last.as_ref()
        && at.elapsed() < STORAGE_REFRESH
    {
        return Some(report.clone());
    }
    let backups = state.backup_dir.as_ref();
    if state.blobs.as_volume().is_none() {
        let up = state.blobs.probe().await.is_ok();
        metrics::gauge!("taskflow_object_store_up").set(if up { 1.0 } else { 0.0 });
    }
    let report =
        taskflow_ops::storage::report(state.store.as_ref(), &state.blobs, &state.data_dir, backups);
    match report.await {
        Ok(report) => {
            let report = Arc::new(report);
            *last = Some((Instant::now(), report.clone()));
            Some(report)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot measure storage for /metrics");
            None
        }
    }
}

fn storage_gauges(state: &AppState, report: &StorageReport) {
    let v = &report.volume;
    metrics::gauge!("taskflow_volume_total_bytes").set(v.total_bytes as f64);
    metrics::gauge!("taskflow_volume_used_bytes").set(v.used_bytes as f64);
    metrics::gauge!("taskflow_volume_available_bytes").set(v.available_bytes as f64);
    metrics::gauge!("taskflow_volume_min_free_bytes").set(state.storage.min_free_bytes as f64);
    metrics::gauge!("taskflow_blobs").set(report.blob_count as f64);
    metrics::gauge!("taskflow_blob_bytes").set(report.blob_bytes as f64);
    metrics::gauge!("taskflow_tmp_bytes").set(report.tmp_bytes as f64);
    metrics::gauge!("taskflow_database_bytes", "backend" => report.backend)
        .set(report.database_bytes as f64);
    // 0 when the backup directory holds no backup yet, so an age alert fires.
    if let Some((_, last)) = &report.backups {
        metrics::gauge!("taskflow_backup_last_success_timestamp_seconds").set(
            last.as_ref()
                .map_or(0.0, |l| l.time.unix_timestamp() as f64),
        );
        metrics::gauge!("taskflow_backup_last_size_bytes")
            .set(last.as_ref().map_or(0.0, |l| l.bytes as f64));
    }
    for project in &report.projects {
        if state.metrics_access.project_keys {
            metrics::gauge!("taskflow_project_attachment_bytes", "project" => project.key.as_str().to_owned())
                .set(project.bytes as f64);
        } else {
            metrics::gauge!("taskflow_project_attachment_bytes", "project_id" => project.project_id.0.to_string())
                .set(project.bytes as f64);
        }
    }
}

pub async fn render_always(State(state): State<AppState>) -> Response {
    if let Some(report) = storage_report(&state).await {
        storage_gauges(&state, &report);
    }
    for stats in state.store.pool_stats() {
        let labels = [("backend", state.store.backend()), ("pool", stats.pool)];
        metrics::gauge!("db_pool_connections_open", &labels).set(stats.open);
        metrics::gauge!("db_pool_connections_idle", &labels).set(stats.idle);
        metrics::gauge!("db_pool_connections_max", &labels).set(stats.max);
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}
