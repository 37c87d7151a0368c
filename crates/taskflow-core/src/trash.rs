//! The trash: deleted projects, tasks, comments and attachments, restorable until purged.

use serde::Serialize;

use crate::project::ProjectKey;
use crate::task::TaskKey;
use crate::{AttachmentId, CommentId, ProjectId, TaskId, Timestamp};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum TrashRef {
    Project(ProjectId),
    Task(TaskId),
    Comment(CommentId),
    Attachment(AttachmentId),
}

impl TrashRef {
    /// The item's type as the API and the pages name it (`project`, `task`, `comment`,
    /// `attachment`), and its id.
    pub fn parts(self) -> (&'static str, i64) {
        match self {
            TrashRef::Project(id) => ("project", id.0),
            TrashRef::Task(id) => ("task", id.0),
            TrashRef::Comment(id) => ("comment", id.0),
            TrashRef::Attachment(id) => ("attachment", id.0),
        }
    }

    /// The item a type and an id name; `None` for a type that is not one of them.
    pub fn from_parts(kind: &str, id: i64) -> Option<Self> {
        Some(match kind {
            "project" => TrashRef::Project(ProjectId(id)),
            "task" => TrashRef::Task(TaskId(id)),
            "comment" => TrashRef::Comment(CommentId(id)),
            "attachment" => TrashRef::Attachment(AttachmentId(id)),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashItem {
    pub item: TrashRef,
    pub project_id: ProjectId,
    pub project_key: ProjectKey,
    /// The task trashed, or the task a trashed comment or attachment belongs to.
    pub task: Option<TaskKey>,
    /// What a person would recognise it by: project key, task key and title, a comment's start…
    pub summary: String,
    pub deleted_at: Timestamp,
    /// Who moved it to the trash, while that user exists.
    pub deleted_by: Option<crate::UserId>,
}

/// How many rows a purge removed, by kind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PurgeCounts {
    pub projects: u64,
    pub tasks: u64,
    pub comments: u64,
    pub attachments: u64,
}

impl PurgeCounts {
    pub fn total(&self) -> u64 {
        self.projects + self.tasks + self.comments + self.attachments
    }
}
