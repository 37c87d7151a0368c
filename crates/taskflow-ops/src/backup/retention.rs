//! The archives on a shelf (a directory or a bucket), and retention.

use std::collections::BTreeSet;
use std::io;

use super::format::{archive_time, sync_dir};
use super::shelf::{ArchiveRef, Shelf};

/// A backup archive on a shelf.
#[derive(Debug, Clone)]
pub struct ArchiveInfo {
    pub name: String,
    pub archive: ArchiveRef,
    pub time: time::OffsetDateTime,
    /// Which of the archives taken in that second (0 for the first).
    pub sequence: u32,
    pub bytes: u64,
}

fn s3_error(e: taskflow_blobs::S3Problem) -> io::Error {
    io::Error::other(e.message)
}

/// The archives on `shelf`, newest first. Unfinished (`.partial`) files and uploads not yet
/// completed are not archives.
pub async fn list(shelf: &Shelf) -> io::Result<Vec<ArchiveInfo>> {
    let files: Vec<(String, u64)> = match shelf {
        Shelf::Dir(dir) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || -> io::Result<_> {
                let mut files = Vec::new();
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if archive_time(&name).is_some() {
                        files.push((name, entry.metadata()?.len()));
                    }
                }
                Ok(files)
            })
            .await
            .map_err(io::Error::other)??
        }
        Shelf::Bucket(bucket) => bucket
            .list()
            .await
            .map_err(s3_error)?
            .into_iter()
            .map(|f| (f.name, f.bytes))
            .collect(),
    };
    let mut archives: Vec<ArchiveInfo> = files
        .into_iter()
        .filter_map(|(name, bytes)| {
            let (time, sequence) = archive_time(&name)?;
            Some(ArchiveInfo {
                archive: shelf.archive(&name),
                name,
                time,
                sequence,
                bytes,
            })
        })
        .collect();
    archives.sort_by_key(|a| std::cmp::Reverse((a.time, a.sequence)));
    Ok(archives)
}

/// What `prune` keeps: the newest `last`, and the newest archive of each of the newest
/// `daily` days, `weekly` ISO weeks and `monthly` months that have one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub last: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// Which of `archives` (newest first) `retention` keeps, by index.
pub fn kept(archives: &[ArchiveInfo], retention: Retention) -> BTreeSet<usize> {
    let mut keep: BTreeSet<usize> = (0..retention.last.min(archives.len())).collect();
    let mut by_period = |count: usize, period: &dyn Fn(&time::OffsetDateTime) -> (i32, u32)| {
        let mut seen = BTreeSet::new();
        for (i, archive) in archives.iter().enumerate() {
            if seen.len() == count {
                break;
            }
            if seen.insert(period(&archive.time)) {
                keep.insert(i);
            }
        }
    };
    by_period(retention.daily, &|t| (t.year(), t.ordinal() as u32));
    by_period(retention.weekly, &|t| {
        let (year, week, _) = t.to_iso_week_date();
        (year, week as u32)
    });
    by_period(retention.monthly, &|t| (t.year(), t.month() as u32));
    keep
}

/// Applies `retention` to the archives on `shelf`; returns what was kept and what removed (or
/// would be, with `dry_run`).
pub async fn prune(
    shelf: &Shelf,
    retention: Retention,
    dry_run: bool,
) -> io::Result<(Vec<ArchiveInfo>, Vec<ArchiveInfo>)> {
    let archives = list(shelf).await?;
    let keep = kept(&archives, retention);
    let (mut kept_list, mut removed) = (Vec::new(), Vec::new());
    for (i, archive) in archives.into_iter().enumerate() {
        if keep.contains(&i) {
            kept_list.push(archive);
        } else {
            if !dry_run {
                match &archive.archive {
                    ArchiveRef::File(path) => std::fs::remove_file(path)?,
                    ArchiveRef::Object(bucket, name) => {
                        bucket.delete(name).await.map_err(s3_error)?
                    }
                }
            }
            removed.push(archive);
        }
    }
    if !dry_run
        && !removed.is_empty()
        && let Shelf::Dir(dir) = shelf
    {
        sync_dir(dir)?;
    }
    Ok((kept_list, removed))
}
