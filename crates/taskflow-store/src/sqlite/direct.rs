//! The reads on every request's path, run on the caller's thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is sent to that
//! thread and every row sent back, two thread wake-ups or more per statement. For the short
//! index lookups each request makes (its token or session, the project and the caller's role,
//! a task, the names an answer refers to) those wake-ups cost ten times the SQL, so these
//! reads use connections of their own, driven where the request runs: a lookup of a few rows
//! takes microseconds, less than a wake-up. They are read-only connections to the same file,
//! opened with the same settings as the read pool, and like it see every committed write.
//!
//! A page of tasks (`listing`) is read the same way when it is unfiltered; a filtered page or a
//! search, which can read much more, runs on a blocking thread (`read_blocking`).
//!
//! Connections are opened on first use and kept for the next read, at most `KEEP` of them;
//! one whose read failed is closed rather than kept. Statements are prepared once per
//! connection and cached with it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, named_params};
use taskflow_core::{StoreError, StoreResult};

use super::SqliteStore;
use super::sql::projects::PROJECT_WITH_ROLE;
use super::sql::rows::{
    LinkedTaskRow, ProjectRoleRow, ProjectRow, SessionUserRow, TASK_COLUMN_COUNT, TaskRoleRow,
    TaskRow, TokenUserRow, UserRow, task_columns,
};
use super::sql::tasks::{LINKS, Link, NAMES, NameRow, TASK_BY_KEY, TASK_WITH_ROLE};
use super::sql::users::{SESSION_USER, TOKEN_USER};

/// Idle connections kept for later reads; reads at once beyond it open and close their own.
const KEEP: usize = 8;

/// Reads at once on blocking threads. They are CPU-bound: more than a few at once on a small
/// machine only take turns, each on a thread (and an allocator arena) of its own.
const BLOCKING: usize = 4;

pub(crate) struct Direct {
    path: PathBuf,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    blocking: tokio::sync::Semaphore,
}

impl Direct {
    pub(crate) fn new(path: PathBuf, timeout: Duration) -> Self {
        Self {
            path,
            timeout,
            idle: Mutex::new(Vec::new()),
            blocking: tokio::sync::Semaphore::new(BLOCKING),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.timeout)?;
        conn.set_prepared_statement_cache_capacity(32);
        conn.execute_batch(super::READ_CONNECTION_SETUP)?;
        Ok(conn)
    }

    /// An idle connection, or a new one.
    fn connection(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().expect("not poisoned").pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.open().map_err(error),
        }
    }

    /// Keeps a connection for later reads, unless `KEEP` are idle already. One that a read
    /// left inside a transaction would hold its snapshot for the next read, and the WAL could
    /// not be checkpointed past it: it is closed instead.
    fn keep(&self, conn: Connection) {
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self.idle.lock().expect("not poisoned");
        if idle.len() < KEEP {
            idle.push(conn);
        }
    }

    /// Runs `read` in the request's snapshot (see `Snapshot`) when there is one, otherwise on
    /// an idle connection (or a new one) kept afterwards unless the read failed or left a
    /// transaction open.
    pub(crate) fn read<T>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let mut read = Some(read);
        let in_snapshot = with_snapshot(|slot| {
            let snapshot = slot.get_or_insert_with(|| Snapshot {
                direct: Arc::clone(self),
                conn: None,
            });
            // A request reads one store; another store's reads go their own way.
            if !Arc::ptr_eq(&snapshot.direct, self) {
                return None;
            }
            Some(snapshot.read(read.take().expect("not run yet")))
        })
        .flatten();
        match in_snapshot {
            Some(result) => result,
            None => {
                let conn = self.connection()?;
                let result = read.take().expect("not run yet")(&conn).map_err(error)?;
                self.keep(conn);
                Ok(result)
            }
        }
    }

    /// Runs `read` as `read` does, on a thread for blocking work: for reads of more than a few
    /// rows, which must not hold up the requests that share the caller's thread.
    pub(crate) async fn read_blocking<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        // A request waiting for its turn must not hold its snapshot's connection meanwhile:
        // with every request in a burst of searches holding one, more connections were open at
        // once than there are turns, and each grows a page cache as it serves searches. The
        // request's later reads begin another snapshot.
        end_snapshot();
        let _turn = self.blocking.acquire().await.expect("never closed");
        let direct = Arc::clone(self);
        tokio::task::spawn_blocking(move || direct.read(read))
            .await
            .map_err(super::sql::unfinished)?
    }

    /// Closes the idle connections (the store is closing).
    pub(crate) fn close(&self) {
        self.idle.lock().expect("not poisoned").clear();
    }
}

/// A request's snapshot (`in_one_snapshot`): a connection inside a read
/// transaction, begun by the request's first direct read and ended (and the connection kept)
/// when the request ends, writes, or waits for a blocking read. A request's token, its project
/// and role, its task or page and the names the answer refers to are then read from one state
/// of the database, and the WAL's read lock is taken once per request instead of once per
/// statement: each take and release is a system call under a mutex that every thread reading
/// the file shares, which a profile of gets at 16 connections showed at 15 % of the server's
/// time with its waits.
struct Snapshot {
    direct: Arc<Direct>,
    conn: Option<Connection>,
}

impl Snapshot {
    fn read<T>(&mut self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let conn = self.direct.connection()?;
                begin(&conn).map_err(error)?;
                conn
            }
        };
        // A failed read closes the connection, which ends its transaction; the request's
        // next read begins another.
        let result = read(&conn).map_err(error)?;
        self.conn = Some(conn);
        Ok(result)
    }
}

/// Ending a snapshot (`end_snapshot`, or the request's end) ends its
/// transaction and keeps the connection.
impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && commit(&conn).is_ok()
        {
            self.direct.keep(conn);
        }
    }
}

tokio::task_local! {
    /// The running request's snapshot, once its first direct read has begun it. The slot is
    /// the request's (`in_one_snapshot`), so a snapshot is never shared between requests, and
    /// ends with the request's future, answered or cancelled.
    static SNAPSHOT: std::cell::RefCell<Option<Snapshot>>;
}

/// Runs `request` (a `GET` or `HEAD`, through `StoreAdmin::in_one_snapshot`) with a slot for
/// its snapshot.
pub(crate) async fn in_one_snapshot<F: std::future::Future>(request: F) -> F::Output {
    SNAPSHOT.scope(std::cell::RefCell::new(None), request).await
}

/// Runs `f` on the running request's snapshot slot; `None` outside `in_one_snapshot`, on a
/// thread other than the request's (a blocking task), or while the slot is in use.
fn with_snapshot<R>(f: impl FnOnce(&mut Option<Snapshot>) -> R) -> Option<R> {
    SNAPSHOT
        .try_with(|slot| slot.try_borrow_mut().ok().map(|mut slot| f(&mut slot)))
        .ok()
        .flatten()
}

/// Ends the running request's snapshot, if it has one; its later reads begin another.
pub(crate) fn end_snapshot() {
    // Dropped outside the borrow: ending it keeps its connection, which takes the lock of the
    // idle list, not the slot, but nothing is gained by holding both.
    let taken = with_snapshot(Option::take);
    drop(taken);
}

/// Begins a read transaction (deferred: its snapshot is taken by its first read).
pub(crate) fn begin(c: &Connection) -> rusqlite::Result<()> {
    c.prepare_cached("BEGIN")?.execute([]).map(drop)
}

/// Ends a read transaction.
pub(crate) fn commit(c: &Connection) -> rusqlite::Result<()> {
    c.prepare_cached("COMMIT")?.execute([]).map(drop)
}

/// A SQLite error as the store reports it, as `sql::db` does for sqlx's.
fn error(err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match err.sqlite_error_code() {
        Some(DiskFull) => StoreError::Full,
        Some(DatabaseBusy | DatabaseLocked | CannotOpen) => {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::backend(err),
    }
}

/// Checks, in debug builds (every test run), that a statement read by position has these
/// columns from `first` on: a reordered column list fails there rather than being misread.
fn debug_columns(r: &Row, first: usize, names: &[&str]) {
    if cfg!(debug_assertions) {
        let columns = r.as_ref().column_names();
        assert_eq!(columns.get(first..first + names.len()), Some(names));
    }
}

/// A user from a row whose first columns are `USER_COLUMNS`, read by position (a column read
/// by name is a search of the statement's column names).
fn user(r: &Row) -> rusqlite::Result<UserRow> {
    debug_columns(
        r,
        0,
        &[
            "id",
            "username",
            "display_name",
            "password_hash",
            "is_admin",
            "is_disabled",
            "created_at",
            "updated_at",
            "time_zone",
        ],
    );
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        is_admin: r.get(4)?,
        is_disabled: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        time_zone: r.get(8)?,
    })
}

/// The number of `USER_COLUMNS`.
const USER: usize = 9;

/// A column's value read by position, as `TaskRow` holds it.
trait Column: Sized {
    fn read(r: &Row, at: usize) -> rusqlite::Result<Self>;
}

macro_rules! column_by_type {
    ($($ty:ty),*) => {
        $(impl Column for $ty {
            fn read(r: &Row, at: usize) -> rusqlite::Result<Self> {
                r.get(at)
            }
        })*
    };
}
column_by_type!(i64, i16, String, Option<i64>);

impl Column for Option<time::Date> {
    fn read(r: &Row, at: usize) -> rusqlite::Result<Self> {
        date(r, at)
    }
}

macro_rules! direct_task {
    ($($field:ident: $ty:ty = $sql:literal),* $(,)?) => {
        /// A task from a row whose first columns are `TASK_COLUMNS`, read by position.
        pub(crate) fn task(r: &Row) -> rusqlite::Result<TaskRow> {
            let mut at = 0..;
            Ok(TaskRow {
                $($field: Column::read(r, at.next().unwrap_or_default())?,)*
            })
        }
    };
}
task_columns!(direct_task);

/// A `YYYY-MM-DD` column, read without `time`'s parser when it has that form (anything else
/// goes to rusqlite's reading, which rejects what it cannot read).
fn date(r: &Row, column: usize) -> rusqlite::Result<Option<time::Date>> {
    if let Ok(Some(text)) = r.get_ref(column)?.as_str_or_null()
        && let Some(date) = taskflow_core::task::parse_date_text(text)
    {
        return Ok(Some(date));
    }
    r.get(column)
}

/// The number of `LINKED_COLUMNS`: `TASK_COLUMNS`, then the assignees and the labels.
const LINKED: usize = TASK_COLUMN_COUNT + 2;

/// A task with its assignees and labels from a row whose first columns are `LINKED_COLUMNS`.
fn linked(r: &Row) -> rusqlite::Result<LinkedTaskRow> {
    Ok(LinkedTaskRow {
        task: task(r)?,
        assignee_ids: r.get(LINKED - 2)?,
        label_ids: r.get(LINKED - 1)?,
    })
}

/// The `LINKS` rows of the tasks with these ids.
pub(crate) fn links(
    c: &Connection,
    tasks: impl IntoIterator<Item = i64>,
) -> rusqlite::Result<Vec<Link>> {
    c.prepare_cached(&LINKS)?
        .query_map(named_params! {"$1": super::dialect::ids(tasks)}, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect()
}

/// The reads the shared queries in `sql/` take this way on SQLite. Each answers `Some`: the
/// PostgreSQL backend's answer `None` and take the pooled path.
impl SqliteStore {
    pub(crate) fn direct_token_user(
        &self,
        hash: &str,
        now: i64,
    ) -> Option<StoreResult<Option<TokenUserRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&TOKEN_USER)?
                .query_row(named_params! {"$1": hash, "$2": now}, |r| {
                    debug_columns(
                        r,
                        USER,
                        &[
                            "token_id",
                            "token_name",
                            "token_created_at",
                            "token_expires_at",
                            "token_last_used_at",
                        ],
                    );
                    Ok(TokenUserRow {
                        user: user(r)?,
                        token_id: r.get(USER)?,
                        token_name: r.get(USER + 1)?,
                        token_created_at: r.get(USER + 2)?,
                        token_expires_at: r.get(USER + 3)?,
                        token_last_used_at: r.get(USER + 4)?,
                    })
                })
                .optional()
        }))
    }

    pub(crate) fn direct_session_user(
        &self,
        hash: &str,
        now: i64,
    ) -> Option<StoreResult<Option<SessionUserRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&SESSION_USER)?
                .query_row(named_params! {"$1": hash, "$2": now}, |r| {
                    debug_columns(
                        r,
                        USER,
                        &[
                            "session_id",
                            "session_csrf_token",
                            "session_created_at",
                            "session_expires_at",
                            "session_last_seen_at",
                        ],
                    );
                    Ok(SessionUserRow {
                        user: user(r)?,
                        session_id: r.get(USER)?,
                        session_csrf_token: r.get(USER + 1)?,
                        session_created_at: r.get(USER + 2)?,
                        session_expires_at: r.get(USER + 3)?,
                        session_last_seen_at: r.get(USER + 4)?,
                    })
                })
                .optional()
        }))
    }

    pub(crate) fn direct_project_role(
        &self,
        key: &str,
        user: i64,
    ) -> Option<StoreResult<Option<ProjectRoleRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&PROJECT_WITH_ROLE)?
                .query_row(named_params! {"$1": key, "$2": user}, |r| {
                    debug_columns(
                        r,
                        0,
                        &[
                            "id",
                            "key",
                            "name",
                            "description",
                            "archived",
                            "created_at",
                            "updated_at",
                            "deleted_at",
                            "role",
                        ],
                    );
                    Ok(ProjectRoleRow {
                        project: ProjectRow {
                            id: r.get(0)?,
                            key: r.get(1)?,
                            name: r.get(2)?,
                            description: r.get(3)?,
                            archived: r.get(4)?,
                            created_at: r.get(5)?,
                            updated_at: r.get(6)?,
                            deleted_at: r.get(7)?,
                        },
                        role: r.get(8)?,
                    })
                })
                .optional()
        }))
    }

    /// A live task by project key and number (`TASK_BY_KEY`).
    pub(crate) fn direct_task_by_key(
        &self,
        project: &str,
        number: i64,
    ) -> Option<StoreResult<Option<LinkedTaskRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&TASK_BY_KEY)?
                .query_row(named_params! {"$1": project, "$2": number}, linked)
                .optional()
        }))
    }

    /// A live task with its project and `user`'s role there (`TASK_WITH_ROLE`).
    pub(crate) fn direct_task_with_role(
        &self,
        project: &str,
        number: i64,
        user: i64,
    ) -> Option<StoreResult<Option<TaskRoleRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&TASK_WITH_ROLE)?
                .query_row(
                    named_params! {"$1": project, "$2": number, "$3": user},
                    |r| {
                        Ok(TaskRoleRow {
                            task: linked(r)?,
                            project_name: r.get(LINKED)?,
                            project_description: r.get(LINKED + 1)?,
                            project_archived: r.get(LINKED + 2)?,
                            project_created_at: r.get(LINKED + 3)?,
                            project_updated_at: r.get(LINKED + 4)?,
                            role: r.get(LINKED + 5)?,
                        })
                    },
                )
                .optional()
        }))
    }

    /// The `NAMES` rows for the ids bound as JSON arrays.
    pub(crate) fn direct_names(
        &self,
        users: &str,
        label_projects: &str,
        tasks: &str,
    ) -> Option<StoreResult<Vec<NameRow>>> {
        Some(self.direct.read(|c| {
            c.prepare_cached(&NAMES)?
                .query_map(
                    named_params! {"$1": users, "$2": label_projects, "$3": tasks},
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database file with one table, in a directory of its own.
    fn database(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("taskflow-direct-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("taskflow.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE VIRTUAL TABLE tasks_fts USING fts5(title); CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);",
        )
        .unwrap();
        path
    }

    fn seven(c: &Connection) -> rusqlite::Result<i64> {
        c.query_row("SELECT x FROM t", [], |r| r.get(0))
    }

    #[test]
    fn a_read_keeps_its_connection_and_a_failed_read_closes_it() {
        let path = database("keep");
        let direct = Arc::new(Direct::new(path.clone(), Duration::from_millis(50)));
        assert_eq!(direct.read(seven).unwrap(), 7);
        assert_eq!(direct.idle.lock().unwrap().len(), 1);
        let failed =
            direct.read(|c| c.query_row("SELECT nothing FROM t", [], |r| r.get::<_, i64>(0)));
        assert!(matches!(failed, Err(StoreError::Backend(_))), "{failed:?}");
        assert_eq!(
            direct.idle.lock().unwrap().len(),
            0,
            "the failed connection was kept"
        );
        assert_eq!(direct.read(seven).unwrap(), 7);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_read_that_leaves_a_transaction_open_closes_its_connection() {
        let path = database("open");
        let direct = Arc::new(Direct::new(path.clone(), Duration::from_millis(50)));
        let begun = direct.read(|c| {
            c.execute_batch("BEGIN")?;
            seven(c)
        });
        assert_eq!(begun.unwrap(), 7);
        assert_eq!(
            direct.idle.lock().unwrap().len(),
            0,
            "a connection holding a snapshot was kept"
        );
        let ended = direct.read(|c| {
            c.execute_batch("BEGIN")?;
            let x = seven(c)?;
            c.execute_batch("COMMIT")?;
            Ok(x)
        });
        assert_eq!(ended.unwrap(), 7);
        assert_eq!(direct.idle.lock().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    /// `database(name)` in WAL mode, as the store opens it, with a `Direct` on it and a
    /// connection that writes beside it.
    fn in_wal(name: &str) -> (PathBuf, Arc<Direct>, Connection) {
        let path = database(name);
        let direct = Arc::new(Direct::new(path.clone(), Duration::from_millis(50)));
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        (path, direct, writer)
    }

    /// Runs `request` as the server runs a GET, on a runtime of its own.
    fn as_a_get<T>(request: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(in_one_snapshot(request))
    }

    #[test]
    fn a_request_reads_one_snapshot_until_it_writes_and_then_its_writes() {
        let (path, direct, writer) = in_wal("snapshot");
        as_a_get(async {
            assert_eq!(direct.read(seven).unwrap(), 7);
            writer.execute_batch("UPDATE t SET x = 8").unwrap();
            assert_eq!(
                direct.read(seven).unwrap(),
                7,
                "a request's second read saw a later state than its first"
            );
            assert!(
                direct.idle.lock().unwrap().is_empty(),
                "the snapshot holds it"
            );
            end_snapshot();
            assert_eq!(direct.idle.lock().unwrap().len(), 1, "ended and kept");
            assert_eq!(direct.read(seven).unwrap(), 8, "a write's snapshot is new");
        });
        assert_eq!(
            direct.idle.lock().unwrap().len(),
            1,
            "the request's end ends its snapshot and keeps its connection"
        );
        // Outside a request every read sees the latest commit.
        writer.execute_batch("UPDATE t SET x = 9").unwrap();
        assert_eq!(direct.read(seven).unwrap(), 9);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_request_gives_up_its_snapshot_before_it_waits_for_a_blocking_read() {
        let (path, direct, writer) = in_wal("snapshot-blocking");
        as_a_get(async {
            assert_eq!(direct.read(seven).unwrap(), 7);
            assert!(
                direct.idle.lock().unwrap().is_empty(),
                "the snapshot holds it"
            );
            writer.execute_batch("UPDATE t SET x = 8").unwrap();
            assert_eq!(direct.read_blocking(seven).await.unwrap(), 8);
            assert_eq!(
                direct.idle.lock().unwrap().len(),
                1,
                "the blocking read used the connection the snapshot gave up"
            );
            assert_eq!(direct.read(seven).unwrap(), 8, "a new snapshot");
        });
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_failed_read_in_a_snapshot_closes_it_and_the_next_read_begins_another() {
        let path = database("snapshot-failed");
        let direct = Arc::new(Direct::new(path.clone(), Duration::from_millis(50)));
        as_a_get(async {
            assert_eq!(direct.read(seven).unwrap(), 7);
            let failed =
                direct.read(|c| c.query_row("SELECT nothing FROM t", [], |r| r.get::<_, i64>(0)));
            assert!(matches!(failed, Err(StoreError::Backend(_))), "{failed:?}");
            assert_eq!(direct.read(seven).unwrap(), 7);
        });
        let idle = direct.idle.lock().unwrap();
        assert_eq!(idle.len(), 1);
        assert!(
            idle[0].is_autocommit(),
            "a kept connection is outside any transaction"
        );
        drop(idle);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_database_that_cannot_be_opened_is_unavailable() {
        let direct = Arc::new(Direct::new(
            std::env::temp_dir().join("taskflow-direct-missing/none/taskflow.db"),
            Duration::from_millis(50),
        ));
        let read = direct.read(seven);
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    }

    #[test]
    fn a_database_locked_past_the_wait_is_unavailable() {
        // A rollback-journal file locked exclusively by another connection refuses readers.
        let path = database("locked");
        let direct = Arc::new(Direct::new(path.clone(), Duration::from_millis(50)));
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN EXCLUSIVE; UPDATE t SET x = 8;")
            .unwrap();
        let read = direct.read(seven);
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(direct.read(seven).unwrap(), 7);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
