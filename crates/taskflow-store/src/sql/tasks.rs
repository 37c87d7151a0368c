use async_trait::async_trait;
use sqlx::QueryBuilder;
use taskflow_core::activity::{ActivityKind, NewActivity};
use taskflow_core::failpoint::failpoint;
use taskflow_core::project::{Project, ProjectKey, Role};
use taskflow_core::store::TaskStore;
use taskflow_core::task::*;
use taskflow_core::workflow::TaskStatus;
use taskflow_core::*;

use super::activity::record;
use super::d::Conn;
use super::projects::{role_of_user, writable_project};
use super::rows::{
    LINKED_COLUMNS, LinkedTaskRow, PROJECT_OF_TASK_COLUMNS, TASK_COLUMNS, TaskRoleRow, TaskRow,
};
use super::workflow::{default_status, status_in};
use super::{Store, commit, d, db, listing};

/// Where tasks are live: neither they nor their project are in the trash.
pub(crate) const LIVE: &str = "t.deleted_at IS NULL AND p.deleted_at IS NULL";

/// Where a task `t` is open: its status is neither completed nor cancelled.
const OPEN: &str = "EXISTS (SELECT 1 FROM statuses s WHERE s.id = t.status_id \
     AND s.category NOT IN ('completed', 'cancelled'))";

/// The assignees (`is_label` false) and labels of the tasks whose ids are the JSON array or
/// id array `$1`, in no order (`link` sorts them). The ids drive the join, one index seek
/// each: on SQLite an `IN` list would be built into a temporary index on every run, and an
/// `ORDER BY` into a sorter, which together took twice as long as the lookups.
pub(crate) static LINKS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT i.id AS task_id, FALSE AS is_label, a.user_id AS id \
           FROM ({ids}) i JOIN task_assignees a ON a.task_id = i.id \
         UNION ALL \
         SELECT i.id, TRUE, l.label_id \
           FROM ({ids}) i JOIN task_labels l ON l.task_id = i.id",
        ids = d::id_rows(1)
    )
});

/// Loads tasks' assignees and labels (in one query) and assembles them, keeping the rows'
/// order.
async fn assemble(conn: &mut Conn, rows: Vec<TaskRow>) -> StoreResult<Vec<Task>> {
    let links = links(conn, &rows).await?;
    link(rows, links)
}

/// A new task, answered with the row as stored and its project's key.
static INSERT_TASK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO tasks (project_id, number, title, description, status_id, position, priority, \
           due_date, parent_id, created_by, created_at, updated_at, estimate) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $13) RETURNING {}",
        super::rows::returning_task_columns("$12")
    )
});

/// A `LINKS` row: `(task_id, is_label, id)`.
pub(crate) type Link = (i64, bool, i64);

/// The `LINKS` rows of these tasks.
pub(crate) async fn links(conn: &mut Conn, rows: &[TaskRow]) -> StoreResult<Vec<Link>> {
    sqlx::query_as(&LINKS)
        .bind(d::ids(rows.iter().map(|r| r.id)))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)
}

/// Tasks from their rows and their `LINKS` rows, each task's assignees and labels in id order.
pub(crate) fn link(rows: Vec<TaskRow>, mut links: Vec<Link>) -> StoreResult<Vec<Task>> {
    links.sort_unstable();
    rows.into_iter()
        .map(|row| {
            let start = links.partition_point(|(t, ..)| *t < row.id);
            let end = links.partition_point(|(t, ..)| *t <= row.id);
            // Sorted, a task's assignees (`is_label` false) come before its labels.
            let of_task = &links[start..end];
            let (assignees, labels) =
                of_task.split_at(of_task.partition_point(|(_, is_label, _)| !is_label));
            row.into_task(
                assignees.iter().map(|(.., u)| UserId(*u)).collect(),
                labels.iter().map(|(.., l)| LabelId(*l)).collect(),
            )
        })
        .collect()
}

/// The rows of a live task by its project's key (`$1`) and number (`$2`).
static BY_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE p.key = $1 AND t.number = $2 AND {LIVE}"
    )
});

/// A live task (`LinkedTaskRow`) by its project's key (`$1`) and number (`$2`).
pub(crate) static TASK_BY_KEY: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} {}", *LINKED_COLUMNS, *BY_KEY));

/// `TASK_BY_KEY` with its project and the role of a user (`$3`) in it (`TaskRoleRow`).
pub(crate) static TASK_WITH_ROLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {}, {PROJECT_OF_TASK_COLUMNS}, {} {}",
        *LINKED_COLUMNS,
        role_of_user(3),
        *BY_KEY
    )
});

/// Names for an answer, a row `(kind, id, number, a, b)` each: people (kind 0, `a` the
/// username, `b` the display name) by the ids in `$1`, the labels of the projects in `$2`
/// (kind 1, `number` the project, `a` the name, `b` the colour), tasks by the ids in `$3`
/// (kind 2, `a` the project key); each list without repeats. The lists drive joins rather
/// than `IN`, which SQLite would copy into a temporary index on every run.
pub(crate) static NAMES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT 0, u.id, 0, u.username, u.display_name FROM ({users}) i \
           JOIN users u ON u.id = i.id \
         UNION ALL \
         SELECT 1, l.id, l.project_id, l.name, l.colour FROM ({projects}) i \
           JOIN labels l ON l.project_id = i.id \
         UNION ALL \
         SELECT 2, t.id, t.number, p.key, '' FROM ({tasks}) i \
           JOIN tasks t ON t.id = i.id JOIN projects p ON p.id = t.project_id",
        users = d::id_rows(1),
        projects = d::id_rows(2),
        tasks = d::id_rows(3),
    )
});

/// Per task of the ids in `$1`: its live subtasks, those closed, its live comments and
/// attachments; each an index range (`tasks_by_parent`, `comments_task`, `attachments_task`).
static TASK_COUNTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT i.id, \
           (SELECT count(*) FROM tasks s WHERE s.parent_id = i.id AND s.deleted_at IS NULL), \
           (SELECT count(*) FROM tasks s JOIN statuses st ON st.id = s.status_id \
              WHERE s.parent_id = i.id AND s.deleted_at IS NULL \
                AND st.category IN ('completed', 'cancelled')), \
           (SELECT count(*) FROM comments c WHERE c.task_id = i.id AND c.deleted_at IS NULL), \
           (SELECT count(*) FROM attachments a WHERE a.task_id = i.id AND a.deleted_at IS NULL) \
         FROM ({}) i",
        d::id_rows(1)
    )
});

/// A row of `NAMES`.
pub(crate) type NameRow = (i32, i64, i64, String, String);

/// The rows of a live task by id (`$1`).
static BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = $1 AND {LIVE}")
});

/// A live task (`LinkedTaskRow`) by id (`$1`).
static TASK_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} {}", *LINKED_COLUMNS, *BY_ID));

/// A live task (`TaskRow`) by id (`$1`), its row locked until the transaction ends.
static TASK_BY_ID_LOCKED: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {TASK_COLUMNS} {}{}", *BY_ID, d::for_update("t")));

/// A live task; with `lock`, its row stays locked until the transaction ends.
async fn fetch_task(conn: &mut Conn, id: TaskId, lock: bool) -> StoreResult<Task> {
    if !lock {
        // One statement. A locked read takes two: under PostgreSQL's read committed, a row
        // lock waited for would return the task's newest version with links read from the
        // statement's older snapshot; the second statement reads them after the lock.
        let row: LinkedTaskRow = sqlx::query_as(&TASK_BY_ID)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or(StoreError::not_found("task"))?;
        return row.into_task();
    }
    let row: TaskRow = sqlx::query_as(&TASK_BY_ID_LOCKED)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("task"))?;
    Ok(assemble(conn, vec![row]).await?.remove(0))
}

fn check_version(task: &Task, expected: Option<i64>) -> StoreResult<()> {
    match expected {
        Some(v) if v != task.version => Err(StoreError::VersionMismatch {
            current: task.version,
        }),
        _ => Ok(()),
    }
}

/// The first of `ids` that `column` of `table` does not hold for `project` (of the rows of
/// `table` whose `project_id` is it).
async fn first_outside(
    conn: &mut Conn,
    table: &str,
    column: &str,
    project: ProjectId,
    ids: &[i64],
) -> StoreResult<Option<i64>> {
    if ids.is_empty() {
        return Ok(None);
    }
    let inside: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT {column} FROM {table} WHERE project_id = $1 AND {column} IN ({})",
        d::id_rows(2)
    ))
    .bind(project.0)
    .bind(d::ids(ids.iter().copied()))
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(ids.iter().copied().find(|id| !inside.contains(id)))
}

/// Labels must belong to the task's project.
async fn check_labels(conn: &mut Conn, project: ProjectId, labels: &[LabelId]) -> StoreResult<()> {
    let ids: Vec<i64> = labels.iter().map(|l| l.0).collect();
    match first_outside(conn, "labels", "id", project, &ids).await? {
        // The server names labels before it asks; a label deleted meanwhile ends here.
        Some(_) => Err(StoreError::invalid(
            "labels",
            "a label given is no longer in this project",
        )),
        None => Ok(()),
    }
}

/// Assignees must be members of the task's project.
async fn check_assignees(conn: &mut Conn, project: ProjectId, users: &[UserId]) -> StoreResult<()> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    match first_outside(conn, "project_members", "user_id", project, &ids).await? {
        // The server checks membership by name before it asks; one removed meanwhile ends here.
        Some(_) => Err(StoreError::invalid(
            "assignees",
            "someone assigned is no longer a member of this project",
        )),
        None => Ok(()),
    }
}

/// A parent must be a live task of the same project, and not the task itself or one of its
/// subtasks. The caller holds the project's lock, so trees cannot change underneath.
async fn check_parent(
    conn: &mut Conn,
    project: ProjectId,
    task: Option<TaskId>,
    parent: TaskId,
) -> StoreResult<()> {
    let parent_project: Option<i64> =
        sqlx::query_scalar("SELECT project_id FROM tasks WHERE id = $1 AND deleted_at IS NULL")
            .bind(parent.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if parent_project != Some(project.0) {
        return Err(StoreError::invalid(
            "parent_id",
            "the parent task is not a live task of this project",
        ));
    }
    let Some(task) = task else { return Ok(()) };
    let cycle: bool = sqlx::query_scalar(
        "WITH RECURSIVE ancestors(id, parent_id) AS ( \
             SELECT id, parent_id FROM tasks WHERE id = $1 \
             UNION SELECT t.id, t.parent_id FROM tasks t JOIN ancestors a ON t.id = a.parent_id) \
         SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = $2)",
    )
    .bind(parent.0)
    .bind(task.0)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    if cycle {
        Err(StoreError::Cycle)
    } else {
        Ok(())
    }
}

async fn set_assignees(conn: &mut Conn, task: TaskId, users: &[UserId]) -> StoreResult<()> {
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    replace_links(conn, "task_assignees", "user_id", task, &ids).await
}

async fn set_labels(conn: &mut Conn, task: TaskId, labels: &[LabelId]) -> StoreResult<()> {
    let ids: Vec<i64> = labels.iter().map(|l| l.0).collect();
    replace_links(conn, "task_labels", "label_id", task, &ids).await
}

/// Makes the rows of link `table` for `task` exactly `ids` (in its `column`).
async fn replace_links(
    conn: &mut Conn,
    table: &str,
    column: &str,
    task: TaskId,
    ids: &[i64],
) -> StoreResult<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE task_id = $1"))
        .bind(task.0)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    add_links(conn, table, column, task, ids).await
}

/// Adds rows of link `table` for `task` with `ids` (in its `column`).
async fn add_links(
    conn: &mut Conn,
    table: &str,
    column: &str,
    task: TaskId,
    ids: &[i64],
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "INSERT INTO {table} (task_id, {column}) SELECT $1, id FROM ({}) AS ids",
        d::id_rows(2)
    ))
    .bind(task.0)
    .bind(d::ids(ids.iter().copied()))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The position after every live task in the project: where new and re-filed tasks go.
async fn bottom_position(conn: &mut Conn, project: ProjectId) -> StoreResult<i64> {
    let max: Option<i64> = sqlx::query_scalar(
        "SELECT max(position) FROM tasks WHERE project_id = $1 AND deleted_at IS NULL",
    )
    .bind(project.0)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(max.map_or(0, |m| m + POSITION_STEP))
}

/// The neighbours a moved task would land between in `status`'s column.
async fn neighbours(
    conn: &mut Conn,
    task: &Task,
    status: &TaskStatus,
    placement: Placement,
) -> StoreResult<(Option<i64>, Option<i64>)> {
    let column = "project_id = $1 AND status_id = $2 AND deleted_at IS NULL AND id <> $3";
    let edge = |order: &str| {
        format!(
            "SELECT position FROM tasks WHERE {column} ORDER BY position {order}, id {order} LIMIT 1"
        )
    };
    match placement {
        Placement::Top => {
            let next = column_edge(conn, task, status, &edge("ASC")).await?;
            Ok((None, next))
        }
        Placement::Bottom => {
            let prev = column_edge(conn, task, status, &edge("DESC")).await?;
            Ok((prev, None))
        }
        Placement::Before(anchor) | Placement::After(anchor) => {
            let position: i64 = sqlx::query_scalar(&format!(
                "SELECT position FROM tasks WHERE {column} AND id = $4"
            ))
            .bind(task.project_id.0)
            .bind(status.id.0)
            .bind(task.id.0)
            .bind(anchor.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or_else(|| {
                StoreError::invalid(
                    "placement",
                    format!(
                        "the task to place it by is not another task in the {} column",
                        status.name
                    ),
                )
            })?;
            if matches!(placement, Placement::Before(_)) {
                let prev = column_edge(
                    conn,
                    task,
                    status,
                    &format!("SELECT position FROM tasks WHERE {column} AND position < {position} ORDER BY position DESC, id DESC LIMIT 1"),
                )
                .await?;
                Ok((prev, Some(position)))
            } else {
                let next = column_edge(
                    conn,
                    task,
                    status,
                    &format!("SELECT position FROM tasks WHERE {column} AND position > {position} ORDER BY position ASC, id ASC LIMIT 1"),
                )
                .await?;
                Ok((Some(position), next))
            }
        }
    }
}

async fn column_edge(
    conn: &mut Conn,
    task: &Task,
    status: &TaskStatus,
    sql: &str,
) -> StoreResult<Option<i64>> {
    sqlx::query_scalar(sql)
        .bind(task.project_id.0)
        .bind(status.id.0)
        .bind(task.id.0)
        .fetch_optional(conn)
        .await
        .map_err(db)
}

/// Spreads a column's positions `POSITION_STEP` apart again, keeping its order.
async fn renumber_column(
    conn: &mut Conn,
    project: ProjectId,
    status: &TaskStatus,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE tasks SET position = r.rn * $3 FROM ( \
             SELECT id, row_number() OVER (ORDER BY position, id) AS rn FROM tasks \
             WHERE project_id = $1 AND status_id = $2 AND deleted_at IS NULL) AS r \
         WHERE tasks.id = r.id",
    )
    .bind(project.0)
    .bind(status.id.0)
    .bind(POSITION_STEP)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

fn dedup<T: Ord + Copy>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

#[async_trait]
impl TaskStore for Store {
    async fn create_task(
        &self,
        actor: UserId,
        project: ProjectId,
        new: NewTask,
    ) -> StoreResult<Task> {
        self.create_task_with_labels(actor, project, new, Vec::new())
            .await
    }

    async fn create_task_with_labels(
        &self,
        actor: UserId,
        project: ProjectId,
        mut new: NewTask,
        new_labels: Vec<taskflow_core::project::NewLabel>,
    ) -> StoreResult<Task> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let once = super::admin::Once::check(&mut tx, actor, "task").await?;
        // Taking the number locks the project row (a write on either backend): concurrent
        // creators queue here, and a rolled-back creation gives its number back, so numbers
        // stay gap-free. The same statement tells whether the project may change.
        let (number, key, archived): (i64, String, bool) = sqlx::query_as(
            "UPDATE projects SET next_task_number = next_task_number + 1 \
             WHERE id = $1 AND deleted_at IS NULL \
             RETURNING next_task_number - 1 AS number, key, archived",
        )
        .bind(project.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("project"))?;
        if archived {
            return Err(super::projects::archived());
        }
        for label in new_labels {
            new.labels
                .push(super::labels::insert_label(&mut tx, project, &label).await?);
        }
        let labels = dedup(&new.labels);
        let assignees = dedup(&new.assignees);
        check_labels(&mut tx, project, &labels).await?;
        check_assignees(&mut tx, project, &assignees).await?;
        if let Some(parent) = new.parent_id {
            check_parent(&mut tx, project, None, parent).await?;
        }
        let status = match new.status {
            Some(id) => status_in(&mut tx, project, id).await?.id,
            None => default_status(&mut tx, project).await?,
        };
        let position = bottom_position(&mut tx, project).await?;
        // The new row as stored, with its project's key: the answer needs no second read.
        let row: TaskRow = sqlx::query_as(&INSERT_TASK)
            .bind(project.0)
            .bind(number)
            .bind(new.title.as_str())
            .bind(new.description.as_str())
            .bind(status.0)
            .bind(position)
            .bind(new.priority.rank())
            .bind(new.due_date)
            .bind(new.parent_id.map(|p| p.0))
            .bind(actor.0)
            .bind(d::time(now))
            .bind(key)
            .bind(new.estimate.map(|e| i64::from(e.minutes())))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let id = TaskId(row.id);
        failpoint("task-create").await;
        let user_ids: Vec<i64> = assignees.iter().map(|u| u.0).collect();
        add_links(&mut tx, "task_assignees", "user_id", id, &user_ids).await?;
        let label_ids: Vec<i64> = labels.iter().map(|l| l.0).collect();
        add_links(&mut tx, "task_labels", "label_id", id, &label_ids).await?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(project, Some(id), ActivityKind::TaskCreated)
                .change(None, Some(new.title.to_string())),
        )
        .await?;
        let task = row.into_task(assignees, labels)?;
        once.made(&mut tx, id.0).await?;
        commit(tx).await?;
        Ok(task)
    }

    async fn task(&self, id: TaskId) -> StoreResult<Task> {
        let mut conn = self.read().await?;
        let task = fetch_task(&mut conn, id, false).await;
        conn.done(task)
    }

    async fn task_by_key(&self, key: &TaskKey) -> StoreResult<Task> {
        let row = match self.direct_task_by_key(key.project.as_str(), key.number) {
            Some(row) => row?,
            None => {
                let mut conn = self.read().await?;
                let row = sqlx::query_as(&TASK_BY_KEY)
                    .bind(key.project.as_str())
                    .bind(key.number)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(row)?
            }
        };
        let row: LinkedTaskRow = row.ok_or(StoreError::not_found("task"))?;
        row.into_task()
    }

    async fn task_with_role(
        &self,
        key: &TaskKey,
        user: UserId,
    ) -> StoreResult<Option<(Task, Project, Option<Role>)>> {
        let row = match self.direct_task_with_role(key.project.as_str(), key.number, user.0) {
            Some(row) => row?,
            None => {
                let mut conn = self.read().await?;
                let row = sqlx::query_as(&TASK_WITH_ROLE)
                    .bind(key.project.as_str())
                    .bind(key.number)
                    .bind(user.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(row)?
            }
        };
        row.map(|row: TaskRoleRow| row.try_into()).transpose()
    }

    async fn assigned_tasks(
        &self,
        user: UserId,
        include_done: bool,
        every_project: bool,
        limit: u32,
    ) -> StoreResult<Vec<Task>> {
        let limit = TaskQuery::check_limit(limit)?;
        let mut conn = self.reader().acquire().await.map_err(db)?;
        // From the user's assignments (task_assignees_user), so the cost follows what they
        // are assigned, not the size of the projects.
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM task_assignees a \
             JOIN tasks t ON t.id = a.task_id JOIN projects p ON p.id = t.project_id \
             WHERE a.user_id = $1 AND {LIVE} AND ($2 OR {OPEN}) \
               AND ($3 OR EXISTS (SELECT 1 FROM project_members m \
                                  WHERE m.project_id = t.project_id AND m.user_id = $1)) \
             ORDER BY t.due_date IS NULL, t.due_date, t.updated_at DESC, t.id \
             LIMIT $4"
        ))
        .bind(user.0)
        .bind(include_done)
        .bind(every_project)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        assemble(&mut conn, rows).await
    }

    async fn names(
        &self,
        users: &[UserId],
        label_projects: &[ProjectId],
        tasks: &[TaskId],
    ) -> StoreResult<taskflow_core::store::NameLookup> {
        use super::rows::corrupt;
        use taskflow_core::project::{Colour, Label};
        use taskflow_core::text::{DisplayName, LabelName};
        use taskflow_core::user::Username;
        let users = d::ids(users.iter().map(|id| id.0));
        let label_projects = d::ids(label_projects.iter().map(|id| id.0));
        let tasks = d::ids(tasks.iter().map(|id| id.0));
        let rows: Vec<NameRow> = match self.direct_names(&users, &label_projects, &tasks) {
            Some(rows) => rows?,
            None => {
                let mut conn = self.read().await?;
                let rows = sqlx::query_as(&NAMES)
                    .bind(users)
                    .bind(label_projects)
                    .bind(tasks)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(rows)?
            }
        };
        let mut names = taskflow_core::store::NameLookup::default();
        for (kind, id, number, a, b) in rows {
            match kind {
                0 => names.people.push((
                    UserId(id),
                    Username::parse(a).map_err(corrupt)?,
                    DisplayName::parse(b).map_err(corrupt)?,
                )),
                1 => names.labels.push(Label {
                    id: LabelId(id),
                    project_id: ProjectId(number),
                    name: LabelName::parse(a).map_err(corrupt)?,
                    colour: Colour::parse(&b).map_err(corrupt)?,
                }),
                _ => names.tasks.push((
                    TaskId(id),
                    TaskKey {
                        project: ProjectKey::parse(&a).map_err(corrupt)?,
                        number,
                    },
                )),
            }
        }
        Ok(names)
    }

    async fn update_task(
        &self,
        actor: UserId,
        id: TaskId,
        patch: TaskPatch,
        expected_version: Option<i64>,
    ) -> StoreResult<Task> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let current = fetch_task(&mut tx, id, true).await?;
        check_version(&current, expected_version)?;
        let (mut next, changes) = apply_patch(&current, &patch);
        if changes.is_empty() {
            return Ok(current);
        }
        let project = current.project_id;
        if next.labels != current.labels {
            check_labels(&mut tx, project, &next.labels).await?;
        }
        if next.assignees != current.assignees {
            check_assignees(&mut tx, project, &next.assignees).await?;
        }
        let mut position = current.position;
        // A new parent or column needs the project locked (trees and columns cannot change
        // underneath); any change needs it writable.
        let relocating = next.parent_id != current.parent_id || next.status.id != current.status.id;
        writable_project(&mut tx, project, relocating).await?;
        if next.status.id != current.status.id {
            next.status = status_in(&mut tx, project, next.status.id).await?;
        }
        if let Some(parent) = next
            .parent_id
            .filter(|_| next.parent_id != current.parent_id)
        {
            check_parent(&mut tx, project, Some(id), parent).await?;
        }
        if next.status.id != current.status.id {
            position = bottom_position(&mut tx, project).await?;
        }
        sqlx::query(
            "UPDATE tasks SET title = $2, description = $3, status_id = $4, position = $5, priority = $6, \
               due_date = $7, parent_id = $8, updated_at = $9, estimate = $10, \
               version = version + 1 WHERE id = $1",
        )
        .bind(id.0)
        .bind(next.title.as_str())
        .bind(next.description.as_str())
        .bind(next.status.id.0)
        .bind(position)
        .bind(next.priority.rank())
        .bind(next.due_date)
        .bind(next.parent_id.map(|p| p.0))
        .bind(d::time(now))
        .bind(next.estimate.map(|e| i64::from(e.minutes())))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if next.assignees != current.assignees {
            set_assignees(&mut tx, id, &next.assignees).await?;
        }
        if next.labels != current.labels {
            set_labels(&mut tx, id, &next.labels).await?;
        }
        for change in changes {
            record(
                &mut tx,
                Some(actor),
                now,
                NewActivity::new(project, Some(id), ActivityKind::TaskUpdated)
                    .field(change.field.name())
                    .change(change.old, change.new),
            )
            .await?;
        }
        let task = fetch_task(&mut tx, id, false).await?;
        commit(tx).await?;
        Ok(task)
    }

    async fn move_task(
        &self,
        actor: UserId,
        id: TaskId,
        to: TaskMove,
        expected_version: Option<i64>,
    ) -> StoreResult<Task> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let current = fetch_task(&mut tx, id, true).await?;
        check_version(&current, expected_version)?;
        // Board moves in a project are serialised, so two moves never pick the same slot.
        writable_project(&mut tx, current.project_id, true).await?;
        let status = status_in(&mut tx, current.project_id, to.status).await?;
        let (prev, next) = neighbours(&mut tx, &current, &status, to.placement).await?;
        let position = match position_between(prev, next) {
            Some(p) => p,
            None => {
                renumber_column(&mut tx, current.project_id, &status).await?;
                let (prev, next) = neighbours(&mut tx, &current, &status, to.placement).await?;
                position_between(prev, next).ok_or_else(|| {
                    StoreError::Backend("no free board position after renumbering".into())
                })?
            }
        };
        sqlx::query(
            "UPDATE tasks SET status_id = $2, position = $3, updated_at = $4, version = version + 1 WHERE id = $1",
        )
        .bind(id.0)
        .bind(status.id.0)
        .bind(position)
        .bind(d::time(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(current.project_id, Some(id), ActivityKind::TaskMoved)
                .field("status")
                .change(
                    Some(current.status.name.to_string()),
                    Some(status.name.to_string()),
                ),
        )
        .await?;
        let task = fetch_task(&mut tx, id, false).await?;
        commit(tx).await?;
        Ok(task)
    }

    async fn delete_task(
        &self,
        actor: UserId,
        id: TaskId,
        expected_version: Option<i64>,
    ) -> StoreResult<()> {
        let now = Timestamp::now();
        let mut tx = self.write().await?;
        let current = fetch_task(&mut tx, id, true).await?;
        check_version(&current, expected_version)?;
        writable_project(&mut tx, current.project_id, true).await?;
        // The task and its live subtasks go to the trash together, with one time, so a
        // restore brings back exactly this group.
        sqlx::query(
            "WITH RECURSIVE tree(id) AS ( \
                 SELECT CAST($1 AS BIGINT) \
                 UNION SELECT t.id FROM tasks t JOIN tree ON t.parent_id = tree.id WHERE t.deleted_at IS NULL) \
             UPDATE tasks SET deleted_at = $2 WHERE id IN (SELECT id FROM tree)",
        )
        .bind(id.0)
        .bind(d::time(now))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        record(
            &mut tx,
            Some(actor),
            now,
            NewActivity::new(current.project_id, Some(id), ActivityKind::Trashed)
                .field("task")
                .change(Some(current.key().to_string()), None),
        )
        .await?;
        commit(tx).await
    }

    async fn list_tasks(&self, project: ProjectId, query: &TaskQuery) -> StoreResult<Page<Task>> {
        let limit = TaskQuery::check_limit(query.limit)?;
        let (mut rows, links) = listing::page(self, project, query, i64::from(limit) + 1).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let items = link(rows, links)?;
        let next = more
            .then(|| items.last().map(|t| Cursor::after(query.sort, t).encode()))
            .flatten();
        Ok(Page { items, next })
    }

    async fn estimate_totals(&self, project: ProjectId) -> StoreResult<Vec<(StatusId, u64)>> {
        per_status(
            self,
            "SELECT status_id, CAST(SUM(estimate) AS BIGINT) FROM tasks \
             WHERE project_id = $1 AND deleted_at IS NULL AND estimate IS NOT NULL \
             GROUP BY status_id",
            project,
        )
        .await
    }

    async fn task_counts(&self, tasks: &[TaskId]) -> StoreResult<Vec<TaskCounts>> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.read().await?;
        let rows: Result<Vec<(i64, i64, i64, i64, i64)>, _> = sqlx::query_as(&TASK_COUNTS)
            .bind(d::ids(tasks.iter().map(|t| t.0)))
            .fetch_all(&mut *conn)
            .await
            .map_err(db);
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(conn
            .done(rows)?
            .into_iter()
            .map(
                |(task, subtasks, closed, comments, attachments)| TaskCounts {
                    task: TaskId(task),
                    subtasks: count(subtasks),
                    subtasks_closed: count(closed),
                    comments: count(comments),
                    attachments: count(attachments),
                },
            )
            .collect())
    }
}

/// A number per status of `project`, as `sql` (binding the project as `$1`) answers them.
async fn per_status(
    store: &Store,
    sql: &str,
    project: ProjectId,
) -> StoreResult<Vec<(StatusId, u64)>> {
    let mut conn = store.read().await?;
    let rows: Result<Vec<(i64, i64)>, _> = sqlx::query_as(sql)
        .bind(project.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(db);
    Ok(conn
        .done(rows)?
        .into_iter()
        .map(|(status, n)| (StatusId(status), u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Whether the project `$1` is live. A listing reads only a live project's tasks, so only an
/// empty page can be a trashed (or unknown) project's, and only then is this asked.
pub(crate) const PROJECT_LIVE: &str =
    "SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1 AND deleted_at IS NULL)";

/// Where a listing's SQL is written: sqlx's query builder, or (on SQLite) a statement for a
/// direct connection.
pub(crate) trait Sink {
    fn sql(&mut self, text: &str) -> &mut Self;
    fn int(&mut self, value: i64) -> &mut Self;
    // Only SQLite's search binds text (its FTS5 query).
    #[allow(dead_code)]
    fn text(&mut self, value: String) -> &mut Self;
    fn date(&mut self, value: time::Date) -> &mut Self;
}

impl Sink for QueryBuilder<'static, d::Db> {
    fn sql(&mut self, text: &str) -> &mut Self {
        self.push(text)
    }
    fn int(&mut self, value: i64) -> &mut Self {
        self.push_bind(value)
    }
    fn text(&mut self, value: String) -> &mut Self {
        self.push_bind(value)
    }
    fn date(&mut self, value: time::Date) -> &mut Self {
        self.push_bind(value)
    }
}

/// Pushes a listing's select and every filter but text search (which each backend's listing
/// does its own way): a project's live tasks, by status, assignee, label, due date and parent.
pub(crate) fn push_filtered(q: &mut impl Sink, project: ProjectId, f: &TaskFilter) {
    // `CROSS JOIN` keeps the tasks as SQLite's outer loop, so it reads them in the order of
    // the sort key's index and stops at the limit. Left to choose, once ANALYZE has found a
    // project holding most tasks it scanned and sorted them all for every page (five times
    // slower at a thousand tasks). PostgreSQL plans it as the inner join it is.
    q.sql(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks t CROSS JOIN projects p \
         WHERE p.id = t.project_id AND {LIVE} AND t.project_id = "
    ))
    .int(project.0);
    if let Some((first, rest)) = f.statuses.split_first() {
        q.sql(" AND t.status_id IN (").int(first.0);
        for status in rest {
            q.sql(", ").int(status.0);
        }
        q.sql(")");
    }
    if let Some(user) = f.assignee {
        q.sql(
            " AND EXISTS (SELECT 1 FROM task_assignees a WHERE a.task_id = t.id AND a.user_id = ",
        )
        .int(user.0)
        .sql(")");
    }
    if let Some(label) = f.label {
        q.sql(" AND EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id AND l.label_id = ")
            .int(label.0)
            .sql(")");
    }
    if let Some(before) = f.due_before {
        q.sql(" AND t.due_date < ").date(before);
    }
    if let Some(after) = f.due_after {
        q.sql(" AND t.due_date > ").date(after);
    }
    match f.parent {
        Some(ParentFilter::TopLevel) => {
            q.sql(" AND t.parent_id IS NULL");
        }
        Some(ParentFilter::Of(parent)) => {
            q.sql(" AND t.parent_id = ").int(parent.0);
        }
        None => {}
    }
}
