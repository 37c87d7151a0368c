//! Outages answer honestly: a database that is down, or a SQLite writer busy past its wait,
//! is a prompt 503 `unavailable` with `Retry-After` — never a 404 or a bare 500 — and the
//! server recovers by itself when the database is back.

use std::time::{Duration, Instant};

use taskflow_testkit::{PgCluster, tempdir};

use crate::serve::{Reply, http, request, start};
use crate::{run, stderr, stdout, taskflow};

/// A token for the administrator `serve` created.
async fn admin_token(url: &str, data_dir: &std::path::Path) -> String {
    let mut c = taskflow(url, data_dir);
    c.args(["token", "create", "--username", "admin"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn assert_unavailable(what: &str, reply: &Reply, took: Duration, within: Duration) {
    assert_eq!(reply.status, 503, "{what}: {}", reply.body);
    assert!(
        reply.body.contains(r#""code":"unavailable""#),
        "{what}: {}",
        reply.body
    );
    assert!(
        reply.header("retry-after").is_some(),
        "{what}: no Retry-After"
    );
    assert!(took < within, "{what} took {took:?}, more than {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_that_is_down_answers_503_and_recovers_by_itself() {
    let cluster = PgCluster::private();
    cluster.create_database("outage").await;
    let url = cluster.url("outage");
    let dir = tempdir();
    let mut c = taskflow(&url, dir.path());
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password")
        .env("TASKFLOW_DATABASE_TIMEOUT", "1s");
    let mut server = start(c).await;
    let token = admin_token(&url, dir.path()).await;
    let auth = format!("Bearer {token}");
    let auth = [("Authorization", auth.as_str())];
    let created = request(
        &server.address,
        "POST",
        "/api/v1/projects",
        &auth,
        r#"{"key": "OPS", "name": "Operations"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);

    cluster.stop_immediately();
    for (method, path) in [
        ("GET", "/api/v1/projects"),
        ("GET", "/api/v1/tasks/OPS-1"),
        ("GET", "/api/v1/projects/OPS/tasks"),
    ] {
        let started = Instant::now();
        let reply = request(&server.address, method, path, &auth, "").await;
        assert_unavailable(path, &reply, started.elapsed(), Duration::from_secs(4));
    }
    let started = Instant::now();
    let (status, body) = http(&server.address, "GET", "/readyz").await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#"{"name":"database","ok":false"#), "{body}");
    assert!(took < Duration::from_secs(1), "/readyz took {took:?}");

    cluster.start_again();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = request(&server.address, "GET", "/api/v1/projects", &auth, "").await;
        if reply.status == 200 {
            assert!(reply.body.contains("OPS"), "{}", reply.body);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = Instant::now();
    loop {
        let (status, body) = http(&server.address, "GET", "/readyz").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready again {:?} after the first answer", back.elapsed());
    let _ = server.child.start_kill();
}

/// A table another session holds locked makes a request wait for the lock at most the
/// database timeout: a 503, not a request hanging for as long as the lock is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_table_answers_503_within_the_database_timeout() {
    let cluster = PgCluster::shared();
    let db = format!("locked_{}", std::process::id());
    cluster.create_unmigrated_database(&db).await;
    let url = cluster.url(&db);
    let dir = tempdir();
    let mut c = taskflow(&url, dir.path());
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password")
        .env("TASKFLOW_DATABASE_TIMEOUT", "1s");
    let server = start(c).await;
    let token = admin_token(&url, dir.path()).await;
    let auth = format!("Bearer {token}");
    let auth = [("Authorization", auth.as_str())];
    let created = request(
        &server.address,
        "POST",
        "/api/v1/projects",
        &auth,
        r#"{"key": "OPS", "name": "Operations"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let lock = cluster.lock_table(&db, "tasks").await;
    for (method, path, body) in [
        (
            "POST",
            "/api/v1/projects/OPS/tasks",
            r#"{"title": "Waits"}"#,
        ),
        ("GET", "/api/v1/projects/OPS/tasks", ""),
    ] {
        let started = Instant::now();
        let reply = request(&server.address, method, path, &auth, body).await;
        assert_unavailable(
            &format!("{method} {path}"),
            &reply,
            started.elapsed(),
            Duration::from_secs(4),
        );
    }
    lock.release().await;
    let created = request(
        &server.address,
        "POST",
        "/api/v1/projects/OPS/tasks",
        &auth,
        r#"{"title": "After"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
}

/// The database goes away between a create's commit and its answer: the answer says the
/// change was saved (`committed`), never `unavailable` ("nothing was written"); the create
/// retried with its `Idempotency-Key` — on this server and on a second one on the same
/// database — finds it instead of making another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_is_lost_after_commit_is_never_nothing_written() {
    let cluster = PgCluster::private();
    cluster.create_database("lost").await;
    let url = cluster.url("lost");
    let dir = tempdir();
    let mut c = taskflow(&url, dir.path());
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password")
        .env("TASKFLOW_DATABASE_TIMEOUT", "1s")
        .env("TASKFLOW_FAILPOINT", "write-committed+4");
    let server = start(c).await;
    let token = admin_token(&url, dir.path()).await;
    let auth = format!("Bearer {token}");
    let created = request(
        &server.address,
        "POST",
        "/api/v1/projects",
        &[("Authorization", auth.as_str())],
        r#"{"key": "OPS", "name": "Operations"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let with_key = [
        ("Authorization", auth.as_str()),
        ("Idempotency-Key", "lost-answer-1"),
    ];
    let body = r#"{"title": "Saved once", "assignees": ["admin"]}"#;
    let address = server.address.clone();
    let (auth_for_task, body_for_task) = (auth.clone(), body.to_owned());
    let first = tokio::spawn(async move {
        let headers = [
            ("Authorization", auth_for_task.as_str()),
            ("Idempotency-Key", "lost-answer-1"),
        ];
        request(
            &address,
            "POST",
            "/api/v1/projects/OPS/tasks",
            &headers,
            &body_for_task,
        )
        .await
    });
    // The create commits, then waits at the failpoint while the database goes away.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.stop_immediately();
    let first = first.await.unwrap();
    assert_eq!(first.status, 503, "{}", first.body);
    assert!(
        first.body.contains(r#""code":"committed""#),
        "a committed create is not reported as nothing written: {}",
        first.body
    );
    cluster.start_again();
    let mut second = taskflow(&url, dir.path());
    second.env("TASKFLOW_DATABASE_TIMEOUT", "5s");
    let second = start(second).await;
    for address in [&server.address, &second.address] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let retried = loop {
            let reply = request(
                address,
                "POST",
                "/api/v1/projects/OPS/tasks",
                &with_key,
                body,
            )
            .await;
            if reply.status != 503 || Instant::now() > deadline {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(retried.status, 201, "{}", retried.body);
        assert!(
            retried.body.contains(r#""key":"OPS-1""#),
            "{}",
            retried.body
        );
    }
    assert_eq!(
        cluster
            .number(
                "lost",
                "SELECT count(*) FROM tasks WHERE title = 'Saved once'"
            )
            .await,
        1,
        "the task exists once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_writer_busy_past_its_wait_answers_503() {
    let dir = tempdir();
    let db = dir.path().join("taskflow.db");
    let url = format!("sqlite://{}", db.display());
    let mut c = taskflow(&url, dir.path());
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password")
        .env("TASKFLOW_DATABASE_TIMEOUT", "1s");
    let mut server = start(c).await;
    let token = admin_token(&url, dir.path()).await;
    let auth = format!("Bearer {token}");
    let auth = [("Authorization", auth.as_str())];

    // Another process (here: this test) holds the database's write lock.
    use sqlx::Connection;
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let started = Instant::now();
    let reply = request(
        &server.address,
        "POST",
        "/api/v1/projects",
        &auth,
        r#"{"key": "OPS", "name": "Operations"}"#,
    )
    .await;
    assert_unavailable("a write", &reply, started.elapsed(), Duration::from_secs(4));
    let (status, _) = http(&server.address, "GET", "/healthz").await;
    assert_eq!(status, 200);
    // Readiness notices that nothing can be written, and says so within a second.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let started = Instant::now();
    let (status, body) = http(&server.address, "GET", "/readyz").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "/readyz took {:?}",
        started.elapsed()
    );
    assert_eq!(status, 503, "{body}");
    let readiness: serde_json::Value = serde_json::from_str(&body).unwrap();
    let writes = readiness["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database_writes")
        .unwrap_or_else(|| panic!("no database_writes check: {body}"));
    assert_eq!(writes["ok"], false, "{body}");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    let ready = async {
        loop {
            if http(&server.address, "GET", "/readyz").await.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .expect("ready again once the lock is free");

    let reply = request(
        &server.address,
        "POST",
        "/api/v1/projects",
        &auth,
        r#"{"key": "OPS", "name": "Operations"}"#,
    )
    .await;
    assert_eq!(
        reply.status, 201,
        "writes work once the lock is free: {}",
        reply.body
    );
    let _ = server.child.start_kill();
}

/// A server's claim on the database outlives a PostgreSQL restart: once the database is back
/// the server holds it again, so `restore` is still refused under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serving_claim_is_taken_again_after_postgres_restarts() {
    let cluster = PgCluster::private();
    cluster.create_database("taskflow").await;
    let url = cluster.url("taskflow");
    let dir = tempdir();
    let data = dir.path().join("data");
    let mut server = start(taskflow(&url, &data)).await;
    let mut c = taskflow(&url, &data);
    c.args(["backup", "create", "--output"])
        .arg(dir.path().join("archives"));
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = stdout(&out).trim().to_owned();
    let claims = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock'";
    assert_eq!(
        cluster.number("postgres", claims).await,
        1,
        "the server holds its claim"
    );

    cluster.stop_immediately();
    cluster.start_again();
    let held = async {
        while cluster.number("postgres", claims).await != 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), held)
        .await
        .expect("the server takes its claim again once PostgreSQL is back");
    let mut c = taskflow(&url, &data);
    c.args(["restore", "--force", &archive]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a taskflow server is using"),
        "{}",
        stderr(&out)
    );
    crate::serve::sigterm(&server.child).await;
    assert!(server.child.wait().await.unwrap().success());
}

/// A small filesystem of its own, unmounted when dropped.
struct SmallVolume {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallVolume {
    fn mount(megabytes: u32) -> Self {
        assert!(
            taskflow_testkit::pg::is_root(),
            "the full-disk test mounts a tmpfs and must run as root (the test command does)"
        );
        let dir = tempdir();
        let path = dir.path().join("volume");
        std::fs::create_dir(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0700")])
            .arg("tmpfs")
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "cannot mount a tmpfs at {}",
            path.display()
        );
        Self { path, _dir: dir }
    }

    /// Fills what is left with one file; returns it.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let ballast = self.path.join("ballast");
        let mut file = std::fs::File::create(&ballast).unwrap();
        let chunk = vec![0x55u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        ballast
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_clean_temporary_error_sqlite() {
    a_full_disk_is_a_clean_temporary_error(taskflow_testkit::Backend::Sqlite).await;
}

/// PostgreSQL's database lives in a tablespace on the small volume, with the attachments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_clean_temporary_error_postgres() {
    a_full_disk_is_a_clean_temporary_error(taskflow_testkit::Backend::Postgres).await;
}

async fn a_full_disk_is_a_clean_temporary_error(backend: taskflow_testkit::Backend) {
    let volume = SmallVolume::mount(12);
    let data = volume.path.join("data");
    let (url, _cluster) = match backend {
        taskflow_testkit::Backend::Sqlite => {
            (format!("sqlite://{}/taskflow.db", data.display()), None)
        }
        taskflow_testkit::Backend::Postgres => {
            let space = volume.path.join("tablespace");
            std::fs::create_dir(&space).unwrap();
            // The server's user must reach the directory.
            use std::os::unix::fs::PermissionsExt;
            for dir in [volume.path.parent().unwrap(), volume.path.as_path()] {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
            }
            let cluster = PgCluster::private();
            cluster.give(&space);
            cluster
                .admin(&format!(
                    "CREATE TABLESPACE small LOCATION '{}'",
                    space.display()
                ))
                .await;
            cluster
                .admin("CREATE DATABASE taskflow TABLESPACE small")
                .await;
            (cluster.url("taskflow"), Some(cluster))
        }
    };
    let mut c = taskflow(&url, &data);
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password")
        .env("TASKFLOW_MIN_FREE_BYTES", "0")
        .env("TASKFLOW_GC_INTERVAL", "off");
    let mut server = start(c).await;
    let token = admin_token(&url, &data).await;
    let auth = format!("Bearer {token}");
    let auth = [("Authorization", auth.as_str())];
    let address = server.address.clone();
    let post = |path: &'static str, body: String| {
        let address = address.clone();
        let auth = auth.map(|(n, v)| (n, v.to_owned()));
        async move {
            let auth: Vec<(&str, &str)> = auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
            request(&address, "POST", path, &auth, &body).await
        }
    };
    let project = post(
        "/api/v1/projects",
        r#"{"key": "OPS", "name": "Operations"}"#.into(),
    )
    .await;
    assert_eq!(project.status, 201, "{}", project.body);
    let mut acknowledged = Vec::new();
    let task = |i: usize| {
        format!(
            r#"{{"title": "task {i}", "description": "{}"}}"#,
            "words ".repeat(2000)
        )
    };
    for i in 0..5 {
        let reply = post("/api/v1/projects/OPS/tasks", task(i)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        acknowledged.push(format!("task {i}"));
    }

    let ballast = volume.fill();
    let upload_path = "/api/v1/tasks/OPS-1/attachments?name=notes.txt";
    let upload = request(
        &address,
        "POST",
        upload_path,
        &[auth[0], ("Content-Type", "text/plain")],
        &"x".repeat(256 * 1024),
    )
    .await;
    assert_eq!(
        upload.status, 507,
        "an upload on a full disk: {}",
        upload.body
    );
    assert!(
        upload.body.contains("insufficient_storage"),
        "{}",
        upload.body
    );
    // Database writes: each is whole or refused with 507, never a 500.
    let mut refused = 0;
    for i in 5..60 {
        let reply = post("/api/v1/projects/OPS/tasks", task(i)).await;
        match reply.status {
            201 => acknowledged.push(format!("task {i}")),
            507 => {
                assert!(
                    reply.body.contains("insufficient_storage"),
                    "{}",
                    reply.body
                );
                refused += 1;
            }
            other => panic!("a write on a full disk answered {other}: {}", reply.body),
        }
    }
    assert!(refused > 0, "the full disk refused some database write");
    let list = request(&address, "GET", "/api/v1/projects/OPS/tasks", &auth, "").await;
    assert_eq!(list.status, 200, "reads keep working: {}", list.body);

    // Space comes back: writes work again, with no restart.
    std::fs::remove_file(&ballast).unwrap();
    let reply = post("/api/v1/projects/OPS/tasks", task(100)).await;
    assert_eq!(
        reply.status, 201,
        "a write once space is free: {}",
        reply.body
    );
    acknowledged.push("task 100".to_owned());
    let upload = request(
        &address,
        "POST",
        upload_path,
        &[auth[0], ("Content-Type", "text/plain")],
        "now it fits",
    )
    .await;
    assert_eq!(upload.status, 201, "{}", upload.body);

    crate::serve::sigterm(&server.child).await;
    assert_eq!(server.child.wait().await.unwrap().code(), Some(0));
    let store = taskflow_testkit::open(backend, &url).await;
    assert!(store.integrity_check().await.unwrap().is_empty());
    let mut query = taskflow_core::task::TaskQuery::new(taskflow_core::task::TaskSort::Position);
    query.limit = 200;
    let project = store
        .project_by_key(&taskflow_core::project::ProjectKey::parse("OPS").unwrap())
        .await
        .unwrap();
    let titles: Vec<String> = store
        .list_tasks(project.id, &query)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.title.to_string())
        .collect();
    for title in &acknowledged {
        assert!(
            titles.contains(title),
            "{title} was acknowledged and is gone"
        );
    }
    store.close().await;
}

/// On a full data volume, `serve` names the cause. With PostgreSQL it starts (reads and `gc`
/// work; `/readyz` reports the volume); SQLite cannot open its database without a little room,
/// so it refuses, saying so — never advising `chown`.
async fn serve_on_a_full_volume_names_the_cause(store: taskflow_testkit::TestStore) {
    let volume = SmallVolume::mount(8);
    let data = volume.path.join("data");
    let url = match store.backend {
        taskflow_testkit::Backend::Sqlite => format!("sqlite://{}/taskflow.db", data.display()),
        taskflow_testkit::Backend::Postgres => store.url.clone(),
    };
    // An installation with its administrator (a first start would have to write one).
    for args in [
        &["migrate"][..],
        &["user", "create", "--username", "admin", "--admin"],
    ] {
        let mut c = taskflow(&url, &data);
        c.args(args);
        let out = run(c).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    volume.fill();
    let serve = || {
        let mut c = taskflow(&url, &data);
        c.env("TASKFLOW_MIN_FREE_BYTES", "0")
            .env("TASKFLOW_GC_INTERVAL", "off");
        c
    };
    if store.backend == taskflow_testkit::Backend::Sqlite {
        let mut c = serve();
        c.args(["serve", "--listen", "127.0.0.1:0"]);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("is full"), "{err}");
        assert!(err.contains("free space"), "{err}");
        assert!(
            !err.contains("chown"),
            "no ownership advice for a full volume: {err}"
        );
        return;
    }
    let mut server = start(serve()).await;
    let (status, _) = http(&server.address, "GET", "/healthz").await;
    assert_eq!(status, 200);
    let (status, body) = http(&server.address, "GET", "/api/v1/openapi.json").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(&server.address, "GET", "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#"{"name":"data_dir","ok":false"#), "{body}");
    assert!(body.contains("No space left on device"), "{body}");
    let _ = server.child.start_kill();
}

taskflow_testkit::both_backends!(serve_on_a_full_volume_names_the_cause);

#[tokio::test]
async fn serve_on_a_data_dir_that_is_a_file_says_what_doctor_says() {
    let dir = tempdir();
    let file = dir.path().join("taskflow-data");
    std::fs::write(&file, b"not a directory").unwrap();
    let mut c = crate::clean_command();
    c.env("TASKFLOW_DATA_DIR", &file)
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("is not a directory"), "{err}");
    assert!(
        err.contains("point TASKFLOW_DATA_DIR at a directory"),
        "{err}"
    );
    assert!(
        !err.contains("chown"),
        "no ownership advice for a file: {err}"
    );
    let mut c = crate::clean_command();
    c.env("TASKFLOW_DATA_DIR", &file).arg("doctor");
    let doctor = stdout(&run(c).await);
    assert!(doctor.contains("is not a directory"), "{doctor}");
}
