//! Both backends' migrations must end with the same tables and columns, so nothing can be
//! stored on one that cannot be stored on the other.

use std::collections::{BTreeMap, BTreeSet};

use taskflow_testkit::TestStore;

type Schema = BTreeMap<String, BTreeSet<String>>;

async fn sqlite_schema() -> Schema {
    let store = TestStore::sqlite().await;
    let pool = sqlx::SqlitePool::connect(&store.url).await.unwrap();
    // FTS5 keeps its index in `tasks_fts*` tables; PostgreSQL indexes the same text with a
    // GIN expression index instead. `sqlite_*` are SQLite's own.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'tasks_fts%' \
           AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    collect(rows)
}

async fn postgres_schema() -> Schema {
    let store = TestStore::postgres().await;
    let pool = sqlx::PgPool::connect(&store.url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    collect(rows)
}

fn collect(rows: Vec<(String, String)>) -> Schema {
    let mut schema = Schema::new();
    for (table, column) in rows {
        schema.entry(table).or_default().insert(column);
    }
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_tables_and_columns() {
    let sqlite = sqlite_schema().await;
    let postgres = postgres_schema().await;
    assert!(
        sqlite.contains_key("tasks") && sqlite.len() == 16,
        "{sqlite:?}"
    );
    assert_eq!(sqlite, postgres);
    // The backup form names exactly these tables and columns, at the latest version.
    let latest = TestStore::sqlite().await.latest_schema_version();
    let neutral: Schema = taskflow_core::backup::TABLES
        .iter()
        .map(|t| {
            let columns = t.columns_at(latest).map(|(c, _)| c.to_owned()).collect();
            (t.name.to_owned(), columns)
        })
        .collect();
    let mut stored = sqlite.clone();
    for (table, column) in taskflow_core::backup::DERIVED_COLUMNS {
        assert!(
            stored.get_mut(*table).unwrap().remove(*column),
            "{table}.{column}"
        );
    }
    assert_eq!(
        neutral, stored,
        "backup::TABLES is out of step with the schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_are_at_the_same_schema_version() {
    let sqlite = TestStore::sqlite().await;
    let postgres = TestStore::postgres().await;
    let v = sqlite.schema_version().await.unwrap();
    assert!(v.is_some());
    assert_eq!(v, postgres.schema_version().await.unwrap());
    assert_eq!(v, Some(sqlite.latest_schema_version()));
    assert_eq!(
        sqlite.latest_schema_version(),
        postgres.latest_schema_version()
    );
    // Migrating again is a no-op.
    sqlite.migrate().await.unwrap();
    postgres.migrate().await.unwrap();
    assert_eq!(sqlite.schema_version().await.unwrap(), v);
}
