//! No request or client can hold the server: heavy text, long lines and slow clients against
//! the real binary, with `/healthz` timed while they run.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskflow_testkit::{TestStore, both_backends, tempdir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::serve::{Server, raw_http, request, start};

const ADMIN_PASSWORD: &str = "a hardening password";

/// A server on `store`'s backend with the administrator's session and API token.
struct Site {
    server: Server,
    bearer: String,
    /// The session cookie and its CSRF token.
    cookie: String,
    csrf: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn site(store: &TestStore, settings: &[(&str, &str)]) -> Site {
    let (url, db_dir) = TestStore::unmigrated_url(store.backend).await;
    let data = tempdir();
    let mut cmd = crate::taskflow(&url, data.path());
    cmd.env("TASKFLOW_ADMIN_PASSWORD", ADMIN_PASSWORD);
    for (name, value) in settings {
        cmd.env(name, value);
    }
    let server = start(cmd).await;
    let mut token = crate::taskflow(&url, data.path());
    token.args(["token", "create", "--username", "admin"]);
    let out = crate::run(token).await;
    assert!(out.status.success(), "{}", crate::stderr(&out));
    let login = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let reply = request(&server.address, "POST", "/api/v1/auth/login", &[], &login).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cookie = reply
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let csrf = serde_json::from_str::<Value>(&reply.body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Site {
        server,
        bearer: format!("Bearer {}", crate::stdout(&out).trim()),
        cookie,
        csrf,
        _dirs: (db_dir, data),
    }
}

impl Site {
    async fn api(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let reply = request(
            &self.server.address,
            method,
            path,
            &[("Authorization", self.bearer.as_str())],
            &body.to_string(),
        )
        .await;
        (
            reply.status,
            serde_json::from_str(&reply.body).unwrap_or(Value::Null),
        )
    }

    /// A web page or form post with the session; the status and the body.
    async fn page(&self, method: &str, path: &str, form: &str) -> (u16, String) {
        let mut headers = vec![("Cookie", self.cookie.as_str())];
        if !form.is_empty() {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let reply = raw_http(&self.server.address, method, path, &headers, form).await;
        (reply.status, reply.body)
    }
}

/// How long `/healthz` takes to answer, on a new connection.
async fn health_time(address: &str) -> Duration {
    let started = Instant::now();
    let (status, _) = crate::serve::http(address, "GET", "/healthz").await;
    assert_eq!(status, 200);
    started.elapsed()
}

/// The health check answered within `target` while something ran: nine times in ten (the
/// test suite runs beside this test on the same cores, and the odd probe waits for them),
/// and never stalled — no probe took five times as long. A server whose async workers were
/// taken (the fault this guards against) answered in seconds.
fn answered_within(mut times: Vec<Duration>, target: Duration, what: &str) {
    assert!(!times.is_empty(), "/healthz was never asked {what}");
    times.sort();
    let p90 = times[(times.len() * 9).div_ceil(10) - 1];
    let slowest = times[times.len() - 1];
    assert!(
        p90 < target && slowest < target * 5,
        "/healthz {what}: 90 % within {p90:?}, the slowest {slowest:?} ({} probes; target {target:?})",
        times.len()
    );
}

fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// 50 000 × `>` or `1. ` in a description and in a comment render in well under a second, and
/// four views and four previews of them at once leave `/healthz` answering within 50 ms. A
/// preview longer than saving allows is refused with the limit in words.
async fn nested_markdown_cannot_stall_the_server(store: TestStore) {
    let site = site(&store, &[]).await;
    let (status, _) = site
        .api(
            "POST",
            "/api/v1/projects",
            json!({"key": "DEEP", "name": "Deep"}),
        )
        .await;
    assert_eq!(status, 201);
    let texts = [">".repeat(50_000), "1. ".repeat(16_666)];
    let mut keys = Vec::new();
    for text in &texts {
        let (status, task) = site
            .api(
                "POST",
                "/api/v1/projects/DEEP/tasks",
                json!({"title": "Nested", "description": text}),
            )
            .await;
        assert_eq!(status, 201, "{task}");
        let key = task["key"].as_str().unwrap().to_owned();
        let (status, comment) = site
            .api(
                "POST",
                &format!("/api/v1/tasks/{key}/comments"),
                json!({"body": text}),
            )
            .await;
        assert_eq!(status, 201, "{comment}");
        keys.push(key);
    }
    // One view of each, timed: the first render of a text.
    for key in &keys {
        let started = Instant::now();
        let (status, body) = site.page("GET", &format!("/t/{key}"), "").await;
        assert_eq!(status, 200);
        assert!(body.contains("<blockquote>") || body.contains("<ol>"));
        let took = started.elapsed();
        assert!(took < Duration::from_millis(900), "{key} took {took:?}");
    }
    // Four views and four previews at once (previews of new text each time, so none is
    // cached), in five waves one after another, with the health check timed meanwhile.
    let address = site.server.address.clone();
    let (cookie, csrf) = (site.cookie.clone(), site.csrf.clone());
    let waves = {
        let (keys, texts, address) = (keys.clone(), texts.clone(), address.clone());
        tokio::spawn(async move {
            for wave in 0..5 {
                let mut work = tokio::task::JoinSet::new();
                for round in 0..4 {
                    let key = keys[round % 2].clone();
                    let (view_key, view_cookie, view_address) =
                        (key.clone(), cookie.clone(), address.clone());
                    work.spawn(async move {
                        let headers = [("Cookie", view_cookie.as_str())];
                        let path = format!("/t/{view_key}");
                        let reply = raw_http(&view_address, "GET", &path, &headers, "").await;
                        assert_eq!(reply.status, 200);
                    });
                    let preview = format!(
                        "csrf={csrf}&title=Nested&status=todo&priority=none&version=1&action=preview&description={}",
                        form_encoded(&format!("{wave}{round}{}", &texts[round % 2][2..]))
                    );
                    let (preview_cookie, preview_address) = (cookie.clone(), address.clone());
                    work.spawn(async move {
                        let headers = [
                            ("Cookie", preview_cookie.as_str()),
                            ("Content-Type", "application/x-www-form-urlencoded"),
                        ];
                        let path = format!("/t/{key}/edit");
                        let reply =
                            raw_http(&preview_address, "POST", &path, &headers, &preview).await;
                        assert_eq!(reply.status, 200, "{}", reply.body);
                    });
                }
                while let Some(done) = work.join_next().await {
                    done.unwrap();
                }
            }
        })
    };
    let mut times = Vec::new();
    while !waves.is_finished() {
        times.push(health_time(&address).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    waves.await.unwrap();
    answered_within(times, Duration::from_millis(50), "while the pages rendered");

    // A preview of more than saving accepts is refused, saying the limit.
    let too_long = format!(
        "csrf={}&title=Nested&status=todo&priority=none&version=1&action=preview&description={}",
        site.csrf,
        form_encoded(&">".repeat(50_001))
    );
    let (status, body) = site
        .page("POST", &format!("/t/{}/edit", keys[0]), &too_long)
        .await;
    assert_eq!(status, 422);
    assert!(body.contains("at most 50000 characters"), "{body}");
    assert!(!body.contains("<blockquote>"), "nothing was rendered");
}

/// A quick-add line of a megabyte is refused at once, and the health check never waits.
async fn a_megabyte_quick_add_line_is_refused_at_once(store: TestStore) {
    let site = site(&store, &[]).await;
    let (status, _) = site
        .api(
            "POST",
            "/api/v1/projects",
            json!({"key": "QA", "name": "Quick"}),
        )
        .await;
    assert_eq!(status, 201);
    let labels: String = (0..120_000).map(|i| format!("#l{i} ")).collect();
    let form = format!("csrf={}&line={}", site.csrf, form_encoded(&labels));
    assert!(form.len() > 1 << 20);
    let started = Instant::now();
    let (status, body) = site.page("POST", "/p/QA/tasks", &form).await;
    let took = started.elapsed();
    assert_eq!(status, 422);
    assert!(body.contains("at most 10000 bytes"), "{}", &body[..2000]);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let (_, page) = site
        .api("GET", "/api/v1/projects/QA/tasks", Value::Null)
        .await;
    assert_eq!(page["items"], json!([]), "nothing was created");
}

/// A connection from `source` (any 127.x address) to `address`.
async fn connect_from(source: &str, address: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(address).await.unwrap()
}

/// 1 100 request bodies trickling a byte every 5 seconds (more than `TASKFLOW_MAX_CONNECTIONS`)
/// leave `/healthz` answering within 100 ms, and the minimum body rate closes every one of
/// them; uploads abandoned that way, or by hanging up, leave nothing in `tmp/`.
async fn trickling_bodies_are_closed_and_health_answers_meanwhile(store: TestStore) {
    let site = site(&store, &[("TASKFLOW_HEADER_TIMEOUT", "2s")]).await;
    let (status, _) = site
        .api(
            "POST",
            "/api/v1/projects",
            json!({"key": "UP", "name": "Uploads"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = site
        .api(
            "POST",
            "/api/v1/projects/UP/tasks",
            json!({"title": "Files"}),
        )
        .await;
    assert_eq!(status, 201);
    let address: std::net::SocketAddr = site.server.address.parse().unwrap();
    let began = Instant::now();
    let mut trickles = Vec::new();
    for i in 0..1100 {
        // Five addresses, each under the per-client cap, together past the global one.
        let mut stream = connect_from(&format!("127.0.0.{}", 2 + i % 5), address).await;
        let head = if i % 100 == 0 {
            format!(
                "POST /api/v1/tasks/UP-1/attachments?name=big.bin HTTP/1.1\r\nHost: x\r\n\
                 Authorization: {}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Length: 10000000\r\n\r\n{}",
                site.bearer,
                "x".repeat(5000)
            )
        } else {
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 1000\r\n\r\n{"
                .to_owned()
        };
        stream.write_all(head.as_bytes()).await.unwrap();
        trickles.push(stream);
    }
    // One upload hangs up half-way.
    let mut gone = connect_from("127.0.0.7", address).await;
    gone.write_all(
        format!(
            "POST /api/v1/tasks/UP-1/attachments?name=gone.bin HTTP/1.1\r\nHost: x\r\n\
             Authorization: {}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: 10000000\r\n\r\n{}",
            site.bearer,
            "y".repeat(100_000)
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(gone);

    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut watchers = tokio::task::JoinSet::new();
    for mut stream in trickles {
        let closed = closed.clone();
        watchers.spawn(async move {
            let mut buf = [0u8; 1024];
            let deadline = Instant::now() + Duration::from_secs(40);
            loop {
                let wait = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf));
                match wait.await {
                    Ok(Ok(0) | Err(_)) => break,
                    Ok(Ok(_)) => {}
                    Err(_) if Instant::now() > deadline => return,
                    // A byte every five seconds.
                    Err(_) => {
                        if stream.write_all(b" ").await.is_err() {
                            break;
                        }
                    }
                }
            }
            closed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let mut times = Vec::new();
    while !watchers.is_empty() && began.elapsed() < Duration::from_secs(45) {
        times.push(health_time(&site.server.address).await);
        while watchers.try_join_next().is_some() {}
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed = closed.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(closed, 1100, "trickling connections closed by the server");
    answered_within(
        times,
        Duration::from_millis(100),
        "while 1 100 bodies trickled",
    );
    let data = site._dirs.1.path();
    let left: Vec<_> = std::fs::read_dir(data.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "abandoned uploads left {left:?} in tmp/");
}

/// One address holds at most `TASKFLOW_MAX_CLIENT_CONNECTIONS` connections; more from it
/// are answered 503 at once, while another address is served.
#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let dir = tempdir();
    let mut cmd = crate::clean_command();
    cmd.env("TASKFLOW_DATA_DIR", dir.path().join("data"))
        .env("TASKFLOW_MAX_CLIENT_CONNECTIONS", "3");
    let server = start(cmd).await;
    let address: std::net::SocketAddr = server.address.parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.3", address).await);
    }
    // A client that sends its request at once, as clients do, reads the answer.
    let mut fourth = connect_from("127.0.0.3", address).await;
    fourth
        .write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), fourth.read_to_string(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 5") && answer.contains("too many connections"));
    let (status, _) = crate::serve::http(&server.address, "GET", "/healthz").await;
    assert_eq!(status, 200, "another address is served");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect_from("127.0.0.3", address).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    again.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "a freed place is served: {answer}"
    );
}

/// A create whose answer never reached the client (it hung up), retried with the same
/// `Idempotency-Key`, exists once; the retry answers 201 with what the first made. The same key
/// with another request is refused; the same request without a key makes another.
async fn a_create_retried_with_its_idempotency_key_exists_once(store: TestStore) {
    let site = site(&store, &[]).await;
    let (status, _) = site
        .api(
            "POST",
            "/api/v1/projects",
            json!({"key": "ID", "name": "Once"}),
        )
        .await;
    assert_eq!(status, 201);
    let body = json!({"title": "Exactly once", "assignees": ["admin"]}).to_string();
    let head = |key: &str, body: &str| {
        format!(
            "POST /api/v1/projects/ID/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
             Idempotency-Key: {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            site.bearer,
            body.len()
        )
    };
    // The client sends the create and hangs up before the answer.
    let mut lost = TcpStream::connect(&site.server.address).await.unwrap();
    lost.write_all(head("retry-1", &body).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(lost);
    let auth = [
        ("Authorization", site.bearer.as_str()),
        ("Idempotency-Key", "retry-1"),
    ];
    let path = "/api/v1/projects/ID/tasks";
    let mut keys = Vec::new();
    for _ in 0..2 {
        let again = request(&site.server.address, "POST", path, &auth, &body).await;
        assert_eq!(again.status, 201, "{}", again.body);
        let task: Value = serde_json::from_str(&again.body).unwrap();
        keys.push(task["key"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        keys,
        ["ID-1", "ID-1"],
        "the retries answer with the first task"
    );
    let other = json!({"title": "Something else"}).to_string();
    let reused = request(&site.server.address, "POST", path, &auth, &other).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert!(
        reused.body.contains("idempotency_key_reused"),
        "{}",
        reused.body
    );
    let bad = [
        ("Authorization", site.bearer.as_str()),
        ("Idempotency-Key", ""),
    ];
    let refused = request(&site.server.address, "POST", path, &bad, &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let fresh = request(
        &site.server.address,
        "POST",
        path,
        &[("Authorization", site.bearer.as_str())],
        &body,
    )
    .await;
    assert_eq!(fresh.status, 201, "without a key, another task");
    // Comments too.
    let comment = json!({"body": "once"}).to_string();
    let comment_auth = [
        ("Authorization", site.bearer.as_str()),
        ("Idempotency-Key", "comment-1"),
    ];
    let mut ids = Vec::new();
    for _ in 0..2 {
        let made = request(
            &site.server.address,
            "POST",
            "/api/v1/tasks/ID-1/comments",
            &comment_auth,
            &comment,
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.body);
        ids.push(serde_json::from_str::<Value>(&made.body).unwrap()["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let (_, tasks) = site
        .api("GET", "/api/v1/projects/ID/tasks", Value::Null)
        .await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 2, "{tasks}");
    let (_, comments) = site
        .api("GET", "/api/v1/tasks/ID-1/comments", Value::Null)
        .await;
    assert_eq!(comments["items"].as_array().unwrap().len(), 1, "{comments}");
}

both_backends!(
    a_create_retried_with_its_idempotency_key_exists_once,
    trickling_bodies_are_closed_and_health_answers_meanwhile,
    nested_markdown_cannot_stall_the_server,
    a_megabyte_quick_add_line_is_refused_at_once,
);
