//! Restoring an archive, and finishing or undoing a restore that was interrupted.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use taskflow_blobs::BlobStore;
use taskflow_core::Store;
use taskflow_core::attachment::Sha256Hex;
use tokio::sync::{mpsc, oneshot};

use super::format::Manifest;
use super::progress::Progress;
use super::read::{BlobSink, check_schema, read_archive, read_header};
use crate::OpsError;

/// Writes the files a restore reads into its staging directory, fsynced.
pub(super) struct Stage {
    dir: PathBuf,
}

impl BlobSink for Stage {
    fn blob(&mut self, sha256: &Sha256Hex, content: &mut dyn Read) -> io::Result<()> {
        let path = self.dir.join(sha256.as_str());
        let mut file = File::create(&path)?;
        io::copy(content, &mut file)?;
        file.sync_all()
    }
}

/// Finishes or undoes what an interrupted restore left in the staging directory: files the
/// database refers to are moved into place (the restore committed), the rest are removed.
pub async fn recover_staging(store: &dyn Store, blobs: &BlobStore) -> Result<u64, OpsError> {
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
/// before the database transaction commits; its files wait in the staging directory until
/// then. An older archive is restored at its schema version and migrated forward.
pub async fn restore(
    store: &dyn Store,
    blobs: &BlobStore,
    path: &Path,
    force: bool,
    progress: Progress,
) -> Result<Manifest, OpsError> {
    let latest = store.latest_schema_version();
    let archive = path.to_owned();
    let header = tokio::task::spawn_blocking(move || read_header(&archive))
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))??;
    check_schema(path, &header, latest)?;
    match store.schema_version().await? {
        Some(v) if v >= header.schema_version => {}
        _ => store.migrate_to(header.schema_version).await?,
    }
    recover_staging(store, blobs).await?;
    if !force && store.has_data().await? {
        return Err(OpsError::Refused(
            "the target database already holds data; `taskflow restore --force` replaces all of it"
                .to_owned(),
        ));
    }
    progress.stage(format!("restore: reading {}", path.display()), None);
    let staging = blobs
        .staging_dir()
        .join(format!("restore-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .map_err(OpsError::io(format!("cannot create {}", staging.display())))?;
    let (header_tx, _header_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(1024);
    let archive = path.to_owned();
    let mut sink = Stage {
        dir: staging.clone(),
    };
    let reader = tokio::task::spawn_blocking(move || {
        read_archive(&archive, latest, header_tx, tx, &mut sink)
    });
    let imported = store.import(rx, force).await;
    let read = reader.await.map_err(|e| OpsError::Refused(e.to_string()));
    let discard = || {
        let _ = std::fs::remove_dir_all(&staging);
        // Only when no other restore's files are there.
        let _ = std::fs::remove_dir(blobs.staging_dir());
    };
    let manifest = match (read, imported) {
        (Ok(Ok(manifest)), Ok(_)) => manifest,
        (Ok(Err(e)), _) => {
            discard();
            return Err(e.into());
        }
        (Err(e), _) => {
            discard();
            return Err(e);
        }
        (Ok(Ok(_)), Err(e)) => {
            discard();
            return Err(e.into());
        }
    };
    // Committed: the files move into place (a crash now is finished by `recover_staging`).
    recover_staging(store, blobs).await?;
    if header.schema_version < latest {
        store.migrate().await?;
    }
    progress.done();
    Ok(manifest)
}
