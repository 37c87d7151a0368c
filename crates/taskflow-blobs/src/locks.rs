//! The blob store an installation uses, with the locks that keep `gc` and uploads apart across
//! every process that shares it.

use std::path::Path;
use std::sync::Arc;

use crate::{BlobError, BlobLock, Blobs, FileLocker, Locker, ObjectBlobs, S3Config};
use taskflow_core::Store;
use taskflow_core::store::Lock;

/// The database's advisory locks where it has them (PostgreSQL: every server on it shares
/// them), else lock files in the data directory (one machine).
#[derive(Clone)]
pub struct StoreLocker {
    store: Arc<dyn Store>,
    files: FileLocker,
}

impl std::fmt::Debug for StoreLocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLocker")
            .field("backend", &self.store.backend())
            .field("files", &self.files)
            .finish()
    }
}

impl StoreLocker {
    pub fn new(store: Arc<dyn Store>, data_dir: &Path) -> Self {
        Self {
            store,
            files: FileLocker(data_dir.join("blobs.lock")),
        }
    }

    async fn take(&self, lock: Lock) -> Result<Option<BlobLock>, BlobError> {
        let claim = self
            .store
            .lock(lock)
            .await
            .map_err(|e| BlobError::LockUnavailable(e.to_string()))?;
        Ok(claim.map(|claim| BlobLock::new(claim.0)))
    }
}

#[async_trait::async_trait]
impl Locker for StoreLocker {
    async fn lock(&self, exclusive: bool) -> Result<BlobLock, BlobError> {
        if !self.store.shares_locks() {
            return self.files.lock(exclusive).await;
        }
        let lock = if exclusive {
            Lock::BlobsExclusive
        } else {
            Lock::BlobsShared
        };
        self.take(lock)
            .await?
            .ok_or_else(|| BlobError::LockUnavailable("not granted".to_owned()))
    }

    async fn try_lock_gc(&self) -> Result<Option<BlobLock>, BlobError> {
        if !self.store.shares_locks() {
            return self.files.try_lock_gc().await;
        }
        self.take(Lock::Gc).await
    }
}

/// The installation's blob store: the object store when one is configured (locked through the
/// database, so several servers can share it), else the data volume's.
pub fn open_blobs(
    data_dir: &Path,
    s3: Option<&S3Config>,
    store: Arc<dyn Store>,
) -> Result<Blobs, String> {
    match s3 {
        None => Ok(Blobs::volume(data_dir)),
        Some(config) => {
            let locker = Arc::new(StoreLocker::new(store, data_dir));
            Ok(Blobs::Object(ObjectBlobs::connect(config.clone(), locker)?))
        }
    }
}
