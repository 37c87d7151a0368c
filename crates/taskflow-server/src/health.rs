//! `/healthz`: the process answers. `/readyz`: it can do its job — the database answers and
//! can start a write, its schema is the one this build expects, the data directory is writable,
//! and attachments can be stored: the volume has more free space than the minimum, or the
//! object store takes a write. The body names each check, so an operator sees which one failed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::state::AppState;
use crate::telemetry::{Check, Readiness};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
}

#[utoipa::path(
    get,
    operation_id = "health_healthz",
    path = "/healthz",
    tag = "operations",
    responses((status = 200, body = Health, description = "the process is alive"))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

fn check(name: &'static str, result: Result<(), String>) -> Check {
    let error = result.err();
    Check {
        name,
        ok: error.is_none(),
        error,
    }
}

/// How long one readiness check may take: the whole answer comes within a second.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

async fn bounded(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CHECK_TIMEOUT:?}")))
}

async fn database(state: &AppState) -> Result<(), String> {
    state.store.ping().await.map_err(|e| e.to_string())
}

/// Whether a write could start now: a wedged writer, a SQLite write lock held elsewhere past
/// the check's time, or a database that refuses writes fails it.
async fn database_writes(state: &AppState) -> Result<(), String> {
    state.store.ping_writes().await.map_err(|e| e.to_string())
}

async fn migrations(state: &AppState) -> Result<(), String> {
    let latest = state.store.latest_schema_version();
    match state.store.schema_version().await {
        Ok(Some(v)) if v == latest => Ok(()),
        Ok(Some(v)) => Err(format!("schema version {v}, this build expects {latest}")),
        Ok(None) => Err("the database has no schema; run `taskflow migrate`".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

async fn data_dir(state: &AppState) -> Result<(), String> {
    let dir = state.data_dir.clone();
    let shown = dir.display().to_string();
    tokio::task::spawn_blocking(move || taskflow_ops::checks::probe_write(&dir))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("data directory {shown} is not writable: {e}"))
}

async fn free_space(state: &AppState) -> Result<(), String> {
    let available = taskflow_blobs::available_bytes(&state.data_dir)
        .map_err(|e| format!("cannot read the free space of the data volume: {e}"))?;
    let minimum = state.storage.min_free_bytes;
    if available < minimum {
        return Err(format!(
            "{available} bytes free on the data volume, below the minimum of {minimum} \
             (TASKFLOW_MIN_FREE_BYTES); uploads are refused until space is freed or the volume grows"
        ));
    }
    Ok(())
}

/// The object store takes a small write and a delete with the configured credentials.
async fn object_store(state: &AppState) -> Result<(), String> {
    state.blobs.probe().await.map_err(|p| p.message)
}

#[utoipa::path(
    get,
    operation_id = "health_readyz",
    path = "/readyz",
    tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness, description = "a check failed"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    // Probes that arrive together share one evaluation, and one is reused for a moment: a
    // burst of probes costs the database and the disk no more than one.
    let mut last = state.readiness.lock().await;
    let readiness = match &*last {
        Some((at, readiness)) if at.elapsed() < READINESS_REUSE => readiness.clone(),
        _ => {
            let readiness = evaluate(&state).await;
            *last = Some((std::time::Instant::now(), readiness.clone()));
            readiness
        }
    };
    drop(last);
    let status = if readiness.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// How long one readiness evaluation answers later probes.
const READINESS_REUSE: std::time::Duration = std::time::Duration::from_millis(500);

async fn evaluate(state: &AppState) -> Readiness {
    // All at once, each bounded, so a database that is down (its connections time out
    // slowly) still gets an answer within a second.
    let on_volume = state.blobs.as_volume().is_some();
    let (database, writes, migrations, data_dir, blobs) = tokio::join!(
        bounded(database(state)),
        bounded(database_writes(state)),
        bounded(migrations(state)),
        bounded(data_dir(state)),
        bounded(async {
            if on_volume {
                free_space(state).await
            } else {
                object_store(state).await
            }
        }),
    );
    let checks = vec![
        check("database", database),
        check("database_writes", writes),
        check("migrations", migrations),
        check("data_dir", data_dir),
        check(
            if on_volume {
                "free_space"
            } else {
                "object_store"
            },
            blobs,
        ),
    ];
    let ready = checks.iter().all(|c| c.ok);
    Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks,
    }
}
