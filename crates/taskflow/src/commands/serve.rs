//! `taskflow serve`: migrate under a lock, make the first administrator on an empty database,
//! then serve until SIGTERM or Ctrl-C, draining requests in flight.

use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use taskflow_blobs::Blobs;
use taskflow_ops::checks;
use taskflow_ops::gc::GcOptions;

use taskflow_core::text::DisplayName;
use taskflow_core::user::{NewUser, Password, Username};
use taskflow_core::{Store, StoreError};
use taskflow_server::{
    AppState, AuthSettings, ConnectionLimits, StorageSettings, app, launch, metrics_app,
};
use tokio::net::TcpListener;

use crate::commands::storage::gc_options;
use crate::commands::{
    CommandError, CommandResult, claim_installation, create_and_connect, failed, open_blobs,
};
use crate::config::{DatabaseUrl, Settings};

pub async fn run(settings: &Settings) -> CommandResult {
    // Watch for SIGTERM from the very start: a signal that arrived before the handler was in
    // place would kill the process mid-migration or mid-request instead of draining.
    let shutdown = shutdown_signal()?;
    // Requests' statements are bounded by the database timeout (PostgreSQL).
    let mut serving = settings.clone();
    serving.statement_limits = true;
    let settings = &serving;
    prepare_data_dir(settings)?;
    let (store, _) = create_and_connect(settings).await?;
    let blobs = open_blobs(settings, &store)?;
    match blobs.prepare().await {
        Ok(swept) if swept.files > 0 => tracing::info!(
            files = swept.files,
            bytes = swept.bytes,
            "removed uploads a crash interrupted"
        ),
        Ok(_) => {}
        // Serve anyway: reads of tasks work, uploads answer 503 and `/readyz` says why.
        Err(e) => {
            tracing::error!(store = %blobs.describe(), error = %e, "the blob store cannot be used")
        }
    }
    // Held while serving, so `restore` cannot replace the data under this server.
    let _in_use = claim_installation(settings, store.as_ref(), false)
        .await?
        .ok_or_else(|| CommandError::new("cannot claim the installation for serving"))?;
    migrate_locked(settings, &store).await?;
    let adopted = match blobs.as_volume() {
        Some(volume) => taskflow_ops::backup::recover_staging(store.as_ref(), volume)
            .await
            .map_err(failed("cannot finish an interrupted restore"))?,
        None => 0,
    };
    if adopted > 0 {
        tracing::info!(
            files = adopted,
            "moved the files of an interrupted restore into place"
        );
    }
    first_admin(&store, settings).await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| CommandError::new(format!("cannot listen on {}: {e}", settings.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|e| CommandError::new(e.to_string()))?;
    tracing::info!(%address, database = %settings.database_url, data_dir = %settings.data_dir.display(), blobs = %blobs.describe(), "serving");
    let mut state = AppState::new(store.clone(), settings.data_dir.clone());
    state.auth = AuthSettings {
        cookie_secure: settings.cookie_secure,
        session_ttl: settings.session_ttl,
        session_idle: settings.session_idle,
        members_by_administrators: settings.members_by_administrators,
        trusted_proxies: settings.trusted_proxies.clone(),
    };
    state.metrics_access.token = settings.metrics_token.as_deref().map(Into::into);
    state.metrics_access.project_keys = settings.metrics_project_keys;
    if settings.metrics_token.is_none() && settings.metrics_listen.is_none() {
        tracing::info!(
            "metrics are off: set TASKFLOW_METRICS_TOKEN or TASKFLOW_METRICS_LISTEN to read /metrics"
        );
    }
    state.blobs = blobs.clone();
    state.backup_dir = settings
        .backup_dir
        .as_deref()
        .map(|location| crate::commands::shelf(settings, location))
        .transpose()?;
    state.storage = StorageSettings {
        max_upload_bytes: settings.max_upload_bytes,
        min_free_bytes: settings.min_free_bytes,
        project_quota_bytes: settings.project_quota_bytes,
        trash_retention_days: settings.trash_retention_days,
    };
    let collector = match settings.gc_interval {
        Some(every) => {
            // gc may run long statements on a large installation: on PostgreSQL it has a pool
            // of its own, without the time limits of request work.
            let gc_store = if matches!(settings.database_url, DatabaseUrl::Postgres(_)) {
                let mut unbounded = settings.clone();
                unbounded.statement_limits = false;
                crate::commands::connect_existing(&unbounded).await?
            } else {
                store.clone()
            };
            Some(tokio::spawn(collect_garbage(
                gc_store,
                blobs,
                gc_options(settings, false),
                every,
            )))
        }
        None => None,
    };
    // One signal stops every listener.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let damage = check_integrity_in_background(store.clone(), stop_tx.clone());
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let limits = ConnectionLimits {
        max_connections: settings.max_connections,
        max_per_client: settings.max_client_connections,
        shared_clients: settings.trusted_proxies.clone(),
        header_timeout: settings.header_timeout,
        body_min_rate: settings.body_min_rate,
    };
    let metrics_server = match settings.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                CommandError::new(format!("cannot listen on {addr} for metrics: {e}"))
            })?;
            let address = listener
                .local_addr()
                .map_err(|e| CommandError::new(e.to_string()))?;
            println!("taskflow metrics on http://{address}/metrics");
            state.metrics_access.own_listener = true;
            let app = metrics_app(state.clone());
            Some(tokio::spawn(launch(
                listener,
                app,
                stopped(stop_rx.clone()),
                settings.shutdown_timeout,
                limits.clone(),
            )))
        }
        None => None,
    };
    // Last, so a supervisor reading it knows every listener is up.
    println!("taskflow listening on http://{address}");
    launch(
        listener,
        app(state),
        stopped(stop_rx),
        settings.shutdown_timeout,
        limits,
    )
    .await
    .map_err(|e| CommandError::new(format!("server error: {e}")))?;
    if let Some(server) = metrics_server {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "metrics listener failed"),
            Err(e) => tracing::error!(error = %e, "metrics listener panicked"),
        }
    }
    if let Some(collector) = collector {
        collector.abort();
    }
    store.close().await;
    if let Some(refusal) = damage.get() {
        return Err(CommandError::new(refusal.clone()));
    }
    tracing::info!("stopped");
    Ok(())
}

/// Checks the whole database once, while serving: the check reads every page, so at start it
/// would make start-up grow with the database (a second and more at a million tasks) and a
/// startup probe could kill a large installation. A damaged database stops the server, with
/// the same words `doctor` uses.
fn check_integrity_in_background(
    store: Arc<dyn Store>,
    stop: tokio::sync::watch::Sender<bool>,
) -> Arc<std::sync::OnceLock<String>> {
    let damage = Arc::new(std::sync::OnceLock::new());
    let found = damage.clone();
    tokio::spawn(async move {
        let integrity = checks::integrity(store.as_ref()).await;
        if integrity.failed() {
            let refusal = format!(
                "refusing to serve: {}; {}",
                integrity.detail,
                integrity.fix.unwrap_or_default()
            );
            tracing::error!(problem = %integrity.detail, "the database is damaged; stopping");
            let _ = found.set(refusal);
            let _ = stop.send(true);
        } else {
            tracing::debug!("integrity check passed");
        }
    });
    damage
}

/// Makes sure the data directory can hold data safely before anything is written: it exists
/// and is writable, and SQLite is not on a network filesystem.
fn prepare_data_dir(settings: &Settings) -> Result<(), CommandError> {
    let dir = &settings.data_dir;
    if dir.exists() && !dir.is_dir() {
        // Say what `doctor` says: this is no ownership problem.
        let check = checks::data_dir(dir);
        return Err(CommandError::new(format!(
            "refusing to start: {}\nfix: {}",
            check.detail,
            check.fix.unwrap_or_default()
        )));
    }
    crate::commands::create_private_dir(dir).map_err(|e| {
        CommandError::new(format!(
            "cannot create the data directory {}: {e}\nfix: {}",
            dir.display(),
            checks::ownership_fix(dir)
        ))
    })?;
    match checks::probe_write(dir) {
        Ok(()) => {}
        // A full volume is no reason not to serve: reads and `gc` work, writes answer 507 and
        // `/readyz` reports it until space is freed.
        Err(e) if checks::is_full(&e) => {
            let (problem, fix) = checks::write_failure(dir, &e);
            if matches!(settings.database_url, DatabaseUrl::Sqlite(_)) {
                // SQLite cannot even open its database without room for its shared-memory file.
                return Err(CommandError::new(format!(
                    "refusing to start: {problem}; SQLite needs a little room to open its database\nfix: {fix}"
                )));
            }
            tracing::warn!(%problem, %fix, "starting on a full volume");
        }
        Err(e) => {
            let (_, fix) = checks::write_failure(dir, &e);
            return Err(CommandError::new(format!(
                "the data directory {} is not writable: {e}\nfix: {fix}",
                dir.display()
            )));
        }
    }
    if let Some(who) = checks::foreign_owner(dir) {
        tracing::warn!(detail = %who, "the data directory belongs to another user; files written now may not be writable by it later");
    }
    let fs = checks::filesystem(dir, matches!(settings.database_url, DatabaseUrl::Sqlite(_)));
    if fs.failed() {
        return Err(CommandError::new(format!(
            "refusing to start: {}\nfix: {}",
            fs.detail,
            fs.fix.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Runs `gc` every `every`, logging what it did.
async fn collect_garbage(store: Arc<dyn Store>, blobs: Blobs, options: GcOptions, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match taskflow_ops::gc::run(store.as_ref(), &blobs, &options).await {
            Ok(report) => tracing::info!(
                trash = report.trash.total(),
                sessions = report.sessions,
                blobs = report.blobs,
                blob_bytes = report.blob_bytes,
                tmp_files = report.tmp_files,
                missing_blobs = report.missing.len(),
                "garbage collected"
            ),
            Err(e) => tracing::error!(error = %e, "garbage collection failed"),
        }
    }
}

/// Applies migrations while holding a lock, so replicas starting together migrate once:
/// PostgreSQL's migrator takes an advisory lock itself; for SQLite a lock file in the data
/// directory serves (a second process waits for the first).
async fn migrate_locked(settings: &Settings, store: &Arc<dyn Store>) -> CommandResult {
    let _guard = match &settings.database_url {
        DatabaseUrl::Sqlite(_) => {
            let path = settings.data_dir.join("taskflow.lock");
            let file = File::create(&path)
                .map_err(|e| CommandError::new(format!("cannot create {}: {e}", path.display())))?;
            let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                .await
                .map_err(|e| CommandError::new(e.to_string()))?
                .map_err(|e| CommandError::new(format!("cannot lock {}: {e}", path.display())))?;
            Some(file)
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let before = store.schema_version().await?;
    store.migrate().await?;
    let after = store.schema_version().await?;
    if before != after {
        tracing::info!(
            from = before.unwrap_or(0),
            to = after.unwrap_or(0),
            "migrated the database"
        );
    }
    Ok(())
}

/// On an empty database, creates `admin` with `TASKFLOW_ADMIN_PASSWORD` or a generated
/// password, printed this once.
async fn first_admin(store: &Arc<dyn Store>, settings: &Settings) -> CommandResult {
    if store.count_users().await? > 0 {
        if settings.admin_password.is_some() {
            tracing::warn!(
                "TASKFLOW_ADMIN_PASSWORD is set but was ignored: it only sets the first \
                 administrator's password on an empty database, and this one has users; to \
                 change a password run `taskflow user set-password --username NAME`, then unset \
                 TASKFLOW_ADMIN_PASSWORD"
            );
        }
        return Ok(());
    }
    let (password, generated) = match &settings.admin_password {
        Some(password) => (password.clone(), false),
        None => (Password::generate(), true),
    };
    let created = store
        .create_user(NewUser {
            username: Username::parse("admin").expect("valid"),
            display_name: DisplayName::parse("Administrator").expect("valid"),
            password_hash: password.hash(),
            is_admin: true,
        })
        .await;
    match created {
        Ok(_) if generated => {
            println!(
                "created the first administrator: username admin, password {}",
                password.expose()
            );
            // Also in a file only this user can read, so it need not be fished out of (or
            // left in) a log collector.
            let kept = settings.data_dir.join(INITIAL_PASSWORD_FILE);
            match write_private(&kept, &format!("{}\n", password.expose())) {
                Ok(()) => println!(
                    "(shown only this once; also in {} until you delete it)",
                    kept.display()
                ),
                Err(e) => {
                    tracing::warn!(path = %kept.display(), error = %e, "could not keep the first password in a file");
                    println!("(the password is shown only this once)");
                }
            }
        }
        Ok(_) => println!(
            "created the first administrator: username admin, password from TASKFLOW_ADMIN_PASSWORD"
        ),
        // Another replica made it first.
        Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Where a generated first password is kept, in the data directory.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

/// Writes `text` to a new file readable by this user only (0600), fsynced.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are registered when this is called, not when
/// the future is first polled.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static, CommandError>
{
    use tokio::signal::unix::{SignalKind, signal};
    let watch = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| CommandError::new(format!("cannot watch {name}: {e}")))
    };
    let mut sigterm = watch(SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = watch(SignalKind::interrupt(), "SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    })
}
