use taskflow_core::StoreError;
use taskflow_core::project::Role;
use taskflow_core::task::*;
use taskflow_core::text::{Markdown, TaskTitle};
use taskflow_core::{LabelId, TaskId, UserId};
use taskflow_testkit::{TestStore, both_backends};
use time::macros::date;

use crate::{label, project, setup, task, titled, user};

/// People, every label of the given projects and tasks' keys come back from one lookup; ids
/// that name nothing are left out, and an empty lookup finds nothing.
async fn names_are_looked_up_together(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let bob = user(&store, "bob").await;
    let web = project(&store, bob.id, "WEB").await;
    let urgent = label(&store, ops.id, "urgent").await;
    let later = label(&store, ops.id, "later").await;
    label(&store, web.id, "elsewhere").await;
    let first = task(&store, owner.id, ops.id, "first").await;
    let second = task(&store, owner.id, ops.id, "second").await;

    let found = store
        .names(
            &[bob.id, owner.id, UserId(9999)],
            &[ops.id],
            &[second.id, first.id, TaskId(9999)],
        )
        .await
        .unwrap();
    let mut people: Vec<_> = found
        .people
        .iter()
        .map(|(id, name, shown)| (*id, name.as_str().to_owned(), shown.as_str().to_owned()))
        .collect();
    people.sort();
    let mut expected = vec![
        (owner.id, "olivia".to_owned(), "OLIVIA".to_owned()),
        (bob.id, "bob".to_owned(), "BOB".to_owned()),
    ];
    expected.sort();
    assert_eq!(people, expected);
    let mut labels = found.labels.clone();
    labels.sort_by_key(|l| l.id);
    let mut want = vec![urgent, later];
    want.sort_by_key(|l| l.id);
    assert_eq!(labels, want);
    let mut keys: Vec<_> = found
        .tasks
        .iter()
        .map(|(id, key)| (*id, key.to_string()))
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            (first.id, "OPS-1".to_owned()),
            (second.id, "OPS-2".to_owned())
        ]
    );

    let none = store.names(&[], &[], &[]).await.unwrap();
    assert!(none.people.is_empty() && none.labels.is_empty() && none.tasks.is_empty());
}

async fn create_and_read_tasks(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let bug = label(&store, ops.id, "bug").await;
    let dev = user(&store, "dev").await;
    store
        .set_member(owner.id, ops.id, dev.id, Role::Editor)
        .await
        .unwrap();
    let new = NewTask {
        title: TaskTitle::parse("Rotate the certificates").unwrap(),
        description: Markdown::parse("Before **Friday**.\n\n- api\n- web").unwrap(),
        status: Some(
            taskflow_testkit::status_id(store.store.as_ref(), ops.id, "In progress").await,
        ),
        priority: Priority::High,
        due_date: Some(date!(2026 - 12 - 04)),
        estimate: None,
        assignees: vec![dev.id, owner.id, dev.id],
        labels: vec![bug.id],
        parent_id: None,
    };
    let t = store.create_task(owner.id, ops.id, new).await.unwrap();
    assert_eq!(t.key().to_string(), "OPS-1");
    assert_eq!(t.title.as_str(), "Rotate the certificates");
    assert_eq!(
        (t.status.name.as_str(), t.priority),
        ("In progress", Priority::High)
    );
    assert_eq!(t.due_date, Some(date!(2026 - 12 - 04)));
    let mut expected_assignees = vec![owner.id, dev.id];
    expected_assignees.sort();
    assert_eq!(t.assignees, expected_assignees);
    assert_eq!(t.labels, vec![bug.id]);
    assert_eq!((t.version, t.created_by), (1, Some(owner.id)));
    assert_eq!(store.task(t.id).await.unwrap(), t);
    assert_eq!(
        store
            .task_by_key(&TaskKey::parse("OPS-1").unwrap())
            .await
            .unwrap(),
        t
    );
    assert!(matches!(
        store.task_by_key(&TaskKey::parse("OPS-2").unwrap()).await,
        Err(StoreError::NotFound { .. })
    ));
    let second = task(&store, owner.id, ops.id, "Second").await;
    assert_eq!(second.number, 2);
    assert!(second.position > t.position || second.status != t.status);
}

/// A task comes back with its assignees and labels, its project and the caller's role there,
/// from one read; a non-member has no role; a task that is not there, trashed, or in a trashed
/// project is not found.
async fn task_with_its_project_and_role(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let ed = user(&store, "edith").await;
    let stranger = user(&store, "sam").await;
    store
        .set_member(owner.id, ops.id, ed.id, Role::Editor)
        .await
        .unwrap();
    let bug = label(&store, ops.id, "bug").await;
    let later = label(&store, ops.id, "later").await;
    let mut new = titled("linked");
    new.assignees = vec![ed.id, owner.id];
    new.labels = vec![later.id, bug.id];
    let linked = store.create_task(owner.id, ops.id, new).await.unwrap();
    let bare = task(&store, owner.id, ops.id, "bare").await;
    let key = |k: &str| TaskKey::parse(k).unwrap();

    let found = store.task_with_role(&key("OPS-1"), ed.id).await.unwrap();
    assert_eq!(
        found,
        Some((linked.clone(), ops.clone(), Some(Role::Editor)))
    );
    let (t, ..) = found.unwrap();
    let mut people = vec![ed.id, owner.id];
    people.sort();
    let mut labels = vec![bug.id, later.id];
    labels.sort();
    assert_eq!((t.assignees, t.labels), (people, labels));
    assert_eq!(
        store.task_with_role(&key("OPS-2"), owner.id).await.unwrap(),
        Some((bare.clone(), ops.clone(), Some(Role::Owner)))
    );
    assert_eq!(
        store
            .task_with_role(&key("OPS-2"), stranger.id)
            .await
            .unwrap(),
        Some((bare.clone(), ops.clone(), None))
    );
    for missing in ["OPS-3", "NOPE-1"] {
        assert_eq!(
            store.task_with_role(&key(missing), owner.id).await.unwrap(),
            None,
            "{missing}"
        );
    }
    store.delete_task(owner.id, bare.id, None).await.unwrap();
    assert_eq!(
        store.task_with_role(&key("OPS-2"), owner.id).await.unwrap(),
        None
    );
    store.delete_project(owner.id, ops.id).await.unwrap();
    assert_eq!(
        store.task_with_role(&key("OPS-1"), owner.id).await.unwrap(),
        None
    );
}

async fn update_with_versions(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "Draft").await;
    let patch = TaskPatch {
        title: Some(TaskTitle::parse("Final").unwrap()),
        priority: Some(Priority::Urgent),
        due_date: Some(Some(date!(2027 - 01 - 01))),
        ..Default::default()
    };
    let t2 = store
        .update_task(owner.id, t.id, patch, Some(1))
        .await
        .unwrap();
    assert_eq!(
        (t2.title.as_str(), t2.priority, t2.version),
        ("Final", Priority::Urgent, 2)
    );
    assert!(t2.updated_at >= t.updated_at);

    // A stale version is refused with the current one, and nothing is written.
    let stale = TaskPatch {
        title: Some(TaskTitle::parse("Lost update").unwrap()),
        ..Default::default()
    };
    let err = store
        .update_task(owner.id, t.id, stale, Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::VersionMismatch { current: 2 }),
        "{err:?}"
    );
    assert_eq!(store.task(t.id).await.unwrap(), t2);

    // Without a version the update applies; clearing an optional field works.
    let t3 = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                due_date: Some(None),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!((t3.due_date, t3.version), (None, 3));

    // An update that changes nothing does not bump the version.
    let t4 = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                title: Some(TaskTitle::parse("Final").unwrap()),
                ..Default::default()
            },
            Some(3),
        )
        .await
        .unwrap();
    assert_eq!(t4, t3);
}

async fn status_change_goes_to_bottom_of_new_column(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let a = task(&store, owner.id, ops.id, "a").await;
    let b = task(&store, owner.id, ops.id, "b").await;
    let a2 = store
        .update_task(
            owner.id,
            a.id,
            TaskPatch {
                status: Some(
                    taskflow_testkit::task_status(store.store.as_ref(), ops.id, "Done").await,
                ),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(a2.status.name.as_str(), "Done");
    assert!(a2.position > b.position);
}

async fn labels_and_assignees_are_validated(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let other_project = crate::project(&store, owner.id, "WEB").await;
    let foreign_label = label(&store, other_project.id, "bug").await;
    let outsider = user(&store, "outsider").await;
    let t = task(&store, owner.id, ops.id, "t").await;

    let mut new = titled("with foreign label");
    new.labels = vec![foreign_label.id];
    let err = store.create_task(owner.id, ops.id, new).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "labels"),
        "{err:?}"
    );

    let mut new = titled("with unknown label");
    new.labels = vec![LabelId(9999)];
    assert!(matches!(
        store.create_task(owner.id, ops.id, new).await,
        Err(StoreError::Invalid(_))
    ));

    let mut new = titled("with outsider");
    new.assignees = vec![outsider.id];
    let err = store.create_task(owner.id, ops.id, new).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "assignees"),
        "{err:?}"
    );

    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                labels: Some(vec![foreign_label.id]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                assignees: Some(vec![UserId(777)]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));

    // Nothing changed: the task is as it was, and refused creations took no number.
    assert_eq!(store.task(t.id).await.unwrap(), t);
    let next = task(&store, owner.id, ops.id, "next").await;
    assert_eq!(next.number, 2);
}

async fn bad_input_is_refused_and_changes_nothing(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    // Invalid values never become domain values, so they cannot reach the store.
    let err = TaskTitle::parse("x".repeat(301)).unwrap_err();
    assert_eq!(err.field, "title");
    assert!(taskflow_core::project::ProjectKey::parse("ops-1").is_err());
    // Unknown label, and a cycle, are refused by the store itself.
    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                labels: Some(vec![LabelId(12345)]),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                parent_id: Some(Some(t.id)),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Cycle | StoreError::Invalid(_)),
        "{err:?}"
    );
    assert_eq!(store.task(t.id).await.unwrap(), t);
    assert_eq!(
        store.task_activity(t.id, None, 50).await.unwrap().len(),
        1,
        "only the creation is logged"
    );
}

async fn subtasks_and_cycles(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let root = task(&store, owner.id, ops.id, "root").await;
    let mut new = titled("child");
    new.parent_id = Some(root.id);
    let child = store.create_task(owner.id, ops.id, new).await.unwrap();
    let mut new = titled("grandchild");
    new.parent_id = Some(child.id);
    let grandchild = store.create_task(owner.id, ops.id, new).await.unwrap();
    assert_eq!(grandchild.parent_id, Some(child.id));

    for (task, parent) in [
        (root.id, grandchild.id),
        (root.id, child.id),
        (child.id, child.id),
    ] {
        let err = store
            .update_task(
                owner.id,
                task,
                TaskPatch {
                    parent_id: Some(Some(parent)),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Cycle),
            "{task} under {parent}: {err:?}"
        );
    }
    assert_eq!(store.task(root.id).await.unwrap().parent_id, None);

    // A parent from another project is refused.
    let web = crate::project(&store, owner.id, "WEB").await;
    let elsewhere = task(&store, owner.id, web.id, "elsewhere").await;
    let err = store
        .update_task(
            owner.id,
            child.id,
            TaskPatch {
                parent_id: Some(Some(elsewhere.id)),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "parent_id"),
        "{err:?}"
    );

    // Re-parenting and detaching work.
    let moved = store
        .update_task(
            owner.id,
            grandchild.id,
            TaskPatch {
                parent_id: Some(Some(root.id)),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(moved.parent_id, Some(root.id));
    let detached = store
        .update_task(
            owner.id,
            grandchild.id,
            TaskPatch {
                parent_id: Some(None),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(detached.parent_id, None);
}

async fn board_moves(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(task(&store, owner.id, ops.id, name).await.id);
    }
    let [todo, doing, done] =
        taskflow_testkit::default_statuses(store.store.as_ref(), ops.id).await;
    let column = |store: &TestStore, status: taskflow_core::StatusId| {
        let store = store.store.clone();
        async move {
            let mut q = TaskQuery::new(TaskSort::Position);
            q.filter.statuses = vec![status];
            store
                .list_tasks(ops.id, &q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|t| t.title.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(column(&store, todo).await, ["a", "b", "c"]);
    let mv = |status, placement| TaskMove { status, placement };
    store
        .move_task(owner.id, ids[2], mv(todo, Placement::Top), None)
        .await
        .unwrap();
    assert_eq!(column(&store, todo).await, ["c", "a", "b"]);
    store
        .move_task(owner.id, ids[2], mv(todo, Placement::After(ids[0])), None)
        .await
        .unwrap();
    assert_eq!(column(&store, todo).await, ["a", "c", "b"]);
    store
        .move_task(owner.id, ids[1], mv(todo, Placement::Before(ids[0])), None)
        .await
        .unwrap();
    assert_eq!(column(&store, todo).await, ["b", "a", "c"]);
    let moved = store
        .move_task(owner.id, ids[0], mv(doing, Placement::Bottom), Some(1))
        .await
        .unwrap();
    assert_eq!((moved.status.id, moved.version), (doing, 2));
    assert_eq!(column(&store, todo).await, ["b", "c"]);
    assert_eq!(column(&store, doing).await, ["a"]);

    // Anchors must be in the target column; stale versions are refused.
    let err = store
        .move_task(owner.id, ids[1], mv(done, Placement::After(ids[2])), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "placement"),
        "{err:?}"
    );
    let err = store
        .move_task(owner.id, ids[0], mv(done, Placement::Top), Some(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 2 }));
}

async fn repeated_moves_into_one_gap_renumber_the_column(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let first = task(&store, owner.id, ops.id, "first").await;
    let last = task(&store, owner.id, ops.id, "last").await;
    let todo = first.status.id;
    // Each move halves the gap after `first`; after ~16 moves it is gone and the column
    // must be renumbered without losing the order.
    let mut expected = vec!["first".to_owned()];
    let mut inserted = Vec::new();
    for i in 0..40 {
        let t = task(&store, owner.id, ops.id, &format!("m{i}")).await;
        store
            .move_task(
                owner.id,
                t.id,
                TaskMove {
                    status: todo,
                    placement: Placement::After(first.id),
                },
                None,
            )
            .await
            .unwrap();
        inserted.insert(0, format!("m{i}"));
    }
    expected.extend(inserted);
    expected.push("last".to_owned());
    let mut q = TaskQuery::new(TaskSort::Position);
    q.limit = 200;
    let titles: Vec<_> = store
        .list_tasks(ops.id, &q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.title.to_string())
        .collect();
    assert_eq!(titles, expected);
    let _ = last;
}

async fn trashed_tasks_are_not_readable_or_writable(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = task(&store, owner.id, ops.id, "t").await;
    let err = store
        .delete_task(owner.id, t.id, Some(7))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }));
    store.delete_task(owner.id, t.id, Some(1)).await.unwrap();
    assert!(matches!(
        store.task(t.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let err = store
        .update_task(
            owner.id,
            t.id,
            TaskPatch {
                priority: Some(Priority::Low),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert!(matches!(
        store.delete_task(owner.id, TaskId(t.id.0), None).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// "My tasks": live tasks assigned to a user across projects, soonest due first, only in
/// projects they are a member of; done ones only when asked for.
async fn assigned_tasks_span_projects_by_due_date(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let web = crate::project(&store, owner.id, "WEB").await;
    let other = crate::project(&store, owner.id, "HR").await;
    let alice = user(&store, "alice").await;
    for project in [&ops, &web, &other] {
        store
            .set_member(owner.id, project.id, alice.id, Role::Editor)
            .await
            .unwrap();
    }
    let [_, web_doing, web_done] =
        taskflow_testkit::default_statuses(store.store.as_ref(), web.id).await;
    let assigned = |title: &str, due: Option<time::Date>, status| NewTask {
        assignees: vec![alice.id],
        due_date: due,
        status,
        ..titled(title)
    };
    let add = async |project: &taskflow_core::project::Project, new: NewTask| {
        store.create_task(owner.id, project.id, new).await.unwrap()
    };
    add(&ops, assigned("later", Some(date!(2027 - 03 - 01)), None)).await;
    add(
        &web,
        assigned("soon", Some(date!(2026 - 12 - 20)), Some(web_doing)),
    )
    .await;
    add(&ops, assigned("whenever", None, None)).await;
    add(
        &web,
        assigned("finished", Some(date!(2026 - 12 - 01)), Some(web_done)),
    )
    .await;
    add(&ops, titled("not hers")).await;
    let trashed = add(&ops, assigned("trashed", Some(date!(2026 - 12 - 02)), None)).await;
    store.delete_task(owner.id, trashed.id, None).await.unwrap();
    add(
        &other,
        assigned("left behind", Some(date!(2026 - 12 - 03)), None),
    )
    .await;
    store
        .remove_member(owner.id, other.id, alice.id)
        .await
        .unwrap();

    let titles = |tasks: Vec<Task>| {
        tasks
            .into_iter()
            .map(|t| t.title.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(
            store
                .assigned_tasks(alice.id, false, false, 50)
                .await
                .unwrap()
        ),
        ["soon", "later", "whenever"]
    );
    assert_eq!(
        titles(
            store
                .assigned_tasks(alice.id, true, false, 50)
                .await
                .unwrap()
        ),
        ["finished", "soon", "later", "whenever"]
    );
    assert_eq!(
        titles(
            store
                .assigned_tasks(alice.id, false, true, 50)
                .await
                .unwrap()
        ),
        ["soon", "later", "whenever"],
        "leaving a project ended her assignments there"
    );
    assert_eq!(
        titles(
            store
                .assigned_tasks(alice.id, false, false, 1)
                .await
                .unwrap()
        ),
        ["soon"]
    );
    let soon = &store
        .assigned_tasks(alice.id, false, false, 1)
        .await
        .unwrap()[0];
    assert_eq!(soon.assignees, vec![alice.id], "tasks come whole");
    assert!(matches!(
        store.assigned_tasks(alice.id, false, false, 0).await,
        Err(StoreError::Invalid(_))
    ));
}

/// An estimate is stored in minutes, changed and cleared by a patch (each a change in the
/// activity), refused by the database outside its range, and added up per status for live
/// tasks only.
async fn estimates_are_kept_changed_and_added_up(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let [todo, _, done] = taskflow_testkit::default_statuses(store.store.as_ref(), ops.id).await;
    let minutes = |m| Some(Estimate::from_minutes(m).unwrap());
    let new = |title: &str, estimate| NewTask {
        estimate,
        ..NewTask::titled(TaskTitle::parse(title).unwrap())
    };
    let a = store
        .create_task(owner.id, ops.id, new("a", minutes(90)))
        .await
        .unwrap();
    assert_eq!(a.estimate, minutes(90));
    assert_eq!(store.task(a.id).await.unwrap().estimate, minutes(90));
    let b = store
        .create_task(owner.id, ops.id, new("b", minutes(30)))
        .await
        .unwrap();
    let c = store
        .create_task(owner.id, ops.id, new("c", None))
        .await
        .unwrap();
    let d = store
        .create_task(owner.id, ops.id, new("d", minutes(480)))
        .await
        .unwrap();
    store
        .move_task(
            owner.id,
            d.id,
            TaskMove {
                status: done,
                placement: Placement::Top,
            },
            None,
        )
        .await
        .unwrap();
    let trashed = store
        .create_task(owner.id, ops.id, new("gone", minutes(600)))
        .await
        .unwrap();
    store.delete_task(owner.id, trashed.id, None).await.unwrap();
    let mut totals = store.estimate_totals(ops.id).await.unwrap();
    totals.sort();
    assert_eq!(totals, vec![(todo, 120), (done, 480)]);

    let patch = |estimate| TaskPatch {
        estimate: Some(estimate),
        ..TaskPatch::default()
    };
    let changed = store
        .update_task(owner.id, c.id, patch(minutes(15)), Some(1))
        .await
        .unwrap();
    assert_eq!((changed.estimate, changed.version), (minutes(15), 2));
    let cleared = store
        .update_task(owner.id, b.id, patch(None), None)
        .await
        .unwrap();
    assert_eq!(cleared.estimate, None);
    let log = store.task_activity(b.id, None, 10).await.unwrap();
    assert!(
        log.iter().any(|e| e.field.as_deref() == Some("estimate")
            && e.old_value.as_deref() == Some("30")
            && e.new_value.is_none()),
        "{:?}",
        log
    );
    let mut totals = store.estimate_totals(ops.id).await.unwrap();
    totals.sort();
    assert_eq!(totals, vec![(todo, 105), (done, 480)]);
    let counts: Vec<(taskflow_core::StatusId, u64)> = store
        .workflow(ops.id)
        .await
        .unwrap()
        .statuses()
        .iter()
        .map(|s| (s.id, s.tasks))
        .collect();
    let [_, doing, _] = taskflow_testkit::default_statuses(store.store.as_ref(), ops.id).await;
    assert_eq!(
        counts,
        vec![(todo, 3), (doing, 0), (done, 1)],
        "live tasks only"
    );
}

/// A task created with new labels: the labels and the task in one transaction. A name taken
/// already refuses the whole: no label, no task, and the task number is not used up.
async fn a_task_is_created_with_new_labels_in_one_transaction(store: TestStore) {
    use taskflow_core::project::{Colour, NewLabel};
    use taskflow_core::text::LabelName;
    let (owner, ops) = setup(&store).await;
    let urgent = label(&store, ops.id, "urgent").await;
    let new_label = |name: &str| NewLabel {
        name: LabelName::parse(name).unwrap(),
        colour: Colour::parse("#8250df").unwrap(),
    };
    let mut new = titled("Tidy the racks");
    new.labels = vec![urgent.id];
    let made = store
        .create_task_with_labels(owner.id, ops.id, new, vec![new_label("hardware")])
        .await
        .unwrap();
    let labels = store.labels(ops.id).await.unwrap();
    let hardware = labels
        .iter()
        .find(|l| l.name.as_str() == "hardware")
        .unwrap();
    assert_eq!(hardware.colour.as_str(), "#8250df");
    let mut on_task = made.labels.clone();
    on_task.sort();
    let mut expected = vec![urgent.id, hardware.id];
    expected.sort();
    assert_eq!(on_task, expected);

    let refused = store
        .create_task_with_labels(
            owner.id,
            ops.id,
            titled("Never made"),
            vec![new_label("cabling"), new_label("hardware")],
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
    let names: Vec<String> = store
        .labels(ops.id)
        .await
        .unwrap()
        .iter()
        .map(|l| l.name.to_string())
        .collect();
    assert_eq!(names, ["hardware", "urgent"], "cabling was not kept");
    let next = task(&store, owner.id, ops.id, "The next one").await;
    assert_eq!(next.number, made.number + 1, "no number was used up");
}

both_backends!(
    a_task_is_created_with_new_labels_in_one_transaction,
    names_are_looked_up_together,
    task_with_its_project_and_role,
    assigned_tasks_span_projects_by_due_date,
    create_and_read_tasks,
    update_with_versions,
    status_change_goes_to_bottom_of_new_column,
    labels_and_assignees_are_validated,
    bad_input_is_refused_and_changes_nothing,
    subtasks_and_cycles,
    board_moves,
    repeated_moves_into_one_gap_renumber_the_column,
    trashed_tasks_are_not_readable_or_writable,
    estimates_are_kept_changed_and_added_up,
);
