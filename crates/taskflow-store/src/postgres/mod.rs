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

/// A pooled connection idle longer than this is checked before it is handed out.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Reads on `pool` that skip its round trip per release (see `sql::Warm`).
    warm: std::sync::Arc<sql::Warm>,
    /// Connections holding advisory locks (`StoreAdmin::lock`), apart from `pool` so that
    /// holders waiting to commit on `pool` can never take every connection it has.
    locks: PgPool,
    /// The search index's common words (`listing::CommonWords`).
    common: std::sync::Arc<listing::CommonWords>,
    /// Held (shared) by each advisory lock's release while its rollback is under way: a lock
    /// dropped here is released by a spawned task, so a try for it right after (gc run twice in
    /// a row) waits for those releases first rather than finding its own lock still held.
    releasing: std::sync::Arc<tokio::sync::RwLock<()>>,
}

/// Connections the lock pool may open: uploads beyond it wait for a lock, not for the database.
const LOCK_CONNECTIONS: u32 = 8;

fn lock_pool(options: PgConnectOptions, timeout: Duration) -> PgPool {
    PgPoolOptions::new()
        .max_connections(LOCK_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(timeout)
        .idle_timeout(Duration::from_secs(60))
        .connect_lazy_with(options)
}

impl PgStore {
    /// Connects to `url` (`postgres://…`). Does not migrate.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, DEFAULT_TIMEOUT).await
    }

    /// Like `connect`, waiting at most `timeout` for a connection: with the server down, a
    /// caller hears so within it.
    pub async fn connect_with(url: &str, timeout: Duration) -> StoreResult<Self> {
        Self::connect_inner(url, timeout, false).await
    }

    /// Like `connect_with`, for a server's request work: a statement waiting for a lock gives
    /// up after `timeout` (`lock_timeout`), and any statement after six times it, at least 30
    /// seconds (`statement_timeout`), so a table locked by another session is a 503 in about
    /// the database timeout. Migrations run with the limits lifted.
    pub async fn connect_serving(url: &str, timeout: Duration) -> StoreResult<Self> {
        Self::connect_inner(url, timeout, true).await
    }

    async fn connect_inner(url: &str, timeout: Duration, bounded: bool) -> StoreResult<Self> {
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
            // A connection in use a moment ago is alive: only one that has idled a while is
            // checked (a round trip) before it is handed out, as one that idled through a
            // server restart would fail its first query.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > CHECK_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(if bounded {
                let statements = (timeout * 6).max(Duration::from_secs(30));
                options.clone().options([
                    ("lock_timeout", format!("{}ms", timeout.as_millis())),
                    ("statement_timeout", format!("{}ms", statements.as_millis())),
                ])
            } else {
                options.clone()
            })
            .await
            .map_err(StoreError::backend)?;
        Ok(Self::with_pools(pool, lock_pool(options, timeout), timeout))
    }

    pub fn from_pool(pool: PgPool) -> Self {
        let locks = lock_pool((*pool.connect_options()).clone(), DEFAULT_TIMEOUT);
        Self::with_pools(pool, locks, DEFAULT_TIMEOUT)
    }

    fn with_pools(pool: PgPool, locks: PgPool, timeout: Duration) -> Self {
        // Half the pool at most for the warm reads: the rest is for transactions.
        let readers = (pool.options().get_max_connections() / 2).max(1) as usize;
        Self {
            warm: std::sync::Arc::new(sql::Warm::new(readers, timeout)),
            pool,
            locks,
            common: Default::default(),
            releasing: Default::default(),
        }
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

    /// Nothing to close: every read goes through the pool.
    fn close_direct(&self) {}

    fn pools(&self) -> Vec<(&'static str, &PgPool)> {
        vec![("main", &self.pool)]
    }

    /// An advisory lock on a connection taken out of the pool, so it lives as long as the
    /// claim: the server's is released even when the process is killed. A server's shared
    /// claim is watched: when the database restarts and the connection (with its lock) is
    /// gone, it is taken again as soon as the database is back.
    async fn claim_lock(&self, exclusive: bool) -> StoreResult<Option<Claim>> {
        let Some(mut conn) = lock_connection(&self.pool, exclusive).await? else {
            return Ok(None);
        };
        if exclusive {
            return Ok(Some(Claim(Box::new(conn))));
        }
        let pool = self.pool.clone();
        let keeper = tokio::spawn(async move {
            loop {
                tokio::time::sleep(CLAIM_CHECK).await;
                if sqlx::query("SELECT 1").execute(&mut conn).await.is_ok() {
                    continue;
                }
                tracing::warn!(
                    "the connection holding the serving claim was lost; taking it again"
                );
                loop {
                    if let Ok(Some(again)) = lock_connection(&pool, false).await {
                        conn = again;
                        break;
                    }
                    tokio::time::sleep(CLAIM_CHECK).await;
                }
            }
        });
        Ok(Some(Claim(Box::new(AbortOnDrop(keeper)))))
    }
}

/// "taskflow" in ASCII: the key of the lock servers share and `restore` takes alone.
const IN_USE: i64 = 0x7461_736b_666c_6f77;
/// "tf:blobs" and "tf:gc   ": the keys of `StoreAdmin::lock`.
const BLOBS: i64 = 0x7466_3a62_6c6f_6273;
const GC: i64 = 0x7466_3a67_6320_2020;

impl PgStore {
    /// A transaction-scoped advisory lock on a connection of the lock pool: released when the
    /// guard drops (its transaction rolls back), or when the process dies with the connection.
    async fn advisory_lock(&self, lock: taskflow_core::store::Lock) -> StoreResult<Option<Claim>> {
        use taskflow_core::store::Lock;
        // Only the gc lock is tried rather than waited for, so only its releases matter to
        // the next try: wait for this process's own pending ones before taking a connection.
        let releasing = matches!(lock, Lock::Gc).then(|| self.releasing.clone());
        if let Some(releasing) = &releasing {
            drop(releasing.write().await);
        }
        let mut tx = self.locks.begin().await.map_err(db)?;
        let got = match lock {
            Lock::BlobsShared => sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(BLOBS)
                .execute(&mut *tx)
                .await
                .map(|_| true),
            Lock::BlobsExclusive => sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(BLOBS)
                .execute(&mut *tx)
                .await
                .map(|_| true),
            Lock::Gc => {
                sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(GC)
                    .fetch_one(&mut *tx)
                    .await
            }
        }
        .map_err(db)?;
        Ok(got.then(|| {
            Claim(Box::new(RollbackOnDrop {
                tx: Some(tx),
                releasing,
            }))
        }))
    }
}

/// Ends a lock's transaction when dropped, releasing the lock.
struct RollbackOnDrop {
    tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
    /// Set for the gc lock: held shared until the rollback has finished.
    releasing: Option<std::sync::Arc<tokio::sync::RwLock<()>>>,
}

impl Drop for RollbackOnDrop {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                // Fails only while a try is already waiting; that try then may find this
                // release unfinished and answer busy, as it would for another process's gc.
                let pending = self.releasing.take().and_then(|r| r.try_read_owned().ok());
                runtime.spawn(async move {
                    if let Err(e) = tx.rollback().await {
                        tracing::warn!(error = %e, "releasing an advisory lock failed; its connection closes");
                    }
                    drop(pending);
                });
            }
            // No runtime to finish it: sqlx rolls the transaction back when the connection
            // is next used, or the connection closes with it.
            Err(_) => drop(tx),
        }
    }
}

/// How often a server's claim checks that its connection is still there.
const CLAIM_CHECK: Duration = Duration::from_secs(1);

/// A connection out of the pool holding the claim's lock; `None` when an exclusive one cannot
/// be had now.
async fn lock_connection(
    pool: &PgPool,
    exclusive: bool,
) -> StoreResult<Option<sqlx::PgConnection>> {
    let mut conn = pool.acquire().await.map_err(db)?.detach();
    if exclusive {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(IN_USE)
            .fetch_one(&mut conn)
            .await
            .map_err(db)?;
        return Ok(got.then_some(conn));
    }
    sqlx::query("SELECT pg_advisory_lock_shared($1)")
        .bind(IN_USE)
        .execute(&mut conn)
        .await
        .map_err(db)?;
    Ok(Some(conn))
}

/// Stops the task keeping a claim (closing its connection, and so its lock) when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The shared queries' direct reads (see `sqlite::direct`): none here, where a read is a
/// round trip to the server whichever way it is sent. Each answers `None`: take the pool.
#[allow(clippy::type_complexity)]
impl PgStore {
    fn direct_token_user(
        &self,
        _hash: &str,
        _now: dialect::Time,
    ) -> Option<StoreResult<Option<sql::rows::TokenUserRow>>> {
        None
    }

    fn direct_session_user(
        &self,
        _hash: &str,
        _now: dialect::Time,
    ) -> Option<StoreResult<Option<sql::rows::SessionUserRow>>> {
        None
    }

    fn direct_project_role(
        &self,
        _key: &str,
        _user: i64,
    ) -> Option<StoreResult<Option<sql::rows::ProjectRoleRow>>> {
        None
    }

    fn direct_task_by_key(
        &self,
        _project: &str,
        _number: i64,
    ) -> Option<StoreResult<Option<sql::rows::LinkedTaskRow>>> {
        None
    }

    fn direct_task_with_role(
        &self,
        _project: &str,
        _number: i64,
        _user: i64,
    ) -> Option<StoreResult<Option<sql::rows::TaskRoleRow>>> {
        None
    }

    fn direct_names(
        &self,
        _users: &[i64],
        _label_projects: &[i64],
        _tasks: &[i64],
    ) -> Option<StoreResult<Vec<sql::tasks::NameRow>>> {
        None
    }
}
