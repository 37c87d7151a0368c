use async_trait::async_trait;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::project::ProjectKey;
use taskflow_core::store::TrashStore;
use taskflow_core::task::TaskKey;
use taskflow_core::trash::{PurgeCounts, TrashItem, TrashRef};
use taskflow_core::*;

use super::activity::record;
use super::d::{Conn, Time};
use super::rows::ts;
use super::{Store, commit, d, db};

#[derive(sqlx::FromRow)]
struct TrashRow {
    kind: String,
    id: i64,
    project_id: i64,
    project_key: String,
    task_number: Option<i64>,
    summary: String,
    deleted_at: Time,
    deleted_by: Option<i64>,
}

impl TrashRow {
    fn into_item(self) -> StoreResult<TrashItem> {
        let item = match self.kind.as_str() {
            "project" => TrashRef::Project(ProjectId(self.id)),
            "task" => TrashRef::Task(TaskId(self.id)),
            "comment" => TrashRef::Comment(CommentId(self.id)),
            "attachment" => TrashRef::Attachment(AttachmentId(self.id)),
            other => return Err(super::rows::corrupt(format!("unknown trash kind {other}"))),
        };
        let project_key = ProjectKey::parse(&self.project_key)
            .map_err(|e| super::rows::corrupt(e.to_string()))?;
        Ok(TrashItem {
            item,
            project_id: ProjectId(self.project_id),
            task: self.task_number.map(|number| TaskKey {
                project: project_key.clone(),
                number,
            }),
            project_key,
            summary: self.summary,
            deleted_at: ts(self.deleted_at),
            deleted_by: self.deleted_by.map(UserId),
        })
    }
}

/// Where a trashed item sits: its project, its task (for comments and attachments), when it
/// was trashed, and whether what it belongs to is itself in the trash.
struct Placement {
    project_id: ProjectId,
    task_id: Option<TaskId>,
    deleted_at: Option<Time>,
    parent_trashed: Option<&'static str>,
    label: String,
}

async fn locate(conn: &mut Conn, item: TrashRef) -> StoreResult<Placement> {
    type Row = (i64, Option<i64>, Option<Time>, bool, bool, String);
    // (query, alias of the row to lock, id, entity)
    let (sql, locked, id, entity) = match item {
        TrashRef::Project(id) => (
            "SELECT id, CAST(NULL AS BIGINT), deleted_at, FALSE, FALSE, key FROM projects WHERE id = $1",
            "",
            id.0,
            "project",
        ),
        TrashRef::Task(id) => (
            "SELECT t.project_id, t.id, t.deleted_at, p.deleted_at IS NOT NULL, \
                    COALESCE(parent.deleted_at IS NOT NULL, FALSE), p.key || '-' || t.number \
             FROM tasks t JOIN projects p ON p.id = t.project_id LEFT JOIN tasks parent ON parent.id = t.parent_id \
             WHERE t.id = $1",
            "t",
            id.0,
            "task",
        ),
        TrashRef::Comment(id) => (
            "SELECT t.project_id, t.id, c.deleted_at, p.deleted_at IS NOT NULL, t.deleted_at IS NOT NULL, 'comment:' || c.id \
             FROM comments c JOIN tasks t ON t.id = c.task_id JOIN projects p ON p.id = t.project_id \
             WHERE c.id = $1",
            "c",
            id.0,
            "comment",
        ),
        TrashRef::Attachment(id) => (
            "SELECT t.project_id, t.id, a.deleted_at, p.deleted_at IS NOT NULL, t.deleted_at IS NOT NULL, 'attachment:' || a.id \
             FROM attachments a JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = t.project_id \
             WHERE a.id = $1",
            "a",
            id.0,
            "attachment",
        ),
    };
    let row: Option<Row> = sqlx::query_as(&format!("{sql}{}", d::for_update(locked)))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    let (project_id, task_id, deleted_at, project_trashed, parent_trashed, label) =
        row.ok_or(StoreError::not_found(entity))?;
    Ok(Placement {
        project_id: ProjectId(project_id),
        task_id: task_id.map(TaskId),
        deleted_at,
        parent_trashed: if project_trashed {
            Some("project")
        } else if parent_trashed {
            Some(if entity == "task" {
                "parent task"
            } else {
                "task"
            })
        } else {
            None
        },
        label,
    })
}

async fn count(conn: &mut Conn, sql: &str, id: i64) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(conn)
        .await
        .map_err(db)?;
    Ok(n as u64)
}

const TASK_TREE: &str = "WITH RECURSIVE tree(id) AS (SELECT CAST($1 AS BIGINT) UNION SELECT t.id FROM tasks t JOIN tree ON t.parent_id = tree.id)";

/// Deletes an item and everything under it; zero counts when it is already gone.
async fn purge_one(conn: &mut Conn, item: TrashRef) -> StoreResult<PurgeCounts> {
    let mut counts = PurgeCounts::default();
    match item {
        TrashRef::Project(id) => {
            counts.tasks = count(
                conn,
                "SELECT count(*) FROM tasks WHERE project_id = $1",
                id.0,
            )
            .await?;
            counts.comments = count(conn, "SELECT count(*) FROM comments c JOIN tasks t ON t.id = c.task_id WHERE t.project_id = $1", id.0).await?;
            counts.attachments = count(conn, "SELECT count(*) FROM attachments a JOIN tasks t ON t.id = a.task_id WHERE t.project_id = $1", id.0).await?;
            counts.projects = sqlx::query("DELETE FROM projects WHERE id = $1")
                .bind(id.0)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
        TrashRef::Task(id) => {
            counts.tasks = count(
                conn,
                &format!("{TASK_TREE} SELECT count(*) FROM tree JOIN tasks t ON t.id = tree.id"),
                id.0,
            )
            .await?;
            counts.comments = count(conn, &format!("{TASK_TREE} SELECT count(*) FROM comments WHERE task_id IN (SELECT id FROM tree)"), id.0).await?;
            counts.attachments = count(conn, &format!("{TASK_TREE} SELECT count(*) FROM attachments WHERE task_id IN (SELECT id FROM tree)"), id.0).await?;
            sqlx::query("DELETE FROM tasks WHERE id = $1")
                .bind(id.0)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
        }
        TrashRef::Comment(id) => {
            counts.comments = sqlx::query("DELETE FROM comments WHERE id = $1")
                .bind(id.0)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
        TrashRef::Attachment(id) => {
            counts.attachments = sqlx::query("DELETE FROM attachments WHERE id = $1")
                .bind(id.0)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
        }
    }
    Ok(counts)
}

fn add(total: &mut PurgeCounts, more: PurgeCounts) {
    total.projects += more.projects;
    total.tasks += more.tasks;
    total.comments += more.comments;
    total.attachments += more.attachments;
}

async fn record_purge(
    conn: &mut Conn,
    actor: Option<UserId>,
    item: TrashRef,
    placement: &Placement,
) -> StoreResult<()> {
    let task_id = match item {
        TrashRef::Project(_) => return Ok(()),
        TrashRef::Task(_) => None,
        TrashRef::Comment(_) | TrashRef::Attachment(_) => placement.task_id,
    };
    record(
        conn,
        actor,
        Timestamp::now(),
        NewActivity::new(placement.project_id, task_id, ActivityKind::Purged)
            .field(placement.label.clone()),
    )
    .await
}

#[async_trait]
impl TrashStore for Store {
    async fn trash(&self, project: Option<ProjectId>) -> StoreResult<Vec<TrashItem>> {
        let rows: Vec<TrashRow> = sqlx::query_as(
            "SELECT 'project' AS kind, id, id AS project_id, key AS project_key, \
                    CAST(NULL AS BIGINT) AS task_number, key || ' ' || name AS summary, deleted_at, \
                    (SELECT a.actor_id FROM activity a WHERE a.project_id = projects.id AND a.kind = 'trashed' \
                       AND a.field = 'project' ORDER BY a.id DESC LIMIT 1) AS deleted_by \
               FROM projects WHERE deleted_at IS NOT NULL AND ($1 IS NULL OR id = $1) \
             UNION ALL \
             SELECT 'task', t.id, t.project_id, p.key, t.number, p.key || '-' || t.number || ' ' || t.title, t.deleted_at, \
                    COALESCE( \
                      (SELECT a.actor_id FROM activity a WHERE a.task_id = t.id AND a.kind = 'trashed' \
                         AND a.field = 'task' ORDER BY a.id DESC LIMIT 1), \
                      (SELECT a.actor_id FROM activity a WHERE a.project_id = t.project_id \
                         AND a.kind = 'trashed' AND a.field = 'task' AND a.at = t.deleted_at \
                         ORDER BY a.id DESC LIMIT 1)) \
               FROM tasks t JOIN projects p ON p.id = t.project_id \
               WHERE t.deleted_at IS NOT NULL AND ($1 IS NULL OR t.project_id = $1) \
             UNION ALL \
             SELECT 'comment', c.id, t.project_id, p.key, t.number, substr(c.body, 1, 80), c.deleted_at, \
                    (SELECT a.actor_id FROM activity a WHERE a.task_id = t.id AND a.kind = 'trashed' \
                       AND a.field = 'comment:' || c.id ORDER BY a.id DESC LIMIT 1) \
               FROM comments c JOIN tasks t ON t.id = c.task_id JOIN projects p ON p.id = t.project_id \
               WHERE c.deleted_at IS NOT NULL AND ($1 IS NULL OR t.project_id = $1) \
             UNION ALL \
             SELECT 'attachment', a.id, t.project_id, p.key, t.number, a.file_name, a.deleted_at, \
                    (SELECT e.actor_id FROM activity e WHERE e.task_id = t.id AND e.kind = 'trashed' \
                       AND e.field = 'attachment:' || a.id ORDER BY e.id DESC LIMIT 1) \
               FROM attachments a JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = t.project_id \
               WHERE a.deleted_at IS NOT NULL AND ($1 IS NULL OR t.project_id = $1) \
             ORDER BY deleted_at DESC, kind, id",
        )
        .bind(project.map(|p| p.0))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        rows.into_iter().map(TrashRow::into_item).collect()
    }

    async fn restore(&self, actor: UserId, item: TrashRef) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let placement = locate(&mut tx, item).await?;
        let Some(deleted_at) = placement.deleted_at else {
            return Err(StoreError::not_found("item in the trash"));
        };
        if let Some(what) = placement
            .parent_trashed
            .filter(|_| !matches!(item, TrashRef::Project(_)))
        {
            return Err(StoreError::Conflict(format!(
                "restore its {what} from the trash first"
            )));
        }
        match item {
            TrashRef::Project(id) => {
                sqlx::query("UPDATE projects SET deleted_at = NULL WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            TrashRef::Task(id) => {
                // Subtasks trashed with it (same time) come back with it.
                sqlx::query(
                    "WITH RECURSIVE tree(id) AS ( \
                         SELECT CAST($1 AS BIGINT) \
                         UNION SELECT t.id FROM tasks t JOIN tree ON t.parent_id = tree.id WHERE t.deleted_at = $2) \
                     UPDATE tasks SET deleted_at = NULL WHERE id IN (SELECT id FROM tree)",
                )
                .bind(id.0)
                .bind(deleted_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            TrashRef::Comment(id) => {
                sqlx::query("UPDATE comments SET deleted_at = NULL WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            TrashRef::Attachment(id) => {
                sqlx::query("UPDATE attachments SET deleted_at = NULL WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
        }
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(
                placement.project_id,
                placement.task_id,
                ActivityKind::Restored,
            )
            .field(placement.label.clone()),
        )
        .await?;
        commit(tx).await
    }

    async fn purge(&self, actor: UserId, item: TrashRef) -> StoreResult<PurgeCounts> {
        let mut tx = self.write().await?;
        let placement = locate(&mut tx, item).await?;
        if placement.deleted_at.is_none() {
            return Err(StoreError::Conflict(
                "only items in the trash can be purged".to_owned(),
            ));
        }
        let counts = purge_one(&mut tx, item).await?;
        record_purge(&mut tx, Some(actor), item, &placement).await?;
        commit(tx).await?;
        Ok(counts)
    }

    async fn purge_trashed_before(&self, cutoff: Timestamp) -> StoreResult<PurgeCounts> {
        let mut tx = self.write().await?;
        let expired: Vec<(String, i64)> = sqlx::query_as(
            "SELECT 'project', id FROM projects WHERE deleted_at < $1 \
             UNION ALL SELECT 'task', id FROM tasks WHERE deleted_at < $1 \
             UNION ALL SELECT 'comment', id FROM comments WHERE deleted_at < $1 \
             UNION ALL SELECT 'attachment', id FROM attachments WHERE deleted_at < $1",
        )
        .bind(d::time(cutoff))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut total = PurgeCounts::default();
        for (kind, id) in expired {
            let item = match kind.as_str() {
                "project" => TrashRef::Project(ProjectId(id)),
                "task" => TrashRef::Task(TaskId(id)),
                "comment" => TrashRef::Comment(CommentId(id)),
                _ => TrashRef::Attachment(AttachmentId(id)),
            };
            // Already gone with something purged before it in this loop.
            let placement = match locate(&mut tx, item).await {
                Ok(placement) => placement,
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let counts = purge_one(&mut tx, item).await?;
            if counts.total() > 0 {
                record_purge(&mut tx, None, item, &placement).await?;
            }
            add(&mut total, counts);
        }
        commit(tx).await?;
        Ok(total)
    }
}
