//! A page of tasks stays fast with a million tasks in one project.
//!
//! Fills a project with `TASKFLOW_BENCH_TASKS` (default 1 000 000) tasks on each backend (bulk
//! SQL, one transaction), then times `list_tasks` for every sort (first page, and the page after
//! the middle task) and for every filter. Prints a table; exits non-zero
//! when a p95 exceeds the target (`TASKFLOW_BENCH_TARGET_MS`, default 50 ms).
//!
//! Run: `cargo run --release -p taskflow-bench --bin list-tasks` (needs PostgreSQL's server
//! binaries, as the tests do).

use std::time::Duration;

use taskflow_bench::{fill, ms, percentile, sample};
use taskflow_core::task::*;
use taskflow_testkit::{Backend, TestStore};
use time::macros::date;

const RUNS: usize = 30;

struct Case {
    name: &'static str,
    query: TaskQuery,
}

fn cases(owner: taskflow_core::UserId, done: taskflow_core::StatusId) -> Vec<Case> {
    let mut out = Vec::new();
    for (name, sort) in [
        ("sort position", TaskSort::Position),
        ("sort due date", TaskSort::DueDate),
        ("sort priority", TaskSort::Priority),
        ("sort updated", TaskSort::Updated),
    ] {
        out.push(Case {
            name,
            query: TaskQuery::new(sort),
        });
    }
    let filtered = |name, f: &dyn Fn(&mut TaskFilter)| {
        let mut query = TaskQuery::new(TaskSort::Position);
        f(&mut query.filter);
        Case { name, query }
    };
    out.push(filtered("filter status", &|f| f.statuses = vec![done]));
    out.push(filtered("filter assignee", &|f| f.assignee = Some(owner)));
    out.push(filtered("filter due window", &|f| {
        f.due_after = Some(date!(2026 - 03 - 01));
        f.due_before = Some(date!(2026 - 03 - 08));
    }));
    out.push(filtered("filter top level", &|f| {
        f.parent = Some(ParentFilter::TopLevel)
    }));
    out.push(filtered("search rare word", &|f| {
        f.text = Some(SearchText::parse("777777").unwrap())
    }));
    out.push(filtered("search common+rare", &|f| {
        f.text = Some(SearchText::parse("task 777777").unwrap())
    }));
    out.push(filtered("search common word", &|f| {
        f.text = Some(SearchText::parse("deploy").unwrap())
    }));
    out
}

#[tokio::main]
async fn main() {
    let tasks: i64 = std::env::var("TASKFLOW_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let target = Duration::from_millis(
        std::env::var("TASKFLOW_BENCH_TARGET_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50),
    );
    let mut failed = Vec::new();
    println!(
        "list_tasks with {tasks} tasks in one project, page size 50, {RUNS} runs each; target p95 <= {} ms",
        target.as_millis()
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let store = TestStore::new(backend).await;
        let (owner, project) = taskflow_bench::owner_and_project(&store, false).await;
        let took = fill(&store, project.id, owner.id.0, tasks).await;
        println!("\n{backend:?}: filled in {:.1} s", took.as_secs_f64());
        let middle = store
            .task_by_key(&TaskKey::parse(&format!("BIG-{}", tasks / 2)).unwrap())
            .await
            .unwrap();
        println!(
            "{:<20} {:>12} {:>12} {:>12} {:>12}",
            "case", "first p50", "first p95", "deep p50", "deep p95"
        );
        let done = taskflow_testkit::status_id(store.store.as_ref(), project.id, "Done").await;
        for case in cases(owner.id, done) {
            let first = sample(RUNS, || async {
                std::hint::black_box(store.list_tasks(project.id, &case.query).await.unwrap());
            })
            .await;
            // A page from the middle of the listing, reached by the cursor of the middle task.
            let mut deep = case.query.clone();
            deep.after = Some(Cursor::after(deep.sort, &middle));
            let deep_times = sample(RUNS, || async {
                std::hint::black_box(store.list_tasks(project.id, &deep).await.unwrap());
            })
            .await;
            let (p95a, p95b) = (percentile(&first, 95), percentile(&deep_times, 95));
            println!(
                "{:<20} {:>9} ms {:>9} ms {:>9} ms {:>9} ms",
                case.name,
                ms(percentile(&first, 50)),
                ms(p95a),
                ms(percentile(&deep_times, 50)),
                ms(p95b)
            );
            if p95a > target || p95b > target {
                failed.push(format!("{backend:?} {}", case.name));
            }
        }
        store.close().await;
    }
    if failed.is_empty() {
        println!("\nall cases within target");
    } else {
        eprintln!("\nover target: {}", failed.join(", "));
        std::process::exit(1);
    }
}
