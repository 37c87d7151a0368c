use std::cmp::Reverse;

use taskflow_core::StoreError;
use taskflow_core::project::Role;
use taskflow_core::task::*;
use taskflow_core::text::{Markdown, TaskTitle};
use taskflow_core::{ProjectId, TaskId};
use taskflow_testkit::{Backend, TestStore, both_backends};
use time::macros::date;

use crate::{label, setup, user};

/// Twelve tasks with a spread of statuses, priorities, due dates, labels, assignees, parents.
async fn dataset(
    store: &TestStore,
) -> (
    ProjectId,
    Vec<Task>,
    taskflow_core::UserId,
    taskflow_core::LabelId,
) {
    let (owner, ops) = setup(store).await;
    let dev = user(store, "dev").await;
    store
        .set_member(owner.id, ops.id, dev.id, Role::Editor)
        .await
        .unwrap();
    let bug = label(store, ops.id, "bug").await;
    let statuses = taskflow_testkit::default_statuses(store.store.as_ref(), ops.id).await;
    let mut tasks = Vec::new();
    let dues = [
        Some(date!(2026 - 12 - 01)),
        None,
        Some(date!(2026 - 11 - 20)),
        Some(date!(2026 - 12 - 01)),
        None,
        Some(date!(2027 - 03 - 15)),
    ];
    let descriptions = [
        "",
        "Deploy the database migration",
        "",
        "Upgrade postgres to sixteen",
        "",
        "Deployment checklist",
    ];
    for i in 0..12usize {
        let new = NewTask {
            title: TaskTitle::parse(format!("Task {i} {}", ["alpha", "beta", "gamma"][i % 3]))
                .unwrap(),
            description: Markdown::parse(descriptions[i % 6]).unwrap(),
            status: Some(statuses[i % 3]),
            priority: Priority::ALL[(i * 7) % 5],
            due_date: dues[i % 6],
            estimate: None,
            assignees: if i % 4 == 0 { vec![dev.id] } else { vec![] },
            labels: if i % 3 == 1 { vec![bug.id] } else { vec![] },
            parent_id: if i >= 9 {
                Some(tasks.first().map(|t: &Task| t.id).unwrap())
            } else {
                None
            },
        };
        tasks.push(store.create_task(owner.id, ops.id, new).await.unwrap());
    }
    // Touch a few so update order differs from creation order.
    for i in [3usize, 0, 7] {
        tasks[i] = store
            .update_task(
                owner.id,
                tasks[i].id,
                TaskPatch {
                    description: Some(Markdown::parse(format!("touched {i}")).unwrap()),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
    }
    (ops.id, tasks, dev.id, bug.id)
}

/// Every page of a listing, following cursors, with the page size `limit`.
async fn all_pages(
    store: &TestStore,
    project: ProjectId,
    mut query: TaskQuery,
    limit: u32,
) -> Vec<TaskId> {
    query.limit = limit;
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_tasks(project, &query).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        out.extend(page.items.iter().map(|t| t.id));
        pages += 1;
        assert!(pages < 100, "pagination does not end");
        match page.next {
            Some(next) => query.after = Some(Cursor::decode(&next, query.sort).unwrap()),
            None => break,
        }
    }
    out
}

fn expected_order(tasks: &[Task], sort: TaskSort) -> Vec<TaskId> {
    let mut tasks = tasks.to_vec();
    match sort {
        TaskSort::Position => tasks.sort_by_key(|t| (t.position, t.id)),
        TaskSort::DueDate => tasks.sort_by_key(|t| (t.due_date.is_none(), t.due_date, t.id)),
        TaskSort::Priority => tasks.sort_by_key(|t| Reverse((t.priority, t.id))),
        TaskSort::Updated => tasks.sort_by_key(|t| Reverse((t.updated_at, t.id))),
    }
    tasks.into_iter().map(|t| t.id).collect()
}

async fn every_sort_paginates_completely_and_in_order(store: TestStore) {
    let (project, tasks, _, _) = dataset(&store).await;
    for sort in [
        TaskSort::Position,
        TaskSort::DueDate,
        TaskSort::Priority,
        TaskSort::Updated,
    ] {
        let expected = expected_order(&tasks, sort);
        for limit in [1, 2, 5, 12, 13, 200] {
            let got = all_pages(&store, project, TaskQuery::new(sort), limit).await;
            assert_eq!(got, expected, "sort {sort:?}, page size {limit}");
        }
    }
}

async fn pagination_edges(store: TestStore) {
    let (project, tasks, _, _) = dataset(&store).await;
    // A page exactly as long as what is left has no next cursor.
    let mut q = TaskQuery::new(TaskSort::Position);
    q.limit = 12;
    let page = store.list_tasks(project, &q).await.unwrap();
    assert_eq!((page.items.len(), page.next.as_deref()), (12, None));
    // A cursor past the end gives an empty page.
    q.limit = 5;
    q.after = Some(Cursor::after(
        TaskSort::Position,
        tasks.iter().max_by_key(|t| t.position).unwrap(),
    ));
    let page = store.list_tasks(project, &q).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    // Out-of-range page sizes are refused.
    for limit in [0, TaskQuery::MAX_LIMIT + 1] {
        q.limit = limit;
        let err = store.list_tasks(project, &q).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(v) if v.field == "limit"),
            "{err:?}"
        );
    }
    // An empty project, and a trashed or unknown one.
    let other = crate::project(&store, tasks[0].created_by.unwrap(), "EMPTY").await;
    let page = store
        .list_tasks(other.id, &TaskQuery::new(TaskSort::Updated))
        .await
        .unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    assert!(matches!(
        store
            .list_tasks(ProjectId(9999), &TaskQuery::new(TaskSort::Position))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // A task deleted between pages does not break the listing.
    let mut q = TaskQuery::new(TaskSort::Position);
    q.limit = 4;
    let first = store.list_tasks(project, &q).await.unwrap();
    let doomed = all_pages(&store, project, TaskQuery::new(TaskSort::Position), 200).await[5];
    store
        .delete_task(tasks[0].created_by.unwrap(), doomed, None)
        .await
        .unwrap();
    q.after = Some(Cursor::decode(first.next.as_deref().unwrap(), TaskSort::Position).unwrap());
    let rest = all_pages(&store, project, q, 4).await;
    assert!(!rest.contains(&doomed));
    let deleted_with_subtasks = 1 + tasks.iter().filter(|t| t.parent_id == Some(doomed)).count();
    assert_eq!(first.items.len() + rest.len(), 12 - deleted_with_subtasks);
}

async fn filters(store: TestStore) {
    let (project, tasks, dev, bug) = dataset(&store).await;
    let [todo, doing, done] =
        taskflow_testkit::default_statuses(store.store.as_ref(), project).await;
    let check = |filter: TaskFilter, pred: Box<dyn Fn(&Task) -> bool>, what: &'static str| {
        let store = store.store.clone();
        let tasks = tasks.clone();
        async move {
            let mut q = TaskQuery::new(TaskSort::Position);
            q.filter = filter;
            q.limit = 200;
            let got: Vec<TaskId> = store
                .list_tasks(project, &q)
                .await
                .unwrap()
                .items
                .iter()
                .map(|t| t.id)
                .collect();
            let want: Vec<TaskId> = expected_order(
                &tasks.into_iter().filter(|t| pred(t)).collect::<Vec<_>>(),
                TaskSort::Position,
            );
            assert!(!want.is_empty(), "filter {what} should match something");
            assert_eq!(got, want, "filter {what}");
        }
    };
    check(
        TaskFilter {
            statuses: vec![done],
            ..Default::default()
        },
        Box::new(move |t| t.status.id == done),
        "status",
    )
    .await;
    check(
        TaskFilter {
            statuses: vec![todo, done],
            ..Default::default()
        },
        Box::new(move |t| t.status.id != doing),
        "statuses",
    )
    .await;
    check(
        TaskFilter {
            assignee: Some(dev),
            ..Default::default()
        },
        Box::new(move |t| t.assignees.contains(&dev)),
        "assignee",
    )
    .await;
    check(
        TaskFilter {
            label: Some(bug),
            ..Default::default()
        },
        Box::new(move |t| t.labels.contains(&bug)),
        "label",
    )
    .await;
    check(
        TaskFilter {
            due_before: Some(date!(2026 - 12 - 01)),
            ..Default::default()
        },
        Box::new(|t| t.due_date.is_some_and(|d| d < date!(2026 - 12 - 01))),
        "due before",
    )
    .await;
    check(
        TaskFilter {
            due_after: Some(date!(2026 - 11 - 20)),
            ..Default::default()
        },
        Box::new(|t| t.due_date.is_some_and(|d| d > date!(2026 - 11 - 20))),
        "due after",
    )
    .await;
    check(
        TaskFilter {
            parent: Some(ParentFilter::TopLevel),
            ..Default::default()
        },
        Box::new(|t| t.parent_id.is_none()),
        "top level",
    )
    .await;
    let root = tasks[0].id;
    check(
        TaskFilter {
            parent: Some(ParentFilter::Of(root)),
            ..Default::default()
        },
        Box::new(move |t| t.parent_id == Some(root)),
        "parent",
    )
    .await;
    check(
        TaskFilter {
            statuses: vec![todo],
            assignee: Some(dev),
            parent: Some(ParentFilter::TopLevel),
            ..Default::default()
        },
        Box::new(move |t| {
            t.status.id == todo && t.assignees.contains(&dev) && t.parent_id.is_none()
        }),
        "combined",
    )
    .await;
}

async fn text_search(store: TestStore) {
    let (project, tasks, _, _) = dataset(&store).await;
    let search = |q: &'static str| {
        let store = store.store.clone();
        async move {
            let mut query = TaskQuery::new(TaskSort::Position);
            query.filter.text = Some(SearchText::parse(q).unwrap());
            query.limit = 200;
            let mut titles: Vec<String> = store
                .list_tasks(project, &query)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|t| t.title.to_string())
                .collect();
            titles.sort();
            titles
        }
    };
    let titles_where = |pred: &dyn Fn(&Task) -> bool| {
        let mut t: Vec<String> = tasks
            .iter()
            .filter(|t| pred(t))
            .map(|t| t.title.to_string())
            .collect();
        t.sort();
        t
    };
    // Title words, case-insensitive.
    assert_eq!(
        search("GAMMA").await,
        titles_where(&|t| t.title.as_str().contains("gamma"))
    );
    // Description words, by prefix: "deploy" matches "Deploy" and "Deployment".
    let deploy = titles_where(&|t| t.description.as_str().to_lowercase().contains("deploy"));
    assert!(deploy.len() >= 2);
    assert_eq!(search("deploy").await, deploy);
    // Every term must match: whole words, except the last, which may be a word's start.
    let checklist = titles_where(&|t| t.description.as_str().contains("checklist"));
    assert_eq!(search("deployment check").await, checklist);
    assert_eq!(search("checklist deployment").await, checklist);
    assert!(
        search("deploy checklist").await.is_empty(),
        "\"deploy\" is not a whole word there"
    );
    assert!(search("deploy nonexistentword").await.is_empty());
    // Query syntax in the input is just text.
    assert!(search("\"OR* NEAR( -").await.is_empty());
    // Edits are searchable at once, and trashed tasks are not found.
    let owner = tasks[0].created_by.unwrap();
    store
        .update_task(
            owner,
            tasks[1].id,
            TaskPatch {
                title: Some(TaskTitle::parse("Kubernetes volume").unwrap()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(search("kubern").await, ["Kubernetes volume"]);
    store.delete_task(owner, tasks[1].id, None).await.unwrap();
    assert!(search("kubernetes").await.is_empty());
}

/// Tasks `1..=count` of `project`, added with one statement (the search indexes follow as
/// they do for any insert), each titled by the SQL expression `title` of `i`, the task's number
/// less one; the project's numbering continues after them.
async fn bulk(store: &TestStore, project: ProjectId, owner: i64, count: i64, title: &str) {
    let time = match store.backend {
        Backend::Sqlite => "1700000000000000 + i",
        Backend::Postgres => "to_timestamp(1700000000 + i / 1000000.0)",
    };
    let statements = [
        format!(
            "INSERT INTO tasks (project_id, number, title, description, status_id, position, \
               created_by, created_at, updated_at) \
             WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {count}) \
             SELECT {project}, i + 1, {title}, '', \
               (SELECT id FROM statuses WHERE project_id = {project} AND name_key = 'todo'), \
               (i + 1) * 65536, {owner}, {time}, {time} \
             FROM n",
            project = project.0,
        ),
        format!(
            "UPDATE projects SET next_task_number = {} WHERE id = {}",
            count + 1,
            project.0
        ),
    ];
    match store.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&store.url).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&store.url).await.unwrap();
            for sql in &statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            // The statistics that tell PostgreSQL's listing which words are common.
            sqlx::query("ANALYZE tasks").execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

/// Enough matches to take each backend's dense-search paths (more than 4000 in all), paged
/// through in two sorts: the walk through the listing's order that fills a page from the
/// first tasks, the walk that gives up because the word is common only in another project, a
/// last word completed to a few indexed words or to too many, and the collected matches of a
/// rare word.
async fn search_with_many_matches(store: TestStore) {
    const TASKS: usize = 4100;
    let (owner, ops) = setup(&store).await;
    let other = crate::project(&store, owner.id, "ELSE").await;
    bulk(
        &store,
        ops.id,
        owner.id.0,
        TASKS as i64,
        "'common ' || CASE i % 3 WHEN 0 THEN 'deploy' WHEN 1 THEN 'deployed' ELSE 'deployment' END \
         || ' k' || (i % 20) || CASE WHEN i % 101 = 0 THEN ' rare elsewhere' ELSE '' END",
    )
    .await;
    bulk(
        &store,
        other.id,
        owner.id.0,
        TASKS as i64,
        "'elsewhere ' || i",
    )
    .await;
    let collect = |q: &'static str, sort: TaskSort| {
        let store = store.store.clone();
        async move {
            let mut query = TaskQuery::new(sort);
            query.filter.text = Some(SearchText::parse(q).unwrap());
            query.limit = 200;
            let mut numbers = Vec::new();
            loop {
                let page = store.list_tasks(ops.id, &query).await.unwrap();
                numbers.extend(page.items.iter().map(|t| t.number));
                match page.next {
                    Some(next) => query.after = Some(Cursor::decode(&next, query.sort).unwrap()),
                    None => break numbers,
                }
            }
        }
    };
    // Task i is number i + 1; every task has the same priority, so that sort is by newest
    // first and each page after the first starts among tasks sharing the cursor's key.
    let rare = |i: usize| i.is_multiple_of(101);
    let cases: [(&str, &dyn Fn(usize) -> bool); 12] = [
        ("common", &|_| true),
        ("comm", &|_| true),
        ("depl", &|_| true),
        ("deployme", &|i| i % 3 == 2),
        ("common deployed", &|i| i % 3 == 1),
        ("k1", &|i| i % 20 == 1 || i % 20 >= 10),
        // "k" begins twenty words: searched as a prefix.
        ("common k", &|_| true),
        ("common rare", &rare),
        ("rare", &rare),
        ("elsewhere", &rare),
        ("elsew", &rare),
        ("deploymentx", &|_| false),
    ];
    for sort in [TaskSort::Position, TaskSort::Priority] {
        for (q, keep) in &cases {
            let mut expected: Vec<i64> = (0..TASKS)
                .filter(|&i| keep(i))
                .map(|i| i as i64 + 1)
                .collect();
            if sort == TaskSort::Priority {
                expected.reverse();
            }
            let found = collect(q, sort).await;
            let first_difference = found.iter().zip(&expected).position(|(a, b)| a != b);
            assert!(
                found == expected,
                "{q:?} by {sort:?}: {} tasks, expected {}; first difference at {first_difference:?}",
                found.len(),
                expected.len()
            );
        }
        assert!(collect("commonplace", sort).await.is_empty());
    }
}

async fn cursor_for_another_sort_is_refused(store: TestStore) {
    let (_, tasks, _, _) = dataset(&store).await;
    let cursor = Cursor::after(TaskSort::Position, &tasks[0]).encode();
    let err = Cursor::decode(&cursor, TaskSort::DueDate).unwrap_err();
    assert_eq!(err.field, "cursor");
}

both_backends!(
    every_sort_paginates_completely_and_in_order,
    pagination_edges,
    filters,
    text_search,
    search_with_many_matches,
    cursor_for_another_sort_is_refused,
);
