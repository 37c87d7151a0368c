//! What SQLite does its own way, named for the shared queries in `sql/`.

use taskflow_core::backup::TableSpec;
use taskflow_core::store::RequestFuture;
use taskflow_core::{StoreResult, Timestamp};

use super::SqliteStore;
use super::sql::{db, unfinished};

pub(crate) const BACKEND: &str = "sqlite";
/// One machine: lock files serve.
pub(crate) const SHARES_LOCKS: bool = false;

pub(crate) const MIGRATIONS_TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";

pub(crate) type Db = sqlx::Sqlite;
pub(crate) type Conn = sqlx::SqliteConnection;
pub(crate) type Transaction = sqlx::Transaction<'static, Db>;

/// Times are stored as microseconds since the Unix epoch.
pub(crate) type Time = i64;

pub(crate) fn time(at: Timestamp) -> Time {
    at.unix_micros()
}

pub(crate) fn timestamp(at: Time) -> Timestamp {
    Timestamp::from_unix_micros(at)
}

/// A list of ids is bound as one JSON array...
pub(crate) fn ids(ids: impl IntoIterator<Item = i64>) -> String {
    use std::fmt::Write;
    let mut json = String::from("[");
    for (n, id) in ids.into_iter().enumerate() {
        let comma = if n == 0 { "" } else { "," };
        write!(json, "{comma}{id}").expect("writing to a string");
    }
    json.push(']');
    json
}

/// ...and read back as rows of one column `id` from placeholder `$n`.
pub(crate) fn id_rows(n: u8) -> String {
    format!("SELECT value AS id FROM json_each(${n})")
}

/// The ids a subquery `select` of one column `id` returns, as one value of a row: a
/// comma-separated text, empty when there are none, in no order (an `ORDER BY` in the
/// aggregate would build a temporary index on every run)...
pub(crate) fn id_list(select: &str) -> String {
    format!("(SELECT coalesce(group_concat(l.id, ','), '') FROM ({select}) l)")
}

/// ...which reads back as this...
pub(crate) type IdList = String;

/// ...holding these ids, ascending.
pub(crate) fn id_list_ids(list: IdList) -> Result<Vec<i64>, String> {
    let mut ids = list
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().map_err(|_| format!("{id:?} in a list of ids")))
        .collect::<Result<Vec<i64>, String>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// A list of names is bound as one JSON array...
pub(crate) fn names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::to_string(&names.into_iter().collect::<Vec<_>>()).expect("strings serialise")
}

/// ...and read back as rows of one column `name` from placeholder `$n`.
pub(crate) fn name_rows(n: u8) -> String {
    format!("SELECT value AS name FROM json_each(${n})")
}

/// What a database error's code says about the database itself.
pub(crate) enum Condition {
    Full,
    Unavailable,
}

/// SQLite result codes (primary, or extended: the primary code is the low byte).
pub(crate) fn condition(code: &str) -> Option<Condition> {
    match code.parse::<i64>().ok()? & 0xff {
        13 => Some(Condition::Full),           // SQLITE_FULL
        5 | 6 => Some(Condition::Unavailable), // SQLITE_BUSY, SQLITE_LOCKED: busy past the timeout
        _ => None,
    }
}

/// Row locks: none. Every write transaction holds the database's one write lock from its first
/// statement (`BEGIN IMMEDIATE`), so whatever it reads cannot change underneath.
pub(crate) fn for_update(_of: &str) -> &'static str {
    ""
}

pub(crate) fn for_share(_of: &str) -> &'static str {
    ""
}

/// The pool whose reads go through `Warm`.
pub(crate) const WARM_POOL: &str = "reader";

impl SqliteStore {
    /// A connection for a few reads; `finish` it when they went well.
    pub(crate) async fn read(&self) -> StoreResult<super::sql::ReadConn<'_>> {
        self.warm.conn(&self.reader).await
    }

    /// The read-only pool.
    pub fn reader(&self) -> &sqlx::SqlitePool {
        &self.reader
    }

    /// The single writer connection's pool, for single-statement writes. Like `write`, it ends
    /// the running request's read snapshot (`direct::end_snapshot`), so that
    /// its later reads see its writes.
    pub fn writer(&self) -> &sqlx::SqlitePool {
        super::direct::end_snapshot();
        &self.writer
    }

    /// Where migrations run: the writer.
    pub(crate) fn migrator_pool(&self) -> &sqlx::SqlitePool {
        self.writer()
    }

    /// A write transaction holding the database's write lock from its first statement, so
    /// writers queue instead of failing with "database is locked". It is begun on a task of
    /// its own: a caller that goes away while it begins (a client hanging up drops the
    /// request's future) cannot leave the one writer connection inside a transaction nothing
    /// owns; the finished transaction is dropped instead, which rolls it back. It ends the
    /// running request's read snapshot first (`direct::end_snapshot`).
    pub(crate) async fn write(&self) -> StoreResult<Transaction> {
        super::direct::end_snapshot();
        let writer = self.writer.clone();
        tokio::spawn(async move { begin_immediate(&writer).await })
            .await
            .map_err(unfinished)?
    }

    /// A read transaction: every read in it sees the snapshot its first read sees.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction> {
        let reader = self.reader.clone();
        tokio::spawn(async move { reader.begin().await })
            .await
            .map_err(unfinished)?
            .map_err(db)
    }
}

async fn begin_immediate(writer: &sqlx::SqlitePool) -> StoreResult<Transaction> {
    match writer.begin_with("BEGIN IMMEDIATE").await {
        Err(e) if e.to_string().contains("non-zero transaction depth") => {
            // The driver lost count of a transaction (its rollback failed after a COMMIT that
            // SQLite had already undone, as on a full disk). Replace the connection: SQLite
            // rolls back whatever it held as it closes.
            tracing::warn!("the writer connection was left inside a transaction; replacing it");
            writer
                .acquire()
                .await
                .map_err(db)?
                .close()
                .await
                .map_err(db)?;
            writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)
        }
        begun => begun.map_err(db),
    }
}

/// After a restore: nothing to do, explicit ids move SQLite's `AUTOINCREMENT` counters.
/// Before a restore's rows: nothing. SQLite's triggers count the statuses' tasks a row at a
/// time as cheaply as at the end.
pub(crate) async fn before_import(_conn: &mut Conn) -> StoreResult<()> {
    Ok(())
}

pub(crate) async fn after_import(
    _conn: &mut Conn,
    _tables: impl Iterator<Item = &'static TableSpec>,
) -> StoreResult<()> {
    Ok(())
}

/// A `GET`'s direct reads in one read transaction (`direct::in_one_snapshot`).
pub(crate) fn in_one_snapshot(request: RequestFuture<'_>) -> RequestFuture<'_> {
    Box::pin(super::direct::in_one_snapshot(request))
}

pub(crate) fn end_snapshot() {
    super::direct::end_snapshot();
}
