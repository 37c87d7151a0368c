use taskflow_core::StoreError;
use taskflow_core::project::{
    Colour, LabelPatch, NewLabel, NewProject, ProjectKey, ProjectPatch, Role,
};
use taskflow_core::text::{LabelName, Markdown, ProjectName};
use taskflow_testkit::{TestStore, both_backends};

use crate::{label, project, setup, user};

async fn create_read_list_projects(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    assert_eq!(ops.key.as_str(), "OPS");
    assert!(!ops.archived && ops.deleted_at.is_none());
    assert_eq!(store.project(ops.id).await.unwrap(), ops);
    assert_eq!(
        store
            .project_by_key(&ProjectKey::parse("OPS").unwrap())
            .await
            .unwrap(),
        ops
    );
    assert_eq!(
        store.member_role(ops.id, owner.id).await.unwrap(),
        Some(Role::Owner)
    );

    let other = user(&store, "oscar").await;
    let web = project(&store, other.id, "WEB").await;
    let mine: Vec<_> = store.list_projects(Some(owner.id), false).await.unwrap();
    assert_eq!(mine, vec![ops.clone()]);
    let all: Vec<_> = store
        .list_projects(None, false)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.key.to_string())
        .collect();
    assert_eq!(all, ["OPS", "WEB"]);

    store
        .update_project(
            other.id,
            web.id,
            ProjectPatch {
                archived: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.list_projects(None, false).await.unwrap().len(), 1);
    assert_eq!(store.list_projects(None, true).await.unwrap().len(), 2);
}

async fn duplicate_project_key_is_a_conflict(store: TestStore) {
    let (owner, _) = setup(&store).await;
    let err = store
        .create_project(
            owner.id,
            NewProject {
                key: ProjectKey::parse("OPS").unwrap(),
                name: ProjectName::parse("Again").unwrap(),
                description: Markdown::default(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("OPS")),
        "{err:?}"
    );
    assert_eq!(store.list_projects(None, true).await.unwrap().len(), 1);
}

async fn update_project_records_changes(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let updated = store
        .update_project(
            owner.id,
            ops.id,
            ProjectPatch {
                name: Some(ProjectName::parse("Operations").unwrap()),
                description: Some(Markdown::parse("Keeping the lights on").unwrap()),
                archived: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_str(), "Operations");
    assert_eq!(updated.description.as_str(), "Keeping the lights on");
    assert_eq!(store.project(ops.id).await.unwrap(), updated);
    let log = store.project_activity(ops.id, None, 10).await.unwrap();
    let fields: Vec<_> = log.iter().filter_map(|e| e.field.clone()).collect();
    assert!(
        fields.contains(&"name".to_owned()) && fields.contains(&"description".to_owned()),
        "{fields:?}"
    );
    // A no-op update changes nothing.
    let same = store
        .update_project(
            owner.id,
            ops.id,
            ProjectPatch {
                name: Some(ProjectName::parse("Operations").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(same, updated);
    assert_eq!(
        store
            .project_activity(ops.id, None, 10)
            .await
            .unwrap()
            .len(),
        log.len()
    );
}

async fn members_and_roles(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let ed = user(&store, "edith").await;
    let vi = user(&store, "victor").await;
    store
        .set_member(owner.id, ops.id, ed.id, Role::Editor)
        .await
        .unwrap();
    let m = store
        .set_member(owner.id, ops.id, vi.id, Role::Viewer)
        .await
        .unwrap();
    assert_eq!((m.username.as_str(), m.role), ("victor", Role::Viewer));
    let members: Vec<_> = store
        .members(ops.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.username.to_string(), m.role))
        .collect();
    assert_eq!(
        members,
        [
            ("edith".into(), Role::Editor),
            ("olivia".into(), Role::Owner),
            ("victor".into(), Role::Viewer)
        ]
    );
    store
        .set_member(owner.id, ops.id, vi.id, Role::Editor)
        .await
        .unwrap();
    assert_eq!(
        store.member_role(ops.id, vi.id).await.unwrap(),
        Some(Role::Editor)
    );
    store.remove_member(owner.id, ops.id, vi.id).await.unwrap();
    assert_eq!(store.member_role(ops.id, vi.id).await.unwrap(), None);
    assert!(matches!(
        store.remove_member(owner.id, ops.id, vi.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .set_member(owner.id, ops.id, taskflow_core::UserId(999), Role::Viewer)
            .await,
        Err(StoreError::NotFound { entity: "user" })
    ));
}

async fn last_owner_cannot_leave(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let err = store
        .remove_member(owner.id, ops.id, owner.id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = store
        .set_member(owner.id, ops.id, owner.id, Role::Editor)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.member_role(ops.id, owner.id).await.unwrap(),
        Some(Role::Owner)
    );
    // With a second owner, the first may step down.
    let co = user(&store, "cora").await;
    store
        .set_member(owner.id, ops.id, co.id, Role::Owner)
        .await
        .unwrap();
    store
        .set_member(co.id, ops.id, owner.id, Role::Viewer)
        .await
        .unwrap();
    assert_eq!(
        store.member_role(ops.id, owner.id).await.unwrap(),
        Some(Role::Viewer)
    );
}

async fn labels_crud(store: TestStore) {
    let (_, ops) = setup(&store).await;
    let bug = label(&store, ops.id, "bug").await;
    let ux = label(&store, ops.id, "ux").await;
    assert_eq!(
        store.labels(ops.id).await.unwrap(),
        vec![bug.clone(), ux.clone()]
    );
    assert_eq!(store.label(bug.id).await.unwrap(), bug);
    let dup = store
        .create_label(
            ops.id,
            NewLabel {
                name: LabelName::parse("bug").unwrap(),
                colour: Colour::parse("#000000").unwrap(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)));
    let renamed = store
        .update_label(
            bug.id,
            LabelPatch {
                name: Some(LabelName::parse("defect").unwrap()),
                colour: Some(Colour::parse("#FF0000").unwrap()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.colour.as_str()),
        ("defect", "#ff0000")
    );
    let clash = store
        .update_label(
            ux.id,
            LabelPatch {
                name: Some(LabelName::parse("defect").unwrap()),
                colour: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(clash, StoreError::Conflict(_)));
    store.delete_label(ux.id).await.unwrap();
    assert_eq!(store.labels(ops.id).await.unwrap(), vec![renamed]);
    assert!(matches!(
        store.label(ux.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn trashed_project_is_hidden(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    store.delete_project(owner.id, ops.id).await.unwrap();
    assert!(matches!(
        store.project(ops.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.list_projects(None, true).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_project(owner.id, ops.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .create_task(owner.id, ops.id, crate::titled("x"))
            .await,
        Err(StoreError::NotFound { entity: "project" })
    ));
}

/// Archiving makes a project read-only: its tasks, comments and attachments refuse changes
/// with a conflict that says why, reads keep working, and unarchiving lifts it.
async fn archived_projects_are_read_only(store: TestStore) {
    use taskflow_core::attachment::{FileName, MediaType, NewAttachment, Sha256Hex};
    use taskflow_core::task::{Placement, TaskMove, TaskPatch};
    use taskflow_core::text::{CommentBody, TaskTitle};
    let (owner, ops) = setup(&store).await;
    let task = crate::task(&store, owner.id, ops.id, "kept").await;
    let comment = store
        .add_comment(owner.id, task.id, CommentBody::parse("a note").unwrap())
        .await
        .unwrap();
    let attachment = NewAttachment {
        task_id: task.id,
        file_name: FileName::parse("a.txt").unwrap(),
        media_type: MediaType::parse("text/plain").unwrap(),
        size_bytes: 1,
        sha256: Sha256Hex::from_digest(&[7; 32]),
    };
    let kept = store
        .add_attachment(owner.id, attachment.clone())
        .await
        .unwrap();
    let archive = |archived| ProjectPatch {
        archived: Some(archived),
        ..Default::default()
    };
    store
        .update_project(owner.id, ops.id, archive(true))
        .await
        .unwrap();
    let read_only = |what: &str, result: Result<(), StoreError>| match result {
        Err(StoreError::Conflict(m)) if m.contains("archived") => {}
        other => panic!("{what} in an archived project: {other:?}"),
    };
    let retitle = TaskPatch {
        title: Some(TaskTitle::parse("changed").unwrap()),
        ..Default::default()
    };
    let to_done = TaskMove {
        status: taskflow_testkit::status_id(store.store.as_ref(), ops.id, "Done").await,
        placement: Placement::Bottom,
    };
    read_only(
        "create",
        store
            .create_task(owner.id, ops.id, crate::titled("new"))
            .await
            .map(drop),
    );
    read_only(
        "update",
        store
            .update_task(owner.id, task.id, retitle.clone(), None)
            .await
            .map(drop),
    );
    read_only(
        "move",
        store
            .move_task(owner.id, task.id, to_done, None)
            .await
            .map(drop),
    );
    read_only("delete", store.delete_task(owner.id, task.id, None).await);
    read_only(
        "comment",
        store
            .add_comment(owner.id, task.id, CommentBody::parse("more").unwrap())
            .await
            .map(drop),
    );
    read_only(
        "edit comment",
        store
            .edit_comment(owner.id, comment.id, CommentBody::parse("edited").unwrap())
            .await
            .map(drop),
    );
    read_only(
        "delete comment",
        store.delete_comment(owner.id, comment.id).await,
    );
    read_only(
        "attach",
        store
            .add_attachment(owner.id, attachment.clone())
            .await
            .map(drop),
    );
    read_only("detach", store.delete_attachment(owner.id, kept.id).await);
    // Reads work, and nothing changed.
    let same = store.task(task.id).await.unwrap();
    assert_eq!(same, task);
    assert_eq!(store.comments(task.id).await.unwrap(), vec![comment]);
    assert_eq!(store.attachments(task.id).await.unwrap().len(), 1);
    store
        .update_project(owner.id, ops.id, archive(false))
        .await
        .unwrap();
    store
        .update_task(owner.id, task.id, retitle, None)
        .await
        .unwrap();
    store
        .create_task(owner.id, ops.id, crate::titled("after"))
        .await
        .unwrap();
}

/// The project and the caller's role in it come back together; a non-member has none, and a
/// trashed or unknown project is not found.
async fn project_with_role_in_one_lookup(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let ed = user(&store, "edith").await;
    let stranger = user(&store, "sam").await;
    store
        .set_member(owner.id, ops.id, ed.id, Role::Editor)
        .await
        .unwrap();
    let key = ProjectKey::parse("OPS").unwrap();
    assert_eq!(
        store.project_with_role(&key, owner.id).await.unwrap(),
        (ops.clone(), Some(Role::Owner))
    );
    assert_eq!(
        store.project_with_role(&key, ed.id).await.unwrap(),
        (ops.clone(), Some(Role::Editor))
    );
    assert_eq!(
        store.project_with_role(&key, stranger.id).await.unwrap(),
        (ops.clone(), None)
    );
    assert!(matches!(
        store
            .project_with_role(&ProjectKey::parse("NOPE").unwrap(), owner.id)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_project(owner.id, ops.id).await.unwrap();
    assert!(matches!(
        store.project_with_role(&key, owner.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

both_backends!(
    project_with_role_in_one_lookup,
    archived_projects_are_read_only,
    create_read_list_projects,
    duplicate_project_key_is_a_conflict,
    update_project_records_changes,
    members_and_roles,
    last_owner_cannot_leave,
    labels_crud,
    trashed_project_is_hidden,
);
