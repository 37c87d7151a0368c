//! Backups through the real binary: round trips between backends, a backup taken under
//! writes, damaged and foreign archives refused, an interrupted restore, retention, and an
//! archive from an older schema migrated forward.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use taskflow_blobs::{Blobs, VolumeBlobs};
use taskflow_core::Store;
use taskflow_ops::backup::{self, Progress, TableEntry};
use taskflow_testkit::{Backend, TestStore, both_backends, open, sample, tempdir};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{run, stderr, stdout, taskflow};

/// The logical content of a store (rows per table and their digest) and its data directory's
/// files.
async fn snapshot(store: &dyn Store, data_dir: &Path) -> (Vec<TableEntry>, Vec<String>) {
    let version = store.schema_version().await.unwrap().unwrap();
    let tables = backup::table_digests(store, version).await.unwrap();
    let mut files: Vec<String> = VolumeBlobs::new(data_dir)
        .list()
        .unwrap()
        .into_iter()
        .map(|b| b.sha256.as_str().to_owned())
        .collect();
    files.sort();
    (tables, files)
}

async fn backup_with_cli(url: &str, data_dir: &Path, output: &Path) -> PathBuf {
    let mut c = taskflow(url, data_dir);
    c.args(["backup", "create", "--output"]).arg(output);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let path = PathBuf::from(stdout(&out).trim());
    assert!(path.is_file(), "{path:?}");
    path
}

async fn restore_with_cli(
    url: &str,
    data_dir: &Path,
    archive: &Path,
    force: bool,
) -> std::process::Output {
    let mut c = taskflow(url, data_dir);
    c.arg("restore").arg(archive);
    if force {
        c.arg("--force");
    }
    run(c).await
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

/// This backend → archive → the other backend → archive → this backend again (into an
/// unmigrated database): the same rows, the same files, the same content digest throughout.
async fn round_trips_between_backends_keep_everything(source: TestStore) {
    sample::fill(&source).await;
    let original = snapshot(source.store.as_ref(), &source.data_dir).await;
    assert_eq!(original.1.len(), 2, "both attachment files");
    let archives = tempdir();
    let first = backup_with_cli(&source.url, &source.data_dir, archives.path()).await;

    let middle = TestStore::new(other(source.backend)).await;
    let out = restore_with_cli(&middle.url, &middle.data_dir, &first, false).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        snapshot(middle.store.as_ref(), &middle.data_dir).await,
        original
    );
    // A second archive, most likely in the same second, gets its own name.
    let second = backup_with_cli(&middle.url, &middle.data_dir, archives.path()).await;
    assert_ne!(first, second);

    let (url, dir) = TestStore::unmigrated_url(source.backend).await;
    let out = restore_with_cli(&url, dir.path(), &second, false).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let last: Arc<dyn Store> = open(source.backend, &url).await;
    assert_eq!(snapshot(last.as_ref(), dir.path()).await, original);
    let digests: Vec<String> = [&first, &second]
        .iter()
        .map(|a| {
            let out = std::process::Command::new(crate::BIN)
                .args(["backup", "verify"])
                .arg(a)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            manifest_of(a)["content_sha256"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        digests[0], digests[1],
        "one content digest whatever the backend"
    );
    assert_eq!(
        manifest_of(&first)["source_backend"],
        format!("{:?}", source.backend).to_lowercase().as_str()
    );
}

/// The members of an archive, in order.
fn members(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let decoder = zstd::Decoder::new(std::fs::File::open(archive).unwrap()).unwrap();
    let mut tar = tar::Archive::new(decoder);
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn manifest_of(archive: &Path) -> serde_json::Value {
    let (_, bytes) = members(archive)
        .into_iter()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Writes `members` as an archive at `path`.
fn write_members(path: &Path, members: &[(String, Vec<u8>)]) {
    let encoder = zstd::Encoder::new(std::fs::File::create(path).unwrap(), 3).unwrap();
    let mut tar = tar::Builder::new(encoder);
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

/// Damaged, cut short, tampered with, or from the future: `verify` and `restore` refuse each
/// with a message, and the target keeps exactly what it had.
async fn bad_archives_are_refused_and_change_nothing(source: TestStore) {
    sample::fill(&source).await;
    let dir = tempdir();
    let good = backup_with_cli(&source.url, &source.data_dir, dir.path()).await;
    let bytes = std::fs::read(&good).unwrap();
    let original = members(&good);
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut members = original.clone();
        let member = members.iter_mut().find(|(n, _)| n == name).unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&member.1).unwrap();
        edit(&mut json);
        member.1 = serde_json::to_vec(&json).unwrap();
        members
    };
    let mut cases: Vec<(&str, PathBuf, &str)> = Vec::new();
    let mut add = |name: &'static str, expect: &'static str, write: &dyn Fn(&Path)| {
        let path = dir.path().join(format!("{name}.tar.zst"));
        write(&path);
        cases.push((name, path, expect));
    };
    add("flipped", "is not a valid backup", &|p| {
        let mut b = bytes.clone();
        let middle = b.len() / 2;
        b[middle] ^= 0x55;
        std::fs::write(p, b).unwrap();
    });
    add("truncated", "", &|p| {
        std::fs::write(p, &bytes[..bytes.len() * 2 / 3]).unwrap()
    });
    add("no-manifest", "no manifest", &|p| {
        write_members(p, &original[..original.len() - 1]);
    });
    add("tampered-count", "row counts differ", &|p| {
        write_members(
            p,
            &edited("manifest.json", &|m| m["tables"][0]["rows"] = 99.into()),
        );
    });
    add("tampered-digest", "members differ", &|p| {
        write_members(
            p,
            &edited("manifest.json", &|m| {
                let members = m["members"].as_object_mut().unwrap();
                let key = members
                    .keys()
                    .find(|k| k.starts_with("db/tasks"))
                    .unwrap()
                    .clone();
                members[&key] = "0".repeat(64).into();
            }),
        );
    });
    add("tampered-row", "members differ", &|p| {
        let mut members = original.clone();
        let tasks = members
            .iter_mut()
            .find(|(n, _)| n == "db/tasks.jsonl")
            .unwrap();
        let text = String::from_utf8(tasks.1.clone()).unwrap();
        tasks.1 = text.replacen("older child", "older chilD", 1).into_bytes();
        write_members(p, &members);
    });
    add(
        "newer-format",
        "backup format 99, newer than this taskflow reads (up to 1)",
        &|p| {
            write_members(
                p,
                &edited("taskflow-backup.json", &|h| {
                    h["format"] = 99.into();
                    h["taskflow_version"] = "9.0.0".into();
                }),
            );
        },
    );
    add(
        "newer-schema",
        "schema version 999, newer than this taskflow knows",
        &|p| {
            write_members(
                p,
                &edited("taskflow-backup.json", &|h| {
                    h["schema_version"] = 999.into()
                }),
            );
        },
    );
    add("not-an-archive", "not a", &|p| {
        std::fs::write(p, b"hello").unwrap()
    });

    let target = TestStore::new(other(source.backend)).await;
    sample::fill(&target).await;
    target.user_with_token("extra", false).await;
    let before = snapshot(target.store.as_ref(), &target.data_dir).await;
    for (name, path, expect) in &cases {
        let mut c = taskflow(&target.url, &target.data_dir);
        c.args(["backup", "verify"]).arg(path);
        let out = run(c).await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "verify {name}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(expect),
            "verify {name}: {}",
            stderr(&out)
        );
        let out = restore_with_cli(&target.url, &target.data_dir, path, true).await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "restore {name}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("restore refused"),
            "restore {name}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(expect),
            "restore {name}: {}",
            stderr(&out)
        );
        assert_eq!(
            snapshot(target.store.as_ref(), &target.data_dir).await,
            before,
            "a refused restore ({name}) changed the target"
        );
        assert!(
            !target.data_dir.join("staging").exists(),
            "{name} left files staged"
        );
    }
    // The good one still verifies, and restores over the target with --force.
    let out = restore_with_cli(&target.url, &target.data_dir, &good, false).await;
    assert!(
        stderr(&out).contains("already holds data"),
        "{}",
        stderr(&out)
    );
    let out = restore_with_cli(&target.url, &target.data_dir, &good, true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = snapshot(target.store.as_ref(), &target.data_dir).await;
    assert_eq!(
        restored.0,
        snapshot(source.store.as_ref(), &source.data_dir).await.0
    );
}

/// SIGKILL with every row read but before the commit: the target is as it was; the files the
/// dead restore staged are cleared by the next start.
async fn an_interrupted_restore_leaves_the_target_as_it_was(source: TestStore) {
    sample::fill(&source).await;
    let dir = tempdir();
    let archive = backup_with_cli(&source.url, &source.data_dir, dir.path()).await;
    let target = TestStore::new(source.backend).await;
    target.user_with_token("before", true).await;
    let kept = sample::put_blob(&target.data_dir, b"a file that was there").await;
    let before = snapshot(target.store.as_ref(), &target.data_dir).await;

    let mut c = taskflow(&target.url, &target.data_dir);
    c.env("TASKFLOW_FAILPOINT", "restore-commit")
        .arg("restore")
        .arg(&archive)
        .arg("--force")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("failpoint restore-commit reached") {
            break;
        }
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(
        target.data_dir.join("staging").exists(),
        "the files were staged"
    );
    let reopened = target.reopen().await;
    assert_eq!(snapshot(reopened.as_ref(), &target.data_dir).await, before);
    assert!(VolumeBlobs::new(&target.data_dir).path(&kept).is_file());
    // The next restore clears the dead one's staging and succeeds.
    let out = restore_with_cli(&target.url, &target.data_dir, &archive, true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!target.data_dir.join("staging").exists());
    let after = snapshot(reopened.as_ref(), &target.data_dir).await;
    assert_eq!(
        after.0,
        snapshot(source.store.as_ref(), &source.data_dir).await.0
    );
}

/// A backup taken while tasks, comments and attachments keep arriving restores to a
/// consistent state: every comment has its task, every attachment its file, every task its
/// creation entry.
async fn a_backup_under_writes_restores_consistently(source: TestStore) {
    sample::fill(&source).await;
    let owner = source
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let ops = source
        .project_by_key(&taskflow_core::project::ProjectKey::parse("OPS").unwrap())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let writer = {
        let (store, data_dir, stop) = (source.store.clone(), source.data_dir.clone(), stop.clone());
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut written = 0u32;
            // Once told to stop, three more: some writes surely come after the snapshot.
            let mut after_stop = 0;
            while after_stop < 3 {
                if stop.load(Ordering::Relaxed) {
                    after_stop += 1;
                }
                let title =
                    taskflow_core::text::TaskTitle::parse(format!("busy {written}")).unwrap();
                let task = store
                    .create_task(
                        owner.id,
                        ops.id,
                        taskflow_core::task::NewTask::titled(title),
                    )
                    .await
                    .unwrap();
                let body = taskflow_core::text::CommentBody::parse("busy").unwrap();
                store.add_comment(owner.id, task.id, body).await.unwrap();
                let content = format!("file {written}");
                let sha256 = sample::put_blob(&data_dir, content.as_bytes()).await;
                store
                    .add_attachment(
                        owner.id,
                        taskflow_core::attachment::NewAttachment {
                            task_id: task.id,
                            file_name: taskflow_core::attachment::FileName::parse("f.txt").unwrap(),
                            media_type: taskflow_core::attachment::MediaType::parse("text/plain")
                                .unwrap(),
                            size_bytes: content.len() as i64,
                            sha256,
                        },
                    )
                    .await
                    .unwrap();
                written += 1;
                progress.store(written, Ordering::Relaxed);
            }
            written
        })
    };
    // Back up in the middle of the writes.
    while progress.load(Ordering::Relaxed) < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let dir = tempdir();
    let blobs = VolumeBlobs::new(&source.data_dir);
    let (archive, manifest) = backup::create(
        source.store.as_ref(),
        &Blobs::Volume(blobs.clone()),
        &dir.path().into(),
        Progress::quiet(),
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    let in_archive = manifest
        .tables
        .iter()
        .find(|t| t.name == "tasks")
        .unwrap()
        .rows;
    assert!(in_archive > 4, "the backup caught some of the writes");
    assert!(
        (in_archive as u32) < 4 + written,
        "…but not those after its snapshot"
    );

    let target = TestStore::new(other(source.backend)).await;
    backup::restore(
        target.store.as_ref(),
        &Blobs::volume(&target.data_dir),
        &archive,
        false,
        Progress::quiet(),
    )
    .await
    .unwrap();
    let attachments = taskflow_core::backup::table("attachments").unwrap();
    let rows = {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let (done, rows) = tokio::join!(target.export(tx), async {
            let mut rows: BTreeMap<&'static str, Vec<serde_json::Map<String, serde_json::Value>>> =
                BTreeMap::new();
            while let Some(r) = rx.recv().await {
                rows.entry(r.table.name).or_default().push(r.values);
            }
            rows
        });
        done.unwrap();
        rows
    };
    let target_blobs = VolumeBlobs::new(&target.data_dir);
    for row in &rows[attachments.name] {
        let sha256 =
            taskflow_core::attachment::Sha256Hex::parse(row["sha256"].as_str().unwrap()).unwrap();
        assert!(
            target_blobs.path(&sha256).is_file(),
            "attachment {} has no file",
            row["id"]
        );
    }
    let created: Vec<i64> = rows["activity"]
        .iter()
        .filter(|a| a["kind"] == "task_created")
        .map(|a| a["task_id"].as_i64().unwrap())
        .collect();
    for task in &rows["tasks"] {
        assert!(
            created.contains(&task["id"].as_i64().unwrap()),
            "task {} lost its creation entry",
            task["id"]
        );
    }
    let tasks: Vec<i64> = rows["tasks"]
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    for comment in &rows["comments"] {
        assert!(tasks.contains(&comment["task_id"].as_i64().unwrap()));
    }
    assert_eq!(rows["tasks"].len() as u64, in_archive);
}

/// An administrator `veteran` (user 1) and a project `OLD` they own, with a task to do
/// (`title`) and one in progress that was moved there, written as an older schema stores them:
/// this build's store names the columns and tables of its own version, which an older
/// database does not have.
async fn old_project(backend: Backend, url: &str, title: &str) {
    let (now, yes) = match backend {
        Backend::Sqlite => ("0", "1"),
        Backend::Postgres => ("now()", "TRUE"),
    };
    let user = 1;
    let hash = taskflow_core::user::Password::parse("long enough pw")
        .unwrap()
        .hash();
    let sql = format!(
        "INSERT INTO users (id, username, display_name, password_hash, is_admin, created_at, \
           updated_at) VALUES (1, 'veteran', 'Veteran', '{}', {yes}, {now}, {now}); \
         INSERT INTO projects (id, key, name, next_task_number, created_at, updated_at) \
           VALUES (1, 'OLD', 'Old', 3, {now}, {now}); \
         INSERT INTO project_members (project_id, user_id, role, added_at) \
           VALUES (1, {user}, 'owner', {now}); \
         INSERT INTO tasks (project_id, number, title, status, position, created_by, created_at, \
           updated_at) VALUES (1, 1, '{title}', 'todo', 0, {user}, {now}, {now}); \
         INSERT INTO tasks (project_id, number, title, status, position, created_by, created_at, \
           updated_at) VALUES (1, 2, 'under way', 'in_progress', 65536, {user}, {now}, {now}); \
         INSERT INTO activity (project_id, task_id, actor_id, at, kind, field, old_value, new_value) \
           SELECT 1, id, {user}, {now}, 'task_moved', 'status', 'todo', 'in_progress' \
           FROM tasks WHERE number = 2",
        hash.as_str()
    );
    match backend {
        Backend::Sqlite => sqlx::raw_sql(&sql)
            .execute(&sqlx::SqlitePool::connect(url).await.unwrap())
            .await
            .map(drop),
        Backend::Postgres => sqlx::raw_sql(&sql)
            .execute(&sqlx::PgPool::connect(url).await.unwrap())
            .await
            .map(drop),
    }
    .unwrap();
}

/// An archive made at schema `version` holding one task, restored with the command into an
/// empty database: returns that database (migrated to this build's version), the archive's
/// header version and tables, and the database's directory.
async fn restored_from_version(
    store: &TestStore,
    version: i64,
) -> (Arc<dyn Store>, i64, Vec<String>, tempfile::TempDir) {
    let (url, old_dir) = TestStore::unmigrated_url(store.backend).await;
    let old: Arc<dyn Store> = open(store.backend, &url).await;
    old.migrate_to(version).await.unwrap();
    assert_eq!(old.schema_version().await.unwrap(), Some(version));
    old_project(store.backend, &url, "from long ago").await;
    let dir = tempdir();
    let (archive, manifest) = backup::create(
        old.as_ref(),
        &Blobs::volume(old_dir.path()),
        &dir.path().into(),
        Progress::quiet(),
    )
    .await
    .unwrap();
    let tables = manifest.tables.iter().map(|t| t.name.to_owned()).collect();

    let (target_url, target_dir) = TestStore::unmigrated_url(store.backend).await;
    let out = restore_with_cli(
        &target_url,
        target_dir.path(),
        archive.path().unwrap(),
        false,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let target: Arc<dyn Store> = open(store.backend, &target_url).await;
    assert_eq!(
        target.schema_version().await.unwrap(),
        Some(target.latest_schema_version())
    );
    (target, manifest.header.schema_version, tables, target_dir)
}

/// An archive made at schema version 1 restores into an empty database at version 1, which
/// is then migrated forward to this build's version.
async fn an_older_archive_is_migrated_forward(store: TestStore) {
    let (target, version, tables, _dir) = restored_from_version(&store, 1).await;
    assert_eq!(version, 1);
    assert!(tables.iter().all(|t| t != "sessions"));
    let task = target
        .task_by_key(&taskflow_core::task::TaskKey::parse("OLD-1").unwrap())
        .await
        .unwrap();
    assert_eq!(task.title.as_str(), "from long ago");
}

/// An archive from before tasks had estimates (schema version 4) restores with none, and the
/// restored task takes one.
async fn an_archive_from_before_estimates_restores_without_them(store: TestStore) {
    let (target, version, _, _dir) = restored_from_version(&store, 4).await;
    assert_eq!(version, 4);
    let key = taskflow_core::task::TaskKey::parse("OLD-1").unwrap();
    let task = target.task_by_key(&key).await.unwrap();
    assert_eq!(
        (task.title.as_str(), task.estimate),
        ("from long ago", None)
    );
    let patch = taskflow_core::task::TaskPatch {
        estimate: Some(Some(
            taskflow_core::task::Estimate::from_minutes(45).unwrap(),
        )),
        ..Default::default()
    };
    let user = task.created_by.unwrap();
    let changed = target
        .update_task(user, task.id, patch, None)
        .await
        .unwrap();
    assert_eq!(changed.estimate.map(|e| e.minutes()), Some(45));
}

/// An archive from before projects had workflows of their own (schema version 5) restores
/// with the three statuses every project had: each task keeps its status, the activity log
/// names them as people read them, and the project's workflow can change.
async fn an_archive_from_before_workflows_restores_with_three_statuses(store: TestStore) {
    let (target, version, tables, _dir) = restored_from_version(&store, 5).await;
    assert_eq!(version, 5);
    assert!(tables.iter().all(|t| t != "statuses"));
    let key = |k: &str| taskflow_core::task::TaskKey::parse(k).unwrap();
    let first = target.task_by_key(&key("OLD-1")).await.unwrap();
    let second = target.task_by_key(&key("OLD-2")).await.unwrap();
    let workflow = target.workflow(first.project_id).await.unwrap();
    assert_eq!(workflow.names(), "To do, In progress, Done");
    let held: Vec<u64> = workflow.statuses().iter().map(|s| s.tasks).collect();
    assert_eq!(held, [1, 1, 0], "the restore counted each status's tasks");
    assert_eq!(first.status.name.as_str(), "To do");
    assert_eq!(
        (second.status.name.as_str(), second.status.category),
        ("In progress", taskflow_core::workflow::Category::Started)
    );
    let log = target.task_activity(second.id, None, 10).await.unwrap();
    assert_eq!(
        (log[0].old_value.as_deref(), log[0].new_value.as_deref()),
        (Some("To do"), Some("In progress"))
    );
    let user = first.created_by.unwrap();
    let review = target
        .create_status(
            user,
            first.project_id,
            taskflow_core::workflow::NewStatus {
                name: taskflow_core::text::StatusName::parse("Review").unwrap(),
                colour: taskflow_core::project::Colour::parse("#8250df").unwrap(),
                category: taskflow_core::workflow::Category::Started,
                wip_limit: None,
                position: None,
            },
        )
        .await
        .unwrap();
    let moved = target
        .move_task(
            user,
            first.id,
            taskflow_core::task::TaskMove {
                status: review.id,
                placement: taskflow_core::task::Placement::Top,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(moved.status.name.as_str(), "Review");
}

/// SIGKILL after the archive is written but before it is renamed: nothing with an archive's
/// name exists, so nothing half-made is ever mistaken for a backup.
async fn a_crash_while_writing_leaves_no_archive(store: TestStore) {
    sample::fill(&store).await;
    let dir = tempdir();
    let mut c = taskflow(&store.url, &store.data_dir);
    c.env("TASKFLOW_FAILPOINT", "backup-before-rename")
        .args(["backup", "create", "--output"])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("failpoint backup-before-rename reached") {
            break;
        }
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(backup::list(&dir.path().into()).await.unwrap().is_empty());
    let partials = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        })
        .count();
    assert_eq!(
        partials, 1,
        "the unfinished archive keeps its temporary name"
    );
    let last_backup = || async {
        let mut c = taskflow(&store.url, &store.data_dir);
        c.env("TASKFLOW_BACKUP_DIR", dir.path())
            .args(["storage", "--json"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["last_backup"]["name"].as_str().map(str::to_owned)
    };
    assert_eq!(
        last_backup().await,
        None,
        "an unfinished archive is no backup"
    );
    // The next backup is complete, verifies, and is the last successful one.
    let archive = backup_with_cli(&store.url, &store.data_dir, dir.path()).await;
    let scratch = tempfile::tempdir().unwrap();
    let scratch = taskflow_store::SqliteStore::open(&scratch.path().join("taskflow.db"))
        .await
        .unwrap();
    backup::verify(&(&archive).into(), &scratch).await.unwrap();
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(last_backup().await, Some(name));
}

async fn backups_taken_at_once_are_all_kept(store: TestStore) {
    sample::fill(&store).await;
    let dir = tempdir();
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let mut c = taskflow(&store.url, &store.data_dir);
            c.args(["backup", "create", "--output"]).arg(dir.path());
            tokio::spawn(run(c))
        })
        .collect();
    let mut printed = BTreeSet::new();
    for run in runs {
        let out = run.await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        printed.insert(stdout(&out).trim().to_owned());
    }
    assert_eq!(
        printed.len(),
        6,
        "every backup names its own archive: {printed:?}"
    );
    let listed = backup::list(&dir.path().into()).await.unwrap();
    assert_eq!(listed.len(), 6, "{listed:?}");
    for archive in &listed {
        assert!(printed.contains(&archive.archive.to_string()));
        let scratch = tempfile::tempdir().unwrap();
        let scratch = taskflow_store::SqliteStore::open(&scratch.path().join("taskflow.db"))
            .await
            .unwrap();
        backup::verify(&archive.archive, &scratch).await.unwrap();
    }
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 6, "no unfinished file is left");
}

/// `restore --force` never replaces data under a running server: it is refused, and changes
/// nothing, while any `serve` uses the installation — on SQLite the same data directory, on
/// PostgreSQL the same database even from another machine's data directory.
async fn restore_is_refused_while_a_server_uses_the_data(store: TestStore) {
    sample::fill(&store).await;
    let dir = tempdir();
    let archive = backup_with_cli(&store.url, &store.data_dir, dir.path()).await;
    store.user_with_token("latecomer", false).await;
    let before = snapshot(store.store.as_ref(), &store.data_dir).await;
    let elsewhere = tempdir();
    let server_dir = match store.backend {
        Backend::Sqlite => store.data_dir.clone(),
        Backend::Postgres => elsewhere.path().join("data"),
    };
    let mut server = crate::serve::start(taskflow(&store.url, &server_dir)).await;

    let out = restore_with_cli(&store.url, &store.data_dir, &archive, true).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restore refused: a taskflow server is using"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        snapshot(store.store.as_ref(), &store.data_dir).await,
        before,
        "a refused restore changes nothing"
    );
    if store.backend == Backend::Postgres {
        // Refused into a data directory that was not there, it leaves none behind.
        let fresh = tempdir();
        let new_dir = fresh.path().join("new-data");
        let out = restore_with_cli(&store.url, &new_dir, &archive, true).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            !new_dir.exists(),
            "a refused restore left {}",
            new_dir.display()
        );
    }

    crate::serve::sigterm(&server.child).await;
    assert!(server.child.wait().await.unwrap().success());
    let out = restore_with_cli(&store.url, &store.data_dir, &archive, true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let latecomer = taskflow_core::user::Username::parse("latecomer").unwrap();
    assert!(
        store.user_by_username(&latecomer).await.is_err(),
        "with the server stopped, the restore replaced the data"
    );
}

/// The settings that reach the test's Garage the way any S3 tool is pointed at a store (for an
/// installation that keeps its own attachments on the volume).
fn aws_env(config: &taskflow_blobs::S3Config) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", config.endpoint.clone().unwrap()),
        ("AWS_REGION", config.region.clone()),
        ("AWS_ACCESS_KEY_ID", config.access_key_id.clone().unwrap()),
        (
            "AWS_SECRET_ACCESS_KEY",
            config.secret_access_key.clone().unwrap(),
        ),
    ]
}

/// Runs `taskflow` on `store` (its own object store settings, if any) with `env` added.
async fn run_on(store: &TestStore, env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.envs(store.blob_env());
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args);
    run(c).await
}

/// An archive's bytes, read from the bucket.
async fn download(bucket: &taskflow_blobs::Bucket, name: &str) -> Vec<u8> {
    let (bucket, name) = (bucket.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        bucket
            .open_blocking(&name)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    })
    .await
    .unwrap()
}

async fn upload(bucket: &taskflow_blobs::Bucket, name: &str, bytes: Vec<u8>) {
    let (bucket, name) = (bucket.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut writer = bucket.create_blocking(&name).unwrap();
        writer.write_all(&bytes).unwrap();
        writer.finish().unwrap();
    })
    .await
    .unwrap()
}

/// A volume installation → an archive in S3 → an installation on the other backend keeping its
/// attachments in the object store → an archive in S3 → a volume installation again: the same
/// rows, the same files, one content digest throughout. `list`, `verify` and `prune` work on
/// the bucket, and a damaged archive in it is refused, leaving the target as it was.
async fn archives_in_object_storage_round_trip(source: TestStore) {
    sample::fill(&source).await;
    let original = snapshot(source.store.as_ref(), &source.data_dir).await;
    assert_eq!(original.1.len(), 2, "both attachment files");
    let garage = taskflow_testkit::Garage::shared();
    let shelf_config = garage.unique_config();
    let shelf_url = shelf_config.url();
    let aws = aws_env(&shelf_config);
    let bucket = taskflow_blobs::Bucket::connect(shelf_config.clone()).unwrap();

    let out = run_on(&source, &aws, &["backup", "create", "--output", &shelf_url]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let first = stdout(&out).trim().to_owned();
    assert!(
        first.starts_with(&shelf_url) && first.ends_with(".tar.zst"),
        "{first}"
    );

    let middle = TestStore::new(other(source.backend))
        .await
        .with_object_store();
    let out = run_on(&middle, &[], &["restore", &first]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&first), "{}", stdout(&out));
    let version = middle.store.schema_version().await.unwrap().unwrap();
    let middle_tables = backup::table_digests(middle.store.as_ref(), version)
        .await
        .unwrap();
    assert_eq!(middle_tables, original.0, "the same rows");
    assert_eq!(
        crate::attachments::stored(&middle).await,
        original.1,
        "the same files, in the bucket"
    );
    assert!(
        !middle.data_dir.join("blobs").exists(),
        "nothing on the volume of an object-store installation"
    );

    // In the same second as the first, most likely: the bucket keeps both, by name.
    let out = run_on(&middle, &[], &["backup", "create", "--output", &shelf_url]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let second = stdout(&out).trim().to_owned();
    assert_ne!(first, second);

    let (url, dir) = TestStore::unmigrated_url(source.backend).await;
    let mut c = taskflow(&url, dir.path());
    c.envs(aws.iter().map(|(k, v)| (*k, v.clone())));
    c.args(["restore", &second]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let last: Arc<dyn Store> = open(source.backend, &url).await;
    assert_eq!(snapshot(last.as_ref(), dir.path()).await, original);

    // `list` shows both, newest first; `verify` checks each from the bucket.
    let out = run_on(&source, &aws, &["backup", "list", &shelf_url]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = [&second, &first]
        .iter()
        .map(|u| u.rsplit('/').next().unwrap().to_owned())
        .collect();
    let listed: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().last().unwrap().to_owned())
        .collect();
    assert_eq!(listed, names);
    let mut digests = Vec::new();
    for (archive, name) in [&first, &second].iter().zip(names.iter().rev()) {
        let out = run_on(&source, &aws, &["backup", "verify", archive]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("is sound"), "{}", stdout(&out));
        let local = dir.path().join(name);
        std::fs::write(&local, download(&bucket, name).await).unwrap();
        digests.push(
            manifest_of(&local)["content_sha256"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(digests[0], digests[1], "one content digest throughout");

    // A damaged archive in the bucket: refused by `verify` and by `restore`, which leaves the
    // target without rows and without objects.
    let mut damaged = download(&bucket, &names[0]).await;
    let middle_byte = damaged.len() / 2;
    damaged[middle_byte] ^= 0x55;
    let damaged_name = "taskflow-20260101T000000Z.tar.zst";
    upload(&bucket, damaged_name, damaged).await;
    let damaged_url = format!("{shelf_url}{damaged_name}");
    let out = run_on(&source, &aws, &["backup", "verify", &damaged_url]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a valid backup"),
        "{}",
        stderr(&out)
    );
    let target = TestStore::new(source.backend).await.with_object_store();
    let out = run_on(&target, &[], &["restore", &damaged_url]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("restore refused"), "{}", stderr(&out));
    assert!(!target.store.has_data().await.unwrap(), "no rows");
    assert_eq!(
        crate::attachments::stored(&target).await,
        Vec::<String>::new(),
        "no objects"
    );
    // An archive that is not there is said so.
    let out = run_on(
        &source,
        &aws,
        &[
            "backup",
            "verify",
            &format!("{shelf_url}taskflow-20250101T000000Z.tar.zst"),
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // `prune` on the bucket keeps what it is told.
    let out = run_on(
        &source,
        &aws,
        &["backup", "prune", &shelf_url, "--keep-last", "1"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<String> = bucket
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(
        left,
        [names[0].clone()],
        "the newest is kept, the rest removed"
    );
}

both_backends!(
    archives_in_object_storage_round_trip,
    restore_is_refused_while_a_server_uses_the_data,
    a_crash_while_writing_leaves_no_archive,
    backups_taken_at_once_are_all_kept,
    round_trips_between_backends_keep_everything,
    bad_archives_are_refused_and_change_nothing,
    an_interrupted_restore_leaves_the_target_as_it_was,
    a_backup_under_writes_restores_consistently,
    an_older_archive_is_migrated_forward,
    an_archive_from_before_estimates_restores_without_them,
    an_archive_from_before_workflows_restores_with_three_statuses,
);

/// `prune` keeps exactly what its options say, and `list` shows the archives newest first.
#[tokio::test]
async fn prune_keeps_exactly_what_it_is_told() {
    let dir = tempdir();
    // Two a day at 01:00 and 13:00 from 2026-09-01 to 2026-11-24.
    let start = time::macros::datetime!(2026-09-01 01:00 UTC);
    let mut names = Vec::new();
    let mut at = start;
    while at < time::macros::datetime!(2026-11-25 00:00 UTC) {
        let name = at
            .format(time::macros::format_description!(
                "taskflow-[year][month][day]T[hour][minute][second]Z.tar.zst"
            ))
            .unwrap();
        std::fs::write(dir.path().join(&name), b"x").unwrap();
        names.push(name);
        at += time::Duration::hours(12);
    }
    std::fs::write(
        dir.path()
            .join(".taskflow-20261124T230000Z.tar.zst.partial"),
        b"x",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    names.reverse(); // newest first

    let prune = |args: &[&str]| {
        let mut c = crate::clean_command();
        c.current_dir(dir.path())
            .args(["backup", "prune"])
            .arg(dir.path())
            .args(args);
        run(c)
    };
    let out = prune(&[]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "no option deletes nothing: {}",
        stderr(&out)
    );
    let retention = [
        "--keep-last",
        "3",
        "--keep-daily",
        "5",
        "--keep-weekly",
        "3",
        "--keep-monthly",
        "4",
    ];
    let out = prune(&[&retention[..], &["--dry-run"]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        names.len() + 2,
        "a dry run deletes nothing"
    );
    let out = prune(&retention).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.zst"))
        .collect();
    left.sort();
    // 2026-11-24 is a Tuesday: ISO weeks run Mon 23–Sun 29, Mon 16–Sun 22, Mon 9–Sun 15.
    let expected = [
        "taskflow-20260930T130000Z.tar.zst", // monthly: September's newest
        "taskflow-20261031T130000Z.tar.zst", // monthly: October's newest
        "taskflow-20261115T130000Z.tar.zst", // weekly: week of the 9th
        "taskflow-20261120T130000Z.tar.zst", // daily
        "taskflow-20261121T130000Z.tar.zst", // daily
        "taskflow-20261122T130000Z.tar.zst", // daily; weekly: week of the 16th
        "taskflow-20261123T130000Z.tar.zst", // last 3; daily
        "taskflow-20261124T010000Z.tar.zst", // last 3
        "taskflow-20261124T130000Z.tar.zst", // last 3; daily; weekly; monthly (November)
    ];
    assert_eq!(left, expected, "only 3 months exist, so monthly keeps 3");
    let out = {
        let mut c = crate::clean_command();
        c.args(["backup", "list"]).arg(dir.path());
        run(c).await
    };
    let listed: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .collect();
    let mut newest_first = left.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert!(
        dir.path().join("notes.txt").exists(),
        "prune touches only archives"
    );
}
