//! The embedded SQLite backend.
//!
//! One database file in WAL mode with foreign keys on. All writes go through a pool of exactly
//! one connection and start with `BEGIN IMMEDIATE`, so writers queue instead of failing with
//! "database is locked"; reads use a separate read-only pool and never block the writer.
//! `synchronous = FULL`: a committed transaction survives power loss, not only a crash.

mod dialect;
mod direct;
mod listing;
// The shared queries, compiled here for this backend (and once more for the other).
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)]
mod sql;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlitePool};
use taskflow_core::store::Claim;
use taskflow_core::{StoreError, StoreResult};

use sql::db;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a caller waits for a connection, and a writer for the write lock (held by this
/// process's other writers or another process), before the store answers `Unavailable`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Reads at once through the warm path; the read pool has two connections more, for snapshots
/// and checks.
const READERS: u32 = 6;

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Reads on `reader` that skip its round trip per release (see `sql::Warm`).
    warm: std::sync::Arc<sql::Warm>,
    /// The reads on every request's path, without the read pool's worker threads.
    direct: std::sync::Arc<direct::Direct>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`. Does not migrate.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, DEFAULT_TIMEOUT).await
    }

    /// Like `open`, waiting at most `timeout` for a connection or the write lock.
    pub async fn open_with(path: &Path, timeout: Duration) -> StoreResult<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(timeout)
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        // A connection to a local file cannot go stale: the pool's check before handing one
        // out would only cost a round trip to the connection's worker thread per acquire.
        let writer = connect_patiently(
            SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(timeout),
            base.clone().create_if_missing(true),
            timeout,
        )
        .await?;
        let reader = connect_patiently(
            SqlitePoolOptions::new()
                .max_connections(READERS + 2)
                .test_before_acquire(false)
                .acquire_timeout(timeout)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, READ_CONNECTION_SETUP)
                            .await
                            .map(drop)
                    })
                }),
            base.read_only(true),
            timeout,
        )
        .await?;
        Ok(Self {
            writer,
            reader,
            warm: std::sync::Arc::new(sql::Warm::new(READERS as usize, timeout)),
            direct: std::sync::Arc::new(direct::Direct::new(path.to_owned(), timeout)),
            path: path.to_owned(),
        })
    }

    /// Opens the database named by a `sqlite://PATH` URL.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Backend(format!("not a sqlite:// URL: {url}").into()))?;
        let path = path.split('?').next().unwrap_or(path);
        Self::open(Path::new(path)).await
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What each read connection runs once it is open: a table of the search index's words, for
/// completing a search's last word (`listing::completed`). It is the connection's own, so the
/// file's schema stays as its migrations made it.
pub const READ_CONNECTION_SETUP: &str =
    "CREATE VIRTUAL TABLE temp.tasks_fts_terms USING fts5vocab(main, tasks_fts, instance)";

/// Connects a pool, trying again for up to `timeout` while the file is busy: processes that
/// open a new database at the same moment race to switch it to WAL, and the loser's first
/// connection is refused at once rather than waiting for the busy timeout.
async fn connect_patiently(
    pool: SqlitePoolOptions,
    options: SqliteConnectOptions,
    timeout: Duration,
) -> StoreResult<SqlitePool> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("5") && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            connected => return connected.map_err(StoreError::backend),
        }
    }
}

/// The store the shared queries in `sql/` are compiled for here.
type Store = SqliteStore;

impl SqliteStore {
    /// The database file and its write-ahead log.
    async fn size_on_disk(&self) -> StoreResult<u64> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        Ok(size(&self.path) + size(Path::new(&wal)))
    }

    /// What `PRAGMA quick_check` finds wrong; empty when the file is sound. It reads every
    /// page, on a reader connection, so writes go on meanwhile.
    async fn damage(&self) -> StoreResult<Vec<String>> {
        let lines: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        Ok(lines
            .iter()
            .flat_map(|row| row.lines())
            .map(str::trim)
            .filter(|l| *l != "ok" && !l.is_empty() && !l.starts_with("***"))
            .map(str::to_owned)
            .collect())
    }

    fn close_direct(&self) {
        self.direct.close();
    }

    fn pools(&self) -> Vec<(&'static str, &SqlitePool)> {
        vec![("writer", &self.writer), ("reader", &self.reader)]
    }

    /// The data directory's lock file is SQLite's claim; the command takes it.
    async fn claim_lock(&self, _exclusive: bool) -> StoreResult<Option<Claim>> {
        Ok(Some(Claim(Box::new(()))))
    }

    /// One machine: the blob store's lock files serve, and this grants nothing.
    async fn advisory_lock(&self, _lock: taskflow_core::store::Lock) -> StoreResult<Option<Claim>> {
        Ok(Some(Claim(Box::new(()))))
    }
}
