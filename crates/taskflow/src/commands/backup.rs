//! `taskflow backup create|list|prune|verify` and `taskflow restore`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use taskflow_core::store::StoreAdmin;
use taskflow_ops::backup::{self, ArchiveRef, Progress, Retention, Shelf};
use taskflow_ops::human_bytes;
use taskflow_store::SqliteStore;

use crate::cli::BackupCommand;
use crate::commands::{
    CommandError, CommandResult, claim_installation, connect_migrated, create_and_connect,
    existing_data_dir, failed,
};
use crate::config::Settings;

/// The directory or `s3://bucket/prefix` given, else `backup_dir`.
fn shelf_or_setting(dir: Option<PathBuf>, settings: &Settings) -> Result<Shelf, CommandError> {
    let location = dir.or_else(|| settings.backup_dir.clone()).ok_or_else(|| {
        CommandError::usage(
            "name the backup directory (or s3://bucket/prefix), or set TASKFLOW_BACKUP_DIR (--backup-dir)",
        )
    })?;
    crate::commands::shelf(settings, &location)
}

fn progress() -> Progress {
    Progress::new(std::io::stderr().is_terminal())
}

pub async fn run(command: BackupCommand, settings: &Settings) -> CommandResult {
    match command {
        BackupCommand::Create { output } => {
            let output = shelf_or_setting(output, settings)?;
            existing_data_dir(settings)?;
            let store = connect_migrated(settings).await?;
            let blobs = crate::commands::open_blobs(settings, &store)?;
            let result = backup::create(store.as_ref(), &blobs, &output, progress()).await;
            store.close().await;
            let (path, manifest) = result.map_err(failed("backup failed"))?;
            eprintln!(
                "backed up {} rows and {} attachment files ({})",
                manifest.rows(),
                manifest.blobs.len(),
                human_bytes(manifest.blob_bytes())
            );
            println!("{path}");
            Ok(())
        }
        BackupCommand::List { dir } => {
            let dir = shelf_or_setting(dir, settings)?;
            let archives = backup::list(&dir)
                .await
                .map_err(|e| CommandError::new(format!("cannot list {dir}: {e}")))?;
            for archive in archives {
                println!(
                    "{}  {:>10}  {}",
                    archive
                        .time
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    human_bytes(archive.bytes),
                    archive.name
                );
            }
            Ok(())
        }
        BackupCommand::Prune {
            dir,
            keep_last,
            keep_daily,
            keep_weekly,
            keep_monthly,
            dry_run,
        } => {
            let dir = shelf_or_setting(dir, settings)?;
            let retention = Retention {
                last: keep_last,
                daily: keep_daily,
                weekly: keep_weekly,
                monthly: keep_monthly,
            };
            if keep_last + keep_daily + keep_weekly + keep_monthly == 0 {
                return Err(CommandError::usage(
                    "prune needs at least one --keep-… option; it never deletes every backup",
                ));
            }
            let (kept, removed) = backup::prune(&dir, retention, dry_run)
                .await
                .map_err(|e| CommandError::new(format!("cannot prune {dir}: {e}")))?;
            let verb = if dry_run { "would remove" } else { "removed" };
            for archive in &removed {
                println!("{verb} {}", archive.name);
            }
            println!("kept {} archive(s), {verb} {}", kept.len(), removed.len());
            Ok(())
        }
        BackupCommand::Verify { archive } => {
            verify(&crate::commands::archive(settings, &archive)?).await
        }
    }
}

async fn verify(archive: &ArchiveRef) -> CommandResult {
    let scratch = tempfile::Builder::new()
        .prefix("taskflow-verify-")
        .tempdir()
        .map_err(|e| CommandError::new(format!("cannot create a scratch directory: {e}")))?;
    let store = SqliteStore::open(&scratch.path().join("taskflow.db"))
        .await
        .map_err(|e| CommandError::new(format!("cannot open a scratch database: {e}")))?;
    let manifest = backup::verify(archive, &store).await;
    store.close().await;
    let manifest = manifest.map_err(failed("verification failed"))?;
    println!(
        "{archive} is sound: format {}, schema version {}, from {} ({}), {} rows in {} tables, {} attachment files ({}); restored into a scratch database and matched",
        manifest.header.format,
        manifest.header.schema_version,
        manifest.header.source_backend,
        manifest.header.created_at,
        manifest.rows(),
        manifest.tables.len(),
        manifest.blobs.len(),
        human_bytes(manifest.blob_bytes())
    );
    Ok(())
}

pub async fn restore(settings: &Settings, archive: &Path, force: bool) -> CommandResult {
    let archive = crate::commands::archive(settings, archive)?;
    let (store, created) = create_and_connect(settings).await?;
    // Nothing may be replaced under a running server: it would go on with what it had read
    // and write into the restored data.
    let claimed = claim_installation(settings, store.as_ref(), true).await;
    let Ok(Some(claim)) = claimed else {
        store.close().await;
        // Refused, it leaves nothing behind: not the data directory it made either.
        created.undo();
        claimed?;
        return Err(CommandError::new(format!(
            "restore refused: a taskflow server is using {} (or {}); stop every `taskflow serve` on it first",
            settings.data_dir.display(),
            settings.database_url
        )));
    };
    let blobs = match crate::commands::open_blobs(settings, &store) {
        Ok(blobs) => blobs,
        Err(e) => {
            store.close().await;
            created.undo();
            return Err(e);
        }
    };
    let result = backup::restore(store.as_ref(), &blobs, &archive, force, progress()).await;
    drop(claim);
    store.close().await;
    if result.is_err() {
        // A refused restore leaves no trace: not even the directory it made for the data.
        created.undo();
    }
    let manifest = result.map_err(failed("restore refused"))?;
    println!(
        "restored {} rows and {} attachment files from {archive} (taken {} on {}) into {}",
        manifest.rows(),
        manifest.blobs.len(),
        manifest.header.created_at,
        manifest.header.source_backend,
        settings.database_url
    );
    Ok(())
}
