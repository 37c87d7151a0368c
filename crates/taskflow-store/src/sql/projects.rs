use async_trait::async_trait;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::project::*;
use taskflow_core::store::ProjectStore;
use taskflow_core::*;

use super::activity::record;
use super::d::Conn;
use super::rows::{MemberRow, ProjectRoleRow, ProjectRow, convert};
use super::{Store, commit, d, db, is_unique_violation};

const PROJECT_COLUMNS: &str =
    "id, key, name, description, archived, created_at, updated_at, deleted_at";

/// The column `role`: the role in the project `p` of the user in parameter `$param`, if any.
pub(crate) fn role_of_user(param: u8) -> String {
    format!(
        "(SELECT m.role FROM project_members m \
           WHERE m.project_id = p.id AND m.user_id = ${param}) AS role"
    )
}

/// A live project by key (`$1`) with the role of a user (`$2`) in it, if any.
pub(crate) static PROJECT_WITH_ROLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {PROJECT_COLUMNS}, {} FROM projects p WHERE key = $1 AND deleted_at IS NULL",
        role_of_user(2)
    )
});

/// Fails with `NotFound` unless the project is live (not trashed); its row stays locked for
/// the rest of the transaction, so concurrent writers of one project queue here.
pub(crate) async fn lock_live_project(conn: &mut Conn, id: ProjectId) -> StoreResult<()> {
    live_project_archived(conn, id, true).await.map(drop)
}

/// Fails unless the project is live and not archived: an archived project is read-only (its
/// tasks, comments and attachments), until it is unarchived. With `lock` its row stays locked
/// for the rest of the transaction (as `lock_live_project`); otherwise it is only kept from
/// being archived or trashed until the transaction ends.
pub(crate) async fn writable_project(
    conn: &mut Conn,
    id: ProjectId,
    lock: bool,
) -> StoreResult<()> {
    if live_project_archived(conn, id, lock).await? {
        return Err(archived());
    }
    Ok(())
}

/// The refusal of a change to an archived project.
pub(crate) fn archived() -> StoreError {
    StoreError::Conflict(
        "the project is archived, so it is read-only; unarchive it to change it".to_owned(),
    )
}

/// Whether a live project is archived (`NotFound` unless it is live), its row locked for the
/// rest of the transaction: exclusively with `exclusive`, else shared.
async fn live_project_archived(
    conn: &mut Conn,
    id: ProjectId,
    exclusive: bool,
) -> StoreResult<bool> {
    sqlx::query_scalar(&format!(
        "SELECT archived FROM projects WHERE id = $1 AND deleted_at IS NULL{}",
        if exclusive {
            d::for_update("")
        } else {
            d::for_share("")
        }
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    .ok_or(StoreError::not_found("project"))
}

async fn owner_count(conn: &mut Conn, project: ProjectId) -> StoreResult<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM project_members WHERE project_id = $1 AND role = 'owner'",
    )
    .bind(project.0)
    .fetch_one(conn)
    .await
    .map_err(db)
}

async fn current_role(
    conn: &mut Conn,
    project: ProjectId,
    user: UserId,
) -> StoreResult<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2",
    )
    .bind(project.0)
    .bind(user.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?;
    role.map(|r| Role::parse(&r).map_err(super::rows::corrupt))
        .transpose()
}

fn last_owner() -> StoreError {
    StoreError::Conflict("a project must keep at least one owner".to_owned())
}

#[async_trait]
impl ProjectStore for Store {
    async fn create_project(&self, actor: UserId, new: NewProject) -> StoreResult<Project> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let row: ProjectRow = sqlx::query_as(&format!(
            "INSERT INTO projects (key, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING {PROJECT_COLUMNS}"
        ))
        .bind(new.key.as_str())
        .bind(new.name.as_str())
        .bind(new.description.as_str())
        .bind(d::time(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("project key '{}' is already taken", new.key))
            } else {
                db(e)
            }
        })?;
        let project: Project = row.try_into()?;
        let added = sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role, added_at) \
             SELECT $1, id, 'owner', $3 FROM users WHERE id = $2",
        )
        .bind(project.id.0)
        .bind(actor.0)
        .bind(d::time(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if added.rows_affected() == 0 {
            return Err(StoreError::not_found("user"));
        }
        super::workflow::add_default_statuses(&mut tx, project.id).await?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project.id, None, ActivityKind::ProjectCreated)
                .change(None, Some(project.key.to_string())),
        )
        .await?;
        commit(tx).await?;
        Ok(project)
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Project> {
        sqlx::query_as::<_, ProjectRow>(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1 AND deleted_at IS NULL"
        ))
        .bind(id.0)
        .fetch_optional(self.reader())
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("project"))?
        .try_into()
    }

    async fn project_by_key(&self, key: &ProjectKey) -> StoreResult<Project> {
        sqlx::query_as::<_, ProjectRow>(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE key = $1 AND deleted_at IS NULL"
        ))
        .bind(key.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("project"))?
        .try_into()
    }

    async fn project_with_role(
        &self,
        key: &ProjectKey,
        user: UserId,
    ) -> StoreResult<(Project, Option<Role>)> {
        let row = match self.direct_project_role(key.as_str(), user.0) {
            Some(row) => row?,
            None => {
                let mut conn = self.read().await?;
                let row = sqlx::query_as(&PROJECT_WITH_ROLE)
                    .bind(key.as_str())
                    .bind(user.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(row)?
            }
        };
        let row: ProjectRoleRow = row.ok_or(StoreError::not_found("project"))?;
        row.try_into()
    }

    async fn list_projects(
        &self,
        member: Option<UserId>,
        include_archived: bool,
    ) -> StoreResult<Vec<Project>> {
        let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE deleted_at IS NULL \
               AND ($1 OR NOT archived) \
               AND ($2 IS NULL OR EXISTS \
                    (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $2)) \
             ORDER BY key"
        ))
        .bind(include_archived)
        .bind(member.map(|m| m.0))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn update_project(
        &self,
        actor: UserId,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> StoreResult<Project> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let current: Project = sqlx::query_as::<_, ProjectRow>(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1 AND deleted_at IS NULL{}",
            d::for_update("")
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("project"))?
        .try_into()?;
        let mut changes = Vec::new();
        if let Some(name) = &patch.name {
            changes.push(("name", current.name.to_string(), name.to_string()));
        }
        if let Some(description) = &patch.description {
            changes.push((
                "description",
                current.description.to_string(),
                description.to_string(),
            ));
        }
        if let Some(archived) = patch.archived {
            changes.push((
                "archived",
                current.archived.to_string(),
                archived.to_string(),
            ));
        }
        changes.retain(|(_, old, new)| old != new);
        if changes.is_empty() {
            return Ok(current);
        }
        let row: ProjectRow = sqlx::query_as(&format!(
            "UPDATE projects SET name = COALESCE($2, name), description = COALESCE($3, description), \
               archived = COALESCE($4, archived), updated_at = $5 \
             WHERE id = $1 RETURNING {PROJECT_COLUMNS}"
        ))
        .bind(id.0)
        .bind(patch.name.as_ref().map(|n| n.as_str()))
        .bind(patch.description.as_ref().map(|d| d.as_str()))
        .bind(patch.archived)
        .bind(d::time(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        for (field, old, new) in changes {
            record(
                &mut tx,
                Some(actor),
                now,
                NewActivity::new(id, None, ActivityKind::ProjectUpdated)
                    .field(field)
                    .change(Some(old), Some(new)),
            )
            .await?;
        }
        commit(tx).await?;
        row.try_into()
    }

    async fn delete_project(&self, actor: UserId, id: ProjectId) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let done =
            sqlx::query("UPDATE projects SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL")
                .bind(id.0)
                .bind(d::time(now))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("project"));
        }
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(id, None, ActivityKind::Trashed).field("project"),
        )
        .await?;
        commit(tx).await
    }

    async fn set_member(
        &self,
        actor: UserId,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> StoreResult<Member> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        lock_live_project(&mut tx, project).await?;
        let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::not_found("user"))?;
        let old = current_role(&mut tx, project, user).await?;
        if old == Some(Role::Owner)
            && role != Role::Owner
            && owner_count(&mut tx, project).await? <= 1
        {
            return Err(last_owner());
        }
        let row: MemberRow = sqlx::query_as(
            "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role \
             RETURNING project_id, user_id, CAST($5 AS TEXT) AS username, role, added_at",
        )
        .bind(project.0)
        .bind(user.0)
        .bind(role.as_str())
        .bind(d::time(now))
        .bind(&username)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if old != Some(role) {
            record(
                &mut tx,
                Some(actor),
                now,
                NewActivity::new(project, None, ActivityKind::MemberChanged)
                    .field(format!("member:{username}"))
                    .change(old.map(|r| r.as_str().into()), Some(role.as_str().into())),
            )
            .await?;
        }
        commit(tx).await?;
        row.try_into()
    }

    async fn remove_member(
        &self,
        actor: UserId,
        project: ProjectId,
        user: UserId,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        lock_live_project(&mut tx, project).await?;
        let old = current_role(&mut tx, project, user)
            .await?
            .ok_or(StoreError::not_found("member"))?;
        if old == Role::Owner && owner_count(&mut tx, project).await? <= 1 {
            return Err(last_owner());
        }
        let username: String = sqlx::query_scalar(
            "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2 \
             RETURNING (SELECT username FROM users WHERE id = $2)",
        )
        .bind(project.0)
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        // Unassign them from the project's tasks: assignees are always members.
        sqlx::query(
            "DELETE FROM task_assignees \
             WHERE user_id = $2 AND task_id IN (SELECT id FROM tasks WHERE project_id = $1)",
        )
        .bind(project.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, None, ActivityKind::MemberChanged)
                .field(format!("member:{username}"))
                .change(Some(old.as_str().into()), None),
        )
        .await?;
        commit(tx).await
    }

    async fn members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT m.project_id, m.user_id, u.username, m.role, m.added_at \
             FROM project_members m JOIN users u ON u.id = m.user_id \
             WHERE m.project_id = $1 ORDER BY u.username",
        )
        .bind(project.0)
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        convert(rows)
    }

    async fn member_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        let mut conn = self.read().await?;
        let role = current_role(&mut conn, project, user).await;
        conn.done(role)
    }
}
