use std::time::Duration;

use taskflow_core::activity::ActivityKind;
use taskflow_core::attachment::{FileName, MediaType, NewAttachment, Sha256Hex};
use taskflow_core::text::CommentBody;
use taskflow_core::trash::{PurgeCounts, TrashRef};
use taskflow_core::{StoreError, Timestamp};
use taskflow_testkit::{TestStore, both_backends};

use crate::{setup, task, titled};

async fn subtree(
    store: &TestStore,
    owner: taskflow_core::UserId,
    project: taskflow_core::ProjectId,
) -> [taskflow_core::task::Task; 3] {
    let root = task(store, owner, project, "root").await;
    let mut new = titled("child");
    new.parent_id = Some(root.id);
    let child = store.create_task(owner, project, new).await.unwrap();
    let mut new = titled("grandchild");
    new.parent_id = Some(child.id);
    let grandchild = store.create_task(owner, project, new).await.unwrap();
    [root, child, grandchild]
}

async fn task_trash_and_restore_with_subtasks(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let [root, child, grandchild] = subtree(&store, owner.id, ops.id).await;
    // The grandchild was trashed on its own earlier: restoring the root must not bring it back.
    store
        .delete_task(owner.id, grandchild.id, None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.delete_task(owner.id, root.id, None).await.unwrap();
    for t in [&root, &child, &grandchild] {
        assert!(
            store.task(t.id).await.is_err(),
            "{} should be in the trash",
            t.title
        );
    }
    let trash = store.trash(Some(ops.id)).await.unwrap();
    assert!(
        trash.iter().all(|i| i.deleted_by == Some(owner.id)),
        "a subtask that went with its parent was trashed by whoever trashed the parent: {trash:?}"
    );
    let items: Vec<TrashRef> = trash.into_iter().map(|i| i.item).collect();
    assert_eq!(items.len(), 3);
    assert!(items.contains(&TrashRef::Task(child.id)));

    // A subtask cannot come back while its parent is in the trash.
    let err = store
        .restore(owner.id, TrashRef::Task(child.id))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("parent")),
        "{err:?}"
    );

    store
        .restore(owner.id, TrashRef::Task(root.id))
        .await
        .unwrap();
    assert_eq!(store.task(root.id).await.unwrap(), root);
    assert_eq!(store.task(child.id).await.unwrap(), child);
    assert!(store.task(grandchild.id).await.is_err());
    store
        .restore(owner.id, TrashRef::Task(grandchild.id))
        .await
        .unwrap();
    assert_eq!(store.task(grandchild.id).await.unwrap(), grandchild);
    assert!(store.trash(Some(ops.id)).await.unwrap().is_empty());
    // Restoring something not in the trash is NotFound.
    assert!(matches!(
        store.restore(owner.id, TrashRef::Task(root.id)).await,
        Err(StoreError::NotFound { .. })
    ));

    let kinds: Vec<ActivityKind> = store
        .task_activity(root.id, None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&ActivityKind::Trashed) && kinds.contains(&ActivityKind::Restored));
}

async fn comment_and_attachment_restore_needs_live_task(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    let c = store
        .add_comment(owner.id, t.id, CommentBody::parse("hello").unwrap())
        .await
        .unwrap();
    store.delete_comment(owner.id, c.id).await.unwrap();
    let listed = store.trash(Some(ops.id)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].item, listed[0].summary.as_str()),
        (TrashRef::Comment(c.id), "hello")
    );
    store.delete_task(owner.id, t.id, None).await.unwrap();
    let err = store
        .restore(owner.id, TrashRef::Comment(c.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    store.restore(owner.id, TrashRef::Task(t.id)).await.unwrap();
    store
        .restore(owner.id, TrashRef::Comment(c.id))
        .await
        .unwrap();
    assert_eq!(store.comments(t.id).await.unwrap(), vec![c]);
}

async fn project_trash_and_restore(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    store.delete_project(owner.id, ops.id).await.unwrap();
    assert!(
        store.task(t.id).await.is_err(),
        "tasks of a trashed project are hidden"
    );
    let err = store
        .restore(owner.id, TrashRef::Task(t.id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { .. } | StoreError::Conflict(_)),
        "{err:?}"
    );
    assert_eq!(
        store.trash(None).await.unwrap()[0].item,
        TrashRef::Project(ops.id)
    );
    store
        .restore(owner.id, TrashRef::Project(ops.id))
        .await
        .unwrap();
    assert_eq!(store.task(t.id).await.unwrap(), t);
    assert_eq!(store.project(ops.id).await.unwrap().key, ops.key);
}

async fn purge_deletes_for_good(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let [root, child, _] = subtree(&store, owner.id, ops.id).await;
    store
        .add_comment(owner.id, child.id, CommentBody::parse("c").unwrap())
        .await
        .unwrap();
    store
        .add_attachment(
            owner.id,
            NewAttachment {
                task_id: child.id,
                file_name: FileName::parse("f.txt").unwrap(),
                media_type: MediaType::parse("text/plain").unwrap(),
                size_bytes: 1,
                sha256: Sha256Hex::from_digest(&[7; 32]),
            },
        )
        .await
        .unwrap();
    // Only items in the trash can be purged.
    let err = store
        .purge(owner.id, TrashRef::Task(root.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.task(root.id).await.is_ok());

    store.delete_task(owner.id, root.id, None).await.unwrap();
    let counts = store
        .purge(owner.id, TrashRef::Task(root.id))
        .await
        .unwrap();
    assert_eq!(
        counts,
        PurgeCounts {
            projects: 0,
            tasks: 3,
            comments: 1,
            attachments: 1
        }
    );
    assert!(store.trash(Some(ops.id)).await.unwrap().is_empty());
    assert!(matches!(
        store.restore(owner.id, TrashRef::Task(root.id)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.referenced_blobs().await.unwrap().is_empty());
    let log = store.project_activity(ops.id, None, 5).await.unwrap();
    assert_eq!(log[0].kind, ActivityKind::Purged);
    assert_eq!(log[0].field.as_deref(), Some("OPS-1"));
    // Numbers are not reused after a purge.
    assert_eq!(task(&store, owner.id, ops.id, "after").await.number, 4);
}

async fn purge_expired_trash(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let old = task(&store, owner.id, ops.id, "old").await;
    let web = crate::project(&store, owner.id, "WEB").await;
    task(&store, owner.id, web.id, "in web").await;
    store.delete_task(owner.id, old.id, None).await.unwrap();
    store.delete_project(owner.id, web.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cutoff = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let recent = task(&store, owner.id, ops.id, "recent").await;
    store.delete_task(owner.id, recent.id, None).await.unwrap();

    let counts = store.purge_trashed_before(cutoff).await.unwrap();
    assert_eq!(
        counts,
        PurgeCounts {
            projects: 1,
            tasks: 2,
            comments: 0,
            attachments: 0
        }
    );
    let left: Vec<TrashRef> = store
        .trash(None)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.item)
        .collect();
    assert_eq!(left, vec![TrashRef::Task(recent.id)]);
    assert_eq!(
        store.purge_trashed_before(cutoff).await.unwrap(),
        PurgeCounts::default()
    );
}

both_backends!(
    task_trash_and_restore_with_subtasks,
    comment_and_attachment_restore_needs_live_task,
    project_trash_and_restore,
    purge_deletes_for_good,
    purge_expired_trash,
);
