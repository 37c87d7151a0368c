//! Three replicas of the real binary on one PostgreSQL database and one S3 server, each with a
//! data directory of its own: a load spread over all three while one is SIGKILLed and restarted
//! several times, gc running on all three, and failed logins counted across them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use taskflow_testkit::TestStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::serve::{Server, start};
use crate::taskflow;

/// A replica's answer: status, content type and body.
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request; `Err` when the replica could not be reached or stopped answering
/// (it may just have been killed). Every answer must match the OpenAPI document.
async fn send(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<Answer> {
    static SPEC: std::sync::OnceLock<taskflow_testkit::openapi::Spec> = std::sync::OnceLock::new();
    let mut stream = TcpStream::connect(address).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("the answer ended before its body"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut body = response[split + 4..].to_vec();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {head:?}")))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    }
    let answer = Answer {
        status,
        content_type: header("content-type"),
        body,
    };
    SPEC.get_or_init(|| {
        taskflow_testkit::openapi::Spec::new(
            serde_json::to_value(taskflow_server::openapi()).unwrap(),
        )
    })
    .assert(
        method,
        path,
        answer.status,
        answer.content_type.as_deref(),
        &answer.body,
    );
    Ok(answer)
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = || std::io::Error::other("a damaged chunked body");
    let mut body = Vec::new();
    loop {
        let line = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size = std::str::from_utf8(&data[..line]).map_err(|_| bad())?;
        let size =
            usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).map_err(|_| bad())?;
        data = &data[line + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(data.get(..size).ok_or_else(bad)?);
        data = data.get(size + 2..).ok_or_else(bad)?;
    }
}

/// A replica: the binary on the shared database and bucket, with a data directory of its own,
/// collecting garbage every second with no grace.
async fn replica(store: &TestStore, data_dir: &std::path::Path) -> Server {
    let mut c = taskflow(&store.url, data_dir);
    c.envs(store.blob_env());
    c.env("TASKFLOW_GC_INTERVAL", "1s")
        .env("TASKFLOW_GC_GRACE", "0s");
    start(c).await
}

/// What a worker saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// Task key → number.
    tasks: BTreeMap<String, i64>,
    /// Attachment id → (task key, SHA-256 of the content, the content).
    attachments: BTreeMap<String, (String, String, Vec<u8>)>,
}

/// The content of a worker's `n`th upload: every fourth is the same for all workers, so
/// identical content arrives from several replicas at once.
fn content(worker: usize, n: usize) -> Vec<u8> {
    let seed = if n.is_multiple_of(4) {
        "shared".to_owned()
    } else {
        format!("{worker}-{n}")
    };
    let mut bytes = Vec::with_capacity(96 << 10);
    while bytes.len() < (96 << 10) {
        bytes.extend_from_slice(&Sha256::digest(format!("{seed}-{}", bytes.len())));
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_survive_one_killed_again_and_again() {
    let store = TestStore::postgres().await.with_object_store();
    let (user, token) = store.user_with_token("olivia", false).await;
    let token = token.expose().to_owned();
    {
        use taskflow_core::project::{NewProject, ProjectKey};
        use taskflow_core::text::{Markdown, ProjectName};
        store
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
    }
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| taskflow_testkit::tempdir()).collect();
    let mut servers = Vec::new();
    for dir in &dirs {
        servers.push(replica(&store, dir.path()).await);
    }
    let addresses = Arc::new(RwLock::new(
        servers
            .iter()
            .map(|s| s.address.clone())
            .collect::<Vec<_>>(),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = std::time::Instant::now();

    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (addresses, stop, token) = (addresses.clone(), stop.clone(), token.clone());
            tokio::spawn(async move {
                let mut seen = Acknowledged::default();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let address = {
                        let all = addresses.read().unwrap();
                        all[(worker + n) % all.len()].clone()
                    };
                    let body = format!(r#"{{"title":"worker {worker} task {n}"}}"#);
                    let created = send(
                        &address,
                        "POST",
                        "/api/v1/projects/OPS/tasks",
                        Some(&token),
                        "application/json",
                        body.as_bytes(),
                    )
                    .await;
                    let Ok(created) = created else { continue };
                    if created.status != 201 {
                        assert_eq!(
                            created.status,
                            503,
                            "{}",
                            String::from_utf8_lossy(&created.body)
                        );
                        continue;
                    }
                    let task = created.json();
                    let key = task["key"].as_str().unwrap().to_owned();
                    seen.tasks
                        .insert(key.clone(), task["number"].as_i64().unwrap());
                    let bytes = content(worker, n);
                    let uploaded = send(
                        &address,
                        "POST",
                        &format!("/api/v1/tasks/{key}/attachments?name=w{worker}-{n}.bin"),
                        Some(&token),
                        "application/octet-stream",
                        &bytes,
                    )
                    .await;
                    let Ok(uploaded) = uploaded else { continue };
                    if uploaded.status != 201 {
                        assert_eq!(
                            uploaded.status,
                            503,
                            "{}",
                            String::from_utf8_lossy(&uploaded.body)
                        );
                        continue;
                    }
                    let attachment = uploaded.json();
                    let sha256 = hex::encode(Sha256::digest(&bytes));
                    assert_eq!(attachment["sha256"], sha256.as_str());
                    seen.attachments.insert(
                        attachment["id"].as_i64().unwrap().to_string(),
                        (key, sha256, bytes),
                    );
                }
                seen
            })
        })
        .collect();

    // Replica 0 is killed without warning and started again, four times, under the load.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        servers[0].child.start_kill().unwrap();
        servers[0].child.wait().await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        servers[0] = replica(&store, dirs[0].path()).await;
        addresses.write().unwrap()[0] = servers[0].address.clone();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Acknowledged::default();
    for worker in workers {
        let seen = worker.await.unwrap();
        acknowledged.tasks.extend(seen.tasks);
        acknowledged.attachments.extend(seen.attachments);
    }
    assert!(
        acknowledged.tasks.len() > 30,
        "the load did some work: {}",
        acknowledged.tasks.len()
    );
    assert!(
        acknowledged.attachments.len() > 10,
        "and uploaded: {}",
        acknowledged.attachments.len()
    );
    eprintln!(
        "three replicas, one SIGKILLed 4 times: {} tasks and {} attachments acknowledged in {:.1}s",
        acknowledged.tasks.len(),
        acknowledged.attachments.len(),
        started.elapsed().as_secs_f64()
    );
    // Let gc run on every replica a few times with no grace at all.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let addresses = addresses.read().unwrap().clone();
    // Task numbers are gap-free: a create killed half-way took no number.
    let mut numbers = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(after) => format!("/api/v1/projects/OPS/tasks?limit=200&after={after}"),
            None => "/api/v1/projects/OPS/tasks?limit=200".to_owned(),
        };
        let page = send(
            &addresses[1],
            "GET",
            &path,
            Some(&token),
            "application/json",
            b"",
        )
        .await
        .unwrap();
        assert_eq!(page.status, 200);
        let page = page.json();
        for task in page["items"].as_array().unwrap() {
            assert!(numbers.insert(task["number"].as_i64().unwrap()));
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let count = numbers.len() as i64;
    assert_eq!(
        numbers,
        (1..=count).collect::<BTreeSet<i64>>(),
        "numbers 1..={count} without a gap"
    );
    // Every acknowledged write is there, and every file downloads whole, from every replica.
    for (key, number) in &acknowledged.tasks {
        assert!(numbers.contains(number), "{key} is listed");
    }
    for address in &addresses {
        for (key, number) in acknowledged.tasks.iter().step_by(7) {
            let task = send(
                address,
                "GET",
                &format!("/api/v1/tasks/{key}"),
                Some(&token),
                "application/json",
                b"",
            )
            .await
            .unwrap();
            assert_eq!(task.status, 200, "{key} from {address}");
            assert_eq!(task.json()["number"].as_i64(), Some(*number));
        }
        for (id, (key, sha256, bytes)) in &acknowledged.attachments {
            let got = send(
                address,
                "GET",
                &format!("/api/v1/attachments/{id}/content"),
                Some(&token),
                "application/json",
                b"",
            )
            .await
            .unwrap();
            assert_eq!(
                got.status, 200,
                "{key}'s attachment {id} from {address}: gc kept it"
            );
            assert_eq!(hex::encode(Sha256::digest(&got.body)), *sha256);
            assert_eq!(got.body.len(), bytes.len());
        }
    }
    // Identical content is stored once, however many replicas received it, and nothing is
    // stored that no row refers to: gc removed what uploads cut off by a kill left behind. (A
    // row may exist that its client never saw acknowledged: the kill came after the commit.)
    let referenced: BTreeSet<String> = store
        .referenced_blobs()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let objects: BTreeSet<String> = store
        .blobs()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.sha256.as_str().to_owned())
        .collect();
    assert_eq!(
        objects, referenced,
        "one object per referenced content, no other"
    );
    for (_, sha256, _) in acknowledged.attachments.values() {
        assert!(referenced.contains(sha256), "{sha256} is referenced");
    }

    // Failed logins are counted in the database: guesses spread over the three replicas reach
    // the limit (20 for a name at an address) together, not 20 on each.
    let guesses: Vec<_> = (0..24)
        .map(|i| {
            let address = addresses[i % 3].clone();
            tokio::spawn(async move {
                send(
                    &address,
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    "application/json",
                    br#"{"username":"mallory","password":"guess"}"#,
                )
                .await
                .unwrap()
                .status
            })
        })
        .collect();
    let mut statuses = BTreeMap::new();
    for guess in guesses {
        *statuses.entry(guess.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        BTreeMap::from([(401, 20), (429, 4)]),
        "twenty failures in all, then refused on every replica"
    );
    for address in &addresses {
        let status = send(
            address,
            "POST",
            "/api/v1/auth/login",
            None,
            "application/json",
            br#"{"username":"mallory","password":"guess"}"#,
        )
        .await
        .unwrap()
        .status;
        assert_eq!(status, 429, "{address} counts the others' failures");
    }
}
