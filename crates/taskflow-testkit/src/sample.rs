//! A small installation that uses every table and every kind of value: for backup round trips.

use taskflow_blobs::{Limits, VolumeBlobs};
use taskflow_core::attachment::{FileName, MediaType, NewAttachment};
use taskflow_core::project::{Colour, NewLabel, NewProject, ProjectKey, ProjectPatch, Role};
use taskflow_core::task::{NewTask, Priority, TaskPatch};
use taskflow_core::text::{CommentBody, LabelName, Markdown, ProjectName, StatusName, TaskTitle};
use taskflow_core::user::{LoginAttempt, NewSession, TokenSecret, csrf_token};
use taskflow_core::workflow::{Category, NewStatus, WipLimit};
use taskflow_core::{Store, Timestamp};

use crate::TestStore;

/// Stores `content` in the blob store under `data_dir`, returning its digest.
pub async fn put_blob(
    data_dir: &std::path::Path,
    content: &[u8],
) -> taskflow_core::attachment::Sha256Hex {
    let blobs = VolumeBlobs::new(data_dir);
    let limits = Limits {
        max_bytes: u64::MAX,
        min_free_bytes: 0,
    };
    let mut upload = blobs.begin(limits, None).await.expect("begin an upload");
    upload.write(content).await.expect("write");
    upload.finish().await.expect("finish").sha256
}

/// Users (an administrator with a token, an editor with a browser session), a project with
/// members, labels, a status of its own (with a limit), subtasks (a child older than its parent), a due date, assignees, comments
/// (one trashed), attachments with their files (one trashed), an archived project, a trashed
/// project and task, a failed login, and the activity all of that logged.
pub async fn fill(store: &TestStore) {
    let db: &dyn Store = store.store.as_ref();
    let (olivia, _) = store.user_with_token("olivia", true).await;
    let (edith, _) = store.user_with_token("edith", false).await;
    db.create_session(NewSession {
        user_id: edith.id,
        hash: TokenSecret::generate().hash(),
        csrf_token: csrf_token(),
        expires_at: Timestamp::now().saturating_add(std::time::Duration::from_secs(3600)),
    })
    .await
    .unwrap();
    db.count_login_attempt(&LoginAttempt {
        username: "edith".into(),
        address: Some("2001:db8::7".into()),
        at: Timestamp::now(),
        window: std::time::Duration::from_secs(900),
        user_limit: 20,
        address_limit: 100,
    })
    .await
    .unwrap();
    let project = |key: &str| NewProject {
        key: ProjectKey::parse(key).unwrap(),
        name: ProjectName::parse(format!("Project {key}")).unwrap(),
        description: Markdown::parse("Línea *uno*\n\n- dos").unwrap(),
    };
    let ops = db.create_project(olivia.id, project("OPS")).await.unwrap();
    db.set_member(olivia.id, ops.id, edith.id, Role::Editor)
        .await
        .unwrap();
    let bug = db
        .create_label(
            ops.id,
            NewLabel {
                name: LabelName::parse("bug").unwrap(),
                colour: Colour::parse("#d73a4a").unwrap(),
            },
        )
        .await
        .unwrap();
    let review = db
        .create_status(
            olivia.id,
            ops.id,
            NewStatus {
                name: StatusName::parse("Review ✓").unwrap(),
                colour: Colour::parse("#8250df").unwrap(),
                category: Category::Started,
                wip_limit: Some(WipLimit::new(3).unwrap()),
                position: Some(2),
            },
        )
        .await
        .unwrap();
    let titled = |t: &str| NewTask::titled(TaskTitle::parse(t).unwrap());
    let child = db
        .create_task(olivia.id, ops.id, titled("older child"))
        .await
        .unwrap();
    let parent = db
        .create_task(olivia.id, ops.id, titled("newer parent"))
        .await
        .unwrap();
    db.update_task(
        olivia.id,
        child.id,
        TaskPatch {
            parent_id: Some(Some(parent.id)),
            ..TaskPatch::default()
        },
        None,
    )
    .await
    .unwrap();
    db.create_task(
        edith.id,
        ops.id,
        NewTask {
            description: Markdown::parse("with **everything**").unwrap(),
            status: Some(review.id),
            priority: Priority::Urgent,
            due_date: Some(time::macros::date!(2026 - 12 - 31)),
            estimate: Some(taskflow_core::task::Estimate::from_minutes(150).unwrap()),
            assignees: vec![edith.id],
            labels: vec![bug.id],
            ..titled("due soon")
        },
    )
    .await
    .unwrap();
    let doomed = db
        .create_task(olivia.id, ops.id, titled("doomed"))
        .await
        .unwrap();
    db.delete_task(olivia.id, doomed.id, None).await.unwrap();
    let comment = |s: &str| CommentBody::parse(s).unwrap();
    db.add_comment(edith.id, child.id, comment("first"))
        .await
        .unwrap();
    let gone = db
        .add_comment(olivia.id, child.id, comment("second, trashed"))
        .await
        .unwrap();
    db.delete_comment(olivia.id, gone.id).await.unwrap();
    for (name, content, trashed) in [
        ("alpha.txt", b"alpha".as_slice(), false),
        ("beta.bin", b"beta beta".as_slice(), true),
    ] {
        let sha256 = put_blob(&store.data_dir, content).await;
        let attachment = db
            .add_attachment(
                edith.id,
                NewAttachment {
                    task_id: parent.id,
                    file_name: FileName::parse(name).unwrap(),
                    media_type: MediaType::parse("text/plain").unwrap(),
                    size_bytes: content.len() as i64,
                    sha256,
                },
            )
            .await
            .unwrap();
        if trashed {
            db.delete_attachment(edith.id, attachment.id).await.unwrap();
        }
    }
    let old = db.create_project(olivia.id, project("OLD")).await.unwrap();
    db.update_project(
        olivia.id,
        old.id,
        ProjectPatch {
            name: None,
            description: None,
            archived: Some(true),
        },
    )
    .await
    .unwrap();
    let tmp = db.create_project(olivia.id, project("TMP")).await.unwrap();
    db.delete_project(olivia.id, tmp.id).await.unwrap();
}
