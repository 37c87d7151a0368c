use std::collections::BTreeSet;

use taskflow_core::task::{TaskPatch, TaskQuery, TaskSort};
use taskflow_core::text::TaskTitle;
use taskflow_testkit::{TestStore, both_backends};

use crate::{setup, titled};

/// 8 writers create 25 tasks each at once: every number from 1 to 200 is used exactly once.
async fn concurrent_creation_numbers_are_unique_and_gap_free(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let store = store.store.clone();
        writers.spawn(async move {
            let mut numbers = Vec::new();
            for i in 0..25 {
                let t = store
                    .create_task(owner.id, ops.id, titled(&format!("w{w} t{i}")))
                    .await
                    .unwrap();
                numbers.push(t.number);
            }
            numbers
        });
    }
    let mut all = Vec::new();
    while let Some(numbers) = writers.join_next().await {
        all.extend(numbers.unwrap());
    }
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), 200, "duplicate numbers handed out");
    assert_eq!(unique, (1..=200).collect::<BTreeSet<i64>>());
    let mut q = TaskQuery::new(TaskSort::Position);
    q.limit = 200;
    assert_eq!(store.list_tasks(ops.id, &q).await.unwrap().items.len(), 200);
}

/// Writes cancelled at every moment (a client that hangs up mid-request drops its future):
/// each either commits whole or leaves nothing, and later writes always work.
async fn cancelled_writes_never_wedge_later_ones(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    // Cancel at every moment from the start to past the end of a write.
    let started = std::time::Instant::now();
    store
        .create_task(owner.id, ops.id, titled("timed"))
        .await
        .unwrap();
    let span = started.elapsed() * 2;
    // Finely over the first millisecond (where the transaction begins), then over the rest.
    let moments = (0..1000u64)
        .map(std::time::Duration::from_micros)
        .chain((0..200u32).map(|i| span * i / 200));
    let mut finished = 0;
    for (step, moment) in moments.enumerate() {
        let write = store.create_task(owner.id, ops.id, titled(&format!("cancelled {step}")));
        if tokio::time::timeout(moment, write).await.is_ok() {
            finished += 1;
        }
        // Every so often, a write that is let finish must succeed.
        if step % 20 == 19 {
            store
                .create_task(owner.id, ops.id, titled(&format!("after {step}")))
                .await
                .unwrap_or_else(|e| panic!("a write after cancellations failed: {e}"));
        }
    }
    assert!(finished > 0, "some writes were quick enough to finish");
    let after = store
        .create_task(owner.id, ops.id, titled("last"))
        .await
        .expect("writes work after cancellations");
    // Numbers stay gap-free: a cancelled creation gave its number back or kept all of it.
    for number in 1..=after.number {
        let key = taskflow_core::task::TaskKey::parse(&format!("{}-{number}", ops.key)).unwrap();
        store
            .task_by_key(&key)
            .await
            .expect("every number is a whole task");
    }
    eprintln!("{finished} of 1200 writes finished before they were cancelled");
    if store.backend == taskflow_testkit::Backend::Postgres {
        // No pooled connection is left inside a transaction (holding its locks until reused).
        let admin = sqlx::PgPool::connect(&store.url).await.unwrap();
        let stuck: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&admin)
        .await
        .unwrap();
        assert_eq!(stuck, 0, "connections left idle in a transaction");
        admin.close().await;
    }
}

/// Concurrent updates with the same version: exactly one wins, the rest get a mismatch.
async fn concurrent_updates_with_same_version_one_wins(store: TestStore) {
    let (owner, ops) = setup(&store).await;
    let t = store
        .create_task(owner.id, ops.id, titled("contended"))
        .await
        .unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..6 {
        let store = store.store.clone();
        writers.spawn(async move {
            let patch = TaskPatch {
                title: Some(TaskTitle::parse(format!("writer {w}")).unwrap()),
                ..Default::default()
            };
            store.update_task(owner.id, t.id, patch, Some(1)).await
        });
    }
    let mut wins = 0;
    while let Some(result) = writers.join_next().await {
        match result.unwrap() {
            Ok(task) => {
                wins += 1;
                assert_eq!(task.version, 2);
            }
            Err(taskflow_core::StoreError::VersionMismatch { current }) => assert_eq!(current, 2),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.task(t.id).await.unwrap().version, 2);
}

/// The gc lock is free again as soon as its holder lets go, even though PostgreSQL's release
/// (a rollback) finishes in the background: gc run twice in a row must not find itself busy.
async fn the_gc_lock_is_free_once_its_holder_drops_it(store: TestStore) {
    use taskflow_core::store::Lock;
    for round in 0..20 {
        let held = store.lock(Lock::Gc).await.unwrap();
        assert!(held.is_some(), "round {round}: the gc lock was not granted");
        if store.shares_locks() {
            let second = store.lock(Lock::Gc).await.unwrap();
            assert!(
                second.is_none(),
                "round {round}: the gc lock was granted twice"
            );
        }
        drop(held);
    }
    assert!(store.lock(Lock::Gc).await.unwrap().is_some());
}

both_backends!(
    the_gc_lock_is_free_once_its_holder_drops_it,
    cancelled_writes_never_wedge_later_ones,
    concurrent_creation_numbers_are_unique_and_gap_free,
    concurrent_updates_with_same_version_one_wins,
);
