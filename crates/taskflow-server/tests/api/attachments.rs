//! Attachments through the API: byte-exact round trips, limits, a full volume, quotas, the
//! trash, and gc racing uploads.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use taskflow_core::attachment::Sha256Hex;
use taskflow_ops::gc::{self, GcOptions};
use taskflow_server::AppState;
use taskflow_testkit::{Garage, TestStore, all_storage, both_backends};
use tokio::io::AsyncReadExt;

use crate::{Caller, call, caller, request, state};

/// An owner with a project OPS holding task OPS-1.
async fn fixture(store: &TestStore) -> Caller {
    let owner = caller(store, "olivia", false).await;
    let project = crate::project_with(store, owner.user.id, "OPS").await;
    let title = taskflow_core::text::TaskTitle::parse("with files").unwrap();
    store
        .create_task(
            owner.user.id,
            project,
            taskflow_core::task::NewTask::titled(title),
        )
        .await
        .unwrap();
    owner
}

fn raw_upload(token: &str, name: &str, media_type: &str, body: Body) -> Request<Body> {
    Request::post(format!("/api/v1/tasks/OPS-1/attachments?name={name}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", media_type)
        .body(body)
        .unwrap()
}

/// A body of `len` copies of `byte`, made while it is sent, with no length announced.
fn generated(len: u64, byte: u8) -> Body {
    let reader = tokio::io::repeat(byte).take(len);
    Body::from_stream(tokio_util::io::ReaderStream::new(reader))
}

/// Status, headers and raw body bytes.
async fn fetch(
    state: AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    crate::exchange(state, request).await
}

fn download(token: &str, id: &Value, extra: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(format!("/api/v1/attachments/{id}/content"))
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// Moves an attachment to the trash (`delete`), or restores or purges it there; returns the
/// status.
async fn trash_action(st: &AppState, token: &str, action: &str, id: &Value) -> StatusCode {
    let request = if action == "delete" {
        request(
            "DELETE",
            &format!("/api/v1/attachments/{id}"),
            Some(token),
            None,
        )
    } else {
        let body = format!(r#"{{"type":"attachment","id":{id}}}"#);
        let path = format!("/api/v1/projects/OPS/trash/{action}");
        request("POST", &path, Some(token), Some(&body))
    };
    call(st.clone(), request).await.0
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().unwrap().is_dir() {
                found.extend(files_in(&entry.path()));
            } else {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

/// The contents in the blob store (the volume's `blobs/` or the object store's), by digest.
async fn stored(st: &AppState) -> Vec<String> {
    st.blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.sha256.as_str().to_owned())
        .collect()
}

/// Uploads begun and not finished that the blob store holds (the volume's `tmp/`, the object
/// store's markers and joined parts).
async fn unfinished(st: &AppState) -> u64 {
    st.blobs
        .sweep_tmp(Duration::ZERO, true)
        .await
        .unwrap()
        .files
}

/// A stored content's bytes.
async fn content_of(st: &AppState, sha256: &Sha256Hex) -> Vec<u8> {
    let stream = st
        .blobs
        .read(sha256, None)
        .await
        .unwrap_or_else(|e| panic!("{} is not stored: {e}", sha256.as_str()));
    let mut bytes = Vec::new();
    tokio_util::io::StreamReader::new(stream)
        .read_to_end(&mut bytes)
        .await
        .unwrap();
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn uploads_round_trip_byte_for_byte(store: TestStore) {
    let owner = fixture(&store).await;
    let st = state(&store);
    let small: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    for content in [Vec::new(), b"hello".to_vec(), small.clone()] {
        let (status, headers, body) = call(
            st.clone(),
            raw_upload(
                &owner.token,
                "notes.txt",
                "text/plain; charset=utf-8",
                Body::from(content.clone()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["size_bytes"], content.len());
        assert_eq!(body["sha256"], sha256(&content));
        assert_eq!(body["media_type"], "text/plain");
        assert_eq!(
            headers["location"],
            format!("/api/v1/attachments/{}", body["id"]).as_str()
        );
        let (status, headers, bytes) =
            fetch(st.clone(), download(&owner.token, &body["id"], &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, content);
        assert_eq!(
            headers["content-length"],
            content.len().to_string().as_str()
        );
        assert_eq!(
            headers["etag"],
            format!("\"{}\"", sha256(&content)).as_str()
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
        );
    }
    // Multipart, as a browser form or `curl -F` sends it.
    let boundary = "XyZ123";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"résumé.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&small);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, _, body) = call(
        st.clone(),
        Request::post("/api/v1/tasks/OPS-1/attachments")
            .header("authorization", format!("Bearer {}", owner.token))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["file_name"], "résumé.pdf");
    assert_eq!(body["media_type"], "application/pdf");
    let (_, headers, bytes) = fetch(st.clone(), download(&owner.token, &body["id"], &[])).await;
    assert_eq!(bytes, small);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    );
    // The same content twice is one file; names never become paths.
    let blobs = stored(&st).await;
    assert_eq!(blobs.len(), 3, "{blobs:?}");
    assert!(blobs.iter().all(|b| Sha256Hex::parse(b).is_ok()));
    assert!(unfinished(&st).await == 0);
    let (status, _, list) = call(
        st,
        request(
            "GET",
            "/api/v1/tasks/OPS-1/attachments",
            Some(&owner.token),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        list["items"][3]["content_url"],
        format!("/api/v1/attachments/{}/content", list["items"][3]["id"]).as_str()
    );
}

async fn downloads_honour_ranges_and_etags(store: TestStore) {
    let owner = fixture(&store).await;
    let st = state(&store);
    let content: Vec<u8> = (0..100u8).collect();
    let (_, _, body) = call(
        st.clone(),
        raw_upload(
            &owner.token,
            "n.bin",
            "application/octet-stream",
            Body::from(content.clone()),
        ),
    )
    .await;
    let id = &body["id"];
    let etag = format!("\"{}\"", sha256(&content));
    let cases: &[(&str, StatusCode, std::ops::Range<usize>, Option<&str>)] = &[
        (
            "bytes=10-19",
            StatusCode::PARTIAL_CONTENT,
            10..20,
            Some("bytes 10-19/100"),
        ),
        (
            "bytes=90-",
            StatusCode::PARTIAL_CONTENT,
            90..100,
            Some("bytes 90-99/100"),
        ),
        (
            "bytes=-5",
            StatusCode::PARTIAL_CONTENT,
            95..100,
            Some("bytes 95-99/100"),
        ),
        (
            "bytes=50-5000",
            StatusCode::PARTIAL_CONTENT,
            50..100,
            Some("bytes 50-99/100"),
        ),
        ("bytes=0-1,5-6", StatusCode::OK, 0..100, None),
        ("bytes=9-1", StatusCode::OK, 0..100, None),
        (
            "bytes=100-",
            StatusCode::RANGE_NOT_SATISFIABLE,
            0..0,
            Some("bytes */100"),
        ),
    ];
    for (range, want, slice, content_range) in cases {
        let (status, headers, bytes) =
            fetch(st.clone(), download(&owner.token, id, &[("range", range)])).await;
        assert_eq!(status, *want, "{range}");
        if *want != StatusCode::RANGE_NOT_SATISFIABLE {
            assert_eq!(bytes, content[slice.clone()], "{range}");
        }
        assert_eq!(
            headers.get("content-range").map(|v| v.to_str().unwrap()),
            *content_range,
            "{range}"
        );
    }
    // A stale If-Range gets the whole file.
    let (status, _, bytes) = fetch(
        st.clone(),
        download(
            &owner.token,
            id,
            &[("range", "bytes=0-0"), ("if-range", "\"other\"")],
        ),
    )
    .await;
    assert_eq!((status, bytes.len()), (StatusCode::OK, 100));
    let (status, headers, bytes) = fetch(
        st.clone(),
        download(&owner.token, id, &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(bytes.is_empty());
    assert_eq!(headers["etag"], etag.as_str());
}

async fn bad_uploads_are_refused_and_leave_nothing(store: TestStore) {
    let owner = fixture(&store).await;
    let mut st = state(&store);
    st.storage.max_upload_bytes = 1000;
    let nothing_left = async |what: &str| {
        assert_eq!(unfinished(&st).await, 0, "{what}: unfinished uploads");
        assert!(stored(&st).await.is_empty(), "{what}: blobs");
    };
    // Announced one byte over the limit.
    let (status, _, body) = call(
        st.clone(),
        raw_upload(
            &owner.token,
            "big.bin",
            "application/octet-stream",
            Body::from(vec![1u8; 1001]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    nothing_left("announced").await;
    // Not announced: found out while streaming.
    let (status, _, _) = call(
        st.clone(),
        raw_upload(
            &owner.token,
            "big.bin",
            "application/octet-stream",
            generated(1001, 7),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    nothing_left("streamed").await;
    // Exactly the limit is fine.
    let (status, _, _) = call(
        st.clone(),
        raw_upload(
            &owner.token,
            "max.bin",
            "application/octet-stream",
            generated(1000, 7),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Text-direction overrides and zero-width characters would disguise a name
    // (`evil\u{202e}txt.exe` shows as `evilexe.txt`).
    for name in [
        "",
        "..",
        "a%2Fb",
        "x%00y",
        "evil%E2%80%AEtxt.exe",
        "zero%E2%80%8Bwidth.pdf",
    ] {
        let (status, _, body) = call(
            st.clone(),
            raw_upload(&owner.token, name, "text/plain", Body::from("x")),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}: {body}");
    }
    let (status, _, body) = call(
        st.clone(),
        Request::post("/api/v1/tasks/OPS-1/attachments")
            .header("authorization", format!("Bearer {}", owner.token))
            .header("content-type", "multipart/form-data; boundary=b")
            .body(Body::from(
                "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n",
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "file");
    let (status, _, _) = call(
        st.clone(),
        raw_upload(&owner.token, "x", "text/plain", Body::from("x")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        store
            .attachments(
                store
                    .task_by_key(&taskflow_core::task::TaskKey::parse("OPS-1").unwrap())
                    .await
                    .unwrap()
                    .id
            )
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(unfinished(&st).await == 0);
}

async fn a_full_volume_refuses_uploads_and_keeps_what_it_has(store: TestStore) {
    // The free space this measures is the machine's: the other backend's run of this test
    // frees what it wrote when it is refused, so the two take turns.
    static VOLUME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = VOLUME.lock().await;
    let owner = fixture(&store).await;
    let st = state(&store);
    let (status, _, kept) = call(
        st.clone(),
        raw_upload(&owner.token, "kept.txt", "text/plain", Body::from("kept")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let available = taskflow_blobs::available_bytes(&store.data_dir).unwrap();
    // Refused before a byte is written…
    let mut full = st.clone();
    full.storage.min_free_bytes = available + (1 << 30);
    let (status, _, body) = call(
        full.clone(),
        raw_upload(&owner.token, "new.txt", "text/plain", Body::from("new")),
    )
    .await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_storage");
    // …and while streaming, when the volume fills up under an upload.
    let mut filling = st.clone();
    filling.storage.max_upload_bytes = 4 << 30;
    filling.storage.min_free_bytes = available.saturating_sub(16 << 20);
    // Far more than the margin: refused after about 16 MiB, even if other tests free
    // hundreds of MiB meanwhile.
    let (status, _, body) = call(
        filling,
        raw_upload(
            &owner.token,
            "huge.bin",
            "application/octet-stream",
            generated(2 << 30, 3),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert!(files_in(&store.data_dir.join("tmp")).is_empty());
    assert_eq!(
        files_in(&store.data_dir.join("blobs")),
        vec![sha256(b"kept")]
    );
    let (_, _, list) = call(
        st.clone(),
        request(
            "GET",
            "/api/v1/tasks/OPS-1/attachments",
            Some(&owner.token),
            None,
        ),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _, bytes) = fetch(st, download(&owner.token, &kept["id"], &[])).await;
    assert_eq!((status, bytes), (StatusCode::OK, b"kept".to_vec()));
}

async fn a_project_quota_counts_the_trash(store: TestStore) {
    let owner = fixture(&store).await;
    let mut st = state(&store);
    st.storage.project_quota_bytes = Some(1000);
    let upload = |n: u64| {
        call(
            st.clone(),
            raw_upload(
                &owner.token,
                "q.bin",
                "application/octet-stream",
                generated(n, n as u8),
            ),
        )
    };
    let (status, _, first) = upload(600).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, body) = upload(600).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "quota_exceeded");
    assert_eq!(upload(400).await.0, StatusCode::CREATED);
    // Trashed bytes still count; purged ones do not.
    let tok = &owner.token;
    assert_eq!(
        trash_action(&st, tok, "delete", &first["id"]).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(upload(1).await.0, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        trash_action(&st, tok, "purge", &first["id"]).await,
        StatusCode::OK
    );
    assert_eq!(upload(600).await.0, StatusCode::CREATED);
}

async fn deleted_attachments_keep_their_bytes_until_purged_and_collected(store: TestStore) {
    let owner = fixture(&store).await;
    let st = state(&store);
    let (_, _, a) = call(
        st.clone(),
        raw_upload(&owner.token, "a.txt", "text/plain", Body::from("shared")),
    )
    .await;
    let (_, _, b) = call(
        st.clone(),
        raw_upload(&owner.token, "b.txt", "text/plain", Body::from("shared")),
    )
    .await;
    let (_, _, c) = call(
        st.clone(),
        raw_upload(&owner.token, "c.txt", "text/plain", Body::from("alone")),
    )
    .await;
    let grace0 = GcOptions {
        grace: Duration::ZERO,
        trash_retention: Duration::from_secs(30 * 24 * 3600),
        dry_run: false,
    };
    let tok = &owner.token;
    for item in [&a, &c] {
        assert_eq!(
            trash_action(&st, tok, "delete", &item["id"]).await,
            StatusCode::NO_CONTENT
        );
    }
    let (status, _, _) = fetch(st.clone(), download(&owner.token, &a["id"], &[])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // In the trash: nothing is collected.
    let report = gc::run(store.store.as_ref(), &st.blobs, &grace0)
        .await
        .unwrap();
    assert_eq!(report.blobs, 0);
    assert_eq!(stored(&st).await.len(), 2);
    // Restored: readable again.
    assert_eq!(
        trash_action(&st, tok, "restore", &a["id"]).await,
        StatusCode::NO_CONTENT
    );
    let (_, _, bytes) = fetch(st.clone(), download(&owner.token, &a["id"], &[])).await;
    assert_eq!(bytes, b"shared");
    // Purged: "alone" goes, "shared" stays for b (and a).
    assert_eq!(
        trash_action(&st, tok, "purge", &c["id"]).await,
        StatusCode::OK
    );
    let dry = gc::run(
        store.store.as_ref(),
        &st.blobs,
        &GcOptions {
            dry_run: true,
            ..grace0.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!((dry.blobs, dry.blob_bytes), (1, 5));
    assert_eq!(stored(&st).await.len(), 2, "a dry run changes nothing");
    // Within the grace period nothing goes.
    let young = gc::run(
        store.store.as_ref(),
        &st.blobs,
        &GcOptions {
            grace: Duration::from_secs(3600),
            ..grace0.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(young.blobs, 0);
    let report = gc::run(store.store.as_ref(), &st.blobs, &grace0)
        .await
        .unwrap();
    assert_eq!((report.blobs, report.blob_bytes), (1, 5));
    assert_eq!(stored(&st).await, vec![sha256(b"shared")]);
    let (_, _, bytes) = fetch(st, download(&owner.token, &b["id"], &[])).await;
    assert_eq!(bytes, b"shared");
}

/// Uploads (some with shared content), deletes and purges run while gc runs in a loop with
/// no grace period at all: afterwards every attachment's file is there and whole.
async fn gc_never_removes_a_referenced_blob_under_racing_uploads(store: TestStore) {
    let owner = fixture(&store).await;
    let st = state(&store);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let (store, blobs, stop) = (store.store.clone(), st.blobs.clone(), stop.clone());
        tokio::spawn(async move {
            let options = GcOptions {
                grace: Duration::ZERO,
                trash_retention: Duration::from_secs(3600),
                dry_run: false,
            };
            let mut runs = 0u32;
            let mut removed = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                removed += gc::run(store.as_ref(), &blobs, &options)
                    .await
                    .unwrap()
                    .blobs;
                runs += 1;
            }
            (runs, removed)
        })
    };
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4u8 {
        let (st, token) = (st.clone(), owner.token.clone());
        workers.spawn(async move {
            for round in 0..15u8 {
                // Even rounds (purged below) upload contents 0 and 2 only, again and again across
                // workers: their blobs keep becoming garbage and being claimed again while gc
                // runs. Odd rounds' contents 1 and 3 stay referenced.
                let content = vec![round % 4; 2000 + usize::from(worker % 2)];
                let (status, _, body) = call(
                    st.clone(),
                    raw_upload(
                        &token,
                        "r.bin",
                        "application/octet-stream",
                        Body::from(content),
                    ),
                )
                .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                if round % 2 == 0 {
                    let deleted = trash_action(&st, &token, "delete", &body["id"]).await;
                    assert_eq!(deleted, StatusCode::NO_CONTENT);
                    let purged = trash_action(&st, &token, "purge", &body["id"]).await;
                    assert_eq!(purged, StatusCode::OK);
                }
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (runs, mut removed) = collector.await.unwrap();
    let options = GcOptions {
        grace: Duration::ZERO,
        trash_retention: Duration::from_secs(3600),
        dry_run: false,
    };
    // The collector has let go of the gc lock (on PostgreSQL its release is a rollback that
    // finishes in the background; the next try waits for it): this run does the work.
    let report = gc::run(store.store.as_ref(), &st.blobs, &options)
        .await
        .unwrap();
    assert!(
        !report.busy,
        "the gc lock was still held after the collector ended"
    );
    removed += report.blobs;
    assert!(runs > 3, "gc ran {runs} times");
    assert!(removed > 0, "the purged contents' blobs were collected");
    assert_eq!(stored(&st).await.len(), 4, "contents 1 and 3 in two sizes");
    let task = store
        .task_by_key(&taskflow_core::task::TaskKey::parse("OPS-1").unwrap())
        .await
        .unwrap();
    let live = store.attachments(task.id).await.unwrap();
    assert_eq!(live.len(), 4 * 7);
    for attachment in live {
        let bytes = content_of(&st, &attachment.sha256).await;
        assert_eq!(sha256(&bytes), attachment.sha256.as_str());
    }
    assert!(unfinished(&st).await == 0);
}

async fn storage_gauges_are_on_metrics(store: TestStore) {
    let owner = fixture(&store).await;
    let mut st = state(&store);
    let backups = store.data_dir.join("backups");
    std::fs::create_dir(&backups).unwrap();
    std::fs::write(backups.join("taskflow-20261124T120000Z.tar.zst"), b"older").unwrap();
    std::fs::write(backups.join("taskflow-20261124T130000Z.tar.zst"), b"newest").unwrap();
    st.backup_dir = Some(backups.into());
    st.metrics_access.token = Some("a metrics token for tests".into());
    call(
        st.clone(),
        raw_upload(&owner.token, "m.txt", "text/plain", Body::from("metrics")),
    )
    .await;
    let metrics = || request("GET", "/metrics", Some("a metrics token for tests"), None);
    // Projects are named by number unless an administrator turns names on.
    let (status, _, body) = call(st.clone(), metrics()).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    // (Series other tests set stay in the process's recorder, so only presence is checked.)
    assert!(
        text.contains("taskflow_project_attachment_bytes{project_id="),
        "{text}"
    );
    st.metrics_access.project_keys = true;
    let (status, _, body) = call(st, metrics()).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    if store.s3.is_some() {
        assert!(
            text.contains("taskflow_object_store_up 1"),
            "taskflow_object_store_up missing from:\n{text}"
        );
    }
    for gauge in [
        "taskflow_volume_total_bytes ",
        "taskflow_volume_available_bytes ",
        "taskflow_volume_used_bytes ",
        "taskflow_volume_min_free_bytes ",
        "taskflow_blobs ",
        "taskflow_blob_bytes ",
        "taskflow_database_bytes{backend=",
        "taskflow_project_attachment_bytes{project=\"OPS\"} ",
        "taskflow_backup_last_success_timestamp_seconds 1795525200",
        "taskflow_backup_last_size_bytes 6",
    ] {
        assert!(text.contains(gauge), "{gauge} missing from:\n{text}");
    }
}

/// The object store killed mid-service: uploads (small and multipart) and downloads answer 503
/// with `Retry-After` and leave no row, `/readyz` names the object store, and what the
/// database alone answers still works. Back up, everything does, and nothing half-done shows.
async fn an_object_store_that_is_down_answers_503_and_keeps_nothing(mut store: TestStore) {
    let garage = Garage::private();
    store.s3 = Some(garage.unique_config());
    let owner = fixture(&store).await;
    let st = state(&store);
    let (status, _, kept) = call(
        st.clone(),
        raw_upload(&owner.token, "kept.txt", "text/plain", Body::from("kept")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    garage.kill();
    for body in [Body::from("lost"), generated(12 << 20, 5)] {
        let (status, headers, body) = call(
            st.clone(),
            raw_upload(&owner.token, "lost.bin", "application/octet-stream", body),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(headers.contains_key("retry-after"));
    }
    let (status, _, _) = fetch(st.clone(), download(&owner.token, &kept["id"], &[])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, ready) = call(st.clone(), request("GET", "/readyz", None, None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let failed: Vec<&Value> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{ready}");
    assert_eq!(failed[0]["name"], "object_store");
    let (status, _, list) = call(
        st.clone(),
        request(
            "GET",
            "/api/v1/tasks/OPS-1/attachments",
            Some(&owner.token),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the database still answers");
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "no row for a failed upload"
    );

    garage.start_again();
    let (status, _, bytes) = fetch(st.clone(), download(&owner.token, &kept["id"], &[])).await;
    assert_eq!((status, bytes), (StatusCode::OK, b"kept".to_vec()));
    let (status, _, _) = call(
        st.clone(),
        raw_upload(&owner.token, "again.txt", "text/plain", Body::from("again")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(stored(&st).await, {
        let mut both = vec![sha256(b"kept"), sha256(b"again")];
        both.sort();
        both
    });
    // Readiness answers are reused for half a second.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, _, ready) = call(st, request("GET", "/readyz", None, None)).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
}

/// Credentials the object store refuses: `/readyz` says so in words, uploads answer 503.
async fn refused_object_store_credentials_are_named(mut store: TestStore) {
    let mut config = Garage::shared().unique_config();
    config.secret_access_key = Some("not-the-secret".to_owned());
    store.s3 = Some(config);
    let owner = fixture(&store).await;
    let st = state(&store);
    let (status, _, ready) = call(st.clone(), request("GET", "/readyz", None, None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let check = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object_store")
        .unwrap()
        .clone();
    assert_eq!(check["ok"], false);
    let error = check["error"].as_str().unwrap();
    assert!(error.contains("refused the credentials"), "{error}");
    assert!(
        !error.contains("not-the-secret"),
        "the secret is never shown: {error}"
    );
    let (status, _, body) = call(
        st,
        raw_upload(&owner.token, "x.txt", "text/plain", Body::from("x")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

/// A hung object store (SIGSTOP: connections accepted, nothing answered) is a 503 with
/// `Retry-After` within the configured response timeout, for uploads and downloads alike.
async fn a_hung_object_store_answers_503_within_its_timeout(mut store: TestStore) {
    let garage = Garage::private();
    let mut config = garage.unique_config();
    config.timeouts = taskflow_blobs::S3Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(2),
    };
    store.s3 = Some(config);
    let owner = fixture(&store).await;
    let st = state(&store);
    let (status, _, kept) = call(
        st.clone(),
        raw_upload(&owner.token, "kept.txt", "text/plain", Body::from("kept")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    garage.freeze();
    let started = std::time::Instant::now();
    let (status, headers, body) = call(
        st.clone(),
        raw_upload(&owner.token, "hung.txt", "text/plain", Body::from("hung")),
    )
    .await;
    let upload_took = started.elapsed();
    let started = std::time::Instant::now();
    let (download, _, _) = fetch(st.clone(), download(&owner.token, &kept["id"], &[])).await;
    let download_took = started.elapsed();
    garage.thaw();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(download, StatusCode::SERVICE_UNAVAILABLE);
    for took in [upload_took, download_took] {
        assert!(
            took < Duration::from_millis(4500),
            "answered after {took:?} with a 2 s timeout"
        );
    }
}

/// A bucket that is not there is a 503 like every other object-store fault, not a 500, for
/// uploads and downloads.
async fn a_missing_bucket_answers_503(mut store: TestStore) {
    store.s3 = Some(Garage::shared().unique_config());
    let owner = fixture(&store).await;
    let (status, _, kept) = call(
        state(&store),
        raw_upload(&owner.token, "kept.txt", "text/plain", Body::from("kept")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    store.s3.as_mut().unwrap().bucket = "no-such-bucket".to_owned();
    let st = state(&store);
    let (status, headers, body) = call(
        st.clone(),
        raw_upload(&owner.token, "x.txt", "text/plain", Body::from("x")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.contains_key("retry-after"));
    let (status, _, _) = fetch(st, download(&owner.token, &kept["id"], &[])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

both_backends!(
    a_hung_object_store_answers_503_within_its_timeout,
    a_missing_bucket_answers_503,
);

both_backends!(
    a_full_volume_refuses_uploads_and_keeps_what_it_has,
    an_object_store_that_is_down_answers_503_and_keeps_nothing,
    refused_object_store_credentials_are_named,
);

all_storage!(
    uploads_round_trip_byte_for_byte,
    downloads_honour_ranges_and_etags,
    bad_uploads_are_refused_and_leave_nothing,
    a_project_quota_counts_the_trash,
    deleted_attachments_keep_their_bytes_until_purged_and_collected,
    gc_never_removes_a_referenced_blob_under_racing_uploads,
    storage_gauges_are_on_metrics,
);
