//! The storage report behind `taskflow storage` and the storage gauges on `/metrics`.

use std::fmt;
use std::path::PathBuf;

use taskflow_blobs::{BlobStore, Volume};
use taskflow_core::Store;
use taskflow_core::attachment::ProjectUsage;

use crate::{OpsError, blocking, human_bytes};

#[derive(Debug, Clone)]
pub struct StorageReport {
    pub backend: &'static str,
    pub data_dir: PathBuf,
    pub database_bytes: u64,
    pub blob_count: u64,
    pub blob_bytes: u64,
    pub tmp_files: u64,
    pub tmp_bytes: u64,
    pub volume: Volume,
    /// Attachment bytes each project holds (shared content counted in every project that
    /// holds it).
    pub projects: Vec<ProjectUsage>,
}

pub async fn report(store: &dyn Store, blobs: &BlobStore) -> Result<StorageReport, OpsError> {
    let database_bytes = store.database_bytes().await?;
    let projects = store.attachment_usage().await?;
    let data_dir = blobs.data_dir().to_owned();
    let blobs = blobs.clone();
    let (listing, tmp, volume) = blocking("reading the data directory", move || {
        let listing = blobs.list()?;
        let tmp = blobs.sweep_tmp(std::time::Duration::ZERO, true)?;
        let volume = Volume::of(blobs.data_dir())?;
        Ok((listing, tmp, volume))
    })
    .await?;
    Ok(StorageReport {
        backend: store.backend(),
        data_dir,
        database_bytes,
        blob_count: listing.len() as u64,
        blob_bytes: listing.iter().map(|b| b.bytes).sum(),
        tmp_files: tmp.files,
        tmp_bytes: tmp.bytes,
        volume,
        projects,
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
            "attachments     {} file(s), {}",
            self.blob_count,
            human_bytes(self.blob_bytes)
        )?;
        writeln!(
            f,
            "tmp             {} file(s), {}",
            self.tmp_files,
            human_bytes(self.tmp_bytes)
        )?;
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
