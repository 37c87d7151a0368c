//! `taskflow gc`, `taskflow storage` and `taskflow doctor`: the data volume's (or the object
//! store's) upkeep.

use std::sync::Arc;

use taskflow_blobs::{Blobs, FileLocker, ObjectBlobs};
use taskflow_ops::checks::{self, Check};
use taskflow_ops::gc::GcOptions;

use crate::commands::{
    CommandError, CommandResult, connect_existing, connect_migrated, existing_data_dir, failed,
    open_blobs,
};
use crate::config::{DatabaseUrl, Settings};

pub fn gc_options(settings: &Settings, dry_run: bool) -> GcOptions {
    GcOptions {
        grace: settings.gc_grace,
        trash_retention: std::time::Duration::from_secs(
            u64::from(settings.trash_retention_days) * 24 * 3600,
        ),
        dry_run,
    }
}

pub async fn gc(settings: &Settings, dry_run: bool) -> CommandResult {
    existing_data_dir(settings)?;
    let store = connect_migrated(settings).await?;
    let blobs = open_blobs(settings, &store)?;
    let report = taskflow_ops::gc::run(store.as_ref(), &blobs, &gc_options(settings, dry_run))
        .await
        .map_err(failed("gc failed"))?;
    if dry_run {
        println!("dry run: nothing was changed");
    }
    print!("{report}");
    store.close().await;
    Ok(())
}

pub async fn storage(settings: &Settings, json: bool) -> CommandResult {
    existing_data_dir(settings)?;
    let store = connect_migrated(settings).await?;
    let blobs = open_blobs(settings, &store)?;
    let report = taskflow_ops::storage::report(
        store.as_ref(),
        &blobs,
        &settings.data_dir,
        settings
            .backup_dir
            .as_deref()
            .map(|location| crate::commands::shelf(settings, location))
            .transpose()?
            .as_ref(),
    )
    .await
    .map_err(failed("cannot measure storage"))?;
    store.close().await;
    if !json {
        print!("{report}");
        return Ok(());
    }
    let v = &report.volume;
    let projects: Vec<_> = report
        .projects
        .iter()
        .map(|p| {
            serde_json::json!({
                "key": p.key.as_str(),
                "attachments": p.attachments,
                "bytes": p.bytes,
            })
        })
        .collect();
    let out = serde_json::json!({
        "data_dir": report.data_dir,
        "blob_store": report.blob_location,
        "object_store": report.object_store,
        "backend": report.backend,
        "database_bytes": report.database_bytes,
        "blobs": report.blob_count,
        "blob_bytes": report.blob_bytes,
        "tmp_files": report.tmp_files,
        "tmp_bytes": report.tmp_bytes,
        "volume": {
            "filesystem": v.filesystem.name(),
            "total_bytes": v.total_bytes,
            "used_bytes": v.used_bytes,
            "available_bytes": v.available_bytes,
        },
        "projects": projects,
        "backup_dir": report.backups.as_ref().map(|(dir, _)| dir),
        "last_backup": report.backups.as_ref().and_then(|(_, last)| last.as_ref()).map(|last| {
            serde_json::json!({
                "name": last.name,
                "time": last.time.unix_timestamp(),
                "bytes": last.bytes,
            })
        }),
    });
    println!("{out:#}");
    Ok(())
}

pub async fn doctor(settings: &Settings) -> CommandResult {
    let dir = &settings.data_dir;
    let sqlite = matches!(settings.database_url, DatabaseUrl::Sqlite(_));
    // Doctor takes no locks: the file locker stands in for the database's.
    let blobs = match &settings.s3 {
        None => Blobs::volume(dir),
        Some(config) => Blobs::Object(
            ObjectBlobs::connect(config.clone(), Arc::new(FileLocker(dir.join("blobs.lock"))))
                .map_err(|e| CommandError::new(format!("cannot use the object store: {e}")))?,
        ),
    };
    let mut all: Vec<Check> = vec![checks::data_dir(dir)];
    let dir_exists = dir.is_dir();
    if dir_exists {
        all.push(checks::filesystem(dir, sqlite));
        all.push(checks::free_space(dir, settings.min_free_bytes));
        if let Some(volume) = blobs.as_volume() {
            all.push(checks::leftovers(volume));
        }
    }
    if blobs.as_volume().is_none() {
        all.push(checks::object_store(&blobs).await);
    }
    print_checks(&all);
    let before = all.len();
    match &settings.database_url {
        DatabaseUrl::Sqlite(path) if !path.is_file() => all.push(Check {
            name: "database",
            status: checks::Status::Fail,
            detail: format!("no database at {}", path.display()),
            fix: Some(
                "`taskflow serve` (or `taskflow migrate`) creates it; if one existed, the data \
                 directory is not the volume it was on: check the mount"
                    .to_owned(),
            ),
        }),
        _ => match connect_existing(settings).await {
            Ok(store) => {
                all.extend(checks::database(store.as_ref()).await);
                if dir_exists && !all.iter().any(Check::failed) {
                    all.push(checks::attachments(store.as_ref(), &blobs).await);
                }
                store.close().await;
            }
            Err(e) => all.push(checks::unreachable(e.message)),
        },
    }
    print_checks(&all[before..]);
    let failed = all.iter().filter(|c| c.failed()).count();
    if failed > 0 {
        return Err(CommandError::new(format!(
            "{failed} check(s) failed; see the fixes above"
        )));
    }
    println!("all checks passed");
    Ok(())
}

fn print_checks(checks: &[Check]) {
    for check in checks {
        println!("{check}");
    }
}
