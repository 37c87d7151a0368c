//! Garbage collection: purges trash past its retention, deletes expired login sessions,
//! removes blobs no row refers to and uploads abandoned in `tmp/`.
//!
//! Safe while the server serves, in this process or another: a blob is only deleted while
//! holding the blob lock exclusively (no upload is then between placing its blob and
//! committing its row), after re-reading the references, and only when it arrived longer than
//! the grace period ago.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use taskflow_blobs::Blobs;
use taskflow_core::attachment::Sha256Hex;
use taskflow_core::trash::PurgeCounts;
use taskflow_core::{Store, Timestamp};

use crate::{OpsError, human_bytes};

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Blobs younger than this are kept even when nothing refers to them yet.
    pub grace: Duration,
    /// Trash older than this is purged.
    pub trash_retention: Duration,
    /// Report what would be done; change nothing.
    pub dry_run: bool,
}

/// What a run did, or would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    /// Another `gc` was running (here or on another server): this one did nothing.
    pub busy: bool,
    /// Rows purged from the trash; in a dry run, top-level trash items past retention.
    pub trash: PurgeCounts,
    pub trash_items_due: u64,
    /// Expired login sessions deleted (not counted in a dry run).
    pub sessions: u64,
    /// Failed-login counts past any throttle window, forgotten (not counted in a dry run).
    pub login_failures: u64,
    /// `Idempotency-Key`s older than a day, forgotten (not counted in a dry run).
    pub idempotency_keys: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
    pub tmp_files: u64,
    pub tmp_bytes: u64,
    /// Blobs that rows refer to but that are not on disk.
    pub missing: Vec<Sha256Hex>,
}

impl fmt::Display for GcReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, removed) = if self.dry_run {
            ("would purge", "would remove")
        } else {
            ("purged", "removed")
        };
        if self.busy {
            return writeln!(f, "another gc is running; nothing was done");
        }
        if self.dry_run {
            writeln!(
                f,
                "trash: {verb} {} item(s) past retention",
                self.trash_items_due
            )?;
            writeln!(
                f,
                "sessions: expired sessions, old failed-login counts and idempotency keys would be deleted"
            )?;
        } else {
            let t = &self.trash;
            writeln!(
                f,
                "trash: {verb} {} project(s), {} task(s), {} comment(s), {} attachment(s)",
                t.projects, t.tasks, t.comments, t.attachments
            )?;
            writeln!(
                f,
                "sessions: deleted {} expired, forgot {} old failed-login count(s) and {} idempotency key(s)",
                self.sessions, self.login_failures, self.idempotency_keys
            )?;
        }
        writeln!(
            f,
            "blobs: {removed} {} unreferenced ({})",
            self.blobs,
            human_bytes(self.blob_bytes)
        )?;
        writeln!(
            f,
            "tmp: {removed} {} abandoned upload(s) ({})",
            self.tmp_files,
            human_bytes(self.tmp_bytes)
        )?;
        if !self.missing.is_empty() {
            writeln!(
                f,
                "WARNING: {} blob(s) referenced by attachments are missing from the data directory; run `taskflow doctor`",
                self.missing.len()
            )?;
        }
        Ok(())
    }
}

/// Failed-login counts are kept this long after the last failure: well past any throttle
/// window, so forgetting them never lifts a lock early.
const LOGIN_FAILURES_KEPT: Duration = Duration::from_secs(24 * 3600);

/// Uploads in `tmp/` untouched for this long and held by no writer are abandoned.
const TMP_MIN_AGE: Duration = Duration::from_secs(60);

pub async fn run(
    store: &dyn Store,
    blobs: &Blobs,
    options: &GcOptions,
) -> Result<GcReport, OpsError> {
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };
    let Some(_running) = blobs
        .lock_gc()
        .await
        .map_err(OpsError::blobs("taking the gc lock"))?
    else {
        report.busy = true;
        return Ok(report);
    };
    let cutoff = Timestamp::from_unix_micros(
        Timestamp::now().unix_micros()
            - i64::try_from(options.trash_retention.as_micros()).unwrap_or(i64::MAX),
    );
    if options.dry_run {
        report.trash_items_due = store
            .trash(None)
            .await?
            .iter()
            .filter(|item| item.deleted_at < cutoff)
            .count() as u64;
    } else {
        report.trash = store.purge_trashed_before(cutoff).await?;
        if report.trash.total() > 0 {
            tracing::info!(counts = ?report.trash, "purged trash past retention");
        }
        report.sessions = store.delete_expired_sessions(Timestamp::now()).await?;
        report.login_failures = store
            .delete_expired_login_failures(Timestamp::now().saturating_sub(LOGIN_FAILURES_KEPT))
            .await?;
        report.idempotency_keys = store
            .delete_expired_idempotency_keys(
                Timestamp::now().saturating_sub(taskflow_core::store::once::KEPT),
            )
            .await?;
    }

    // An object store's unfinished uploads may be live on another server: their markers are
    // refreshed every minute, so only those older than the grace period (and the floor) go.
    let tmp_min_age = match blobs {
        Blobs::Volume(_) => TMP_MIN_AGE,
        Blobs::Object(_) => options.grace.max(taskflow_blobs::TMP_FLOOR),
    };
    let sweep = blobs
        .sweep_tmp(tmp_min_age, options.dry_run)
        .await
        .map_err(OpsError::blobs("sweeping abandoned uploads"))?;
    report.tmp_files = sweep.files;
    report.tmp_bytes = sweep.bytes;

    // First pass without the lock: find candidates.
    let referenced: HashSet<Sha256Hex> = store.referenced_blobs().await?.into_iter().collect();
    let on_disk = blobs
        .list()
        .await
        .map_err(OpsError::blobs("listing blobs"))?;
    let present: HashSet<&Sha256Hex> = on_disk.iter().map(|b| &b.sha256).collect();
    report.missing = referenced
        .iter()
        .filter(|sha| !present.contains(sha))
        .cloned()
        .collect();
    report.missing.sort();
    let now = SystemTime::now();
    let grace = options.grace;
    let old_enough =
        move |modified: SystemTime| now.duration_since(modified).is_ok_and(|age| age >= grace);
    let candidates: Vec<_> = on_disk
        .iter()
        .filter(|b| !referenced.contains(&b.sha256) && old_enough(b.modified))
        .cloned()
        .collect();
    if options.dry_run || candidates.is_empty() {
        report.blobs = candidates.len() as u64;
        report.blob_bytes = candidates.iter().map(|b| b.bytes).sum();
        return Ok(report);
    }

    // Second pass under the exclusive lock: no upload is between placing a blob and
    // committing its row, so the references read now are complete.
    let _lock = blobs
        .lock(true)
        .await
        .map_err(OpsError::blobs("locking the blob store"))?;
    let referenced: HashSet<Sha256Hex> = store.referenced_blobs().await?.into_iter().collect();
    for blob in candidates {
        if referenced.contains(&blob.sha256) {
            continue;
        }
        // Stored again since the listing: that gave it a fresh time.
        match blobs
            .modified(&blob.sha256)
            .await
            .map_err(OpsError::blobs("reading a blob's time"))?
        {
            Some(modified) if old_enough(modified) => {}
            _ => continue,
        }
        blobs
            .remove(&blob.sha256)
            .await
            .map_err(OpsError::blobs("removing a blob"))?;
        tracing::debug!(sha256 = %blob.sha256.as_str(), "removed an unreferenced blob");
        report.blobs += 1;
        report.blob_bytes += blob.bytes;
    }
    Ok(report)
}
