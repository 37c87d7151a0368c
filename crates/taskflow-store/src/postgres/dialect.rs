//! What PostgreSQL does its own way, named for the shared queries in `sql/`.

use taskflow_core::backup::TableSpec;
use taskflow_core::store::RequestFuture;
use taskflow_core::{StoreResult, Timestamp};
use time::OffsetDateTime;

use super::PgStore;
use super::sql::{db, unfinished};

pub(crate) const BACKEND: &str = "postgres";
/// Advisory locks reach every server on the database.
pub(crate) const SHARES_LOCKS: bool = true;

pub(crate) const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

pub(crate) type Db = sqlx::Postgres;
pub(crate) type Conn = sqlx::PgConnection;
pub(crate) type Transaction = sqlx::Transaction<'static, Db>;

/// Times are `timestamptz`.
pub(crate) type Time = OffsetDateTime;

pub(crate) fn time(at: Timestamp) -> Time {
    at.datetime()
}

pub(crate) fn timestamp(at: Time) -> Timestamp {
    Timestamp::from_datetime(at)
}

/// A list of ids is bound as one `bigint[]`...
pub(crate) fn ids(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    ids.into_iter().collect()
}

/// ...and read back as rows of one column `id` from placeholder `$n`.
pub(crate) fn id_rows(n: u8) -> String {
    format!("SELECT unnest(${n}::bigint[]) AS id")
}

/// The ids a subquery `select` of one column `id` returns, ascending, as one value of a row...
pub(crate) fn id_list(select: &str) -> String {
    format!("ARRAY(SELECT l.id FROM ({select}) l ORDER BY l.id)")
}

/// ...which reads back as this...
pub(crate) type IdList = Vec<i64>;

/// ...holding these ids.
pub(crate) fn id_list_ids(list: IdList) -> Result<Vec<i64>, String> {
    Ok(list)
}

/// A list of names is bound as one `text[]`...
pub(crate) fn names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    names.into_iter().map(str::to_owned).collect()
}

/// ...and read back as rows of one column `name` from placeholder `$n`.
pub(crate) fn name_rows(n: u8) -> String {
    format!("SELECT unnest(${n}::text[]) AS name")
}

/// What a database error's code says about the database itself.
pub(crate) enum Condition {
    Full,
    Unavailable,
}

/// PostgreSQL SQLSTATEs.
pub(crate) fn condition(code: &str) -> Option<Condition> {
    match code {
        "53100" => Some(Condition::Full), // disk_full
        // connection exceptions, too many connections, shutting down, starting up
        c if c.starts_with("08") => Some(Condition::Unavailable),
        "53300" | "57P01" | "57P02" | "57P03" => Some(Condition::Unavailable),
        // lock_not_available (lock_timeout), query_canceled (statement_timeout): the database
        // is busy with something else; nothing was written.
        "55P03" | "57014" => Some(Condition::Unavailable),
        _ => None,
    }
}

/// Locks the rows a query reads (of the table aliased `of`, or all) until the transaction
/// ends: concurrent writers that depend on the same rows queue.
pub(crate) fn for_update(of: &str) -> String {
    lock("UPDATE", of)
}

/// Like `for_update`, but other readers that only need the rows to stay may share the lock.
pub(crate) fn for_share(of: &str) -> String {
    lock("SHARE", of)
}

fn lock(strength: &str, of: &str) -> String {
    if of.is_empty() {
        format!(" FOR {strength}")
    } else {
        format!(" FOR {strength} OF {of}")
    }
}

/// The pool whose reads go through `Warm`.
pub(crate) const WARM_POOL: &str = "main";

impl PgStore {
    /// A connection for a few reads; `finish` it when they went well.
    pub(crate) async fn read(&self) -> StoreResult<super::sql::ReadConn<'_>> {
        self.warm.conn(&self.pool).await
    }

    pub(crate) fn reader(&self) -> &sqlx::PgPool {
        &self.pool
    }

    pub(crate) fn writer(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// Where migrations run: the lock pool, whose connections have none of the time limits a
    /// server's request work has (`PgStore::connect_serving`).
    pub(crate) fn migrator_pool(&self) -> &sqlx::PgPool {
        &self.locks
    }

    /// A write transaction on a pooled connection; rows it depends on are locked as it reads
    /// them. It is begun on a task of its own: a caller that goes away while it begins cannot
    /// leave the connection's transaction state out of step with the driver's.
    pub(crate) async fn write(&self) -> StoreResult<Transaction> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin().await })
            .await
            .map_err(unfinished)?
            .map_err(db)
    }

    /// A read-only repeatable-read transaction: every read in it sees one snapshot.
    pub(crate) async fn snapshot(&self) -> StoreResult<Transaction> {
        let mut tx = self.write().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(tx)
    }
}

/// After a restore: later inserts must not collide with restored ids.
/// Before a restore's rows: the statuses' task counts are counted once at the end (see
/// `tasks_count` in the migration that made them), not a row at a time.
pub(crate) async fn before_import(conn: &mut Conn) -> StoreResult<()> {
    sqlx::query("SET LOCAL taskflow.recount = 'later'")
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn after_import(
    conn: &mut Conn,
    tables: impl Iterator<Item = &'static TableSpec>,
) -> StoreResult<()> {
    for table in tables.filter(|t| t.has_id()) {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('\"{0}\"', 'id'), coalesce(max(id), 0) + 1, false) FROM \"{0}\"",
            table.name
        ))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Each read is a round trip to the server whichever way it is sent: a request's reads run as
/// they are, each in its own statement's snapshot.
pub(crate) fn in_one_snapshot(request: RequestFuture<'_>) -> RequestFuture<'_> {
    request
}

pub(crate) fn end_snapshot() {}
