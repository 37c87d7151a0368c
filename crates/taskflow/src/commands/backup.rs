//! `taskflow backup create|list|prune|verify` and `taskflow restore`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use taskflow_blobs::BlobStore;
use taskflow_core::store::StoreAdmin;
use taskflow_ops::backup::{self, Progress, Retention};
use taskflow_ops::human_bytes;
use taskflow_store::SqliteStore;

use crate::cli::BackupCommand;
use crate::commands::{
    CommandError, CommandResult, claim_installation, connect_migrated, create_and_connect,
    existing_data_dir, failed,
};
use crate::config::Settings;

fn dir_or_setting(dir: Option<PathBuf>, settings: &Settings) -> Result<PathBuf, CommandError> {
    dir.or_else(|| settings.backup_dir.clone()).ok_or_else(|| {
        CommandError::usage("name the backup directory, or set TASKFLOW_BACKUP_DIR (--backup-dir)")
    })
}

fn progress() -> Progress {
    Progress::new(std::io::stderr().is_terminal())
}

pub async fn run(command: BackupCommand, settings: &Settings) -> CommandResult {
    match command {
        BackupCommand::Create { output } => {
            let output = dir_or_setting(output, settings)?;
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
            println!("{}", path.display());
            Ok(())
        }
        BackupCommand::List { dir } => {
            let dir = dir_or_setting(dir, settings)?;
            let archives = backup::list(&dir)
                .map_err(|e| CommandError::new(format!("cannot list {}: {e}", dir.display())))?;
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
            let dir = dir_or_setting(dir, settings)?;
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
                .map_err(|e| CommandError::new(format!("cannot prune {}: {e}", dir.display())))?;
            let verb = if dry_run { "would remove" } else { "removed" };
            for archive in &removed {
                println!("{verb} {}", archive.name);
            }
            println!("kept {} archive(s), {verb} {}", kept.len(), removed.len());
            Ok(())
        }
        BackupCommand::Verify { archive } => verify(&archive).await,
    }
}

async fn verify(archive: &Path) -> CommandResult {
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
        "{} is sound: format {}, schema version {}, from {} ({}), {} rows in {} tables, {} attachment files ({}); restored into a scratch database and matched",
        archive.display(),
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
    let (store, created) = create_and_connect(settings).await?;
    // Nothing may be replaced under a running server: it would go on with what it had read
    // and write into the restored data.
    let Some(claim) = claim_installation(settings, store.as_ref(), true).await? else {
        store.close().await;
        return Err(CommandError::new(format!(
            "restore refused: a taskflow server is using {} (or {}); stop every `taskflow serve` on it first",
            settings.data_dir.display(),
            settings.database_url
        )));
    };
    if settings.s3.is_some() {
        store.close().await;
        created.undo();
        return Err(CommandError::new(
            "restore refused: restoring into an installation that keeps attachments in object \
             storage is not available in this version; restore into one on a volume",
        ));
    }
    let blobs = BlobStore::new(&settings.data_dir);
    let result = backup::restore(store.as_ref(), &blobs, archive, force, progress()).await;
    drop(claim);
    store.close().await;
    if result.is_err() {
        // A refused restore leaves no trace: not even the directory it made for the data.
        created.undo();
    }
    let manifest = result.map_err(failed("restore refused"))?;
    println!(
        "restored {} rows and {} attachment files from {} (taken {} on {}) into {}",
        manifest.rows(),
        manifest.blobs.len(),
        archive.display(),
        manifest.header.created_at,
        manifest.header.source_backend,
        settings.database_url
    );
    Ok(())
}
