//! Rows as the database returns them, and their conversion into domain types. A stored value
//! that fails validation is reported as a backend error, never passed on.

use std::fmt::Display;

use sqlx::FromRow;
use taskflow_core::activity::{ActivityEntry, ActivityKind};
use taskflow_core::attachment::{Attachment, FileName, MediaType, Sha256Hex};
use taskflow_core::comment::Comment;
use taskflow_core::project::{Colour, Label, Member, Project, ProjectKey, Role};
use taskflow_core::task::{Estimate, Priority, Task};
use taskflow_core::text::{
    CommentBody, DisplayName, LabelName, Markdown, ProjectName, StatusName, TaskTitle, TokenName,
};
use taskflow_core::user::{ApiToken, PasswordHash, Session, User, Username};
use taskflow_core::workflow::{Category, Status, TaskStatus, WipLimit};
use taskflow_core::*;
use time::Date;

use super::d::{self, Time};

pub(crate) fn corrupt(err: impl Display) -> StoreError {
    StoreError::Backend(format!("stored data failed validation: {err}").into())
}

pub(crate) fn ts(at: Time) -> Timestamp {
    d::timestamp(at)
}

fn ts_opt(at: Option<Time>) -> Option<Timestamp> {
    at.map(ts)
}

#[derive(FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) password_hash: String,
    pub(crate) is_admin: bool,
    pub(crate) is_disabled: bool,
    pub(crate) created_at: Time,
    pub(crate) updated_at: Time,
    pub(crate) time_zone: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> StoreResult<User> {
        Ok(User {
            id: UserId(r.id),
            username: Username::parse(r.username).map_err(corrupt)?,
            display_name: DisplayName::parse(r.display_name).map_err(corrupt)?,
            password_hash: PasswordHash::from_stored(r.password_hash),
            is_admin: r.is_admin,
            is_disabled: r.is_disabled,
            time_zone: r
                .time_zone
                .map(taskflow_core::text::TimeZoneName::parse)
                .transpose()
                .map_err(corrupt)?,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    user_id: i64,
    name: String,
    created_at: Time,
    expires_at: Option<Time>,
    last_used_at: Option<Time>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> StoreResult<ApiToken> {
        Ok(ApiToken {
            id: TokenId(r.id),
            user_id: UserId(r.user_id),
            name: TokenName::parse(r.name).map_err(corrupt)?,
            created_at: ts(r.created_at),
            expires_at: ts_opt(r.expires_at),
            last_used_at: ts_opt(r.last_used_at),
        })
    }
}

/// A token with the user it belongs to, as one query finds them.
#[derive(FromRow)]
pub(crate) struct TokenUserRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) token_id: i64,
    pub(crate) token_name: String,
    pub(crate) token_created_at: Time,
    pub(crate) token_expires_at: Option<Time>,
    pub(crate) token_last_used_at: Option<Time>,
}

impl TryFrom<TokenUserRow> for (User, ApiToken) {
    type Error = StoreError;
    fn try_from(r: TokenUserRow) -> StoreResult<(User, ApiToken)> {
        let token = ApiToken {
            id: TokenId(r.token_id),
            user_id: UserId(r.user.id),
            name: TokenName::parse(r.token_name).map_err(corrupt)?,
            created_at: ts(r.token_created_at),
            expires_at: ts_opt(r.token_expires_at),
            last_used_at: ts_opt(r.token_last_used_at),
        };
        Ok((r.user.try_into()?, token))
    }
}

#[derive(FromRow)]
pub(crate) struct ProjectRow {
    pub(crate) id: i64,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) archived: bool,
    pub(crate) created_at: Time,
    pub(crate) updated_at: Time,
    pub(crate) deleted_at: Option<Time>,
}

impl TryFrom<ProjectRow> for Project {
    type Error = StoreError;
    fn try_from(r: ProjectRow) -> StoreResult<Project> {
        Ok(Project {
            id: ProjectId(r.id),
            key: ProjectKey::try_from(r.key).map_err(corrupt)?,
            name: ProjectName::parse(r.name).map_err(corrupt)?,
            description: Markdown::parse(r.description).map_err(corrupt)?,
            archived: r.archived,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
            deleted_at: ts_opt(r.deleted_at),
        })
    }
}

/// A project with the caller's role in it, if any.
#[derive(FromRow)]
pub(crate) struct ProjectRoleRow {
    #[sqlx(flatten)]
    pub(crate) project: ProjectRow,
    pub(crate) role: Option<String>,
}

impl TryFrom<ProjectRoleRow> for (Project, Option<Role>) {
    type Error = StoreError;
    fn try_from(r: ProjectRoleRow) -> StoreResult<(Project, Option<Role>)> {
        let role = r
            .role
            .map(|role| Role::parse(&role).map_err(corrupt))
            .transpose()?;
        Ok((r.project.try_into()?, role))
    }
}

#[derive(FromRow)]
pub(crate) struct MemberRow {
    project_id: i64,
    user_id: i64,
    username: String,
    role: String,
    added_at: Time,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> StoreResult<Member> {
        Ok(Member {
            project_id: ProjectId(r.project_id),
            user_id: UserId(r.user_id),
            username: Username::parse(r.username).map_err(corrupt)?,
            role: Role::parse(&r.role).map_err(corrupt)?,
            added_at: ts(r.added_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct LabelRow {
    id: i64,
    project_id: i64,
    name: String,
    colour: String,
}

impl TryFrom<LabelRow> for Label {
    type Error = StoreError;
    fn try_from(r: LabelRow) -> StoreResult<Label> {
        Ok(Label {
            id: LabelId(r.id),
            project_id: ProjectId(r.project_id),
            name: LabelName::parse(r.name).map_err(corrupt)?,
            colour: Colour::parse(r.colour).map_err(corrupt)?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct StatusRow {
    id: i64,
    project_id: i64,
    name: String,
    colour: String,
    category: String,
    position: i64,
    wip_limit: Option<i64>,
    live_tasks: i64,
}

/// The columns `StatusRow` reads.
pub(crate) const STATUS_COLUMNS: &str =
    "id, project_id, name, colour, category, position, wip_limit, live_tasks";

impl TryFrom<StatusRow> for Status {
    type Error = StoreError;
    fn try_from(r: StatusRow) -> StoreResult<Status> {
        Ok(Status {
            id: StatusId(r.id),
            project_id: ProjectId(r.project_id),
            name: StatusName::parse(r.name).map_err(corrupt)?,
            colour: Colour::parse(&r.colour).map_err(corrupt)?,
            category: Category::parse(&r.category).map_err(corrupt)?,
            position: r.position,
            wip_limit: r
                .wip_limit
                .map(WipLimit::new)
                .transpose()
                .map_err(corrupt)?,
            // Kept by triggers; never shown below nothing, should one drift.
            tasks: u64::try_from(r.live_tasks).unwrap_or(0),
        })
    }
}

/// A task's columns, declared once: each is `TaskRow`'s field, its type and the SQL that reads
/// it from `tasks t JOIN projects p ON p.id = t.project_id`. `task_row!` below makes the row
/// type and `TASK_COLUMNS` of it; SQLite's direct reader (`sqlite::direct`) its positions.
/// A new column is one line here (and its line in `TaskRow::into_task`).
macro_rules! task_columns {
    ($then:ident) => {
        $then! {
            id: i64 = "t.id",
            project_id: i64 = "t.project_id",
            project_key: String = "p.key AS project_key",
            number: i64 = "t.number",
            title: String = "t.title",
            description: String = "t.description",
            status_id: i64 = "t.status_id",
            status_name: String =
                "(SELECT s.name FROM statuses s WHERE s.id = t.status_id) AS status_name",
            status_category: String =
                "(SELECT s.category FROM statuses s WHERE s.id = t.status_id) AS status_category",
            position: i64 = "t.position",
            priority: i16 = "t.priority",
            due_date: Option<Date> = "t.due_date",
            estimate: Option<i64> = "t.estimate",
            parent_id: Option<i64> = "t.parent_id",
            created_by: Option<i64> = "t.created_by",
            created_at: Time = "t.created_at",
            updated_at: Time = "t.updated_at",
            version: i64 = "t.version",
            deleted_at: Option<Time> = "t.deleted_at",
        }
    };
}
#[allow(unused_imports)] // used by SQLite's direct reader only
pub(crate) use task_columns;

macro_rules! task_row {
    ($first:ident: $first_ty:ty = $first_sql:literal
     $(, $field:ident: $ty:ty = $sql:literal)* $(,)?) => {
        #[derive(FromRow)]
        pub(crate) struct TaskRow {
            pub(crate) $first: $first_ty,
            $(pub(crate) $field: $ty,)*
        }

        /// The columns `TaskRow` reads, in its order.
        pub(crate) const TASK_COLUMNS: &str = concat!($first_sql $(, ", ", $sql)*);

        /// How many columns `TASK_COLUMNS` names.
        #[allow(dead_code)] // read by SQLite's direct connections only
        pub(crate) const TASK_COLUMN_COUNT: usize =
            [stringify!($first) $(, stringify!($field))*].len();
    };
}
task_columns!(task_row);

/// `TASK_COLUMNS` as an `INSERT … RETURNING` of `tasks` names them: unqualified, with the
/// project's key bound as `$key`.
pub(crate) fn returning_task_columns(key: &str) -> String {
    TASK_COLUMNS
        .replace("p.key AS project_key", &format!("{key} AS project_key"))
        .replace("t.", "")
}

/// A `TaskRow` with its assignees and labels, from `LINKED_COLUMNS`.
#[derive(FromRow)]
pub(crate) struct LinkedTaskRow {
    #[sqlx(flatten)]
    pub(crate) task: TaskRow,
    pub(crate) assignee_ids: d::IdList,
    pub(crate) label_ids: d::IdList,
}

/// `TASK_COLUMNS`, then the task's assignees and labels: one statement reads a whole task.
pub(crate) static LINKED_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{TASK_COLUMNS}, {} AS assignee_ids, {} AS label_ids",
        d::id_list("SELECT user_id AS id FROM task_assignees WHERE task_id = t.id"),
        d::id_list("SELECT label_id AS id FROM task_labels WHERE task_id = t.id"),
    )
});

impl LinkedTaskRow {
    pub(crate) fn into_task(self) -> StoreResult<Task> {
        let assignees = d::id_list_ids(self.assignee_ids).map_err(corrupt)?;
        let labels = d::id_list_ids(self.label_ids).map_err(corrupt)?;
        self.task.into_task(
            assignees.into_iter().map(UserId).collect(),
            labels.into_iter().map(LabelId).collect(),
        )
    }
}

/// A `LinkedTaskRow`, then its live project's other columns and a user's role in it, from
/// `LINKED_COLUMNS` and `PROJECT_OF_TASK_COLUMNS` with the role's column `role`.
#[derive(FromRow)]
pub(crate) struct TaskRoleRow {
    #[sqlx(flatten)]
    pub(crate) task: LinkedTaskRow,
    pub(crate) project_name: String,
    pub(crate) project_description: String,
    pub(crate) project_archived: bool,
    pub(crate) project_created_at: Time,
    pub(crate) project_updated_at: Time,
    pub(crate) role: Option<String>,
}

/// The columns of a task's project (`p`) that `TASK_COLUMNS` leaves out, as `TaskRoleRow`
/// names them.
pub(crate) const PROJECT_OF_TASK_COLUMNS: &str = "p.name AS project_name, \
    p.description AS project_description, p.archived AS project_archived, \
    p.created_at AS project_created_at, p.updated_at AS project_updated_at";

impl TryFrom<TaskRoleRow> for (Task, Project, Option<Role>) {
    type Error = StoreError;
    fn try_from(r: TaskRoleRow) -> StoreResult<(Task, Project, Option<Role>)> {
        let project = ProjectRow {
            id: r.task.task.project_id,
            key: r.task.task.project_key.clone(),
            name: r.project_name,
            description: r.project_description,
            archived: r.project_archived,
            created_at: r.project_created_at,
            updated_at: r.project_updated_at,
            deleted_at: None,
        };
        let (project, role) = ProjectRoleRow {
            project,
            role: r.role,
        }
        .try_into()?;
        Ok((r.task.into_task()?, project, role))
    }
}

impl TaskRow {
    pub(crate) fn into_task(
        self,
        assignees: Vec<UserId>,
        labels: Vec<LabelId>,
    ) -> StoreResult<Task> {
        Ok(Task {
            id: TaskId(self.id),
            project_id: ProjectId(self.project_id),
            project_key: ProjectKey::try_from(self.project_key).map_err(corrupt)?,
            number: self.number,
            title: TaskTitle::parse(self.title).map_err(corrupt)?,
            description: Markdown::parse(self.description).map_err(corrupt)?,
            status: TaskStatus {
                id: StatusId(self.status_id),
                name: StatusName::parse(self.status_name).map_err(corrupt)?,
                category: Category::parse(&self.status_category).map_err(corrupt)?,
            },
            position: self.position,
            priority: Priority::from_rank(self.priority.into()).map_err(corrupt)?,
            due_date: self.due_date,
            estimate: self
                .estimate
                .map(Estimate::from_minutes)
                .transpose()
                .map_err(corrupt)?,
            assignees,
            labels,
            parent_id: self.parent_id.map(TaskId),
            created_by: self.created_by.map(UserId),
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
            version: self.version,
            deleted_at: ts_opt(self.deleted_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct CommentRow {
    id: i64,
    task_id: i64,
    author_id: Option<i64>,
    body: String,
    created_at: Time,
    updated_at: Time,
    deleted_at: Option<Time>,
}

impl TryFrom<CommentRow> for Comment {
    type Error = StoreError;
    fn try_from(r: CommentRow) -> StoreResult<Comment> {
        Ok(Comment {
            id: CommentId(r.id),
            task_id: TaskId(r.task_id),
            author_id: r.author_id.map(UserId),
            body: CommentBody::parse(r.body).map_err(corrupt)?,
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
            deleted_at: ts_opt(r.deleted_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct AttachmentRow {
    id: i64,
    task_id: i64,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    uploaded_by: Option<i64>,
    created_at: Time,
    deleted_at: Option<Time>,
}

impl TryFrom<AttachmentRow> for Attachment {
    type Error = StoreError;
    fn try_from(r: AttachmentRow) -> StoreResult<Attachment> {
        Ok(Attachment {
            id: AttachmentId(r.id),
            task_id: TaskId(r.task_id),
            file_name: FileName::parse(r.file_name).map_err(corrupt)?,
            media_type: MediaType::parse(r.media_type).map_err(corrupt)?,
            size_bytes: r.size_bytes,
            sha256: Sha256Hex::parse(r.sha256).map_err(corrupt)?,
            uploaded_by: r.uploaded_by.map(UserId),
            created_at: ts(r.created_at),
            deleted_at: ts_opt(r.deleted_at),
        })
    }
}

#[derive(FromRow)]
pub(crate) struct ActivityRow {
    id: i64,
    project_id: i64,
    task_id: Option<i64>,
    actor_id: Option<i64>,
    at: Time,
    kind: String,
    field: Option<String>,
    old_value: Option<String>,
    new_value: Option<String>,
}

impl TryFrom<ActivityRow> for ActivityEntry {
    type Error = StoreError;
    fn try_from(r: ActivityRow) -> StoreResult<ActivityEntry> {
        Ok(ActivityEntry {
            id: ActivityId(r.id),
            project_id: ProjectId(r.project_id),
            task_id: r.task_id.map(TaskId),
            actor_id: r.actor_id.map(UserId),
            at: ts(r.at),
            kind: ActivityKind::parse(&r.kind).map_err(corrupt)?,
            field: r.field,
            old_value: r.old_value,
            new_value: r.new_value,
        })
    }
}

/// Converts every row, failing on the first that does not validate.
pub(crate) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> StoreResult<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

#[derive(FromRow)]
pub(crate) struct SessionRow {
    id: i64,
    user_id: i64,
    csrf_token: String,
    created_at: Time,
    expires_at: Time,
    last_seen_at: Time,
}

/// A session with the user it belongs to, as one query finds them.
#[derive(FromRow)]
pub(crate) struct SessionUserRow {
    #[sqlx(flatten)]
    pub(crate) user: UserRow,
    pub(crate) session_id: i64,
    pub(crate) session_csrf_token: String,
    pub(crate) session_created_at: Time,
    pub(crate) session_expires_at: Time,
    pub(crate) session_last_seen_at: Time,
}

impl TryFrom<SessionUserRow> for (User, Session) {
    type Error = StoreError;
    fn try_from(r: SessionUserRow) -> StoreResult<(User, Session)> {
        let session = Session {
            id: SessionId(r.session_id),
            user_id: UserId(r.user.id),
            csrf_token: r.session_csrf_token,
            created_at: ts(r.session_created_at),
            expires_at: ts(r.session_expires_at),
            last_seen_at: ts(r.session_last_seen_at),
        };
        Ok((r.user.try_into()?, session))
    }
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Session {
        Session {
            id: SessionId(r.id),
            user_id: UserId(r.user_id),
            csrf_token: r.csrf_token,
            created_at: ts(r.created_at),
            expires_at: ts(r.expires_at),
            last_seen_at: ts(r.last_seen_at),
        }
    }
}
