//! Read connections kept out of the pool between uses.
//!
//! sqlx's pool pings every connection it takes back (a round trip to SQLite's worker thread, or
//! to the PostgreSQL server), which on a request of a few short reads costs as much as the
//! reads. Reads that finish cleanly park their connection here instead, and the next read takes
//! it without a round trip. A read that fails or is cancelled (its future dropped mid-query)
//! never parks its connection: it goes back to the pool, which checks it as before. A
//! connection parked longer than `FRESH_FOR` is handed back to the pool rather than used, so
//! one that idled through a database restart is checked before it serves again.
//!
//! At most `users` reads hold or park connections at once, fewer than the pool's size, so the
//! pool always has connections for everything else (transactions, snapshots, health checks).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use taskflow_core::StoreResult;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::d::Db;
use super::db;

const FRESH_FOR: Duration = Duration::from_secs(1);

pub(crate) struct Warm {
    parked: Mutex<Vec<(PoolConnection<Db>, Instant)>>,
    users: Semaphore,
    timeout: Duration,
}

impl Warm {
    /// At most `users` reads at once, each waiting at most `timeout` for its turn.
    pub(crate) fn new(users: usize, timeout: Duration) -> Self {
        Self {
            parked: Mutex::new(Vec::new()),
            users: Semaphore::new(users),
            timeout,
        }
    }

    /// A connection for reads: a parked one, else one from `pool`.
    pub(crate) async fn conn<'w>(&'w self, pool: &sqlx::Pool<Db>) -> StoreResult<ReadConn<'w>> {
        let permit = match tokio::time::timeout(self.timeout, self.users.acquire()).await {
            Ok(permit) => permit.expect("the semaphore is never closed"),
            Err(_) => return Err(db(sqlx::Error::PoolTimedOut)),
        };
        let parked = self.parked.lock().expect("not poisoned").pop();
        let conn = match parked {
            Some((conn, since)) if since.elapsed() < FRESH_FOR => conn,
            stale => {
                // Back to the pool, which checks it; the pool's own idle connections are
                // checked before they are handed out.
                drop(stale);
                pool.acquire().await.map_err(db)?
            }
        };
        Ok(ReadConn {
            conn: Some(conn),
            warm: self,
            _permit: permit,
        })
    }

    /// Parked connections: idle, though the pool counts them as in use.
    pub(crate) fn parked(&self) -> usize {
        self.parked.lock().expect("not poisoned").len()
    }

    /// Hands every parked connection back to the pool (before the pool closes).
    pub(crate) fn release_all(&self) {
        self.parked.lock().expect("not poisoned").clear();
    }
}

/// A read connection; `finish` parks it after reads that went well.
pub(crate) struct ReadConn<'w> {
    conn: Option<PoolConnection<Db>>,
    warm: &'w Warm,
    _permit: SemaphorePermit<'w>,
}

impl ReadConn<'_> {
    /// Parks the connection unless `result` is the database's failure, and returns `result`:
    /// "not found" is an answer, not a fault.
    pub(crate) fn done<T>(self, result: StoreResult<T>) -> StoreResult<T> {
        match &result {
            Ok(_) | Err(taskflow_core::StoreError::NotFound { .. }) => self.finish(),
            Err(_) => drop(self),
        }
        result
    }

    /// The reads went well: park the connection for the next reader.
    pub(crate) fn finish(mut self) {
        if let Some(conn) = self.conn.take() {
            self.warm
                .parked
                .lock()
                .expect("not poisoned")
                .push((conn, Instant::now()));
        }
    }
}

impl std::ops::Deref for ReadConn<'_> {
    type Target = super::d::Conn;
    fn deref(&self) -> &Self::Target {
        self.conn.as_ref().expect("present until finished")
    }
}

impl std::ops::DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn.as_mut().expect("present until finished")
    }
}
