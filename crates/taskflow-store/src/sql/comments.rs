use async_trait::async_trait;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::comment::Comment;
use taskflow_core::store::CommentStore;
use taskflow_core::text::CommentBody;
use taskflow_core::*;

use super::activity::record;
use super::d::Conn;
use super::projects::writable_project;
use super::rows::{CommentRow, convert};
use super::{Store, commit, d, db};

const COMMENT_COLUMNS: &str =
    "c.id, c.task_id, c.author_id, c.body, c.created_at, c.updated_at, c.deleted_at";
/// `RETURNING` cannot name the table's alias in SQLite.
const COMMENT_RETURNING: &str = "id, task_id, author_id, body, created_at, updated_at, deleted_at";
/// Joins that make `t` and `p` the task and project of a comment `c` or attachment `a`.
pub(crate) const LIVE_PARENTS: &str = "t.deleted_at IS NULL AND p.deleted_at IS NULL";

/// The project of a live task, locking the task row against concurrent trashing.
pub(crate) async fn live_task_project(conn: &mut Conn, task: TaskId) -> StoreResult<ProjectId> {
    sqlx::query_scalar::<_, i64>(&format!(
        "SELECT t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE t.id = $1 AND t.deleted_at IS NULL AND p.deleted_at IS NULL{}",
        d::for_share("t")
    ))
    .bind(task.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .map(ProjectId)
    .ok_or(StoreError::not_found("task"))
}

/// A live comment and its project; with `lock`, its row stays locked until the transaction
/// ends.
async fn fetch_comment(
    conn: &mut Conn,
    id: CommentId,
    lock: bool,
) -> StoreResult<(Comment, ProjectId)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        comment: CommentRow,
        project_id: i64,
    }
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COMMENT_COLUMNS}, t.project_id FROM comments c JOIN tasks t ON t.id = c.task_id \
         JOIN projects p ON p.id = t.project_id WHERE c.id = $1 AND c.deleted_at IS NULL AND {LIVE_PARENTS}{}",
        if lock { d::for_update("c") } else { Default::default() }
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or(StoreError::not_found("comment"))?;
    Ok((row.comment.try_into()?, ProjectId(row.project_id)))
}

fn excerpt(body: &str) -> String {
    body.chars().take(80).collect()
}

#[async_trait]
impl CommentStore for Store {
    async fn add_comment(
        &self,
        actor: UserId,
        task: TaskId,
        body: CommentBody,
    ) -> StoreResult<Comment> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let once = super::admin::Once::check(&mut tx, actor, "comment").await?;
        let project = live_task_project(&mut tx, task).await?;
        writable_project(&mut tx, project, false).await?;
        let row: CommentRow = sqlx::query_as(&format!(
            "INSERT INTO comments (task_id, author_id, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COMMENT_RETURNING}"
        ))
        .bind(task.0)
        .bind(actor.0)
        .bind(body.as_str())
        .bind(d::time(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let comment: Comment = row.try_into()?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(task), ActivityKind::CommentAdded)
                .field(format!("comment:{}", comment.id))
                .change(None, Some(excerpt(body.as_str()))),
        )
        .await?;
        once.made(&mut tx, comment.id.0).await?;
        commit(tx).await?;
        Ok(comment)
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Comment> {
        let mut conn = self.reader().acquire().await.map_err(db)?;
        Ok(fetch_comment(&mut conn, id, false).await?.0)
    }

    async fn comments(&self, task: TaskId) -> StoreResult<Vec<Comment>> {
        let mut conn = self.reader().acquire().await.map_err(db)?;
        live_task_project(&mut conn, task).await?;
        let rows: Vec<CommentRow> = sqlx::query_as(&format!(
            "SELECT {COMMENT_COLUMNS} FROM comments c WHERE c.task_id = $1 AND c.deleted_at IS NULL ORDER BY c.id"
        ))
        .bind(task.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn edit_comment(
        &self,
        actor: UserId,
        id: CommentId,
        body: CommentBody,
    ) -> StoreResult<Comment> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let (current, project) = fetch_comment(&mut tx, id, true).await?;
        writable_project(&mut tx, project, false).await?;
        if current.body == body {
            return Ok(current);
        }
        let row: CommentRow = sqlx::query_as(&format!(
            "UPDATE comments SET body = $2, updated_at = $3 WHERE id = $1 RETURNING {COMMENT_RETURNING}"
        ))
        .bind(id.0)
        .bind(body.as_str())
        .bind(d::time(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(current.task_id), ActivityKind::CommentEdited)
                .field(format!("comment:{id}"))
                .change(Some(current.body.to_string()), Some(body.to_string())),
        )
        .await?;
        commit(tx).await?;
        row.try_into()
    }

    async fn delete_comment(&self, actor: UserId, id: CommentId) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let (current, project) = fetch_comment(&mut tx, id, true).await?;
        writable_project(&mut tx, project, false).await?;
        sqlx::query("UPDATE comments SET deleted_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(d::time(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(current.task_id), ActivityKind::Trashed)
                .field(format!("comment:{id}")),
        )
        .await?;
        commit(tx).await
    }
}
