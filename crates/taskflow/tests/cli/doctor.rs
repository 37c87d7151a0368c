//! `taskflow doctor` and the checks `serve` makes before it starts: a missing, unwritable or
//! foreign data directory and a damaged SQLite database, each reported with its fix.

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use taskflow_testkit::pg::is_root;
use taskflow_testkit::{TestStore, both_backends, tempdir};

use crate::{BIN, run, stderr, stdout, taskflow};

async fn doctor(store: &TestStore, data_dir: &std::path::Path) -> Output {
    let mut c = taskflow(&store.url, data_dir);
    c.arg("doctor");
    run(c).await
}

/// A check's line and the fix lines under it.
fn report_of(out: &str, name: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    for line in out.lines() {
        match blocks.last_mut() {
            Some(block) if line.starts_with(' ') => {
                block.push('\n');
                block.push_str(line);
            }
            _ => blocks.push(line.to_owned()),
        }
    }
    blocks
        .into_iter()
        .find(|b| b.get(6..).is_some_and(|rest| rest.starts_with(name)))
        .unwrap_or_else(|| panic!("no {name} check in:\n{out}"))
}

/// With attachments in the object store: `doctor` says where, that it is reachable and
/// writable and what it holds; with a wrong secret it fails naming the credentials; with the
/// store gone it fails saying it is unreachable.
async fn doctor_checks_the_object_store(store: TestStore) {
    let store = store.with_object_store();
    let run_doctor = async |config: &taskflow_blobs::S3Config| {
        let mut c = taskflow(&store.url, &store.data_dir);
        c.arg("doctor").envs(taskflow_testkit::Garage::env(config));
        run(c).await
    };
    let config = store.s3.clone().unwrap();
    let out = run_doctor(&config).await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let report = report_of(&text, "object store");
    assert!(report.starts_with("ok"), "{report}");
    assert!(
        report.contains(&format!("s3://taskflow/{}", config.prefix))
            && report.contains("reachable and writable, 0 object(s)"),
        "{report}"
    );
    assert!(!text.contains("ok    tmp"), "no volume tmp/ check: {text}");

    let mut wrong = config.clone();
    wrong.secret_access_key = Some("wrong-secret".to_owned());
    let out = run_doctor(&wrong).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let report = report_of(&text, "object store");
    assert!(report.starts_with("FAIL"), "{report}");
    assert!(report.contains("refused the credentials"), "{report}");
    assert!(report.contains("TASKFLOW_S3_SECRET_ACCESS_KEY"), "{report}");
    assert!(
        !text.contains("wrong-secret"),
        "the secret is never shown: {text}"
    );

    let mut nowhere = config.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    nowhere.endpoint = Some(format!("http://127.0.0.1:{port}"));
    let out = run_doctor(&nowhere).await;
    assert_eq!(out.status.code(), Some(1));
    let report = report_of(&stdout(&out), "object store");
    assert!(report.contains("TASKFLOW_S3_ENDPOINT"), "{report}");
}

async fn doctor_passes_a_healthy_installation(store: TestStore) {
    let out = doctor(&store, &store.data_dir).await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let schema = format!(
        "ok    schema         version {}, current",
        store.latest_schema_version()
    );
    for line in [
        "ok    data directory",
        "ok    filesystem",
        "ok    free space",
        "ok    tmp",
        "ok    database",
        &schema,
        "ok    integrity",
        "ok    attachments",
        "all checks passed",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

async fn doctor_reports_a_missing_data_dir(store: TestStore) {
    let missing = store.data_dir.join("not-mounted");
    let out = doctor(&store, &missing).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let report = &report_of(&text, "data directory");
    assert!(report.starts_with("FAIL"), "{report}");
    assert!(report.contains("does not exist"), "{report}");
    assert!(report.contains("fix: create it"), "{report}");
    assert!(
        report.contains(&format!("mkdir -p {}", missing.display())),
        "{report}"
    );
    assert!(
        report.contains("PersistentVolumeClaim is Bound"),
        "{report}"
    );
    assert!(stderr(&out).contains("check(s) failed"));
    assert!(!missing.exists(), "doctor creates nothing");
}

/// A data directory this test makes unwritable for the taskflow it then runs with `args`: as
/// root (who writes anywhere) by running taskflow as another user, as a pod without `fsGroup`
/// would; otherwise by taking away write permission.
async fn run_on_unwritable_dir(store: &TestStore, args: &[&str]) -> Output {
    let locked = store.data_dir.join("read-only");
    std::fs::create_dir(&locked).unwrap();
    if is_root() {
        for dir in [&store.data_dir, &locked] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // A copy the other user can reach, wherever the checkout is (a home directory may be
        // closed to them).
        let bin = store.data_dir.join("taskflow");
        std::fs::copy(BIN, &bin).unwrap();
        let mut c = tokio::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"])
            .arg(&bin)
            .args(args)
            .env("TASKFLOW_DATABASE_URL", &store.url)
            .env("TASKFLOW_DATA_DIR", &locked)
            .kill_on_drop(true);
        run(c).await
    } else {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut c = taskflow(&store.url, &locked);
        c.args(args);
        run(c).await
    }
}

async fn serve_refuses_an_unwritable_data_dir(store: TestStore) {
    let out = run_on_unwritable_dir(&store, &["serve", "--listen", "127.0.0.1:0"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("is not writable"), "{err}");
    assert!(
        err.contains("fix: give the directory to the user taskflow runs as"),
        "{err}"
    );
    assert!(err.contains("fsGroup"), "{err}");
}

async fn doctor_reports_an_unwritable_data_dir(store: TestStore) {
    let out = run_on_unwritable_dir(&store, &["doctor"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let report = &report_of(&text, "data directory");
    assert!(report.starts_with("FAIL"), "{report}");
    assert!(report.contains("not writable"), "{report}");
    assert!(report.contains("chown -R"), "{report}");
    assert!(report.contains("fsGroup"), "{report}");
    if is_root() {
        let postgres = std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .find(|l| l.starts_with("postgres:"))
            .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
            .unwrap();
        let (uid, gid) = (&postgres[2], &postgres[3]);
        assert!(
            report.contains(&format!("taskflow runs as uid {uid} gid {gid}")),
            "{report}"
        );
        assert!(
            report.contains(&format!("chown -R {uid}:{gid}")),
            "{report}"
        );
        assert!(report.contains(&format!("fsGroup: {gid}")), "{report}");
    }
}

async fn doctor_reports_a_data_dir_owned_by_someone_else(store: TestStore) {
    // Writable (root may write anywhere, and /tmp is open to all) but not ours.
    let foreign = if is_root() {
        let dir = store.data_dir.join("foreign");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(12345), Some(12345)).unwrap();
        dir
    } else {
        std::path::PathBuf::from("/tmp")
    };
    let out = doctor(&store, &foreign).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let report = &report_of(&text, "data directory");
    assert!(report.starts_with("FAIL"), "{report}");
    assert!(report.contains("wrong owner"), "{report}");
    assert!(report.contains("chown -R"), "{report}");
    assert!(
        report.contains("fsGroupChangePolicy: OnRootMismatch"),
        "{report}"
    );
    if is_root() {
        assert!(report.contains("owned by uid 12345 gid 12345"), "{report}");
    }
}

both_backends!(
    doctor_checks_the_object_store,
    serve_refuses_an_unwritable_data_dir,
    doctor_passes_a_healthy_installation,
    doctor_reports_a_missing_data_dir,
    doctor_reports_an_unwritable_data_dir,
    doctor_reports_a_data_dir_owned_by_someone_else,
);

/// A damaged SQLite file: `serve` refuses to start and says why; `doctor` fails its integrity
/// check.
#[tokio::test]
async fn serve_refuses_a_damaged_sqlite_database() {
    let dir = tempdir();
    let data = dir.path().join("data");
    let cmd = |args: &[&str]| {
        let mut c = crate::clean_command();
        c.current_dir(dir.path())
            .arg("--data-dir")
            .arg(&data)
            .args(args);
        c
    };
    assert!(run(cmd(&["migrate"])).await.status.success());
    let out = run(cmd(&["dev", "seed", "--tasks", "300"])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Fold the write-ahead log into the file, then scribble over pages past the first.
    {
        let url = format!("sqlite://{}?mode=rw", data.join("taskflow.db").display());
        use sqlx::ConnectOptions;
        let mut conn = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
        drop(conn);
    }
    let path = data.join("taskflow.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages > 30, "enough pages to damage: {pages}");
    for page in (20..pages).step_by(7) {
        bytes[page * 4096 + 100..page * 4096 + 2100].fill(0xAB);
    }
    std::fs::write(&path, bytes).unwrap();

    // `serve` checks the whole database in the background once it listens, and stops.
    let mut serve = cmd(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env("TASKFLOW_LOG", "error");
    let out = run(serve).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("taskflow: refusing to serve: the database is damaged"),
        "{err}"
    );
    assert!(last.contains("restore the latest backup"), "{err}");
    assert!(
        err.lines().count() <= 3,
        "one clear message, not a dump:\n{err}"
    );

    let out = run(cmd(&["doctor"])).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(report_of(&text, "integrity").starts_with("FAIL"), "{text}");
}

#[tokio::test]
async fn bad_storage_settings_exit_2() {
    let dir = tempdir();
    for (var, value) in [
        ("TASKFLOW_MAX_UPLOAD_BYTES", "lots"),
        ("TASKFLOW_MAX_UPLOAD_BYTES", "0"),
        ("TASKFLOW_MIN_FREE_BYTES", "-5MiB"),
        ("TASKFLOW_PROJECT_QUOTA_BYTES", "10 parsecs"),
        ("TASKFLOW_TRASH_RETENTION_DAYS", "0"),
        ("TASKFLOW_GC_INTERVAL", "500ms"),
        ("TASKFLOW_GC_GRACE", "later"),
    ] {
        let mut c = taskflow(
            &format!("sqlite://{}/t.db", dir.path().display()),
            dir.path(),
        );
        c.env(var, value).args(["serve", "--listen", "127.0.0.1:0"]);
        let out = run(c).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(var), "{var}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert!(
        !dir.path().join("t.db").exists(),
        "a bad setting changes nothing"
    );
    let mut c = taskflow(
        &format!("sqlite://{}/t.db", dir.path().display()),
        dir.path(),
    );
    c.env("TASKFLOW_MAX_UPLOAD_BYTES", "1.5GiB")
        .env("TASKFLOW_GC_INTERVAL", "off")
        .args(["config", "check"]);
    let out = run(c).await;
    let text = stdout(&out);
    assert!(
        text.contains("max_upload_bytes = \"1610612736\"  # TASKFLOW_MAX_UPLOAD_BYTES"),
        "{text}"
    );
    assert!(text.contains("gc_interval = \"off\""), "{text}");
    assert!(
        text.contains("trash_retention_days = \"30\"  # default"),
        "{text}"
    );
}
