//! Attachments on the data volume.
//!
//! ```text
//! <data>/tmp/upload-…        an upload in progress, locked (flock) by its writer
//! <data>/blobs/<aa>/<sha256> finished content, named by its SHA-256, never changed
//! <data>/blobs.lock          shared by uploads between rename and commit, exclusive for gc
//! ```
//!
//! An upload streams into `tmp/`, hashing on the way, with the size limit and the free-space
//! minimum enforced as it goes. When complete it is fsynced, renamed to its content address and
//! the directory fsynced; only then may the caller commit the database row. Identical content
//! is stored once. Files in `tmp/` that no live writer holds locked are garbage.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use taskflow_core::attachment::Sha256Hex;

use crate::{BlobEntry, BlobError, BlobLock, Limits, Stored, TmpSweep, available_bytes};

/// How often (in bytes written) an upload re-checks the free space.
const SPACE_CHECK_EVERY: u64 = 1 << 20;

/// How many bytes an upload gathers before a blocking thread hashes and writes them: a
/// request body arrives in frames of a few KiB, and one thread hop per frame cost more than
/// the writing.
const BATCH_BYTES: usize = 256 * 1024;

/// How many bytes a download reads at a time: below the size the server's allocator maps
/// afresh for each block (see `taskflow`'s main), since a download's chunks come and go by
/// the dozen.
const READ_BYTES: u64 = 128 * 1024;

#[derive(Debug, Clone)]
pub struct VolumeBlobs {
    /// Shared: the store is cloned into every request's state.
    dirs: Arc<Dirs>,
}

#[derive(Debug)]
struct Dirs {
    data_dir: PathBuf,
    blobs: PathBuf,
    tmp: PathBuf,
    lock: PathBuf,
}

impl VolumeBlobs {
    /// The blob store under `data_dir`. Creates nothing; `prepare` does.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            dirs: Arc::new(Dirs {
                blobs: data_dir.join("blobs"),
                tmp: data_dir.join("tmp"),
                lock: data_dir.join("blobs.lock"),
                data_dir,
            }),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.dirs.data_dir
    }

    pub fn blobs_dir(&self) -> &Path {
        &self.dirs.blobs
    }

    pub fn tmp_dir(&self) -> &Path {
        &self.dirs.tmp
    }

    /// Where a restore keeps the files it has read until its database part commits; never
    /// swept like `tmp/` (see `taskflow_ops::backup::recover_staging`).
    pub fn staging_dir(&self) -> PathBuf {
        self.dirs.data_dir.join("staging")
    }

    /// Moves a complete, fsynced file with this content into place, and makes the move
    /// durable. Renaming over an identical blob keeps one copy and gives it a fresh time, so a
    /// gc that judged the old one abandoned leaves it alone. Blocking (a few metadata calls).
    pub fn adopt(&self, file: &Path, sha256: &Sha256Hex) -> io::Result<()> {
        let target = self.path(sha256);
        let dir = target.parent().expect("blobs live in a prefix directory");
        if !dir.exists() {
            private_dir(dir)?;
            sync_dir(&self.dirs.blobs)?;
            sync_dir(&self.dirs.data_dir)?;
        }
        std::fs::rename(file, &target)?;
        sync_dir(dir)
    }

    /// Creates `blobs/` and `tmp/` and removes whatever a crashed process left in `tmp/`.
    pub fn prepare(&self) -> io::Result<TmpSweep> {
        for dir in [&self.dirs.blobs, &self.dirs.tmp] {
            if !dir.exists() {
                private_dir(dir)?;
                sync_dir(&self.dirs.data_dir)?;
            }
        }
        self.sweep_tmp(Duration::ZERO, false)
    }

    /// Where the blob with this digest lives.
    pub fn path(&self, sha256: &Sha256Hex) -> PathBuf {
        let hex = sha256.as_str();
        self.dirs.blobs.join(&hex[..2]).join(hex)
    }

    /// Starts an upload. `expected` is the announced size, if any: rejected at once when over
    /// the limit or when it would not fit above the free-space minimum.
    pub async fn begin(
        &self,
        limits: Limits,
        expected: Option<u64>,
    ) -> Result<VolumeUpload, BlobError> {
        if let Some(expected) = expected
            && expected > limits.max_bytes
        {
            return Err(BlobError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        // `tmp/` is made at start; made again if someone removed it since (a few metadata
        // calls, not worth a trip to a blocking thread).
        if !self.dirs.tmp.is_dir() {
            private_dir(&self.dirs.tmp)?;
        }
        check_space(&self.dirs.tmp, limits.min_free_bytes, expected.unwrap_or(0))?;
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!(
            "upload-{}-{nanos}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.dirs.tmp.join(name);
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?
        };
        // Held until the file is closed: tells sweeps that a live writer owns it.
        if let Err(e) = file.try_lock() {
            let _ = std::fs::remove_file(&path);
            return Err(BlobError::Io(io::Error::other(format!(
                "cannot lock {}: {e}",
                path.display()
            ))));
        }
        let room = expected.map_or(BATCH_BYTES, |e| {
            usize::try_from(e)
                .unwrap_or(BATCH_BYTES)
                .clamp(1, BATCH_BYTES)
        });
        Ok(VolumeUpload {
            sink: Some(Sink::new(file)),
            pending: Batch::new(room),
            path,
            written: 0,
            unchecked: 0,
            limits,
            store: self.clone(),
            done: false,
        })
    }

    /// The blob's bytes in `range` (all of them when `None`), streamed in 128 KiB reads, each
    /// one trip to a blocking thread.
    pub async fn read(
        &self,
        sha256: &Sha256Hex,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<crate::ByteStream, BlobError> {
        use std::io::{Read, Seek};
        let path = self.path(sha256);
        let opened = tokio::task::spawn_blocking(move || -> io::Result<_> {
            let mut file = std::fs::File::open(path)?;
            let range = range.unwrap_or(0..file.metadata()?.len());
            if range.start > 0 {
                file.seek(io::SeekFrom::Start(range.start))?;
            }
            Ok((file, range.end.saturating_sub(range.start)))
        })
        .await
        .map_err(io::Error::other)??;
        let chunks = futures_util::stream::try_unfold(opened, |(mut file, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            let want = left.min(READ_BYTES);
            let (file, chunk) = tokio::task::spawn_blocking(move || -> io::Result<_> {
                let mut chunk = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
                (&mut file).take(want).read_to_end(&mut chunk)?;
                Ok((file, chunk))
            })
            .await
            .map_err(io::Error::other)??;
            if chunk.is_empty() {
                // The file ends before the range does.
                return Ok(None);
            }
            let left = left - chunk.len() as u64;
            Ok(Some((bytes::Bytes::from(chunk), (file, left))))
        });
        Ok(Box::pin(chunks))
    }

    /// Every blob on disk. Blocking: call from `spawn_blocking` in async code.
    pub fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let mut blobs = Vec::new();
        let prefixes = match std::fs::read_dir(&self.dirs.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(blobs),
            Err(e) => return Err(e),
        };
        for prefix in prefixes {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(prefix.path())? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(sha256) = name.to_str().and_then(|n| Sha256Hex::parse(n).ok()) else {
                    continue;
                };
                if sha256.as_str()[..2] != *prefix.file_name() {
                    continue;
                }
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // Collected between listing and looking.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                blobs.push(BlobEntry {
                    sha256,
                    bytes: meta.len(),
                    modified: meta.modified()?,
                });
            }
        }
        blobs.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(blobs)
    }

    /// The blob's last modification (its arrival), or `None` when it is not there.
    pub fn modified(&self, sha256: &Sha256Hex) -> io::Result<Option<SystemTime>> {
        match std::fs::metadata(self.path(sha256)) {
            Ok(meta) => meta.modified().map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a blob; only `gc` does this, holding the exclusive lock.
    pub fn remove(&self, sha256: &Sha256Hex) -> io::Result<()> {
        let path = self.path(sha256);
        std::fs::remove_file(&path)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Files in `tmp/` that no live writer holds and that have not changed for `min_age`;
    /// removed unless `dry_run`. Blocking.
    pub fn sweep_tmp(&self, min_age: Duration, dry_run: bool) -> io::Result<TmpSweep> {
        let mut sweep = TmpSweep::default();
        let entries = match std::fs::read_dir(&self.dirs.tmp) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(sweep),
            Err(e) => return Err(e),
        };
        let now = SystemTime::now();
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let age = now
                .duration_since(meta.modified()?)
                .unwrap_or(Duration::ZERO);
            if age < min_age {
                continue;
            }
            if meta.is_file() {
                let Ok(file) = std::fs::File::open(&path) else {
                    continue;
                };
                if file.try_lock().is_err() {
                    continue; // an upload in progress
                }
                if !dry_run {
                    std::fs::remove_file(&path)?;
                }
            } else if !dry_run {
                std::fs::remove_dir_all(&path)?;
            }
            sweep.files += 1;
            sweep.bytes += meta.len();
        }
        Ok(sweep)
    }

    /// The lock an upload holds from renaming its blob into place until its row is committed.
    /// Many uploads share it; `gc` takes it exclusively to delete.
    pub async fn lock_shared(&self) -> io::Result<BlobLock> {
        self.take_lock(false).await
    }

    /// Waits until no upload is between placing its blob and committing its row.
    pub async fn lock_exclusive(&self) -> io::Result<BlobLock> {
        self.take_lock(true).await
    }

    async fn take_lock(&self, exclusive: bool) -> io::Result<BlobLock> {
        crate::lock_file(self.dirs.lock.clone(), exclusive).await
    }
}

/// An upload in progress. Dropped before `finish`, it leaves nothing behind.
#[derive(Debug)]
pub struct VolumeUpload {
    /// The file and the digest so far; on a blocking thread while a batch is written.
    sink: Option<Sink>,
    /// Received bytes not yet hashed and written.
    pending: Batch,
    path: PathBuf,
    written: u64,
    unchecked: u64,
    limits: Limits,
    store: VolumeBlobs,
    done: bool,
}

/// The file being written and the digest of what it holds.
///
/// Writes go through the page cache, and once the file is fsynced its pages are dropped
/// (`POSIX_FADV_DONTNEED`): nothing reads an upload back soon, and a dozen uploads at once
/// would otherwise fill the cache with pages the kernel must later reclaim. Direct writes
/// (`O_DIRECT`) avoid the cache too, but on ext4 a direct write into a new file waits for
/// the device and converts its extents one write at a time: on the development machine's disk
/// they reached 0.65–0.7 × the rate of ordinary writes with an fsync (see
/// `bench/RESULTS.md`, eighth round).
#[derive(Debug)]
struct Sink {
    file: std::fs::File,
    hasher: Sha256,
    offset: u64,
}

impl Sink {
    fn new(file: std::fs::File) -> Self {
        Self {
            file,
            hasher: Sha256::new(),
            offset: 0,
        }
    }

    /// Blocking: hashes and writes one batch.
    fn take(&mut self, batch: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.hasher.update(batch);
        self.file.write_all_at(batch, self.offset)?;
        self.offset += batch.len() as u64;
        Ok(())
    }

    /// Blocking: makes the file durable, then lets the kernel drop its cached pages (advice
    /// only; a file system that ignores it loses nothing).
    fn sync(&self) -> io::Result<()> {
        self.file.sync_all()?;
        let _ = rustix::fs::fadvise(&self.file, 0, None, rustix::fs::Advice::DontNeed);
        Ok(())
    }
}

/// Received bytes waiting for the disk. Its room is fixed; it never reallocates.
#[derive(Debug, Default)]
struct Batch {
    buf: Vec<u8>,
    room: usize,
}

impl Batch {
    fn new(room: usize) -> Self {
        Self {
            buf: Vec::with_capacity(room),
            room,
        }
    }

    /// Takes as much of `chunk` as fits; returns the rest.
    fn fill<'a>(&mut self, chunk: &'a [u8]) -> &'a [u8] {
        let (now, rest) = chunk.split_at((self.room - self.buf.len()).min(chunk.len()));
        self.buf.extend_from_slice(now);
        rest
    }

    fn is_full(&self) -> bool {
        self.buf.len() == self.room
    }

    fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

impl VolumeUpload {
    /// Bytes received so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, mut chunk: &[u8]) -> Result<(), BlobError> {
        let len = chunk.len() as u64;
        if self.written + len > self.limits.max_bytes {
            return Err(BlobError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        while !chunk.is_empty() {
            chunk = self.pending.fill(chunk);
            if self.pending.is_full() {
                self.write_pending().await?;
            }
        }
        self.written += len;
        self.unchecked += len;
        if self.unchecked >= SPACE_CHECK_EVERY {
            self.unchecked = 0;
            check_space(&self.store.dirs.tmp, self.limits.min_free_bytes, 0)?;
        }
        Ok(())
    }

    /// Hashes and writes the gathered bytes on a blocking thread; the batch comes back empty
    /// for the next bytes.
    async fn write_pending(&mut self) -> Result<(), BlobError> {
        let mut sink = self.sink.take().ok_or_else(Self::broken)?;
        let batch = std::mem::take(&mut self.pending);
        let (sink, mut batch, written) = tokio::task::spawn_blocking(move || {
            let written = sink.take(batch.bytes());
            (sink, batch, written)
        })
        .await
        .map_err(io::Error::other)?;
        self.sink = Some(sink);
        batch.buf.clear();
        self.pending = batch;
        written.map_err(|e| self.io_error(e))
    }

    /// An earlier write's thread failed and took the file with it.
    fn broken() -> BlobError {
        BlobError::Io(io::Error::other("an earlier write of this upload failed"))
    }

    /// Makes the content durable under its digest. The row may be committed once this
    /// returns; keep the returned lock until then.
    pub async fn finish(mut self) -> Result<Stored, BlobError> {
        let mut sink = self.sink.take().ok_or_else(Self::broken)?;
        let batch = std::mem::take(&mut self.pending);
        // The last batch, the fsync, the shared lock, the rename and the directory fsyncs in
        // one trip off the runtime's threads, which would otherwise stall every other request
        // for the disk (or for a running gc's lock).
        let store = self.store.clone();
        let path = self.path.clone();
        let placed = tokio::task::spawn_blocking(move || -> io::Result<(Sha256Hex, BlobLock)> {
            sink.take(batch.bytes())?;
            sink.sync()?;
            let sha256 = Sha256Hex::from_digest(&sink.hasher.finalize());
            let lock = crate::lock_file_blocking(&store.dirs.lock, false)?;
            store.adopt(&path, &sha256)?;
            Ok((sha256, lock))
        })
        .await
        .map_err(io::Error::other)?;
        let (sha256, lock) = placed.map_err(|e| self.io_error(e))?;
        self.done = true;
        taskflow_core::failpoint::failpoint("blob-placed").await;
        Ok(Stored {
            sha256,
            bytes: self.written,
            lock,
        })
    }

    fn io_error(&self, e: io::Error) -> BlobError {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => BlobError::VolumeFull {
                available: available_bytes(&self.store.dirs.tmp).unwrap_or(0),
                minimum: self.limits.min_free_bytes,
            },
            _ => BlobError::Io(e),
        }
    }
}

impl Drop for VolumeUpload {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove an abandoned upload");
        }
    }
}

fn check_space(dir: &Path, minimum: u64, needed: u64) -> Result<(), BlobError> {
    let available = available_bytes(dir)?;
    if available < minimum.saturating_add(needed) {
        return Err(BlobError::VolumeFull { available, minimum });
    }
    Ok(())
}

/// Makes `dir` and its missing parents, owner-only (0700) like the rest of the data directory.
fn private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes a directory's entries (a created, renamed or removed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: Limits = Limits {
        max_bytes: 1 << 20,
        min_free_bytes: 0,
    };

    fn tmp_files(store: &VolumeBlobs) -> usize {
        std::fs::read_dir(store.tmp_dir()).unwrap().count()
    }

    async fn put(store: &VolumeBlobs, content: &[u8]) -> Stored {
        let mut upload = store.begin(ROOMY, None).await.unwrap();
        for chunk in content.chunks(7) {
            upload.write(chunk).await.unwrap();
        }
        upload.finish().await.unwrap()
    }

    #[tokio::test]
    async fn content_is_stored_once_under_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = VolumeBlobs::new(dir.path());
        store.prepare().unwrap();
        let a = put(&store, b"hello, world").await;
        let b = put(&store, b"hello, world").await;
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(
            a.sha256.as_str(),
            "09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b"
        );
        assert_eq!(
            std::fs::read(store.path(&a.sha256)).unwrap(),
            b"hello, world"
        );
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].bytes, 12);
        assert_eq!(tmp_files(&store), 0);
        let empty = put(&store, b"").await;
        assert_eq!(empty.bytes, 0);
        assert_eq!(store.list().unwrap().len(), 2);
    }

    /// Sizes around the batch and block boundaries, in frames that do not line up with
    /// them, with and without an announced size: the stored file and its digest are exactly
    /// the bytes sent.
    #[tokio::test]
    async fn large_uploads_round_trip_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = VolumeBlobs::new(dir.path());
        store.prepare().unwrap();
        let limits = Limits {
            max_bytes: 4 * BATCH_BYTES as u64,
            min_free_bytes: 0,
        };
        let sizes = [
            BATCH_BYTES - 1,
            BATCH_BYTES,
            BATCH_BYTES + 1,
            2 * BATCH_BYTES + 3 * 4096,
            3 * BATCH_BYTES + 12_345,
        ];
        for size in sizes {
            let content: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            for announced in [None, Some(size as u64)] {
                let mut upload = store.begin(limits, announced).await.unwrap();
                for chunk in content.chunks(10_007) {
                    upload.write(chunk).await.unwrap();
                }
                assert_eq!(upload.written(), size as u64);
                let stored = upload.finish().await.unwrap();
                assert_eq!(stored.bytes, size as u64);
                assert_eq!(
                    stored.sha256,
                    Sha256Hex::from_digest(&Sha256::digest(&content)),
                    "{size} bytes, announced {announced:?}"
                );
                let on_disk = std::fs::read(store.path(&stored.sha256)).unwrap();
                assert!(on_disk == content, "{size} bytes, announced {announced:?}");
            }
        }
        assert_eq!(tmp_files(&store), 0);
    }

    #[tokio::test]
    async fn over_the_limit_or_abandoned_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = VolumeBlobs::new(dir.path());
        store.prepare().unwrap();
        let limits = Limits {
            max_bytes: 10,
            min_free_bytes: 0,
        };
        assert!(matches!(
            store.begin(limits, Some(11)).await,
            Err(BlobError::TooLarge { limit: 10 })
        ));
        let mut upload = store.begin(limits, None).await.unwrap();
        upload.write(b"0123456789").await.unwrap();
        assert!(matches!(
            upload.write(b"x").await,
            Err(BlobError::TooLarge { .. })
        ));
        drop(upload);
        assert_eq!(tmp_files(&store), 0);
        let mut upload = store.begin(limits, None).await.unwrap();
        upload.write(b"abc").await.unwrap();
        drop(upload);
        assert_eq!(tmp_files(&store), 0);
        assert!(store.list().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_free_space_minimum_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = VolumeBlobs::new(dir.path());
        store.prepare().unwrap();
        let available = available_bytes(dir.path()).unwrap();
        let limits = Limits {
            max_bytes: u64::MAX,
            min_free_bytes: available + (1 << 30),
        };
        assert!(matches!(
            store.begin(limits, None).await,
            Err(BlobError::VolumeFull { .. })
        ));
        assert_eq!(tmp_files(&store), 0);
    }

    #[tokio::test]
    async fn sweeps_spare_uploads_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = VolumeBlobs::new(dir.path());
        store.prepare().unwrap();
        std::fs::write(store.tmp_dir().join("upload-crashed"), b"partial").unwrap();
        let mut live = store.begin(ROOMY, None).await.unwrap();
        live.write(b"still coming").await.unwrap();
        assert_eq!(
            store.sweep_tmp(Duration::ZERO, true).unwrap(),
            TmpSweep { files: 1, bytes: 7 }
        );
        assert_eq!(tmp_files(&store), 2, "a dry run removes nothing");
        assert_eq!(
            store.sweep_tmp(Duration::from_secs(3600), false).unwrap(),
            TmpSweep::default(),
            "too recent"
        );
        assert_eq!(store.prepare().unwrap().files, 1);
        assert_eq!(tmp_files(&store), 1);
        let stored = live.finish().await.unwrap();
        assert_eq!(stored.bytes, 12);
        assert_eq!(tmp_files(&store), 0);
    }
}
