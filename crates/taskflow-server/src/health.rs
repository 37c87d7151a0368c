//! `/healthz`: the process answers. `/readyz`: it can do its job — the database answers, its
//! schema is the one this build expects, the data directory is writable and its volume has
//! more free space than the minimum. The body names each check, so an operator sees which one
//! failed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::state::AppState;

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

#[derive(Serialize, utoipa::ToSchema)]
pub struct Check {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    status: &'static str,
    checks: Vec<Check>,
}

fn check(name: &'static str, result: Result<(), String>) -> Check {
    let error = result.err();
    Check {
        name,
        ok: error.is_none(),
        error,
    }
}

async fn database(state: &AppState) -> Result<(), String> {
    state.store.ping().await.map_err(|e| e.to_string())
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

#[utoipa::path(
    get,
    operation_id = "health_readyz",
    path = "/readyz",
    tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness, description = "a check failed"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let checks = vec![
        check("database", database(&state).await),
        check("migrations", migrations(&state).await),
        check("data_dir", data_dir(&state).await),
        check("free_space", free_space(&state).await),
    ];
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            checks,
        }),
    )
}
