//! A project's workflow: its statuses, in board order. Every change takes the project's lock,
//! makes its writes, then reads the workflow back and checks it whole (`Workflow::check`); a
//! change that breaks it rolls back.

use async_trait::async_trait;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::store::WorkflowStore;
use taskflow_core::task::POSITION_STEP;
use taskflow_core::workflow::*;
use taskflow_core::*;

use super::activity::record;
use super::d::{self, Conn};
use super::projects::writable_project;
use super::rows::{STATUS_COLUMNS, StatusRow, convert};
use super::{Store, commit, db, is_unique_violation};

fn name_taken(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Invalid(ValidationError::new(
            "name",
            "another status of this project already has that name",
        ))
    } else {
        db(e)
    }
}

/// A project's statuses in board order.
pub(crate) async fn workflow_of(conn: &mut Conn, project: ProjectId) -> StoreResult<Workflow> {
    let rows: Vec<StatusRow> = sqlx::query_as(&format!(
        "SELECT {STATUS_COLUMNS} FROM statuses WHERE project_id = $1 ORDER BY position, id"
    ))
    .bind(project.0)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(Workflow(convert(rows)?))
}

/// Inserts the statuses a new project starts with.
pub(crate) async fn add_default_statuses(conn: &mut Conn, project: ProjectId) -> StoreResult<()> {
    for (position, (name, category, colour)) in DEFAULT_STATUSES.iter().enumerate() {
        sqlx::query(
            "INSERT INTO statuses (project_id, name, name_key, colour, category, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project.0)
        .bind(*name)
        .bind(name_key(name))
        .bind(*colour)
        .bind(category.as_str())
        .bind(position as i64)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Numbers the statuses 0, 1, 2… in `order`.
async fn renumber(conn: &mut Conn, order: &[StatusId]) -> StoreResult<()> {
    for (position, id) in order.iter().enumerate() {
        sqlx::query("UPDATE statuses SET position = $2 WHERE id = $1 AND position <> $2")
            .bind(id.0)
            .bind(position as i64)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// The board order with `id` put at `position` (clamped to the end).
fn placed(workflow: &Workflow, id: StatusId, position: usize) -> Vec<StatusId> {
    let mut order: Vec<StatusId> = workflow
        .statuses()
        .iter()
        .map(|s| s.id)
        .filter(|s| *s != id)
        .collect();
    order.insert(position.min(order.len()), id);
    order
}

/// The workflow after a change, checked whole; the status `id` in it.
async fn checked(conn: &mut Conn, project: ProjectId, id: StatusId) -> StoreResult<Status> {
    let workflow = workflow_of(conn, project).await?;
    workflow.check().map_err(StoreError::Invalid)?;
    workflow
        .get(id)
        .cloned()
        .ok_or(StoreError::not_found("status"))
}

/// A status of `project` as a task carries it; `Invalid` for `status` when it is not one.
pub(crate) async fn status_in(
    conn: &mut Conn,
    project: ProjectId,
    id: StatusId,
) -> StoreResult<TaskStatus> {
    let (name, category): (String, String) =
        sqlx::query_as("SELECT name, category FROM statuses WHERE id = $1 AND project_id = $2")
            .bind(id.0)
            .bind(project.0)
            .fetch_optional(conn)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::invalid("status", "that status is not in this project"))?;
    Ok(TaskStatus {
        id,
        name: taskflow_core::text::StatusName::parse(name).map_err(super::rows::corrupt)?,
        category: Category::parse(&category).map_err(super::rows::corrupt)?,
    })
}

/// Where a new task goes when none is named: `Workflow::default_status`.
pub(crate) async fn default_status(conn: &mut Conn, project: ProjectId) -> StoreResult<StatusId> {
    workflow_of(conn, project)
        .await?
        .default_status()
        .map(|s| s.id)
        .ok_or_else(|| StoreError::Backend("a project without statuses".into()))
}

fn check_name(name: &taskflow_core::text::StatusName) -> StoreResult<String> {
    let key = name_key(name.as_str());
    if key.is_empty() {
        return Err(StoreError::invalid(
            "name",
            "a status name needs a letter or a digit",
        ));
    }
    Ok(key)
}

#[async_trait]
impl WorkflowStore for Store {
    async fn workflow(&self, project: ProjectId) -> StoreResult<Workflow> {
        let mut conn = self.read().await?;
        let workflow = workflow_of(&mut conn, project).await;
        conn.done(workflow)
    }

    async fn create_status(
        &self,
        actor: UserId,
        project: ProjectId,
        new: NewStatus,
    ) -> StoreResult<Status> {
        let key = check_name(&new.name)?;
        let mut tx = self.write().await?;
        writable_project(&mut tx, project, true).await?;
        let before = workflow_of(&mut tx, project).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO statuses (project_id, name, name_key, colour, category, position, wip_limit) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(project.0)
        .bind(new.name.as_str())
        .bind(key)
        .bind(new.colour.as_str())
        .bind(new.category.as_str())
        .bind(before.statuses().len() as i64)
        .bind(new.wip_limit.map(|l| i64::from(l.get())))
        .fetch_one(&mut *tx)
        .await
        .map_err(name_taken)?;
        let id = StatusId(id);
        if let Some(position) = new.position {
            let with = workflow_of(&mut tx, project).await?;
            renumber(&mut tx, &placed(&with, id, position)).await?;
        }
        let status = checked(&mut tx, project, id).await?;
        record(
            &mut tx,
            Some(actor),
            Timestamp::now(),
            NewActivity::new(project, None, ActivityKind::WorkflowChanged)
                .field("added")
                .change(None, Some(status.name.to_string())),
        )
        .await?;
        commit(tx).await?;
        Ok(status)
    }

    async fn update_status(
        &self,
        actor: UserId,
        project: ProjectId,
        id: StatusId,
        patch: StatusPatch,
    ) -> StoreResult<Status> {
        let key = patch.name.as_ref().map(check_name).transpose()?;
        let mut tx = self.write().await?;
        writable_project(&mut tx, project, true).await?;
        let before = workflow_of(&mut tx, project).await?;
        let current = before
            .get(id)
            .cloned()
            .ok_or(StoreError::not_found("status"))?;
        sqlx::query(
            "UPDATE statuses SET name = COALESCE($2, name), name_key = COALESCE($3, name_key), \
               colour = COALESCE($4, colour), category = COALESCE($5, category), \
               wip_limit = CASE WHEN $6 THEN $7 ELSE wip_limit END \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(patch.name.as_ref().map(|n| n.as_str()))
        .bind(key)
        .bind(patch.colour.as_ref().map(|c| c.as_str()))
        .bind(patch.category.map(Category::as_str))
        .bind(patch.wip_limit.is_some())
        .bind(patch.wip_limit.flatten().map(|l| i64::from(l.get())))
        .execute(&mut *tx)
        .await
        .map_err(name_taken)?;
        if let Some(position) = patch.position {
            renumber(&mut tx, &placed(&before, id, position)).await?;
        }
        let status = checked(&mut tx, project, id).await?;
        if status.name != current.name {
            record(
                &mut tx,
                Some(actor),
                Timestamp::now(),
                NewActivity::new(project, None, ActivityKind::WorkflowChanged)
                    .field("renamed")
                    .change(
                        Some(current.name.to_string()),
                        Some(status.name.to_string()),
                    ),
            )
            .await?;
        }
        commit(tx).await?;
        Ok(status)
    }

    async fn delete_status(
        &self,
        actor: UserId,
        project: ProjectId,
        id: StatusId,
        move_to: Option<StatusId>,
    ) -> StoreResult<u64> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        writable_project(&mut tx, project, true).await?;
        let before = workflow_of(&mut tx, project).await?;
        let gone = before
            .get(id)
            .cloned()
            .ok_or(StoreError::not_found("status"))?;
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE status_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let target = match move_to {
            Some(to) if to == id => {
                return Err(StoreError::invalid(
                    "move_to",
                    "the tasks of a deleted status need another status to go to",
                ));
            }
            Some(to) => Some(before.get(to).cloned().ok_or_else(|| {
                StoreError::invalid("move_to", "that status is not in this project")
            })?),
            None if held > 0 => {
                return Err(StoreError::invalid(
                    "move_to",
                    format!(
                        "{} holds {held} task{}; say which status {} go to",
                        gone.name,
                        if held == 1 { "" } else { "s" },
                        if held == 1 { "it is to" } else { "they are to" }
                    ),
                ));
            }
            None => None,
        };
        if let (Some(target), true) = (&target, held > 0) {
            // Below the target's tasks, in their order: every position after the project's
            // last, shifted together.
            let bottom: Option<i64> =
                sqlx::query_scalar("SELECT max(position) FROM tasks WHERE project_id = $1")
                    .bind(project.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            let top: i64 =
                sqlx::query_scalar("SELECT min(position) FROM tasks WHERE status_id = $1")
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            sqlx::query(
                "UPDATE tasks SET status_id = $2, position = position - $3 + $4, \
                   updated_at = $5, version = version + 1 \
                 WHERE status_id = $1",
            )
            .bind(id.0)
            .bind(target.id.0)
            .bind(top)
            .bind(bottom.unwrap_or(0) + POSITION_STEP)
            .bind(d::time(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        sqlx::query("DELETE FROM statuses WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let rest: Vec<StatusId> = before
            .statuses()
            .iter()
            .map(|s| s.id)
            .filter(|s| *s != id)
            .collect();
        renumber(&mut tx, &rest).await?;
        workflow_of(&mut tx, project)
            .await?
            .check()
            .map_err(StoreError::Invalid)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, None, ActivityKind::WorkflowChanged)
                .field("removed")
                .change(
                    Some(gone.name.to_string()),
                    target.filter(|_| held > 0).map(|t| t.name.to_string()),
                ),
        )
        .await?;
        commit(tx).await?;
        Ok(held as u64)
    }
}
