use taskflow_core::StoreError;
use taskflow_core::attachment::{FileName, MediaType, NewAttachment, ProjectUsage, Sha256Hex};
use taskflow_core::text::CommentBody;
use taskflow_core::{CommentId, TaskId};
use taskflow_testkit::{TestStore, both_backends};

use crate::{project, setup, task};

fn body(s: &str) -> CommentBody {
    CommentBody::parse(s).unwrap()
}

async fn comments_crud(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    let first = store
        .add_comment(owner.id, t.id, body("First!\n\nWith *markdown*."))
        .await
        .unwrap();
    let second = store
        .add_comment(owner.id, t.id, body("Second"))
        .await
        .unwrap();
    assert_eq!(first.author_id, Some(owner.id));
    assert_eq!(
        store.comments(t.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(store.comment(first.id).await.unwrap(), first);
    let edited = store
        .edit_comment(owner.id, first.id, body("First (edited)"))
        .await
        .unwrap();
    assert_eq!(edited.body.as_str(), "First (edited)");
    assert!(edited.updated_at >= first.updated_at);
    store.delete_comment(owner.id, second.id).await.unwrap();
    assert_eq!(store.comments(t.id).await.unwrap(), vec![edited]);
    assert!(matches!(
        store.comment(second.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.edit_comment(owner.id, second.id, body("x")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.add_comment(owner.id, TaskId(999), body("x")).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.comment(CommentId(999)).await,
        Err(StoreError::NotFound { .. })
    ));
}

fn digest(n: u8) -> Sha256Hex {
    Sha256Hex::from_digest(&[n; 32])
}

async fn attachments_metadata(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    let new = |name: &str, d: u8| NewAttachment {
        task_id: t.id,
        file_name: FileName::parse(name).unwrap(),
        media_type: MediaType::parse("application/pdf").unwrap(),
        size_bytes: 1234,
        sha256: digest(d),
    };
    let a = store
        .add_attachment(owner.id, new("report.pdf", 1))
        .await
        .unwrap();
    let b = store
        .add_attachment(owner.id, new("copy of report.pdf", 1))
        .await
        .unwrap();
    let c = store
        .add_attachment(owner.id, new("other.pdf", 2))
        .await
        .unwrap();
    assert_eq!(
        (a.size_bytes, a.uploaded_by, a.sha256.clone()),
        (1234, Some(owner.id), digest(1))
    );
    assert_eq!(store.attachment(a.id).await.unwrap(), a);
    assert_eq!(
        store.attachments(t.id).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        store.referenced_blobs().await.unwrap(),
        vec![digest(1), digest(2)]
    );
    let usage = |attachments: u64, bytes: u64| ProjectUsage {
        project_id: ops.id,
        key: ops.key.clone(),
        attachments,
        bytes,
    };
    let empty = project(&store, owner.id, "AAA").await;
    assert_eq!(
        store.attachment_usage().await.unwrap(),
        vec![
            ProjectUsage {
                project_id: empty.id,
                key: empty.key.clone(),
                attachments: 0,
                bytes: 0
            },
            usage(3, 3 * 1234)
        ]
    );
    assert_eq!(store.project_attachment_bytes(empty.id).await.unwrap(), 0);
    // Trashed attachments still hold on to their blob (and count against the project) until
    // purged.
    store.delete_attachment(owner.id, c.id).await.unwrap();
    assert_eq!(
        store.project_attachment_bytes(ops.id).await.unwrap(),
        3 * 1234
    );
    assert_eq!(store.attachments(t.id).await.unwrap(), vec![a, b]);
    assert_eq!(
        store.referenced_blobs().await.unwrap(),
        vec![digest(1), digest(2)]
    );
    store
        .purge(owner.id, taskflow_core::trash::TrashRef::Attachment(c.id))
        .await
        .unwrap();
    assert_eq!(store.referenced_blobs().await.unwrap(), vec![digest(1)]);
    assert_eq!(
        store.attachment_usage().await.unwrap()[1],
        usage(2, 2 * 1234)
    );
    assert_eq!(
        store.project_attachment_bytes(ops.id).await.unwrap(),
        2 * 1234
    );
}

async fn database_size_and_integrity(store: TestStore) {
    let before = store.database_bytes().await.unwrap();
    assert!(before > 0, "an empty schema still takes space");
    let (owner, ops) = setup(&store).await;
    for i in 0..200 {
        task(
            &store,
            owner.id,
            ops.id,
            &format!("task {i} {}", "x".repeat(250)),
        )
        .await;
    }
    let after = store.database_bytes().await.unwrap();
    assert!(after > before, "{after} > {before}");
    assert_eq!(store.integrity_check().await.unwrap(), Vec::<String>::new());
}

both_backends!(
    comments_crud,
    attachments_metadata,
    database_size_and_integrity
);
