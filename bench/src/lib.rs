//! Shared helpers for Taskflow's benchmarks.

use std::time::{Duration, Instant};

use taskflow_core::ProjectId;
use taskflow_testkit::{Backend, TestStore};

/// Runs `f` `runs` times and returns the sorted durations.
pub async fn sample<F, Fut>(runs: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f().await;
        times.push(start.elapsed());
    }
    times.sort();
    times
}

/// The `p`-th percentile (0–100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = ((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The release build of the `taskflow` command, built first if it is not up to date; or the
/// binary `TASKFLOW_BENCH_BINARY` names, as it is (to compare two builds in one run).
pub fn taskflow_binary() -> std::path::PathBuf {
    if let Some(binary) = std::env::var_os("TASKFLOW_BENCH_BINARY") {
        return binary.into();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", "taskflow"])
        .status()
        .expect("cannot run cargo to build the taskflow binary");
    assert!(status.success(), "building the taskflow binary failed");
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is in the workspace");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("release").join("taskflow")
}

/// Runs `taskflow ARGS` to completion with these settings; returns its standard output.
pub fn taskflow(binary: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> String {
    let out = std::process::Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("cannot run taskflow");
    assert!(
        out.status.success(),
        "taskflow {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `taskflow serve` as a child process, stopped (SIGTERM, then waited for) when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub address: std::net::SocketAddr,
    /// How long from spawning the process to its "listening" line.
    pub started_in: Duration,
}

impl Server {
    /// Starts `serve` on a free port with these settings and waits until it listens.
    pub fn start(binary: &std::path::Path, env: &[(&str, String)]) -> Self {
        use std::io::BufRead;
        let started = Instant::now();
        let mut child = std::process::Command::new(binary)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("TASKFLOW_LISTEN", "127.0.0.1:0")
            .env("TASKFLOW_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cannot start taskflow serve");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("taskflow serve exited before listening")
                .expect("reading its output");
            if let Some(address) = line.strip_prefix("taskflow listening on http://") {
                break address.parse().expect("an address");
            }
        };
        let started_in = started.elapsed();
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address,
            started_in,
        }
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .expect("a memory figure")
    }

    /// One HTTP/1.1 request on its own connection; returns the status and the body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.address).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body.as_bytes()).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM through the `kill` command: the bench has no signal-sending dependency.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A project `BIG` that `owner` owns, in `store`.
pub async fn big_project(
    store: &TestStore,
    owner: taskflow_core::UserId,
) -> taskflow_core::project::Project {
    use taskflow_core::project::{NewProject, ProjectKey};
    use taskflow_core::text::{Markdown, ProjectName};
    store
        .create_project(
            owner,
            NewProject {
                key: ProjectKey::parse("BIG").unwrap(),
                name: ProjectName::parse("Big").unwrap(),
                description: Markdown::default(),
            },
        )
        .await
        .unwrap()
}

/// A user `bench` (an administrator when `admin`) and a project `BIG` it owns, in `store`.
pub async fn owner_and_project(
    store: &TestStore,
    admin: bool,
) -> (taskflow_core::user::User, taskflow_core::project::Project) {
    use taskflow_core::text::DisplayName;
    use taskflow_core::user::{NewUser, Password, Username};
    let owner = store
        .create_user(NewUser {
            username: Username::parse("bench").unwrap(),
            display_name: DisplayName::parse("Bench").unwrap(),
            password_hash: Password::parse("benchmark password!").unwrap().hash(),
            is_admin: admin,
        })
        .await
        .unwrap();
    let project = big_project(store, owner.id).await;
    (owner, project)
}

/// Adds `tasks` tasks to a project with bulk SQL in one transaction (every tenth assigned to
/// `owner`, each description containing "deploy"), then refreshes the planner's statistics.
/// Returns how long it took.
pub async fn fill(store: &TestStore, project: ProjectId, owner: i64, tasks: i64) -> Duration {
    let start = Instant::now();
    match store.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&store.url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
                 INSERT INTO tasks (project_id, number, title, description, status_id, position, priority, \
                   due_date, created_by, created_at, updated_at) \
                 SELECT ?2, i, 'Bulk task ' || i, 'generated description for task ' || i || ' deploy', \
                   (SELECT id FROM statuses WHERE project_id = ?2 AND position = i % 3), \
                   i * 65536, i % 5, \
                   CASE WHEN i % 4 = 0 THEN NULL ELSE date('2026-01-01', '+' || (i % 700) || ' days') END, \
                   ?3, 1700000000000000 + i, 1700000000000000 + i FROM n",
            )
            .bind(tasks)
            .bind(project.0)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query("INSERT INTO task_assignees (task_id, user_id) SELECT id, ?1 FROM tasks WHERE id % 10 = 0")
                .bind(owner)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("UPDATE projects SET next_task_number = ?1 + 1 WHERE id = ?2")
                .bind(tasks)
                .bind(project.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            sqlx::query("ANALYZE").execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&store.url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(
                "INSERT INTO tasks (project_id, number, title, description, status_id, position, priority, \
                   due_date, created_by, created_at, updated_at) \
                 SELECT $2, i, 'Bulk task ' || i, 'generated description for task ' || i || ' deploy', \
                   (SELECT id FROM statuses WHERE project_id = $2 AND position = i % 3), \
                   i * 65536, i % 5, \
                   CASE WHEN i % 4 = 0 THEN NULL ELSE DATE '2026-01-01' + (i % 700)::int END, \
                   $3, to_timestamp(1700000000 + i / 1000000.0), to_timestamp(1700000000 + i / 1000000.0) \
                 FROM generate_series(1, $1::bigint) AS i",
            )
            .bind(tasks)
            .bind(project.0)
            .bind(owner)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query("INSERT INTO task_assignees (task_id, user_id) SELECT id, $1 FROM tasks WHERE id % 10 = 0")
                .bind(owner)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("UPDATE projects SET next_task_number = $1 + 1 WHERE id = $2")
                .bind(tasks)
                .bind(project.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    start.elapsed()
}
