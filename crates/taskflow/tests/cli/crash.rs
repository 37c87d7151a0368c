//! SIGKILL in the middle of writes: after a restart no task is half-written, and numbering
//! carries on without a gap.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use taskflow_core::Store;
use taskflow_core::activity::ActivityKind;
use taskflow_core::project::ProjectKey;
use taskflow_core::task::{Cursor, NewTask, SearchText, TaskQuery, TaskSort};
use taskflow_core::text::TaskTitle;
use taskflow_core::user::Username;
use taskflow_testkit::{Backend, TestStore, both_backends};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{run, stderr, taskflow};

async fn seed(store: &TestStore, tasks: u64) {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["dev", "seed", "--tasks", &tasks.to_string()]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Every seeded task is whole: three labels, its assignee, its creation entry, findable by
/// search; numbers run 1..=n. Returns n.
async fn check_whole(store: &Arc<dyn Store>, original: &TestStore) -> i64 {
    let project = store
        .project_by_key(&ProjectKey::parse("DEMO").unwrap())
        .await
        .unwrap();
    let mut query = TaskQuery::new(TaskSort::Position);
    query.limit = TaskQuery::MAX_LIMIT;
    let mut tasks = Vec::new();
    loop {
        let page = store.list_tasks(project.id, &query).await.unwrap();
        tasks.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(Cursor::decode(&next, query.sort).unwrap()),
            None => break,
        }
    }
    let mut numbers: Vec<i64> = tasks.iter().map(|t| t.number).collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=tasks.len() as i64).collect::<Vec<_>>(),
        "numbers are gap-free"
    );
    for task in &tasks {
        assert_eq!(task.labels.len(), 3, "{} lost its labels", task.key());
        assert_eq!(task.assignees.len(), 1, "{} lost its assignee", task.key());
        let log = store.task_activity(task.id, None, 10).await.unwrap();
        assert_eq!(
            log.iter()
                .filter(|e| e.kind == ActivityKind::TaskCreated)
                .count(),
            1,
            "{}",
            task.key()
        );
    }
    query.filter.text = Some(SearchText::parse("seeded").unwrap());
    query.after = None;
    query.limit = TaskQuery::MAX_LIMIT;
    let found = store
        .list_tasks(project.id, &query)
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(
        found,
        tasks.len().min(TaskQuery::MAX_LIMIT as usize),
        "search index matches the tasks"
    );
    if original.backend == Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&original.url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        sqlx::query("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')")
            .execute(&pool)
            .await
            .expect("FTS index consistent");
        pool.close().await;
    }
    tasks.len() as i64
}

async fn killed_inside_a_transaction_leaves_no_partial_task(store: TestStore) {
    seed(&store, 3).await;
    // Pause inside the second task's transaction: its row is written, its labels are not.
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["dev", "seed", "--tasks", "5"])
        .env("TASKFLOW_FAILPOINT", "task-create@2")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let reached = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("failpoint task-create reached") {
                return true;
            }
        }
        false
    })
    .await
    .expect("the failpoint is reached");
    assert!(reached, "the child exited before the failpoint");
    child.kill().await.unwrap();
    child.wait().await.unwrap();
    store.settled().await;

    let reopened = store.reopen().await;
    assert_eq!(
        check_whole(&reopened, &store).await,
        4,
        "3 earlier + 1 committed before the kill"
    );
    // The interrupted task's number was never taken.
    let project = reopened
        .project_by_key(&ProjectKey::parse("DEMO").unwrap())
        .await
        .unwrap();
    let demo = reopened
        .user_by_username(&Username::parse("demo").unwrap())
        .await
        .unwrap();
    let title = TaskTitle::parse("after the crash").unwrap();
    let next = reopened
        .create_task(demo.id, project.id, NewTask::titled(title))
        .await
        .unwrap();
    assert_eq!(next.number, 5);
}

async fn killed_at_random_moments_leaves_whole_tasks(store: TestStore) {
    let mut total = 0;
    for round in 0..4u64 {
        let mut c = taskflow(&store.url, &store.data_dir);
        c.args(["dev", "seed", "--tasks", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait until it is writing, then let it run a varying while before the kill.
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .unwrap()
            .unwrap();
        assert!(first.is_some_and(|l| l.starts_with("created")));
        let jitter = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64)
            % 150;
        tokio::time::sleep(Duration::from_millis(50 + round * 60 + jitter)).await;
        child.kill().await.unwrap();
        child.wait().await.unwrap();
        store.settled().await;
        let reopened = store.reopen().await;
        let now = check_whole(&reopened, &store).await;
        assert!(now > total, "round {round} made progress");
        total = now;
        reopened.close().await;
    }
}

both_backends!(
    killed_inside_a_transaction_leaves_no_partial_task,
    killed_at_random_moments_leaves_whole_tasks,
);
