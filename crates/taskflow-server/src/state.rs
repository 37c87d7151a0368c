//! What every handler can reach: the store, the blob store, metrics and the settings the server
//! runs with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use taskflow_blobs::Blobs;
use taskflow_core::Store;

use crate::telemetry::{Metrics, Readiness, Recent};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The data directory, checked for writability by `/readyz`. Shared, as the state is
    /// cloned into every request.
    pub data_dir: Arc<Path>,
    pub metrics: Metrics,
    pub auth: AuthSettings,
    pub throttle: Arc<crate::session::LoginThrottle>,
    /// Bounds how many password hashes run at once.
    pub passwords: crate::passwords::Passwords,
    /// The key that signs sign-in forms, read from the database once (`web::login_form`).
    pub login_key: Arc<tokio::sync::OnceCell<Arc<[u8]>>>,
    /// Renders user-written Markdown off the async workers, and remembers it.
    pub markdown: crate::markdown::Renderer,
    /// Who may read `/metrics`, and how projects are named in it.
    pub metrics_access: MetricsAccess,
    /// Attachment bytes: under the data directory or in an object store.
    pub blobs: Blobs,
    pub storage: StorageSettings,
    /// Where backups are written (`TASKFLOW_BACKUP_DIR`, a directory or a bucket): the newest
    /// one is reported on `/metrics`.
    pub backup_dir: Option<taskflow_ops::backup::Shelf>,
    /// The last storage report, reused by `/metrics` for a few seconds.
    pub storage_cache: Recent<Arc<taskflow_ops::storage::StorageReport>>,
    /// The last readiness answer and when it was made (`/readyz` reuses it briefly).
    pub readiness: Recent<Readiness>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, data_dir: PathBuf) -> Self {
        Self {
            store,
            metrics: Metrics::install(),
            auth: AuthSettings::default(),
            throttle: Arc::new(crate::session::LoginThrottle::default()),
            passwords: crate::passwords::Passwords::default(),
            markdown: crate::markdown::Renderer::default(),
            login_key: Arc::default(),
            metrics_access: MetricsAccess::default(),
            blobs: Blobs::volume(&data_dir),
            storage: StorageSettings::default(),
            backup_dir: None,
            storage_cache: Recent::default(),
            readiness: Arc::default(),
            data_dir: data_dir.into(),
        }
    }
}

/// Limits on what attachments may use.
#[derive(Clone, Debug)]
pub struct StorageSettings {
    /// The largest attachment accepted (`TASKFLOW_MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: u64,
    /// Free space the data volume keeps: uploads are refused and `/readyz` fails below it
    /// (`TASKFLOW_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
    /// The most attachment bytes one project may hold, trash included
    /// (`TASKFLOW_PROJECT_QUOTA_BYTES`); none when unset.
    pub project_quota_bytes: Option<u64>,
    /// Days a trashed item is kept before `gc` purges it (`TASKFLOW_TRASH_RETENTION_DAYS`).
    pub trash_retention_days: u32,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 100 << 20,
            min_free_bytes: 256 << 20,
            project_quota_bytes: None,
            trash_retention_days: 30,
        }
    }
}

/// How browser sessions behave.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// Mark the session cookie `Secure` (only sent over HTTPS).
    pub cookie_secure: bool,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// How long a session may go unused before it ends (`TASKFLOW_SESSION_IDLE_TIMEOUT`).
    pub session_idle: Duration,
    /// Peers whose `X-Forwarded-For` names the client (`TASKFLOW_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Only administrators add people to projects (`TASKFLOW_MEMBERS_ADDED_BY`); owners still
    /// change their members' roles and remove them.
    pub members_by_administrators: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            session_idle: Duration::from_secs(14 * 24 * 3600),
            trusted_proxies: Vec::new(),
            members_by_administrators: false,
        }
    }
}

/// Who may read `/metrics`. Metrics name every project and how much it stores, so they are not
/// for anyone who can reach the server.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// `/metrics` on the main listener answers a request bearing this token
    /// (`TASKFLOW_METRICS_TOKEN`); without one it is off there.
    pub token: Option<Arc<str>>,
    /// Metrics have a listener of their own (`TASKFLOW_METRICS_LISTEN`, `metrics_app`).
    pub own_listener: bool,
    /// Per-project series name projects by key (`TASKFLOW_METRICS_PROJECT_KEYS`); otherwise by
    /// id, so a scrape does not list the projects.
    pub project_keys: bool,
}
