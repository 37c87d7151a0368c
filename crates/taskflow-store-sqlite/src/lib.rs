//! Taskflow's embedded SQLite store.
//!
//! One database file in WAL mode with foreign keys on. All writes go through a pool of exactly
//! one connection and start with `BEGIN IMMEDIATE`, so writers queue instead of failing with
//! "database is locked"; reads use a separate read-only pool and never block the writer.
//! `synchronous = FULL`: a committed transaction survives power loss, not only a crash.

mod activity;
mod backup;
mod comments;
mod projects;
mod rows;
mod tasks;
mod trash;
mod users;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlitePool};
use taskflow_core::store::StoreAdmin;
use taskflow_core::{StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`. Does not migrate.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true))
            .await
            .map_err(StoreError::backend)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await
            .map_err(StoreError::backend)?;
        Ok(Self {
            writer,
            reader,
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

    /// The single writer connection's pool.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// A write transaction holding the database's write lock from its first statement.
    pub(crate) async fn write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }
}

pub(crate) fn db(err: sqlx::Error) -> StoreError {
    StoreError::backend(err)
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Binds a list of ids as one JSON array, read in SQL with `json_each`.
pub(crate) fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", ids.join(","))
}

#[async_trait]
impl StoreAdmin for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(StoreError::backend)
    }

    async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        let migrator = Migrator {
            migrations: std::borrow::Cow::Owned(
                MIGRATOR
                    .iter()
                    .filter(|m| m.version <= version)
                    .cloned()
                    .collect(),
            ),
            ..MIGRATOR
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(StoreError::backend)
    }

    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        if !exists {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.writer)
            .await
            .map_err(db)
    }

    fn latest_schema_version(&self) -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn database_bytes(&self) -> StoreResult<u64> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        Ok(size(&self.path) + size(Path::new(&wal)))
    }

    async fn integrity_check(&self) -> StoreResult<Vec<String>> {
        let lines: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.writer)
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

    fn pool_stats(&self) -> Vec<taskflow_core::store::PoolStats> {
        [("writer", &self.writer), ("reader", &self.reader)]
            .into_iter()
            .map(|(name, pool)| taskflow_core::store::PoolStats {
                pool: name,
                open: pool.size(),
                idle: pool.num_idle() as u32,
                max: pool.options().get_max_connections(),
            })
            .collect()
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
