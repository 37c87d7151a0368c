//! The queries both backends share, written once.
//!
//! This directory is compiled twice: as `sqlite::sql` and as `postgres::sql`. Its code names
//! the backend only through `Store` (the backend's store type) and `d`, the backend's
//! `dialect` module, which says what differs: the driver, how a time is stored, how a list of
//! ids is bound, row locks, how a write transaction and a read snapshot start. Work that is
//! tuned per backend (task listing and search) is in the backend's `listing` module.
//!
//! Placeholders are `$1`-style, which both drivers bind; casts are written `CAST(x AS T)`,
//! which both dialects parse.

mod activity;
mod admin;
mod attachments;
mod backup;
mod comments;
mod labels;
mod projects;
mod rows;
mod tasks;
mod trash;
mod users;
mod warm;

use taskflow_core::{StoreError, StoreResult};

use super::dialect as d;
use super::{MIGRATOR, Store, listing};

// What the SQLite backend's direct reads (`sqlite::direct`) share with the pooled ones.
#[allow(unused_imports)]
pub(crate) use d::Time;
#[allow(unused_imports)]
pub(crate) use projects::PROJECT_WITH_ROLE;
pub(crate) use rows::TaskRow;
#[allow(unused_imports)]
pub(crate) use rows::task_columns;
#[allow(unused_imports)]
pub(crate) use rows::{
    LinkedTaskRow, ProjectRoleRow, ProjectRow, SessionUserRow, TASK_COLUMN_COUNT, TaskRoleRow,
    TokenUserRow, UserRow,
};
#[allow(unused_imports)]
pub(crate) use tasks::Sink;
#[allow(unused_imports)]
pub(crate) use tasks::{LINKS, NAMES, NameRow, TASK_BY_KEY, TASK_WITH_ROLE};
#[allow(unused_imports)]
pub(crate) use tasks::{Link, links};
pub(crate) use tasks::{PROJECT_LIVE, push_filtered};
#[allow(unused_imports)]
pub(crate) use users::{SESSION_USER, TOKEN_USER};
pub(crate) use warm::{ReadConn, Warm};

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
