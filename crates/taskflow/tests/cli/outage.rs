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
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();

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
