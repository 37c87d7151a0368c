//! Attachments against the real binary: a 1 GiB round trip with the server's memory measured,
//! SIGKILL in the middle of an upload and right after one, and the start-up sweep of `tmp/`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use taskflow_testkit::{TestStore, all_storage};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::serve::{Server, start};
use crate::{run, stderr, stdout, taskflow};

/// A user with a token, a project OPS and its task OPS-1; returns the token.
async fn fixture(store: &TestStore) -> String {
    use taskflow_core::project::{NewProject, ProjectKey};
    use taskflow_core::task::NewTask;
    use taskflow_core::text::{Markdown, ProjectName, TaskTitle};
    let (user, token) = store.user_with_token("olivia", false).await;
    let project = store
        .create_project(
            user.id,
            NewProject {
                key: ProjectKey::parse("OPS").unwrap(),
                name: ProjectName::parse("Ops").unwrap(),
                description: Markdown::default(),
            },
        )
        .await
        .unwrap();
    store
        .create_task(
            user.id,
            project.id,
            NewTask::titled(TaskTitle::parse("files").unwrap()),
        )
        .await
        .unwrap();
    token.expose().to_owned()
}

struct Response {
    status: u16,
    headers: HashMap<String, String>,
    reader: BufReader<TcpStream>,
}

impl Response {
    async fn body(mut self) -> Vec<u8> {
        let mut body = Vec::new();
        self.reader.read_to_end(&mut body).await.unwrap();
        body
    }

    async fn json(self) -> serde_json::Value {
        let body = self.body().await;
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body)))
    }
}

/// Sends a request head (the caller writes any body to the returned stream).
async fn request_head(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    extra: &[(&str, String)],
) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n"
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

async fn read_response(stream: TcpStream) -> Response {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"));
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
    }
    Response {
        status,
        headers,
        reader,
    }
}

async fn upload(address: &str, token: &str, name: &str, content: &[u8]) -> Response {
    let mut stream = request_head(
        address,
        "POST",
        &format!("/api/v1/tasks/OPS-1/attachments?name={name}"),
        token,
        &[
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Content-Length", content.len().to_string()),
        ],
    )
    .await;
    stream.write_all(content).await.unwrap();
    read_response(stream).await
}

/// Deletes an attachment through the API, then purges it from the trash.
async fn delete_and_purge(address: &str, token: &str, id: i64) {
    let path = format!("/api/v1/attachments/{id}");
    let delete = request_head(address, "DELETE", &path, token, &[]).await;
    assert_eq!(read_response(delete).await.status, 204);
    let body = format!(r#"{{"type":"attachment","id":{id}}}"#);
    let mut purge = request_head(
        address,
        "POST",
        "/api/v1/trash/purge",
        token,
        &[
            ("Content-Type", "application/json".to_owned()),
            ("Content-Length", body.len().to_string()),
        ],
    )
    .await;
    purge.write_all(body.as_bytes()).await.unwrap();
    assert_eq!(read_response(purge).await.status, 200);
}

async fn get(address: &str, token: &str, path: &str) -> Response {
    read_response(request_head(address, "GET", path, token, &[]).await).await
}

/// Chunk `i` of a generated file: 1 MiB, different for every `i`.
fn chunk(i: u64, buf: &mut [u8]) {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for word in buf.chunks_exact_mut(8) {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

fn dir_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                found.extend(dir_files(&entry.path()));
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

/// The binary pointed at `store`: its database, data directory and blob store.
fn command(store: &TestStore) -> tokio::process::Command {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.envs(store.blob_env());
    c
}

async fn serve_with(store: &TestStore, env: &[(&str, &str)]) -> Server {
    let mut c = command(store);
    for (k, v) in env {
        c.env(k, v);
    }
    start(c).await
}

/// The digests in the store's blob store, in order.
pub(crate) async fn stored(store: &TestStore) -> Vec<String> {
    store
        .blobs()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.sha256.as_str().to_owned())
        .collect()
}

/// Unfinished uploads the store's blob store holds.
async fn unfinished(store: &TestStore) -> u64 {
    store
        .blobs()
        .sweep_tmp(Duration::ZERO, true)
        .await
        .unwrap()
        .files
}

async fn kill(server: &mut Server) {
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
}

/// 1 GiB, generated while it is sent, up and down again; the server's peak memory stays far
/// below the file's size.
async fn a_gigabyte_round_trips_in_bounded_memory(store: TestStore) {
    const MIB: u64 = 1 << 20;
    const CHUNKS: u64 = 1024;
    let token = fixture(&store).await;
    let mut server = serve_with(&store, &[("TASKFLOW_MAX_UPLOAD_BYTES", "2GiB")]).await;
    let pid = server.child.id().unwrap();
    let before = peak_rss_bytes(pid);
    let started = Instant::now();
    let mut stream = request_head(
        &server.address,
        "POST",
        "/api/v1/tasks/OPS-1/attachments?name=big.bin",
        &token,
        &[
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Content-Length", (CHUNKS * MIB).to_string()),
        ],
    )
    .await;
    let mut sent = Sha256::new();
    let mut buf = vec![0u8; MIB as usize];
    for i in 0..CHUNKS {
        chunk(i, &mut buf);
        sent.update(&buf);
        stream.write_all(&buf).await.unwrap();
    }
    let response = read_response(stream).await;
    let upload_time = started.elapsed();
    assert_eq!(response.status, 201);
    let created = response.json().await;
    let sent = hex::encode(sent.finalize());
    assert_eq!(created["sha256"], sent.as_str());
    assert_eq!(created["size_bytes"], CHUNKS * MIB);
    let peak = peak_rss_bytes(pid);

    let started = Instant::now();
    let mut response = get(
        &server.address,
        &token,
        &format!("/api/v1/attachments/{}/content", created["id"]),
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers["content-length"],
        (CHUNKS * MIB).to_string()
    );
    let mut received = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = response.reader.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        received.update(&buf[..n]);
        total += n as u64;
    }
    let download_time = started.elapsed();
    assert_eq!(total, CHUNKS * MIB);
    assert_eq!(
        hex::encode(received.finalize()),
        sent,
        "downloaded bytes differ"
    );
    let peak_after_download = peak_rss_bytes(pid);
    println!(
        "{:?}: 1 GiB upload {:.1} s, download {:.1} s; server peak RSS {} MiB before, {} MiB after upload, {} MiB after download",
        store.backend,
        upload_time.as_secs_f64(),
        download_time.as_secs_f64(),
        before / MIB,
        peak / MIB,
        peak_after_download / MIB
    );
    assert!(
        peak_after_download < 128 * MIB,
        "the server buffered the file: peak RSS {} MiB",
        peak_after_download / MIB
    );
    kill(&mut server).await;
}

/// SIGKILL with half an upload received: after a restart there is no row, no blob, and `tmp/`
/// is empty.
async fn sigkill_during_an_upload_leaves_nothing(store: TestStore) {
    let token = fixture(&store).await;
    let mut server = serve_with(&store, &[]).await;
    let mut stream = request_head(
        &server.address,
        "POST",
        "/api/v1/tasks/OPS-1/attachments?name=half.bin",
        &token,
        &[
            ("Content-Type", "application/octet-stream".to_owned()),
            ("Content-Length", (64 << 20).to_string()),
        ],
    )
    .await;
    let mut buf = vec![0u8; 1 << 20];
    for i in 0..8 {
        chunk(i, &mut buf);
        stream.write_all(&buf).await.unwrap();
    }
    let tmp = store.data_dir.join("tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    // On the volume, 4 MiB in tmp/; in an object store, the multipart upload's marker (its
    // first 5 MiB part sent).
    let reached = async || {
        if store.s3.is_some() {
            unfinished(&store).await >= 1
        } else {
            dir_files(&tmp)
                .iter()
                .map(|f| f.metadata().map_or(0, |m| m.len()))
                .sum::<u64>()
                >= (4 << 20)
        }
    };
    while !reached().await {
        assert!(Instant::now() < deadline, "the upload never reached tmp/");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(&mut server).await;
    assert_eq!(
        unfinished(&store).await,
        1,
        "the partial upload is left in tmp/"
    );

    let mut server = serve_with(&store, &[]).await;
    assert!(
        stored(&store).await.is_empty(),
        "nothing partial is visible"
    );
    let list = get(&server.address, &token, "/api/v1/tasks/OPS-1/attachments")
        .await
        .json()
        .await;
    assert_eq!(list, serde_json::json!({"items": [], "next": null}));
    if store.s3.is_none() {
        assert_eq!(unfinished(&store).await, 0, "start-up empties tmp/");
    } else {
        // Another server might be running that upload: only gc, past the grace period (and
        // the floor), removes it. Swept with no age, it goes with its multipart upload.
        let mut c = command(&store);
        c.args(["gc", "--gc-grace", "0s"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("tmp: removed 0 abandoned"),
            "{}",
            stdout(&out)
        );
        assert_eq!(unfinished(&store).await, 1, "a young marker is kept");
        let swept = store
            .blobs()
            .sweep_tmp(Duration::ZERO, false)
            .await
            .unwrap();
        assert_eq!(swept.files, 1);
        assert_eq!(unfinished(&store).await, 0);
    }
    kill(&mut server).await;
}

/// SIGKILL the moment a 201 arrives: after a restart the file is there, byte for byte, and the
/// storage report and gc agree.
async fn sigkill_right_after_201_keeps_the_file(store: TestStore) {
    let token = fixture(&store).await;
    let mut server = serve_with(&store, &[]).await;
    let mut content = vec![0u8; 3 << 20];
    chunk(42, &mut content);
    let response = upload(&server.address, &token, "kept.bin", &content).await;
    assert_eq!(response.status, 201);
    kill(&mut server).await;
    let created = response.json().await;

    let mut server = serve_with(&store, &[]).await;
    let response = get(
        &server.address,
        &token,
        &format!("/api/v1/attachments/{}/content", created["id"]),
    )
    .await;
    assert_eq!(response.status, 200);
    assert!(response.body().await == content, "the file survived intact");
    kill(&mut server).await;

    let mut c = command(&store);
    c.args(["storage", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["blobs"], 1);
    assert_eq!(report["blob_bytes"], 3 << 20);
    assert_eq!(report["projects"][0]["key"], "OPS");
    assert_eq!(report["projects"][0]["bytes"], 3 << 20);
    assert!(report["volume"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(report["database_bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["object_store"], store.s3.is_some());

    // gc leaves a referenced file alone, even with no grace period.
    let mut c = command(&store);
    c.args(["gc", "--gc-grace", "0s"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("blobs: removed 0 unreferenced"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stored(&store).await.len(), 1);
}

/// An attachment deleted and purged through the API: `gc --dry-run` reports its file and
/// keeps it; `gc` removes it.
async fn gc_from_the_command_line(store: TestStore) {
    let token = fixture(&store).await;
    let mut server = serve_with(&store, &[]).await;
    let created = upload(&server.address, &token, "gone.txt", b"soon gone")
        .await
        .json()
        .await;
    delete_and_purge(&server.address, &token, created["id"].as_i64().unwrap()).await;

    let gc = |dry_run: bool| {
        let mut c = command(&store);
        c.args(["gc", "--gc-grace", "0s"]);
        if dry_run {
            c.arg("--dry-run");
        }
        run(c)
    };
    let out = gc(true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("blobs: would remove 1 unreferenced (9 B)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(stored(&store).await.len(), 1);
    // While the server serves.
    let out = gc(false).await;
    assert!(
        stdout(&out).contains("blobs: removed 1 unreferenced (9 B)"),
        "{}",
        stdout(&out)
    );
    assert!(stored(&store).await.is_empty());
    assert_eq!(
        get(&server.address, &token, "/readyz").await.status,
        200,
        "the server is unaffected"
    );
    kill(&mut server).await;
}

/// `serve` collects garbage by itself every TASKFLOW_GC_INTERVAL.
async fn serve_collects_garbage_periodically(store: TestStore) {
    let token = fixture(&store).await;
    let mut server = serve_with(
        &store,
        &[("TASKFLOW_GC_INTERVAL", "1s"), ("TASKFLOW_GC_GRACE", "0s")],
    )
    .await;
    let created = upload(&server.address, &token, "gone.txt", b"collected")
        .await
        .json()
        .await;
    delete_and_purge(&server.address, &token, created["id"].as_i64().unwrap()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stored(&store).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the server never collected the purged attachment's file"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kill(&mut server).await;
}

all_storage!(
    serve_collects_garbage_periodically,
    a_gigabyte_round_trips_in_bounded_memory,
    sigkill_during_an_upload_leaves_nothing,
    sigkill_right_after_201_keeps_the_file,
    gc_from_the_command_line,
);
