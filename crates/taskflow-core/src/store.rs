//! The store traits, split by aggregate so each stays small. Both backends implement all of them;
//! the HTTP layer and the CLI hold an `Arc<dyn Store>` and never name a driver.
//!
//! Conventions shared by every implementation:
//! - Reads of a single item return `NotFound` for items in the trash (or in a trashed project).
//! - Every write that changes a project's content records activity in the same transaction.
//! - Writes validate references (labels and assignees belong to the project, parents exist and
//!   form no cycle) and return a typed error without changing anything.

use async_trait::async_trait;

use crate::activity::ActivityEntry;
use crate::attachment::{Attachment, NewAttachment, ProjectUsage, Sha256Hex};
use crate::backup::{ImportCounts, ImportItem, Record};
use crate::comment::Comment;
use crate::project::{
    Label, LabelPatch, Member, NewLabel, NewProject, Project, ProjectKey, ProjectPatch, Role,
};
use crate::task::{NewTask, Page, Task, TaskKey, TaskMove, TaskPatch, TaskQuery};
use crate::text::{CommentBody, DisplayName};
use crate::trash::{PurgeCounts, TrashItem, TrashRef};
use crate::user::{
    ApiToken, LoginAttempt, LoginCounts, NewSession, NewToken, NewUser, Session, TokenHash, User,
    UserPatch, Username,
};
use crate::workflow::{NewStatus, Status, StatusPatch, Workflow};
use crate::{
    ActivityId, AttachmentId, CommentId, LabelId, ProjectId, StatusId, StoreResult, TaskId,
    Timestamp, TokenId, UserId,
};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Refuses a taken username with `Conflict`.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<User>;
    async fn user_by_username(&self, username: &Username) -> StoreResult<User>;
    /// The users with these usernames, in one query; names no user has are left out.
    async fn users_named(&self, names: &[Username]) -> StoreResult<Vec<User>>;
    /// The users with these ids, in one query; ids no user has are left out.
    async fn users_by_id(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;
    /// All users, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User>;
    async fn count_users(&self) -> StoreResult<u64>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create_token(&self, new: NewToken) -> StoreResult<ApiToken>;
    /// A user's tokens, newest first.
    async fn tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<()>;
    /// The enabled user owning an unexpired token with this hash; records the time of use.
    /// Unknown, expired and disabled all answer `NotFound`.
    async fn authenticate_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<(User, ApiToken)>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, new: NewSession) -> StoreResult<Session>;
    /// The enabled user owning an unexpired session with this hash; records the time of use.
    /// Unknown, expired and disabled all answer `NotFound`. The session's `last_seen_at` is the
    /// time of its use before this one, so a caller can tell how long it sat idle.
    async fn authenticate_session(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<(User, Session)>;
    /// Ends a session (logging out); `NotFound` if there was none.
    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;
    /// Ends every session of `user` ("sign out everywhere"); returns how many there were.
    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<u64>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    /// Counts a login attempt as a failure against the name at the address and against the
    /// address, in one transaction, before the password is checked; returns the counts with
    /// this attempt. Failures older than the window start again from one; an attempt past a
    /// limit is counted but does not move that key's window.
    async fn count_login_attempt(&self, attempt: &LoginAttempt) -> StoreResult<LoginCounts>;
    /// The attempt's password was right: forgets the name's failures at the address and takes
    /// this attempt back from the address's count.
    async fn login_succeeded(&self, username: &str, address: Option<&str>) -> StoreResult<()>;
    /// Forgets counted failures for a name (at every address), an address (under every name
    /// and its own count), or both together; returns how many counts were cleared.
    async fn clear_login_failures(
        &self,
        username: Option<&str>,
        address: Option<&str>,
    ) -> StoreResult<u64>;
    /// Deletes failure counts whose last failure was before `cutoff`; returns how many.
    async fn delete_expired_login_failures(&self, cutoff: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates the project with `actor` as its owner. Refuses a taken key with `Conflict`.
    async fn create_project(&self, actor: UserId, new: NewProject) -> StoreResult<Project>;
    async fn project(&self, id: ProjectId) -> StoreResult<Project>;
    async fn project_by_key(&self, key: &ProjectKey) -> StoreResult<Project>;
    /// The live project with this key and `user`'s role in it (`None` when not a member), in
    /// one query: every request that names a project asks both.
    async fn project_with_role(
        &self,
        key: &ProjectKey,
        user: UserId,
    ) -> StoreResult<(Project, Option<Role>)>;
    /// Projects `member` belongs to (all projects when `None`), by key; archived ones only
    /// when asked for.
    async fn list_projects(
        &self,
        member: Option<UserId>,
        include_archived: bool,
    ) -> StoreResult<Vec<Project>>;
    async fn update_project(
        &self,
        actor: UserId,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> StoreResult<Project>;
    /// Moves the project (and so everything in it) to the trash.
    async fn delete_project(&self, actor: UserId, id: ProjectId) -> StoreResult<()>;
    /// Adds a member or changes their role. Demoting the last owner is a `Conflict`.
    async fn set_member(
        &self,
        actor: UserId,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> StoreResult<Member>;
    /// Removing the last owner is a `Conflict`.
    async fn remove_member(
        &self,
        actor: UserId,
        project: ProjectId,
        user: UserId,
    ) -> StoreResult<()>;
    /// Members by username.
    async fn members(&self, project: ProjectId) -> StoreResult<Vec<Member>>;
    async fn member_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>>;
}

#[async_trait]
pub trait LabelStore: Send + Sync {
    /// Refuses a name already used in the project with `Conflict`.
    async fn create_label(&self, project: ProjectId, new: NewLabel) -> StoreResult<Label>;
    /// A project's labels, by name.
    async fn labels(&self, project: ProjectId) -> StoreResult<Vec<Label>>;
    async fn label(&self, id: LabelId) -> StoreResult<Label>;
    async fn update_label(&self, id: LabelId, patch: LabelPatch) -> StoreResult<Label>;
    /// Deletes the label and takes it off every task.
    async fn delete_label(&self, id: LabelId) -> StoreResult<()>;
}

/// The names an answer's items refer to, looked up together: people (username, display name),
/// the labels of some projects, and tasks' keys.
#[derive(Debug, Default)]
pub struct NameLookup {
    pub people: Vec<(UserId, Username, DisplayName)>,
    pub labels: Vec<Label>,
    pub tasks: Vec<(TaskId, TaskKey)>,
}

#[async_trait]
pub trait TaskStore: Send + Sync {
    /// The people `users`, every label of `label_projects` and the keys of `tasks` (trashed
    /// ones included), in one query (answers that show tasks need all three); ids that name
    /// nothing are left out.
    async fn names(
        &self,
        users: &[UserId],
        label_projects: &[ProjectId],
        tasks: &[TaskId],
    ) -> StoreResult<NameLookup>;
    /// Creates a task with the next number in its project (gap-free under concurrency),
    /// at the bottom of its status column.
    async fn create_task(
        &self,
        actor: UserId,
        project: ProjectId,
        new: NewTask,
    ) -> StoreResult<Task>;
    /// As `create_task`, first creating `labels` in the project, in the same transaction, and
    /// putting them on the task with its own: quick add's new labels. A name taken meanwhile
    /// refuses the whole (409), and nothing is created.
    async fn create_task_with_labels(
        &self,
        actor: UserId,
        project: ProjectId,
        new: NewTask,
        labels: Vec<crate::project::NewLabel>,
    ) -> StoreResult<Task>;
    async fn task(&self, id: TaskId) -> StoreResult<Task>;
    async fn task_by_key(&self, key: &TaskKey) -> StoreResult<Task>;
    /// The live task with this key, its live project and `user`'s role in the project
    /// (`None` when not a member), in one query: every request that names a task asks all
    /// three. `None` when there is no such task.
    async fn task_with_role(
        &self,
        key: &TaskKey,
        user: UserId,
    ) -> StoreResult<Option<(Task, Project, Option<Role>)>>;
    /// Live tasks assigned to `user` across projects, soonest due first (tasks without a due
    /// date last, then the most recently updated): only in projects the user is a member of,
    /// unless `every_project` (administrators); done ones only with `include_done`.
    async fn assigned_tasks(
        &self,
        user: UserId,
        include_done: bool,
        every_project: bool,
        limit: u32,
    ) -> StoreResult<Vec<Task>>;
    /// Applies the patch if `expected_version` (when given) is current, else
    /// `VersionMismatch` and nothing is written. A status change puts the task at the bottom
    /// of its new column.
    async fn update_task(
        &self,
        actor: UserId,
        id: TaskId,
        patch: TaskPatch,
        expected_version: Option<i64>,
    ) -> StoreResult<Task>;
    /// Moves a task on the board: into a status column, at a place relative to its neighbours.
    async fn move_task(
        &self,
        actor: UserId,
        id: TaskId,
        to: TaskMove,
        expected_version: Option<i64>,
    ) -> StoreResult<Task>;
    /// Moves the task and its subtasks to the trash.
    async fn delete_task(
        &self,
        actor: UserId,
        id: TaskId,
        expected_version: Option<i64>,
    ) -> StoreResult<()>;
    /// One keyset-paginated page of a project's tasks.
    async fn list_tasks(&self, project: ProjectId, query: &TaskQuery) -> StoreResult<Page<Task>>;
    /// The estimates of a project's live tasks added up per status, in minutes: only the
    /// statuses where some task has one.
    async fn estimate_totals(&self, project: ProjectId) -> StoreResult<Vec<(StatusId, u64)>>;
    /// The live subtasks, comments and attachments of each of `tasks`, in one query.
    async fn task_counts(&self, tasks: &[TaskId]) -> StoreResult<Vec<crate::task::TaskCounts>>;
}

/// A project's workflow. Every change keeps it whole (`Workflow::check`): one that would leave
/// no open or no completed status, or two statuses of one name, is refused and writes nothing.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// A project's statuses in board order.
    async fn workflow(&self, project: ProjectId) -> StoreResult<Workflow>;
    async fn create_status(
        &self,
        actor: UserId,
        project: ProjectId,
        new: NewStatus,
    ) -> StoreResult<Status>;
    async fn update_status(
        &self,
        actor: UserId,
        project: ProjectId,
        id: StatusId,
        patch: StatusPatch,
    ) -> StoreResult<Status>;
    /// Deletes a status, first moving every task in it (trashed ones too) to the bottom of
    /// `move_to`, in one transaction; answers how many moved. A status holding tasks needs
    /// `move_to`.
    async fn delete_status(
        &self,
        actor: UserId,
        project: ProjectId,
        id: StatusId,
        move_to: Option<StatusId>,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait CommentStore: Send + Sync {
    async fn add_comment(
        &self,
        actor: UserId,
        task: TaskId,
        body: CommentBody,
    ) -> StoreResult<Comment>;
    async fn comment(&self, id: CommentId) -> StoreResult<Comment>;
    /// A task's comments, oldest first.
    async fn comments(&self, task: TaskId) -> StoreResult<Vec<Comment>>;
    async fn edit_comment(
        &self,
        actor: UserId,
        id: CommentId,
        body: CommentBody,
    ) -> StoreResult<Comment>;
    async fn delete_comment(&self, actor: UserId, id: CommentId) -> StoreResult<()>;
}

#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// A task's activity, newest first, strictly before `before` when given.
    async fn task_activity(
        &self,
        task: TaskId,
        before: Option<ActivityId>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>>;
    /// A project's activity (its tasks' included), newest first.
    async fn project_activity(
        &self,
        project: ProjectId,
        before: Option<ActivityId>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>>;
}

#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Records an attachment whose bytes are already durable in the blob store.
    async fn add_attachment(&self, actor: UserId, new: NewAttachment) -> StoreResult<Attachment>;
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Attachment>;
    /// A task's attachments, oldest first.
    async fn attachments(&self, task: TaskId) -> StoreResult<Vec<Attachment>>;
    async fn delete_attachment(&self, actor: UserId, id: AttachmentId) -> StoreResult<()>;
    /// Every digest any attachment row refers to, trashed ones included: the blobs that must
    /// be kept.
    async fn referenced_blobs(&self) -> StoreResult<Vec<Sha256Hex>>;
    /// Attachment count and bytes of every project (trashed ones and trashed attachments
    /// included), by project key.
    async fn attachment_usage(&self) -> StoreResult<Vec<ProjectUsage>>;
    /// The bytes one project's attachments hold, trashed ones included: what its quota counts.
    async fn project_attachment_bytes(&self, project: ProjectId) -> StoreResult<u64>;
}

#[async_trait]
pub trait TrashStore: Send + Sync {
    /// What is in the trash, newest first; one project's, or everything when `None`.
    async fn trash(&self, project: Option<ProjectId>) -> StoreResult<Vec<TrashItem>>;
    /// Takes an item out of the trash. A task or comment whose parent is still in the trash
    /// cannot be restored on its own (`Conflict`).
    async fn restore(&self, actor: UserId, item: TrashRef) -> StoreResult<()>;
    /// Deletes a trashed item for good, with everything under it.
    async fn purge(&self, actor: UserId, item: TrashRef) -> StoreResult<PurgeCounts>;
    /// Purges everything trashed before `cutoff`.
    async fn purge_trashed_before(&self, cutoff: Timestamp) -> StoreResult<PurgeCounts>;
}

/// The whole database in the backend-neutral form of `crate::backup`, for backup archives.
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Sends every row of every table the schema has, parents first and each table in key
    /// order, all from one consistent snapshot while writers carry on.
    async fn export(&self, rows: tokio::sync::mpsc::Sender<Record>) -> StoreResult<()>;
    /// Restores rows in one transaction, committed only when `ImportItem::Commit` arrives;
    /// if the channel closes first, nothing changes. With `replace`, the existing rows are
    /// deleted in the same transaction; without it, a database holding any user or project is
    /// refused (`Conflict`).
    async fn import(
        &self,
        items: tokio::sync::mpsc::Receiver<ImportItem>,
        replace: bool,
    ) -> StoreResult<ImportCounts>;
    /// Whether the database holds any user or project.
    async fn has_data(&self) -> StoreResult<bool>;
}

/// A connection pool's state, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// A request run by `StoreAdmin::in_one_snapshot`.
pub type RequestFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Schema and connection management.
#[async_trait]
pub trait StoreAdmin: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations; a no-op when up to date.
    async fn migrate(&self) -> StoreResult<()>;
    /// Applies pending migrations up to and including `version` (restoring an older archive
    /// starts there and migrates forward afterwards).
    async fn migrate_to(&self, version: i64) -> StoreResult<()>;
    /// The newest applied migration, `None` on an empty database.
    async fn schema_version(&self) -> StoreResult<Option<i64>>;
    /// The newest migration this build knows.
    fn latest_schema_version(&self) -> i64;
    /// A cheap round trip to the database.
    async fn ping(&self) -> StoreResult<()>;
    /// Begins a write transaction and rolls it back: the database takes writes now (for
    /// SQLite, its write lock can be had and the writer connection is sound).
    async fn ping_writes(&self) -> StoreResult<()>;
    /// What the database occupies on disk (SQLite: the file and its write-ahead log;
    /// PostgreSQL: `pg_database_size`).
    async fn database_bytes(&self) -> StoreResult<u64>;
    /// Problems a quick consistency check finds; empty when healthy. SQLite runs
    /// `PRAGMA quick_check`; PostgreSQL guards its pages itself and reports nothing.
    async fn integrity_check(&self) -> StoreResult<Vec<String>>;
    /// Connections open and idle, per pool (`writer`/`reader` for SQLite, `main` for
    /// PostgreSQL), with the pool's maximum.
    fn pool_stats(&self) -> Vec<PoolStats>;
    /// The secret named `name` that every server of this installation shares: the one stored,
    /// or `candidate`, stored now, when there is none yet.
    async fn server_secret(&self, name: &str, candidate: &str) -> StoreResult<String>;
    /// Forgets the creates made with an `Idempotency-Key` before `before`; how many.
    async fn delete_expired_idempotency_keys(&self, before: Timestamp) -> StoreResult<u64>;
    /// Runs a read-only request (the server's `GET` and `HEAD`) so that its reads see one
    /// state of the database, where the backend can do that cheaply: SQLite reads the request's
    /// lookups in one read transaction, begun by its first read and ended when the request
    /// ends or writes (`sqlite::direct`). The default runs the request as it is.
    fn in_one_snapshot<'a>(&'a self, request: RequestFuture<'a>) -> RequestFuture<'a> {
        request
    }
    /// Ends the running request's snapshot, if it has one; its later reads begin another. Work
    /// that goes on for long (walking the blob store) calls it first, as a read transaction
    /// keeps SQLite from checkpointing its WAL past it.
    fn end_snapshot(&self) {}
    /// Closes the connections, waiting for in-flight work.
    async fn close(&self);
    /// Claims the database until the returned guard is dropped: shared by every serving
    /// process (waiting while an exclusive claim is held), exclusive for `restore` (`None` at
    /// once when anyone else holds a claim). PostgreSQL keeps the claim as an advisory lock on
    /// a connection of its own; SQLite's claim is the data directory's lock file, taken by the
    /// command, so the store's is empty.
    async fn claim(&self, exclusive: bool) -> StoreResult<Option<Claim>>;
    /// Whether `lock` coordinates every process using this database (PostgreSQL: advisory
    /// locks), rather than only this machine's (SQLite, whose callers use lock files).
    fn shares_locks(&self) -> bool;
    /// Takes a lock every server on this database respects, until the returned guard is
    /// dropped (or the process dies). `Lock::Gc` does not wait: `None` when another holds it.
    /// Without shared locks (`shares_locks` false) it grants at once and means nothing.
    async fn lock(&self, lock: Lock) -> StoreResult<Option<Claim>>;
}

/// The locks `StoreAdmin::lock` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Held by an upload from storing its blob until its row is committed, and by a backup
    /// while it reads blobs: nothing is deleted meanwhile.
    BlobsShared,
    /// Held by `gc` while it deletes blobs: no upload is between storing and committing.
    BlobsExclusive,
    /// Held by the one `gc` running.
    Gc,
}

/// A claim on the database (see `StoreAdmin::claim`), released when dropped.
pub struct Claim(pub Box<dyn std::any::Any + Send + Sync>);

/// Everything a Taskflow installation keeps in its database.
pub trait Store:
    UserStore
    + TokenStore
    + SessionStore
    + ProjectStore
    + LabelStore
    + WorkflowStore
    + TaskStore
    + CommentStore
    + ActivityStore
    + AttachmentStore
    + TrashStore
    + BackupStore
    + StoreAdmin
{
}

impl<T> Store for T where
    T: UserStore
        + TokenStore
        + SessionStore
        + ProjectStore
        + LabelStore
        + WorkflowStore
        + TaskStore
        + CommentStore
        + ActivityStore
        + AttachmentStore
        + TrashStore
        + BackupStore
        + StoreAdmin
{
}

/// Creates made at most once: a request sent with an `Idempotency-Key` runs its create inside
/// `with_key`; the store writes the key beside what it creates, in the same transaction, and a
/// later create by the same user under the same key (within `KEPT`) makes nothing and answers
/// `StoreError::Replayed` with the id of what the first one made.
pub mod once {
    use std::future::Future;
    use std::time::Duration;

    /// How long a key is remembered.
    pub const KEPT: Duration = Duration::from_secs(24 * 3600);

    /// A client's key for one create, and what the request asked (its method, path and body,
    /// digested): the same key with another request is refused.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Once {
        pub key: String,
        pub fingerprint: String,
    }

    tokio::task_local! {
        static ONCE: Once;
    }

    /// Runs `request` with its key.
    pub async fn with_key<F: Future>(once: Once, request: F) -> F::Output {
        ONCE.scope(once, request).await
    }

    /// The key of the request being run, if it sent one.
    pub fn current() -> Option<Once> {
        ONCE.try_with(Clone::clone).ok()
    }
}
