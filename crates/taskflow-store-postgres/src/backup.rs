//! Export and import in the backend-neutral form (`taskflow_core::backup`).

use async_trait::async_trait;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::postgres::PgRow;
use taskflow_core::backup::{
    ImportCounts, ImportItem, ImportTarget, Kind, Record, TableSpec, import_rows, tables_at,
};
use taskflow_core::store::{BackupStore, StoreAdmin};
use taskflow_core::{StoreError, StoreResult, Timestamp};
use tokio::sync::mpsc;

use crate::{PgStore, db};

/// Whether a database holds anything worth keeping: a user or a project.
const HAS_DATA: &str = "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM projects)";

/// The select list, cast so each kind decodes one way (`priority` is a smallint, dates are
/// read as text).
fn columns(table: &TableSpec) -> String {
    table
        .columns
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Int => format!("\"{name}\"::bigint"),
            Kind::Date => format!("\"{name}\"::text"),
            _ => format!("\"{name}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn neutral(row: &PgRow, table: &'static TableSpec) -> StoreResult<Record> {
    let mut values = Map::new();
    for (i, (name, kind)) in table.columns.iter().enumerate() {
        let value = match kind {
            Kind::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::from)),
            Kind::Time => row
                .try_get::<Option<time::OffsetDateTime>, _>(i)
                .map(|v| v.map(|t| Value::from(Timestamp::from_datetime(t).unix_micros()))),
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

#[async_trait]
impl BackupStore for PgStore {
    async fn export(&self, rows: mpsc::Sender<Record>) -> StoreResult<()> {
        let version = self.schema_version().await?.unwrap_or(0);
        // One read-only repeatable-read transaction: every table from the same snapshot.
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let has_data: bool = sqlx::query_scalar(HAS_DATA)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let counts =
            import_rows(&mut items, version, has_data, replace, &mut Target(&mut tx)).await?;
        // Later inserts must not collide with restored ids.
        for table in tables_at(version).filter(|t| t.has_id()) {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('\"{0}\"', 'id'), coalesce(max(id), 0) + 1, false) FROM \"{0}\"",
                table.name
            ))
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
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }
}

/// The import's transaction, as `import_rows` drives it.
struct Target<'c>(&'c mut sqlx::PgConnection);

#[async_trait]
impl ImportTarget for Target<'_> {
    async fn clear(&mut self, table: &'static TableSpec) -> StoreResult<()> {
        sqlx::query(&format!("DELETE FROM \"{}\"", table.name))
            .execute(&mut *self.0)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert(
        &mut self,
        table: &'static TableSpec,
        values: &[(&'static str, Kind, &Value)],
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            table.name,
            values
                .iter()
                .map(|(name, ..)| format!("\"{name}\""))
                .collect::<Vec<_>>()
                .join(", "),
            values
                .iter()
                .enumerate()
                .map(|(i, (_, kind, _))| match kind {
                    Kind::Date => format!("${}::date", i + 1),
                    _ => format!("${}", i + 1),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (_, kind, value) in values {
            query = match kind {
                Kind::Int => query.bind(value.as_i64()),
                Kind::Time => query.bind(
                    value
                        .as_i64()
                        .map(|micros| Timestamp::from_unix_micros(micros).datetime()),
                ),
                Kind::Text | Kind::Date => query.bind(value.as_str().map(str::to_owned)),
                Kind::Bool => query.bind(value.as_bool()),
            };
        }
        query.execute(&mut *self.0).await.map_err(db)?;
        Ok(())
    }

    async fn link(
        &mut self,
        table: &'static TableSpec,
        column: &'static str,
        id: i64,
        target: i64,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE \"{}\" SET \"{column}\" = $2 WHERE id = $1",
            table.name
        ))
        .bind(id)
        .bind(target)
        .execute(&mut *self.0)
        .await
        .map_err(db)?;
        Ok(())
    }
}
