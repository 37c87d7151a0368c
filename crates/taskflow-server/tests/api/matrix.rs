//! The authorization matrix: every endpoint, called by anonymous, a non-member, a viewer, an
//! editor and an owner, each on a fresh fixture, must answer exactly the expected status.

use std::sync::Arc;

use axum::http::StatusCode;
use taskflow_core::project::Role;
use taskflow_testkit::{Backend, TestStore};
use tokio::sync::Semaphore;

use crate::{Caller, call, caller, request, state};

/// Everything a row may refer to, made fresh for each cell.
struct Fixture {
    store: TestStore,
    callers: [Option<Caller>; 5],
    label: i64,
    /// "In progress", which holds no task.
    status: i64,
    comment: i64,
    attachment: i64,
    trashed_task: i64,
}

const WHO: [&str; 5] = ["anonymous", "non-member", "viewer", "editor", "owner"];

async fn fixture(backend: Backend) -> Fixture {
    let store = TestStore::new(backend).await;
    let owner = caller(&store, "olivia", false).await;
    let editor = caller(&store, "edith", false).await;
    let viewer = caller(&store, "victor", false).await;
    let stranger = caller(&store, "sam", false).await;
    let project = crate::project_with(&store, owner.user.id, "OPS").await;
    store
        .set_member(owner.user.id, project, editor.user.id, Role::Editor)
        .await
        .unwrap();
    store
        .set_member(owner.user.id, project, viewer.user.id, Role::Viewer)
        .await
        .unwrap();
    let label = store
        .create_label(
            project,
            taskflow_core::project::NewLabel {
                name: taskflow_core::text::LabelName::parse("bug").unwrap(),
                colour: taskflow_core::project::Colour::parse("#d73a4a").unwrap(),
            },
        )
        .await
        .unwrap();
    let title = |t: &str| {
        taskflow_core::task::NewTask::titled(taskflow_core::text::TaskTitle::parse(t).unwrap())
    };
    let task = store
        .create_task(owner.user.id, project, title("first"))
        .await
        .unwrap();
    let doomed = store
        .create_task(owner.user.id, project, title("doomed"))
        .await
        .unwrap();
    store
        .delete_task(owner.user.id, doomed.id, None)
        .await
        .unwrap();
    let comment = store
        .add_comment(
            editor.user.id,
            task.id,
            taskflow_core::text::CommentBody::parse("by edith").unwrap(),
        )
        .await
        .unwrap();
    let sha256 = taskflow_testkit::sample::put_blob(&store.data_dir, b"attached").await;
    let attachment = store
        .add_attachment(
            editor.user.id,
            taskflow_core::attachment::NewAttachment {
                task_id: task.id,
                file_name: taskflow_core::attachment::FileName::parse("a.txt").unwrap(),
                media_type: taskflow_core::attachment::MediaType::parse("text/plain").unwrap(),
                size_bytes: 8,
                sha256,
            },
        )
        .await
        .unwrap();
    let status = taskflow_testkit::status_id(store.store.as_ref(), project, "In progress").await;
    Fixture {
        store,
        callers: [
            None,
            Some(stranger),
            Some(viewer),
            Some(editor),
            Some(owner),
        ],
        label: label.id.0,
        status: status.0,
        comment: comment.id.0,
        attachment: attachment.id.0,
        trashed_task: doomed.id.0,
    }
}

/// (method, path, body, expected status for anonymous, non-member, viewer, editor, owner).
/// `{label}`, `{status}`, `{comment}`, `{attachment}` and `{trashed}` are filled from the
/// fixture.
#[rustfmt::skip]
pub const ROWS: &[(&str, &str, Option<&str>, [u16; 5])] = &[
    ("GET", "/api/v1/me", None, [401, 200, 200, 200, 200]),
    ("GET", "/api/v1/me/tokens", None, [401, 200, 200, 200, 200]),
    ("POST", "/api/v1/me/tokens", Some(r#"{"name":"ci"}"#), [401, 201, 201, 201, 201]),
    ("DELETE", "/api/v1/me/tokens/999999", None, [401, 404, 404, 404, 404]),
    ("POST", "/api/v1/auth/logout", None, [401, 204, 204, 204, 204]),
    ("GET", "/api/v1/users", None, [401, 403, 403, 403, 403]),
    ("POST", "/api/v1/users", Some(r#"{"username":"newbie","password":"long enough pw"}"#), [401, 403, 403, 403, 403]),
    ("PATCH", "/api/v1/users/olivia", Some(r#"{"display_name":"O"}"#), [401, 403, 403, 403, 200]),
    ("GET", "/api/v1/users/olivia/tokens", None, [401, 403, 403, 403, 403]),
    ("POST", "/api/v1/users/olivia/tokens", Some(r#"{"name":"x"}"#), [401, 403, 403, 403, 403]),
    ("DELETE", "/api/v1/users/olivia/tokens/1", None, [401, 403, 403, 403, 403]),
    ("GET", "/api/v1/trash", None, [401, 200, 200, 200, 200]),
    ("POST", "/api/v1/trash/restore", Some(r#"{"type":"task","id":{trashed}}"#), [401, 404, 403, 403, 204]),
    ("POST", "/api/v1/trash/purge", Some(r#"{"type":"task","id":{trashed}}"#), [401, 404, 403, 403, 200]),
    ("GET", "/api/v1/projects", None, [401, 200, 200, 200, 200]),
    ("POST", "/api/v1/projects", Some(r#"{"key":"NEW","name":"New"}"#), [401, 201, 201, 201, 201]),
    ("GET", "/api/v1/projects/OPS", None, [401, 404, 200, 200, 200]),
    ("PATCH", "/api/v1/projects/OPS", Some(r#"{"name":"Renamed"}"#), [401, 404, 403, 403, 200]),
    ("DELETE", "/api/v1/projects/OPS", None, [401, 404, 403, 403, 204]),
    ("GET", "/api/v1/projects/OPS/members", None, [401, 404, 200, 200, 200]),
    ("PUT", "/api/v1/projects/OPS/members/sam", Some(r#"{"role":"viewer"}"#), [401, 404, 403, 403, 200]),
    ("DELETE", "/api/v1/projects/OPS/members/victor", None, [401, 404, 403, 403, 204]),
    ("GET", "/api/v1/projects/OPS/labels", None, [401, 404, 200, 200, 200]),
    ("POST", "/api/v1/projects/OPS/labels", Some(r##"{"name":"ux","colour":"#000000"}"##), [401, 404, 403, 201, 201]),
    ("PATCH", "/api/v1/projects/OPS/labels/{label}", Some(r#"{"name":"defect"}"#), [401, 404, 403, 200, 200]),
    ("DELETE", "/api/v1/projects/OPS/labels/{label}", None, [401, 404, 403, 204, 204]),
    ("GET", "/api/v1/projects/OPS/statuses", None, [401, 404, 200, 200, 200]),
    ("POST", "/api/v1/projects/OPS/statuses", Some(r#"{"name":"Review","wip_limit":3}"#), [401, 404, 403, 403, 201]),
    ("PATCH", "/api/v1/projects/OPS/statuses/{status}", Some(r#"{"name":"Doing","position":0}"#), [401, 404, 403, 403, 200]),
    ("DELETE", "/api/v1/projects/OPS/statuses/{status}", None, [401, 404, 403, 403, 204]),
    ("GET", "/api/v1/projects/OPS/tasks", None, [401, 404, 200, 200, 200]),
    ("POST", "/api/v1/projects/OPS/tasks", Some(r#"{"title":"new"}"#), [401, 404, 403, 201, 201]),
    ("GET", "/api/v1/projects/OPS/activity", None, [401, 404, 200, 200, 200]),
    ("GET", "/api/v1/projects/OPS/trash", None, [401, 404, 403, 200, 200]),
    ("POST", "/api/v1/projects/OPS/trash/restore", Some(r#"{"type":"task","id":{trashed}}"#), [401, 404, 403, 204, 204]),
    ("POST", "/api/v1/projects/OPS/trash/purge", Some(r#"{"type":"task","id":{trashed}}"#), [401, 404, 403, 403, 200]),
    ("GET", "/api/v1/tasks/OPS-1", None, [401, 404, 200, 200, 200]),
    ("PATCH", "/api/v1/tasks/OPS-1", Some(r#"{"title":"changed"}"#), [401, 404, 403, 200, 200]),
    // A task that is not there (or is in the trash) is not found by anyone who can see the
    // project, except that a viewer asking to change one is told their role is too low.
    ("GET", "/api/v1/tasks/OPS-99", None, [401, 404, 404, 404, 404]),
    ("PATCH", "/api/v1/tasks/OPS-99", Some(r#"{"title":"changed"}"#), [401, 404, 403, 404, 404]),
    ("GET", "/api/v1/tasks/OPS-2", None, [401, 404, 404, 404, 404]),
    ("DELETE", "/api/v1/tasks/OPS-1", None, [401, 404, 403, 204, 204]),
    ("POST", "/api/v1/tasks/OPS-1/move", Some(r#"{"status":"done"}"#), [401, 404, 403, 200, 200]),
    ("GET", "/api/v1/tasks/OPS-1/comments", None, [401, 404, 200, 200, 200]),
    ("POST", "/api/v1/tasks/OPS-1/comments", Some(r#"{"body":"hello"}"#), [401, 404, 403, 201, 201]),
    ("GET", "/api/v1/tasks/OPS-1/activity", None, [401, 404, 200, 200, 200]),
    ("PATCH", "/api/v1/comments/{comment}", Some(r#"{"body":"edited"}"#), [401, 404, 403, 200, 200]),
    ("DELETE", "/api/v1/comments/{comment}", None, [401, 404, 403, 204, 204]),
    ("GET", "/api/v1/tasks/OPS-1/attachments", None, [401, 404, 200, 200, 200]),
    ("POST", "/api/v1/tasks/OPS-1/attachments?name=n.json", Some(r#"{"a":1}"#), [401, 404, 403, 201, 201]),
    ("GET", "/api/v1/attachments/{attachment}", None, [401, 404, 200, 200, 200]),
    ("GET", "/api/v1/attachments/{attachment}/content", None, [401, 404, 200, 200, 200]),
    ("DELETE", "/api/v1/attachments/{attachment}", None, [401, 404, 403, 204, 204]),
];

async fn run_matrix(backend: Backend) {
    let limit = Arc::new(Semaphore::new(4));
    let mut cells = tokio::task::JoinSet::new();
    for (row, (method, path, body, expected)) in ROWS.iter().enumerate() {
        for (who, want) in expected.iter().enumerate() {
            let limit = limit.clone();
            cells.spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                let f = fixture(backend).await;
                let fill = |s: &str| {
                    s.replace("{label}", &f.label.to_string())
                        .replace("{status}", &f.status.to_string())
                        .replace("{comment}", &f.comment.to_string())
                        .replace("{attachment}", &f.attachment.to_string())
                        .replace("{trashed}", &f.trashed_task.to_string())
                };
                let token = f.callers[who].as_ref().map(|c| c.token.as_str());
                let (status, _, response) = call(
                    state(&f.store),
                    request(method, &fill(path), token, body.map(fill).as_deref()),
                )
                .await;
                (row, who, status, *want, response)
            });
        }
    }
    let mut wrong = Vec::new();
    while let Some(cell) = cells.join_next().await {
        let (row, who, status, want, response) = cell.unwrap();
        if status != StatusCode::from_u16(want).unwrap() {
            let (method, path, ..) = ROWS[row];
            wrong.push(format!(
                "{method} {path} as {}: got {status}, want {want}: {response}",
                WHO[who]
            ));
        }
    }
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "{} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_sqlite() {
    run_matrix(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_postgres() {
    run_matrix(Backend::Postgres).await;
}
