//! Capacity planning figures: how many bytes a task, a comment and an attachment take, on each
//! backend, measured through the store as Taskflow writes them (indexes, search index and
//! activity entries included).
//!
//! Run: `cargo run --release -p taskflow-bench --bin capacity` (needs PostgreSQL's server
//! binaries, as the tests do). `TASKFLOW_BENCH_ITEMS` sets how many of each (default 5000).

use std::os::unix::fs::MetadataExt;

use taskflow_core::attachment::{FileName, MediaType, NewAttachment};
use taskflow_core::project::{Colour, NewLabel, NewProject, ProjectKey};
use taskflow_core::task::NewTask;
use taskflow_core::text::{CommentBody, LabelName, Markdown, ProjectName, TaskTitle};
use taskflow_testkit::{Backend, TestStore, sample};

/// The database's size with everything written out (SQLite: the write-ahead log folded in).
async fn settled_size(store: &TestStore) -> u64 {
    if store.backend == Backend::Sqlite {
        let pool = sqlx::SqlitePool::connect(&store.url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&store.url).await.unwrap();
        sqlx::query("CHECKPOINT").execute(&pool).await.ok();
        pool.close().await;
    }
    store.database_bytes().await.unwrap()
}

fn disk_usage(dir: &std::path::Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (f, b) = disk_usage(&entry.path());
            files += f;
            bytes += b + meta.blocks() * 512;
        } else {
            files += 1;
            bytes += meta.blocks() * 512;
        }
    }
    (files, bytes)
}

async fn measure(backend: Backend, items: u64) {
    let store = TestStore::new(backend).await;
    let (owner, _) = store.user_with_token("olivia", false).await;
    let project = store
        .create_project(
            owner.id,
            NewProject {
                key: ProjectKey::parse("CAP").unwrap(),
                name: ProjectName::parse("Capacity").unwrap(),
                description: Markdown::default(),
            },
        )
        .await
        .unwrap();
    let label = store
        .create_label(
            project.id,
            NewLabel {
                name: LabelName::parse("bug").unwrap(),
                colour: Colour::parse("#d73a4a").unwrap(),
            },
        )
        .await
        .unwrap();
    let description = "Steps to reproduce:\n\n1. Open the board\n2. Drag a card to *Done*\n3. Reload\n\nExpected: the card stays in Done. Actual: it jumps back to In progress after a few seconds, \
        and the activity log shows two moves. Seen on Firefox and Chromium; the API returns 200 both times.";
    let start = settled_size(&store).await;
    let mut tasks = Vec::new();
    for i in 0..items {
        let task = store
            .create_task(
                owner.id,
                project.id,
                NewTask {
                    description: Markdown::parse(description).unwrap(),
                    assignees: vec![owner.id],
                    labels: vec![label.id],
                    ..NewTask::titled(
                        TaskTitle::parse(format!("Card jumps back after a move #{i}")).unwrap(),
                    )
                },
            )
            .await
            .unwrap();
        tasks.push(task.id);
    }
    let after_tasks = settled_size(&store).await;
    let body = "I can reproduce this on the staging board too. It looks like the second move comes from the \
        websocket replay after reconnecting; disabling the reconnect makes it go away. Will look at the ordering.";
    for (i, task) in tasks.iter().enumerate().take(items as usize) {
        store
            .add_comment(
                owner.id,
                *task,
                CommentBody::parse(format!("{body} ({i})")).unwrap(),
            )
            .await
            .unwrap();
    }
    let after_comments = settled_size(&store).await;
    let attachments = items / 5;
    for (i, task) in tasks.iter().enumerate().take(attachments as usize) {
        let content = format!("a small attachment number {i}\n").repeat(40);
        let sha256 = sample::put_blob(&store.data_dir, content.as_bytes()).await;
        store
            .add_attachment(
                owner.id,
                NewAttachment {
                    task_id: *task,
                    file_name: FileName::parse(format!("screenshot-{i}.txt")).unwrap(),
                    media_type: MediaType::parse("text/plain").unwrap(),
                    size_bytes: content.len() as i64,
                    sha256,
                },
            )
            .await
            .unwrap();
    }
    let after_attachments = settled_size(&store).await;
    let (files, disk) = disk_usage(&store.data_dir.join("blobs"));
    let content: u64 = store
        .attachment_usage()
        .await
        .unwrap()
        .iter()
        .map(|p| p.bytes)
        .sum();
    let per = |a: u64, b: u64, n: u64| (b.saturating_sub(a)) as f64 / n as f64;
    println!(
        "| {backend:?} | {:.0} B | {:.0} B | {:.0} B | {:.0} B on disk for {:.0} B of content |",
        per(start, after_tasks, items),
        per(after_tasks, after_comments, items),
        per(after_comments, after_attachments, attachments),
        disk as f64 / files as f64,
        content as f64 / files as f64,
    );
}

#[tokio::main]
async fn main() {
    let items: u64 = std::env::var("TASKFLOW_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    println!(
        "{items} tasks (each with a ~330-character description, a label, an assignee and its activity entry), {items} comments (~230 characters), {} attachments (~1.2 KB each)\n",
        items / 5
    );
    println!(
        "| backend | per task | per comment | per attachment (database) | per attachment file |"
    );
    println!("|---|---|---|---|---|");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        measure(backend, items).await;
    }
}
