//! Export and import in the backend-neutral form (`taskflow_core::backup`).

use async_trait::async_trait;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use taskflow_core::backup::{ImportCounts, ImportItem, Kind, Record, TableSpec, tables_at};
use taskflow_core::store::{BackupStore, StoreAdmin};
use taskflow_core::{StoreError, StoreResult, ValidationError};
use tokio::sync::mpsc;

use crate::{SqliteStore, db};

/// Whether a database holds anything worth keeping: a user or a project.
const HAS_DATA: &str = "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM projects)";

fn columns(table: &TableSpec) -> String {
    table
        .columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn neutral(row: &SqliteRow, table: &'static TableSpec) -> StoreResult<Record> {
    let mut values = Map::new();
    for (i, (name, kind)) in table.columns.iter().enumerate() {
        let value = match kind {
            Kind::Int | Kind::Time => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::from)),
            Kind::Text | Kind::Date => row
                .try_get::<Option<String>, _>(i)
                .map(|v| v.map(Value::from)),
            Kind::Bool => row
                .try_get::<Option<bool>, _>(i)
                .map(|v| v.map(Value::from)),
        }
        .map_err(db)?
        .unwrap_or(Value::Null);
        values.insert((*name).to_owned(), value);
    }
    Ok(Record { table, values })
}

fn closed() -> StoreError {
    StoreError::Backend("the backup stopped reading rows".into())
}

pub(crate) fn archive_ended() -> StoreError {
    StoreError::Backend(
        "the archive ended before it was checked whole; nothing was restored".into(),
    )
}

#[async_trait]
impl BackupStore for SqliteStore {
    async fn export(&self, rows: mpsc::Sender<Record>) -> StoreResult<()> {
        let version = self.schema_version().await?.unwrap_or(0);
        // One read transaction: every table comes from the snapshot its first read sees.
        let mut tx = self.reader.begin().await.map_err(db)?;
        for table in tables_at(version) {
            let sql = format!(
                "SELECT {} FROM \"{}\" ORDER BY {}",
                columns(table),
                table.name,
                table.order_by
            );
            let mut stream = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = stream.try_next().await.map_err(db)? {
                rows.send(neutral(&row, table)?)
                    .await
                    .map_err(|_| closed())?;
            }
        }
        tx.rollback().await.map_err(db)
    }

    async fn import(
        &self,
        mut items: mpsc::Receiver<ImportItem>,
        replace: bool,
    ) -> StoreResult<ImportCounts> {
        let version = self.schema_version().await?.unwrap_or(0);
        let tables: Vec<&TableSpec> = tables_at(version).collect();
        let mut tx = self.write().await?;
        let has_data: bool = sqlx::query_scalar(HAS_DATA)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if has_data && !replace {
            return Err(StoreError::Conflict(
                "the database is not empty; restoring would replace everything in it".to_owned(),
            ));
        }
        if has_data {
            for table in tables.iter().rev() {
                sqlx::query(&format!("DELETE FROM \"{}\"", table.name))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        let mut counts: ImportCounts = tables.iter().map(|t| (t.name, 0)).collect();
        // Rows that refer to a row of their own table, set once every row exists.
        let mut links: Vec<(&'static TableSpec, i64, i64)> = Vec::new();
        loop {
            match items.recv().await {
                Some(ImportItem::Record(record)) => {
                    let Some(slot) = counts
                        .iter_mut()
                        .find(|(name, _)| *name == record.table.name)
                    else {
                        return Err(StoreError::Invalid(ValidationError::new(
                            "table",
                            format!(
                                "{} does not exist at schema version {version}",
                                record.table.name
                            ),
                        )));
                    };
                    record.check().map_err(StoreError::Invalid)?;
                    insert(&mut tx, &record, &mut links).await?;
                    slot.1 += 1;
                }
                Some(ImportItem::Commit) => break,
                None => return Err(archive_ended()),
            }
        }
        for (table, id, target) in links {
            let column = table.self_ref.expect("links only for self references");
            sqlx::query(&format!(
                "UPDATE \"{}\" SET \"{column}\" = ?2 WHERE id = ?1",
                table.name
            ))
            .bind(id)
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        taskflow_core::failpoint::failpoint("restore-commit").await;
        tx.commit().await.map_err(db)?;
        Ok(counts)
    }

    async fn has_data(&self) -> StoreResult<bool> {
        sqlx::query_scalar(HAS_DATA)
            .fetch_one(&self.reader)
            .await
            .map_err(db)
    }
}

async fn insert(
    tx: &mut sqlx::SqliteConnection,
    record: &Record,
    links: &mut Vec<(&'static TableSpec, i64, i64)>,
) -> StoreResult<()> {
    let table = record.table;
    let names: Vec<&str> = table
        .columns
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| record.values.contains_key(*name))
        .collect();
    let sql = format!(
        "INSERT INTO \"{}\" ({}) VALUES ({})",
        table.name,
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        (1..=names.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut query = sqlx::query(&sql);
    for name in &names {
        let value = &record.values[*name];
        if Some(*name) == table.self_ref
            && let (Some(id), Some(target)) = (
                record.values.get("id").and_then(Value::as_i64),
                value.as_i64(),
            )
        {
            links.push((table, id, target));
            query = query.bind(None::<i64>);
            continue;
        }
        query = match table.kind(name).expect("checked") {
            Kind::Int | Kind::Time => query.bind(value.as_i64()),
            Kind::Text | Kind::Date => query.bind(value.as_str().map(str::to_owned)),
            Kind::Bool => query.bind(value.as_bool()),
        };
    }
    query.execute(&mut *tx).await.map_err(db)?;
    Ok(())
}
