//! Restoring an archive, and finishing or undoing a restore that was interrupted.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use taskflow_blobs::{Blobs, Limits, VolumeBlobs};
use taskflow_core::Store;
use taskflow_core::attachment::Sha256Hex;
use tokio::sync::{mpsc, oneshot};

use super::format::Manifest;
use super::progress::Progress;
use super::read::{BlobSink, check_schema, read_archive, read_header};
use super::shelf::ArchiveRef;
use crate::OpsError;

/// Writes the files a restore reads into its staging directory, fsynced.
pub(super) struct Stage {
    dir: PathBuf,
}

impl BlobSink for Stage {
    fn blob(&mut self, sha256: &Sha256Hex, content: &mut dyn Read) -> io::Result<()> {
        let path = self.dir.join(sha256.as_str());
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?
        };
        io::copy(content, &mut file)?;
        file.sync_all()
    }
}

/// Puts the files a restore reads straight into an object store, under their digests: until
/// the database part commits nothing refers to them, and one that is never referred to is
/// removed by `gc` after its grace period like any other.
struct Put {
    blobs: Blobs,
    handle: tokio::runtime::Handle,
    /// What this restore stored that was not there before: removed again if it is refused.
    added: Arc<Mutex<Vec<Sha256Hex>>>,
}

impl BlobSink for Put {
    fn blob(&mut self, sha256: &Sha256Hex, content: &mut dyn Read) -> io::Result<()> {
        let existed = self
            .handle
            .block_on(self.blobs.modified(sha256))
            .map_err(io::Error::other)?
            .is_some();
        let limits = Limits {
            max_bytes: u64::MAX,
            min_free_bytes: 0,
        };
        let mut upload = self
            .handle
            .block_on(self.blobs.begin(limits, None))
            .map_err(io::Error::other)?;
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = content.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            self.handle
                .block_on(upload.write(&buffer[..n]))
                .map_err(io::Error::other)?;
        }
        // A damaged member is stored under the digest of what it holds, where no row will
        // refer to it; the reader then refuses the archive.
        let stored = self
            .handle
            .block_on(upload.finish())
            .map_err(io::Error::other)?;
        if !existed || stored.sha256 != *sha256 {
            self.added.lock().expect("not poisoned").push(stored.sha256);
        }
        Ok(())
    }
}

/// Finishes or undoes what an interrupted restore left in the staging directory: files the
/// database refers to are moved into place (the restore committed), the rest are removed.
pub async fn recover_staging(store: &dyn Store, blobs: &VolumeBlobs) -> Result<u64, OpsError> {
    let staging = blobs.staging_dir();
    if !staging.exists() {
        return Ok(0);
    }
    let referenced: BTreeSet<Sha256Hex> = store.referenced_blobs().await?.into_iter().collect();
    let blobs = blobs.clone();
    crate::blocking("recovering the restore staging directory", move || {
        let mut adopted = 0;
        for restore in std::fs::read_dir(&staging)? {
            let restore = restore?.path();
            if restore.is_dir() {
                for file in std::fs::read_dir(&restore)? {
                    let file = file?.path();
                    let sha256 = file
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| Sha256Hex::parse(n).ok());
                    match sha256 {
                        Some(sha256) if referenced.contains(&sha256) => {
                            blobs.adopt(&file, &sha256)?;
                            adopted += 1;
                        }
                        _ => std::fs::remove_file(&file)?,
                    }
                }
            }
            std::fs::remove_dir_all(&restore)?;
        }
        std::fs::remove_dir(&staging)?;
        Ok(adopted)
    })
    .await
}

/// Restores an archive into `store` and `blobs`: all or nothing. The archive is checked whole
/// before the database transaction commits; until then its files wait in the staging directory
/// (on a volume) or sit unreferenced under their digests (in an object store). An older archive
/// is restored at its schema version and migrated forward.
pub async fn restore(
    store: &dyn Store,
    blobs: &Blobs,
    path: &ArchiveRef,
    force: bool,
    progress: Progress,
) -> Result<Manifest, OpsError> {
    let latest = store.latest_schema_version();
    let archive = path.clone();
    let header = tokio::task::spawn_blocking(move || read_header(&archive))
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))??;
    check_schema(path, &header, latest)?;
    match store.schema_version().await? {
        Some(v) if v >= header.schema_version => {}
        _ => store.migrate_to(header.schema_version).await?,
    }
    if let Some(volume) = blobs.as_volume() {
        recover_staging(store, volume).await?;
    }
    if !force && store.has_data().await? {
        return Err(OpsError::Refused(
            "the target database already holds data; `taskflow restore --force` replaces all of it"
                .to_owned(),
        ));
    }
    progress.stage(format!("restore: reading {path}"), None);
    // gc removes nothing while the files wait for their rows.
    let _lock = blobs
        .lock(false)
        .await
        .map_err(OpsError::blobs("locking the blob store"))?;
    let staging = match blobs.as_volume() {
        Some(volume) => {
            let staging = volume
                .staging_dir()
                .join(format!("restore-{}", std::process::id()));
            std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                0o700,
            )
            .create(&staging)
            .map_err(OpsError::io(format!("cannot create {}", staging.display())))?;
            Some(staging)
        }
        None => None,
    };
    let added = Arc::new(Mutex::new(Vec::new()));
    let mut sink: Box<dyn BlobSink> = match &staging {
        Some(dir) => Box::new(Stage { dir: dir.clone() }),
        None => Box::new(Put {
            blobs: blobs.clone(),
            handle: tokio::runtime::Handle::current(),
            added: added.clone(),
        }),
    };
    let (header_tx, _header_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(1024);
    let archive = path.clone();
    let reader = tokio::task::spawn_blocking(move || {
        read_archive(&archive, latest, header_tx, tx, sink.as_mut())
    });
    let imported = store.import(rx, force).await;
    let read = reader.await.map_err(|e| OpsError::Refused(e.to_string()));
    // A refused restore leaves nothing behind: not its staged files, nor objects it added.
    let discard = || async {
        if let (Some(staging), Some(volume)) = (&staging, blobs.as_volume()) {
            let _ = std::fs::remove_dir_all(staging);
            // Only when no other restore's files are there.
            let _ = std::fs::remove_dir(volume.staging_dir());
        }
        let added = std::mem::take(&mut *added.lock().expect("not poisoned"));
        for sha256 in added {
            if let Err(e) = blobs.remove(&sha256).await {
                tracing::warn!(sha256 = sha256.as_str(), error = %e, "could not remove an object of a refused restore; gc will");
            }
        }
    };
    let manifest = match (read, imported) {
        (Ok(Ok(manifest)), Ok(_)) => manifest,
        (Ok(Err(e)), _) => {
            discard().await;
            return Err(e.into());
        }
        (Err(e), _) => {
            discard().await;
            return Err(e);
        }
        (Ok(Ok(_)), Err(e)) => {
            discard().await;
            return Err(e.into());
        }
    };
    // Committed: the files move into place (a crash now is finished by `recover_staging`).
    if let Some(volume) = blobs.as_volume() {
        recover_staging(store, volume).await?;
    }
    if header.schema_version < latest {
        store.migrate().await?;
    }
    progress.done();
    Ok(manifest)
}
