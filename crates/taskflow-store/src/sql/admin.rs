//! Migrations, the schema version, liveness and pool figures.

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use taskflow_core::store::{Claim, Lock, PoolStats, StoreAdmin};
use taskflow_core::{StoreError, StoreResult};

use super::{MIGRATOR, Store, d, db};

#[async_trait]
impl StoreAdmin for Store {
    fn backend(&self) -> &'static str {
        d::BACKEND
    }

    /// sqlx holds a lock while migrating (an advisory lock on PostgreSQL, the write lock on
    /// SQLite), so processes starting together apply each migration once.
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(self.migrator_pool())
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
            .run(self.migrator_pool())
            .await
            .map_err(StoreError::backend)
    }

    async fn schema_version(&self) -> StoreResult<Option<i64>> {
        // Through the readers: a long write never holds up a readiness probe.
        let exists: bool = sqlx::query_scalar(d::MIGRATIONS_TABLE_EXISTS)
            .fetch_one(self.reader())
            .await
            .map_err(db)?;
        if !exists {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(self.reader())
            .await
            .map_err(db)
    }

    fn latest_schema_version(&self) -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map(|_| ())
            .map_err(db)
    }

    async fn ping_writes(&self) -> StoreResult<()> {
        let tx = self.write().await?;
        // On a task of its own, like every commit: a caller that gives up cannot leave the
        // connection inside the transaction.
        tokio::spawn(tx.rollback())
            .await
            .map_err(super::unfinished)?
            .map_err(db)
    }

    async fn database_bytes(&self) -> StoreResult<u64> {
        self.size_on_disk().await
    }

    async fn integrity_check(&self) -> StoreResult<Vec<String>> {
        self.damage().await
    }

    async fn claim(&self, exclusive: bool) -> StoreResult<Option<Claim>> {
        self.claim_lock(exclusive).await
    }

    fn shares_locks(&self) -> bool {
        d::SHARES_LOCKS
    }

    async fn lock(&self, lock: Lock) -> StoreResult<Option<Claim>> {
        self.advisory_lock(lock).await
    }

    fn pool_stats(&self) -> Vec<PoolStats> {
        self.pools()
            .into_iter()
            .map(|(name, pool)| PoolStats {
                pool: name,
                open: pool.size(),
                // Parked read connections are idle, though the pool counts them as in use.
                idle: pool.num_idle() as u32
                    + if name == d::WARM_POOL {
                        self.warm.parked() as u32
                    } else {
                        0
                    },
                max: pool.options().get_max_connections(),
            })
            .collect()
    }

    async fn close(&self) {
        self.warm.release_all();
        self.close_direct();
        for (_, pool) in self.pools().into_iter().rev() {
            pool.close().await;
        }
    }
}
