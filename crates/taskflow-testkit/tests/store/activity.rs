use taskflow_core::activity::ActivityKind;
use taskflow_core::task::{Placement, Priority, TaskMove, TaskPatch};
use taskflow_core::text::{CommentBody, TaskTitle};
use taskflow_testkit::{TestStore, both_backends};

use crate::{label, setup, task, user};

/// kind, field, old value, new value, actor.
type Summary = (
    ActivityKind,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

async fn activity_records_who_changed_what(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let editor = user(&store, "edith").await;
    store
        .set_member(
            owner.id,
            ops.id,
            editor.id,
            taskflow_core::project::Role::Editor,
        )
        .await
        .unwrap();
    let bug = label(&store, ops.id, "bug").await;
    let t = task(&store, owner.id, ops.id, "Old title").await;
    store
        .update_task(
            editor.id,
            t.id,
            TaskPatch {
                title: Some(TaskTitle::parse("New title").unwrap()),
                priority: Some(Priority::High),
                labels: Some(vec![bug.id]),
                assignees: Some(vec![editor.id]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    store
        .move_task(
            editor.id,
            t.id,
            TaskMove {
                status: taskflow_testkit::status_id(store.store.as_ref(), ops.id, "Done").await,
                placement: Placement::Top,
            },
            None,
        )
        .await
        .unwrap();
    store
        .add_comment(owner.id, t.id, CommentBody::parse("Nice").unwrap())
        .await
        .unwrap();

    let log = store.task_activity(t.id, None, 50).await.unwrap();
    let summary: Vec<Summary> = log
        .iter()
        .rev()
        .map(|e| {
            (
                e.kind,
                e.field.clone(),
                e.old_value.clone(),
                e.new_value.clone(),
                e.actor_id.map(|a| a.0),
            )
        })
        .collect();
    let o = Some(owner.id.0);
    let e = Some(editor.id.0);
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        summary[0],
        (ActivityKind::TaskCreated, None, None, s("Old title"), o)
    );
    assert!(summary.contains(&(
        ActivityKind::TaskUpdated,
        s("title"),
        s("Old title"),
        s("New title"),
        e
    )));
    assert!(summary.contains(&(
        ActivityKind::TaskUpdated,
        s("priority"),
        s("none"),
        s("high"),
        e
    )));
    assert!(summary.contains(&(
        ActivityKind::TaskUpdated,
        s("labels"),
        None,
        Some(bug.id.to_string()),
        e
    )));
    assert!(summary.contains(&(
        ActivityKind::TaskUpdated,
        s("assignees"),
        None,
        Some(editor.id.to_string()),
        e
    )));
    assert!(summary.contains(&(
        ActivityKind::TaskMoved,
        s("status"),
        s("To do"),
        s("Done"),
        e
    )));
    assert_eq!(summary.last().unwrap().0, ActivityKind::CommentAdded);
    assert_eq!(summary.len(), 7);
    // Newest first, with timestamps that never go backwards.
    assert!(
        log.windows(2)
            .all(|w| w[0].id > w[1].id && w[0].at >= w[1].at)
    );
    assert!(
        log.iter()
            .all(|e| e.project_id == ops.id && e.task_id == Some(t.id))
    );
}

async fn activity_pages_backwards(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    for i in 0..5 {
        store
            .update_task(
                owner.id,
                t.id,
                TaskPatch {
                    title: Some(TaskTitle::parse(format!("v{i}")).unwrap()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
    }
    let all = store.task_activity(t.id, None, 100).await.unwrap();
    assert_eq!(all.len(), 6);
    let first = store.task_activity(t.id, None, 4).await.unwrap();
    let rest = store
        .task_activity(t.id, Some(first.last().unwrap().id), 4)
        .await
        .unwrap();
    assert_eq!([first, rest].concat(), all);
    let project_log = store.project_activity(ops.id, None, 100).await.unwrap();
    assert_eq!(
        project_log.len(),
        all.len() + 1,
        "project creation plus the task's entries"
    );
    assert_eq!(
        project_log.last().unwrap().kind,
        ActivityKind::ProjectCreated
    );
}

both_backends!(activity_records_who_changed_what, activity_pages_backwards);
