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

both_backends!(
    concurrent_creation_numbers_are_unique_and_gap_free,
    concurrent_updates_with_same_version_one_wins,
);
