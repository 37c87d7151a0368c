//! `taskflow serve` as a real process on port 0.

use std::process::Stdio;
use std::time::Duration;

use taskflow_core::user::Username;
use taskflow_testkit::{TestStore, both_backends, tempdir};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Child;

use crate::{clean_command, run, stderr, taskflow};

/// A running server and the address it reported.
pub struct Server {
    pub child: Child,
    pub address: String,
    pub stdout: Vec<String>,
}

/// Starts `serve` on a free port and waits for its "listening" line.
pub async fn start(cmd: tokio::process::Command) -> Server {
    start_logging_to(cmd, Stdio::null()).await
}

/// `start`, with the server's log going to `log`.
pub async fn start_logging_to(mut cmd: tokio::process::Command, log: impl Into<Stdio>) -> Server {
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(log);
    let mut child = cmd.spawn().expect("start taskflow serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let address = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push(line.clone());
            if let Some(address) = line.strip_prefix("taskflow listening on http://") {
                return address.to_owned();
            }
        }
        panic!("serve exited before listening: {stdout:?}");
    })
    .await
    .expect("serve starts listening");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        address,
        stdout,
    }
}

/// A minimal HTTP/1.1 request to the main listener; returns the status code and the body. The
/// answer must be what the OpenAPI document says it is.
pub async fn http(address: &str, method: &str, path: &str) -> (u16, String) {
    let reply = request(address, method, path, &[], "").await;
    (reply.status, reply.body)
}

/// An answer from the server.
pub struct Reply {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request with extra headers and a body, to the main listener; the answer must be what the
/// OpenAPI document says it is.
pub async fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    static SPEC: std::sync::OnceLock<taskflow_testkit::openapi::Spec> = std::sync::OnceLock::new();
    let reply = raw_http(address, method, path, headers, body).await;
    let spec = SPEC.get_or_init(|| {
        taskflow_testkit::openapi::Spec::new(
            serde_json::to_value(taskflow_server::openapi()).unwrap(),
        )
    });
    spec.assert(
        method,
        path,
        reply.status,
        reply.header("content-type"),
        reply.body.as_bytes(),
    );
    reply
}

/// A minimal HTTP/1.1 request.
pub async fn raw_http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

pub async fn sigterm(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

async fn serve_is_ready_and_stops_cleanly_on_sigterm(store: TestStore) {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.env("TASKFLOW_ADMIN_PASSWORD", "first admin password");
    let mut server = start(c).await;
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.contains("created the first administrator")),
        "{:?}",
        server.stdout
    );
    let (status, body) = http(&server.address, "GET", "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ready""#));
    let admin = store
        .user_by_username(&Username::parse("admin").unwrap())
        .await
        .unwrap();
    assert!(admin.is_admin && admin.password_hash.verify("first admin password"));

    sigterm(&server.child).await;
    let exit = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert_eq!(exit.code(), Some(0));

    // A second start finds the administrator and creates no other; a password still set is
    // ignored, and the log says so.
    let log = store.data_dir.with_extension("second-start.log");
    let mut again = taskflow(&store.url, &store.data_dir);
    again.env("TASKFLOW_ADMIN_PASSWORD", "another admin password");
    let mut server =
        crate::serve::start_logging_to(again, std::fs::File::create(&log).unwrap()).await;
    assert!(
        !server
            .stdout
            .iter()
            .any(|l| l.contains("created the first administrator"))
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    sigterm(&server.child).await;
    assert_eq!(server.child.wait().await.unwrap().code(), Some(0));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("TASKFLOW_ADMIN_PASSWORD is set but was ignored")
            && logged.contains("taskflow user set-password"),
        "{logged}"
    );
    assert!(
        !logged.contains('\u{1b}'),
        "no colour codes in a file: {logged}"
    );
    let admin = store
        .user_by_username(&Username::parse("admin").unwrap())
        .await
        .unwrap();
    assert!(
        admin.password_hash.verify("first admin password"),
        "unchanged"
    );
}

async fn replicas_starting_together_migrate_once(store: TestStore) {
    let (url, dir) = TestStore::unmigrated_url(store.backend).await;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(tokio::spawn(start(taskflow(&url, dir.path()))));
    }
    let mut started = Vec::new();
    for s in servers {
        started.push(s.await.unwrap());
    }
    for server in &started {
        let (status, body) = http(&server.address, "GET", "/readyz").await;
        assert_eq!(status, 200, "{body}");
    }
    let admins: usize = started
        .iter()
        .filter(|s| {
            s.stdout
                .iter()
                .any(|l| l.contains("created the first administrator"))
        })
        .count();
    assert_eq!(admins, 1, "exactly one replica creates the administrator");
    for mut server in started {
        sigterm(&server.child).await;
        assert_eq!(server.child.wait().await.unwrap().code(), Some(0));
    }
}

both_backends!(
    serve_is_ready_and_stops_cleanly_on_sigterm,
    replicas_starting_together_migrate_once
);

/// Failed logins are logged with the name tried and the client's address (from a trusted
/// proxy's `X-Forwarded-For`), never with the password.
async fn failed_logins_are_logged_with_name_and_address(store: TestStore) {
    let dir = tempdir();
    let log = dir.path().join("serve.log");
    let mut cmd = taskflow(&store.url, &store.data_dir);
    cmd.env("TASKFLOW_LOG_FORMAT", "json")
        .env("TASKFLOW_TRUSTED_PROXIES", "127.0.0.1");
    let mut server = start_logging_to(cmd, std::fs::File::create(&log).unwrap()).await;
    let body = r#"{"username":"Mallory","password":"a guessed password"}"#;
    let reply = request(
        &server.address,
        "POST",
        "/api/v1/auth/login",
        &[("X-Forwarded-For", "203.0.113.9")],
        body,
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if std::fs::read_to_string(&log)
                .unwrap()
                .contains("failed login")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|l: &serde_json::Value| l["fields"]["message"] == "failed login")
        .unwrap_or_else(|| panic!("no failed login in the log:\n{text}"));
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(line["fields"]["username"], "mallory", "{line}");
    assert_eq!(line["fields"]["client"], "203.0.113.9", "{line}");
    assert!(
        !text.contains("a guessed password"),
        "the password reached the log"
    );
}

both_backends!(failed_logins_are_logged_with_name_and_address);

/// Whether the server closes `stream` within `within`, reading (and discarding) what it sends.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// Connections that never finish a request head, and keep-alive connections left idle, are
/// closed after `TASKFLOW_HEADER_TIMEOUT`; past `TASKFLOW_MAX_CONNECTIONS` a small reserve answers
/// the health checks and nothing else.
#[tokio::test]
async fn slow_idle_and_excess_connections_are_bounded() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let mut cmd = clean_command();
    cmd.env("TASKFLOW_DATA_DIR", &data)
        .env("TASKFLOW_HEADER_TIMEOUT", "3s")
        .env("TASKFLOW_MAX_CONNECTIONS", "4");
    let server = start(cmd).await;
    let address = server.address.as_str();

    // A head that never ends.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A keep-alive connection answered once, then left idle.
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(
        closed_within(&mut slow, Duration::from_secs(15)).await,
        "a slow head is cut off"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(15)).await,
        "an idle connection is closed"
    );

    // Four connections fill the server. Past them, a reserve answers the health checks at
    // once and anything else with 503; once one of the four goes, all is served again.
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(TcpStream::connect(address).await.unwrap());
    }
    let answer_to = |path: &'static str| async move {
        let mut extra = TcpStream::connect(address).await.unwrap();
        extra
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer))
            .await
            .expect("answered at once")
            .unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    };
    let health = answer_to("/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let busy = answer_to("/api/v1/openapi.json").await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(
        busy.to_ascii_lowercase().contains("retry-after") && busy.contains("connection limit"),
        "{busy}"
    );
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = answer_to("/api/v1/openapi.json").await;
    assert!(
        served.starts_with("HTTP/1.1 200"),
        "{}",
        &served[..served.len().min(200)]
    );
}

#[tokio::test]
async fn quick_start_defaults_serve_sqlite_in_taskflow_data() {
    let dir = tempdir();
    let mut c = clean_command();
    c.current_dir(dir.path());
    let mut server = start(c).await;
    let printed = server
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix("created the first administrator: username admin, password "))
        .expect("a generated password is printed once")
        .to_owned();
    // And kept in a file only its owner reads, named on stdout.
    let kept = dir.path().join("taskflow-data/initial-admin-password");
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.contains(&kept.display().to_string())
                || l.contains("taskflow-data/initial-admin-password")),
        "{:?}",
        server.stdout
    );
    assert_eq!(std::fs::read_to_string(&kept).unwrap().trim(), printed);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(http(&server.address, "GET", "/readyz").await.0, 200);
    assert!(dir.path().join("taskflow-data/taskflow.db").exists());
    sigterm(&server.child).await;
    assert_eq!(server.child.wait().await.unwrap().code(), Some(0));
}

#[tokio::test]
async fn bad_serve_settings_exit_2() {
    let dir = tempdir();
    for (var, value) in [
        ("TASKFLOW_LISTEN", "not an address"),
        ("TASKFLOW_SHUTDOWN_TIMEOUT", "soon"),
        ("TASKFLOW_ADMIN_PASSWORD", "short"),
    ] {
        // A --listen flag would win over TASKFLOW_LISTEN.
        let args: &[&str] = if var == "TASKFLOW_LISTEN" {
            &["serve"]
        } else {
            &["serve", "--listen", "127.0.0.1:0"]
        };
        let mut c = taskflow(
            &format!("sqlite://{}/t.db", dir.path().display()),
            dir.path(),
        );
        c.env(var, value).args(args);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{var}: {}", stderr(&out));
        assert!(stderr(&out).contains(var), "{var}: {}", stderr(&out));
    }
    assert!(
        !dir.path().join("t.db").exists(),
        "a bad setting changes nothing"
    );
}

/// SIGTERM while a request is in flight: the server stops accepting connections, finishes
/// that request (its body arrives after the signal), then exits 0.
async fn sigterm_lets_the_request_in_flight_finish(store: TestStore) {
    let (_, secret) = store.user_with_token("alice", false).await;
    let mut server = start(taskflow(&store.url, &store.data_dir)).await;

    let body = r#"{"key": "LATE", "name": "Arrived after SIGTERM"}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(&server.address).await.unwrap();
    // A first, complete request on this keep-alive connection proves the server has accepted
    // it, so the request below is in flight (not waiting in the listen queue) at SIGTERM.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).ends_with(r#"{"status":"ok"}"#) {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    let head = format!(
        "POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        secret.expose(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&server.child).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // No new connections are served any more.
    let refused = match TcpStream::connect(&server.address).await {
        Err(_) => true,
        Ok(mut s) => {
            let _ = s
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let mut buf = String::new();
            matches!(
                tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut buf)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        }
    };
    assert!(refused, "a new connection was served after SIGTERM");

    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let exit = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    let key = taskflow_core::project::ProjectKey::parse("LATE").unwrap();
    assert!(
        store.project_by_key(&key).await.is_ok(),
        "the in-flight write is durable"
    );
}

both_backends!(sigterm_lets_the_request_in_flight_finish);

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let dir = tempdir();
    let mut c = taskflow(
        &format!("sqlite://{}/t.db", dir.path().display()),
        dir.path(),
    );
    c.env("TASKFLOW_METRICS_LISTEN", "127.0.0.1:0");
    let mut server = start(c).await;
    let metrics = server
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix("taskflow metrics on http://"))
        .and_then(|l| l.strip_suffix("/metrics"))
        .expect("the metrics address is printed")
        .to_owned();
    assert_eq!(http(&server.address, "GET", "/healthz").await.0, 200);
    let (status, body) = http(&metrics, "GET", "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("http_requests_total"), "{body}");
    assert_eq!(
        http(&server.address, "GET", "/metrics").await.0,
        404,
        "not on the main port"
    );
    // The metrics listener answers the health checks too (the probes' port), nothing else.
    assert_eq!(
        raw_http(&metrics, "GET", "/healthz", &[], "").await.status,
        200
    );
    assert_eq!(
        raw_http(&metrics, "GET", "/readyz", &[], "").await.status,
        200
    );
    assert_eq!(
        raw_http(&metrics, "GET", "/api/v1/projects", &[], "")
            .await
            .status,
        404,
        "not the API"
    );
    sigterm(&server.child).await;
    assert_eq!(server.child.wait().await.unwrap().code(), Some(0));
}
