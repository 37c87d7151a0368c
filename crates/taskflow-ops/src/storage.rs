//! The storage report behind `taskflow storage` and the storage gauges on `/metrics`.

use std::fmt;
use std::path::{Path, PathBuf};

use taskflow_blobs::{Blobs, Volume};
use taskflow_core::Store;
use taskflow_core::attachment::ProjectUsage;

use crate::backup::ArchiveInfo;
use crate::{OpsError, blocking, human_bytes};

#[derive(Debug, Clone)]
pub struct StorageReport {
    pub backend: &'static str,
    pub data_dir: PathBuf,
    /// Where attachments are: the data directory's `blobs/` or `s3://bucket/prefix (endpoint)`.
    pub blob_location: String,
    /// Whether attachments are in an object store rather than on the data volume.
    pub object_store: bool,
    pub database_bytes: u64,
    pub blob_count: u64,
    pub blob_bytes: u64,
    pub tmp_files: u64,
    pub tmp_bytes: u64,
    pub volume: Volume,
    /// Attachment bytes each project holds (shared content counted in every project that
    /// holds it).
    pub projects: Vec<ProjectUsage>,
    /// Where backups go (a directory or `s3://…`), if known, and the newest archive there.
    pub backups: Option<(String, Option<ArchiveInfo>)>,
}

pub async fn report(
    store: &dyn Store,
    blobs: &Blobs,
    data_dir: &Path,
    backup_dir: Option<&crate::backup::Shelf>,
) -> Result<StorageReport, OpsError> {
    // Walking the blob store can take a while: a request that asks for this report must not
    // hold its read snapshot meanwhile.
    store.end_snapshot();
    let database_bytes = store.database_bytes().await?;
    let projects = store.attachment_usage().await?;
    let data_dir = data_dir.to_owned();
    let backups = match backup_dir {
        Some(shelf) => {
            let newest = match crate::backup::list(shelf).await {
                Ok(list) => list.into_iter().next(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(OpsError::io(format!("listing backups in {shelf}"))(e)),
            };
            Some((shelf.to_string(), newest))
        }
        None => None,
    };
    let volume = blocking("measuring the data volume", {
        let data_dir = data_dir.clone();
        move || Volume::of(&data_dir)
    })
    .await?;
    let listing = blobs
        .list()
        .await
        .map_err(OpsError::blobs("listing attachments"))?;
    let tmp = blobs
        .sweep_tmp(std::time::Duration::ZERO, true)
        .await
        .map_err(OpsError::blobs("listing unfinished uploads"))?;
    Ok(StorageReport {
        backend: store.backend(),
        data_dir,
        blob_location: blobs.describe(),
        object_store: blobs.as_volume().is_none(),
        database_bytes,
        blob_count: listing.len() as u64,
        blob_bytes: listing.iter().map(|b| b.bytes).sum(),
        tmp_files: tmp.files,
        tmp_bytes: tmp.bytes,
        volume,
        projects,
        backups,
    })
}

impl fmt::Display for StorageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.volume;
        writeln!(f, "data directory  {}", self.data_dir.display())?;
        writeln!(
            f,
            "volume          {} total, {} used ({:.0} %), {} available ({})",
            human_bytes(v.total_bytes),
            human_bytes(v.used_bytes),
            v.used_fraction() * 100.0,
            human_bytes(v.available_bytes),
            v.filesystem.name()
        )?;
        writeln!(
            f,
            "database        {} ({})",
            human_bytes(self.database_bytes),
            self.backend
        )?;
        writeln!(
            f,
            "attachments     {} file(s), {}{}",
            self.blob_count,
            human_bytes(self.blob_bytes),
            if self.object_store {
                format!(" in {}", self.blob_location)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "tmp             {} file(s), {}",
            self.tmp_files,
            human_bytes(self.tmp_bytes)
        )?;
        match &self.backups {
            None => writeln!(f, "last backup     unknown (set TASKFLOW_BACKUP_DIR)")?,
            Some((dir, None)) => writeln!(f, "last backup     none in {dir}")?,
            Some((_, Some(last))) => writeln!(
                f,
                "last backup     {} ({}, {})",
                last.time
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                last.name,
                human_bytes(last.bytes)
            )?,
        }
        if !self.projects.is_empty() {
            writeln!(
                f,
                "\n{:<12} {:>11} {:>12}",
                "project", "attachments", "bytes"
            )?;
            for p in &self.projects {
                writeln!(
                    f,
                    "{:<12} {:>11} {:>12}",
                    p.key.as_str(),
                    p.attachments,
                    human_bytes(p.bytes)
                )?;
            }
        }
        Ok(())
    }
}
