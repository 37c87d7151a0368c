//! The blob store conformance suite: every test runs on the data volume and on a real S3
//! server (Garage), through the same `Blobs` the server uses.

use std::time::Duration;

use taskflow_blobs::{BlobError, Blobs, FileLocker, Limits, ObjectBlobs, PART_BYTES};
use taskflow_core::attachment::Sha256Hex;
use taskflow_testkit::{Garage, tempdir};
use tokio::io::AsyncReadExt;

struct Case {
    blobs: Blobs,
    _dir: tempfile::TempDir,
}

fn volume() -> Case {
    let dir = tempdir();
    let blobs = Blobs::volume(dir.path());
    Case { blobs, _dir: dir }
}

fn object() -> Case {
    let dir = tempdir();
    let locker = std::sync::Arc::new(FileLocker(dir.path().join("blobs.lock")));
    let blobs = Blobs::Object(
        ObjectBlobs::connect(Garage::shared().unique_config(), locker).expect("a client"),
    );
    Case { blobs, _dir: dir }
}

macro_rules! both_blob_stores {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn volume() {
                let case = super::volume();
                case.blobs.prepare().await.unwrap();
                super::$name(&case.blobs).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn object() {
                let case = super::object();
                case.blobs.prepare().await.unwrap();
                super::$name(&case.blobs).await
            }
        }
    )*};
}

const LIMITS: Limits = Limits {
    max_bytes: 64 << 20,
    min_free_bytes: 0,
};

fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn digest(bytes: &[u8]) -> Sha256Hex {
    use sha2::Digest;
    Sha256Hex::from_digest(&sha2::Sha256::digest(bytes))
}

/// Stores `bytes`, sent in chunks of `chunk`, and returns its digest.
async fn store(blobs: &Blobs, bytes: &[u8], chunk: usize) -> Sha256Hex {
    let mut upload = blobs.begin(LIMITS, Some(bytes.len() as u64)).await.unwrap();
    for part in bytes.chunks(chunk.max(1)) {
        upload.write(part).await.unwrap();
    }
    assert_eq!(upload.written(), bytes.len() as u64);
    let stored = upload.finish().await.unwrap();
    assert_eq!(stored.bytes, bytes.len() as u64);
    stored.sha256
}

async fn read(blobs: &Blobs, sha256: &Sha256Hex, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let stream = blobs.read(sha256, range).await.unwrap();
    let mut bytes = Vec::new();
    tokio_util::io::StreamReader::new(stream)
        .read_to_end(&mut bytes)
        .await
        .unwrap();
    bytes
}

/// Sizes around the part size (where an object store changes from one request to several)
/// come back byte for byte, whole and in ranges, and are listed with their sizes.
async fn contents_round_trip_whole_and_in_ranges(blobs: &Blobs) {
    let sizes = [
        0,
        1,
        70_000,
        PART_BYTES - 1,
        PART_BYTES,
        PART_BYTES + 1,
        3 * PART_BYTES + 17,
    ];
    let mut expected = Vec::new();
    for (i, len) in sizes.into_iter().enumerate() {
        let bytes = content(len, i as u64);
        let sha256 = store(blobs, &bytes, 64 * 1024 + i).await;
        assert_eq!(sha256, digest(&bytes), "{len} bytes");
        assert!(read(blobs, &sha256, None).await == bytes, "{len} bytes");
        let len = len as u64;
        if len > 0 {
            for range in [0..1, len / 2..(len / 2 + 100).min(len), len - 1..len] {
                let want = &bytes[range.start as usize..range.end as usize];
                assert!(
                    read(blobs, &sha256, Some(range.clone())).await == want,
                    "{len} bytes, range {range:?}"
                );
            }
        }
        assert!(read(blobs, &sha256, Some(0..0)).await.is_empty());
        assert!(blobs.modified(&sha256).await.unwrap().is_some());
        expected.push((sha256, len));
    }
    expected.sort();
    let listed: Vec<(Sha256Hex, u64)> = blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.sha256, b.bytes))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        blobs.sweep_tmp(Duration::ZERO, true).await.unwrap().files,
        0,
        "finished uploads leave nothing behind"
    );
}

/// The same content stored twice (small, and in several parts) is one blob.
async fn identical_content_is_stored_once(blobs: &Blobs) {
    let small = content(1000, 1);
    let large = content(2 * PART_BYTES + 5, 2);
    for bytes in [&small, &large, &small, &large] {
        store(blobs, bytes, 1 << 20).await;
    }
    let listed = blobs.list().await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(read(blobs, &digest(&large), None).await == large);
}

/// Over the limit, announced or found while streaming: refused, nothing stored or left over.
async fn uploads_over_the_limit_leave_nothing(blobs: &Blobs) {
    let limits = Limits {
        max_bytes: PART_BYTES as u64 + 10,
        min_free_bytes: 0,
    };
    let announced = blobs.begin(limits, Some(limits.max_bytes + 1)).await;
    assert!(matches!(announced, Err(BlobError::TooLarge { .. })));
    let mut upload = blobs.begin(limits, None).await.unwrap();
    upload.write(&content(PART_BYTES, 3)).await.unwrap();
    let over = upload.write(&content(11, 4)).await;
    assert!(matches!(over, Err(BlobError::TooLarge { .. })), "{over:?}");
    drop(upload);
    assert!(blobs.list().await.unwrap().is_empty());
    // A dropped upload is cleaned up at once (an object store's in the background).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while blobs.sweep_tmp(Duration::ZERO, true).await.unwrap().files > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the abandoned upload was not cleaned up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deleting is only for gc: the blob goes, reading it then says it is not found, and storing it
/// again brings it back.
async fn removed_blobs_are_gone_until_stored_again(blobs: &Blobs) {
    let bytes = content(4000, 5);
    let sha256 = store(blobs, &bytes, 1000).await;
    blobs.remove(&sha256).await.unwrap();
    assert!(blobs.list().await.unwrap().is_empty());
    assert_eq!(blobs.modified(&sha256).await.unwrap(), None);
    match blobs.read(&sha256, None).await {
        Err(BlobError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("expected not found, got {e}"),
        Ok(_) => panic!("a removed blob was readable"),
    }
    store(blobs, &bytes, 1000).await;
    assert!(read(blobs, &sha256, None).await == bytes);
}

/// The lock: shared holders together; gc's exclusive lock waits for them; one gc at a time.
async fn the_blob_lock_keeps_gc_and_uploads_apart(blobs: &Blobs) {
    let shared = blobs.lock(false).await.unwrap();
    let also = blobs.lock(false).await.unwrap();
    let waiting = {
        let blobs = blobs.clone();
        tokio::spawn(async move { blobs.lock(true).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "exclusive while shared locks are held"
    );
    drop((shared, also));
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the exclusive lock follows")
        .unwrap()
        .unwrap();
    let gc = blobs.lock_gc().await.unwrap().expect("the gc lock is free");
    assert!(blobs.lock_gc().await.unwrap().is_none(), "one gc at a time");
    drop(gc);
    assert!(blobs.lock_gc().await.unwrap().is_some());
}

both_blob_stores!(
    contents_round_trip_whole_and_in_ranges,
    identical_content_is_stored_once,
    uploads_over_the_limit_leave_nothing,
    removed_blobs_are_gone_until_stored_again,
    the_blob_lock_keeps_gc_and_uploads_apart,
);

/// An upload cut off with parts sent (the process gone: nothing aborts it) leaves a marker
/// that only a sweep past its age removes, with its multipart upload; nothing appears under a
/// content address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_store_upload_cut_off_is_swept_and_never_visible() {
    let case = object();
    let blobs = &case.blobs;
    let mut upload = blobs.begin(LIMITS, None).await.unwrap();
    upload.write(&content(2 * PART_BYTES + 1, 6)).await.unwrap();
    // As if the process died here: no drop, no abort.
    std::mem::forget(upload);
    assert!(blobs.list().await.unwrap().is_empty());
    let young = blobs
        .sweep_tmp(Duration::from_secs(3600), false)
        .await
        .unwrap();
    assert_eq!(young.files, 0, "a young upload may be live elsewhere: kept");
    assert_eq!(
        blobs.sweep_tmp(Duration::ZERO, true).await.unwrap().files,
        1
    );
    let swept = blobs.sweep_tmp(Duration::ZERO, false).await.unwrap();
    assert_eq!(swept.files, 1);
    assert_eq!(
        blobs.sweep_tmp(Duration::ZERO, true).await.unwrap().files,
        0
    );
    assert!(blobs.list().await.unwrap().is_empty());
}

/// The object store's probe: writable with the right key; the wrong key is named as such, and
/// a store that is not there as unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_store_probe_names_what_is_wrong() {
    use taskflow_blobs::ProblemKind;
    let case = object();
    case.blobs.probe().await.unwrap();
    let locker = std::sync::Arc::new(FileLocker(case._dir.path().join("blobs.lock")));
    let mut wrong = Garage::shared().unique_config();
    wrong.secret_access_key = Some("wrong".to_owned());
    let refused = ObjectBlobs::connect(wrong, locker.clone()).unwrap();
    let problem = refused.probe().await.unwrap_err();
    assert_eq!(problem.kind, ProblemKind::Credentials, "{problem}");
    assert!(
        problem.message.contains("TASKFLOW_S3_SECRET_ACCESS_KEY"),
        "{problem}"
    );
    let mut nowhere = Garage::shared().unique_config();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    nowhere.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let problem = ObjectBlobs::connect(nowhere, locker)
        .unwrap()
        .probe()
        .await
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::Unreachable, "{problem}");
}

/// On PostgreSQL the blob lock is the database's: servers on two connections (two replicas)
/// exclude each other, and only one of them runs gc at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_blob_lock_through_postgresql() {
    use taskflow_blobs::{Locker, StoreLocker};
    let store = taskflow_testkit::TestStore::postgres().await;
    let dir = tempdir();
    let one = StoreLocker::new(store.store.clone(), dir.path());
    let other = StoreLocker::new(store.reopen().await, dir.path());
    let shared = one.lock(false).await.unwrap();
    let waiting = tokio::spawn(async move { other.lock(true).await.map(|_| other) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "exclusive on one replica while another holds it shared"
    );
    drop(shared);
    let other = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the exclusive lock follows")
        .unwrap()
        .unwrap();
    let gc = one
        .try_lock_gc()
        .await
        .unwrap()
        .expect("the gc lock is free");
    assert!(
        other.try_lock_gc().await.unwrap().is_none(),
        "one gc across replicas"
    );
    drop(gc);
    // The release is a rollback sent in the background.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while other.try_lock_gc().await.unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the gc lock was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
