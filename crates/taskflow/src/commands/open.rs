//! Opening what a command works on: the data directory (made private, claimed against a second
//! installation), the database (created, connected, migrated), the blob store, and where
//! backups are kept (a directory or a bucket).

use std::path::Path;
use std::sync::Arc;

use taskflow_core::Store;
use taskflow_ops::backup::{ArchiveRef, Shelf};
use taskflow_store::PgStore;
use taskflow_store::SqliteStore;

use super::CommandError;
use crate::config::{DatabaseUrl, Settings};

/// What `create_and_connect` made that was not there before, so a refused command can take
/// it away again.
#[derive(Debug, Default)]
pub struct Created {
    dirs: Vec<std::path::PathBuf>,
    database: Option<std::path::PathBuf>,
}

impl Created {
    /// Removes what was made (the store must be closed first).
    pub fn undo(self) {
        if let Some(db) = &self.database {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut path = db.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
        for dir in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Creates `dir` and any missing parents, readable by this user only (the data holds password
/// hashes and session tokens); returns the directories it made, outermost first.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::os::unix::fs::DirBuilderExt;
    let missing: Vec<std::path::PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(|d| d.to_owned())
        .collect();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    Ok(missing.into_iter().rev().collect())
}

/// For the commands that may start an installation (`serve`, `migrate`, `restore`): creates the
/// data directory and, for SQLite, the database file, owner-only, then connects.
pub async fn create_and_connect(
    settings: &Settings,
) -> Result<(Arc<dyn Store>, Created), CommandError> {
    let mut created = Created::default();
    let cannot = |dir: &std::path::Path, e: std::io::Error| {
        CommandError::new(format!("cannot create {}: {e}", dir.display()))
    };
    created.dirs =
        create_private_dir(&settings.data_dir).map_err(|e| cannot(&settings.data_dir, e))?;
    if let DatabaseUrl::Sqlite(path) = &settings.database_url {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let made = create_private_dir(parent).map_err(|e| cannot(parent, e))?;
            created.dirs.extend(made);
        }
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => created.database = Some(path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cannot(path, e)),
        }
    }
    // Made or not, the file is left alone if opening it fails: another process starting at
    // the same moment may be using it already.
    Ok((connect_existing(settings).await?, created))
}

/// An installation claimed by this process: by each `serve` (shared) or by `restore` (alone).
/// Released when dropped, and by the system when the process dies.
pub struct InUse {
    _file: std::fs::File,
    _database: taskflow_core::store::Claim,
}

/// Claims the installation: `<data-dir>/in-use.lock` (which covers SQLite and the attachment
/// files) and, on PostgreSQL, an advisory lock in the database (which covers servers on other
/// machines). A shared claim waits while a restore holds it alone; an exclusive one is `None`
/// at once when anyone else holds a claim.
pub async fn claim_installation(
    settings: &Settings,
    store: &dyn Store,
    exclusive: bool,
) -> Result<Option<InUse>, CommandError> {
    use std::fs::TryLockError;
    use std::os::unix::fs::OpenOptionsExt;
    let path = settings.data_dir.join("in-use.lock");
    let cannot =
        |e: std::io::Error| CommandError::new(format!("cannot lock {}: {e}", path.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(cannot)?;
    let tried = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    let file = match tried {
        Ok(()) => file,
        Err(TryLockError::WouldBlock) if exclusive => return Ok(None),
        Err(TryLockError::WouldBlock) => {
            tracing::warn!(lock = %path.display(), "a restore is replacing this installation; waiting for it to finish");
            tokio::task::spawn_blocking(move || file.lock_shared().map(|()| file))
                .await
                .map_err(|e| CommandError::new(e.to_string()))?
                .map_err(cannot)?
        }
        Err(TryLockError::Error(e)) => return Err(cannot(e)),
    };
    Ok(store.claim(exclusive).await?.map(|database| InUse {
        _file: file,
        _database: database,
    }))
}

/// The installation's blob store: the object store when `s3_bucket` is set, else the volume.
pub fn open_blobs(
    settings: &Settings,
    store: &Arc<dyn Store>,
) -> Result<taskflow_blobs::Blobs, CommandError> {
    taskflow_blobs::open_blobs(&settings.data_dir, settings.s3.as_ref(), store.clone())
        .map_err(|e| CommandError::new(format!("cannot use the object store: {e}")))
}

/// Where archives are kept: a directory, or `s3://bucket[/prefix]` in the installation's object
/// store (its endpoint, region and credentials) or, for an installation on a volume, the store
/// the AWS environment names (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`…).
pub fn shelf(settings: &Settings, location: &Path) -> Result<Shelf, CommandError> {
    match s3_location(location)? {
        None => Ok(Shelf::Dir(location.to_owned())),
        Some((bucket, prefix)) => Ok(Shelf::Bucket(bucket_at(settings, bucket, prefix)?)),
    }
}

/// One archive: a file, or `s3://bucket/prefix/taskflow-….tar.zst` (see `shelf`).
pub fn archive(settings: &Settings, location: &Path) -> Result<ArchiveRef, CommandError> {
    let Some((bucket, key)) = s3_location(location)? else {
        return Ok(ArchiveRef::File(location.to_owned()));
    };
    let key = key.trim_end_matches('/');
    let (prefix, name) = key.rsplit_once('/').unwrap_or(("", key));
    if name.is_empty() {
        return Err(CommandError::usage(format!(
            "{} names a bucket, not an archive in it (s3://bucket/prefix/taskflow-….tar.zst)",
            location.display()
        )));
    }
    let prefix = taskflow_blobs::normalise_prefix(prefix).map_err(CommandError::usage)?;
    Ok(ArchiveRef::Object(
        bucket_at(settings, bucket, prefix)?,
        name.to_owned(),
    ))
}

/// The bucket and key prefix of an `s3://` location; `None` for a path.
fn s3_location(location: &Path) -> Result<Option<(String, String)>, CommandError> {
    taskflow_blobs::parse_s3_url(&location.to_string_lossy())
        .transpose()
        .map_err(CommandError::usage)
}

fn bucket_at(
    settings: &Settings,
    bucket: String,
    prefix: String,
) -> Result<taskflow_blobs::Bucket, CommandError> {
    let config = match &settings.s3 {
        Some(s3) => taskflow_blobs::S3Config {
            bucket,
            prefix,
            ..s3.clone()
        },
        None => taskflow_blobs::S3Config::from_aws_environment(bucket, prefix),
    };
    taskflow_blobs::Bucket::connect(config).map_err(CommandError::new)
}

/// Connects to the configured database, creating nothing: a data directory or SQLite file
/// that is not there is an error saying so.
pub async fn connect_existing(settings: &Settings) -> Result<Arc<dyn Store>, CommandError> {
    match &settings.database_url {
        DatabaseUrl::Sqlite(path) => {
            if !path.is_file() {
                return Err(not_there(settings, path));
            }
            let store = SqliteStore::open_with(path, settings.database_timeout)
                .await
                .map_err(|e| {
                    CommandError::new(format!("cannot open {}: {e}", settings.database_url))
                })?;
            Ok(Arc::new(store))
        }
        DatabaseUrl::Postgres(url) => {
            let connected = if settings.statement_limits {
                PgStore::connect_serving(url, settings.database_timeout).await
            } else {
                PgStore::connect_with(url, settings.database_timeout).await
            };
            let store = connected.map_err(|e| {
                CommandError::new(format!("cannot connect to {}: {e}", settings.database_url))
            })?;
            Ok(Arc::new(store))
        }
    }
}

/// For the commands that read or change the data directory's files (`gc`, `storage`,
/// `backup create`): it must be there; they never make one.
pub fn existing_data_dir(settings: &Settings) -> Result<(), CommandError> {
    if settings.data_dir.is_dir() {
        Ok(())
    } else {
        Err(nothing_there(format!(
            "the data directory {} does not exist",
            settings.data_dir.display()
        )))
    }
}

/// A data directory or database that is not where the settings say: most likely a mistyped
/// path, never a reason to make one.
fn nothing_there(what: String) -> CommandError {
    CommandError::new(format!(
        "{what}; check --data-dir (TASKFLOW_DATA_DIR) and --database-url, or run `taskflow migrate` to start a new installation there"
    ))
}

/// No SQLite database where the settings say.
fn not_there(settings: &Settings, db: &std::path::Path) -> CommandError {
    let dir = &settings.data_dir;
    nothing_there(if dir.is_dir() {
        format!(
            "the data directory {} holds no database ({} does not exist)",
            dir.display(),
            db.display()
        )
    } else {
        format!("the data directory {} does not exist", dir.display())
    })
}

/// Connects and checks the schema is current, so commands never write to a half-made database.
pub async fn connect_migrated(settings: &Settings) -> Result<Arc<dyn Store>, CommandError> {
    let store = connect_existing(settings).await?;
    let current = store.schema_version().await?;
    let latest = store.latest_schema_version();
    match current {
        Some(v) if v == latest => Ok(store),
        Some(v) if v > latest => Err(CommandError::new(format!(
            "the database schema (version {v}) is newer than this taskflow knows (version {latest}); upgrade taskflow"
        ))),
        _ => Err(CommandError::new(format!(
            "the database at {} is not migrated; run `taskflow migrate` first",
            settings.database_url
        ))),
    }
}
