//! Export and import in the backend-neutral form (`taskflow_core::backup`).

use async_trait::async_trait;
use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::Row;
use taskflow_core::backup::{
    ImportCounts, ImportItem, ImportTarget, Kind, Record, TableSpec, import_rows, tables_at,
};
use taskflow_core::store::{BackupStore, StoreAdmin};
use taskflow_core::{StoreError, StoreResult, Timestamp};
use time::macros::format_description;
use tokio::sync::mpsc;

use super::d::{self, Conn, Time};
use super::rows::corrupt;
use super::{Store, commit, db};

/// Whether a database holds anything worth keeping: a user or a project.
const HAS_DATA: &str = "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM projects)";

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// The select list, cast so every integer decodes as a 64-bit one (`priority` is a smallint
/// on PostgreSQL).
fn columns(table: &'static TableSpec, version: i64) -> String {
    table
        .columns_at(version)
        .map(|(name, kind)| match kind {
            Kind::Int => format!("CAST(\"{name}\" AS BIGINT)"),
            _ => format!("\"{name}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn neutral(
    row: &<d::Db as sqlx::Database>::Row,
    table: &'static TableSpec,
    version: i64,
) -> StoreResult<Record> {
    let mut values = Map::new();
    for (i, (name, kind)) in table.columns_at(version).enumerate() {
        let value = match kind {
            Kind::Int => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::from)),
            Kind::Time => row
                .try_get::<Option<Time>, _>(i)
                .map(|v| v.map(|t| Value::from(d::timestamp(t).unix_micros()))),
            Kind::Text => row
                .try_get::<Option<String>, _>(i)
                .map(|v| v.map(Value::from)),
            Kind::Date => row.try_get::<Option<time::Date>, _>(i).map(|v| {
                v.map(|date| Value::from(date.format(DATE).expect("a date formats as text")))
            }),
            Kind::Bool => row
                .try_get::<Option<bool>, _>(i)
                .map(|v| v.map(Value::from)),
        }
        .map_err(db)?
        .unwrap_or(Value::Null);
        values.insert(name.to_owned(), value);
    }
    Ok(Record { table, values })
}

fn closed() -> StoreError {
    StoreError::Backend("the backup stopped reading rows".into())
}

#[async_trait]
impl BackupStore for Store {
    async fn export(&self, rows: mpsc::Sender<Record>) -> StoreResult<()> {
        let version = self.schema_version().await?.unwrap_or(0);
        // Every table comes from the same snapshot.
        let mut tx = self.snapshot().await?;
        for table in tables_at(version) {
            let sql = format!(
                "SELECT {} FROM \"{}\" ORDER BY {}",
                columns(table, version),
                table.name,
                table.order_by
            );
            let mut stream = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(row) = stream.try_next().await.map_err(db)? {
                rows.send(neutral(&row, table, version)?)
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
        let mut tx = self.write().await?;
        let has_data: bool = sqlx::query_scalar(HAS_DATA)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        d::before_import(&mut tx).await?;
        let counts =
            import_rows(&mut items, version, has_data, replace, &mut Target(&mut tx)).await?;
        d::after_import(&mut tx, tables_at(version)).await?;
        if tables_at(version).any(|t| t.name == "statuses") {
            // The counts the database keeps (`DERIVED_COLUMNS`), of the rows just restored.
            sqlx::query(
                "UPDATE statuses SET live_tasks = (SELECT count(*) FROM tasks t \
                 WHERE t.status_id = statuses.id AND t.deleted_at IS NULL)",
            )
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        taskflow_core::failpoint::failpoint("restore-commit").await;
        commit(tx).await?;
        Ok(counts)
    }

    async fn has_data(&self) -> StoreResult<bool> {
        sqlx::query_scalar(HAS_DATA)
            .fetch_one(self.reader())
            .await
            .map_err(db)
    }
}

/// The import's transaction, as `import_rows` drives it.
struct Target<'c>(&'c mut Conn);

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
            (1..=values.len())
                .map(|i| format!("${i}"))
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
                        .map(|micros| d::time(Timestamp::from_unix_micros(micros))),
                ),
                Kind::Text => query.bind(value.as_str().map(str::to_owned)),
                Kind::Date => query.bind(
                    value
                        .as_str()
                        .map(|s| time::Date::parse(s, DATE).map_err(corrupt))
                        .transpose()?,
                ),
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
