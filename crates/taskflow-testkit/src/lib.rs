//! Test kit: a temporary PostgreSQL cluster made with the system's `initdb`/`pg_ctl`, a fresh
//! database per test cloned from a migrated template, temporary SQLite stores, and the macro
//! that runs one test body against both backends.

pub mod garage;
pub mod openapi;
pub mod pg;
pub mod sample;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use taskflow_core::Store;
use taskflow_core::store::StoreAdmin;
use taskflow_store::PgStore;
use taskflow_store::SqliteStore;

pub use garage::Garage;
pub use pg::PgCluster;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated, empty store on one backend, removed when dropped (SQLite) or with the cluster
/// (PostgreSQL).
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    /// The `TASKFLOW_DATABASE_URL` that reaches this database.
    pub url: String,
    /// A data directory belonging to this store (for SQLite it holds `taskflow.db`).
    pub data_dir: PathBuf,
    /// Where attachments go: `None` for the data volume, else a prefix of its own in the test
    /// Garage server (`with_object_store`).
    pub s3: Option<taskflow_blobs::S3Config>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

static NEXT_DB: AtomicU64 = AtomicU64::new(0);

impl TestStore {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite database file in a temporary data directory.
    pub async fn sqlite() -> Self {
        let dir = tempdir();
        let data_dir = dir.path().to_owned();
        let path = data_dir.join("taskflow.db");
        let store = SqliteStore::open(&path).await.expect("open SQLite store");
        store.migrate().await.expect("migrate SQLite store");
        Self {
            backend: Backend::Sqlite,
            store: Arc::new(store),
            url: format!("sqlite://{}", path.display()),
            data_dir,
            s3: None,
            _dir: dir,
        }
    }

    /// A fresh PostgreSQL database cloned from the migrated template in the shared cluster.
    pub async fn postgres() -> Self {
        let cluster = PgCluster::shared();
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        cluster.create_database(&name).await;
        let url = cluster.url(&name);
        let store = PgStore::connect(&url)
            .await
            .expect("connect to test database");
        let dir = tempdir();
        Self {
            backend: Backend::Postgres,
            store: Arc::new(store),
            url,
            data_dir: dir.path().to_owned(),
            s3: None,
            _dir: dir,
        }
    }

    /// This store with its attachments in the shared Garage server, under a prefix no other
    /// test uses.
    pub fn with_object_store(mut self) -> Self {
        self.s3 = Some(Garage::shared().unique_config());
        self
    }

    /// The blob store the binary would use for this store: the volume under `data_dir`, or
    /// the object store locked through the database.
    pub fn blobs(&self) -> taskflow_blobs::Blobs {
        taskflow_blobs::open_blobs(&self.data_dir, self.s3.as_ref(), self.store.clone())
            .expect("a usable object store configuration")
    }

    /// The settings that give a `taskflow` process this store's blob store (none for the
    /// volume).
    pub fn blob_env(&self) -> Vec<(String, String)> {
        self.s3.as_ref().map(Garage::env).unwrap_or_default()
    }

    /// The URL of a brand-new database with no schema on `backend`, and the directory that
    /// holds it (removed when the returned guard drops).
    pub async fn unmigrated_url(backend: Backend) -> (String, tempfile::TempDir) {
        let dir = tempdir();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("taskflow.db").display()),
            Backend::Postgres => {
                let cluster = PgCluster::shared();
                let name = format!(
                    "empty_{}_{}",
                    std::process::id(),
                    NEXT_DB.fetch_add(1, Ordering::SeqCst)
                );
                cluster.create_unmigrated_database(&name).await;
                cluster.url(&name)
            }
        };
        (url, dir)
    }

    /// A second, independent connection to the same database, as a restarted process would
    /// open it.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        open(self.backend, &self.url).await
    }

    /// Waits until no other session is working in this database. A PostgreSQL server goes on
    /// with what a killed client last sent — a COMMIT in flight commits moments later — so a
    /// test that kills a writer waits for that before it looks.
    pub async fn settled(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let db = self.url.rsplit('/').next().unwrap_or_default().to_owned();
        let busy = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid() \
             AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while pg::PgCluster::shared().number(&db, &busy).await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "another session is still working in {db} after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A user (an administrator if `admin`) with one API token, returned with its secret.
    /// The user cannot log in with a password: the stored hash is not a real one.
    pub async fn user_with_token(
        &self,
        username: &str,
        admin: bool,
    ) -> (taskflow_core::user::User, taskflow_core::user::TokenSecret) {
        use taskflow_core::text::{DisplayName, TokenName};
        use taskflow_core::user::{NewToken, NewUser, PasswordHash, TokenSecret, Username};
        let user = self
            .create_user(NewUser {
                username: Username::parse(username).expect("a valid username"),
                display_name: DisplayName::parse(username).expect("a valid name"),
                password_hash: PasswordHash::from_stored("no password".into()),
                is_admin: admin,
            })
            .await
            .expect("create user");
        let secret = TokenSecret::generate();
        self.create_token(NewToken {
            user_id: user.id,
            name: TokenName::parse("test").expect("valid"),
            hash: secret.hash(),
            expires_at: None,
        })
        .await
        .expect("create token");
        (user, secret)
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        self.url.strip_prefix("sqlite://").map(Path::new)
    }
}

/// A store on the database at `url` (one from `unmigrated_url`, say), as the binary would
/// open it.
pub async fn open(backend: Backend, url: &str) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite => Arc::new(SqliteStore::open_url(url).await.expect("open SQLite store")),
        Backend::Postgres => Arc::new(PgStore::connect(url).await.expect("connect to PostgreSQL")),
    }
}

/// The id of the status `name` names in `project`'s workflow (`To do`, `In progress` and
/// `Done` in a new project; `todo` and `in_progress` name the first two).
pub async fn status_id(
    store: &dyn Store,
    project: taskflow_core::ProjectId,
    name: &str,
) -> taskflow_core::StatusId {
    let workflow = store.workflow(project).await.expect("read the workflow");
    match workflow.find(name) {
        Some(status) => status.id,
        None => panic!("no status {name:?}; the project has {}", workflow.names()),
    }
}

/// The three statuses a new project starts with: To do, In progress, Done.
pub async fn default_statuses(
    store: &dyn Store,
    project: taskflow_core::ProjectId,
) -> [taskflow_core::StatusId; 3] {
    [
        status_id(store, project, "To do").await,
        status_id(store, project, "In progress").await,
        status_id(store, project, "Done").await,
    ]
}

/// The status `name` names in `project`, as a task carries it (for a `TaskPatch`).
pub async fn task_status(
    store: &dyn Store,
    project: taskflow_core::ProjectId,
    name: &str,
) -> taskflow_core::workflow::TaskStatus {
    let workflow = store.workflow(project).await.expect("read the workflow");
    workflow.find(name).expect("a status of the project").into()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("taskflow-test-")
        .tempdir()
        .expect("create a temporary directory")
}

/// Runs each listed `async fn(TestStore)` on SQLite and on PostgreSQL, each with attachments on
/// the data volume and in the object store: `<name>::sqlite`, `<name>::postgres`,
/// `<name>::sqlite_s3` and `<name>::postgres_s3`.
#[macro_export]
macro_rules! all_storage {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestStore::new($crate::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::TestStore::new($crate::Backend::Postgres).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() {
                super::$name(
                    $crate::TestStore::new($crate::Backend::Sqlite).await.with_object_store(),
                )
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                super::$name(
                    $crate::TestStore::new($crate::Backend::Postgres).await.with_object_store(),
                )
                .await
            }
        }
    )*};
}

/// Runs each listed `async fn(TestStore)` once on SQLite and once on PostgreSQL, as
/// `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestStore::new($crate::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::TestStore::new($crate::Backend::Postgres).await).await
            }
        }
    )*};
}
