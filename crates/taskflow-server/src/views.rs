//! What answers look like. Every reference is written as requests write it — people by
//! username (with the name they show), labels by name and colour, tasks by key — and every
//! list is one `{items, next}` shape. `Names` looks up, with one query per kind, the names the
//! items of an answer refer to.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use taskflow_core::activity::{ActivityEntry, ActivityKind};
use taskflow_core::attachment::Attachment;
use taskflow_core::comment::Comment;
use taskflow_core::project::{Member, Role};
use taskflow_core::task::{Priority, Task, TaskKey, date_text};
use taskflow_core::trash::TrashItem;
use taskflow_core::user::User;
use taskflow_core::workflow::Category;
use taskflow_core::{LabelId, ProjectId, Store, TaskId, Timestamp, UserId};

use crate::error::Refusal;

// Shared strings: an answer names the same few people on many of its items, and each mention
// is a copy of the names looked up once.
/// A person, as requests name them.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Person {
    #[schema(value_type = String)]
    pub username: Arc<str>,
    #[schema(value_type = String)]
    pub display_name: Arc<str>,
}

impl From<&User> for Person {
    fn from(user: &User) -> Self {
        Self {
            username: user.username.as_str().into(),
            display_name: user.display_name.as_str().into(),
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

/// The class a label's colour is drawn with: `c-d73a4a` for `#d73a4a`.
pub fn colour_class(colour: &str) -> String {
    format!("c-{}", colour.trim_start_matches('#').to_ascii_lowercase())
}

impl LabelRef {
    /// The class that draws this label in its colour (from the project's `labels.css`).
    pub fn css_class(&self) -> String {
        colour_class(&self.colour)
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
    pub fn all(items: Vec<T>) -> Self {
        Self { items, next: None }
    }
}

/// How an item of a `List` is written into an answer's JSON: as it serializes, unless the type
/// has a faster way to write the same bytes.
pub trait ListItem: Serialize {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
}

/// An answer's JSON, already written.
pub struct JsonBytes(Vec<u8>);

impl JsonBytes {
    /// The bytes written, or the logged 500 when they could not be.
    pub fn written(written: serde_json::Result<Vec<u8>>) -> Result<Self, Refusal> {
        written.map(Self).map_err(|err| {
            tracing::error!(error = %err, "an answer could not be written as JSON");
            Refusal::internal()
        })
    }
}

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

impl<T: ListItem> List<T> {
    /// The list as its derived `Serialize` writes it (a test holds the two equal), each item
    /// by `ListItem::write_json`, into a buffer sized for its items at the start (axum's `Json`
    /// starts at 128 bytes and doubles its way to a page's tens of kilobytes).
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        const PER_ITEM: usize = 512;
        let mut out = Vec::with_capacity(64 + self.items.len() * PER_ITEM);
        out.extend_from_slice(b"{\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(&mut out)?;
        }
        out.extend_from_slice(b"],\"next\":");
        serde_json::to_writer(&mut out, &self.next)?;
        out.push(b'}');
        Ok(out)
    }
}

impl<T: ListItem> IntoResponse for List<T> {
    fn into_response(self) -> Response {
        JsonBytes::written(self.to_json()).into_response()
    }
}

impl ListItem for taskflow_core::project::Project {}
impl ListItem for taskflow_core::project::Label {}
impl ListItem for taskflow_core::workflow::Status {}
impl ListItem for User {}
impl ListItem for taskflow_core::user::ApiToken {}
impl ListItem for CommentView {}
impl ListItem for AttachmentView {}
impl ListItem for ActivityView {}
impl ListItem for TrashItemView {}
impl ListItem for MemberView {}

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
    ) -> Result<Self, Refusal> {
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
                    username: username.as_str().into(),
                    display_name: display_name.as_str().into(),
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
    /// The name of its status, one of its project's (`GET /projects/{key}/statuses`).
    #[schema(value_type = String)]
    pub status: taskflow_core::text::StatusName,
    /// What kind of step its status is: `completed` and `cancelled` are closed, the rest open.
    pub status_category: Category,
    /// Order on the board within its status column, ascending.
    pub position: i64,
    pub priority: Priority,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub due_date: Option<String>,
    /// Estimated effort in minutes.
    pub estimate: Option<u32>,
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
        Self {
            key: TaskKey::text(&task.project_key, task.number),
            project: task.project_key.into(),
            number: task.number,
            title: task.title,
            description: task.description,
            status: task.status.name,
            status_category: task.status.category,
            position: task.position,
            priority: task.priority,
            due_date: task.due_date.map(date_text),
            estimate: task.estimate.map(|e| e.minutes()),
            assignees: names.people(&task.assignees),
            labels: names.labels(&task.labels),
            parent: names.task(task.parent_id),
            created_by: names.person(task.created_by),
            created_at: task.created_at,
            updated_at: task.updated_at,
            version: task.version,
        }
    }

    /// This task as one JSON answer.
    pub fn to_json(&self) -> Result<JsonBytes, Refusal> {
        let mut out = Vec::with_capacity(512);
        JsonBytes::written(self.write_json(&mut out).map(|()| out))
    }

    /// The views of these tasks, their names looked up together.
    pub async fn many(store: &dyn Store, tasks: Vec<Task>) -> Result<Vec<Self>, Refusal> {
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

    pub async fn one(store: &dyn Store, task: Task) -> Result<Self, Refusal> {
        let mut views = Self::many(store, vec![task]).await?;
        Ok(views.pop().expect("one task in, one view out"))
    }
}

/// A task is written with its field names as the constants they are: serde_json escapes every
/// name byte by byte, and in a page of tasks the names are a third of the answer.
impl ListItem for TaskView {
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        fn person(out: &mut Vec<u8>, p: &Person) -> serde_json::Result<()> {
            value(out, b"{\"username\":", &p.username)?;
            value(out, b",\"display_name\":", &p.display_name)?;
            out.push(b'}');
            Ok(())
        }
        fn value(out: &mut Vec<u8>, name: &[u8], value: &impl Serialize) -> serde_json::Result<()> {
            out.extend_from_slice(name);
            serde_json::to_writer(&mut *out, value)
        }
        /// Fields written as serde would, each name spelt once (by the field itself).
        macro_rules! fields {
            ($first:ident $(, $field:ident)*) => {
                value(out, concat!("{\"", stringify!($first), "\":").as_bytes(), &self.$first)?;
                $(value(out, concat!(",\"", stringify!($field), "\":").as_bytes(), &self.$field)?;)*
            };
        }
        fields!(
            key,
            project,
            number,
            title,
            description,
            status,
            status_category,
            position,
            priority,
            due_date,
            estimate
        );
        out.extend_from_slice(b",\"assignees\":[");
        for (i, p) in self.assignees.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            person(out, p)?;
        }
        out.extend_from_slice(b"],\"labels\":[");
        for (i, label) in self.labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            value(out, b"{\"name\":", &label.name)?;
            value(out, b",\"colour\":", &label.colour)?;
            out.push(b'}');
        }
        value(out, b"],\"parent\":", &self.parent)?;
        out.extend_from_slice(b",\"created_by\":");
        match &self.created_by {
            Some(p) => person(out, p)?,
            None => out.extend_from_slice(b"null"),
        }
        value(out, b",\"created_at\":", &self.created_at)?;
        value(out, b",\"updated_at\":", &self.updated_at)?;
        value(out, b",\"version\":", &self.version)?;
        out.push(b'}');
        Ok(())
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
    pub async fn many(store: &dyn Store, comments: Vec<Comment>) -> Result<Vec<Self>, Refusal> {
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

    pub async fn one(store: &dyn Store, comment: Comment) -> Result<Self, Refusal> {
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
    ) -> Result<Vec<Self>, Refusal> {
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

    pub async fn one(store: &dyn Store, attachment: Attachment) -> Result<Self, Refusal> {
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
    ) -> Result<List<Self>, Refusal> {
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
        Ok(List { items, next })
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
    pub async fn many(store: &dyn Store, items: Vec<TrashItem>) -> Result<Vec<Self>, Refusal> {
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
    pub async fn many(store: &dyn Store, members: Vec<Member>) -> Result<Vec<Self>, Refusal> {
        let names = Names::load(store, members.iter().map(|m| m.user_id), [], []).await?;
        Ok(members
            .into_iter()
            .map(|m| {
                let person = names.person(Some(m.user_id));
                Self {
                    display_name: person.map_or_else(
                        || m.username.as_str().to_owned(),
                        |p| p.display_name.to_string(),
                    ),
                    username: m.username.as_str().to_owned(),
                    role: m.role,
                    added_at: m.added_at,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskflow_core::text::{Markdown, StatusName, TaskTitle};

    fn person(username: &str, display_name: &str) -> Person {
        Person {
            username: username.into(),
            display_name: display_name.into(),
        }
    }

    /// A task with every field filled, text that needs escaping, and one with every field empty.
    fn views() -> Vec<TaskView> {
        let full = TaskView {
            key: "OPS-42".into(),
            project: "OPS".into(),
            number: 42,
            title: TaskTitle::parse("Quote \" back\\slash é ✓ </script>").unwrap(),
            description: Markdown::parse("# Notes\n\n\t- \"a\"\r\n- \u{2028}").unwrap(),
            status: StatusName::parse("Review \"2\" ✓").unwrap(),
            status_category: Category::Started,
            position: -65_536,
            priority: Priority::Urgent,
            due_date: Some("2026-12-31".into()),
            estimate: Some(90),
            assignees: vec![person("alice", "Alice \"A\""), person("bob", "Bób")],
            labels: vec![LabelRef {
                name: "bug".into(),
                colour: "#d73a4a".into(),
            }],
            parent: Some("OPS-7".into()),
            created_by: Some(person("carol", "Carol")),
            created_at: Timestamp::from_unix_micros(0),
            updated_at: Timestamp::from_unix_micros(1_700_000_000_000_001),
            version: i64::MAX,
        };
        let empty = TaskView {
            key: "OPS-1".into(),
            project: "OPS".into(),
            number: 1,
            title: TaskTitle::parse("Fix it").unwrap(),
            description: Markdown::default(),
            status: StatusName::parse("To do").unwrap(),
            status_category: Category::Unstarted,
            position: 0,
            priority: Priority::default(),
            due_date: None,
            estimate: None,
            assignees: Vec::new(),
            labels: Vec::new(),
            parent: None,
            created_by: None,
            created_at: Timestamp::from_unix_micros(1),
            updated_at: Timestamp::from_unix_micros(1),
            version: 1,
        };
        vec![full, empty]
    }

    #[test]
    fn a_task_is_written_as_it_serializes() {
        for view in views() {
            let mut written = Vec::new();
            view.write_json(&mut written).unwrap();
            let derived = serde_json::to_vec(&view).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(derived).unwrap()
            );
        }
    }

    #[test]
    fn a_list_is_written_as_it_serializes() {
        for (items, next) in [
            (views(), Some("cursor \"x\"".to_owned())),
            (Vec::new(), None),
        ] {
            let list = List { items, next };
            let written = list.to_json().unwrap();
            let derived = serde_json::to_vec(&list).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(derived).unwrap()
            );
        }
    }
}
