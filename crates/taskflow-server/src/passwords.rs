//! Password hashing is slow and large on purpose: one argon2id check takes tens of
//! milliseconds and 19 MiB. A burst of logins — right or wrong passwords — must not multiply
//! that, so at most a few run at once, on the blocking pool, and the rest wait their turn.

use std::sync::Arc;

use taskflow_core::user::{Password, PasswordHash};
use tokio::sync::Semaphore;

use crate::error::Refusal;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    /// As many at once as there are cores (as the process's CPU quota counts them), at most 4:
    /// more would only queue for the CPU while holding their memory.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.min(4))
    }
}

impl Passwords {
    pub fn new(at_once: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
        }
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, Refusal> {
        self.run(move || password.hash()).await
    }

    /// Checks a candidate password against a stored hash.
    pub async fn verify(&self, hash: PasswordHash, candidate: String) -> Result<bool, Refusal> {
        self.run(move || hash.verify(&candidate)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Refusal::internal())?;
        // The permit moves with the work: a request that is cancelled while its hash runs
        // still holds its place until the hash is done.
        tokio::task::spawn_blocking(move || {
            let done = work();
            drop(permit);
            done
        })
        .await
        .map_err(|_| Refusal::internal())
    }
}
