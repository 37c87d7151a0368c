//! Attachments' rows. Their bytes are in the blob store; a row is written only once its
//! file is durable there.

use async_trait::async_trait;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::attachment::{Attachment, NewAttachment, ProjectUsage, Sha256Hex};
use taskflow_core::project::ProjectKey;
use taskflow_core::store::AttachmentStore;
use taskflow_core::*;

use super::activity::record;
use super::comments::{LIVE_PARENTS, live_task_project};
use super::d::Conn;
use super::projects::writable_project;
use super::rows::{AttachmentRow, convert, corrupt};
use super::{Store, commit, d, db};

const ATTACHMENT_COLUMNS: &str = "a.id, a.task_id, a.file_name, a.media_type, a.size_bytes, a.sha256, \
    a.uploaded_by, a.created_at, a.deleted_at";
/// `RETURNING` cannot name the table's alias in SQLite.
const ATTACHMENT_RETURNING: &str =
    "id, task_id, file_name, media_type, size_bytes, sha256, uploaded_by, created_at, deleted_at";

/// A live attachment and its project; with `lock`, its row stays locked until the transaction
/// ends.
async fn fetch_attachment(
    conn: &mut Conn,
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
         JOIN projects p ON p.id = t.project_id WHERE a.id = $1 AND a.deleted_at IS NULL AND {LIVE_PARENTS}{}",
        if lock { d::for_update("a") } else { Default::default() }
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or(StoreError::not_found("attachment"))?;
    Ok((row.attachment.try_into()?, ProjectId(row.project_id)))
}

#[async_trait]
impl AttachmentStore for Store {
    async fn add_attachment(&self, actor: UserId, new: NewAttachment) -> StoreResult<Attachment> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let once = super::admin::Once::check(&mut tx, actor, "attachment").await?;
        let project = live_task_project(&mut tx, new.task_id).await?;
        writable_project(&mut tx, project, false).await?;
        let row: AttachmentRow = sqlx::query_as(&format!(
            "INSERT INTO attachments (task_id, file_name, media_type, size_bytes, sha256, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ATTACHMENT_RETURNING}"
        ))
        .bind(new.task_id.0)
        .bind(new.file_name.as_str())
        .bind(new.media_type.as_str())
        .bind(new.size_bytes)
        .bind(new.sha256.as_str())
        .bind(actor.0)
        .bind(d::time(now))
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
        once.made(&mut tx, attachment.id.0).await?;
        commit(tx).await?;
        Ok(attachment)
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Attachment> {
        let mut conn = self.read().await?;
        let found = fetch_attachment(&mut conn, id, false).await.map(|(a, _)| a);
        conn.done(found)
    }

    async fn attachments(&self, task: TaskId) -> StoreResult<Vec<Attachment>> {
        let mut conn = self.reader().acquire().await.map_err(db)?;
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
        let mut tx = self.write().await?;
        let (current, project) = fetch_attachment(&mut tx, id, true).await?;
        writable_project(&mut tx, project, false).await?;
        sqlx::query("UPDATE attachments SET deleted_at = $2 WHERE id = $1")
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
                .field(format!("attachment:{id}"))
                .change(Some(current.file_name.as_str().to_owned()), None),
        )
        .await?;
        commit(tx).await
    }

    async fn referenced_blobs(&self) -> StoreResult<Vec<Sha256Hex>> {
        let digests: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT sha256 FROM attachments ORDER BY sha256")
                .fetch_all(self.reader())
                .await
                .map_err(db)?;
        digests
            .into_iter()
            .map(|d| Sha256Hex::parse(d).map_err(corrupt))
            .collect()
    }

    async fn attachment_usage(&self) -> StoreResult<Vec<ProjectUsage>> {
        let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT p.id, p.key, CAST(count(a.id) AS BIGINT), CAST(coalesce(sum(a.size_bytes), 0) AS BIGINT) FROM projects p \
             LEFT JOIN tasks t ON t.project_id = p.id LEFT JOIN attachments a ON a.task_id = t.id \
             GROUP BY p.id, p.key ORDER BY p.key",
        )
        .fetch_all(self.reader())
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
            "SELECT CAST(coalesce(sum(a.size_bytes), 0) AS BIGINT) FROM attachments a \
             JOIN tasks t ON t.id = a.task_id WHERE t.project_id = $1",
        )
        .bind(project.0)
        .fetch_one(self.reader())
        .await
        .map_err(db)?;
        Ok(bytes as u64)
    }
}
