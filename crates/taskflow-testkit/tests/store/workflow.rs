//! A project's workflow: statuses added, renamed, reordered and deleted, the workflow kept
//! whole, and every task kept in a status of its own project.

use taskflow_core::activity::ActivityKind;
use taskflow_core::project::Colour;
use taskflow_core::task::{Placement, TaskMove, TaskPatch};
use taskflow_core::text::StatusName;
use taskflow_core::workflow::{Category, NewStatus, StatusPatch, WipLimit};
use taskflow_core::{StatusId, StoreError};
use taskflow_testkit::{TestStore, both_backends, default_statuses};

use crate::{project, setup, task};

fn status(name: &str, category: Category) -> NewStatus {
    NewStatus {
        name: StatusName::parse(name).unwrap(),
        colour: Colour::parse("#8250df").unwrap(),
        category,
        wip_limit: None,
        position: None,
    }
}

fn invalid(err: StoreError, field: &str) -> String {
    match err {
        StoreError::Invalid(v) if v.field == field => v.message,
        other => panic!("expected a refusal of {field}, got {other:?}"),
    }
}

async fn names(store: &TestStore, project: taskflow_core::ProjectId) -> String {
    store.workflow(project).await.unwrap().names()
}

/// New projects start with To do / In progress / Done; a status is added where asked,
/// renamed (its tasks keep it), limited and reordered.
async fn statuses_are_added_renamed_and_reordered(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    assert_eq!(names(&store, ops.id).await, "To do, In progress, Done");
    let workflow = store.workflow(ops.id).await.unwrap();
    let categories: Vec<Category> = workflow.statuses().iter().map(|s| s.category).collect();
    assert_eq!(
        categories,
        [Category::Unstarted, Category::Started, Category::Completed]
    );
    let t = task(&store, owner.id, ops.id, "write it").await;
    assert_eq!(t.status.name.as_str(), "To do", "new tasks start unstarted");

    let review = store
        .create_status(
            owner.id,
            ops.id,
            NewStatus {
                position: Some(2),
                wip_limit: Some(WipLimit::new(2).unwrap()),
                ..status("Review", Category::Started)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (review.position, review.wip_limit.map(WipLimit::get)),
        (2, Some(2))
    );
    assert_eq!(
        names(&store, ops.id).await,
        "To do, In progress, Review, Done"
    );
    let backlog = store
        .create_status(owner.id, ops.id, status("Backlog", Category::Backlog))
        .await
        .unwrap();
    assert_eq!(backlog.position, 4, "at the right when no place is asked");

    let moved = store
        .move_task(
            owner.id,
            t.id,
            TaskMove {
                status: review.id,
                placement: Placement::Top,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(moved.status.name.as_str(), "Review");
    let renamed = store
        .update_status(
            owner.id,
            ops.id,
            review.id,
            StatusPatch {
                name: Some(StatusName::parse("In review").unwrap()),
                wip_limit: Some(None),
                ..StatusPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.wip_limit),
        ("In review", None)
    );
    assert_eq!(
        store.task(t.id).await.unwrap().status.name.as_str(),
        "In review",
        "its tasks follow the new name"
    );
    store
        .update_status(
            owner.id,
            ops.id,
            backlog.id,
            StatusPatch {
                position: Some(0),
                ..StatusPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        names(&store, ops.id).await,
        "Backlog, To do, In progress, In review, Done"
    );
    let positions: Vec<i64> = store
        .workflow(ops.id)
        .await
        .unwrap()
        .statuses()
        .iter()
        .map(|s| s.position)
        .collect();
    assert_eq!(positions, [0, 1, 2, 3, 4]);

    let log = store.project_activity(ops.id, None, 50).await.unwrap();
    let changes: Vec<(Option<&str>, Option<&str>, Option<&str>)> = log
        .iter()
        .filter(|e| e.kind == ActivityKind::WorkflowChanged)
        .map(|e| {
            (
                e.field.as_deref(),
                e.old_value.as_deref(),
                e.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (Some("renamed"), Some("Review"), Some("In review")),
            (Some("added"), None, Some("Backlog")),
            (Some("added"), None, Some("Review")),
        ]
    );
}

/// Deleting a status moves every task in it (trashed ones too) to the bottom of the status
/// asked for, in their order, in one transaction; without somewhere to go it refuses.
async fn deleting_a_status_moves_its_tasks(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let [todo, doing, done] = default_statuses(store.store.as_ref(), ops.id).await;
    let review = store
        .create_status(owner.id, ops.id, status("Review", Category::Started))
        .await
        .unwrap();
    let mut in_review = Vec::new();
    for title in ["first", "second", "third"] {
        let t = task(&store, owner.id, ops.id, title).await;
        let t = store
            .move_task(
                owner.id,
                t.id,
                TaskMove {
                    status: review.id,
                    placement: Placement::Bottom,
                },
                None,
            )
            .await
            .unwrap();
        in_review.push(t);
    }
    let finished = task(&store, owner.id, ops.id, "finished").await;
    store
        .move_task(
            owner.id,
            finished.id,
            TaskMove {
                status: done,
                placement: Placement::Bottom,
            },
            None,
        )
        .await
        .unwrap();
    store
        .delete_task(owner.id, in_review[2].id, None)
        .await
        .unwrap();

    let err = store
        .delete_status(owner.id, ops.id, review.id, None)
        .await
        .unwrap_err();
    assert!(
        invalid(err, "move_to").contains("holds 3 tasks"),
        "trashed tasks count too"
    );
    let err = store
        .delete_status(owner.id, ops.id, review.id, Some(review.id))
        .await
        .unwrap_err();
    invalid(err, "move_to");
    assert_eq!(
        names(&store, ops.id).await,
        "To do, In progress, Done, Review"
    );

    let moved = store
        .delete_status(owner.id, ops.id, review.id, Some(done))
        .await
        .unwrap();
    assert_eq!(moved, 3);
    assert_eq!(names(&store, ops.id).await, "To do, In progress, Done");
    let mut q = taskflow_core::task::TaskQuery::new(taskflow_core::task::TaskSort::Position);
    q.filter.statuses = vec![done];
    let column: Vec<String> = store
        .list_tasks(ops.id, &q)
        .await
        .unwrap()
        .items
        .iter()
        .map(|t| t.title.to_string())
        .collect();
    assert_eq!(column, ["finished", "first", "second"], "below, in order");
    let held = |workflow: taskflow_core::workflow::Workflow| {
        workflow
            .statuses()
            .iter()
            .map(|s| s.tasks)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held(store.workflow(ops.id).await.unwrap()),
        [0, 0, 3],
        "live tasks counted as they move; the trashed one is not"
    );
    let first = store.task(in_review[0].id).await.unwrap();
    assert_eq!(
        first.version,
        in_review[0].version + 1,
        "a moved task changed"
    );
    let trash = store.trash(Some(ops.id)).await.unwrap();
    assert_eq!(trash.len(), 1);
    store
        .restore(
            owner.id,
            taskflow_core::trash::TrashRef::Task(in_review[2].id),
        )
        .await
        .unwrap();
    assert_eq!(
        store.task(in_review[2].id).await.unwrap().status.id,
        done,
        "the trashed task came back in the status its group went to"
    );
    assert_eq!(held(store.workflow(ops.id).await.unwrap()), [0, 0, 4]);
    let log = store.project_activity(ops.id, None, 5).await.unwrap();
    assert_eq!(
        (
            log[1].field.as_deref(),
            log[1].old_value.as_deref(),
            log[1].new_value.as_deref()
        ),
        (Some("removed"), Some("Review"), Some("Done"))
    );
    // An empty status needs nowhere to send anything.
    assert_eq!(
        store
            .delete_status(owner.id, ops.id, doing, None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(names(&store, ops.id).await, "To do, Done");
    let _ = todo;
}

/// A workflow keeps an open status and a completed one, and its names differ as people read
/// them; statuses of another project are not this one's.
async fn the_workflow_stays_whole(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let web = project(&store, owner.id, "WEB").await;
    let [todo, doing, done] = default_statuses(store.store.as_ref(), ops.id).await;
    let err = store
        .delete_status(owner.id, ops.id, done, Some(todo))
        .await
        .unwrap_err();
    assert!(invalid(err, "category").contains("completed"));
    let err = store
        .update_status(
            owner.id,
            ops.id,
            done,
            StatusPatch {
                category: Some(Category::Started),
                ..StatusPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(invalid(err, "category").contains("completed"));
    store
        .delete_status(owner.id, ops.id, doing, None)
        .await
        .unwrap();
    let err = store
        .update_status(
            owner.id,
            ops.id,
            todo,
            StatusPatch {
                category: Some(Category::Cancelled),
                ..StatusPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(invalid(err, "category").contains("open"));
    for taken in ["to do", "TODO", "To-Do", "done"] {
        let err = store
            .create_status(owner.id, ops.id, status(taken, Category::Started))
            .await
            .unwrap_err();
        assert!(
            invalid(err, "name").contains("already has that name"),
            "{taken}"
        );
    }
    let err = store
        .create_status(owner.id, ops.id, status("- _", Category::Started))
        .await
        .unwrap_err();
    invalid(err, "name");
    assert_eq!(
        names(&store, ops.id).await,
        "To do, Done",
        "nothing changed"
    );

    let [web_todo, ..] = default_statuses(store.store.as_ref(), web.id).await;
    let t = task(&store, owner.id, ops.id, "stay home").await;
    let err = store
        .move_task(
            owner.id,
            t.id,
            TaskMove {
                status: web_todo,
                placement: Placement::Top,
            },
            None,
        )
        .await
        .unwrap_err();
    invalid(err, "status");
    let err = store
        .create_task(
            owner.id,
            ops.id,
            taskflow_core::task::NewTask {
                status: Some(web_todo),
                ..crate::titled("elsewhere")
            },
        )
        .await
        .unwrap_err();
    invalid(err, "status");
    store
        .create_status(owner.id, web.id, status("Elsewhere", Category::Started))
        .await
        .unwrap();
    let foreign = taskflow_testkit::task_status(store.store.as_ref(), web.id, "Elsewhere").await;
    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                status: Some(foreign),
                ..TaskPatch::default()
            },
            None,
        )
        .await
        .unwrap_err();
    invalid(err, "status");
    assert!(matches!(
        store
            .delete_status(owner.id, ops.id, StatusId(i64::MAX), None)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .delete_status(owner.id, ops.id, web_todo, Some(done))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

/// A project and its statuses go to the trash and are purged together.
async fn a_purged_project_takes_its_workflow(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    store
        .create_status(owner.id, ops.id, status("Review", Category::Started))
        .await
        .unwrap();
    task(&store, owner.id, ops.id, "gone with it").await;
    store.delete_project(owner.id, ops.id).await.unwrap();
    store
        .purge(owner.id, taskflow_core::trash::TrashRef::Project(ops.id))
        .await
        .unwrap();
    assert!(store.workflow(ops.id).await.unwrap().statuses().is_empty());
}

both_backends!(
    statuses_are_added_renamed_and_reordered,
    deleting_a_status_moves_its_tasks,
    the_workflow_stays_whole,
    a_purged_project_takes_its_workflow,
);
