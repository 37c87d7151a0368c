//! What answers look like. Every reference is written as requests write it — people by
//! username (with the name they show), labels by name and colour, tasks by key — and every
//! list is one `{items, next}` shape. `Names` looks up, with one query per kind, the names the
//! items of an answer refer to.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use taskflow_core::activity::{ActivityEntry, ActivityKind};
use taskflow_core::attachment::Attachment;
use taskflow_core::comment::Comment;
use taskflow_core::project::{Member, Role};
use taskflow_core::task::{Priority, Status, Task};
use taskflow_core::trash::TrashItem;
use taskflow_core::user::User;
use taskflow_core::{LabelId, ProjectId, Store, TaskId, Timestamp, UserId};

use crate::error::ApiError;

/// A person, as requests name them.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Person {
    pub username: String,
    pub display_name: String,
}

impl From<&User> for Person {
    fn from(user: &User) -> Self {
        Self {
            username: user.username.as_str().to_owned(),
            display_name: user.display_name.as_str().to_owned(),
        }
    }
}

/// A label on a task.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct LabelRef {
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
}

impl LabelRef {
    /// The class that draws this label in its colour (from the project's `labels.css`).
    pub fn css_class(&self) -> String {
        crate::web::colour_class(&self.colour)
    }
}

/// Every list the API answers: the items, and where the next page starts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass it back (`after` for tasks, `before` for activity) for the next page; `null` on the
    /// last page and for lists that come whole.
    pub next: Option<String>,
}

impl<T> List<T> {
    /// A list that comes whole.
    pub fn all(items: Vec<T>) -> axum::Json<Self> {
        axum::Json(Self { items, next: None })
    }
}

/// The names an answer's items refer to.
#[derive(Default)]
pub struct Names {
    people: HashMap<UserId, Person>,
    labels: HashMap<LabelId, LabelRef>,
    tasks: HashMap<TaskId, String>,
}

impl Names {
    /// Looks up these users, the labels of these projects and the keys of these tasks.
    pub async fn load(
        store: &dyn Store,
        users: impl IntoIterator<Item = UserId>,
        label_projects: impl IntoIterator<Item = ProjectId>,
        tasks: impl IntoIterator<Item = TaskId>,
    ) -> Result<Self, ApiError> {
        fn distinct<T: Ord>(ids: impl IntoIterator<Item = T>) -> Vec<T> {
            ids.into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        }
        let (users, projects, tasks) = (distinct(users), distinct(label_projects), distinct(tasks));
        let mut names = Names::default();
        if users.is_empty() && projects.is_empty() && tasks.is_empty() {
            return Ok(names);
        }
        let found = store.names(&users, &projects, &tasks).await?;
        for (id, username, display_name) in found.people {
            names.people.insert(
                id,
                Person {
                    username: username.as_str().to_owned(),
                    display_name: display_name.as_str().to_owned(),
                },
            );
        }
        for label in found.labels {
            names.labels.insert(
                label.id,
                LabelRef {
                    name: label.name.as_str().to_owned(),
                    colour: label.colour.as_str().to_owned(),
                },
            );
        }
        for (id, key) in found.tasks {
            names.tasks.insert(id, key.to_string());
        }
        Ok(names)
    }

    /// A user who may since have been removed (`null` then).
    pub fn person(&self, id: Option<UserId>) -> Option<Person> {
        id.and_then(|id| self.people.get(&id).cloned())
    }

    fn people(&self, ids: &[UserId]) -> Vec<Person> {
        ids.iter()
            .filter_map(|id| self.people.get(id).cloned())
            .collect()
    }

    fn labels(&self, ids: &[LabelId]) -> Vec<LabelRef> {
        ids.iter()
            .filter_map(|id| self.labels.get(id).cloned())
            .collect()
    }

    pub fn task(&self, id: Option<TaskId>) -> Option<String> {
        id.and_then(|id| self.tasks.get(&id).cloned())
    }
}

/// A task.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskView {
    /// `OPS-42`: how paths name the task.
    pub key: String,
    pub project: String,
    pub number: i64,
    #[schema(value_type = String)]
    pub title: taskflow_core::text::TaskTitle,
    /// Markdown.
    #[schema(value_type = String)]
    pub description: taskflow_core::text::Markdown,
    pub status: Status,
    /// Order on the board within its status column, ascending.
    pub position: i64,
    pub priority: Priority,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub due_date: Option<String>,
    /// By username.
    pub assignees: Vec<Person>,
    /// By name.
    pub labels: Vec<LabelRef>,
    /// The parent task's key.
    pub parent: Option<String>,
    pub created_by: Option<Person>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every change; the basis of `ETag` and `If-Match`.
    pub version: i64,
}

impl TaskView {
    pub fn new(task: Task, names: &Names) -> Self {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Self {
            key: task.key().to_string(),
            project: task.project_key.as_str().to_owned(),
            number: task.number,
            title: task.title,
            description: task.description,
            status: task.status,
            position: task.position,
            priority: task.priority,
            due_date: task.due_date.and_then(|d| d.format(format).ok()),
            assignees: names.people(&task.assignees),
            labels: names.labels(&task.labels),
            parent: names.task(task.parent_id),
            created_by: names.person(task.created_by),
            created_at: task.created_at,
            updated_at: task.updated_at,
            version: task.version,
        }
    }

    /// The views of these tasks, their names looked up together.
    pub async fn many(store: &dyn Store, tasks: Vec<Task>) -> Result<Vec<Self>, ApiError> {
        let names = Names::load(
            store,
            tasks
                .iter()
                .flat_map(|t| t.assignees.iter().copied().chain(t.created_by)),
            tasks.iter().map(|t| t.project_id),
            tasks.iter().filter_map(|t| t.parent_id),
        )
        .await?;
        Ok(tasks.into_iter().map(|t| Self::new(t, &names)).collect())
    }

    pub async fn one(store: &dyn Store, task: Task) -> Result<Self, ApiError> {
        let mut views = Self::many(store, vec![task]).await?;
        Ok(views.pop().expect("one task in, one view out"))
    }
}

/// A comment on a task.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CommentView {
    /// How `/comments/{id}` names it.
    pub id: i64,
    /// The task's key.
    pub task: Option<String>,
    pub author: Option<Person>,
    /// Markdown.
    #[schema(value_type = String)]
    pub body: taskflow_core::text::CommentBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl CommentView {
    pub async fn many(store: &dyn Store, comments: Vec<Comment>) -> Result<Vec<Self>, ApiError> {
        let names = Names::load(
            store,
            comments.iter().filter_map(|c| c.author_id),
            [],
            comments.iter().map(|c| c.task_id),
        )
        .await?;
        Ok(comments
            .into_iter()
            .map(|c| Self {
                id: c.id.0,
                task: names.task(Some(c.task_id)),
                author: names.person(c.author_id),
                body: c.body,
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
            .collect())
    }

    pub async fn one(store: &dyn Store, comment: Comment) -> Result<Self, ApiError> {
        let mut views = Self::many(store, vec![comment]).await?;
        Ok(views.pop().expect("one comment in, one view out"))
    }
}

/// An attachment's description; the bytes are at `content_url`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    /// How `/attachments/{id}` names it.
    pub id: i64,
    /// The task's key.
    pub task: Option<String>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes; also their `ETag`.
    pub sha256: String,
    pub uploaded_by: Option<Person>,
    pub created_at: Timestamp,
    /// Where to download the bytes.
    pub content_url: String,
}

impl AttachmentView {
    pub async fn many(
        store: &dyn Store,
        attachments: Vec<Attachment>,
    ) -> Result<Vec<Self>, ApiError> {
        let names = Names::load(
            store,
            attachments.iter().filter_map(|a| a.uploaded_by),
            [],
            attachments.iter().map(|a| a.task_id),
        )
        .await?;
        Ok(attachments
            .into_iter()
            .map(|a| Self {
                id: a.id.0,
                task: names.task(Some(a.task_id)),
                file_name: a.file_name.as_str().to_owned(),
                media_type: a.media_type.as_str().to_owned(),
                size_bytes: a.size_bytes,
                sha256: a.sha256.as_str().to_owned(),
                uploaded_by: names.person(a.uploaded_by),
                created_at: a.created_at,
                content_url: format!("/api/v1/attachments/{}/content", a.id),
            })
            .collect())
    }

    pub async fn one(store: &dyn Store, attachment: Attachment) -> Result<Self, ApiError> {
        let mut views = Self::many(store, vec![attachment]).await?;
        Ok(views.pop().expect("one attachment in, one view out"))
    }
}

/// One change in a project's history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    /// Pass as `before` to list older entries.
    pub id: i64,
    /// The task concerned, by key.
    pub task: Option<String>,
    pub actor: Option<Person>,
    pub at: Timestamp,
    pub kind: ActivityKind,
    /// The field or object concerned (`status`, `comment:12`, `member:alice`…).
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

impl ActivityView {
    /// A page of entries; `next` names where the following page starts when this one is full.
    pub async fn page(
        store: &dyn Store,
        entries: Vec<ActivityEntry>,
        limit: u32,
    ) -> Result<axum::Json<List<Self>>, ApiError> {
        let names = Names::load(
            store,
            entries.iter().filter_map(|e| e.actor_id),
            [],
            entries.iter().filter_map(|e| e.task_id),
        )
        .await?;
        let next = (entries.len() == limit as usize)
            .then(|| entries.last().map(|e| e.id.0.to_string()))
            .flatten();
        let items = entries
            .into_iter()
            .map(|e| Self {
                id: e.id.0,
                task: names.task(e.task_id),
                actor: names.person(e.actor_id),
                at: e.at,
                kind: e.kind,
                field: e.field,
                old_value: e.old_value,
                new_value: e.new_value,
            })
            .collect();
        Ok(axum::Json(List { items, next }))
    }
}

/// Something in the trash. Restore or purge it by its `type` and `id`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TrashItemView {
    /// `project`, `task`, `comment` or `attachment`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: i64,
    /// The project's key.
    pub project: String,
    /// The task trashed, or the task a trashed comment or attachment belongs to, by key.
    pub task: Option<String>,
    /// What a person would recognise it by: a title, a comment's start, a file name.
    pub summary: String,
    pub deleted_at: Timestamp,
    /// Who moved it to the trash (`null` once that user is gone).
    pub deleted_by: Option<Person>,
}

impl TrashItemView {
    /// The views of `items`, with who deleted each.
    pub async fn many(store: &dyn Store, items: Vec<TrashItem>) -> Result<Vec<Self>, ApiError> {
        let names = Names::load(store, items.iter().filter_map(|i| i.deleted_by), [], []).await?;
        Ok(items
            .into_iter()
            .map(|item| {
                let (kind, id) = item.item.parts();
                Self {
                    kind,
                    id,
                    project: item.project_key.as_str().to_owned(),
                    task: item.task.map(|k| k.to_string()),
                    summary: item.summary,
                    deleted_at: item.deleted_at,
                    deleted_by: names.person(item.deleted_by),
                }
            })
            .collect())
    }
}

/// A member of a project.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub added_at: Timestamp,
}

impl MemberView {
    pub async fn many(store: &dyn Store, members: Vec<Member>) -> Result<Vec<Self>, ApiError> {
        let names = Names::load(store, members.iter().map(|m| m.user_id), [], []).await?;
        Ok(members
            .into_iter()
            .map(|m| {
                let person = names.person(Some(m.user_id));
                Self {
                    display_name: person
                        .map_or_else(|| m.username.as_str().to_owned(), |p| p.display_name),
                    username: m.username.as_str().to_owned(),
                    role: m.role,
                    added_at: m.added_at,
                }
            })
            .collect())
    }
}
