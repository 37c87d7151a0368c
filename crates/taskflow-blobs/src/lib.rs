//! Where attachments' bytes live: on the data volume (`volume_blobs`) or in S3-compatible object
//! storage (`object_blobs`). Both keep the same promises:
//!
//! - content is stored under its SHA-256, once, and never changed;
//! - an upload streams with bounded memory, its size limit enforced as it goes;
//! - `Upload::finish` returns only when the content is durable under its address, holding a
//!   lock that keeps `gc` from deleting it until the caller has committed the row that refers to
//!   it (a blob with no row is garbage; a row with no blob never happens);
//! - nothing half-uploaded is ever visible under a content address; what an interrupted upload
//!   left behind (`tmp/`) is removed by `gc`.

mod bucket;
mod locks;
mod object_blobs;
mod volume;
mod volume_blobs;

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use taskflow_core::attachment::Sha256Hex;

pub use bucket::{Bucket, BucketFile, BucketWriter, parse_s3_url};
pub use locks::{StoreLocker, open_blobs};
pub use object_blobs::{
    ObjectBlobs, ObjectUpload, PART_BYTES, ProblemKind, S3Config, S3Problem, S3Timeouts, TMP_FLOOR,
    normalise_prefix,
};
pub use volume::{Filesystem, Ownership, Volume, available_bytes};
pub use volume_blobs::{VolumeBlobs, VolumeUpload};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(
        "not enough free space on the data volume: {available} bytes available, at least {minimum} must stay free"
    )]
    VolumeFull { available: u64, minimum: u64 },
    /// The object store did not do what was asked: down, refusing the credentials, or failing.
    #[error("{0}")]
    ObjectStore(S3Problem),
    /// The lock between storing and committing could not be had (the database holding it is
    /// down).
    #[error("cannot take the blob lock: {0}")]
    LockUnavailable(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// What one upload may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest upload accepted.
    pub max_bytes: u64,
    /// Free space that must remain on the volume (not checked for object storage).
    pub min_free_bytes: u64,
}

/// A stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub sha256: Sha256Hex,
    pub bytes: u64,
    /// When it arrived (or last arrived again: storing identical content refreshes it).
    pub modified: SystemTime,
}

/// What a sweep of `tmp/` found (and removed, unless it was a dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TmpSweep {
    pub files: u64,
    pub bytes: u64,
}

/// A blob durably in place, and the lock that keeps `gc` away from it until the caller has
/// committed the row referring to it (drop it then).
#[derive(Debug)]
pub struct Stored {
    pub sha256: Sha256Hex,
    pub bytes: u64,
    pub lock: BlobLock,
}

/// Held while locked; dropping it unlocks.
pub struct BlobLock {
    _held: Box<dyn std::any::Any + Send + Sync>,
}

impl BlobLock {
    pub fn new(held: impl std::any::Any + Send + Sync) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl fmt::Debug for BlobLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlobLock")
    }
}

/// The lock between placing a blob and committing its row (shared: uploads, backups) and
/// deleting blobs (exclusive: `gc`). On one machine a lock file serves; object storage shared by
/// several servers needs the database's (an advisory lock), which the caller provides.
#[async_trait::async_trait]
pub trait Locker: Send + Sync + fmt::Debug {
    async fn lock(&self, exclusive: bool) -> Result<BlobLock, BlobError>;
    /// The lock the one running `gc` holds; `None` at once when another has it.
    async fn try_lock_gc(&self) -> Result<Option<BlobLock>, BlobError>;
}

/// A `flock` on a file: shared or exclusive, released when the lock (or the process) goes.
/// `gc`'s own lock is `gc.lock` beside it.
#[derive(Debug, Clone)]
pub struct FileLocker(pub PathBuf);

#[async_trait::async_trait]
impl Locker for FileLocker {
    async fn lock(&self, exclusive: bool) -> Result<BlobLock, BlobError> {
        Ok(lock_file(self.0.clone(), exclusive).await?)
    }

    async fn try_lock_gc(&self) -> Result<Option<BlobLock>, BlobError> {
        Ok(try_lock_file(self.0.with_file_name("gc.lock"))?)
    }
}

/// Opens (creating, never truncating) a file that is only ever locked.
fn open_lock_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
}

pub(crate) fn try_lock_file(path: PathBuf) -> io::Result<Option<BlobLock>> {
    let file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(BlobLock::new(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

pub(crate) async fn lock_file(path: PathBuf, exclusive: bool) -> io::Result<BlobLock> {
    tokio::task::spawn_blocking(move || lock_file_blocking(&path, exclusive))
        .await
        .map_err(io::Error::other)?
}

/// `lock_file` for a thread that may block until the lock is granted.
pub(crate) fn lock_file_blocking(path: &Path, exclusive: bool) -> io::Result<BlobLock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = open_lock_file(path)?;
    if exclusive {
        file.lock()?;
    } else {
        file.lock_shared()?;
    }
    Ok(BlobLock::new(file))
}

/// A blob's bytes, as they are read.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// The blob store a server or command uses: the data volume's or an object store.
#[derive(Debug, Clone)]
pub enum Blobs {
    Volume(VolumeBlobs),
    Object(ObjectBlobs),
}

/// An upload in progress. Dropped before `finish`, it leaves nothing behind (or, for an object
/// store cut off mid-way, only what `gc` removes).
#[derive(Debug)]
pub enum Upload {
    Volume(VolumeUpload),
    Object(ObjectUpload),
}

impl Upload {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        match self {
            Upload::Volume(u) => u.written(),
            Upload::Object(u) => u.written(),
        }
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        match self {
            Upload::Volume(u) => u.write(chunk).await,
            Upload::Object(u) => u.write(chunk).await,
        }
    }

    /// Makes the content durable under its digest. The row may be committed once this
    /// returns; keep the returned lock until then.
    pub async fn finish(self) -> Result<Stored, BlobError> {
        match self {
            Upload::Volume(u) => u.finish().await,
            Upload::Object(u) => u.finish().await,
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, BlobError> {
    Ok(tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)??)
}

impl Blobs {
    /// The volume's blob store under `data_dir`.
    pub fn volume(data_dir: impl Into<PathBuf>) -> Self {
        Blobs::Volume(VolumeBlobs::new(data_dir))
    }

    pub fn as_volume(&self) -> Option<&VolumeBlobs> {
        match self {
            Blobs::Volume(v) => Some(v),
            Blobs::Object(_) => None,
        }
    }

    /// Where the blobs are, for people: a directory or `s3://bucket/prefix (endpoint)`.
    pub fn describe(&self) -> String {
        match self {
            Blobs::Volume(v) => v.blobs_dir().display().to_string(),
            Blobs::Object(o) => o.describe(),
        }
    }

    /// Creates what the store needs and removes what a crash left behind where that is known
    /// to be safe (the volume's `tmp/`; an object store's leftovers wait for `gc`).
    pub async fn prepare(&self) -> Result<TmpSweep, BlobError> {
        match self {
            Blobs::Volume(v) => {
                let v = v.clone();
                blocking(move || v.prepare()).await
            }
            Blobs::Object(o) => {
                o.probe().await.map_err(BlobError::ObjectStore)?;
                Ok(TmpSweep::default())
            }
        }
    }

    /// Starts an upload. `expected` is the announced size, if any: rejected at once when over
    /// the limit (or, on a volume, when it would not fit above the free-space minimum).
    pub async fn begin(&self, limits: Limits, expected: Option<u64>) -> Result<Upload, BlobError> {
        match self {
            Blobs::Volume(v) => Ok(Upload::Volume(v.begin(limits, expected).await?)),
            Blobs::Object(o) => Ok(Upload::Object(o.begin(limits, expected)?)),
        }
    }

    /// The blob's bytes in `range` (all of them when `None`). A missing blob is `Io(NotFound)`.
    pub async fn read(
        &self,
        sha256: &Sha256Hex,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, BlobError> {
        match self {
            Blobs::Volume(v) => v.read(sha256, range).await,
            Blobs::Object(o) => o.read(sha256, range).await,
        }
    }

    /// The blob's bytes for blocking code (a backup being written): `Read` over the file, or
    /// over the object as it streams in. Call from `spawn_blocking` only.
    pub fn read_blocking(&self, sha256: &Sha256Hex) -> Result<Box<dyn io::Read + Send>, BlobError> {
        match self {
            Blobs::Volume(v) => Ok(Box::new(std::fs::File::open(v.path(sha256))?)),
            Blobs::Object(o) => {
                let handle = tokio::runtime::Handle::current();
                let stream = handle.block_on(o.read(sha256, None))?;
                Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                    tokio_util::io::StreamReader::new(stream),
                    handle,
                )))
            }
        }
    }

    /// Every stored blob, by digest.
    pub async fn list(&self) -> Result<Vec<BlobEntry>, BlobError> {
        match self {
            Blobs::Volume(v) => {
                let v = v.clone();
                blocking(move || v.list()).await
            }
            Blobs::Object(o) => o.list().await,
        }
    }

    /// The blob's last arrival, or `None` when it is not there.
    pub async fn modified(&self, sha256: &Sha256Hex) -> Result<Option<SystemTime>, BlobError> {
        match self {
            Blobs::Volume(v) => {
                let (v, sha256) = (v.clone(), sha256.clone());
                blocking(move || v.modified(&sha256)).await
            }
            Blobs::Object(o) => o.modified(sha256).await,
        }
    }

    /// Deletes a blob; only `gc` does this, holding the exclusive lock.
    pub async fn remove(&self, sha256: &Sha256Hex) -> Result<(), BlobError> {
        match self {
            Blobs::Volume(v) => {
                let (v, sha256) = (v.clone(), sha256.clone());
                blocking(move || v.remove(&sha256)).await
            }
            Blobs::Object(o) => o.remove(sha256).await,
        }
    }

    /// What interrupted uploads left in `tmp/`, untouched for `min_age`, removed unless
    /// `dry_run`. A volume's live uploads are locked and never swept; an object store cannot see
    /// whether a writer elsewhere is live, so give it at least `TMP_FLOOR`.
    pub async fn sweep_tmp(&self, min_age: Duration, dry_run: bool) -> Result<TmpSweep, BlobError> {
        match self {
            Blobs::Volume(v) => {
                let v = v.clone();
                blocking(move || v.sweep_tmp(min_age, dry_run)).await
            }
            Blobs::Object(o) => o.sweep_tmp(min_age, dry_run).await,
        }
    }

    /// Shared: no blob is deleted while held (uploads, backups). Exclusive: no upload is
    /// between placing its blob and committing its row (gc).
    pub async fn lock(&self, exclusive: bool) -> Result<BlobLock, BlobError> {
        match self {
            Blobs::Volume(v) => Ok(if exclusive {
                v.lock_exclusive().await?
            } else {
                v.lock_shared().await?
            }),
            Blobs::Object(o) => o.locker().lock(exclusive).await,
        }
    }

    /// The lock the one running `gc` holds: `None` at once when another `gc` (in this process,
    /// another, or on another server sharing the object store) has it.
    pub async fn lock_gc(&self) -> Result<Option<BlobLock>, BlobError> {
        match self {
            Blobs::Volume(v) => {
                let path = v.data_dir().join("gc.lock");
                blocking(move || try_lock_file(path)).await
            }
            Blobs::Object(o) => o.locker().try_lock_gc().await,
        }
    }

    /// Whether an object store takes a write now: a small object put and deleted. The error
    /// says what is wrong in words. (A volume is checked as the data directory: writable, with
    /// free space.)
    pub async fn probe(&self) -> Result<(), S3Problem> {
        match self {
            Blobs::Volume(_) => Ok(()),
            Blobs::Object(o) => o.probe().await,
        }
    }

    /// Replaces the object store's lock (see `Locker`); the volume keeps its lock file.
    pub fn with_locker(self, locker: Arc<dyn Locker>) -> Self {
        match self {
            Blobs::Object(o) => Blobs::Object(o.with_locker(locker)),
            volume => volume,
        }
    }
}
