//! The backend-neutral export and import: what one backend exports, the other imports and
//! exports identically; an import is all or nothing.

use taskflow_core::StoreError;
use taskflow_core::backup::{ImportItem, Record};
use taskflow_core::store::BackupStore;
use taskflow_testkit::{Backend, TestStore, both_backends, sample};
use tokio::sync::mpsc;

pub async fn export(store: &dyn BackupStore) -> Vec<Record> {
    let (tx, mut rx) = mpsc::channel(16);
    let (done, mut rows) = tokio::join!(store.export(tx), async {
        let mut rows = Vec::new();
        while let Some(row) = rx.recv().await {
            rows.push(row);
        }
        rows
    });
    done.unwrap();
    rows.sort_by_key(|r| {
        taskflow_core::backup::TABLES
            .iter()
            .position(|t| t == r.table)
    });
    rows
}

async fn import(
    store: &dyn BackupStore,
    rows: &[Record],
    commit: bool,
    replace: bool,
) -> Result<(), StoreError> {
    let (tx, rx) = mpsc::channel(16);
    let feed = async move {
        // The import may refuse early and stop listening.
        for row in rows {
            if tx.send(ImportItem::Record(row.clone())).await.is_err() {
                return;
            }
        }
        if commit {
            let _ = tx.send(ImportItem::Commit).await;
        }
    };
    let (result, ()) = tokio::join!(store.import(rx, replace), feed);
    result.map(|_| ())
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

async fn an_export_imports_identically_into_the_other_backend(store: TestStore) {
    sample::fill(&store).await;
    let rows = export(store.store.as_ref()).await;
    let count = |name: &str| rows.iter().filter(|r| r.table.name == name).count();
    assert_eq!(count("users"), 2);
    assert_eq!(count("sessions"), 1);
    assert_eq!(count("tasks"), 4);
    assert_eq!(count("attachments"), 2);
    assert!(count("activity") > 10);
    let target = TestStore::new(other(store.backend)).await;
    assert!(!target.has_data().await.unwrap());
    import(target.store.as_ref(), &rows, true, false)
        .await
        .unwrap();
    assert!(target.has_data().await.unwrap());
    assert_eq!(export(target.store.as_ref()).await, rows);
    // The restored store works: new rows get fresh ids, subtasks are where they were.
    let ops = target
        .project_by_key(&taskflow_core::project::ProjectKey::parse("OPS").unwrap())
        .await
        .unwrap();
    let olivia = target
        .user_by_username(&taskflow_core::user::Username::parse("olivia").unwrap())
        .await
        .unwrap();
    let title = taskflow_core::text::TaskTitle::parse("after the restore").unwrap();
    let task = target
        .create_task(
            olivia.id,
            ops.id,
            taskflow_core::task::NewTask::titled(title),
        )
        .await
        .unwrap();
    assert_eq!(task.number, 5);
    let child = target
        .task_by_key(&taskflow_core::task::TaskKey::parse("OPS-1").unwrap())
        .await
        .unwrap();
    assert!(child.parent_id.is_some());
}

async fn an_import_is_all_or_nothing(store: TestStore) {
    sample::fill(&store).await;
    let rows = export(store.store.as_ref()).await;
    let target = TestStore::new(other(store.backend)).await;
    target.user_with_token("somebody", false).await;
    let before = export(target.store.as_ref()).await;
    // Not empty: refused without replace.
    assert!(matches!(
        import(target.store.as_ref(), &rows, true, false).await,
        Err(StoreError::Conflict(_))
    ));
    // The rows arrive but the archive is never confirmed whole: nothing changes.
    assert!(
        import(target.store.as_ref(), &rows, false, true)
            .await
            .is_err()
    );
    assert_eq!(export(target.store.as_ref()).await, before);
    // A row that does not fit its column: refused, nothing changes.
    let mut bad = rows.clone();
    let task = bad.iter_mut().find(|r| r.table.name == "tasks").unwrap();
    task.values.insert("due_date".into(), "31/12/2026".into());
    assert!(matches!(
        import(target.store.as_ref(), &bad, true, true).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(export(target.store.as_ref()).await, before);
    // Replacing works and leaves only the imported rows.
    import(target.store.as_ref(), &rows, true, true)
        .await
        .unwrap();
    assert_eq!(export(target.store.as_ref()).await, rows);
}

both_backends!(
    an_export_imports_identically_into_the_other_backend,
    an_import_is_all_or_nothing
);
