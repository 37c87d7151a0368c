//! A throwaway PostgreSQL cluster for tests.
//!
//! Made with the system's `initdb` and `pg_ctl` in a temporary directory, listening on a free
//! port on 127.0.0.1 only, with fsync on (the durability we promise is the durability we
//! test). Run as root, the server runs as the `postgres` user, since PostgreSQL refuses root.
//! A detached reaper stops the server and removes the directory as soon as the test process
//! ends, however it ends (pass, panic, or SIGKILL).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use taskflow_core::store::StoreAdmin;
use taskflow_store::PgStore;

pub struct PgCluster {
    root: PathBuf,
    port: u16,
    bin: PathBuf,
    as_root: bool,
    create_lock: tokio::sync::Mutex<()>,
}

const TEMPLATE: &str = "taskflow_template";

fn fail(msg: impl std::fmt::Display) -> ! {
    panic!("PostgreSQL test cluster: {msg}")
}

/// The directory holding `initdb` and `pg_ctl`: `TASKFLOW_TEST_PG_BIN`, else `PATH`, else the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian puts the server there, off `PATH`).
fn pg_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TASKFLOW_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).unwrap_or_else(|| {
        fail(
            "initdb and pg_ctl were not found on PATH or in /usr/lib/postgresql/*/bin; \
             install the `postgresql` package (the test script does) or set TASKFLOW_TEST_PG_BIN",
        )
    })
}

fn output(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| fail(format!("cannot run {cmd:?}: {e}")));
    if !out.status.success() {
        fail(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether the tests run as root (who may write anywhere, and may not run PostgreSQL).
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")) == "0"
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(format!("no free port: {e}")))
}

impl PgCluster {
    /// The cluster shared by every test in this process, started on first use.
    pub fn shared() -> &'static PgCluster {
        static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
        CLUSTER.get_or_init(PgCluster::start)
    }

    /// A cluster of the caller's own, for a test that stops and starts its server (the shared
    /// one serves every other test). Reaped like the shared one when the process ends.
    pub fn private() -> PgCluster {
        Self::start()
    }

    /// Runs one statement as the superuser, in the `postgres` database.
    pub async fn admin(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap_or_else(|e| fail(format!("cannot connect: {e}")));
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| fail(format!("{sql}: {e}")));
        conn.close().await.ok();
    }

    /// Takes `ACCESS EXCLUSIVE` on `table` in database `db` from a session of its own, held
    /// until `release`: every other session's statement on it waits.
    pub async fn lock_table(&self, db: &str, table: &str) -> TableLock {
        let mut conn = PgConnection::connect(&self.url(db))
            .await
            .unwrap_or_else(|e| fail(format!("cannot connect: {e}")));
        for sql in [
            "BEGIN",
            &format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"),
        ] {
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| fail(format!("{sql}: {e}")));
        }
        TableLock { conn }
    }

    /// One number from a query, as the superuser, in database `db`.
    pub async fn number(&self, db: &str, sql: &str) -> i64 {
        let mut conn = PgConnection::connect(&self.url(db))
            .await
            .unwrap_or_else(|e| fail(format!("cannot connect: {e}")));
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| fail(format!("{sql}: {e}")));
        conn.close().await.ok();
        n
    }

    /// Gives a directory to the user the server runs as (for a tablespace).
    pub fn give(&self, dir: &Path) {
        if self.as_root {
            output(Command::new("chown").arg("postgres:postgres").arg(dir));
        }
    }

    /// Stops the server the way a crash or a kill would: immediate mode, no checkpoint.
    pub fn stop_immediately(&self) {
        output(
            server_cmd(&self.bin, self.as_root, "pg_ctl")
                .arg("-D")
                .arg(self.root.join("data"))
                .args(["-m", "immediate", "-w", "stop"]),
        );
    }

    /// Starts the server again on the same port, after `stop_immediately`.
    pub fn start_again(&self) {
        if !launch(&self.bin, self.as_root, &self.root, self.port) {
            let log = std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
            fail(format!("pg_ctl start failed; server log:\n{log}"));
        }
    }

    fn start() -> PgCluster {
        let bin = pg_bin_dir();
        let root = tempfile::Builder::new()
            .prefix("taskflow-pg-")
            .tempdir()
            .unwrap_or_else(|e| fail(format!("cannot make a temporary directory: {e}")))
            .keep();
        let as_root = is_root();
        let server_cmd = |program: &str| server_cmd(&bin, as_root, program);
        if as_root {
            let uid: u32 = output(Command::new("id").args(["-u", "postgres"]))
                .parse()
                .unwrap_or_else(|_| fail("cannot read the postgres user's uid"));
            let gid: u32 = output(Command::new("id").args(["-g", "postgres"]))
                .parse()
                .unwrap_or_else(|_| fail("cannot read the postgres user's gid"));
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).unwrap_or_else(|e| {
                fail(format!("cannot hand {} to postgres: {e}", root.display()))
            });
        }
        let data = root.join("data");
        spawn_reaper(&root, &bin, as_root);
        output(server_cmd("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]));
        let mut port = 0;
        for attempt in 0..5 {
            port = free_port();
            if launch(&bin, as_root, &root, port) {
                break;
            }
            if attempt == 4 {
                let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
                fail(format!("pg_ctl start failed; server log:\n{log}"));
            }
        }
        let cluster = PgCluster {
            root,
            port,
            bin,
            as_root,
            create_lock: tokio::sync::Mutex::new(()),
        };
        cluster.make_template();
        cluster
    }

    /// The URL of database `db` in this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates and migrates the template every test database is cloned from. Runs on its own
    /// runtime, since tests each bring their own.
    fn make_template(&self) {
        let admin = self.url("postgres");
        let template = self.url(TEMPLATE);
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut conn = PgConnection::connect(&admin)
                        .await
                        .expect("connect to cluster");
                    sqlx::query(&format!("CREATE DATABASE {TEMPLATE}"))
                        .execute(&mut conn)
                        .await
                        .expect("create template database");
                    conn.close().await.ok();
                    let store = PgStore::connect(&template)
                        .await
                        .expect("connect to template");
                    store.migrate().await.expect("migrate template");
                    store.close().await;
                })
        })
        .join()
        .unwrap_or_else(|_| fail("creating the template database failed"));
    }

    /// Creates an empty, migrated database named `name`.
    pub async fn create_database(&self, name: &str) {
        self.create_database_from(name, TEMPLATE).await
    }

    /// Creates a database with no schema at all, as a new installation starts.
    pub async fn create_unmigrated_database(&self, name: &str) {
        self.create_database_from(name, "template0").await
    }

    async fn create_database_from(&self, name: &str, template: &str) {
        // Cloning needs the template to be idle; one clone at a time keeps it so.
        let _guard = self.create_lock.lock().await;
        let mut conn = PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap_or_else(|e| fail(format!("cannot connect: {e}")));
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| fail(format!("cannot create database {name}: {e}")));
        conn.close().await.ok();
    }
}

/// A server program, run as `postgres` when we are root.
fn server_cmd(bin: &Path, as_root: bool, program: &str) -> Command {
    let program = bin.join(program);
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts the cluster in `root` on `port`; false when `pg_ctl` could not (the port was taken).
fn launch(bin: &Path, as_root: bool, root: &Path, port: u16) -> bool {
    server_cmd(bin, as_root, "pg_ctl")
        .arg("-D")
        .arg(root.join("data"))
        .arg("-l")
        .arg(root.join("server.log"))
        .arg("-o")
        .arg(format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=on -c synchronous_commit=on -c max_connections=300",
            root.display()
        ))
        .args(["-w", "-t", "60", "start"])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| fail(format!("cannot run pg_ctl: {e}")))
        .success()
}

/// Starts a detached shell that waits for this process to end, then stops the server
/// (immediate mode: nothing to keep) and deletes the cluster directory.
fn spawn_reaper(root: &Path, bin: &Path, as_root: bool) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_root {
        format!(
            "runuser -u postgres -- '{}' -D '{}/data' -m immediate stop",
            pg_ctl.display(),
            root.display()
        )
    } else {
        format!(
            "'{}' -D '{}/data' -m immediate stop",
            pg_ctl.display(),
            root.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf '{root}'",
        pid = std::process::id(),
        root = root.display()
    );
    // `setsid --fork` returns at once, leaving the reaper in its own session: signals sent to
    // the test's process group (Ctrl-C) do not reach it.
    let status = Command::new("setsid")
        .args(["--fork", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| fail(format!("cannot start the cleanup process: {e}")));
    if !status.success() {
        fail(format!("cannot start the cleanup process: setsid {status}"));
    }
}

/// A table lock another session holds (`PgCluster::lock_table`).
pub struct TableLock {
    conn: PgConnection,
}

impl TableLock {
    pub async fn release(mut self) {
        sqlx::query("ROLLBACK")
            .execute(&mut self.conn)
            .await
            .unwrap_or_else(|e| fail(format!("ROLLBACK: {e}")));
        self.conn.close().await.ok();
    }
}
