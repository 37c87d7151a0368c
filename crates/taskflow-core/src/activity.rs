//! The activity log: who changed what, from what to what, and when.

use serde::Serialize;

use crate::{ActivityId, ProjectId, TaskId, Timestamp, UserId, ValidationError};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    ProjectCreated,
    ProjectUpdated,
    MemberChanged,
    /// A status added (`field` `added`), renamed (`renamed`) or removed (`removed`, the new
    /// value the status its tasks moved to) in the project's workflow.
    WorkflowChanged,
    TaskCreated,
    /// One entry per changed field, with its old and new value.
    TaskUpdated,
    TaskMoved,
    CommentAdded,
    CommentEdited,
    AttachmentAdded,
    Trashed,
    Restored,
    Purged,
}

impl ActivityKind {
    const NAMES: [(ActivityKind, &'static str); 13] = [
        (Self::ProjectCreated, "project_created"),
        (Self::ProjectUpdated, "project_updated"),
        (Self::MemberChanged, "member_changed"),
        (Self::WorkflowChanged, "workflow_changed"),
        (Self::TaskCreated, "task_created"),
        (Self::TaskUpdated, "task_updated"),
        (Self::TaskMoved, "task_moved"),
        (Self::CommentAdded, "comment_added"),
        (Self::CommentEdited, "comment_edited"),
        (Self::AttachmentAdded, "attachment_added"),
        (Self::Trashed, "trashed"),
        (Self::Restored, "restored"),
        (Self::Purged, "purged"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(k, _)| *k)
            .ok_or_else(|| ValidationError::new("kind", format!("unknown activity {value:?}")))
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityEntry {
    pub id: ActivityId,
    pub project_id: ProjectId,
    pub task_id: Option<TaskId>,
    pub actor_id: Option<UserId>,
    pub at: Timestamp,
    pub kind: ActivityKind,
    /// The field or object concerned (`status`, `comment:12`, `member:alice`…).
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// An entry about to be written, in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    pub project_id: ProjectId,
    pub task_id: Option<TaskId>,
    pub kind: ActivityKind,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

impl NewActivity {
    pub fn new(project_id: ProjectId, task_id: Option<TaskId>, kind: ActivityKind) -> Self {
        Self {
            project_id,
            task_id,
            kind,
            field: None,
            old_value: None,
            new_value: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn change(mut self, old: Option<String>, new: Option<String>) -> Self {
        self.old_value = old;
        self.new_value = new;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for (kind, name) in ActivityKind::NAMES {
            assert_eq!(kind.as_str(), name);
            assert_eq!(ActivityKind::parse(name).unwrap(), kind);
        }
    }
}
