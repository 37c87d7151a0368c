//! What every query needs from the driver.

use taskflow_core::{StoreError, StoreResult};

use super::d;

/// A driver error as the store reports it: an unreachable or overloaded database and a full
/// disk are told apart from other failures, so callers can answer them honestly.
pub(crate) fn db(err: sqlx::Error) -> StoreError {
    use sqlx::Error::*;
    let unavailable = |e: &sqlx::Error| StoreError::Unavailable(e.to_string());
    match &err {
        PoolTimedOut | PoolClosed | WorkerCrashed => unavailable(&err),
        Io(io) if io.kind() == std::io::ErrorKind::StorageFull => StoreError::Full,
        Io(_) | Tls(_) => unavailable(&err),
        Database(e) => match e.code().as_deref().and_then(d::condition) {
            Some(d::Condition::Full) => StoreError::Full,
            Some(d::Condition::Unavailable) => unavailable(&err),
            None => StoreError::backend(err),
        },
        _ => StoreError::backend(err),
    }
}

/// Commits on a task of its own: once a commit has begun, a caller that goes away (a client
/// hanging up drops the request's future) cannot cut it short and leave the connection out of
/// step with the database.
pub(crate) async fn commit(tx: d::Transaction) -> StoreResult<()> {
    tokio::spawn(tx.commit())
        .await
        .map_err(unfinished)?
        .map_err(db)
}

/// A store task that did not finish: the runtime is shutting down.
pub(crate) fn unfinished(err: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("a database task did not finish: {err}").into())
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
