//! A project's labels.

use async_trait::async_trait;
use taskflow_core::project::*;
use taskflow_core::store::LabelStore;
use taskflow_core::*;

use super::projects::lock_live_project;
use super::rows::{LabelRow, convert};
use super::{Store, commit, db, is_unique_violation};

const LABEL_COLUMNS: &str = "id, project_id, name, colour";

fn label_conflict(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict("a label with this name already exists in this project".to_owned())
    } else {
        db(e)
    }
}

async fn insert_row(
    conn: &mut super::d::Conn,
    project: ProjectId,
    new: &NewLabel,
) -> StoreResult<LabelRow> {
    sqlx::query_as(&format!(
        "INSERT INTO labels (project_id, name, colour) VALUES ($1, $2, $3) RETURNING {LABEL_COLUMNS}"
    ))
    .bind(project.0)
    .bind(new.name.as_str())
    .bind(new.colour.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(label_conflict)
}

/// A new label of `project`, on the caller's transaction (which holds the project's row).
pub(super) async fn insert_label(
    conn: &mut super::d::Conn,
    project: ProjectId,
    new: &NewLabel,
) -> StoreResult<LabelId> {
    let label: Label = insert_row(conn, project, new).await?.try_into()?;
    Ok(label.id)
}

#[async_trait]
impl LabelStore for Store {
    async fn create_label(&self, project: ProjectId, new: NewLabel) -> StoreResult<Label> {
        let mut tx = self.write().await?;
        lock_live_project(&mut tx, project).await?;
        let row = insert_row(&mut tx, project, &new).await?;
        commit(tx).await?;
        row.try_into()
    }

    async fn labels(&self, project: ProjectId) -> StoreResult<Vec<Label>> {
        let rows: Vec<LabelRow> = sqlx::query_as(&format!(
            "SELECT {LABEL_COLUMNS} FROM labels WHERE project_id = $1 ORDER BY name"
        ))
        .bind(project.0)
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn label(&self, id: LabelId) -> StoreResult<Label> {
        sqlx::query_as::<_, LabelRow>(&format!("SELECT {LABEL_COLUMNS} FROM labels WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await
            .map_err(db)?
            .ok_or(StoreError::not_found("label"))?
            .try_into()
    }

    async fn update_label(&self, id: LabelId, patch: LabelPatch) -> StoreResult<Label> {
        sqlx::query_as::<_, LabelRow>(&format!(
            "UPDATE labels SET name = COALESCE($2, name), colour = COALESCE($3, colour) \
             WHERE id = $1 RETURNING {LABEL_COLUMNS}"
        ))
        .bind(id.0)
        .bind(patch.name.as_ref().map(|n| n.as_str()))
        .bind(patch.colour.as_ref().map(|c| c.as_str()))
        .fetch_optional(self.writer())
        .await
        .map_err(label_conflict)?
        .ok_or(StoreError::not_found("label"))?
        .try_into()
    }

    async fn delete_label(&self, id: LabelId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM labels WHERE id = $1")
            .bind(id.0)
            .execute(self.writer())
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("label"));
        }
        Ok(())
    }
}
