//! Migrations, the schema version, liveness and pool figures.

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use taskflow_core::store::{Claim, Lock, PoolStats, RequestFuture, StoreAdmin};
use taskflow_core::{StoreError, StoreResult, Timestamp};

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

    fn in_one_snapshot<'a>(&'a self, request: RequestFuture<'a>) -> RequestFuture<'a> {
        d::in_one_snapshot(request)
    }

    fn end_snapshot(&self) {
        d::end_snapshot();
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

    async fn server_secret(&self, name: &str, candidate: &str) -> StoreResult<String> {
        // Whoever comes first stores theirs; everyone reads the one stored.
        sqlx::query(
            "INSERT INTO server_secrets (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(d::time(Timestamp::now()))
        .execute(self.writer())
        .await
        .map_err(db)?;
        sqlx::query_scalar("SELECT secret FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.writer())
            .await
            .map_err(db)
    }

    async fn delete_expired_idempotency_keys(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(d::time(before))
            .execute(self.writer())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn close(&self) {
        self.warm.release_all();
        self.close_direct();
        for (_, pool) in self.pools().into_iter().rev() {
            pool.close().await;
        }
    }
}

/// The create of a request sent with an `Idempotency-Key` (`taskflow_core::store::once`), in
/// its transaction: before it makes anything, a create this user already made under the same
/// key answers `Replayed` (or `KeyReused` for another request); `made` then records what this
/// one made, so the two commit or roll back together.
pub(crate) struct Once {
    once: Option<taskflow_core::store::once::Once>,
    user: taskflow_core::UserId,
    kind: &'static str,
}

impl Once {
    pub(crate) async fn check(
        conn: &mut d::Conn,
        user: taskflow_core::UserId,
        kind: &'static str,
    ) -> StoreResult<Self> {
        let once = taskflow_core::store::once::current();
        if let Some(once) = &once {
            let kept = Timestamp::now().saturating_sub(taskflow_core::store::once::KEPT);
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3",
            )
            .bind(user.0)
            .bind(&once.key)
            .bind(d::time(kept))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            let earlier: Option<(String, String, i64)> = sqlx::query_as(
                "SELECT fingerprint, kind, resource_id FROM idempotency_keys \
                 WHERE user_id = $1 AND key = $2",
            )
            .bind(user.0)
            .bind(&once.key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
            match earlier {
                Some((fingerprint, made, id))
                    if fingerprint == once.fingerprint && made == kind =>
                {
                    return Err(StoreError::Replayed { id });
                }
                Some(_) => return Err(StoreError::KeyReused),
                None => {}
            }
        }
        Ok(Self { once, user, kind })
    }

    pub(crate) async fn made(self, conn: &mut d::Conn, id: i64) -> StoreResult<()> {
        let Some(once) = self.once else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, kind, resource_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.user.0)
        .bind(&once.key)
        .bind(&once.fingerprint)
        .bind(self.kind)
        .bind(id)
        .bind(d::time(Timestamp::now()))
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if super::is_unique_violation(&e) {
                StoreError::Conflict(
                    "a request with this Idempotency-Key is being handled; try again in a moment"
                        .to_owned(),
                )
            } else {
                db(e)
            }
        })?;
        Ok(())
    }
}
