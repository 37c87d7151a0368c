//! The PostgreSQL backend: every store trait over one `PgPool`.
//!
//! Writes run in one transaction each; rows that a write depends on are locked
//! (`FOR UPDATE`) so concurrent writers serialise where they must (task numbers, board
//! positions, subtask trees, last-owner checks).

mod dialect;
mod listing;
// The shared queries, compiled here for this backend (and once more for the other).
#[path = "../sql/mod.rs"]
#[allow(clippy::duplicate_mod)]
mod sql;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use taskflow_core::store::Claim;
use taskflow_core::{StoreError, StoreResult};

use sql::db;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a caller waits for a connection before the store answers `Unavailable`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, DEFAULT_TIMEOUT).await
    }

    /// Like `connect`, waiting at most `timeout` for a connection: with the server down, a
    /// caller hears so within it.
    pub async fn connect_with(url: &str, timeout: Duration) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(StoreError::backend)?
            .application_name("taskflow")
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(timeout)
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

/// The store the shared queries in `sql/` are compiled for here.
type Store = PgStore;

impl PgStore {
    async fn size_on_disk(&self) -> StoreResult<u64> {
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(bytes as u64)
    }

    /// PostgreSQL checks its own pages; there is nothing cheap to add.
    async fn damage(&self) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn pools(&self) -> Vec<(&'static str, &PgPool)> {
        vec![("main", &self.pool)]
    }

    /// An advisory lock on a connection taken out of the pool, so it lives as long as the
    /// claim: the server's is released even when the process is killed.
    async fn claim_lock(&self, exclusive: bool) -> StoreResult<Option<Claim>> {
        /// "taskflow" in ASCII: the key of the lock servers share and `restore` takes alone.
        const IN_USE: i64 = 0x7461_736b_666c_6f77;
        let mut conn = self.pool.acquire().await.map_err(db)?.detach();
        if exclusive {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(IN_USE)
                .fetch_one(&mut conn)
                .await
                .map_err(db)?;
            if !got {
                return Ok(None);
            }
        } else {
            sqlx::query("SELECT pg_advisory_lock_shared($1)")
                .bind(IN_USE)
                .execute(&mut conn)
                .await
                .map_err(db)?;
        }
        Ok(Some(Claim(Box::new(conn))))
    }
}
