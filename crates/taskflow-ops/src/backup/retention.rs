//! The archives in a directory, and retention.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use super::format::{archive_time, sync_dir};

/// A backup archive in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub name: String,
    pub path: PathBuf,
    pub time: time::OffsetDateTime,
    /// Which of the archives taken in that second (0 for the first).
    pub sequence: u32,
    pub bytes: u64,
}

/// The archives in `dir`, newest first. Unfinished (`.partial`) files are not archives.
pub fn list(dir: &Path) -> io::Result<Vec<ArchiveInfo>> {
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((time, sequence)) = archive_time(&name) else {
            continue;
        };
        archives.push(ArchiveInfo {
            bytes: entry.metadata()?.len(),
            path: entry.path(),
            name,
            time,
            sequence,
        });
    }
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

/// Applies `retention` to the archives in `dir`; returns what was kept and what removed (or
/// would be, with `dry_run`).
pub fn prune(
    dir: &Path,
    retention: Retention,
    dry_run: bool,
) -> io::Result<(Vec<ArchiveInfo>, Vec<ArchiveInfo>)> {
    let archives = list(dir)?;
    let keep = kept(&archives, retention);
    let (mut kept_list, mut removed) = (Vec::new(), Vec::new());
    for (i, archive) in archives.into_iter().enumerate() {
        if keep.contains(&i) {
            kept_list.push(archive);
        } else {
            if !dry_run {
                std::fs::remove_file(&archive.path)?;
            }
            removed.push(archive);
        }
    }
    if !dry_run && !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok((kept_list, removed))
}
