use async_trait::async_trait;
use sqlx::PgConnection;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::attachment::{Attachment, NewAttachment, ProjectUsage, Sha256Hex};
use taskflow_core::comment::Comment;
use taskflow_core::project::ProjectKey;
use taskflow_core::store::{AttachmentStore, CommentStore};
use taskflow_core::text::CommentBody;
use taskflow_core::*;

use crate::activity::record;
use crate::rows::{AttachmentRow, CommentRow, convert, corrupt};
use crate::{PgStore, db};

const COMMENT_COLUMNS: &str =
    "c.id, c.task_id, c.author_id, c.body, c.created_at, c.updated_at, c.deleted_at";
const ATTACHMENT_COLUMNS: &str = "a.id, a.task_id, a.file_name, a.media_type, a.size_bytes, a.sha256, \
    a.uploaded_by, a.created_at, a.deleted_at";
/// Joins that make `t` and `p` the task and project of a comment `c` or attachment `a`.
const LIVE_PARENTS: &str = "t.deleted_at IS NULL AND p.deleted_at IS NULL";

/// The project of a live task, locking the task row against concurrent trashing.
pub(crate) async fn live_task_project(
    conn: &mut PgConnection,
    task: TaskId,
) -> StoreResult<ProjectId> {
    sqlx::query_scalar::<_, i64>(
        "SELECT t.project_id FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE t.id = $1 AND t.deleted_at IS NULL AND p.deleted_at IS NULL FOR SHARE OF t",
    )
    .bind(task.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .map(ProjectId)
    .ok_or(StoreError::not_found("task"))
}

async fn fetch_comment(
    conn: &mut PgConnection,
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
         JOIN projects p ON p.id = t.project_id WHERE c.id = $1 AND c.deleted_at IS NULL AND {LIVE_PARENTS} {}",
        if lock { "FOR UPDATE OF c" } else { "" }
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
impl CommentStore for PgStore {
    async fn add_comment(
        &self,
        actor: UserId,
        task: TaskId,
        body: CommentBody,
    ) -> StoreResult<Comment> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let project = live_task_project(&mut tx, task).await?;
        let row: CommentRow = sqlx::query_as(&format!(
            "INSERT INTO comments AS c (task_id, author_id, body, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {COMMENT_COLUMNS}"
        ))
        .bind(task.0)
        .bind(actor.0)
        .bind(body.as_str())
        .bind(now.datetime())
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
        tx.commit().await.map_err(db)?;
        Ok(comment)
    }

    async fn comment(&self, id: CommentId) -> StoreResult<Comment> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(fetch_comment(&mut conn, id, false).await?.0)
    }

    async fn comments(&self, task: TaskId) -> StoreResult<Vec<Comment>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let (current, project) = fetch_comment(&mut tx, id, true).await?;
        if current.body == body {
            return Ok(current);
        }
        let row: CommentRow = sqlx::query_as(&format!(
            "UPDATE comments AS c SET body = $2, updated_at = $3 WHERE c.id = $1 RETURNING {COMMENT_COLUMNS}"
        ))
        .bind(id.0)
        .bind(body.as_str())
        .bind(now.datetime())
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
        tx.commit().await.map_err(db)?;
        row.try_into()
    }

    async fn delete_comment(&self, actor: UserId, id: CommentId) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let (current, project) = fetch_comment(&mut tx, id, true).await?;
        sqlx::query("UPDATE comments SET deleted_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(now.datetime())
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
        tx.commit().await.map_err(db)
    }
}

async fn fetch_attachment(
    conn: &mut PgConnection,
    id: AttachmentId,
    lock: bool,
) -> StoreResult<(Attachment, ProjectId)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        attachment: AttachmentRow,
        project_id: i64,
    }
    let row: Row = sqlx::query_as(&format!(
        "SELECT {ATTACHMENT_COLUMNS}, t.project_id FROM attachments a JOIN tasks t ON t.id = a.task_id \
         JOIN projects p ON p.id = t.project_id WHERE a.id = $1 AND a.deleted_at IS NULL AND {LIVE_PARENTS} {}",
        if lock { "FOR UPDATE OF a" } else { "" }
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or(StoreError::not_found("attachment"))?;
    Ok((row.attachment.try_into()?, ProjectId(row.project_id)))
}

#[async_trait]
impl AttachmentStore for PgStore {
    async fn add_attachment(&self, actor: UserId, new: NewAttachment) -> StoreResult<Attachment> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let project = live_task_project(&mut tx, new.task_id).await?;
        let row: AttachmentRow = sqlx::query_as(&format!(
            "INSERT INTO attachments AS a (task_id, file_name, media_type, size_bytes, sha256, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ATTACHMENT_COLUMNS}"
        ))
        .bind(new.task_id.0)
        .bind(new.file_name.as_str())
        .bind(new.media_type.as_str())
        .bind(new.size_bytes)
        .bind(new.sha256.as_str())
        .bind(actor.0)
        .bind(now.datetime())
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let attachment: Attachment = row.try_into()?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(new.task_id), ActivityKind::AttachmentAdded)
                .field(format!("attachment:{}", attachment.id))
                .change(None, Some(new.file_name.as_str().to_owned())),
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(attachment)
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Attachment> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(fetch_attachment(&mut conn, id, false).await?.0)
    }

    async fn attachments(&self, task: TaskId) -> StoreResult<Vec<Attachment>> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        live_task_project(&mut conn, task).await?;
        let rows: Vec<AttachmentRow> = sqlx::query_as(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.task_id = $1 AND a.deleted_at IS NULL ORDER BY a.id"
        ))
        .bind(task.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn delete_attachment(&self, actor: UserId, id: AttachmentId) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await.map_err(db)?;
        let (current, project) = fetch_attachment(&mut tx, id, true).await?;
        sqlx::query("UPDATE attachments SET deleted_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(now.datetime())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(current.task_id), ActivityKind::Trashed)
                .field(format!("attachment:{id}"))
                .change(Some(current.file_name.as_str().to_owned()), None),
        )
        .await?;
        tx.commit().await.map_err(db)
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<Sha256Hex>> {
        let digests: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT sha256 FROM attachments ORDER BY sha256")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        digests
            .into_iter()
            .map(|d| Sha256Hex::parse(d).map_err(corrupt))
            .collect()
    }

    async fn attachment_usage(&self) -> StoreResult<Vec<ProjectUsage>> {
        let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT p.id, p.key, count(a.id)::bigint, coalesce(sum(a.size_bytes), 0)::bigint FROM projects p \
             LEFT JOIN tasks t ON t.project_id = p.id LEFT JOIN attachments a ON a.task_id = t.id \
             GROUP BY p.id, p.key ORDER BY p.key",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(id, key, attachments, bytes)| {
                Ok(ProjectUsage {
                    project_id: ProjectId(id),
                    key: ProjectKey::parse(key).map_err(corrupt)?,
                    attachments: attachments as u64,
                    bytes: bytes as u64,
                })
            })
            .collect()
    }

    async fn project_attachment_bytes(&self, project: ProjectId) -> StoreResult<u64> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(a.size_bytes), 0)::bigint FROM attachments a \
             JOIN tasks t ON t.id = a.task_id WHERE t.project_id = $1",
        )
        .bind(project.0)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(bytes as u64)
    }
}
