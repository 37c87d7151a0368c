//! Taskflow's PostgreSQL store: every store trait over one `PgPool`.
//!
//! Writes run in one transaction each; rows that a write depends on are locked
//! (`FOR UPDATE`) so concurrent writers serialise where they must (task numbers, board
//! positions, subtask trees, last-owner checks).

mod activity;
mod backup;
mod comments;
mod projects;
mod rows;
mod tasks;
mod trash;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use taskflow_core::store::StoreAdmin;
use taskflow_core::{StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(StoreError::backend)?
            .application_name("taskflow")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            .idle_timeout(Duration::from_secs(600))
            .connect_with(options)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

pub(crate) fn db(err: sqlx::Error) -> StoreError {
    StoreError::backend(err)
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[async_trait]
impl StoreAdmin for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    /// sqlx holds a PostgreSQL advisory lock while migrating, so replicas starting together
    /// apply each migration once.
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(StoreError::backend)
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
        migrator.run(&self.pool).await.map_err(StoreError::backend)
    }

    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        if !exists {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    fn latest_schema_version(&self) -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn database_bytes(&self) -> StoreResult<u64> {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(bytes as u64)
    }

    async fn integrity_check(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn pool_stats(&self) -> Vec<taskflow_core::store::PoolStats> {
        vec![taskflow_core::store::PoolStats {
            pool: "main",
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }]
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
