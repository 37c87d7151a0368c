use async_trait::async_trait;
use taskflow_core::activity::{ActivityEntry, NewActivity};
use taskflow_core::store::ActivityStore;
use taskflow_core::*;

use super::d::Conn;
use super::rows::{ActivityRow, convert};
use super::{Store, d, db};

const ACTIVITY_COLUMNS: &str =
    "id, project_id, task_id, actor_id, at, kind, field, old_value, new_value";

/// Writes an activity entry inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut Conn,
    actor: Option<UserId>,
    at: Timestamp,
    entry: NewActivity,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO activity (project_id, task_id, actor_id, at, kind, field, old_value, new_value) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.project_id.0)
    .bind(entry.task_id.map(|t| t.0))
    .bind(actor.map(|a| a.0))
    .bind(d::time(at))
    .bind(entry.kind.as_str())
    .bind(entry.field)
    .bind(entry.old_value)
    .bind(entry.new_value)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

impl Store {
    /// Entries whose `column` (`task_id` or `project_id`) is `id`, newest first.
    async fn activity_of(
        &self,
        column: &'static str,
        id: i64,
        before: Option<ActivityId>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>> {
        let rows: Vec<ActivityRow> = sqlx::query_as(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity WHERE {column} = $1 \
             AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(id)
        .bind(before.map(|b| b.0))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        convert(rows)
    }
}

#[async_trait]
impl ActivityStore for Store {
    async fn task_activity(
        &self,
        task: TaskId,
        before: Option<ActivityId>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>> {
        self.activity_of("task_id", task.0, before, limit).await
    }

    async fn project_activity(
        &self,
        project: ProjectId,
        before: Option<ActivityId>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>> {
        self.activity_of("project_id", project.0, before, limit)
            .await
    }
}
